"""Seconds per training step with and without a compiled loop, side by side.

The Trainer runs ``steps_per_call`` steps per compiled call as one ``lax.scan``; with
``steps_per_call=1`` each step is its own compiled call with no loop. On XLA:CPU, convolutions
inside a compiled loop run several times slower than the same program outside one, so the conv
presets use 1. This script trains each preset for a few steps both ways, interleaved (A B A B
...), and prints the median seconds per step and the ratio. CIFAR-10 shapes come from random
images in the CIFAR-10 binary format (the timing does not depend on the pixels); MNIST presets
read the real data from ``--data-dir``.

    python benchmarks/cpu_loop_convs.py --data-dir ../shared/datasets/mnist
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

from plastix.cli import run_train
from plastix.config import from_preset

# (preset, batch size, training images, extra overrides)
CASES = [
    ("pcx-mnist-mlp", 128, 128 * 40, {}),
    ("dfa-mnist-conv", 64, 64 * 20, {}),
    ("softhebb-mnist", 60, 60 * 20, {"rule.hebbian_epochs": 1}),
    ("bp-cifar10-vgg5", 8, 8 * 4, {}),
    ("pcx-cifar10-vgg5", 8, 8 * 4, {}),
    ("dtp-cifar10-simplevgg", 8, 8 * 4, {}),
]


def write_cifar(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    d = root / "cifar-10-batches-bin"
    d.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=(n, 1), dtype=np.uint8)
        (d / name).write_bytes(np.concatenate([labels, images], axis=1).tobytes())


def seconds_per_step(name: str, batch: int, n: int, extra: dict, calls: int, data: str) -> float:
    overrides = {
        **extra,
        "data.dir": data,
        "data.train_limit": n,
        "data.test_limit": 100,
        "train.batch_size": batch,
        "train.epochs": 1,
        "train.steps_per_call": calls,
        "train.devices": 1,
    }
    run = from_preset(name, overrides)
    with tempfile.TemporaryDirectory() as out:
        summary = run_train(run, out=out, resume=False, progress=False)
    return summary["train_seconds_per_epoch"] / (n // batch)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="folder with the MNIST files")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", action="append", help="run only these presets")
    args = ap.parse_args(argv)
    cifar = Path(tempfile.mkdtemp()) / "cifar"
    write_cifar(cifar, 400)
    print("| preset | batch | steps | ms/step, one scan over the epoch | ms/step, one call per step | scan / single |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |", flush=True)
    for name, batch, n, extra in CASES:
        if args.only and name not in args.only:
            continue
        data = str(cifar) if "cifar" in name else args.data_dir
        times: dict[int, list[float]] = {n // batch: [], 1: []}
        for _ in range(args.rounds):
            for calls in times:
                times[calls].append(seconds_per_step(name, batch, n, extra, calls, data))
        loop, single = (statistics.median(times[c]) for c in times)
        print(f"| `{name}` | {batch} | {n // batch} | {loop * 1e3:.1f} | {single * 1e3:.1f} | {loop / single:.2f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
