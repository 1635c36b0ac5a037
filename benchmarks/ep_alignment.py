#!/usr/bin/env python
"""Alignment of EP's update with the exact gradient, one-sided vs symmetric nudging, at the
same parameters, on real MNIST test images (nonzero loss).

    python benchmarks/ep_alignment.py --checkpoint RUN/checkpoints/epoch-0008.npz

The checkpoint is one of an `ep-mnist-mlp` run (784-500-10); without one, freshly initialised
parameters are used. For each beta and sign: cosine and relative norm of the update against
`plastix.rules.exact_gradient` (implicit differentiation at the free equilibrium).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

import plastix as px
from plastix.train import load_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path)
    p.add_argument(
        "--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/mnist")
    )
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--nudged-steps", type=int, default=100)
    args = p.parse_args()
    te = px.data.load_dataset("mnist", "test", root=args.data_dir)
    x = jnp.asarray(te.x[: args.samples])
    y = jax.nn.one_hot(jnp.asarray(te.y[: args.samples]), 10)
    net = px.Network.from_example(px.models.mlp(10, hidden=(500,), activation="identity"), x[:1])
    params = net.init(key=jax.random.key(0))
    if args.checkpoint:
        # the optimizer of the ep-mnist-mlp preset (its state's structure is in the checkpoint)
        opt = px.config.from_preset("ep-mnist-mlp").optimizer.make(steps_per_epoch=1, epochs=1)
        (params, _), _ = load_checkpoint(args.checkpoint, (params, opt.init(params)))
    free = px.Inference(steps=200, optimizer=optax.sgd(0.5), bounds=(0.0, 1.0))
    nudged = px.Inference(steps=args.nudged_steps, optimizer=optax.sgd(0.5), bounds=(0.0, 1.0))
    print(
        f"| beta | sign | cosine | cosine per edge | relative norm |  ({args.samples} test images, T1=200, T2={args.nudged_steps})"
    )
    print("| --- | --- | --- | --- | --- |")
    for beta in (1.0, 0.5, 0.2, 0.1):
        for sign in (px.NudgeSign.POSITIVE, px.NudgeSign.CENTRED):
            rule = px.EP(beta=beta, sign=sign, free=free, nudged=nudged)
            c = jax.jit(lambda p, rule=rule: px.rules.gradient_check(rule, net, p, (x, y)))(params)
            per = ", ".join(f"{float(v):.4f}" for v in c["cosine_per_edge"])
            print(
                f"| {beta} | {sign.value} | {float(c['cosine']):.4f} | {per} | {float(c['relative_norm']):.3f} |"
            )


if __name__ == "__main__":
    main()
