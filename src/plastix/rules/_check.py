"""Gradient checks: compare a rule's update with the exact gradient of the same network."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.sparse.linalg import cg

from .._errors import ConfigError
from ..graph import Network
from ._base import (
    AbstractFeedbackRule,
    AbstractGenerativeRule,
    AbstractGradientRule,
    AbstractRule,
    Batch,
)
from ._bp import BP
from ._dropout import Dropout
from ._ep import AbstractEquilibriumRule


def exact_gradient(
    rule: AbstractGradientRule, net: Network, params: Any, batch: Batch, *, tol: float = 1e-6
) -> Any:
    r"""The exact gradient of the loss the rule's update estimates.

    For the equilibrium rules (:class:`AbstractEquilibriumRule`: EP, CHL): :math:`\nabla_\theta \frac1B\sum C(s^*_{out}(\theta), y)` at
    the free equilibrium :math:`s^*`, by implicit differentiation,
    :math:`-\partial_\theta\nabla_s E^\top \lambda` with
    :math:`\nabla^2_s E\, \lambda = \nabla_s C`, solved by conjugate gradients with
    Hessian-vector products; coordinates held at a bound of the state range (where the energy
    gradient does not vanish) are treated as constant. For other rules: backprop's gradient of
    the mean output cost of the feedforward pass.
    """
    x, y = batch
    if not isinstance(rule, AbstractEquilibriumRule):
        return BP(cost=rule.cost).grads(net, params, None, batch)[0]
    free, _ = rule.free_phase(net, params, x)
    nodes = rule.state_nodes(net)

    def states(f: tuple[Any, ...]) -> tuple[Any, ...]:
        return rule.full_states(net, x, f)

    def grad_s(f: tuple[Any, ...], p: Any) -> tuple[Any, ...]:
        return jax.grad(lambda f: rule.total_energy(net, p, states(f), y, 0.0))(f)

    g0 = grad_s(free, params)
    scale = jnp.max(jnp.stack([jnp.max(jnp.abs(l)) for l in jax.tree.leaves(free)])) + 1.0
    mask = tuple(
        (jnp.abs(g) < 1e-3 * scale).astype(g.dtype)
        * (0.0 if rule.reads_out and n == net.output else 1.0)
        for n, g in zip(nodes, g0)
    )  # constant: coordinates held at a bound, and a read-out output (not a state)

    def loss(f: tuple[Any, ...], p: Any) -> Any:
        return jnp.mean(rule.cost(rule.output_value(net, p, states(f)), y))

    dc, direct = jax.grad(loss, argnums=(0, 1))(free, params)
    dc = jax.tree.map(jnp.multiply, dc, mask)

    def hvp(v: Any) -> Any:
        mv = jax.tree.map(jnp.multiply, v, mask)
        hv = jax.jvp(lambda f: grad_s(f, params), (free,), (mv,))[1]
        return jax.tree.map(lambda h, m, vi: m * h + (1 - m) * vi, hv, mask, v)

    lam, _ = cg(hvp, dc, tol=tol, maxiter=2000)
    _, vjp = jax.vjp(lambda p: grad_s(free, p), params)
    return jax.tree.map(lambda d, v: d - v, direct, vjp(lam)[0])


def require_gradient_estimate(rule: AbstractRule) -> AbstractGradientRule:
    """Raise a :class:`ConfigError` unless ``rule.estimates_gradient`` (what a gradient check
    compares with the exact gradient), and return it as the gradient rule it then is."""
    if not rule.estimates_gradient or not isinstance(rule, AbstractGradientRule):
        raise ConfigError(
            f"the {rule.name!r} rule's update does not estimate the gradient of the network's "
            "output cost (it follows local objectives), so a gradient check has nothing to "
            "compare it with; pass gradient_check=0 (--set train.gradient_check=0)."
        )
    return rule


def gradient_check(
    rule: AbstractRule, net: Network, params: Any, batch: Batch, *, state: Any = None
) -> dict[str, Any]:
    """Cosine similarity and relative norm ``|g_rule| / |g_exact|`` per edge (lists, edge
    order; ``nan`` for parameter-free edges) and overall, between the rule's update and
    :func:`exact_gradient`. Jit-able; the trainer can log it as a metric. ``state`` is the
    rule's non-learned state (``None`` for the rules that keep none).

    For rules whose update estimates that gradient (``rule.estimates_gradient``); others
    (Forward-Forward's local goodness losses, Hebbian rules) raise a :class:`ConfigError`.
    """
    grule = require_gradient_estimate(rule)
    if isinstance(getattr(grule, "dropout", None), Dropout):
        # the update of the deterministic network (dropout thins it at random), as exact's
        grule = dataclasses.replace(grule, dropout=Dropout())  # type: ignore[call-arg]
    g = grule.grads(net, params, state, batch, key=jax.random.key(0))[
        0
    ]  # a key for stochastic rules
    # rules with weights besides the network's (feedback, top-down) are checked on the network's
    if isinstance(grule, (AbstractFeedbackRule, AbstractGenerativeRule)):
        g, params = grule.forward_params(g), grule.forward_params(params)
    ref = exact_gradient(grule, net, params, batch)

    def stats(a: Any, b: Any) -> tuple[Any, Any]:
        la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
        if not la:
            return jnp.nan, jnp.nan
        va = jnp.concatenate([jnp.ravel(l) for l in la])
        vb = jnp.concatenate([jnp.ravel(l) for l in lb])
        na, nb = jnp.linalg.norm(va), jnp.linalg.norm(vb)
        return va @ vb / (na * nb), na / nb

    per = [stats(a, b) for a, b in zip(g, ref)]
    cos, rel = stats(g, ref)
    return {
        "cosine": cos,
        "relative_norm": rel,
        "cosine_per_edge": [c for c, _ in per],
        "relative_norm_per_edge": [r for _, r in per],
    }
