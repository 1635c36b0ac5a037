"""Pictures of memory and Hebbian models: receptive fields, recall energy, capacity curve."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ShapeError
from ._figure import plt, save_figure
from ._training import plot_image_grid


def plot_receptive_fields(
    w: Any, image_shape: Sequence[int], path: str | Path, *, columns: int = 10, title: str = ""
) -> Path:
    """Columns of ``w`` ``(in, out)`` (``in = prod(image_shape)``, image shape ``(H, W)`` or
    ``(H, W, C)``) as an image grid PNG, one receptive field per unit."""
    w = np.asarray(w, np.float32)
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if w.ndim != 2 or int(np.prod(shape)) != w.shape[0]:
        raise ShapeError(
            f"plot_receptive_fields: w {w.shape} does not have prod{tuple(image_shape)} rows."
        )
    return plot_image_grid(w.T.reshape(-1, *shape), path, columns=columns, title=title)


def plot_energy(energies: Any, path: str | Path, *, title: str = "energy during recall") -> Path:
    """Energy per recall sweep, one line per row of ``energies`` ``(steps + 1,)`` or
    ``(cues, steps + 1)``."""
    e = np.atleast_2d(np.asarray(energies, np.float32))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in e:
        ax.plot(np.arange(row.shape[0]), row, marker="o", ms=3, alpha=0.7)
    ax.set_xlabel("sweep")
    ax.set_ylabel("energy $-\\frac{1}{2}s^T W s$")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, title)


def plot_capacity(
    rows: Sequence[dict[str, float]], path: str | Path, *, title: str = "", n: int | None = None
) -> Path:
    """Recall against the load P/N (rows of :func:`capacity_curve`), with the classical
    critical load 0.138 marked."""
    a = [r["alpha"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(a, [r["mean_overlap"] for r in rows], marker="o", ms=3, label="mean overlap")
    ax.plot(a, [r["recalled"] for r in rows], marker="s", ms=3, label="fraction recalled")
    ax.axvline(0.138, color="k", ls="--", lw=1, label=r"$\alpha_c \approx 0.138$")
    ax.set_xlabel("load P/N" + (f" (N = {n})" if n else ""))
    ax.set_ylabel("recall")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path, title)


def plot_weights(w: Any, path: str | Path, *, title: str = "weight matrix") -> Path:
    """A weight matrix as a heat map (diverging colours centred on 0)."""
    w = np.asarray(w, np.float32)
    if w.ndim != 2:
        raise ShapeError(f"plot_weights: w must be a matrix, got shape {w.shape}.")
    lim = float(np.abs(w).max()) or 1.0
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    im = ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.colorbar(im, ax=ax)
    ax.set_xlabel("unit j")
    ax.set_ylabel("unit i")
    return save_figure(fig, path, title)


def plot_recall(
    patterns: Any,
    cues: Any,
    recalled: Any,
    path: str | Path,
    *,
    image_shape: Sequence[int] | None = None,
    count: int = 10,
    title: str = "stored / cue / recalled",
) -> Path:
    """Recall from corrupted cues: for images (``image_shape`` ``(H, W, C)``), three rows of
    up to ``count`` images (stored, cue, recalled); otherwise the three ``(P, N)`` ±1
    matrices as rasters side by side."""
    p, c, r = (np.asarray(a, np.float32) for a in (patterns, cues, recalled))
    if not p.shape == c.shape == r.shape or p.ndim != 2:
        raise ShapeError(
            f"plot_recall: patterns, cues and recalled must be equal (P, N) arrays, got "
            f"{p.shape}, {c.shape}, {r.shape}."
        )
    if image_shape is not None:
        k = min(count, p.shape[0])
        shape = tuple(image_shape)
        imgs = np.concatenate([p[:k], c[:k], r[:k]]).reshape(3 * k, *shape)
        titles = [f"{name} {i}" for name in ("stored", "cue", "recalled") for i in range(k)]
        return plot_image_grid(imgs, path, titles=titles, columns=k, title=title)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
    for ax, a, name in zip(axes, (p, c, r), ("stored", "cue", "recalled"), strict=True):
        ax.imshow(a, cmap="gray", aspect="auto", interpolation="nearest", vmin=-1, vmax=1)
        ax.set_title(name)
        ax.set_xlabel("unit")
    axes[0].set_ylabel("pattern")
    return save_figure(fig, path, title)


def plot_stdp(
    w_init: Any,
    w_final: Any,
    weights_over_training: Any,
    rates: Any,
    group: int,
    path: str | Path,
    *,
    title: str = "STDP: the correlated inputs (shaded) against the others",
) -> Path:
    """Left: each input's weight (mean over the post neurons) before and after learning, the
    correlated group shaded. Right: the group's and the rest's mean weight and the output rate
    (spikes per step) over training."""
    w0 = np.asarray(w_init, np.float32).mean(axis=1)
    w1 = np.asarray(w_final, np.float32).mean(axis=1)
    ws = np.asarray(weights_over_training, np.float32).mean(axis=2)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    idx = np.arange(w0.shape[0])
    if group:
        a1.axvspan(-0.5, group - 0.5, color="tab:orange", alpha=0.15, label="correlated group")
    a1.plot(idx, w0, "k--", lw=1, label="before")
    a1.plot(idx, w1, "o", ms=3, label="after")
    a1.set_xlabel("input")
    a1.set_ylabel("weight")
    a1.legend()
    a1.grid(alpha=0.3)
    x = np.arange(ws.shape[0])
    if group:
        a2.plot(x, ws[:, :group].mean(axis=1), label="group: mean weight")
    if group < ws.shape[1]:
        a2.plot(x, ws[:, group:].mean(axis=1), label="rest: mean weight")
    a2.set_xlabel("training chunk")
    a2.set_ylabel("mean weight")
    a2.grid(alpha=0.3)
    r = np.asarray(rates, np.float32)
    a3 = a2.twinx()
    a3.plot(np.arange(r.shape[0]), r, "k:", label="output rate")
    a3.set_ylabel("output spikes per step")
    lines = a2.get_legend_handles_labels()
    more = a3.get_legend_handles_labels()
    a2.legend(lines[0] + more[0], lines[1] + more[1], loc="best")
    return save_figure(fig, path, title)
