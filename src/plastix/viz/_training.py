"""Pictures of training runs: loss and accuracy curves, angles to backprop, Forward-Forward's
per-layer goodness, image grids, and :func:`plot_run`, which draws a run directory's."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError
from ._figure import plt, save_figure


def plot_curves(records: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Loss and accuracy per epoch (train and test) from metric records, saved as a PNG."""
    epochs = [r["epoch"] for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, what in zip(axes, ("loss", "accuracy")):
        for split in ("train", "test"):
            key = f"{split}_{what}"
            if any(key in r for r in records):
                ax.plot(
                    epochs,
                    [r.get(key, float("nan")) for r in records],
                    marker="o",
                    ms=3,
                    label=split,
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend()
    return save_figure(fig, path, title)


def plot_image_grid(
    images: Any,
    path: str | Path,
    *,
    titles: Sequence[str] | None = None,
    columns: int = 10,
    title: str = "",
) -> Path:
    """Images ``(N, H, W, C)`` (C = 1 or 3) as a grid PNG, each scaled to its own range."""
    images = np.asarray(images, np.float32)
    n = images.shape[0]
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.3 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        img = images[k]
        lo, hi = float(img.min()), float(img.max())
        img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray")
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    return save_figure(fig, path, title)


def plot_alignment(records: Any, path: Any, title: str = "") -> Any:
    """Per-edge angle (degrees) between the rule's update and backprop's gradient over the
    epochs, from trainer records holding ``grad_cosine_per_edge``; saved as a PNG."""
    recs = [r for r in records if "grad_cosine_per_edge" in r]
    if not recs:
        raise ConfigError("no alignment in the records: train with gradient_check > 0.")
    epochs = [r["epoch"] for r in recs]
    cos = np.array([r["grad_cosine_per_edge"] for r in recs], np.float64)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    fig, ax = plt.subplots(figsize=(6, 4))
    for j in range(ang.shape[1]):
        if np.all(np.isnan(ang[:, j])):
            continue
        ax.plot(epochs, ang[:, j], marker="o", ms=3, label=f"edge {j}")
    ax.axhline(90.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("angle to the exact gradient (deg)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path, title)


def plot_diagnostics(records: Any, path: Any, title: str = "") -> Any:
    """Predictive coding's diagnostics over the epochs (trainer records holding
    ``energy_per_node``): energy per node, activity RMS per node and parameter norm per edge
    (one line per epoch, darker = later), and the activity Hessian's condition number per
    epoch; saved as a PNG."""
    recs = [r for r in records if "energy_per_node" in r]
    if not recs:
        raise ConfigError("no diagnostics in the records: train with diagnostics > 0.")

    def arr(key: str) -> Any:
        return np.array([[np.nan if v is None else v for v in r[key]] for r in recs], np.float64)

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    colours = plt.cm.viridis(np.linspace(0.15, 0.9, len(recs)))
    panels = (
        (axes[0, 0], "energy_per_node", "node", "energy per sample"),
        (axes[0, 1], "activity_rms_per_node", "node", "activity RMS"),
        (axes[1, 0], "param_norm_per_edge", "edge", "parameter norm"),
    )
    for ax, key, xlabel, ylabel in panels:
        a = arr(key)
        a[~(a > 0)] = np.nan  # log scale: energies span many decades (exact zeros left out)
        for r, row, c in zip(recs, a, colours):
            keep = np.isfinite(row)  # parameter-free edges and the input have none
            ax.plot(
                np.arange(len(row))[keep],
                row[keep],
                marker="o",
                ms=2,
                color=c,
                label=f"epoch {r['epoch']}",
            )
        if np.any(np.isfinite(a)):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    if len(recs) <= 8:
        axes[0, 0].legend(fontsize=7)
    ax = axes[1, 1]
    cond = [np.nan if r.get("hessian_condition") is None else r["hessian_condition"] for r in recs]
    ax.plot([r["epoch"] for r in recs], cond, marker="o")
    if np.nanmin(np.asarray(cond, np.float64), initial=np.inf) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("activity-Hessian condition number")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, title)


def plot_ff_layers(report: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """One panel per layer: histograms of the goodness of positive and negative data with the
    threshold, titled with the layer's accuracies; saved as a PNG."""
    layers = report["layers"]
    fig, axes = plt.subplots(1, len(layers), figsize=(4.2 * len(layers), 3.6), squeeze=False)
    for l, (ax, rec) in enumerate(zip(axes[0], layers)):
        gp, gn = rec["goodness_pos"], rec["goodness_neg"]
        both = np.concatenate([gp, gn])
        lo, hi = float(np.quantile(both, 0.002)), float(np.quantile(both, 0.998))
        bins = np.linspace(min(lo, rec["threshold"]), max(hi, rec["threshold"]), 60)
        ax.hist(gp, bins=bins, alpha=0.6, label="positive", color="tab:green")
        ax.hist(gn, bins=bins, alpha=0.6, label="negative", color="tab:red")
        ax.axvline(rec["threshold"], color="k", ls="--", lw=1, label="threshold")
        acc = f"pos/neg acc {rec['ff_accuracy']:.3f}"
        if "goodness_accuracy" in rec:
            acc += f"\nclass acc by this layer's goodness {rec['goodness_accuracy']:.3f}"
        ax.set_title(f"layer {l + 1}: {acc}", fontsize=9)
        ax.set_xlabel("goodness")
        ax.legend(fontsize=8, loc="upper right")
    return save_figure(fig, path, title)


def plot_run(out_dir: str | Path, summary: dict[str, Any] | None = None) -> list[Path]:
    """Draw a run directory's pictures from its ``metrics.jsonl``: ``curves.png`` (loss and
    accuracy per epoch), when the run logged gradient checks ``alignment.png`` (each
    edge's angle to the exact gradient), and when it logged diagnostics ``diagnostics.png``. ``summary`` (or the directory's ``summary.json``)
    gives the titles. The command line calls it after every run.

    >>> import json, tempfile, pathlib, plastix as px
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8}) + "\\n")
    >>> [p.name for p in px.viz.plot_run(d, {"rule": "pc", "dataset": "digits"})]
    ['curves.png']
    """
    out = Path(out_dir)
    log = out / "metrics.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if summary is None and (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text())
    rule = (summary or {}).get("rule", "run")
    data = (summary or {}).get("dataset", "")
    written = []
    if records:
        written.append(plot_curves(records, out / "curves.png", title=f"{rule} on {data}"))
    if any("grad_cosine_per_edge" in r for r in records):
        title = f"{rule}: angle of the update to the exact gradient"
        written.append(plot_alignment(records, out / "alignment.png", title=title))
    if any("energy_per_node" in r for r in records):
        title = f"{rule}: energies, norms and conditioning"
        written.append(plot_diagnostics(records, out / "diagnostics.png", title=title))
    return written
