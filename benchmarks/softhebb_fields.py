"""The first Hebbian block's learned filters of a SoftHebb run, as an image grid.

Usage: python benchmarks/softhebb_fields.py RUN_DIR OUT.png

Reads the last checkpoint's first block weights (HWIO, e.g. 5x5x1x32 on MNIST) and plots each
output channel's kernel, with the neuron norms (which SoftHebb drives to 1) in the title.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from plastix.train import latest_checkpoint
from plastix.viz import plot_receptive_fields


def main(run: Path, out: Path) -> None:
    ckpt = latest_checkpoint(run / "checkpoints")
    assert ckpt is not None, f"no checkpoint in {run}"
    with np.load(ckpt, allow_pickle=False) as z:
        leaves = sorted(k for k in z.files if k.startswith("leaf_"))
        kernels = [z[k] for k in leaves if z[k].ndim == 4]
    w = kernels[0]  # the first block (leaves are in parameter order)
    kh, kw, cin, cout = w.shape
    norms = np.sqrt((w.reshape(-1, cout) ** 2).sum(0))
    title = f"SoftHebb block 1 filters ({kh}x{kw}x{cin}, {cout} channels); norms {norms.min():.3f}-{norms.max():.3f}"
    plot_receptive_fields(
        w.reshape(kh * kw * cin, cout), (kh, kw, cin), out, columns=8, title=title
    )
    print(out, "norms", np.round(norms, 3).tolist())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
