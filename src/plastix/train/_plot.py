"""PNG plots of training curves (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _save(fig: Any, path: str | Path, title: str) -> Path:
    """Title, lay out, write the PNG and free the figure."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(records: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Loss and accuracy per epoch (train and test) from metric records, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        ax.legend()
    return _save(fig, path, title)


def plot_image_grid(
    images: Any,
    path: str | Path,
    *,
    titles: Sequence[str] | None = None,
    columns: int = 10,
    title: str = "",
) -> Path:
    """Images ``(N, H, W, C)`` (C = 1 or 3) as a grid PNG, each scaled to its own range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

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
    return _save(fig, path, title)
