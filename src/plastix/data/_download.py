"""Where dataset files live, how they are checksummed, and how they are downloaded."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.request import Request, urlopen

from .._errors import DataError
from .._progress import progress

DATA_DIR_ENV = "PLASTIX_DATA_DIR"
"""Environment variable naming the data root when no explicit ``root`` is given."""

_CHUNK = 1 << 20
_TIMEOUT_S = 8.0
"""Seconds a connection may wait for a connect or for the next bytes before a mirror counts
as failed: three silent mirrors fail one file in under 30 s."""
_USER_AGENT = "plastix-data/1 (+https://pypi.org/project/plastix)"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/plastix``, or ``~/.cache/plastix`` when XDG_CACHE_HOME is unset."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "plastix"


def resolve_data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: explicit ``root`` > ``$PLASTIX_DATA_DIR`` > the default cache folder."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


def find_file(dirs: Sequence[Path], candidates: Sequence[str]) -> Path | None:
    """The first existing file among ``dir / candidate``, folders first, then candidates.
    With none, something else in the way of a candidate (a directory, a link that loops or
    points nowhere) raises a :class:`~plastix.DataError` naming it."""
    for folder in dirs:
        for name in candidates:
            path = folder / name
            if path.is_file():
                return path
    for folder in dirs:
        for name in candidates:
            _not_in_the_way(folder / name)
    return None


def _not_in_the_way(path: Path) -> None:
    if path.is_dir():
        raise DataError(
            f"{path} is a directory where the data file {path.name} belongs; move it away "
            "(the file is then downloaded or looked for there)."
        )
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except (OSError, RuntimeError) as err:
            why = (
                "loops"
                if isinstance(err, RuntimeError) or "loop" in str(err).lower()
                else ("points to nothing")
            )
            raise DataError(
                f"{path} is a symbolic link that {why} where the data file {path.name} belongs; "
                "fix or remove the link."
            ) from err


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file's bytes (``"md5"`` or ``"sha256"``)."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_digest(data: bytes, algorithm: str) -> str:
    """Hex digest of in-memory bytes."""
    return hashlib.new(algorithm, data).hexdigest()


def checksum_error(
    path: Path | str, what: str, algorithm: str, expected: str, actual: str
) -> DataError:
    """A DataError for a digest mismatch that says which file, both digests, and the fix."""
    return DataError(
        f"{path}: {algorithm.upper()} mismatch for {what}: expected {expected}, got {actual}. "
        f"The file is corrupt or not the original. Delete it and load again with "
        f"download=True to re-download it, or point root= / --data-dir / ${DATA_DIR_ENV} at a "
        f"folder holding a good copy."
    )


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success rename it onto ``dest`` atomically.

    On any exception the temporary file is removed and ``dest`` is left untouched.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file and an atomic rename."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


class _ChecksumMismatchError(Exception):
    """Internal: a downloaded file failed its MD5 check (aborts the atomic write)."""


def _fetch_to(url: str, tmp: Path) -> str:
    """Stream ``url`` into ``tmp``; return the MD5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    request = Request(url, headers={"User-Agent": _USER_AGENT})
    with urlopen(request, timeout=_TIMEOUT_S) as response, tmp.open("wb") as out:
        size = getattr(response, "headers", {}).get("Content-Length")
        with progress(
            total=int(size) if size and size.isdigit() else None,
            unit="B",
            unit_scale=True,
            desc=f"downloading {Path(url).name}",
            leave=False,
        ) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def download_file(urls: Sequence[str], dest: Path, md5: str) -> Path:
    """Download the first of ``urls`` whose bytes match ``md5`` to ``dest``, atomically.

    Each mirror is tried in turn. The bytes go to a temporary file in ``dest``'s folder that
    is renamed onto ``dest`` only after its MD5 checks out, so a failed or corrupt download
    never leaves a partial file behind. Raises DataError when every mirror fails.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {dest.parent} to download {dest.name} into ({exc}); pass a "
            f"writable root= / --data-dir / ${DATA_DIR_ENV}, or put the file there by hand"
        ) from exc
    failures: list[str] = []
    for url in urls:
        try:
            with atomic_path(dest) as tmp:
                actual = _fetch_to(url, tmp)
                if actual != md5:
                    raise _ChecksumMismatchError(
                        f"{url}: MD5 mismatch: expected {md5}, got {actual} (download discarded)"
                    )
        except _ChecksumMismatchError as exc:
            failures.append(str(exc))
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, bad URLs
            failures.append(f"{url}: {exc}")
        else:
            return dest
    tried = "; ".join(failures)
    raise DataError(
        f"could not download {dest.name} (MD5 {md5}) into {dest.parent} [{tried}]. Download "
        f"it by hand from {urls[0]} and put it in {dest.parent} (or in the folder given by "
        f"root= / --data-dir / ${DATA_DIR_ENV}), or run `plastix download <dataset>` where a "
        "network is available."
    )
