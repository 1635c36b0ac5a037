"""What the peer baselines (``pcx_mnist_mlp.py``, ``fabricpc_mnist_mlp.py``) share: PCX's
MLP / MNIST / PC-SE hyper-parameters and a minimal gzipped-IDX reader. Numpy only: it runs in
the peers' own environments, which do not have plastix."""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"

HIDDEN = 128
NM_LAYERS = 4  # number of Linear layers -> 784-128-128-128-10
T_INFERENCE = 8
BATCH_SIZE = 128
X_LR = 0.010534787245955935
X_MOMENTUM = 0.65
W_LR = 0.0002968930522737348
W_WD = 0.0003550241114984682
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: expected {shape}, got {arr.size} bytes of payload")
    return arr.reshape(shape)


def load_mnist(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat standardised images (x/255 - 0.1307)/0.3081 and int32 labels, train and test."""

    def images(name: str) -> np.ndarray:
        x = read_idx(data_dir / name).reshape(-1, 28 * 28).astype(np.float32) / 255.0
        return ((x - MNIST_MEAN) / MNIST_STD).astype(np.float32)

    def labels(name: str) -> np.ndarray:
        return read_idx(data_dir / name).astype(np.int32)

    x_tr = images("train-images-idx3-ubyte.gz")
    y_tr = labels("train-labels-idx1-ubyte.gz")
    x_te = images("t10k-images-idx3-ubyte.gz")
    y_te = labels("t10k-labels-idx1-ubyte.gz")
    assert x_tr.shape == (60000, 784) and y_tr.shape == (60000,)
    assert x_te.shape == (10000, 784) and y_te.shape == (10000,)
    return x_tr, y_tr, x_te, y_te


def parse_args(
    description: str, default_data: Path, argv: Sequence[str] | None
) -> argparse.Namespace:
    """The peers' command line: ``--data-dir --epochs --seed --json``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--data-dir", type=Path, default=default_data, help="folder with the 4 MNIST .gz IDX files"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the summary to this file"
    )
    return parser.parse_args(argv)


def warmup_cosine(optax, total_steps: int):
    """PCX's weight schedule: 10 % warm-up to 1.1 lr, cosine to 0.1 lr over the run."""
    return optax.warmup_cosine_decay_schedule(
        init_value=W_LR,
        peak_value=1.1 * W_LR,
        warmup_steps=int(round(0.1 * total_steps)),
        decay_steps=total_steps,
        end_value=0.1 * W_LR,
        exponent=1.0,
    )


def timing_fields(
    seconds_per_epoch: Sequence[float], compile_seconds: float, test_accuracy: Sequence[float]
) -> dict[str, Any]:
    """The summary keys ``benchmarks/pc_vs_pcx.py`` reads, the same for every peer."""
    return {
        "seconds_per_epoch": [round(s, 4) for s in seconds_per_epoch],
        "median_seconds_per_epoch": round(statistics.median(seconds_per_epoch), 4),
        "compile_seconds": round(compile_seconds, 4),
        "first_epoch_excludes_compile_call": True,
        "test_accuracy": [round(a, 4) for a in test_accuracy],
    }


def write_summary(summary: dict[str, Any], json_path: Path | None) -> dict[str, Any]:
    """Print the summary as one JSON line and write it to ``json_path`` (if given)."""
    line = json.dumps(summary)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(line + "\n")
    print(line)
    return summary
