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
