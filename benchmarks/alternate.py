#!/usr/bin/env python
"""Two or more `plastix train` runs timed side by side: each a fresh process, in strict
alternation round by round (machine noise hits them alike), compilation cache off; the
median seconds per epoch over rounds and each run's ratio to the first, the compile seconds,
the first epoch's seconds and the whole process's wall time (start-up included).

    python benchmarks/alternate.py --rounds 3 --epochs 2 \
        --run "bp=--preset chl-mnist-mlp --set rule.name=bp --set rule.cost=squared-error" \
        --run "chl=--preset chl-mnist-mlp"

Each ``--run NAME=ARGS`` gives the arguments after ``plastix train`` (data directory, epochs,
output and ``--no-progress`` are added); ``NAME@SRC=ARGS`` runs it with the plastix source
tree ``SRC`` first on ``PYTHONPATH`` (e.g. an older commit's ``git worktree``, for a before /
after comparison in one run).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "mnist"


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--run", action="append", required=True, help="NAME=ARGS (repeatable)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args()
    runs, srcs = {}, {}
    for spec in args.run:
        name, sep, rest = spec.partition("=")
        if not sep:
            sys.exit(f"--run {spec!r}: write NAME=ARGS")
        name, _, src = name.partition("@")
        runs[name] = shlex.split(rest)
        if src:
            srcs[name] = src
    plastix = str(Path(sys.executable).with_name("plastix"))
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PLASTIX_COMPILE_CACHE": "off"}
    rows: dict[str, list[dict[str, float]]] = {n: [] for n in runs}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, extra in runs.items():
                out = Path(tmp) / f"{name}-{r}"
                cmd = [plastix, "train", *extra, "--data-dir", args.data_dir]
                cmd += ["--epochs", str(args.epochs), "--out", str(out), "--no-progress"]
                run_env = dict(env)
                if name in srcs:
                    run_env["PYTHONPATH"] = os.pathsep.join(
                        [srcs[name], *filter(None, [env.get("PYTHONPATH")])]
                    )
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL)
                wall = time.perf_counter() - t0
                s = json.loads((out / "summary.json").read_text())
                rows[name].append(
                    {
                        "s_per_epoch": s["train_seconds_per_epoch"],
                        "compile_s": s["compile_seconds"],
                        "first_epoch_s": s["history"][0]["train_seconds"],
                        "wall_s": wall,
                        "test_accuracy": s["test_accuracy"],
                    }
                )
                print(name, r, rows[name][-1], flush=True)
    first = next(iter(runs))
    med = {n: statistics.median(x["s_per_epoch"] for x in v) for n, v in rows.items()}
    result = {
        n: {
            "s_per_epoch": round(med[n], 3),
            "x_first": round(med[n] / med[first], 2),
            "compile_s": round(statistics.median(x["compile_s"] for x in v), 2),
            "first_epoch_s": round(statistics.median(x["first_epoch_s"] for x in v), 3),
            "wall_s": round(statistics.median(x["wall_s"] for x in v), 2),
            "test_accuracy": v[-1]["test_accuracy"],
            "args": runs[n],
            "source": srcs.get(n, "this tree"),
        }
        for n, v in rows.items()
    }
    result["_setup"] = {"rounds": args.rounds, "epochs": args.epochs}  # type: ignore[assignment]
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
