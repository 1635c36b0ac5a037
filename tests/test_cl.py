"""Coupled learning (Stern et al. 2021) against its theory.

Oracles: with no hidden layer and identity states the update is the exact gradient of the
squared error at the free equilibrium (implicit differentiation, ``exact_gradient``) for any
eta; with hidden sigmoid states it tends, with a first-order bias in eta, to the derivative of
the hidden-minimised energy's parameter gradient along ``y - s_out``, computed here
independently by implicit differentiation (conjugate gradients on Hessian-vector products);
at eta = 1 it is CHL.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.sparse.linalg import cg

import plastix as px
from plastix.rules import CoupledLearning


def _relax(steps: int, lr: float = 0.5) -> px.Inference:
    return px.Inference(steps=steps, optimizer=px.inference.SGD(lr))


def _problem(hidden: tuple[int, ...]):
    x = jax.random.uniform(jax.random.key(0), (6, 5))
    y = jax.nn.one_hot(jnp.array([0, 1, 2, 0, 1, 2]), 3)
    net = px.Network.from_example(px.models.mlp(3, hidden=hidden, activation="identity"), x[:1])
    params = jax.tree.map(lambda w: 0.5 * w, net.init(key=jax.random.key(1)))
    return net, params, (x, y)


def _flat(tree):
    return np.concatenate([np.ravel(l) for l in jax.tree.leaves(tree)])


def test_without_hidden_layers_coupled_learning_is_the_exact_gradient():
    net, params, batch = _problem(())
    for eta in (0.5, 0.05):
        rule = CoupledLearning(rho=px.nn.Identity(), eta=eta, free=_relax(80), nudged=_relax(80))
        g, _, _ = jax.jit(lambda p, rule=rule: rule.grads(net, p, None, batch))(params)
        exact = px.rules.exact_gradient(rule, net, params, batch)
        np.testing.assert_allclose(_flat(g), _flat(exact), rtol=1e-4, atol=1e-6)


def _implicit_direction(rule, net, params, batch):
    """d/d eta of dE/dtheta at (h*(o), o), o = s_F,out + eta (y - s_F,out), at eta = 0."""
    x, y = batch
    free, _ = rule.free_phase(net, params, x)
    nodes = rule.state_nodes(net)
    k = nodes.index(net.output)
    hidden = tuple(s for i, s in enumerate(free) if i != k)
    out = free[k]

    def states(h, o):
        f = list(h)
        f.insert(k, o)
        return rule.full_states(net, x, tuple(f))

    def energy(h, o, p):
        return rule.energy(net, p, states(h, o))

    grad_h = jax.grad(energy, argnums=0)
    d = y - out
    b = jax.jvp(lambda o: grad_h(hidden, o, params), (out,), (d,))[1]

    def hvp(v):
        return jax.jvp(lambda h: grad_h(h, out, params), (hidden,), (v,))[1]

    dh, _ = cg(hvp, jax.tree.map(jnp.negative, b), tol=1e-10, maxiter=500)
    grad_p = jax.grad(energy, argnums=2)
    direction = jax.jvp(lambda h, o: grad_p(h, o, params), (hidden, out), (dh, d))[1]
    return jax.tree.map(lambda v: v / x.shape[0], direction)


def test_small_eta_limit_is_first_order_in_eta():
    net, params, batch = _problem((4,))
    rho = px.nn.Sigmoid()
    ref = _flat(_implicit_direction(CoupledLearning(rho=rho, free=_relax(400)), net, params, batch))
    errors = []
    for eta in (0.2, 0.02):
        rule = CoupledLearning(rho=rho, eta=eta, free=_relax(400), nudged=_relax(400))
        g, _, _ = jax.jit(lambda p, rule=rule: rule.grads(net, p, None, batch))(params)
        errors.append(np.linalg.norm(_flat(g) - ref) / np.linalg.norm(ref))
    assert errors[1] < 0.02, errors
    assert 5 < errors[0] / errors[1] < 20, errors  # first order: 10x smaller eta, ~10x error


def test_eta_one_is_contrastive_hebbian_learning():
    net, params, batch = _problem((4,))
    kw = {"rho": px.nn.Sigmoid(), "free": _relax(50), "nudged": _relax(50)}
    g_cl, _, _ = CoupledLearning(eta=1.0, **kw).grads(net, params, None, batch)
    g_chl, _, _ = px.CHL(**kw).grads(net, params, None, batch)
    np.testing.assert_allclose(_flat(g_cl), _flat(g_chl), rtol=1e-5, atol=1e-7)


def test_eta_is_checked():
    for bad in (0.0, -0.1, 1.5):
        try:
            CoupledLearning(eta=bad)
        except px.ConfigError as err:
            assert "eta must be in (0, 1]" in str(err)
        else:
            raise AssertionError(f"eta={bad} accepted")
