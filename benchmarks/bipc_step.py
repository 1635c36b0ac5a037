#!/usr/bin/env python
"""BiPC's training step on `bipc-mnist-mlp`'s network (784-128-128-128-10, batch 128),
timed side by side: the relaxation with the clamped input's work done once (`fused`, the
default) and the plain energy's relaxation, at T = 20 steps (SGD 0.1, momentum 0.5) and
T = 8 (SGD 0.25, momentum 0.5); BP's step on the same net for the ratio. Alternating
rounds, medians; real MNIST batches.

    python benchmarks/bipc_step.py --rounds 5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import plastix as px
from plastix.config import from_preset


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/mnist")
    )
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=50, help="training steps per timed call")
    args = p.parse_args()
    run = from_preset("bipc-mnist-mlp")
    tr = px.data.load_dataset("mnist", "train", root=args.data_dir)
    info = px.data.dataset_info("mnist")
    x = jnp.asarray(px.data.Normalize(info.mean, info.std)(tr.x[: 128 * args.steps]))
    y = jax.nn.one_hot(jnp.asarray(tr.y[: 128 * args.steps]), 10)
    xs, ys = x.reshape(args.steps, 128, *x.shape[1:]), y.reshape(args.steps, 128, 10)
    net = px.Network.from_example(run.model.edges(10), x[:1])
    base = run.rule
    assert isinstance(base, px.BiPC)
    opt = run.optimizer.make(steps_per_epoch=args.steps, epochs=1)

    def bipc(steps: int, lr: float, fused: bool) -> Any:
        inf = dataclasses.replace(
            base.inference, steps=steps, optimizer=px.inference.SGD(lr, momentum=0.5)
        )
        rule = dataclasses.replace(base, inference=inf)

        def grads(params, batch):
            if fused:
                return rule.grads(net, params, None, batch)[0]
            # the plain energy's relaxation, then the same weight gradient
            x, y = batch
            states = list(net.feedforward(params["up"], x))
            states[net.output] = y
            hidden = tuple(n for n in range(net.num_nodes) if n not in (net.input, net.output))
            relaxed, _ = rule.relax_nodes(net, params, tuple(states), hidden, fused=False)
            g = jax.grad(lambda q: rule.energy(net, q, relaxed))(params)
            return jax.tree.map(lambda a: a / x.shape[0], g)

        return rule, grads

    def bp_grads(params, batch):
        return {"up": px.BP(cost=px.rules.SquaredError()).grads(net, params["up"], None, batch)[0]}

    cases = {
        "bp": (base, bp_grads),
        "bipc T=20 plain": bipc(20, 0.1, False),
        "bipc T=20 fused": bipc(20, 0.1, True),
        "bipc T=8 plain": bipc(8, 0.25, False),
        "bipc T=8 fused": bipc(8, 0.25, True),
    }
    fns = {}
    for name, (rule, grads) in cases.items():
        params, _ = rule.init(net, key=jax.random.key(0))
        if name == "bp":
            params = {"up": params["up"]}

        def loop(params, o, grads=grads):
            def body(c, b):
                p, o = c
                u, o = opt.update(grads(p, b), o, p)
                return (jax.tree.map(jnp.add, p, u), o), None

            return jax.lax.scan(body, (params, o), (xs, ys))[0]

        f = jax.jit(loop)
        o = opt.init(params)
        jax.block_until_ready(f(params, o))  # compile
        fns[name] = (f, params, o)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(args.rounds):
        for name, (f, params, o) in fns.items():
            t = time.perf_counter()
            jax.block_until_ready(f(params, o))
            times[name].append((time.perf_counter() - t) / args.steps * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {k: {"ms_per_step": round(v, 3), "x_bp": round(v / med["bp"], 2)} for k, v in med.items()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
