#!/usr/bin/env python
"""Side-by-side speed of predictive coding: plastix PC vs plastix BP vs PCX vs FabricPC, one run.

All four train the PCX MNIST benchmark network (784-128-128-128-10, gelu, squared-error
energy, T=8, states SGD(0.0105, momentum 0.65), AdamW warmup-cosine, batch 128) on real
MNIST, each in a fresh process, interleaved round by round so that machine noise hits them
alike. Seconds per epoch exclude compilation (median over the epochs of a run; the reported
value is the median over rounds).

    python benchmarks/pc_vs_pcx.py --pcx-python .venv-pcx/bin/python \
        --fabricpc-python .venv-fabricpc/bin/python --rounds 3 --epochs 3

PCX and FabricPC run in their own environments (``benchmarks/setup_pcx_env.sh``: it pins
jax<0.5; ``benchmarks/setup_fabricpc_env.sh``). FabricPC's relaxation has no momentum (plain
SGD at the same state learning rate; ``benchmarks/fabricpc_mnist_mlp.py`` lists its
deviations). Compile seconds: plastix's ``compile_seconds`` (every program of the run
compiled ahead of the first epoch: training chunk and evaluation), the peers' first training
step (trace, compile and one step).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "mnist"


def _run(cmd: list[str], extra_env: dict[str, str] | None = None) -> None:
    """Run one benchmark process on the CPU, its output discarded (results come as files)."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", **(extra_env or {})}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def run_plastix(
    rule_preset: str, epochs: int, data_dir: Path, seed: int, cache: str = "off"
) -> dict:
    """One ``plastix train`` run; ``cache``: the compilation cache folder (``off``: none,
    so the compile seconds are cold, like the peers' first calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [
            sys.executable,
            "-m",
            "plastix",
            "train",
            "--preset",
            rule_preset,
            "--epochs",
            str(epochs),
            "--data-dir",
            str(data_dir),
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--no-progress",
        ]
        _run(cmd, {"PLASTIX_COMPILE_CACHE": cache})
        s = json.loads((out / "summary.json").read_text())
    return {
        "seconds_per_epoch": [r["train_seconds"] for r in s["history"]],
        "median_seconds_per_epoch": s["train_seconds_per_epoch"],
        "compile_seconds": s["compile_seconds"],
        "train_compile_seconds": s["compile_seconds_by_program"]["train"],
        "test_accuracy": s["test_accuracy"],
    }


def run_peer(script: str, python: str, epochs: int, data_dir: Path, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "peer.json"
        cmd = [
            python,
            str(ROOT / "benchmarks" / script),
            "--epochs",
            str(epochs),
            "--data-dir",
            str(data_dir),
            "--seed",
            str(seed),
            "--json",
            str(js),
        ]
        _run(cmd)
        s = json.loads(js.read_text())
    return {
        "seconds_per_epoch": s["seconds_per_epoch"],
        "median_seconds_per_epoch": s["median_seconds_per_epoch"],
        "compile_seconds": s["compile_seconds"],
        "test_accuracy": s["test_accuracy"][-1],
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--pcx-python",
        default=str(ROOT / ".venv-pcx" / "bin" / "python"),
        help="python of the PCX venv",
    )
    p.add_argument(
        "--fabricpc-python",
        default=str(ROOT / ".venv-fabricpc" / "bin" / "python"),
        help="python of the FabricPC venv",
    )
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--json", type=Path, help="write all results here")
    args = p.parse_args()
    have_pcx = Path(args.pcx_python).exists()
    if not have_pcx:
        print(
            f"note: {args.pcx_python} not found; PCX is skipped (run benchmarks/setup_pcx_env.sh)",
            file=sys.stderr,
        )
    have_fpc = Path(args.fabricpc_python).exists()
    if not have_fpc:
        print(
            f"note: {args.fabricpc_python} not found; FabricPC is skipped (run "
            "benchmarks/setup_fabricpc_env.sh)",
            file=sys.stderr,
        )
    runs: dict[str, list[dict]] = {
        "plastix-bp": [],
        "plastix-pc": [],
        "pcx-pc": [],
        "fabricpc-pc": [],
    }
    for r in range(args.rounds):
        runs["plastix-bp"].append(run_plastix("bp-mnist-mlp", args.epochs, args.data_dir, r))
        runs["plastix-pc"].append(run_plastix("pcx-mnist-mlp", args.epochs, args.data_dir, r))
        if have_pcx:
            runs["pcx-pc"].append(
                run_peer("pcx_mnist_mlp.py", args.pcx_python, args.epochs, args.data_dir, r)
            )
        if have_fpc:
            runs["fabricpc-pc"].append(
                run_peer(
                    "fabricpc_mnist_mlp.py", args.fabricpc_python, args.epochs, args.data_dir, r
                )
            )
        print(
            f"round {r + 1}/{args.rounds}: "
            + ", ".join(
                f"{k} {v[-1]['median_seconds_per_epoch']:.3f}s" for k, v in runs.items() if v
            ),
            file=sys.stderr,
        )
    med = {
        k: statistics.median(x["median_seconds_per_epoch"] for x in v) for k, v in runs.items() if v
    }
    acc = {k: statistics.mean(x["test_accuracy"] for x in v) for k, v in runs.items() if v}
    comp = {k: statistics.median(x["compile_seconds"] for x in v) for k, v in runs.items() if v}
    print(
        f"| run ({args.epochs} epochs, {args.rounds} rounds, {platform.machine()}, "
        f"{os.cpu_count()} CPUs) | s/epoch (median) | compile / first step s (median) | "
        "test acc (mean) | vs plastix BP |"
    )
    print("| --- | --- | --- | --- | --- |")
    for k in med:
        print(
            f"| {k} | {med[k]:.3f} | {comp[k]:.2f} | {acc[k]:.4f} | "
            f"{med[k] / med['plastix-bp']:.2f}x |"
        )
    # a second run of the same preset with a warm compilation cache (the first fills it)
    with tempfile.TemporaryDirectory() as cache:
        run_plastix("pcx-mnist-mlp", 1, args.data_dir, 0, cache)
        warm = run_plastix("pcx-mnist-mlp", 1, args.data_dir, 0, cache)["compile_seconds"]
    print(f"\nplastix PC compile with a warm cache (second run): {warm:.2f} s")
    train_comp = statistics.median(x["train_compile_seconds"] for x in runs["plastix-pc"])
    print(f"plastix PC compile of the training programs alone (no evaluation): {train_comp:.2f} s")
    for peer in ("pcx-pc", "fabricpc-pc"):
        if peer in med:
            print(
                f"\nplastix PC / {peer}: epoch {med['plastix-pc'] / med[peer]:.3f}, "
                f"compile {comp['plastix-pc'] / comp[peer]:.3f}"
            )
    print(f"plastix PC / plastix BP = {med['plastix-pc'] / med['plastix-bp']:.3f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "runs": runs,
                    "median": med,
                    "compile": comp,
                    "warm_compile": warm,
                    "train_compile": train_comp,
                    "accuracy": acc,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
