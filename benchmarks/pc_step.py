#!/usr/bin/env python
"""Where PC's time goes: milliseconds per training step of the PCX MNIST MLP, side by side.

Each variant runs 50 training steps (PC T=8 or BP, AdamW) inside one compiled ``lax.scan`` on
fixed random batches of 128, so only the step itself is timed (no data or dispatch). Variants:

* ``bp``: backprop on the same network;
* ``pc-rolled``: inference as a rolled ``lax.scan`` (``Inference(unroll=1)``), general path;
* ``pc-unrolled``: inference fully unrolled, general path (a subclass with the same energy);
* ``pc``: the default: unrolled, and the first steps skip edges from states that have not
  moved into error-free nodes.

    python benchmarks/pc_step.py --reps 7
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import plastix as px


class GeneralPC(px.PC):
    """The default energy, overridden unchanged: PC takes its general relaxation path."""

    def energy(self, net, states, predictions, target):
        return super().energy(net, states, predictions, target)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--steps", type=int, default=50)
    args = p.parse_args()
    net = px.Network.from_example(px.models.mlp(10), jnp.zeros((1, 28, 28, 1)))
    params = net.init(key=jax.random.key(0))
    xs = jax.random.normal(jax.random.key(1), (args.steps, 128, 28, 28, 1))
    ys = jax.nn.one_hot(jax.random.randint(jax.random.key(2), (args.steps, 128), 0, 10), 10)
    opt = optax.adamw(2.97e-4, weight_decay=3.55e-4)
    sgd = optax.sgd(0.0105, momentum=0.65)
    variants = {
        "bp": px.BP(),
        "pc-rolled": GeneralPC(inference=px.Inference(steps=8, optimizer=sgd, unroll=1)),
        "pc-unrolled": GeneralPC(inference=px.Inference(steps=8, optimizer=sgd)),
        "pc": px.PC(inference=px.Inference(steps=8, optimizer=sgd)),
    }
    fns = {}
    for name, rule in variants.items():

        def run(p, o, rule=rule):
            def body(c, b):
                p, _, o, _ = rule.step(net, c[0], None, c[1], opt, b)
                return (p, o), None

            return jax.lax.scan(body, (p, o), (xs, ys))[0]

        f = jax.jit(run)
        jax.block_until_ready(f(params, opt.init(params)))
        fns[name] = f
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.reps):  # interleaved, so noise hits every variant alike
        for name, f in fns.items():
            t = time.perf_counter()
            jax.block_until_ready(f(params, opt.init(params)))
            times[name].append((time.perf_counter() - t) / args.steps * 1e3)
    bp = statistics.median(times["bp"])
    print(f"| variant | ms/step (median of {args.reps}) | vs bp |")
    print("| --- | --- | --- |")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"| {name} | {m:.3f} | {m / bp:.2f}x |")


if __name__ == "__main__":
    main()
