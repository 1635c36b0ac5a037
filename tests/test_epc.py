"""ePC (PC relaxing the errors, Goemaere et al. 2025): its first step carries backprop's
errors to every node (checked against backprop written by hand), one step under small
centred nudging gives backprop's gradient (to second order in beta), and it relaxes to the
same equilibrium as state PC (the same energy under a change of variables)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def _problem(hidden=(6, 5, 4), d=7, classes=3, batch=5):
    net = px.Network.from_example(
        px.models.mlp(classes, hidden=hidden, activation="tanh"), jnp.zeros((1, d), jnp.float64)
    )
    params = jax.tree.map(lambda a: a.astype(jnp.float64), net.init(key=jax.random.key(0)))
    x = jax.random.normal(jax.random.key(1), (batch, d), jnp.float64)
    y = jax.nn.one_hot(jnp.arange(batch) % classes, classes, dtype=jnp.float64)
    return net, params, x, y


def _dense(p):
    (d,) = [q for q in (p if isinstance(p, tuple) else (p,)) if isinstance(q, dict)]
    return np.asarray(d["w"]), np.asarray(d["b"])


def test_first_error_step_is_backprop_errors(x64):
    """From the feedforward pass (errors 0) one step of size 1 sets each hidden node's
    error to minus backprop's error dC/dz_n, written out by hand for the tanh MLP."""
    net, params, x, y = _problem()
    rule = px.PC(
        variables=px.PCVariables.ERRORS, inference=px.Inference(steps=1, optimizer=optax.sgd(1.0))
    )
    states, _ = rule.relax(net, params, (x, y))
    mus = net.predictions(params, states)
    # backprop by hand: z_n = tanh(z_{n-1} W_n + b_n), out = z_3 W_4 + b_4, C = 1/2 |out - y|^2
    ws = [_dense(p) for p in params]
    zs = [np.asarray(x)]
    for w, b in ws[:-1]:
        zs.append(np.tanh(zs[-1] @ w + b))
    out = zs[-1] @ ws[-1][0] + ws[-1][1]
    delta = (out - np.asarray(y)) @ ws[-1][0].T  # dC/dz_3
    deltas = {3: delta}
    for n in (3, 2):
        w, _ = ws[n - 1]
        delta = (delta * (1 - zs[n] ** 2)) @ w.T
        deltas[n - 1] = delta
    for n in (1, 2, 3):
        np.testing.assert_allclose(states[n] - mus[n], -deltas[n], rtol=1e-10, atol=1e-12)
    # state PC's first step moves only the node next to the output
    spc = px.PC(inference=px.Inference(steps=1, optimizer=optax.sgd(1.0)))
    s2, _ = spc.relax(net, params, (x, y))
    ff = net.feedforward(params, x)
    np.testing.assert_array_equal(s2[1], ff[1])
    np.testing.assert_array_equal(s2[2], ff[2])


def _grads(rule, net, params, x, y):
    return jax.tree.leaves(rule.grads(net, params, None, (x, y))[0])


def test_one_step_epc_with_small_centred_nudging_is_backprop(x64):
    """With the output free and nudged by +-beta, one error step of size 1 gives every layer
    backprop's gradient up to O(beta^2): halving beta quarters the gap. One step of state PC
    leaves the first layers without any gradient."""
    net, params, x, y = _problem()
    bp = _grads(px.BP(), net, params, x, y)

    def gap(beta, variables=px.PCVariables.ERRORS):
        rule = px.PC(
            variables=variables,
            nudging=px.Nudging(beta, px.NudgeSign.CENTRED),
            inference=px.Inference(steps=1, optimizer=optax.sgd(1.0)),
        )
        g = _grads(rule, net, params, x, y)
        return max(
            float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b)) for a, b in zip(g, bp, strict=True)
        )

    g1, g2 = gap(1e-2), gap(5e-3)
    assert g1 < 1e-3
    assert g1 / g2 == pytest.approx(4.0, rel=0.05)
    assert gap(1e-2, px.PCVariables.STATES) > 0.5  # the first layers get nothing


def test_epc_and_state_pc_share_their_equilibrium(x64):
    """The same energy in other variables: relaxed to convergence, both reach the same
    states and give the same weight gradients."""
    net, params, x, y = _problem(hidden=(5, 4))
    inf = px.Inference(steps=4000, optimizer=optax.sgd(0.2), tol=1e-11)
    spc = px.PC(inference=inf)
    epc = px.PC(variables=px.PCVariables.ERRORS, inference=inf)
    s1, i1 = spc.relax(net, params, (x, y))
    s2, i2 = epc.relax(net, params, (x, y))
    assert int(i1.not_converged) == 0 and int(i2.not_converged) == 0
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-8)
    for a, b in zip(_grads(spc, net, params, x, y), _grads(epc, net, params, x, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_epc_options():
    run = px.config.build(px.config.RunConfig, {"rule": {"name": "pc", "variables": "errors"}})
    assert run.rule.variables is px.PCVariables.ERRORS
    with pytest.raises(px.ConfigError, match="ePC, which relaxes strict PC's energy"):
        px.PC(mode=px.PCMode.FIXED_PREDICTION, variables=px.PCVariables.ERRORS)


class _SameEnergy(px.PC):
    """Overrides the energy without changing it: ePC takes the general path (states and
    predictions) instead of the default energy written in the errors."""

    def energy(self, net, states, predictions, target):
        return super().energy(net, states, predictions, target)


@pytest.mark.parametrize("nudging", [None, px.Nudging(0.1, px.NudgeSign.CENTRED)])
def test_epc_default_energy_in_errors_equals_the_general_path(x64, nudging):
    net, params, x, y = _problem()
    inf = px.Inference(steps=7, optimizer=optax.sgd(0.3, momentum=0.5))
    kw = dict(variables=px.PCVariables.ERRORS, inference=inf, nudging=nudging)
    g1 = _grads(px.PC(**kw), net, params, x, y)
    g2 = _grads(_SameEnergy(**kw), net, params, x, y)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
