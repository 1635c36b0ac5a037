"""PC diagnostics: the activity Hessian against its closed form on a linear chain, Lanczos
against the exact spectrum, the per-node energies against their definition, and the trainer's
per-epoch log and plot."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from plastix.rules._diagnostics import _lanczos_extremes


def _linear_chain(widths=(5, 4, 3), classes=2, d=6):
    net = px.Network.from_example(
        px.models.mlp(classes, hidden=widths, activation="identity"), jnp.zeros((1, d))
    )
    return net, net.init(key=jax.random.key(0))


def _weight(p):
    """The weight matrix inside an edge's parameters (a Linear's, maybe in a Sequential)."""
    (w,) = [d["w"] for d in (p if isinstance(p, tuple) else (p,)) if isinstance(d, dict)]
    return np.asarray(w, np.float64)


def test_activity_hessian_of_a_linear_chain_is_its_closed_form():
    r"""E = sum_l 1/2 |z_l - W_l^T z_{l-1}|^2 + 1/2 |W_L^T z_{L-1} - y|^2 is quadratic in the
    hidden states: H has diagonal blocks I + W_{l+1} W_{l+1}^T and off-diagonal blocks
    -W_{l+1} between z_l and z_{l+1}, whatever the states."""
    net, params = _linear_chain()
    ws = [_weight(p) for p in params]
    widths = [w.shape[1] for w in ws[:-1]]
    off = np.cumsum([0, *widths])
    h_want = np.zeros((off[-1], off[-1]))
    for l, n in enumerate(widths):
        w_next = ws[l + 1]
        h_want[off[l] : off[l + 1], off[l] : off[l + 1]] = np.eye(n) + w_next @ w_next.T
        if l + 1 < len(widths):
            h_want[off[l] : off[l + 1], off[l + 1] : off[l + 2]] = -w_next
            h_want[off[l + 1] : off[l + 2], off[l] : off[l + 1]] = -w_next.T
    batch = (jax.random.normal(jax.random.key(1), (3, 6)), jnp.eye(2)[jnp.array([0, 1, 1])])
    h = px.rules.activity_hessian(px.PC(), net, params, batch)
    np.testing.assert_allclose(h, h_want, rtol=1e-5, atol=1e-5)
    ext = px.rules.hessian_extremes(px.PC(), net, params, batch)
    eig = np.linalg.eigvalsh(h_want)
    assert ext["exact"] and ext["dim"] == 12
    np.testing.assert_allclose([ext["lambda_min"], ext["lambda_max"]], eig[[0, -1]], rtol=1e-5)
    assert float(ext["condition"]) == pytest.approx(eig[-1] / eig[0], rel=1e-4)
    # a sum of squares of affine maps of z from which z is recovered layer by layer: H > 0
    assert eig[0] > 0


def test_lanczos_finds_the_extreme_eigenvalues():
    """On a symmetric positive definite 400 x 400 matrix with a known spectrum (1 .. 100),
    64 Lanczos steps give the largest eigenvalue to 1e-6 and the smallest to 2 %."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(400, 400)))
    eig = np.linspace(1.0, 100.0, 400)
    a = jnp.asarray((q * eig) @ q.T, jnp.float32)
    lo, hi = _lanczos_extremes(lambda v: a @ v, 400, 64, jax.random.key(0), jnp.float32)
    assert float(hi) == pytest.approx(100.0, rel=1e-5)
    assert float(lo) == pytest.approx(1.0, rel=0.02)
    assert float(lo) >= 1.0 - 1e-3  # Ritz values lie inside the spectrum


def test_hessian_extremes_switch_to_lanczos_for_large_states(monkeypatch):
    """Above EXACT_MAX_DIM free dimensions the extremes come from Lanczos; on the same net
    they agree with the exact ones."""
    net, params = _linear_chain(widths=(20, 20, 20))
    batch = (jnp.ones((1, 6)), jnp.eye(2)[:1])
    exact = px.rules.hessian_extremes(px.PC(), net, params, batch)
    monkeypatch.setattr("plastix.rules._diagnostics.EXACT_MAX_DIM", 10)
    est = px.rules.hessian_extremes(px.PC(), net, params, batch, lanczos_steps=60)
    assert exact["exact"] and not est["exact"]
    assert float(est["lambda_max"]) == pytest.approx(float(exact["lambda_max"]), rel=1e-4)
    assert float(est["lambda_min"]) == pytest.approx(float(exact["lambda_min"]), rel=1e-3)


def test_diagnose_energies_are_the_node_terms():
    """The per-node energies sum to the rule's energy at the relaxed states, each term is its
    node's squared prediction error (output: its cost), and norms are the definitions."""
    net = px.Network.from_example(px.models.mlp(3, hidden=(8, 8)), jnp.zeros((1, 5)))
    params = net.init(key=jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (6, 5))
    y = jax.nn.one_hot(jnp.arange(6) % 3, 3)
    rule = px.PC(inference=px.Inference(steps=10, optimizer=optax.sgd(0.1)))
    d = px.rules.diagnose(rule, net, params, (x, y))
    states, _ = rule.relax(net, params, (x, y))
    mus = net.predictions(params, states)
    assert np.isnan(d["energy_per_node"][0])
    for n in (1, 2):
        want = 0.5 * np.sum((np.asarray(states[n]) - np.asarray(mus[n])) ** 2) / 6
        assert float(d["energy_per_node"][n]) == pytest.approx(want, rel=1e-5)
    cost = float(jnp.mean(rule.cost(mus[3], y)))
    assert float(d["energy_per_node"][3]) == pytest.approx(cost, rel=1e-5)
    total = float(rule.energy(net, states, mus, y)) / 6
    assert sum(float(e) for e in d["energy_per_node"][1:]) == pytest.approx(total, rel=1e-5)
    for n, r in enumerate(d["activity_rms_per_node"]):
        assert float(r) == pytest.approx(float(jnp.sqrt(jnp.mean(states[n] ** 2))), rel=1e-6)
    lin = params[2]  # the read-out Linear: {"w", "b"}
    assert float(d["param_norm_per_edge"][2]) == pytest.approx(
        float(jnp.sqrt(jnp.sum(lin["w"] ** 2) + jnp.sum(lin["b"] ** 2))), rel=1e-6
    )
    assert float(d["hessian_condition"]) >= 1.0


def test_diagnostics_refuse_other_rules():
    net, params = _linear_chain()
    with pytest.raises(px.ConfigError, match="diagnostics are defined for predictive coding"):
        px.rules.diagnose(px.BP(), net, params, (jnp.ones((1, 6)), jnp.eye(2)[:1]))


def test_trainer_logs_and_plots_diagnostics(tmp_path):
    """train.diagnostics = N logs the diagnostics of the first N training samples every
    epoch and draws diagnostics.png."""
    train = px.data.load_dataset("digits", "train").subset(slice(0, 256))
    net = px.Network.from_example(px.models.mlp(10, hidden=(16, 16)), train.x[:1])
    rule = px.PC(inference=px.Inference(steps=5))
    t = px.Trainer(
        net,
        rule,
        optax.adam(1e-3),
        train,
        epochs=2,
        batch_size=64,
        progress=False,
        out_dir=tmp_path,
        diagnostics=8,
        after_fit=[px.viz.plot_run],
    )
    t.fit()
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    for r in rows:
        assert len(r["energy_per_node"]) == net.num_nodes
        assert r["energy_per_node"][0] is None  # the input has no energy (nan -> null)
        assert len(r["param_norm_per_edge"]) == len(net.edges)
        assert r["hessian_condition"] >= 1.0
    # the same numbers as diagnose() on the parameters of the last epoch
    x = jnp.asarray(train.x[:8])
    y = jax.nn.one_hot(jnp.asarray(train.y[:8]), 10)
    d = px.rules.diagnose(rule, net, t.params, (x, y))
    assert rows[-1]["energy_per_node"][1] == pytest.approx(float(d["energy_per_node"][1]), rel=1e-4)
    assert (tmp_path / "diagnostics.png").stat().st_size > 10_000
    with pytest.raises(px.ConfigError, match="diagnostics are defined for predictive coding"):
        px.Trainer(net, px.BP(), optax.adam(1e-3), train, diagnostics=8, progress=False).fit()
