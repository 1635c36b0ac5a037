"""One prepared check for a machine with an accelerator (issue 15, item 5), in at most 8 minutes.

    python benchmarks/device_check.py --data-dir DIR --out device_check.json   # or
    benchmarks/device_check.sh DIR                                             # the same

It times, each in a fresh process (so each peak memory is its own):

* the mnist-mlp suite's PC, BP and EP rows (PCX's MLP with PC and with BP; EP's 784-500-10
  net with EP and with BP), at batch 128 and 1024: compile seconds, seconds per epoch (the
  second of two epochs), test accuracy;
* one epoch of 3 steps of every entry of the cifar10 suite at full width, on stand-in images
  of CIFAR-10's shape (the data cannot be fetched on a machine without network; a step's time
  does not depend on the pixels): compile seconds and seconds per step;
* the device's peak memory in use for each (``memory_stats()``; ``null`` where the platform
  gives none, e.g. on a CPU).

Real MNIST is used when ``--data-dir`` holds it, else stand-in images of its shape (the
accuracy column then means nothing). Entries that would not start before ``--budget`` seconds
are skipped and listed. ``--quick`` (a CPU smoke test: 2,048 training images, batch 128 only,
one MNIST epoch) checks the script itself. Nothing here changes the device's settings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST_ROWS = [
    ("bp (pcx mlp)", "bp-mnist-mlp", {}),
    ("pc (pcx mlp)", "pcx-mnist-mlp", {}),
    ("bp (784-500-10)", "ep-mnist-mlp", {"rule.name": "bp", "model.activation": "hard-sigmoid"}),
    ("ep (784-500-10)", "ep-mnist-mlp", {}),
]


def _jobs(quick: bool) -> list[dict]:
    from plastix.bench._suites import SUITES

    jobs = [
        {"kind": "mnist", "label": label, "preset": preset, "overrides": over, "batch": b}
        for b in ((128,) if quick else (128, 1024))
        for label, preset, over in MNIST_ROWS
    ]
    for e in SUITES["cifar10"].entries:
        jobs.append(
            {"kind": "cifar10", "label": e.label, "preset": e.preset,
             "overrides": dict(e.overrides), "batch": None}
        )  # fmt: skip
    return jobs


def _stand_in(shape: tuple[int, ...], n: int, name: str, seed: int):
    import numpy as np

    import plastix as px

    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    return px.data.ArrayDataset(x, rng.integers(0, 10, n), 10, name)


def run_one(job: dict, data_dir: str | None, quick: bool) -> dict:
    """Train one job in this process and return its numbers."""
    import jax

    from plastix import config as cfg
    from plastix.cli._main import build_trainer
    from plastix.data import Augment, RandomCrop, RandomHorizontalFlip

    layers = [
        cfg.Layer(f"preset {job['preset']}", cfg.load_preset(job["preset"]), preset=True),
        cfg.Layer("entry", cfg.unflatten(job["overrides"])),
    ]
    over: dict = {"train.eval_batch_size": 1000}
    if job["batch"] is not None:
        over["train.batch_size"] = job["batch"]
    run = cfg.resolve([*layers, cfg.Layer("device check", cfg.unflatten(over))])
    real = False
    if job["kind"] == "mnist":
        mnist = Path(data_dir) / "train-images-idx3-ubyte.gz" if data_dir else None
        real = mnist is not None and mnist.is_file()
        epochs = 1 if quick else 2
        if real:
            run = cfg.resolve(
                [*layers, cfg.Layer("device check", cfg.unflatten({**over, "data.name": "mnist",
                 "data.dir": data_dir, "train.epochs": epochs,
                 **({"data.train_limit": 2048} if quick else {})}))]
            )  # fmt: skip
            datasets = None
        else:
            n = 2048 if quick else 60_000
            run = cfg.resolve(
                [
                    *layers,
                    cfg.Layer("device check", cfg.unflatten({**over, "train.epochs": epochs})),
                ]
            )
            train = _stand_in((28, 28, 1), n, "mnist-stand-in", 0)
            datasets = (train, _stand_in((28, 28, 1), 10_000, "mnist-stand-in", 1), None)
    else:
        b = run.train.batch_size
        run = cfg.resolve(
            [*layers, cfg.Layer("device check", cfg.unflatten({**over, "train.epochs": 1}))]
        )
        augment = None
        if run.data.augment is Augment.CROP_FLIP:
            crop, flip = RandomCrop(32, padding=4), RandomHorizontalFlip()

            def augment(x, *, key):
                k1, k2 = jax.random.split(key)
                return flip(crop(x, key=k1), key=k2)

        train = _stand_in((32, 32, 3), 3 * b, "cifar10-stand-in", 0)
        datasets = (train, _stand_in((32, 32, 3), b, "cifar10-stand-in", 1), augment)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build_trainer(run, out=str(Path(tmp) / "run"), progress=False, datasets=datasets)
        summary = trainer.fit()
    history = summary["history"]
    stats = jax.local_devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return {
        **{k: job[k] for k in ("kind", "label", "preset", "overrides")},
        "batch": run.train.batch_size,
        "real_data": real,
        "steps_per_epoch": trainer.steps_per_epoch,
        "compile_seconds": summary["compile_seconds"],
        "seconds_per_epoch": history[-1]["train_seconds"],
        "seconds_per_step": history[-1]["train_seconds"] / trainer.steps_per_epoch,
        "test_accuracy": history[-1].get("test_accuracy") if real else None,
        "peak_device_gib": None if peak is None else peak / 2**30,
        "device": str(jax.devices()[0].device_kind),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    ap.add_argument("--budget", type=float, default=420.0, help="seconds for all the jobs")
    ap.add_argument("--quick", action="store_true", help="a CPU smoke test of the script")
    ap.add_argument("--out", type=Path, help="write the results here (JSON)")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # a job, as JSON (the child process)
    a = ap.parse_args(argv)
    if a.one:
        print("RESULT " + json.dumps(run_one(json.loads(a.one), a.data_dir, a.quick)), flush=True)
        return 0
    import jax

    print(f"devices: {jax.devices()}", flush=True)
    t0, results, skipped = time.perf_counter(), [], []
    for job in _jobs(a.quick):
        left = a.budget - (time.perf_counter() - t0)
        if left < 20:
            skipped.append(f"{job['label']} ({job['kind']}, {job['batch'] or 'preset'} batch)")
            continue
        cmd = [sys.executable, __file__, "--one", json.dumps(job), "--data-dir", a.data_dir]
        try:
            p = subprocess.run(
                cmd + (["--quick"] if a.quick else []), capture_output=True, text=True,
                timeout=left, cwd=ROOT, env={**os.environ, "PLASTIX_PROGRESS_INTERVAL": "1e9"},
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            skipped.append(
                f"{job['label']} ({job['kind']}, {job['batch'] or 'preset'} batch; timed out)"
            )
            continue
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        if p.returncode or not lines:
            res = {**job, "error": (p.stderr or p.stdout).strip().splitlines()[-3:]}
        else:
            res = json.loads(lines[-1][len("RESULT ") :])
        results.append(res)
        print(json.dumps(res), flush=True)
    print("\n" + table(results))
    if skipped:
        print("\nskipped (budget): " + "; ".join(skipped))
    if a.out:
        a.out.write_text(json.dumps({"results": results, "skipped": skipped}, indent=2) + "\n")
    return 0


def table(results: list[dict]) -> str:
    lines = [
        "| suite | entry | batch | compile s | s/epoch | s/step | test acc | peak GiB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['kind']} | {r['label']} | {r['batch']} | error: {r['error'][-1]} |")
            continue
        acc = "—" if r["test_accuracy"] is None else f"{r['test_accuracy']:.4f}"
        peak = "—" if r["peak_device_gib"] is None else f"{r['peak_device_gib']:.2f}"
        lines.append(
            f"| {r['kind']} | {r['label']} | {r['batch']} | {r['compile_seconds']:.1f} | "
            f"{r['seconds_per_epoch']:.2f} | {r['seconds_per_step'] * 1e3:.1f} ms | {acc} | {peak} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
