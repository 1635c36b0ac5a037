"""Checkpoints: a pytree's leaves in an ``.npz`` (no pickle) plus JSON metadata, written
atomically (temporary file, fsync, rename). The metadata carries the layout's ``format``
(:data:`CHECKPOINT_FORMAT`); a file of another format is refused with a message that names
it (files written before the format was recorded have format 1's layout)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .._errors import CheckpointError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would make it (mkstemp's is 0600)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a half-written file."""
    _atomic_write(Path(path), lambda f: f.write(text.encode()))


CHECKPOINT_FORMAT = 2
"""The layout of the checkpoints this version writes and reads: the leaves of
``(params, state, opt_state)`` in tree order (format 1, before the rules kept their
non-learned state beside the parameters: ``(params, opt_state)``)."""


def save_checkpoint(path: str | os.PathLike[str], tree: Any, meta: dict[str, Any]) -> None:
    """Save the array leaves of ``tree`` and JSON-serialisable ``meta`` (plus the
    ``format``) to ``path`` (.npz)."""
    leaves = jax.tree.leaves(tree)
    arrays = {f"leaf_{i:05d}": np.asarray(l) for i, l in enumerate(leaves)}
    meta = {**meta, "format": CHECKPOINT_FORMAT}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    _atomic_write(Path(path), lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]


def load_checkpoint(path: str | os.PathLike[str], like: Any) -> tuple[Any, dict[str, Any]]:
    """Load a checkpoint into the structure of ``like`` (a pytree of the same shapes/dtypes).

    Raises :class:`~plastix.CheckpointError` if the file is unreadable or does not match."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            leaves = [z[k] for k in sorted(k for k in z.files if k.startswith("leaf_"))]
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as err:
        raise CheckpointError(
            f"cannot read checkpoint {path}: {err}; delete it to start over or point at another."
        ) from err
    fmt = meta.get("format", 1) if isinstance(meta, dict) else None
    if fmt != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has format {fmt!r} but this version of plastix reads format "
            f"{CHECKPOINT_FORMAT}"
            + (
                " (format 1 kept the rules' non-learned state inside the parameters, format 2 "
                "beside them)"
                if fmt == 1
                else ""
            )
            + ": resume it with the plastix version that wrote it, or start a new run "
            "(another --out directory)."
        )
    meta.pop("format", None)
    ref, treedef = jax.tree.flatten(like)
    if len(ref) != len(leaves):
        raise CheckpointError(
            f"checkpoint {path} has {len(leaves)} arrays but this run's model/optimizer has "
            f"{len(ref)}: it was written by a different configuration."
        )
    for i, (a, r) in enumerate(zip(leaves, ref)):
        if a.shape != np.shape(r) or a.dtype != np.asarray(r).dtype:
            raise CheckpointError(
                f"checkpoint {path}: array {i} is {a.dtype}{list(a.shape)} but this run expects "
                f"{np.asarray(r).dtype}{list(np.shape(r))}: it was written by a different configuration."
            )
    return jax.tree.unflatten(treedef, [jax.numpy.asarray(a) for a in leaves]), meta


def latest_checkpoint(directory: str | os.PathLike[str]) -> Path | None:
    """The checkpoint with the highest epoch number in ``directory`` (``epoch-NNNN.npz``)."""
    d = Path(directory)
    if not d.is_dir():
        return None
    found = [
        (int(m.group(1)), p)
        for p in d.iterdir()
        if (m := re.fullmatch(r"epoch-(\d+)\.npz", p.name))
    ]
    return max(found)[1] if found else None
