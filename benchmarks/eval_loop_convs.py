"""Evaluation of conv nets: the Trainer's one compiled scan over the test batches against one
compiled call per batch, side by side.

Training steps of wide conv nets run several times slower inside a compiled loop on XLA:CPU
(``benchmarks/cpu_loop_convs.py``), so their presets train with ``train.steps_per_call = 1``.
The Trainer still evaluates with one ``lax.scan`` over the test batches. This script measures
whether evaluation pays that penalty: for each preset, from its initial parameters, the
Trainer's evaluation program (``Trainer._eval``) and a jitted prediction of one batch called
once per batch, alternately, ``--rounds`` times; it prints the first call of each (compile
and one evaluation) and the median evaluation time, and checks that both count the same
correct predictions. CIFAR-10 shapes come from random images in the CIFAR-10 binary format
(the timing does not depend on the pixels); MNIST presets read the real test set.

    python benchmarks/eval_loop_convs.py --data-dir ../shared/datasets/mnist
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp

import plastix as px
from cpu_loop_convs import write_cifar
from plastix.cli._main import build_trainer

# (preset, test images, evaluation batch)
CASES = [
    ("dfa-mnist-conv", 2000, 1000),
    ("softhebb-mnist", 2000, 1000),
    ("bp-cifar10-vgg5", 2000, 100),
    ("pcx-cifar10-vgg5", 2000, 100),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="folder with the MNIST files")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", action="append", help="run only these presets")
    args = ap.parse_args(argv)
    jax.config.update("jax_enable_compilation_cache", False)
    cifar = Path(tempfile.mkdtemp()) / "cifar"
    write_cifar(cifar, 2000)
    print(
        "| preset | test images | batch | scan: first call s | scan: s | per batch: first call s "
        "| per batch: s | scan / per batch |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    for name, n, bs in CASES:
        if args.only and name not in args.only:
            continue
        data = str(cifar) if "cifar" in name else args.data_dir
        overrides = {
            "data.dir": data,
            "data.train_limit": 1000,
            "data.test_limit": n,
            "train.epochs": 1,
            "train.devices": 1,
            "train.eval_batch_size": bs,
        }
        tr = build_trainer(px.config.from_preset(name, overrides), out=None, progress=False)
        params, state, _ = tr.init()
        xs, ys = jnp.asarray(tr.test.x), jnp.asarray(tr.test.y)
        xb = [xs[a : a + bs] for a in range(0, n, bs)]
        yb = [ys[a : a + bs] for a in range(0, n, bs)]

        @jax.jit
        def correct(p, s, x, y):
            return jnp.sum(jnp.argmax(tr.rule.predict(tr.net, p, s, x), -1) == y)

        def scan() -> float:
            return float(tr._eval(params, state, xs, ys)["accuracy"]) * n

        def per_batch() -> float:
            return float(sum(int(correct(params, state, x, y)) for x, y in zip(xb, yb)))

        first, times, counts = {}, {"scan": [], "batch": []}, {}
        for r in range(args.rounds + 1):
            for kind, f in (("scan", scan), ("batch", per_batch)):
                t0 = time.perf_counter()
                counts[kind] = f()
                dt = time.perf_counter() - t0
                if r == 0:
                    first[kind] = dt
                else:
                    times[kind].append(dt)
        assert round(counts["scan"]) == round(counts["batch"]), counts
        s, b = statistics.median(times["scan"]), statistics.median(times["batch"])
        print(
            f"| `{name}` | {n} | {bs} | {first['scan']:.2f} | {s:.3f} | {first['batch']:.2f} | "
            f"{b:.3f} | {s / b:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
