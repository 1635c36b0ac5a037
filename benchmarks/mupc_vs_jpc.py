"""μPC on MNIST, plastix beside jpc, in one run (issue 19's side-by-side).

For each depth H: plastix's ``--preset mupc-mnist --set model.depth=H`` (T = H + 1) and jpc (its own
environment, ``benchmarks/setup_jpc_env.sh``) running the same setup
(``benchmarks/jpc_mupc.py``: jpc's examples/mupc.ipynb, the same standardised images in the
same batch order), in strict alternation for ``--rounds`` rounds; jpc both as its notebook
writes the loop (``example``) and with the whole step jitted (``jit``); with ``--ode --loops ode`` both relax by an adaptive ODE solve to the same
horizon (plastix's ``ODEInference``, jpc's ``make_pc_step``). Reports seconds per
epoch (compile excluded), cold compile seconds (plastix's compilation cache off), test
accuracy, and plastix / jpc ratios. ``--train-limit N`` times a part-epoch (the first N
training images; accuracy then only a sanity check).

Usage:
    benchmarks/setup_jpc_env.sh .venv-jpc
    .venv/bin/python benchmarks/mupc_vs_jpc.py --depths 16 64 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "mnist"


def _run(cmd: list[str], extra_env: dict[str, str] | None = None) -> None:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", **(extra_env or {})}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


# --paper: the μPC paper's own script's setup (width 512, T = 8; the preset's Adam rate)
PAPER_JPC = ["--width", "512", "--steps", "8", "--param-lr", "0.4"]


def run_plastix(
    depth: int,
    data_dir: Path,
    seed: int,
    limit: int | None,
    ode: bool,
    paper: bool = False,
    param_lr: float | None = None,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        preset = "mupc-paper-mnist" if paper else "mupc-mnist"
        cmd = [
            *(sys.executable, "-m", "plastix", "train", "--preset", preset),
            *("--set", f"model.depth={depth}", "--data-dir", str(data_dir)),
            *("--seed", str(seed), "--out", str(out), "--no-progress"),
        ]
        if limit is not None:
            cmd += ["--set", f"data.train_limit={limit}"]
        if param_lr is not None:
            cmd += ["--set", f"optimizer.lr={param_lr}"]
        if ode:  # adaptive inference to the fixed steps' horizon t1 = T x 0.5 / 64
            cmd += [
                "--set",
                "rule.inference.name=ode",
                "--set",
                "rule.inference.steady_state=false",
            ]
            steps = 8 if paper else depth + 1
            cmd += ["--set", f"rule.inference.t1={steps * 0.5 / 64}"]
        _run(cmd, {"PLASTIX_COMPILE_CACHE": "off"})
        s = json.loads((out / "summary.json").read_text())
    return {
        "seconds_per_epoch": s["train_seconds_per_epoch"],
        "compile_seconds": s["compile_seconds_by_program"]["train"],
        "test_accuracy": s["test_accuracy"],
        "steps": s["steps_per_epoch"],
    }


def run_jpc(
    python: str,
    loop: str,
    depth: int,
    data_dir: Path,
    seed: int,
    limit: int | None,
    paper: bool = False,
    param_lr: float | None = None,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "jpc.json"
        cmd = [
            *(python, str(ROOT / "benchmarks" / "jpc_mupc.py"), "--loop", loop),
            *("--depth", str(depth), "--data-dir", str(data_dir), "--seed", str(seed)),
            *("--json", str(js)),
        ]
        if limit is not None:
            cmd += ["--train-limit", str(limit)]
        if paper:
            cmd += PAPER_JPC
        if param_lr is not None:
            cmd += ["--param-lr", str(param_lr)]
        _run(cmd)
        s = json.loads(js.read_text())
    return {k: s[k] for k in ("seconds_per_epoch", "compile_seconds", "test_accuracy", "steps")}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--jpc-python", default=str(ROOT / ".venv-jpc" / "bin" / "python"))
    p.add_argument("--depths", type=int, nargs="+", default=[16, 64])
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--loops", nargs="+", default=["jit", "example"])
    p.add_argument(
        "--ode",
        action="store_true",
        help="adaptive inference in both: plastix ODEInference, jpc make_pc_step (--loops ode)",
    )
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param-lr", type=float, help="the weights' Adam rate in both libraries")
    p.add_argument(
        "--paper",
        action="store_true",
        help="the μPC paper's script's setup: plastix --preset mupc-paper-mnist, jpc "
        + " ".join(PAPER_JPC),
    )
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()

    results: dict[str, dict[str, list[dict]]] = {}
    for depth in a.depths:
        runs: dict[str, list[dict]] = {"plastix": [], **{f"jpc-{lp}": [] for lp in a.loops}}
        for r in range(a.rounds):
            runs["plastix"].append(
                run_plastix(depth, a.data_dir, a.seed, a.train_limit, a.ode, a.paper, a.param_lr)
            )
            for lp in a.loops:
                runs[f"jpc-{lp}"].append(
                    run_jpc(
                        a.jpc_python,
                        lp,
                        depth,
                        a.data_dir,
                        a.seed,
                        a.train_limit,
                        a.paper,
                        a.param_lr,
                    )
                )
            print(f"H={depth} round {r + 1}: " + json.dumps({k: v[-1] for k, v in runs.items()}))
        results[str(depth)] = runs

    print("\n| H | library | s/epoch | compile s | test acc | plastix / this (s/epoch) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for depth, runs in results.items():
        mine = statistics.median(r["seconds_per_epoch"] for r in runs["plastix"])
        for name, rs in runs.items():
            sec = statistics.median(r["seconds_per_epoch"] for r in rs)
            comp = statistics.median(r["compile_seconds"] for r in rs)
            acc = statistics.median(r["test_accuracy"] for r in rs)
            ratio = "" if name == "plastix" else f"{mine / sec:.3f}"
            print(f"| {depth} | {name} | {sec:.2f} | {comp:.2f} | {acc:.4f} | {ratio} |")
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(
            json.dumps(
                {"args": vars(a) | {"data_dir": str(a.data_dir)}, "results": results},
                default=str,
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
