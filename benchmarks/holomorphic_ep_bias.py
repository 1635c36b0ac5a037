"""Bias of holomorphic EP against the exact gradient, as |beta| and the number of points vary.

Usage: python benchmarks/holomorphic_ep_bias.py

A 4-6-3 network (sigmoid states, weights doubled so the nonlinearity matters), 3 samples,
float64, every relaxation run to a residual of 1e-10; the exact gradient is the implicit one
at the free equilibrium (``plastix.rules.exact_gradient``). Prints the relative error
|g - g_exact| / |g_exact| of centred EP and of holomorphic EP with N = 2, 3, 4, 6 points.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import plastix as px  # noqa: E402
from plastix.inference import SGD, Inference  # noqa: E402


def main() -> None:
    net = px.Network.from_example(
        px.models.mlp(3, hidden=(6,), activation="identity"), jnp.zeros((1, 4))
    )
    params = jax.tree.map(
        lambda p: 2.0 * jnp.asarray(p, jnp.float64), net.init(key=jax.random.key(0))
    )
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4)))
    y = jax.nn.one_hot(jnp.array([0, 1, 2]), 3, dtype=jnp.float64)
    inf = Inference(steps=4000, optimizer=SGD(0.2), tol=1e-10)
    exact = ravel_pytree(
        px.rules.exact_gradient(
            px.HolomorphicEP(free=inf, nudged=inf), net, params, (x, y), tol=1e-12
        )
    )[0]

    def err(rule: px.Rule) -> float:
        g = ravel_pytree(rule.grads(net, params, None, (x, y))[0])[0]  # type: ignore[attr-defined]
        return float(jnp.linalg.norm(g - exact) / jnp.linalg.norm(exact))

    print("| beta | centred EP | N = 2 | N = 3 | N = 4 | N = 6 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for beta in (0.5, 0.2, 0.1):
        row = [err(px.EP(beta=beta, rho=px.nn.Sigmoid(), free=inf, nudged=inf))]
        row += [
            err(px.HolomorphicEP(beta=beta, points=n, free=inf, nudged=inf)) for n in (2, 3, 4, 6)
        ]
        print(f"| {beta} | " + " | ".join(f"{e:.2e}" for e in row) + " |")


if __name__ == "__main__":
    main()
