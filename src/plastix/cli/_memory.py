"""``plastix memory hopfield|stdp``: the memory models' experiments from the command line, with a
run directory (``config.json``, ``summary.json``, ``arrays.npz``, pictures)."""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import config as cfg
from .._errors import ConfigError
from ..memory import TASKS, HopfieldTask, STDPTask
from ..train import RunLock, atomic_write_text
from ._help import option_lines


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``memory`` subcommand."""
    m = sub.add_parser(
        "memory",
        parents=[common],
        help="Hopfield associative memory or STDP: run an experiment, write its pictures",
        description="Run a memory model's experiment and write config.json, summary.json, "
        "arrays.npz and pictures to the run directory. hopfield: store patterns (random, or "
        "binarised digits / MNIST images), recall them from cues with flipped bits "
        "(recall.png, energy.png, weights.png) and draw the capacity curve on random patterns "
        "(capacity.png). stdp: LIF neurons learn by STDP which of their Poisson inputs fire "
        "together (stdp.png, weights.png). Settings: defaults < --config < --set.",
        epilog=_keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    m.add_argument("task", choices=sorted(TASKS), help="the experiment")
    m.add_argument("--config", metavar="FILE", help="TOML or JSON file of the task's settings")
    m.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], help="set one key (repeatable)"
    )
    m.add_argument(
        "--data-dir", metavar="DIR", help="folder with the image files (patterns = digits/mnist)"
    )
    m.add_argument("--out", metavar="DIR", help="run directory (default runs/<task>-<time>)")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument(
        "--print-config", action="store_true", help="print the resolved settings and exit"
    )


def _keys_help() -> str:
    lines = ["settings (--set KEY=VALUE, or keys of a --config file):"]
    for name, cls in TASKS.items():
        lines.append(f"  {name}:")
        lines += option_lines(cfg.options(cls), "    ", None)
    return "\n".join(lines)


def resolve_task(args: argparse.Namespace) -> HopfieldTask | STDPTask:
    """The task's settings: its defaults, then ``--config``, then ``--set``."""
    settings: dict[str, Any] = {}
    if args.config:
        settings.update(cfg.load_config_file(args.config))
    settings.update(cfg.unflatten(cfg.parse_sets(args.set)))
    task: Any = cfg.build(TASKS[args.task], settings)
    return task


def run(args: argparse.Namespace) -> int:
    task = resolve_task(args)
    config = cfg.to_config(task)
    if args.print_config:
        print(json.dumps({"task": task.name, **config}, indent=2))
        return 0
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or f"runs/{task.name}-{stamp}")
    if (out / "summary.json").exists() or (out / "config.json").exists():
        raise ConfigError(
            f"{out} already holds a run; choose another --out (a memory experiment is short "
            "and reruns exactly from its config.json and seed)."
        )
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    with RunLock(out):
        atomic_write_text(
            out / "config.json", json.dumps({"task": task.name, **config}, indent=2) + "\n"
        )
        if isinstance(task, HopfieldTask):
            result = task.run(data_dir=args.data_dir, progress=progress)
            files = _hopfield_pictures(out, result)
        else:
            result = task.run(progress=progress)
            files = _stdp_pictures(out, task, result)
        np.savez(out / "arrays.npz", **result["arrays"])
        summary = {
            **result["summary"],
            "capacity": result.get("capacity"),
            "files": sorted([*files, "arrays.npz", "config.json"]),
            "config": {"task": task.name, **config},
            "environment": {
                "jax": jax.__version__,
                "backend": jax.default_backend(),
                "python": platform.python_version(),
            },
        }
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    print(_line(summary, out))
    return 0


def _line(s: dict[str, Any], out: Path) -> str:
    if s["task"] == "hopfield":
        return (
            f"hopfield: {s['patterns']} {s['source']} patterns in {s['neurons']} units "
            f"(load {s['load']:.3f}); from cues at overlap {s['cue_overlap']:.2f}, "
            f"{100 * s['recalled']:.0f} % recalled, mean overlap {s['mean_overlap']:.3f}; "
            f"run directory {out}"
        )
    return (
        f"stdp: mean weight of the correlated group {s['mean_weight_group']}, of the rest "
        f"{s['mean_weight_rest']} (start {s['w_init']}); output rate "
        f"{s['output_rate_before']:.3f} -> {s['output_rate_after']:.3f} spikes/step; run "
        f"directory {out}"
    )


def _hopfield_pictures(out: Path, result: dict[str, Any]) -> list[str]:
    from .. import viz  # matplotlib: loaded when a picture is drawn, not with the command line

    a, s = result["arrays"], result["summary"]
    viz.plot_recall(
        a["patterns"],
        a["cues"],
        a["recalled"],
        out / "recall.png",
        image_shape=result["image_shape"],
        title=f"{s['patterns']} patterns, {100 * s['recalled']:.0f} % recalled",
    )
    viz.plot_energy(a["energy"], out / "energy.png")
    viz.plot_weights(a["weights"], out / "weights.png", title="Hebbian weights W")
    files = ["recall.png", "energy.png", "weights.png"]
    if result["capacity"]:
        viz.plot_capacity(result["capacity"], out / "capacity.png", n=s["neurons"])
        files.append("capacity.png")
    return files


def _stdp_pictures(out: Path, task: STDPTask, result: dict[str, Any]) -> list[str]:
    from .. import viz

    a = result["arrays"]
    viz.plot_stdp(
        a["w_init"],
        a["w_final"],
        a["weights_over_training"],
        a["output_rate_per_chunk"],
        task.group,
        out / "stdp.png",
    )
    viz.plot_weights(a["w_final"], out / "weights.png", title="weights after STDP (input x neuron)")
    return ["stdp.png", "weights.png"]
