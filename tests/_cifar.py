"""Files in the CIFAR-10 binary format (random pixels and labels) for slice tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_cifar_bin(root: Path, n: int, seed: int = 0) -> None:
    """``root/cifar-10-batches-bin`` with ``n`` random records in each of the five training
    files and the test file (the loader's real format: a label byte, then 3x32x32 bytes CHW)."""
    rng = np.random.default_rng(seed)
    d = root / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        flat = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
        (d / name).write_bytes(flat.astype(np.uint8).tobytes())
