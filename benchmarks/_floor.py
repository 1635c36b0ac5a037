"""What the plain-JAX floor scripts (``softhebb_floor.py``, ``dtp_floor.py``) share: their
command line, the preset they time, and the report of their side-by-side timings."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from plastix import config as cfg

DATA_DIR = str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist")


def arguments(doc: str, steps_help: str) -> argparse.Namespace:
    """``--data-dir``, ``--reps``, ``--steps`` and ``--json``, the script's ``doc`` as help."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50, help=steps_help)
    ap.add_argument("--json", help="write the timings here")
    return ap.parse_args()


def preset_run(name: str) -> cfg.RunConfig:
    """The resolved configuration of preset ``name``."""
    return cfg.resolve([cfg.Layer("preset", cfg.load_preset(name), preset=True)])


def report(
    times: dict[str, list[float]],
    *,
    steps_per_epoch: int,
    epoch: str = "epoch",
    json_path: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Print each run's median ms/step and the seconds per ``epoch`` it implies, and plastix's
    ratio to the fastest floor (every run but ``"plastix"``); write them, with ``extra``, to
    ``json_path``. Returns the medians."""
    med = {k: statistics.median(v) for k, v in times.items()}
    best = min((k for k in med if k != "plastix"), key=med.__getitem__)
    for k, v in med.items():
        print(
            f"{k}: {v:.2f} ms/step (median of {len(times[k])}), "
            f"{v * steps_per_epoch / 1e3:.1f} s per {epoch}"
        )
    print(f"plastix / {best} = {med['plastix'] / med[best]:.3f}")
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        out = {"ms_per_step": times, "median": med, "floor": best, **(extra or {})}
        Path(json_path).write_text(json.dumps(out, indent=1))
    return med
