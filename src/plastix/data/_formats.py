"""Parsers for the on-disk formats: IDX (MNIST-style), CIFAR-10 binary, digits CSV.

Every parser checks structure exactly and raises DataError naming the file and what it
expected. Nothing here unpickles or executes anything from a data file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import tarfile
import warnings
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, cast

import numpy as np

from .._errors import DataError

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"

CIFAR_IMAGE_SHAPE = (3, 32, 32)  # stored CHW
CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32
CIFAR_TAR_FOLDER = "cifar-10-batches-bin"


def read_maybe_gzip(path: Path) -> bytes:
    """A file's bytes, gunzipped when it starts with the gzip magic number."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file: {exc}") from exc
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: cannot decompress gzip data ({exc}); the file is truncated or corrupt. "
            f"Delete it and re-download it."
        ) from exc


def _idx_kind(expected_magic: int) -> str:
    return {IDX_IMAGES_MAGIC: "image", IDX_LABELS_MAGIC: "label"}.get(expected_magic, "IDX")


def idx_header(data: bytes, expected_magic: int, source: Path | str) -> tuple[tuple[int, ...], int]:
    """The dimensions and the header length of an IDX file from its first bytes (at least the
    whole header: 4 + 4 * ndim bytes), after checking the magic number."""
    kind = _idx_kind(expected_magic)
    if len(data) < 4:
        raise DataError(
            f"{source}: truncated IDX {kind} file: {len(data)} bytes, shorter than the "
            f"4-byte magic number"
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{source}: bad IDX magic number {magic} (0x{magic:08x}), expected "
            f"{expected_magic} (0x{expected_magic:08x}) for an IDX {kind} file; the file is "
            f"corrupt or not the {kind} file of an MNIST-format data set"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{source}: truncated IDX {kind} header: expected {header} bytes, got {len(data)}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return dims, header


def _check_idx_size(
    size: int, dims: tuple[int, ...], header: int, kind: str, source: Path | str
) -> None:
    expected = header + int(np.prod(dims, dtype=np.int64))
    if size != expected:
        problem = "truncated" if size < expected else f"{size - expected} extra bytes"
        shape = "x".join(map(str, dims))
        raise DataError(
            f"{source}: IDX {kind} file size mismatch ({problem}): header says {shape} "
            f"unsigned bytes, so expected {expected} bytes in total, got {size}"
        )


def parse_idx(data: bytes, expected_magic: int, source: Path | str) -> np.ndarray:
    """Parse IDX bytes holding unsigned bytes; return a uint8 array of the header's shape.

    ``expected_magic`` is 2051 for image files (3 dims) or 2049 for label files (1 dim).
    The byte count must match the header exactly.
    """
    dims, header = idx_header(data, expected_magic, source)
    _check_idx_size(len(data), dims, header, _idx_kind(expected_magic), source)
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


@contextlib.contextmanager
def _streamed(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for reading, gunzipped on the fly when it starts with the gzip magic
    number; read and decompression errors become DataErrors naming the file."""
    gz = False
    try:
        with path.open("rb") as raw:
            gz = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            f = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw)
            with f:
                yield f
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        if not gz:
            raise DataError(f"{path}: cannot read file: {exc}") from exc
        raise DataError(
            f"{path}: cannot decompress gzip data ({exc}); the file is truncated or corrupt. "
            f"Delete it and re-download it."
        ) from exc


def idx_length(path: Path, expected_magic: int) -> int:
    """The number of records an IDX file's header announces (only the header is read)."""
    with _streamed(path) as f:
        head = f.read(4)
        if len(head) == 4:
            head += f.read(4 * head[3])
    dims, _ = idx_header(head, expected_magic, path)
    if not dims:
        raise DataError(f"{path}: IDX file with no dimensions; the file is corrupt")
    return dims[0]


def read_idx_rows(
    path: Path, expected_magic: int, start: int, stop: int, *, chunk: int = 1 << 20
) -> tuple[np.ndarray, str]:
    """Records ``start..stop`` of an IDX file (gzipped or not) and the SHA256 of the whole
    decompressed file: the file is streamed through once (hashed, its size checked against
    the header, as :func:`parse_idx` does), and only the wanted records are kept."""
    kind = _idx_kind(expected_magic)
    digest = hashlib.sha256()
    keep = bytearray()
    with _streamed(path) as f:
        head = f.read(4)
        if len(head) == 4:
            head += f.read(4 * head[3])
        dims, header = idx_header(head, expected_magic, path)
        digest.update(head)
        if not dims or not 0 <= start <= stop <= dims[0]:
            raise DataError(
                f"{path}: records {start}..{stop} asked for, but the file holds "
                f"{dims[0] if dims else 0}"
            )
        record = int(np.prod(dims[1:], dtype=np.int64))
        lo, hi, pos = start * record, stop * record, 0
        while buf := f.read(chunk):
            digest.update(buf)
            if pos + len(buf) > lo and pos < hi:
                keep += buf[max(lo - pos, 0) : min(hi - pos, len(buf))]
            pos += len(buf)
    _check_idx_size(header + pos, dims, header, kind, path)
    rows = np.frombuffer(bytes(keep), dtype=np.uint8).reshape((stop - start, *dims[1:]))
    return rows, digest.hexdigest()


def parse_cifar_records(data: bytes, source: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Parse CIFAR-10 binary records (1 label byte + 3072 CHW pixel bytes each).

    Returns ``(images, labels)`` with images uint8 of shape (N, 32, 32, 3) (NHWC) and labels
    uint8 of shape (N,).
    """
    if len(data) == 0 or len(data) % CIFAR_RECORD_BYTES:
        raise DataError(
            f"{source}: size {len(data)} bytes is not a positive multiple of the CIFAR-10 "
            f"record size {CIFAR_RECORD_BYTES} (1 label byte + 3072 pixel bytes); the file "
            f"is truncated or corrupt"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD_BYTES)
    images = records[:, 1:].reshape((-1, *CIFAR_IMAGE_SHAPE)).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, 0].copy()


def _check_member_name(name: str, archive: Path) -> None:
    """Reject absolute member paths and any ``..`` component (path traversal)."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or (len(name) > 1 and name[1] == ":"):
        raise DataError(
            f"{archive}: refusing to read archive with unsafe member path {name!r} "
            f"(absolute or containing '..'); the archive is not the official CIFAR-10 one"
        )


def read_tar_members(archive: Path, wanted: Collection[str]) -> dict[str, bytes]:
    """Read the regular files named ``wanted`` from the CIFAR-10 binary tar.gz, in memory.

    A wanted file may sit at the top level or under ``cifar-10-batches-bin/``. The whole
    archive is rejected if any member path is absolute or contains ``..``; nothing else is
    read, and nothing is extracted to disk by tarfile itself.
    """
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member_name(member.name, archive)
            for member in members:
                path = PurePosixPath(member.name)
                if path.name not in wanted or str(path.parent) not in (".", CIFAR_TAR_FOLDER):
                    continue
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None:
                    raise DataError(f"{archive}: member {member.name!r} is not a regular file")
                found[path.name] = handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(
            f"{archive}: cannot read tar archive ({exc}); it is truncated or corrupt. "
            f"Delete it and re-download it."
        ) from exc
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise DataError(
            f"{archive}: archive lacks {', '.join(missing)} (looked at the top level and "
            f"under {CIFAR_TAR_FOLDER}/); it is not the CIFAR-10 binary archive"
        )
    return found


def parse_digits_csv(data: bytes, source: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Parse the UCI digits CSV (64 pixel values 0-16 then the label, one sample a line).

    Returns ``(pixels, labels)``: uint8 of shape (N, 8, 8) and (N,).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file is reported below, not warned of
            table = np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{source}: cannot parse digits CSV: {exc}") from exc
    if table.shape[1] != 65 or table.min() < 0 or table[:, :64].max() > 16:
        raise DataError(
            f"{source}: digits CSV must have 65 columns of pixel values 0-16 and a label, got "
            f"shape {table.shape}"
        )
    return table[:, :64].reshape(-1, 8, 8).astype(np.uint8), table[:, 64].astype(np.uint8)
