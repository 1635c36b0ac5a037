"""Equilibrium propagation and contrastive Hebbian learning, checked against theory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import plastix as px


def _vec(tree):
    return ravel_pytree(tree)[0]


@pytest.fixture(scope="module")
def problem():
    edges = [
        px.edge(px.nn.Linear(10), [0, 1]),
        px.edge(px.nn.Linear(8), [1, 2]),
        px.edge(px.nn.Linear(3), [2, 3]),
    ]
    x = jax.random.normal(jax.random.key(1), (6, 5))
    y = jax.nn.one_hot(jnp.arange(6) % 3, 3)
    net = px.Network.from_example(edges, x)
    return net, net.init(key=jax.random.key(0)), (x, y)


SMOOTH = px.Inference(steps=1500, optimizer=optax.sgd(0.2))


def _rel(a, b):
    a, b = _vec(a), _vec(b)
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def test_symmetric_ep_matches_the_exact_gradient(problem):
    net, params, batch = problem
    rule = px.EP(rho=px.nn.Sigmoid(), beta=0.05, free=SMOOTH, nudged=SMOOTH)
    check = px.rules.gradient_check(rule, net, params, batch)
    assert float(check["cosine"]) >= 0.99
    assert all(float(c) >= 0.99 for c in check["cosine_per_edge"])
    assert abs(float(check["relative_norm"]) - 1) < 0.01


def test_one_sided_bias_is_first_order_and_centred_second_order(problem):
    net, params, batch = problem
    exact = px.rules.exact_gradient(
        px.EP(rho=px.nn.Sigmoid(), free=SMOOTH, nudged=SMOOTH), net, params, batch
    )
    err = {}
    for sign in px.NudgeSign:
        for beta in (0.4, 0.1):
            rule = px.EP(rho=px.nn.Sigmoid(), beta=beta, sign=sign, free=SMOOTH, nudged=SMOOTH)
            g, _, _ = jax.jit(lambda p, rule=rule: rule.grads(net, p, None, batch))(params)
            err.setdefault(sign, []).append(_rel(g, exact))
    for sign in (px.NudgeSign.POSITIVE, px.NudgeSign.NEGATIVE):
        e1, e2 = err[sign]
        assert 2.5 < e1 / e2 < 6, err  # 4x smaller for 4x smaller beta
    c1, c2 = err[px.NudgeSign.CENTRED]
    assert c1 / c2 > 10, err  # 16x
    assert c2 < err[px.NudgeSign.POSITIVE][1]


def test_exact_gradient_matches_finite_differences_with_hard_sigmoid(problem):
    """The implicit gradient at a box-constrained (hard-sigmoid) equilibrium, in float64,
    against a central finite difference of the loss along a random direction; EP's centred
    update agrees too."""
    net, params, (x, y) = problem
    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        x, y = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
        inf = px.Inference(steps=4000, optimizer=optax.sgd(0.2), bounds=(0.0, 1.0))
        rule = px.EP(beta=1e-6, free=inf, nudged=inf)
        flat, unravel = ravel_pytree(params)
        d = jax.random.normal(jax.random.key(5), flat.shape, jnp.float64)
        loss = lambda p: jnp.mean(rule.cost(rule.predict(net, p, None, x), y))  # noqa: E731
        h = 1e-6  # a state sits near a bound: the loss has a kink within 1e-4
        fd = (loss(unravel(flat + h * d)) - loss(unravel(flat - h * d))) / (2 * h)
        exact = _vec(px.rules.exact_gradient(rule, net, params, (x, y))) @ d
        ep = _vec(rule.grads(net, params, None, (x, y))[0]) @ d
    assert float(exact) == pytest.approx(float(fd), rel=1e-4)
    assert float(ep) == pytest.approx(float(fd), rel=1e-4)


def test_chl_is_the_infinite_nudging_limit_of_ep(problem):
    """beta * (positive EP update) -> CHL's update as beta -> infinity (squared-error cost:
    the nudged output tends to the target)."""
    net, params, batch = problem
    chl = px.CHL(rho=px.nn.Sigmoid(), free=SMOOTH, nudged=SMOOTH)
    g_chl, _, _ = chl.grads(net, params, None, batch)
    errs = []
    for beta in (3.0, 10.0, 30.0):
        inf = px.Inference(steps=3000, optimizer=optax.sgd(0.2 / (1 + beta)))
        ep = px.EP(
            rho=px.nn.Sigmoid(), beta=beta, sign=px.NudgeSign.POSITIVE, free=SMOOTH, nudged=inf
        )
        g, _, _ = ep.grads(net, params, None, batch)
        errs.append(_rel(jax.tree.map(lambda a: beta * a, g), g_chl))
    assert errs[0] > errs[1] > errs[2], errs  # the gap shrinks like 1/beta
    assert errs[0] / errs[2] > 5, errs
    assert errs[2] < 0.04, errs


def test_free_phase_energy_decreases(problem):
    net, params, (x, _) = problem
    energies = []
    for steps in (1, 2, 5, 20, 100):
        rule = px.EP(rho=px.nn.Sigmoid(), free=px.Inference(steps=steps, optimizer=optax.sgd(0.1)))
        _, info = rule.free_phase(net, params, x)
        energies.append(float(info.energy))
    assert all(b <= a + 1e-6 for a, b in zip(energies, energies[1:])), energies
    assert energies[-1] < energies[0]


class CustomEP(px.EP):
    """The seed's pattern: a subclass that changes only the energy (an extra L2 on states)."""

    def energy(self, net, params, states, cache=None):
        extra = sum(0.05 * jnp.sum(s * s) for n, s in enumerate(states) if n != net.input)
        return super().energy(net, params, states, cache) + extra


@pytest.mark.parametrize("rule_cls", [px.EP, CustomEP, px.CHL], ids=["ep", "custom-ep", "chl"])
def test_ep_family_trains_on_digits(rule_cls):
    tr = px.data.load_dataset("digits", "train")
    te = px.data.load_dataset("digits", "test")
    net = px.Network.from_example(px.models.mlp(10, hidden=(64,), activation="identity"), tr.x[:1])
    rule = rule_cls()  # EP's default beta is 0.5; CHL has none
    t = px.Trainer(net, rule, optax.adam(1e-3), tr, te, epochs=5, batch_size=32, progress=False)
    s = t.fit()
    assert s["test_accuracy"] > 0.9, s["history"]


def test_bad_ep_input(problem):
    net, params, (x, y) = problem
    with pytest.raises(px.ConfigError, match="nudging strength must be > 0"):
        px.EP(beta=0.0)
    with pytest.raises(px.ShapeError, match="label/sample count mismatch"):
        px.EP().grads(net, params, None, (x, y[:3]))


def test_non_finite_states_stop_training():
    tr = px.data.load_dataset("digits", "train")
    net = px.Network.from_example(px.models.mlp(10, hidden=(16,), activation="identity"), tr.x[:1])
    rule = px.EP(rho=px.nn.Identity(), free=px.Inference(steps=50, optimizer=optax.sgd(5.0)))
    t = px.Trainer(net, rule, optax.sgd(0.1), tr, epochs=1, batch_size=32, progress=False)
    with pytest.raises(px.DivergenceError, match="training diverged"):
        t.fit()


def test_bounded_inference_reports_the_projected_residual():
    """Minimise 1/2 ||z - c||^2 over the box [0, 1]: the minimum clips c; there the plain
    gradient is not zero but the projected-gradient residual is."""
    c = jnp.array([[-0.5, 0.3, 1.7]])
    inf = px.Inference(steps=200, optimizer=optax.sgd(0.3), bounds=(0.0, 1.0), tol=1e-6)
    z, info = inf.run(lambda z: (0.5 * jnp.sum((z - c) ** 2), z - c), jnp.full((1, 3), 0.5))
    np.testing.assert_allclose(z, [[0.0, 0.3, 1.0]], atol=1e-5)
    assert float(info.residual[0]) <= 1e-6 and int(info.not_converged) == 0


@pytest.mark.parametrize("rule", ["ep", "chl", "holomorphic-ep"])
def test_ep_family_from_the_cli(rule, tmp_path):
    from plastix.cli import main

    out = tmp_path / "run"
    args = ["train", "--rule", rule, "--epochs", "1", "--set", "model.activation=identity",
            "--set", "rule.free.steps=10", "--set", "rule.nudged.steps=4",
            "--set", "data.train_limit=256", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["rule"] == rule and summary["config"]["rule"]["free"]["steps"] == 10


def test_cross_entropy_readout_matches_the_exact_gradient(problem):
    """Laborieux et al.'s variant: the output is a read-out with a cross-entropy cost; the
    read-out weights get dC/dtheta at the nudged states, the others EP's estimate."""
    net, params, batch = problem
    rule = px.EP(rho=px.nn.Sigmoid(), cost=px.CrossEntropy(), readout=True, beta=0.05,
                 free=SMOOTH, nudged=SMOOTH)  # fmt: skip
    check = px.rules.gradient_check(rule, net, params, batch)
    assert float(check["cosine"]) >= 0.99, check
    assert all(float(c) >= 0.99 for c in check["cosine_per_edge"]), check
    out = rule.predict(net, params, None, batch[0])
    assert out.shape == (6, 3)
    # CHL clamps its output: it has no read-out option at all (it had one it refused)
    with pytest.raises(px.ConfigError, match="unknown config key 'rule \\(chl\\).readout'"):
        px.config.make_rule("chl", readout=True)


@pytest.mark.parametrize(
    "rule",
    [
        px.PC(
            mode=px.PCMode.FIXED_PREDICTION,
            inference=px.Inference(steps=3, optimizer=optax.sgd(1.0)),
        ),
        px.EP(rho=px.nn.Sigmoid(), beta=0.02, free=SMOOTH, nudged=SMOOTH),
    ],
    ids=["pc-fixed-prediction", "ep-symmetric"],
)
def test_trainer_logs_the_gradient_check(rule):
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 64))
    net = px.Network.from_example(px.models.mlp(10, hidden=(16,), activation="identity"), tr.x[:1])
    t = px.Trainer(net, rule, optax.sgd(0.01), tr, epochs=1, batch_size=32, progress=False,
                   gradient_check=16)  # fmt: skip
    rec = t.fit()["history"][-1]
    assert rec["grad_cosine"] > 0.99, rec
    assert len(rec["grad_cosine_per_edge"]) == 2 and min(rec["grad_cosine_per_edge"]) > 0.99


def test_readout_edge_feeding_other_nodes_is_rejected():
    x = jnp.zeros((2, 5))
    edges = [
        px.edge(px.nn.Linear(4), [0, 1]),
        px.edge(px.nn.Linear(4), [[1, 2], [1, 3]]),  # feeds the output (3) and node 2
        px.edge(px.nn.Linear(4), [2, 3]),
    ]
    net = px.Network.from_example(edges, x)
    params = net.init(key=jax.random.key(0))
    rule = px.EP(readout=True, cost=px.CrossEntropy())
    with pytest.raises(px.GraphError, match="give the read-out its own edge"):
        rule.grads(net, params, None, (x, jnp.eye(4)[:2]))


def test_holomorphic_ep_bias_is_of_order_beta_to_the_n(problem):
    """Holomorphic EP (Laborieux & Zenke 2022) against the implicit gradient, in float64:
    with N points on the circle |beta| its bias is O(beta^N) (halving beta divides it by
    about 2^N), N = 2 is centred EP, and at beta = 0.5, where centred EP is 20 % off,
    N = 6 is within 1 %."""
    net, params, (x, y) = problem
    with jax.enable_x64(True):
        params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
        x, y = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
        inf = px.Inference(steps=4000, optimizer=px.inference.SGD(0.2), tol=1e-10)
        batch = (x, y)

        def hep(beta, n):
            return px.HolomorphicEP(beta=beta, points=n, free=inf, nudged=inf)

        exact = px.rules.exact_gradient(hep(0.5, 2), net, params, batch, tol=1e-12)
        err = {
            (beta, n): _rel(hep(beta, n).grads(net, params, None, batch)[0], exact)
            for beta in (0.4, 0.2)
            for n in (3, 4)
        }
        centred = px.EP(rho=px.nn.Sigmoid(), beta=0.5, free=inf, nudged=inf)
        g_ep = centred.grads(net, params, None, batch)[0]
        two_vs_centred = _rel(hep(0.5, 2).grads(net, params, None, batch)[0], g_ep)
        e_ep = _rel(g_ep, exact)
        e_six = _rel(hep(0.5, 6).grads(net, params, None, batch)[0], exact)
    for n in (3, 4):
        ratio = err[(0.4, n)] / err[(0.2, n)]
        assert 0.6 * 2**n < ratio < 1.5 * 2**n, err
    assert err[(0.2, 4)] < err[(0.2, 3)] / 5, err
    assert two_vs_centred < 1e-6
    assert e_ep > 0.1 and e_six < 0.01, (e_ep, e_six)


def test_holomorphic_ep_rejects_what_is_not_holomorphic():
    with pytest.raises(px.ConfigError, match="holomorphic activation.*sigmoid, tanh"):
        px.HolomorphicEP(rho=px.nn.HardSigmoid())
    with pytest.raises(px.ConfigError, match="points=1.*>= 2"):
        px.HolomorphicEP(points=1)
    with pytest.raises(px.ConfigError, match="nudged.bounds=null"):
        px.HolomorphicEP(nudged=px.Inference(bounds=(0.0, 1.0)))
    with pytest.raises(px.ConfigError, match="radius"):
        px.HolomorphicEP(beta=0.0)


def test_holomorphic_ep_with_a_cross_entropy_readout_beats_centred_ep(problem):
    """The read-out variant with the cross-entropy written holomorphically: at beta = 0.5,
    4 points sit far closer to the exact gradient than centred EP's 2."""
    net, params, batch = problem
    kw = dict(rho=px.nn.Sigmoid(), cost=px.CrossEntropy(), readout=True, beta=0.5)
    hep = px.HolomorphicEP(points=4, free=SMOOTH, nudged=SMOOTH, **kw)
    exact = px.rules.exact_gradient(hep, net, params, batch)
    e_hep = _rel(hep.grads(net, params, None, batch)[0], exact)
    e_ep = _rel(px.EP(free=SMOOTH, nudged=SMOOTH, **kw).grads(net, params, None, batch)[0], exact)
    assert e_hep < e_ep / 5 and e_hep < 0.01, (e_hep, e_ep)


def _persistent_setup(epochs, steps=4):
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 64))
    net = px.Network.from_example(px.models.mlp(10, hidden=(12,), activation="identity"), tr.x[:1])
    inf = px.Inference(steps=steps, optimizer=px.inference.SGD(0.3), bounds=(0.0, 1.0))
    rule = px.EP(free=inf, persistent=True)
    return tr, net, rule


def test_persistent_states_continue_the_relaxation_across_epochs():
    """Persistent particles (issue 17): with the weights frozen (learning rate 0), each
    example's kept state after E epochs of T free steps is the state after one relaxation of
    E * T steps from zero, computed independently; every example is visited once per epoch."""
    tr, net, rule = _persistent_setup(epochs=3)
    t = px.Trainer(net, rule, optax.sgd(0.0), tr, epochs=3, batch_size=16, progress=False,
                   devices=jax.devices()[:1])  # fmt: skip
    t.fit()
    long = px.EP(free=px.Inference(steps=12, optimizer=px.inference.SGD(0.3), bounds=(0.0, 1.0)))
    expected, _ = long.free_phase(net, t.params, jnp.asarray(tr.x))
    assert len(t.state) == len(expected) == 2
    for got, want in zip(t.state, expected, strict=True):
        assert got.shape == (64, *want.shape[1:])
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
    # without persistence every free phase starts from zero: 4 steps, not 12
    short, _ = rule.free_phase(net, t.params, jnp.asarray(tr.x))
    assert float(jnp.max(jnp.abs(short[0] - expected[0]))) > 1e-3


def test_persistent_states_resume_exactly(tmp_path):
    """The per-example states are part of the checkpoint: 2 epochs, then a resume to 3,
    end with the same weights and states as 3 epochs in one go."""
    tr, net, rule = _persistent_setup(epochs=3)

    def fit(epochs, out=None, resume=False):
        t = px.Trainer(net, rule, optax.adam(1e-2), tr, epochs=epochs, batch_size=16,
                       progress=False, out_dir=out, devices=jax.devices()[:1])  # fmt: skip
        t.fit(resume=resume)
        return t

    whole = fit(3)
    fit(2, tmp_path / "run")
    resumed = fit(3, tmp_path / "run", resume=True)
    for a, b in zip(jax.tree.leaves((whole.params, whole.state)),
                    jax.tree.leaves((resumed.params, resumed.state)), strict=True):  # fmt: skip
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert float(jnp.max(whole.state[0])) > 0  # the states moved away from zero


def test_persistent_states_need_the_batch_rows(problem):
    net, params, batch = problem
    with pytest.raises(px.ConfigError, match="persistent=True.*per_example_state"):
        px.EP(persistent=True).grads(net, params, None, batch)


def test_bounds_cannot_hold_complex_states():
    """A box has no meaning for complex states (holomorphic EP's nudged phases): a clear
    error instead of a silent clip of the real part."""
    inf = px.Inference(steps=2, bounds=(0.0, 1.0))
    z = jnp.zeros((2, 3), jnp.complex64)
    with pytest.raises(px.ConfigError, match="cannot bound complex states; pass bounds=None"):
        inf.run(lambda s: (jnp.sum(s * s), 2 * s), (z,))


@pytest.mark.parametrize("make", [px.EP, px.CHL, px.rules.CoupledLearning])
def test_the_free_phase_reports_its_steps_and_residual(problem, make):
    """``inference_steps``: the free phase's state updates, the cap without a tolerance; with
    one, fewer, stopped once every sample's residual is below it."""
    net, params, batch = problem
    capped = make(free=px.Inference(steps=37, optimizer=optax.sgd(0.2)))
    m = capped.grads(net, params, None, batch)[2]
    assert int(m["inference_steps"]) == 37
    tol = px.Inference(steps=3000, optimizer=optax.sgd(0.2), tol=1e-3)
    m = make(rho=px.nn.Sigmoid(), free=tol).grads(net, params, None, batch)[2]
    assert 1 < int(m["inference_steps"]) < 3000 and float(m["residual"]) <= 1e-3
