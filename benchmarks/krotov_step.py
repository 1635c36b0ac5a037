"""One Krotov-Hopfield step, side by side: plastix's ``krotov_hopfield`` (top-k ranking,
segment sums) against the textbook form it replaced (a full ``argsort`` and dense one-hot
products), same inputs, same run; also checks that the two agree.

Usage: python benchmarks/krotov_step.py [--units 2000] [--batch 100] [--k 7] [--reps 50]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from plastix.local import krotov_hopfield


def textbook(w: jax.Array, x: jax.Array, p: float, k: int, delta: float) -> jax.Array:
    """-dW by a full sort and one-hot matrices (Krotov & Hopfield's code, in JAX)."""
    h = x @ (jnp.sign(w) * jnp.abs(w) ** (p - 1))
    order = jnp.argsort(-h, axis=1)
    g = jax.nn.one_hot(order[:, 0], w.shape[1]) - delta * jax.nn.one_hot(
        order[:, k - 1], w.shape[1]
    )
    b = x.shape[0]
    return -(x.T @ g / b - w * jnp.sum(g * h, axis=0)[None, :] / b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--k", type=int, default=7)
    ap.add_argument("--reps", type=int, default=50)
    a = ap.parse_args()
    w0 = 0.3 * jax.random.normal(jax.random.key(0), (784, a.units))
    x = jax.random.uniform(jax.random.key(1), (a.batch, 784))
    fns = {
        "plastix": jax.jit(lambda w, x: krotov_hopfield(w, x, p=3.0, k=a.k, delta=0.4)),
        "argsort": jax.jit(lambda w, x: textbook(w, x, 3.0, a.k, 0.4)),
    }
    np.testing.assert_allclose(fns["plastix"](w0, x), fns["argsort"](w0, x), rtol=1e-4, atol=1e-5)
    times = {n: [] for n in fns}
    for _ in range(3):  # rounds in alternation
        for name, f in fns.items():
            w = f(w0, x).block_until_ready()
            t = time.perf_counter()
            for _ in range(a.reps):
                w = f(w0 + 1e-3 * w, x)
            w.block_until_ready()
            times[name].append((time.perf_counter() - t) / a.reps * 1e3)
    best = {n: min(v) for n, v in times.items()}
    print(f"units {a.units}, batch {a.batch}, k {a.k}: ms per step (best of 3 rounds)")
    for n, v in best.items():
        print(f"  {n}: {v:.2f}")
    print(f"  plastix / argsort: {best['plastix'] / best['argsort']:.3f}")


if __name__ == "__main__":
    main()
