"""Milliseconds per SoftHebb step (Hebbian, and read-out) for a conv network on 28x28x1 inputs.

Usage: python benchmarks/softhebb_speed.py CHANNELS BATCH   e.g. 96,384,1536 10

20 compiled steps of each phase on random inputs (after a warm-up call), and the implied
minutes per 60000-image epoch.
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import optax

import plastix as px
from plastix.local import SoftHebb


def main(channels: tuple[int, ...], bs: int) -> None:
    net = px.Network.from_example(
        px.models.softhebb_conv(10, channels=channels), jnp.zeros((1, 28, 28, 1))
    )
    opt = optax.adam(1e-3)
    x = jax.random.uniform(jax.random.key(1), (20, bs, 28, 28, 1))
    y = jnp.eye(10)[jnp.zeros((20, bs), int)]
    for phase, steps in (("hebbian", 10**9), ("read-out", 0)):
        rule = SoftHebb(hebbian_steps=steps)
        params, state = rule.init(net, key=jax.random.key(0))

        def run(p, s, o, rule=rule):
            def body(c, inp):
                p, s, o, m = rule.step(net, *c, opt, inp, key=jax.random.key(0))
                return (p, s, o), m["loss"]

            return jax.lax.scan(body, (p, s, o), (x, y))

        f = jax.jit(run)
        jax.block_until_ready(f(params, state, opt.init(params)))
        t = time.perf_counter()
        jax.block_until_ready(f(params, state, opt.init(params)))
        dt = (time.perf_counter() - t) / 20
        print(
            f"{channels} batch {bs} {phase}: {dt * 1000:.1f} ms/step, {60000 / bs * dt / 60:.1f} min/epoch"
        )


if __name__ == "__main__":
    main(tuple(int(c) for c in sys.argv[1].split(",")), int(sys.argv[2]))
