"""In-memory datasets and the loaders for digits, MNIST, Fashion-MNIST and CIFAR-10."""

from __future__ import annotations

import dataclasses
import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError, ShapeError
from ._download import (
    DATA_DIR_ENV,
    bytes_digest,
    checksum_error,
    download_file,
    find_file,
    resolve_data_root,
    write_atomic,
)
from ._formats import (
    CIFAR_RECORD_BYTES,
    CIFAR_TAR_FOLDER,
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    idx_length,
    parse_cifar_records,
    parse_digits_csv,
    parse_idx,
    read_idx_rows,
    read_maybe_gzip,
    read_tar_members,
)

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist", "cifar10")
"""Names accepted by :func:`load_dataset` and :func:`dataset_info`."""

SPLITS: tuple[str, ...] = ("train", "test")

_ALIASES = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}


# --------------------------------------------------------------------------- ArrayDataset


@dataclass(frozen=True, eq=False, repr=False)
class ArrayDataset:
    """A labelled image dataset held in memory.

    ``x`` is float32 in NHWC layout ``(N, H, W, C)`` (the loaders scale pixels to [0, 1]);
    ``y`` is int32 of shape ``(N,)`` with values in ``[0, num_classes)``. Arrays are converted
    to these dtypes on construction and the shapes and labels are validated.
    """

    x: np.ndarray
    y: np.ndarray
    num_classes: int
    name: str = "dataset"
    classes: tuple[str, ...] = ()
    split: str | None = None
    """Which part of the dataset this is (``"train"``, ``"test"``, ``"validation"``), if known."""
    offset: int = 0
    """For a part read on its own (:func:`load_dataset` with ``rows``): these samples are rows
    ``offset .. offset + len`` of the split."""
    total: int | None = None
    """The split's number of samples (``None``: ``len(self)``, the whole split is here)."""

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float32)
        y = np.asarray(self.y)
        if x.ndim != 4:
            raise ShapeError(f"{self.name}: x must be 4-D NHWC (N, H, W, C), got shape {x.shape}")
        if y.ndim != 1:
            raise ShapeError(f"{self.name}: y must be 1-D (N,), got shape {y.shape}")
        if len(x) != len(y):
            raise ShapeError(
                f"{self.name}: label/sample count mismatch: {len(x)} images but {len(y)} labels"
            )
        if y.dtype.kind not in "iu":
            raise ShapeError(f"{self.name}: labels must be integers, got dtype {y.dtype}")
        finite = np.isfinite(x).reshape(len(x), -1).all(axis=1) if x.size else np.ones(len(x), bool)
        if not finite.all():
            i = int(np.argmin(finite))
            raise DataError(
                f"{self.name}: sample {i} (and {int((~finite).sum()) - 1} more) holds NaN or "
                "infinite values; fix or drop those samples (or the file they came from) "
                "before training."
            )
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int | np.integer):
            raise ConfigError(f"{self.name}: num_classes must be an int, got {self.num_classes!r}")
        if self.num_classes < 1:
            raise ConfigError(f"{self.name}: num_classes must be >= 1, got {self.num_classes}")
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ShapeError(
                f"{self.name}: labels must lie in [0, {self.num_classes}), got values in "
                f"[{y.min()}, {y.max()}]"
            )
        classes = tuple(self.classes) or tuple(str(i) for i in range(self.num_classes))
        if len(classes) != self.num_classes:
            raise ConfigError(
                f"{self.name}: {len(classes)} class names given for num_classes={self.num_classes}"
            )
        total = len(x) if self.total is None else self.total
        if not 0 <= self.offset <= self.offset + len(x) <= total:
            raise ShapeError(
                f"{self.name}: rows {self.offset}..{self.offset + len(x)} do not lie in a split "
                f"of {total} samples (offset={self.offset}, total={self.total})"
            )
        object.__setattr__(self, "total", int(total))
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y.astype(np.int32, copy=False))
        object.__setattr__(self, "num_classes", int(self.num_classes))
        object.__setattr__(self, "classes", classes)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __repr__(self) -> str:
        part = (
            "" if self.whole else f", rows={self.offset}..{self.offset + len(self)} of {self.total}"
        )
        return (
            f"ArrayDataset(name={self.name!r}, n={len(self)}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}{part})"
        )

    @property
    def whole(self) -> bool:
        """Whether this holds the whole split (not a part read with ``rows``)."""
        return len(self) == self.total

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one sample, ``(H, W, C)``."""
        h, w, c = self.x.shape[1:]
        return (int(h), int(w), int(c))

    def subset(self, indices: slice | np.ndarray | Any) -> ArrayDataset:
        """The samples selected by a slice, an integer index array or a boolean mask (of a
        whole split; a part read with ``rows`` is already a subset)."""
        if not self.whole:
            raise ConfigError(
                f"{self!r} is a part of its split; take subsets of the whole split, or read "
                "the rows you want with load_dataset(rows=(start, stop))."
            )
        index = indices if isinstance(indices, slice) else np.atleast_1d(np.asarray(indices))
        return dataclasses.replace(self, x=self.x[index], y=self.y[index], total=None)


# --------------------------------------------------------------------------- dataset info


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset; ``mean`` and ``std`` are per channel, train split, [0, 1]."""

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    num_train: int
    num_test: int


_DIGIT_CLASSES = tuple(str(i) for i in range(10))
_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_CIFAR_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_INFO: dict[str, DatasetInfo] = {
    # digits: computed from the fixed train split of the embedded data (pixels / 16).
    "digits": DatasetInfo(
        "digits", 10, (8, 8, 1), (0.3059245,), (0.3765141,), _DIGIT_CLASSES, 1346, 451
    ),
    # mnist: computed from the real train images (pixels / 255), population std.
    "mnist": DatasetInfo(
        "mnist", 10, (28, 28, 1), (0.1306605,), (0.3081078,), _DIGIT_CLASSES, 60000, 10000
    ),
    # fashion-mnist and cifar10: published values.
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", 10, (28, 28, 1), (0.2860,), (0.3530,), _FASHION_CLASSES, 60000, 10000
    ),
    "cifar10": DatasetInfo(
        "cifar10",
        10,
        (32, 32, 3),
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        _CIFAR_CLASSES,
        50000,
        10000,
    ),
}


def _canonical_name(name: str) -> str:
    """Map a user-given dataset name to one of DATASETS, or raise ConfigError."""
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else ""
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return key


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    return split


def dataset_info(name: str) -> DatasetInfo:
    """Number of classes, input shape (H, W, C), train-split mean/std per channel, ..."""
    return _INFO[_canonical_name(name)]


# --------------------------------------------------------------------------- digits

_DIGITS_RESOURCE = "_embedded/digits.csv.gz"
_DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
_DIGITS_SPLIT_SEED = 20240601
_DIGITS_TEST_FRACTION = 0.25


def _digits_split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    """Sorted indices of a fixed stratified 75/25 split (stable across numpy versions).

    Each class is ordered by PCG64 raw output (a stream numpy guarantees to be stable) and its
    first ``round(n_c / 4)`` members go to the test split.
    """
    keys = np.random.PCG64(_DIGITS_SPLIT_SEED).random_raw(len(labels))
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        members = members[np.argsort(keys[members], kind="stable")]
        n_test = int(np.floor(len(members) * _DIGITS_TEST_FRACTION + 0.5))
        chosen.append(members[:n_test] if split == "test" else members[n_test:])
    return np.sort(np.concatenate(chosen))


def _load_digits(split: str) -> ArrayDataset:
    raw = resources.files(__package__).joinpath(_DIGITS_RESOURCE).read_bytes()
    actual = bytes_digest(raw, "sha256")
    if actual != _DIGITS_SHA256:
        raise DataError(
            f"plastix/data/{_DIGITS_RESOURCE}: SHA256 mismatch: expected {_DIGITS_SHA256}, "
            f"got {actual}; the installed package is corrupt, reinstall plastix"
        )
    pixels, labels = parse_digits_csv(gzip.decompress(raw), _DIGITS_RESOURCE)
    index = _digits_split_indices(labels, split)
    x = (pixels[index].astype(np.float32) / np.float32(16.0))[..., None]
    return ArrayDataset(x, labels[index], 10, "digits", _DIGIT_CLASSES)


# --------------------------------------------------------------------------- IDX datasets

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_IDX_MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# Official MD5s of the published .gz archives (as in torchvision), checked on download.
_IDX_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

# SHA256 of the *decompressed* IDX bytes, checked on every load (independent of gzip level).
_IDX_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
}

_IDX_IMAGE_HW = (28, 28)


def _search_dirs(base: Path, name: str) -> list[Path]:
    return [base, base / name]


def _missing_error(
    name: str, split: str, needed: list[str], dirs: list[Path], hint: str
) -> DataError:
    searched = ", ".join(str(d) for d in dirs)
    return DataError(
        f"{name} ({split} split): data files not found: {', '.join(needed)}. Searched: "
        f"{searched}. Either pass download=True, or {hint} and put them in one of those "
        f"folders (or point root= / --data-dir / ${DATA_DIR_ENV} at the folder holding them)."
    )


def _locate_idx(name: str, split: str, base: Path, download: bool) -> list[Path]:
    """Paths of the (images, labels) IDX files, downloading missing ones if allowed."""
    dirs = _search_dirs(base, name)
    stems = _IDX_FILES[split]
    found = [find_file(dirs, [f"{stem}.gz", stem]) for stem in stems]
    missing = [stem for stem, path in zip(stems, found, strict=True) if path is None]
    if missing and not download:
        needed = [f"{stem}.gz (or uncompressed {stem})" for stem in missing]
        hint = f"download them from {_IDX_MIRRORS[name][0]}"
        raise _missing_error(name, split, needed, dirs, hint)
    paths = []
    for stem, path in zip(stems, found, strict=True):
        if path is not None:
            paths.append(path)
            continue
        urls = [mirror + f"{stem}.gz" for mirror in _IDX_MIRRORS[name]]
        paths.append(download_file(urls, base / name / f"{stem}.gz", _IDX_MD5[name][stem]))
    return paths


def _read_idx(name: str, stem: str, path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file structurally, then check its known SHA256 (if any)."""
    data = read_maybe_gzip(path)
    array = parse_idx(data, magic, path)
    _check_idx_digest(name, stem, path, bytes_digest(data, "sha256"))
    return array


def _check_idx_digest(name: str, stem: str, path: Path, actual: str) -> None:
    """The decompressed file's SHA256 against the known one (if any); an original MNIST file
    given for another dataset is refused."""
    expected = _IDX_SHA256.get(name, {}).get(stem)
    if expected is not None and actual != expected:
        raise checksum_error(path, f"the decompressed {name} {stem}", "sha256", expected, actual)
    if name != "mnist" and actual in _IDX_SHA256["mnist"].values():
        raise DataError(
            f"{path}: this is an original MNIST file, not {name}; point root= / --data-dir / "
            f"${DATA_DIR_ENV} at the {name} files (looked up in root and root/{name}/)"
        )


def _read_idx_rows(
    name: str, stem: str, path: Path, magic: int, rows: tuple[int, int]
) -> np.ndarray:
    """Records ``rows`` of one IDX file, streamed (:func:`read_idx_rows`): the same structural
    and SHA256 checks as :func:`_read_idx`, only the wanted records kept in memory."""
    array, actual = read_idx_rows(path, magic, *rows)
    _check_idx_digest(name, stem, path, actual)
    return array


def _load_idx(
    name: str, split: str, base: Path, download: bool, rows: tuple[int, int] | None = None
) -> ArrayDataset:
    images_path, labels_path = _locate_idx(name, split, base, download)
    images_stem, labels_stem = _IDX_FILES[split]
    total = None
    if rows is None:
        images = _read_idx(name, images_stem, images_path, IDX_IMAGES_MAGIC)
        labels = _read_idx(name, labels_stem, labels_path, IDX_LABELS_MAGIC)
    else:
        total = idx_length(images_path, IDX_IMAGES_MAGIC)
        n_labels = idx_length(labels_path, IDX_LABELS_MAGIC)
        if total != n_labels:
            raise ShapeError(
                f"{name}: label/sample count mismatch: {total} images but {n_labels} "
                f"labels (images: {images_path}, labels: {labels_path})"
            )
        rows = _check_rows(rows, total, name, split)
        images = _read_idx_rows(name, images_stem, images_path, IDX_IMAGES_MAGIC, rows)
        labels = _read_idx_rows(name, labels_stem, labels_path, IDX_LABELS_MAGIC, rows)
    if images.shape[1:] != _IDX_IMAGE_HW:
        raise DataError(
            f"{images_path}: {name} images must be 28x28, got {images.shape[1]}x{images.shape[2]}"
        )
    if len(images) != len(labels):
        raise ShapeError(
            f"{name}: label/sample count mismatch: {len(images)} images but {len(labels)} "
            f"labels (images: {images_path}, labels: {labels_path})"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()} out of range 0-9; file is corrupt")
    x = (images.astype(np.float32) / np.float32(255.0))[..., None]
    offset = 0 if rows is None else rows[0]
    return ArrayDataset(x, labels, 10, name, _INFO[name].classes, offset=offset, total=total)


def _check_rows(rows: tuple[int, int], total: int, name: str, split: str) -> tuple[int, int]:
    start, stop = (int(r) for r in rows)
    if not 0 <= start < stop <= total:
        raise ConfigError(
            f"{name} ({split} split): rows=({start}, {stop}) must satisfy 0 <= start < stop <= "
            f"{total} (the split's size)."
        )
    return start, stop


# --------------------------------------------------------------------------- CIFAR-10

_CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
_CIFAR_ALL_FILES = (*_CIFAR_FILES["train"], *_CIFAR_FILES["test"])
_CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
_CIFAR_URLS = ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)
_CIFAR_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"


def _cifar_dirs(base: Path) -> list[Path]:
    dirs = _search_dirs(base, "cifar10")
    return dirs + [d / CIFAR_TAR_FOLDER for d in dirs]


def _cifar_from_archive(archive: Path, needed: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """Read the batches from the tar.gz and cache all six next to it (best effort)."""
    blobs = read_tar_members(archive, _CIFAR_ALL_FILES)
    try:
        for member, data in blobs.items():
            write_atomic(archive.parent / CIFAR_TAR_FOLDER / member, data)
    except OSError:
        pass  # read-only location: use the in-memory copy this time
    return [(f"{archive}:{member}", blobs[member]) for member in needed]


def _cifar_blobs(split: str, base: Path, download: bool) -> list[tuple[str, bytes]]:
    """(source, bytes) of each batch file of ``split``: from .bin files or the archive."""
    dirs = _cifar_dirs(base)
    needed = _CIFAR_FILES[split]
    found = [find_file(dirs, [member]) for member in needed]
    if all(path is not None for path in found):
        return [(str(path), read_maybe_gzip(path)) for path in found if path is not None]
    archive = find_file(dirs[:2], [_CIFAR_ARCHIVE])
    if archive is None:
        if not download:
            missing = [m for m, p in zip(needed, found, strict=True) if p is None]
            needed_files = [f"{_CIFAR_ARCHIVE} (or its extracted {', '.join(missing)})"]
            hint = f"download {_CIFAR_URLS[0]}"
            raise _missing_error("cifar10", split, needed_files, dirs, hint)
        archive = download_file(_CIFAR_URLS, base / "cifar10" / _CIFAR_ARCHIVE, _CIFAR_MD5)
    return _cifar_from_archive(archive, needed)


def _load_cifar(split: str, base: Path, download: bool) -> ArrayDataset:
    parts = [
        parse_cifar_records(data, source) for source, data in _cifar_blobs(split, base, download)
    ]
    return _cifar_dataset(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), split
    )


def _cifar_dataset(
    images: np.ndarray, labels: np.ndarray, split: str, offset: int = 0, total: int | None = None
) -> ArrayDataset:
    if labels.size and labels.max() > 9:
        raise DataError(f"cifar10 ({split}): label {labels.max()} out of range 0-9; corrupt file")
    x = images.astype(np.float32) / np.float32(255.0)
    return ArrayDataset(x, labels, 10, "cifar10", _CIFAR_CLASSES, offset=offset, total=total)


def _cifar_bins(split: str, base: Path) -> list[Path] | None:
    """The split's uncompressed batch files, if all are there (else None)."""
    found = [find_file(_cifar_dirs(base), [member]) for member in _CIFAR_FILES[split]]
    if any(p is None for p in found):
        return None
    paths = [p for p in found if p is not None]
    for path in paths:
        try:
            with path.open("rb") as f:
                if f.read(2) == b"\x1f\x8b":
                    return None  # gzipped batch files: read whole
        except OSError as exc:
            raise DataError(f"{path}: cannot read file: {exc}") from exc
    return paths


def _cifar_counts(paths: list[Path]) -> list[int]:
    counts = []
    for path in paths:
        size = path.stat().st_size
        if size == 0 or size % CIFAR_RECORD_BYTES:
            raise DataError(
                f"{path}: size {size} bytes is not a positive multiple of the CIFAR-10 record "
                f"size {CIFAR_RECORD_BYTES} (1 label byte + 3072 pixel bytes); the file is "
                "truncated or corrupt"
            )
        counts.append(size // CIFAR_RECORD_BYTES)
    return counts


def _load_cifar_rows(split: str, base: Path, download: bool, rows: tuple[int, int]) -> ArrayDataset:
    """Records ``rows`` of the split: read by seeking in the uncompressed batch files (only
    those records); from the tar.gz archive, which is a stream, the split is read whole."""
    paths = _cifar_bins(split, base)
    if paths is None:
        whole = _load_cifar(split, base, download)
        start, stop = _check_rows(rows, len(whole), "cifar10", split)
        return dataclasses.replace(
            whole, x=whole.x[start:stop], y=whole.y[start:stop], offset=start, total=len(whole)
        )
    counts = _cifar_counts(paths)
    total = sum(counts)
    start, stop = _check_rows(rows, total, "cifar10", split)
    chunks, first = [], 0
    for path, count in zip(paths, counts, strict=True):
        a, b = max(start - first, 0), min(stop - first, count)
        if a < b:
            try:
                with path.open("rb") as f:
                    f.seek(a * CIFAR_RECORD_BYTES)
                    data = f.read((b - a) * CIFAR_RECORD_BYTES)
            except OSError as exc:
                raise DataError(f"{path}: cannot read file: {exc}") from exc
            chunks.append(parse_cifar_records(data, path))
        first += count
    images = np.concatenate([c[0] for c in chunks])
    labels = np.concatenate([c[1] for c in chunks])
    return _cifar_dataset(images, labels, split, offset=start, total=total)


def dataset_size(
    name: str,
    split: str = "train",
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> int:
    """The number of samples of a split, from the files' headers (IDX) or sizes (CIFAR-10
    batch files) without reading the data (missing files are downloaded as by
    :func:`load_dataset`, or with ``download=False`` raise its DataError).

    >>> import plastix as px
    >>> px.data.dataset_size("digits", "test")
    451
    """
    name = _canonical_name(name)
    split = _check_split(split)
    info = _INFO[name]
    if name == "digits":
        return info.num_train if split == "train" else info.num_test
    base = resolve_data_root(root)
    if name == "cifar10":
        paths = _cifar_bins(split, base)
        return (
            sum(_cifar_counts(paths))
            if paths is not None
            else len(_load_cifar(split, base, download))
        )
    images_path, _ = _locate_idx(name, split, base, download)
    return idx_length(images_path, IDX_IMAGES_MAGIC)


# --------------------------------------------------------------------------- public loaders


def load_dataset(
    name: str,
    split: str = "train",
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    transform: Callable[[np.ndarray], Any] | None = None,
    rows: tuple[int, int] | None = None,
) -> ArrayDataset:
    """Load a dataset split into memory as an :class:`ArrayDataset` (NHWC float32 in [0, 1]).

    ``name`` is one of :data:`DATASETS`; ``split`` is ``"train"`` or ``"test"``. Files are looked
    for in ``root`` and ``root/<name>``, where ``root`` defaults to ``$PLASTIX_DATA_DIR`` and then
    to ``$XDG_CACHE_HOME/plastix`` (``~/.cache/plastix``). Missing files are downloaded into
    ``root/<name>`` when ``download`` is true (checksum-verified, written atomically); otherwise
    a DataError lists the folders searched and the files needed. ``"digits"`` is embedded in
    the package and never touches the disk or network.

    ``transform`` (e.g. ``Compose([Normalize(...)])``, as in the seed's example) is applied
    once to all images; it must keep them NHWC and need no random key (random augmentations
    and reshapes such as ``Flatten`` belong in ``DataLoader(transform=...)``).

    ``rows=(start, stop)`` reads only those samples of the split (each process of a
    many-process run reads its own shards this way): MNIST-format files are streamed through
    once, checksummed whole, and only those rows are kept; CIFAR-10 batch files are read by
    seeking to the rows (the tar.gz archive, a stream, is read whole); the embedded digits are
    sliced. The result's ``offset`` and ``total`` say which rows of how many it holds.

    >>> import plastix as px
    >>> norm = px.data.Normalize.for_dataset("digits")
    >>> test = px.data.load_dataset("digits", "test", transform=px.data.Compose([norm]))
    >>> abs(float(test.x.mean())) < 0.1, test.x.shape[1:]
    (True, (8, 8, 1))
    """
    name = _canonical_name(name)
    split = _check_split(split)
    if name == "digits":
        data = _load_digits(split)
        if rows is not None:
            start, stop = _check_rows(rows, len(data), name, split)
            data = dataclasses.replace(
                data, x=data.x[start:stop], y=data.y[start:stop], offset=start, total=len(data)
            )
    else:
        base = resolve_data_root(root)
        if name == "cifar10" and rows is not None:
            data = _load_cifar_rows(split, base, download, rows)
        elif name == "cifar10":
            data = _load_cifar(split, base, download)
        else:
            data = _load_idx(name, split, base, download, rows)
    data = dataclasses.replace(data, split=split)
    return data if transform is None else _transformed(data, transform)


def _transformed(data: ArrayDataset, transform: Callable[[np.ndarray], Any]) -> ArrayDataset:
    if getattr(transform, "needs_key", False):
        raise ConfigError(
            f"{data.name}: the dataset's transform {transform!r} is random (needs a key per "
            "draw); pass random augmentations to DataLoader(transform=...) or "
            "Trainer(augment=...), which draw a fresh key for every batch."
        )
    x = np.asarray(transform(data.x))
    if x.ndim != 4 or x.shape[0] != len(data):
        raise ShapeError(
            f"{data.name}: the dataset's transform turned images {data.x.shape} into {x.shape}; "
            "a dataset keeps NHWC images (N, H, W, C): reshape batches with "
            "DataLoader(transform=...) instead."
        )
    return dataclasses.replace(data, x=x)


def download_dataset(name: str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """Make sure both splits of ``name`` are available and valid locally; return the data root."""
    for split in SPLITS:
        load_dataset(name, split, root=root, download=True)
    return resolve_data_root(root)
