#!/usr/bin/env python
"""A trained BiPC network (`bipc-mnist-mlp` run) evaluated three ways on the MNIST test set:
the feedforward (amortised) pass, classification by inference (`BiPC.predict`, what the
trainer reports) and generation (`generation_quality` of one digit per class); optionally
with a different alpha_b at test time.

    python benchmarks/bipc_eval.py --checkpoint RUN/checkpoints/epoch-0010.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp

import plastix as px
from plastix.config import from_preset
from plastix.train import generation_quality, load_checkpoint
from plastix.viz import plot_image_grid


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--preset", default="bipc-mnist-mlp")
    p.add_argument(
        "--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/mnist")
    )
    p.add_argument("--alpha-b", type=float, nargs="*", default=[], help="test-time alpha_b values")
    p.add_argument("--png", type=Path, help="write the generated digits here")
    args = p.parse_args()
    run = from_preset(args.preset)
    te = px.data.load_dataset("mnist", "test", root=args.data_dir)
    info = px.data.dataset_info("mnist")
    x = jnp.asarray(px.data.Normalize(info.mean, info.std)(te.x) if run.data.normalize else te.x)
    y = jnp.asarray(te.y)
    net = px.Network.from_example(run.model.edges(10), x[:1])
    rule = run.rule
    params, state = rule.init(net, key=jax.random.key(0))
    opt = run.optimizer.make(steps_per_epoch=1, epochs=1)
    (params, state, _), _ = load_checkpoint(args.checkpoint, (params, state, opt.init(params)))

    def acc(f) -> float:
        out = jnp.concatenate([jax.jit(f)(params, x[i : i + 1000]) for i in range(0, len(x), 1000)])
        return float(jnp.mean(jnp.argmax(out, -1) == y))

    res = {"feedforward_accuracy": acc(lambda p, xb: net(p["up"], xb))}
    for a in [rule.alpha_b, *args.alpha_b]:
        ra = dataclasses.replace(rule, alpha_b=a)
        res[f"inference_accuracy(alpha_b={a})"] = acc(
            lambda p, xb, ra=ra: ra.predict(net, p, state, xb)
        )
        images = ra.generate(net, params, jnp.eye(10))
        res[f"generation(alpha_b={a})"] = generation_quality(images, x, y)
        if args.png and a == rule.alpha_b:
            plot_image_grid(images, args.png, titles=[str(c) for c in range(10)],
                            title="BiPC (bipc-mnist-mlp): generated from each class label")  # fmt: skip
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
