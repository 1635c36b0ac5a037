"""The bench's pictures: test error per epoch for every entry of a suite, time per epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ._figure import plt, save_figure


def plot_suite(
    name: str,
    errors: Mapping[str, Sequence[float]],
    seconds: Sequence[tuple[str, float]],
    out: str | Path,
) -> dict[str, Path]:
    """``accuracy.png``: each entry's test error (percent, mean over seeds) per epoch on log
    scales (1.6 % and 5 % stay apart next to a chance-level first epoch); ``time.png``: seconds
    per epoch per entry. Returns the two paths."""
    out = Path(out)
    fig, ax = plt.subplots(figsize=(9, 5))
    styles = [("-", "o"), ("--", "s"), (":", "^")]  # past 10 entries the colours repeat
    for drawn, (label, err) in enumerate(errors.items()):
        ls, mk = styles[(drawn // 10) % len(styles)]
        ax.plot(range(1, len(err) + 1), err, linestyle=ls, marker=mk, ms=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [
        t for t in (0.5, 1, 2, 5, 10, 20, 50, 100) if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]
    ]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error % (1 - accuracy, mean over seeds)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    acc_png = save_figure(fig, out / "accuracy.png", f"plastix bench {name}")
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(seconds) + 1.5))
    ax.barh([label for label, _ in seconds], [s for _, s in seconds])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("seconds per epoch (median over epochs and seeds)")
    ax.grid(alpha=0.3, axis="x")
    time_png = save_figure(fig, out / "time.png", f"plastix bench {name}: time per epoch")
    return {"accuracy_png": acc_png, "time_png": time_png}
