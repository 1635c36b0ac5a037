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

from _trained import DEFAULT_DATA_DIR, load_trained
from plastix.train import generation_quality
from plastix.viz import plot_image_grid


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--preset", default="bipc-mnist-mlp")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--alpha-b", type=float, nargs="*", default=[], help="test-time alpha_b values")
    p.add_argument("--png", type=Path, help="write the generated digits here")
    args = p.parse_args()
    t = load_trained(args.preset, args.checkpoint, args.data_dir)
    net, rule, params, state, x, y = (t[k] for k in ("net", "rule", "params", "state", "x", "y"))

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
