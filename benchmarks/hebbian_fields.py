"""Receptive fields learned on real MNIST by local rules, as image grids.

    python benchmarks/hebbian_fields.py --data-dir ../shared/datasets/mnist --out docs/images

Each rule through ``plastix.memory.LocalTrainer`` (one compiled scan per
epoch): Krotov-Hopfield (20 epochs, 100 units, p = 3, k = 2, delta = 0.4, step divided by its largest entry, lr 0.02,
N(0, 1) initial weights) on the raw pixels, and Sanger
(16 components, 5 epochs) on mean-centred pixels. Writes ``hebbian_fields_krotov.png`` and
``hebbian_fields_sanger.png`` and prints the epoch times.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from plastix.data import load_dataset
from plastix.local import krotov_hopfield, sanger
from plastix.memory import LocalTrainer
from plastix.viz import plot_receptive_fields


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    x = load_dataset("mnist", "train", root=args.data_dir, download=False).x.reshape(60000, -1)
    key = jax.random.key(args.seed)

    k1, k2 = jax.random.split(key)
    w0 = jax.random.normal(k1, (784, 100))  # N(0, 1), as Krotov & Hopfield
    kh = LocalTrainer(
        lambda w, xb: krotov_hopfield(w, xb, p=3.0, k=2, delta=0.4, normalise_step=True),
        w0,
        optimizer=optax.sgd(0.02),
        batch_size=100,
        epochs=20,
        key=k2,
    )
    t = time.perf_counter()
    w = kh.train(x)
    print(f"krotov-hopfield: 20 epochs {time.perf_counter() - t:.1f} s (incl. compilation)")
    plot_receptive_fields(w, (28, 28), args.out / "hebbian_fields_krotov.png",
                          title="Krotov-Hopfield, 20 epochs of MNIST")  # fmt: skip

    xc = x - x.mean(0, keepdims=True)
    k3, k4 = jax.random.split(jax.random.fold_in(key, 1))
    pca = LocalTrainer(
        sanger, jax.random.normal(k3, (784, 16)) * 0.01, optimizer=optax.sgd(0.01), epochs=5,
        batch_size=100, key=k4,
    )  # fmt: skip
    t = time.perf_counter()
    w = pca.train(xc)
    print(f"sanger: five epochs {time.perf_counter() - t:.1f} s (incl. compilation)")
    _, _, vt = np.linalg.svd(xc[:10000], full_matrices=False)
    w = np.asarray(w)
    cos = np.abs(np.sum(w * vt[:16].T, 0)) / np.linalg.norm(w, axis=0)
    print("sanger |cos| with the top-16 SVD components:", np.round(cos, 3).tolist())
    plot_receptive_fields(jnp.asarray(w), (28, 28), args.out / "hebbian_fields_sanger.png",
                          columns=8, title="Sanger, 16 components, 5 epochs of MNIST")  # fmt: skip


if __name__ == "__main__":
    main()
