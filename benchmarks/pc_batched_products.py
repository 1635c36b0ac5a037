"""Would batching PC's independent products make a relaxation step cheaper? A plain-JAX
strict PC training step on PCX's MLP shape (784-128-128-128-10, gelu, T = 8 state steps of
SGD, batch 128, random data), 50 steps per jitted scan, written twice: each edge's product on
its own (``sep``), and the two 128x128 hidden edges' predictions (independent given the
states) as one batched product (``bat``). Both reach the same weights to float rounding
(printed). Alternating, median of 7.

    python benchmarks/pc_batched_products.py
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp

B, T, LR, STEPS = 128, 8, 0.1, 50
f = jax.nn.gelu


def energy_sep(z, w, a1, y):
    _, w2, w3, w4 = w
    z1, z2, z3 = z
    e = [z1 - a1, z2 - f(z1) @ w2, z3 - f(z2) @ w3, y - f(z3) @ w4]
    return 0.5 * sum(jnp.sum(v**2) for v in e)


def energy_bat(z, w, a1, y):
    _, w2, w3, w4 = w
    z1, z2, z3 = z
    pred = jnp.einsum("ebi,eio->ebo", f(jnp.stack([z1, z2])), jnp.stack([w2, w3]))
    e = [z1 - a1, jnp.stack([z2, z3]) - pred, y - f(z3) @ w4]
    return 0.5 * sum(jnp.sum(v**2) for v in e)


def make(energy, x, y):
    def step(w, _):
        a1 = f(x @ w[0])
        z = (a1, f(a1) @ w[1], f(f(a1) @ w[1]) @ w[2])

        def relax(_, z):
            g = jax.grad(energy)(z, w, a1, y)
            return jax.tree.map(lambda a, b: a - LR * b, z, g)

        z = jax.lax.fori_loop(0, T, relax, z)
        g = jax.grad(lambda w: energy(z, w, f(x @ w[0]), y))(w)
        return jax.tree.map(lambda a, b: a - 1e-3 * b, w, g), None

    return jax.jit(lambda w: jax.lax.scan(step, w, None, length=STEPS)[0])


def main() -> None:
    k = jax.random.split(jax.random.key(0), 5)
    shapes = [(784, 128), (128, 128), (128, 128), (128, 10)]
    w = tuple(jax.random.normal(k[i], s) / jnp.sqrt(s[0]) for i, s in enumerate(shapes))
    x = jax.random.normal(k[4], (B, 784))
    y = jax.nn.one_hot(jnp.arange(B) % 10, 10)
    fs = {"sep": make(energy_sep, x, y), "bat": make(energy_bat, x, y)}
    outs = {n: jax.block_until_ready(fn(w)) for n, fn in fs.items()}
    diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(outs["sep"], outs["bat"]))
    print(f"largest weight difference after {STEPS} steps: {diff:.2e}")
    times: dict[str, list[float]] = {n: [] for n in fs}
    for _ in range(7):
        for n, fn in fs.items():
            t = time.perf_counter()
            jax.block_until_ready(fn(w))
            times[n].append(time.perf_counter() - t)
    for n, ts in times.items():
        print(f"{n}: {1000 * statistics.median(ts) / STEPS:.3f} ms/step")


if __name__ == "__main__":
    main()
