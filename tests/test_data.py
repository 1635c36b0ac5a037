"""Tests of plastix.data: loaders (real MNIST, digits, synthetic Fashion-MNIST/CIFAR-10 files in
their real formats), checksum and download handling, transforms and the DataLoader.

Expected values come from the data sets' published facts (sizes, label counts, mean pixel,
file formats), not from what the code under test returns.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from plastix import ConfigError, DataError, ShapeError
from plastix.data import (
    DATASETS,
    ArrayDataset,
    Compose,
    DataLoader,
    Flatten,
    Normalize,
    OneHot,
    RandomCrop,
    RandomHorizontalFlip,
    dataset_info,
    load_dataset,
    resolve_data_root,
)
from plastix.data import _datasets as datasets_module
from plastix.data import _download as download_module

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared/datasets/mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"real MNIST not found at {MNIST_DIR}",
)

# From the MNIST README in shared/datasets/mnist (and LeCun et al.).
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_MEAN_PIXEL = 33.318
# SHA256 of the original decompressed t10k-labels-idx1-ubyte.
MNIST_TEST_LABELS_SHA256 = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"

CIFAR_RECORD = 1 + 3 * 32 * 32


# --------------------------------------------------------------------------- file writers


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """IDX encoding: big-endian magic, big-endian dims, then the unsigned bytes."""
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + np.asarray(array, np.uint8).tobytes()


def cifar_bytes(images_chw: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR-10 binary records: 1 label byte then 3072 pixel bytes (R, G, B planes)."""
    flat = images_chw.reshape(len(labels), -1).astype(np.uint8)
    return np.concatenate([labels[:, None].astype(np.uint8), flat], axis=1).tobytes()


def gunzip(path: Path) -> bytes:
    with gzip.open(path, "rb") as handle:
        return handle.read()


def make_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def random_cifar(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


# --------------------------------------------------------------------------- real MNIST


@pytest.fixture(scope="module")
def mnist_train() -> ArrayDataset:
    if not MNIST_DIR.is_dir():
        pytest.skip(f"real MNIST not found at {MNIST_DIR}")
    return load_dataset("mnist", "train", root=MNIST_DIR, download=False)


@pytest.fixture(scope="module")
def mnist_test() -> ArrayDataset:
    if not MNIST_DIR.is_dir():
        pytest.skip(f"real MNIST not found at {MNIST_DIR}")
    return load_dataset("mnist", "test", root=MNIST_DIR, download=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(download_module, "urlopen", refuse)


def test_mnist_train_facts(mnist_train: ArrayDataset) -> None:
    assert len(mnist_train) == 60000
    assert mnist_train.x.shape == (60000, 28, 28, 1)
    assert mnist_train.input_shape == (28, 28, 1)
    assert mnist_train.x.dtype == np.float32
    assert mnist_train.y.dtype == np.int32
    assert mnist_train.num_classes == 10
    assert mnist_train.name == "mnist"
    np.testing.assert_array_equal(np.bincount(mnist_train.y, minlength=10), MNIST_TRAIN_COUNTS)
    assert abs(float(mnist_train.x.mean(dtype=np.float64)) - MNIST_MEAN_PIXEL / 255) < 1e-3
    assert mnist_train.x.min() == 0.0
    assert mnist_train.x.max() == 1.0


def test_mnist_test_facts(mnist_test: ArrayDataset) -> None:
    assert len(mnist_test) == 10000
    assert mnist_test.x.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(mnist_test.y, minlength=10), MNIST_TEST_COUNTS)


def test_mnist_info_matches_data(mnist_train: ArrayDataset) -> None:
    info = dataset_info("mnist")
    assert info.input_shape == (28, 28, 1)
    assert info.num_classes == 10
    assert (info.num_train, info.num_test) == (60000, 10000)
    x = mnist_train.x.astype(np.float64)
    assert info.mean[0] == pytest.approx(x.mean(), abs=1e-5)
    assert info.std[0] == pytest.approx(x.std(), abs=1e-5)
    assert info.mean[0] == pytest.approx(0.1307, abs=1e-4)  # the widely published value
    assert info.std[0] == pytest.approx(0.3081, abs=1e-4)


def test_published_normalisation_constants() -> None:
    assert dataset_info("cifar10").mean == (0.4914, 0.4822, 0.4465)
    assert dataset_info("cifar10").std == (0.2470, 0.2435, 0.2616)
    assert dataset_info("fashion-mnist").mean == (0.2860,)
    assert dataset_info("fashion-mnist").std == (0.3530,)
    assert dataset_info("cifar10").input_shape == (32, 32, 3)


@needs_mnist
def test_root_subfolder_env_var_and_xdg_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    """A root holding a mnist/ subfolder works via PLASTIX_DATA_DIR and the XDG cache."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mnist").symlink_to(MNIST_DIR)
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(tmp_path / "data"))
    assert len(load_dataset("mnist", "test", download=False)) == 10000

    monkeypatch.delenv("PLASTIX_DATA_DIR")
    (tmp_path / "xdg" / "plastix").mkdir(parents=True)
    (tmp_path / "xdg" / "plastix" / "mnist").symlink_to(MNIST_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert len(load_dataset("mnist", "test", download=False)) == 10000


def test_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PLASTIX_DATA_DIR", raising=False)
    assert resolve_data_root() == tmp_path / "xdg" / "plastix"
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_root() == tmp_path / "env"
    assert resolve_data_root(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("PLASTIX_DATA_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_root() == tmp_path / "home" / ".cache" / "plastix"


@needs_mnist
def test_uncompressed_idx_accepted(tmp_path: Path, no_network: None) -> None:
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / stem).write_bytes(gunzip(MNIST_DIR / f"{stem}.gz"))
    data = load_dataset("mnist", "test", root=tmp_path, download=False)
    np.testing.assert_array_equal(np.bincount(data.y, minlength=10), MNIST_TEST_COUNTS)


# --------------------------------------------------------------------------- corrupt data


@pytest.fixture
def mnist_test_copy(tmp_path: Path) -> tuple[Path, bytes]:
    """A root with the real test images and a writable path for the test labels."""
    if not MNIST_DIR.is_dir():
        pytest.skip(f"real MNIST not found at {MNIST_DIR}")
    (tmp_path / "t10k-images-idx3-ubyte.gz").symlink_to(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    return tmp_path, gunzip(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")


def test_truncated_idx(mnist_test_copy: tuple[Path, bytes]) -> None:
    root, labels = mnist_test_copy
    (root / "t10k-labels-idx1-ubyte").write_bytes(labels[:-5])
    with pytest.raises(DataError, match="truncated") as info:
        load_dataset("mnist", "test", root=root, download=False)
    assert "t10k-labels-idx1-ubyte" in str(info.value)
    assert "10008" in str(info.value)
    assert "10003" in str(info.value)


def test_extra_bytes_idx(mnist_test_copy: tuple[Path, bytes]) -> None:
    root, labels = mnist_test_copy
    (root / "t10k-labels-idx1-ubyte").write_bytes(labels + b"\0\0\0")
    with pytest.raises(DataError, match="3 extra bytes"):
        load_dataset("mnist", "test", root=root, download=False)


def test_wrong_magic(mnist_test_copy: tuple[Path, bytes]) -> None:
    root, labels = mnist_test_copy
    (root / "t10k-labels-idx1-ubyte").write_bytes((2051).to_bytes(4, "big") + labels[4:])
    with pytest.raises(DataError, match="magic number 2051") as info:
        load_dataset("mnist", "test", root=root, download=False)
    assert "expected 2049" in str(info.value)
    assert "t10k-labels-idx1-ubyte" in str(info.value)


def test_checksum_mismatch_on_modified_copy(mnist_test_copy: tuple[Path, bytes]) -> None:
    root, labels = mnist_test_copy
    modified = bytearray(labels)
    modified[8] = (modified[8] + 1) % 10  # still a valid label: only the checksum can tell
    target = root / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(bytes(modified)))
    with pytest.raises(DataError, match="SHA256 mismatch") as info:
        load_dataset("mnist", "test", root=root, download=False)
    message = str(info.value)
    assert str(target) in message
    assert MNIST_TEST_LABELS_SHA256 in message
    assert hashlib.sha256(bytes(modified)).hexdigest() in message
    assert "Delete" in message
    assert "PLASTIX_DATA_DIR" in message


def test_truncated_gzip(mnist_test_copy: tuple[Path, bytes]) -> None:
    root, labels = mnist_test_copy
    packed = gzip.compress(labels)
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip"):
        load_dataset("mnist", "test", root=root, download=False)


def test_missing_files_without_download(tmp_path: Path, no_network: None) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "train", root=tmp_path, download=False)
    message = str(info.value)
    for needed in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert needed in message
    assert str(tmp_path) in message
    assert str(tmp_path / "mnist") in message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_array_dataset_count_mismatch() -> None:
    x = np.zeros((100, 2, 2, 1), np.float32)
    with pytest.raises(ShapeError, match="label/sample count mismatch: 100 images but 99 labels"):
        ArrayDataset(x, np.zeros(99, np.int32), 10)


def test_array_dataset_validation() -> None:
    x = np.zeros((4, 2, 2, 1))
    with pytest.raises(ShapeError, match=r"\[0, 3\)"):
        ArrayDataset(x, np.array([0, 1, 2, 3]), 3)
    with pytest.raises(ShapeError, match="4-D"):
        ArrayDataset(np.zeros((4, 2, 2)), np.zeros(4, np.int64), 3)
    with pytest.raises(ShapeError, match="integers"):
        ArrayDataset(x, np.zeros(4), 3)
    data = ArrayDataset(x, np.array([0, 1, 2, 0]), 3, "toy")
    assert data.x.dtype == np.float32
    assert data.y.dtype == np.int32
    assert data.classes == ("0", "1", "2")
    assert data.input_shape == (2, 2, 1)
    assert len(data) == 4
    part = data.subset(slice(1, 3))
    np.testing.assert_array_equal(part.y, [1, 2])
    np.testing.assert_array_equal(data.subset(np.array([3, 0])).y, [0, 0])
    np.testing.assert_array_equal(data.subset(data.y == 0).y, [0, 0])
    assert part.name == "toy"
    assert part.num_classes == 3


def test_unknown_name_and_split() -> None:
    with pytest.raises(ConfigError) as info:
        load_dataset("imagenet")
    for name in DATASETS:
        assert name in str(info.value)
    with pytest.raises(ConfigError, match="split"):
        load_dataset("digits", "validation")
    with pytest.raises(ConfigError):
        dataset_info("svhn")


# --------------------------------------------------------------------------- Fashion-MNIST


@needs_mnist
def test_fashion_mnist_rejects_mnist_files(no_network: None) -> None:
    with pytest.raises(DataError, match="original MNIST file, not fashion-mnist"):
        load_dataset("fashion-mnist", "test", root=MNIST_DIR, download=False)


def write_fashion(folder: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    prefix = "train" if split == "train" else "t10k"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images, 2051)))
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 2049))


def test_fashion_mnist_parsing(tmp_path: Path, no_network: None) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = np.array([9, 0, 1, 2, 3, 4, 5], np.uint8)
    write_fashion(tmp_path / "fashion-mnist", "train", images, labels)
    data = load_dataset("fashion-mnist", "train", root=tmp_path, download=False)
    assert data.x.shape == (7, 28, 28, 1)
    assert data.name == "fashion-mnist"
    np.testing.assert_array_equal(data.x[..., 0] * 255, images.astype(np.float32))
    np.testing.assert_array_equal(data.y, labels)
    assert data.classes[data.y[0]] == "Ankle boot"


def test_fashion_mnist_count_mismatch(tmp_path: Path, no_network: None) -> None:
    images = np.zeros((5, 28, 28), np.uint8)
    write_fashion(tmp_path, "test", images, np.zeros(4, np.uint8))
    with pytest.raises(ShapeError, match="label/sample count mismatch: 5 images but 4 labels"):
        load_dataset("fashion-mnist", "test", root=tmp_path, download=False)


# --------------------------------------------------------------------------- CIFAR-10


CifarArrays = dict[str, tuple[np.ndarray, np.ndarray]]


def cifar_members(rng: np.random.Generator) -> tuple[dict[str, bytes], CifarArrays]:
    members: dict[str, bytes] = {}
    arrays: CifarArrays = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        arrays[name] = random_cifar(rng, 3)
        members[name] = cifar_bytes(*arrays[name])
    return members, arrays


def expected_cifar(arrays: CifarArrays, split: str) -> tuple[np.ndarray, np.ndarray]:
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    images = np.concatenate([arrays[n][0] for n in names]).transpose(0, 2, 3, 1)
    return images.astype(np.float32) / 255, np.concatenate([arrays[n][1] for n in names])


def test_cifar_bin_files(tmp_path: Path, no_network: None) -> None:
    members, arrays = cifar_members(np.random.default_rng(1))
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, blob in members.items():
        (folder / name).write_bytes(blob)
    for split, n in (("train", 15), ("test", 3)):
        data = load_dataset("cifar10", split, root=tmp_path, download=False)
        x, y = expected_cifar(arrays, split)
        assert data.x.shape == (n, 32, 32, 3)
        np.testing.assert_array_equal(data.x, x)
        np.testing.assert_array_equal(data.y, y)
    images, _ = arrays["test_batch.bin"]  # channel planes land on the last axis
    test = load_dataset("cifar10", "test", root=tmp_path, download=False)
    assert test.x[1, 5, 7, 2] == pytest.approx(images[1, 2, 5, 7] / 255)


def test_cifar_record_size_check(tmp_path: Path, no_network: None) -> None:
    (tmp_path / "test_batch.bin").write_bytes(b"\0" * (2 * CIFAR_RECORD + 5))
    with pytest.raises(DataError, match="record size 3073") as info:
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    assert "test_batch.bin" in str(info.value)


def test_cifar_tar_gz(tmp_path: Path, no_network: None) -> None:
    members, arrays = cifar_members(np.random.default_rng(2))
    make_tar(
        tmp_path / "cifar-10-binary.tar.gz",
        {"cifar-10-batches-bin/batches.meta.txt": b"airplane\n"}
        | {f"cifar-10-batches-bin/{k}": v for k, v in members.items()},
    )
    data = load_dataset("cifar10", "train", root=tmp_path, download=False)
    x, y = expected_cifar(arrays, "train")
    np.testing.assert_array_equal(data.x, x)
    np.testing.assert_array_equal(data.y, y)
    assert (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").read_bytes() == members[
        "test_batch.bin"
    ]
    assert not (tmp_path / "cifar-10-batches-bin" / "batches.meta.txt").exists()


@pytest.mark.parametrize("evil", ["../evil.bin", "/tmp/plastix-evil.bin", "a/../../evil.bin"])
def test_cifar_tar_path_traversal_rejected(tmp_path: Path, evil: str, no_network: None) -> None:
    members, _ = cifar_members(np.random.default_rng(3))
    root = tmp_path / "root"
    root.mkdir()
    make_tar(
        root / "cifar-10-binary.tar.gz",
        {f"cifar-10-batches-bin/{k}": v for k, v in members.items()} | {evil: b"pwned"},
    )
    with pytest.raises(DataError, match="unsafe member path"):
        load_dataset("cifar10", "test", root=root, download=False)
    assert not (tmp_path / "evil.bin").exists()
    assert not (root / "cifar-10-batches-bin").exists()


def test_cifar_missing(tmp_path: Path, no_network: None) -> None:
    with pytest.raises(DataError, match=r"cifar-10-binary\.tar\.gz") as info:
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    assert "test_batch.bin" in str(info.value)
    assert str(tmp_path) in str(info.value)


# --------------------------------------------------------------------------- downloads


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@needs_mnist
def test_download_from_file_url_with_bad_mirror_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first mirror serves corrupt bytes (MD5 mismatch), the second the real files."""
    bad = tmp_path / "bad"
    bad.mkdir()
    mirror = {"mnist": (bad.as_uri() + "/", MNIST_DIR.as_uri() + "/")}
    monkeypatch.setattr(datasets_module, "_IDX_MIRRORS", mirror)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        real = (MNIST_DIR / f"{stem}.gz").read_bytes()
        (bad / f"{stem}.gz").write_bytes(real[:-100])
        monkeypatch.setitem(datasets_module._IDX_MD5["mnist"], stem, md5(real))
    cache = tmp_path / "cache"
    data = load_dataset("mnist", "test", root=cache)
    np.testing.assert_array_equal(np.bincount(data.y, minlength=10), MNIST_TEST_COUNTS)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]


@needs_mnist
def test_download_checksum_mismatch_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served bytes are real but recompressed: the official MD5 rejects them, atomically."""
    served = (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()

    class Response(io.BytesIO):
        def __enter__(self) -> Response:
            return self

    monkeypatch.setattr(download_module, "urlopen", lambda *a, **k: Response(served))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="MD5 mismatch") as info:
        load_dataset("mnist", "test", root=cache)
    message = str(info.value)
    assert "9fb629c4189551a2d022fa330f9573f3" in message  # official t10k-images MD5
    assert md5(served) in message
    assert "by hand" in message
    assert str(cache / "mnist") in message
    assert list((cache / "mnist").iterdir()) == []  # no partial or temporary file left


def test_download_unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = (tmp_path / "nowhere").as_uri() + "/"
    monkeypatch.setattr(datasets_module, "_IDX_MIRRORS", {"fashion-mnist": (nowhere,)})
    with pytest.raises(DataError, match="Download it by hand"):
        load_dataset("fashion-mnist", "test", root=tmp_path / "cache")
    assert list((tmp_path / "cache" / "fashion-mnist").iterdir()) == []


def test_cifar_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members, arrays = cifar_members(np.random.default_rng(4))
    archive = tmp_path / "served.tar.gz"
    make_tar(archive, {f"cifar-10-batches-bin/{k}": v for k, v in members.items()})
    monkeypatch.setattr(datasets_module, "_CIFAR_URLS", (archive.as_uri(),))
    monkeypatch.setattr(datasets_module, "_CIFAR_MD5", md5(archive.read_bytes()))
    data = load_dataset("cifar10", "test", root=tmp_path / "cache")
    np.testing.assert_array_equal(data.y, arrays["test_batch.bin"][1])
    assert (tmp_path / "cache" / "cifar10" / "cifar-10-binary.tar.gz").is_file()


# --------------------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def digits() -> tuple[ArrayDataset, ArrayDataset]:
    return load_dataset("digits", "train"), load_dataset("digits", "test")


def test_digits_offline(digits: tuple[ArrayDataset, ArrayDataset], no_network: None) -> None:
    train, test = digits
    assert len(train) + len(test) == 1797
    assert train.x.shape[1:] == (8, 8, 1)
    assert train.num_classes == 10
    assert train.x.max() == 1.0
    assert train.x.min() == 0.0
    # stratified 75/25: every class is about a quarter test
    fraction = np.bincount(test.y, minlength=10) / (
        np.bincount(test.y, minlength=10) + np.bincount(train.y, minlength=10)
    )
    assert np.all(np.abs(fraction - 0.25) < 0.01)


def test_digits_split_is_a_fixed_partition(digits: tuple[ArrayDataset, ArrayDataset]) -> None:
    train, test = digits
    raw = Path(datasets_module.__file__).parent / "_embedded" / "digits.csv.gz"
    table = np.loadtxt(raw, delimiter=",", dtype=np.int64)
    assert table.shape == (1797, 65)
    rows = np.concatenate(
        [
            np.concatenate([d.x.reshape(len(d), 64) * 16, d.y[:, None]], axis=1)
            for d in (train, test)
        ]
    ).astype(np.int64)
    np.testing.assert_array_equal(rows[np.lexsort(rows.T[::-1])], table[np.lexsort(table.T[::-1])])
    again = load_dataset("digits", "test")
    np.testing.assert_array_equal(again.x, test.x)


def test_digits_info(digits: tuple[ArrayDataset, ArrayDataset]) -> None:
    train, test = digits
    info = dataset_info("digits")
    assert (info.num_train, info.num_test) == (len(train), len(test))
    assert info.mean[0] == pytest.approx(train.x.astype(np.float64).mean(), abs=1e-5)
    assert info.std[0] == pytest.approx(train.x.astype(np.float64).std(), abs=1e-5)


# --------------------------------------------------------------------------- transforms


def test_normalize_standardises(digits: tuple[ArrayDataset, ArrayDataset]) -> None:
    out = Normalize.for_dataset("digits")(digits[0].x)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float32
    assert abs(out.mean()) < 1e-3
    assert abs(out.std() - 1) < 1e-3


def test_normalize_per_channel_numpy_and_jax() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 4, 4, 3)) * [1, 2, 3] + [0.5, -1, 2]).astype(np.float32)
    norm = Normalize(x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2)))
    out = norm(x)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-5)
    out_jax = norm(jnp.asarray(x))
    assert isinstance(out_jax, jax.Array)
    np.testing.assert_allclose(np.asarray(out_jax), out, atol=1e-6)
    with pytest.raises(ShapeError):
        norm(np.zeros((2, 4, 4, 1), np.float32))
    with pytest.raises(ConfigError):
        Normalize(0.5, 0.0)


def test_flatten_and_one_hot() -> None:
    assert Flatten()(np.zeros((5, 28, 28, 1))).shape == (5, 784)
    y = np.array([0, 3, 9])
    expected = np.eye(10, dtype=np.float32)[y]
    np.testing.assert_array_equal(OneHot(10)(y), expected)
    np.testing.assert_array_equal(np.asarray(OneHot(10)(jnp.asarray(y))), expected)
    assert isinstance(OneHot(10)(jnp.asarray(y)), jax.Array)


def test_random_crop_full_size_no_padding_is_identity() -> None:
    x = np.random.default_rng(0).random((6, 10, 12, 3)).astype(np.float32)
    crop = RandomCrop(size=10, padding=0)
    assert crop(x, key=jax.random.key(0)).shape == (6, 10, 10, 3)  # square windows
    with pytest.raises(ShapeError, match="larger"):
        RandomCrop(size=11)(x, key=jax.random.key(0))
    square = x[:, :, :10]
    for seed in range(3):
        np.testing.assert_array_equal(np.asarray(crop(square, key=jax.random.key(seed))), square)


def test_random_crop_windows_are_independent() -> None:
    n, size, pad = 32, 8, 2
    x = np.random.default_rng(1).random((n, size, size, 2)).astype(np.float32)
    key = jax.random.key(7)
    crop = RandomCrop(size, pad)
    out = np.asarray(crop(x, key=key))
    np.testing.assert_array_equal(out, np.asarray(jax.jit(lambda a, k: crop(a, key=k))(x, key)))
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offsets = set()
    for i in range(n):
        hits = [
            (t, left)
            for t in range(2 * pad + 1)
            for left in range(2 * pad + 1)
            if np.array_equal(out[i], padded[i, t : t + size, left : left + size])
        ]
        assert hits, f"sample {i} is not a window of its padded image"
        offsets.add(hits[0])
    assert len(offsets) > 5  # per-sample offsets, not one offset for the batch
    np.testing.assert_array_equal(out, np.asarray(crop(x, key=key)))  # same key, same crops


def test_random_horizontal_flip() -> None:
    x = np.random.default_rng(2).random((64, 5, 7, 3)).astype(np.float32)
    key = jax.random.key(3)
    mirrored = x[:, :, ::-1, :]
    np.testing.assert_array_equal(np.asarray(RandomHorizontalFlip(1.0)(x, key=key)), mirrored)
    np.testing.assert_array_equal(np.asarray(RandomHorizontalFlip(0.0)(x, key=key)), x)
    out = np.asarray(RandomHorizontalFlip()(x, key=key))
    flipped = np.array([np.array_equal(o, m) for o, m in zip(out, mirrored, strict=True)])
    kept = np.array([np.array_equal(o, a) for o, a in zip(out, x, strict=True)])
    assert np.all(flipped ^ kept)
    assert flipped.any()
    assert kept.any()
    np.testing.assert_array_equal(out, np.asarray(RandomHorizontalFlip()(x, key=key)))
    with pytest.raises(ConfigError):
        RandomHorizontalFlip(1.5)


def test_compose() -> None:
    x = np.random.default_rng(3).random((8, 6, 6, 1)).astype(np.float32)
    pipeline = Compose([RandomCrop(6, 1), RandomHorizontalFlip(), Normalize(0.5, 0.25), Flatten()])
    a = pipeline(x, key=jax.random.key(0))
    assert a.shape == (8, 36)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(pipeline(x, key=jax.random.key(0))))
    with pytest.raises(ConfigError, match="key"):
        pipeline(x)
    np.testing.assert_allclose(
        Compose([Normalize(0.5, 0.25), Flatten()])(x), (x - 0.5).reshape(8, 36) * 4
    )


# --------------------------------------------------------------------------- DataLoader


def indexed_dataset(n: int) -> ArrayDataset:
    """x[i] holds the value i, so a batch reveals which samples it contains."""
    x = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1)
    return ArrayDataset(x, np.arange(n) % 10, 10, "indexed")


def epoch_ids(loader: DataLoader, epoch: int) -> np.ndarray:
    return np.concatenate([np.asarray(x).ravel() for x, _ in loader.epoch(epoch)]).astype(int)


def test_loader_epoch_is_a_permutation() -> None:
    loader = DataLoader(indexed_dataset(103), 10, drop_last=False, seed=5)
    assert len(loader) == 11
    sizes = [len(x) for x, _ in loader.epoch(0)]
    assert sizes == [10] * 10 + [3]
    for epoch in range(3):
        ids = epoch_ids(loader, epoch)
        np.testing.assert_array_equal(np.sort(ids), np.arange(103))
        expected = np.random.default_rng(np.random.SeedSequence([5, epoch])).permutation(103)
        np.testing.assert_array_equal(ids, expected)


def test_loader_reproducible_and_epochs_differ() -> None:
    data = indexed_dataset(100)
    a = DataLoader(data, 10, seed=1)
    b = DataLoader(data, 10, seed=1)
    np.testing.assert_array_equal(epoch_ids(a, 4), epoch_ids(b, 4))
    assert not np.array_equal(epoch_ids(a, 0), epoch_ids(a, 1))
    assert not np.array_equal(epoch_ids(a, 0), epoch_ids(DataLoader(data, 10, seed=2), 0))
    np.testing.assert_array_equal(epoch_ids(a, 0), np.concatenate([x for x, _ in a]).ravel())
    # iterating again gives the next epoch (issue 20: it used to restart epoch 0)
    np.testing.assert_array_equal(epoch_ids(a, 1), np.concatenate([x for x, _ in a]).ravel())
    labels = np.concatenate([y for _, y in a.epoch(2)])
    np.testing.assert_array_equal(labels, epoch_ids(a, 2) % 10)


def test_loader_drop_last() -> None:
    loader = DataLoader(indexed_dataset(103), 10, seed=0)
    assert len(loader) == 10
    ids = epoch_ids(loader, 0)
    assert len(ids) == 100
    assert len(set(ids)) == 100
    index = loader.batch_indices(0)
    assert index.shape == (10, 10)
    np.testing.assert_array_equal(index.ravel(), ids)
    with pytest.raises(ConfigError, match="drop_last"):
        DataLoader(indexed_dataset(103), 10, drop_last=False).batch_indices(0)


def test_loader_options_and_errors() -> None:
    data = indexed_dataset(20)
    np.testing.assert_array_equal(epoch_ids(DataLoader(data, 5, shuffle=False), 3), np.arange(20))
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="batch_size"):
            DataLoader(data, bad)
    with pytest.raises(ConfigError, match="larger than"):
        DataLoader(data, 21)
    whole = DataLoader(data, 21, drop_last=False)
    assert len(whole) == 1
    assert len(next(iter(whole))[0]) == 20
    with pytest.raises(ConfigError):
        DataLoader(data, 5).epoch(-1)


def test_loader_device_resident() -> None:
    data = indexed_dataset(50)
    host = DataLoader(data, 8, seed=3)
    device = DataLoader(data, 8, seed=3, device_resident=True)
    for (hx, hy), (dx, dy) in zip(host.epoch(1), device.epoch(1), strict=True):
        assert isinstance(dx, jax.Array)
        assert isinstance(dy, jax.Array)
        np.testing.assert_array_equal(np.asarray(dx), hx)
        np.testing.assert_array_equal(np.asarray(dy), hy)


def test_iterating_a_loader_twice_gives_two_epochs() -> None:
    """Issue 20: the seed's ``for batch in loader`` loop, run once per epoch, repeated epoch
    0's order; each iteration now gives the next epoch (the order ``epoch(i)`` gives)."""
    loader = DataLoader(indexed_dataset(40), 8, seed=3)
    first = np.concatenate([np.asarray(x).ravel() for x, _ in loader]).astype(int)
    second = np.concatenate([np.asarray(x).ravel() for x, _ in loader]).astype(int)
    np.testing.assert_array_equal(first, epoch_ids(loader, 0))
    np.testing.assert_array_equal(second, epoch_ids(loader, 1))
    assert not np.array_equal(first, second) and sorted(second) == list(range(40))
    assert loader.next_epoch == 2
    loader.next_epoch = 7  # resume
    again = np.concatenate([np.asarray(x).ravel() for x, _ in loader]).astype(int)
    np.testing.assert_array_equal(again, epoch_ids(loader, 7))


def test_dataset_and_loader_transforms() -> None:
    norm = Normalize(0.5, 0.25)
    plain = load_dataset("digits", "train")
    data = load_dataset("digits", "train", transform=Compose([norm]))
    np.testing.assert_allclose(data.x, (plain.x - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ConfigError, match="random"):
        load_dataset("digits", "train", transform=RandomHorizontalFlip())
    with pytest.raises(ShapeError, match="keeps NHWC"):
        load_dataset("digits", "train", transform=Flatten())
    # batches: any shape change; random ones draw a key fixed by (seed, epoch, batch)
    flat = DataLoader(plain, 16, seed=1, transform=Flatten())
    x, _ = next(iter(flat))
    assert x.shape == (16, 64)
    flips = DataLoader(plain, 16, seed=1, transform=RandomHorizontalFlip(p=1.0))
    x, _ = next(flips.epoch(0))
    idx = flips.order(0)[:16]
    np.testing.assert_array_equal(np.asarray(x), plain.x[idx][:, :, ::-1])
    a = [
        np.asarray(b) for b, _ in DataLoader(plain, 64, seed=1, transform=RandomCrop(8, 2)).epoch(3)
    ]
    b = [
        np.asarray(b) for b, _ in DataLoader(plain, 64, seed=1, transform=RandomCrop(8, 2)).epoch(3)
    ]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_a_validation_split_is_held_out_of_training() -> None:
    from plastix.data import DataOptions

    full, test, _ = DataOptions(name="digits").load()
    train, val, _ = DataOptions(name="digits", validation=200).load()
    assert (full.split, test.split, val.split) == ("train", "test", "validation")
    assert len(train) == len(full) - 200 and len(val) == 200
    # the last 200 training samples, normalised as the rest, and never trained on
    np.testing.assert_array_equal(val.x, full.x[-200:])
    np.testing.assert_array_equal(val.y, full.y[-200:])
    np.testing.assert_array_equal(train.x, full.x[:-200])
    with pytest.raises(ConfigError, match="data.validation is 1346 but the training set has 1346"):
        DataOptions(name="digits", validation=1346).load()
    with pytest.raises(ConfigError, match="data.validation must be >= 0"):
        DataOptions(name="digits", validation=-5)


def test_a_run_on_a_validation_split_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from plastix.cli import main

    args = ["train", "--epochs", "1", "--set", "model.hidden=[8]", "--no-progress"]
    assert main([*args, "--set", "data.validation=300", "--out", str(tmp_path / "v")]) == 0
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["evaluated_on"] == "validation"
    printed = capsys.readouterr()
    assert "| validation loss" in printed.out + printed.err
    assert "validation accuracy" in printed.out and "test accuracy" not in printed.out
    assert main([*args, "--out", str(tmp_path / "t")]) == 0
    assert json.loads((tmp_path / "t" / "summary.json").read_text())["evaluated_on"] == "test"
