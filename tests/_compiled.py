"""Helpers shared by the rule tests: pytree comparison and compiled rule calls."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

import plastix as px


def assert_trees_close(a: Any, b: Any, *, rtol: float, atol: float) -> None:
    """Every leaf of ``a`` close to the matching leaf of ``b`` (same tree structure)."""
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=atol)


def jgrads(rule: Any, net: px.Network, params: Any, batch: Any, key: Any = None) -> Any:
    """``rule.grads`` of a rule without state, compiled (much faster than op-by-op for these
    small checks): ``(grads, metrics)``."""
    g, _, m = jax.jit(lambda p, b, k: rule.grads(net, p, None, b, key=k))(params, batch, key)
    return g, m


def jalign(rule: Any, net: px.Network, params: Any, batch: Any) -> Any:
    """``alignment_with_bp`` compiled."""
    return jax.jit(lambda p, b: px.rules.alignment_with_bp(rule, net, p, b))(params, batch)
