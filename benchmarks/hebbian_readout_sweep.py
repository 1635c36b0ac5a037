"""Read-out sweeps on the frozen features of a Hebbian run, scored on its validation split.

Usage: python benchmarks/hebbian_readout_sweep.py RUN_DIR [--random] [--epochs 30]
       [--lr 1e-3] [--batch 100] [--beta 0.01 0.1 1] [--dropout 0]

Loads the last checkpoint of a ``plastix train --rule hebbian`` (or ``softhebb``) run made
with ``--set data.validation=N`` (with ``--random``: the rule's initial weights instead, the
random-feature control), computes the features of the training and validation sets once, and
for each value of ``--beta`` trains the run's read-out (its layer and its ``rule.cost``, or
``--cost``, with that ``beta`` when the cost has one; Adam, cosine decay, ``--dropout``) on them, printing the
validation accuracy every 5 epochs. Used to choose the read-out settings of the
``krotov-hopfield-mnist`` preset and its random control without looking at the test set; the
preset's own number comes from ``plastix train``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from _trained import frozen_features, load_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--random", action="store_true", help="the initial (random) weights")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--beta", type=float, nargs="*", default=[])
    ap.add_argument("--cost", help="a cost instead of the run's (cross-entropy, tanh-power)")
    a = ap.parse_args()
    loaded = load_run(a.run, initial=a.random)
    run, net, rule = loaded["run"], loaded["net"], loaded["rule"]
    if not run.data.validation:
        raise SystemExit("the run has no validation split; train it with data.validation=N")
    train, val = loaded["train"], loaded["evaluation"]
    ftr, fva = (jnp.asarray(frozen_features(loaded, d.x)) for d in (train, val))
    print(
        f"features {ftr.shape}: mean {float(ftr.mean()):.4g} std {float(ftr.std()):.4g} "
        f"max {float(ftr.max()):.4g}; active units per sample "
        f"{float(jnp.mean(jnp.sum(ftr > 0, 1))):.1f}",
        flush=True,
    )
    ytr = jnp.asarray(np.eye(train.num_classes, dtype=np.float32)[np.asarray(train.y)])
    yva = np.asarray(val.y)
    _, ro_edge = rule.blocks(net)
    layer = net.edges[ro_edge].layer
    steps = len(ftr) // a.batch
    betas = a.beta or [None]
    if a.cost:
        from plastix.config._run import CHOICES
        from plastix.rules import Cost

        rule = dataclasses.replace(rule, cost=CHOICES[Cost][a.cost]())
    for beta in betas:
        cost = rule.cost
        if beta is not None:
            cost = dataclasses.replace(cost, beta=beta)  # type: ignore[type-var]
        tx = optax.adam(optax.cosine_decay_schedule(a.lr, a.epochs * steps))
        w = net.init(key=jax.random.key(1))[ro_edge]
        s = tx.init(w)

        @jax.jit
        def epoch(w, s, key, cost=cost):
            perm = jax.random.permutation(key, len(ftr))[: steps * a.batch].reshape(steps, -1)

            def body(c, inp):
                w, s = c
                idx, k = inp
                x, y = ftr[idx], ytr[idx]
                if a.dropout:
                    keep = jax.random.bernoulli(k, 1 - a.dropout, x.shape)
                    x = jnp.where(keep, x / (1 - a.dropout), 0.0)
                g = jax.grad(lambda w: jnp.mean(cost(layer(w, x), y)))(w)
                u, s = tx.update(g, s, w)
                return (optax.apply_updates(w, u), s), None

            keys = jax.random.split(key, steps)
            return jax.lax.scan(body, (w, s), (perm, keys))[0]

        key = jax.random.key(2)
        accs = []
        for e in range(a.epochs):
            key, k = jax.random.split(key)
            w, s = epoch(w, s, k)
            if (e + 1) % 5 == 0 or e + 1 == a.epochs:
                out = jnp.concatenate(
                    [layer(w, fva[i : i + 1000]) for i in range(0, len(fva), 1000)]
                )
                accs.append(float(np.mean(np.argmax(np.asarray(out), -1) == yva)))
        print(f"beta {beta}: validation accuracy every 5 epochs {accs}", flush=True)


if __name__ == "__main__":
    main()
