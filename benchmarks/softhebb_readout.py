"""Fast read-out sweeps on the frozen features of a SoftHebb run.

Usage: python benchmarks/softhebb_readout.py RUN_DIR [--lr 1e-3] [--batch 64] [--epochs 10]
       [--dropout 0.5] [--standardise] [--schedule halving|cosine] [--cache FILE.npz]

Loads the last checkpoint of a ``plastix train --rule softhebb`` (or ``hebbian``) run (after its Hebbian
epoch the blocks are frozen, so any later checkpoint holds the same features), computes the
features of the whole train and test set once, and trains a linear read-out on them (Adam,
cross-entropy, dropout, the lr halved at 20/35/50/60/70/80/90 % of the epochs as in Journé et
al.'s code, or ``--schedule cosine``: the presets' cosine decay to 0), printing the accuracy
per epoch on the run's evaluation set: the test set, or its validation split when the run
held one out (``data.validation``). ``--cache`` keeps the features in an ``.npz`` file (written
once, read by later calls with the same file) to compare read-outs without recomputing them. Used to choose the read-out recipe of the
``softhebb-mnist`` preset; the preset's own number comes from ``plastix train``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from _trained import frozen_features, load_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--standardise", action="store_true")
    ap.add_argument("--schedule", choices=("halving", "cosine"), default="halving")
    ap.add_argument("--cache", type=Path, default=None)
    a = ap.parse_args()
    loaded = load_run(a.run)
    train, test = loaded["train"], loaded["evaluation"]
    if a.cache is not None and a.cache.exists():
        with np.load(a.cache, allow_pickle=False) as z:
            ftr, fte = z["train"], z["test"]
    else:
        ftr, fte = frozen_features(loaded, train.x, 500), frozen_features(loaded, test.x, 500)
        if a.cache is not None:
            np.savez(a.cache, train=ftr, test=fte)
    print("features", ftr.shape, "mean", ftr.mean(), "std", ftr.std(), "max", ftr.max())
    if a.standardise:
        mu, sd = ftr.mean(0), ftr.std(0) + 1e-6
        ftr, fte = (ftr - mu) / sd, (fte - mu) / sd
    ytr, yte = np.asarray(train.y), np.asarray(test.y)
    steps = len(ftr) // a.batch
    bounds = {int(a.epochs * q) * steps: 0.5 for q in (0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9)}
    if a.schedule == "cosine":
        tx = optax.adam(optax.cosine_decay_schedule(a.lr, a.epochs * steps))
    else:
        tx = optax.adam(optax.piecewise_constant_schedule(a.lr, bounds))
    key = jax.random.key(1)
    w = {"w": jnp.zeros((ftr.shape[1], 10)), "b": jnp.zeros(10)}
    s = tx.init(w)

    @jax.jit
    def epoch(w, s, xs, ys, key):
        def body(c, inp):
            w, s = c
            x, y, k = inp
            keep = jax.random.bernoulli(k, 1 - a.dropout, x.shape)
            x = jnp.where(keep, x / (1 - a.dropout), 0.0)
            g = jax.grad(
                lambda w: optax.softmax_cross_entropy_with_integer_labels(
                    x @ w["w"] + w["b"], y
                ).mean()
            )(w)
            u, s = tx.update(g, s, w)
            return (optax.apply_updates(w, u), s), None

        return jax.lax.scan(body, (w, s), (xs, ys, jax.random.split(key, xs.shape[0])))[0]

    xt, yt = jnp.asarray(fte), jnp.asarray(yte)
    for e in range(a.epochs):
        key, k1, k2 = jax.random.split(key, 3)
        perm = np.asarray(jax.random.permutation(k1, len(ftr)))[: steps * a.batch]
        xs = jnp.asarray(ftr[perm].reshape(steps, a.batch, -1))
        ys = jnp.asarray(ytr[perm].reshape(steps, a.batch))
        w, s = epoch(w, s, xs, ys, k2)
        acc = float(jnp.mean(jnp.argmax(xt @ w["w"] + w["b"], -1) == yt))
        print(f"epoch {e + 1}: {test.split} accuracy {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
