"""Writing figures: every plot of plastix is drawn with matplotlib's Agg backend (no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def save_figure(fig: Any, path: str | Path, title: str = "") -> Path:
    """Title ``fig``, lay it out, write it to ``path`` (PNG) and free it; returns the path."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
