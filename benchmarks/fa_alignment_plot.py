"""One figure of the angle between each rule's update and backprop's gradient over training,
hidden layers only (the output layer's update is backprop's for every rule here), from the
runs of benchmarks/fa_tp_mnist.sh. Also prints the table of results for BENCHMARKS.md.

Usage: python benchmarks/fa_alignment_plot.py OUT_DIR RUN [RUN ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def main(out: Path, runs: list[str]) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name in runs:
        f = out / name / "metrics.jsonl"
        if not f.exists():
            print(f"{name}: no metrics")
            continue
        recs = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        ep = [r["epoch"] for r in recs]
        cos = np.array([r["grad_cosine_per_edge"] for r in recs], np.float64)
        ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        for j, ax in enumerate(axes):
            ax.plot(ep, ang[:, j], marker="o", ms=3, label=name)
    for j, ax in enumerate(axes):
        ax.set_title(f"hidden layer {j + 1} (edge {j})")
        ax.set_xlabel("epoch")
        ax.axhline(90.0, color="grey", lw=0.8, ls="--")
        ax.set_ylim(0, 95)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("angle to backprop's gradient (deg)")
    axes[1].legend(loc="lower right", ncol=2, fontsize=8)
    fig.suptitle("784-800-800-10 tanh on MNIST: angle of each rule's update to backprop's")
    fig.tight_layout()
    fig.savefig(out / "alignment.png", dpi=100)
    print(f"wrote {out / 'alignment.png'}")
    for s in sorted(out.glob("*/summary.json")):
        d = json.loads(s.read_text())
        print(
            f"| {s.parent.name} | {d['rule']} | {d['epochs']} | {100 * d['test_accuracy']:.2f} "
            f"| {d['train_seconds_per_epoch']:.1f} | {d['steps_per_epoch']} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
