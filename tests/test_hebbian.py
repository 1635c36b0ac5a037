"""Hebbian-family rules against their known theory (PCA, k-means, BCM selectivity, STDP).

Each rule returns ``grads = -ΔW``; the tests apply them with plain ``optax.sgd`` inside one
``lax.scan`` and compare the fixed point with an independent computation (numpy SVD, cluster
means, the closed-form STDP window, BCM's selective fixed point y = K).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from plastix.local import (
    Bound,
    Similarity,
    bcm,
    hebb,
    krotov_hopfield,
    normalise_columns,
    oja,
    sanger,
    softhebb,
    wta,
)
from plastix.memory import LIF, STDP, LocalTrainer, lif_stdp, stdp_trains

D = 8


def _anisotropic(seed: int, n: int = 4000) -> np.ndarray:
    """Zero-mean Gaussian data with distinct variances along a random rotation."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    std = np.array([3.0, 2.0, 1.4, 1.0, 0.6, 0.4, 0.3, 0.2])
    x = rng.normal(size=(n, D)) * std @ q.T
    return (x - x.mean(0)).astype(np.float32)


def _train(rule, w0, x, *, lr, steps, batch=20, seed=0):
    """SGD on the rule's grads over random minibatches, in one compiled scan."""
    opt = optax.sgd(lr)
    x = jnp.asarray(x)

    @jax.jit
    def run(w):
        def body(carry, k):
            w, s = carry
            idx = jax.random.randint(k, (batch,), 0, x.shape[0])
            u, s = opt.update(rule(w, x[idx]), s, w)
            return (optax.apply_updates(w, u), s), None

        keys = jax.random.split(jax.random.key(seed), steps)
        return jax.lax.scan(body, (w, opt.init(w)), keys)[0][0]

    return np.asarray(run(jnp.asarray(w0)))


def _top_pcs(x: np.ndarray, k: int) -> np.ndarray:
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return vt[:k].T  # (D, k)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_oja_converges_to_first_principal_component():
    x = _anisotropic(0)
    w0 = np.random.default_rng(1).normal(size=(D, 1)).astype(np.float32) * 0.1
    w = _train(oja, w0, x, lr=0.01, steps=3000)
    v1 = _top_pcs(x, 1)[:, 0]
    assert _cos(w[:, 0], v1) >= 0.99
    assert abs(np.linalg.norm(w[:, 0]) - 1.0) < 0.05  # Oja's fixed point has unit norm


def test_sanger_converges_to_top_k_components():
    x = _anisotropic(2)
    k = 3
    w0 = np.random.default_rng(3).normal(size=(D, k)).astype(np.float32) * 0.1
    w = _train(sanger, w0, x, lr=0.005, steps=6000)
    v = _top_pcs(x, k)
    for j in range(k):
        assert _cos(w[:, j], v[:, j]) >= 0.99, j
    np.testing.assert_allclose(w.T @ w, np.eye(k), atol=0.05)  # orthonormal columns


def test_normalised_hebb_with_renormalisation_finds_first_component():
    """Hebb + exact normalisation is the power method on the covariance."""
    x = _anisotropic(4)
    w0 = normalise_columns(jnp.ones((D, 1)))

    def rule(w, xb):
        return hebb(w, xb, bound=Bound.NORMALISE)

    opt = optax.sgd(0.05)
    w, s = w0, opt.init(w0)
    xj = jnp.asarray(x)  # full batch: the averaged dynamics
    for _ in range(100):
        u, s = opt.update(rule(w, xj), s, w)
        w = normalise_columns(optax.apply_updates(w, u))
    assert _cos(np.asarray(w)[:, 0], _top_pcs(x, 1)[:, 0]) >= 0.99


def test_hebb_decay_fixed_point_with_given_activity():
    """With the post-synaptic activity given, decay makes W -> <x y^T> / lambda."""
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.normal(size=(64, 4)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(64, 3)), jnp.float32)
    w = jnp.zeros((4, 3))
    for _ in range(300):
        w = w - 0.1 * hebb(w, x, y, decay=0.5)
    np.testing.assert_allclose(w, np.asarray(x).T @ np.asarray(y) / 64 / 0.5, atol=1e-4)


@pytest.mark.parametrize("similarity", [Similarity.DOT, Similarity.DISTANCE])
def test_wta_units_move_to_cluster_means(similarity):
    rng = np.random.default_rng(6)
    centres = np.array([[4.0, 0.0], [0.0, 4.0], [-3.0, -3.0]], np.float32)
    labels = rng.integers(0, 3, 3000)
    x = (centres[labels] + 0.3 * rng.normal(size=(3000, 2))).astype(np.float32)
    w0 = (centres.T + rng.normal(size=(2, 3))).astype(np.float32)  # one unit near each

    def rule(w, xb):
        return wta(w, xb, similarity=similarity)

    w = _train(rule, w0, x, lr=0.3, steps=2000)
    means = np.stack([x[labels == c].mean(0) for c in range(3)], 1)
    np.testing.assert_allclose(w, means, atol=0.15)


def test_krotov_hopfield_winners_reach_unit_lp_norm():
    """d/dt ||W_j||_p^p = p g_j h_j (1 - ||W_j||_p^p): units that win converge to norm 1."""
    p = 3.0
    rng = np.random.default_rng(7)
    x = np.abs(rng.normal(size=(2000, 16))).astype(np.float32)
    w0 = (0.3 * np.abs(rng.normal(size=(16, 6)))).astype(np.float32)

    def rule(w, xb):
        return krotov_hopfield(w, xb, p=p, k=2, delta=0.4)

    w = _train(rule, w0, x, lr=0.02, steps=3000, batch=10)
    h = x @ (np.sign(w) * np.abs(w) ** (p - 1))
    winners = np.unique(h.argmax(1))
    norms = np.sum(np.abs(w) ** p, axis=0)
    np.testing.assert_allclose(norms[winners], 1.0, atol=0.05)


def test_bcm_develops_selectivity():
    """Two equiprobable independent inputs: the stable BCM fixed point answers one with
    y = K = 2 (theta = E[y^2] = y) and the other with 0."""
    pats = jnp.array([[1.0, 0.2], [0.2, 1.0]])
    opt = optax.sgd(0.005)
    w0 = jnp.array([[0.55], [0.5]])

    @jax.jit
    def run(w):
        def body(carry, k):
            w, th, s = carry
            xb = pats[jax.random.randint(k, (1,), 0, 2)]  # one input at a time
            g, th = bcm(w, th, xb, tau=5.0)
            u, s = opt.update(g, s, w)
            w = optax.apply_updates(w, u)
            return (w, th, s), (jax.nn.relu(pats @ w)[:, 0], th[0])

        keys = jax.random.split(jax.random.key(0), 40000)
        return jax.lax.scan(body, (w, jnp.zeros(1), opt.init(w)), keys)[1]

    ys, thetas = run(w0)
    y = np.asarray(ys)[-10000:].mean(0)  # time average: single-sample updates fluctuate
    assert y.max() == pytest.approx(2.0, rel=0.05)
    assert y.min() < 0.05 * y.max()
    assert float(np.asarray(thetas)[-10000:].mean()) == pytest.approx(2.0, rel=0.05)


def test_bcm_and_rules_reject_bad_shapes():
    with pytest.raises(px.ShapeError, match="x must be"):
        oja(jnp.zeros((3, 2)), jnp.zeros((5, 4)))
    with pytest.raises(px.ShapeError, match="empty"):
        sanger(jnp.zeros((3, 2)), jnp.zeros((0, 3)))
    with pytest.raises(px.ShapeError, match="theta"):
        bcm(jnp.zeros((3, 2)), jnp.zeros(3), jnp.zeros((1, 3)))
    with pytest.raises(px.ShapeError, match="k="):
        krotov_hopfield(jnp.zeros((3, 2)), jnp.zeros((1, 3)), k=3)


@pytest.mark.parametrize("delta", [-30, -12, -3, -1, 0, 1, 4, 10, 25])
def test_stdp_trains_reproduce_the_window(delta):
    """One pre and one post spike, delta = t_post - t_pre steps: the weight moves by exactly
    A+ exp(-delta/tau+) (pre before post) or -A- exp(delta/tau-) (post before pre)."""
    rule = STDP(a_plus=0.02, a_minus=0.03, tau_plus=15.0, tau_minus=25.0, w_min=-5, w_max=5)
    t = 80
    pre = jnp.zeros((t, 1)).at[40, 0].set(1.0)
    post = jnp.zeros((t, 1)).at[40 + delta, 0].set(1.0)
    w = stdp_trains(jnp.full((1, 1), 0.5), pre, post, rule)
    expected = 0.02 * np.exp(-delta / 15.0) if delta >= 0 else -0.03 * np.exp(delta / 25.0)
    assert float(w[0, 0]) - 0.5 == pytest.approx(expected, rel=1e-5)
    assert float(rule.window(float(delta))) == pytest.approx(expected, rel=1e-5)


def test_lif_stdp_potentiates_causal_and_depresses_anticausal_pairings():
    lif = LIF(tau_m=10.0, v_th=1.0)
    rule = STDP(a_plus=0.01, a_minus=0.01, tau_plus=20.0, tau_minus=20.0, w_max=2.0)
    t = 400
    pre_times = np.arange(20, t, 50)
    pre = jnp.zeros((t, 2)).at[pre_times, 0].set(1.0)
    # input 0 fires and drives the post neuron (weight 1.2 >= threshold): causal pairing.
    w, post, _ = lif_stdp(jnp.array([[1.2], [0.0]]), pre, lif=lif, rule=rule)
    assert np.asarray(post)[pre_times, 0].all()
    assert float(w[0, 0]) > 1.2
    # the post neuron is made to fire by an external current 5 steps *before* each pre spike.
    i_ext = jnp.zeros((t, 1)).at[pre_times - 5, 0].set(1.0 / (1.0 / lif.tau_m) + 1.0)
    w2, post2, _ = lif_stdp(jnp.array([[0.3], [0.0]]), pre, lif=lif, rule=rule, i_ext=i_ext)
    assert np.asarray(post2)[pre_times - 5, 0].all()
    # all-to-all pairing: every (pre, post) pair adds the window (no clipping is active).
    post_times = pre_times - 5
    dts = post_times[None, :] - pre_times[:, None]
    window = np.where(dts >= 0, 0.01 * np.exp(-dts / 20.0), -0.01 * np.exp(dts / 20.0))
    assert window.sum() < 0
    assert float(w2[0, 0]) == pytest.approx(0.3 + window.sum(), rel=1e-4)
    assert float(w2[1, 0]) == 0.0  # a silent input is untouched


def test_stdp_bad_input():
    with pytest.raises(px.ShapeError, match="pre-synaptic"):
        stdp_trains(jnp.zeros((2, 1)), jnp.zeros((10, 3)), jnp.zeros((10, 1)))
    with pytest.raises(px.ShapeError, match="empty"):
        lif_stdp(jnp.zeros((2, 1)), jnp.zeros((0, 2)))
    with pytest.raises(px.ConfigError, match="tau"):
        STDP(tau_plus=0.0)


def test_softhebb_winning_units_converge_to_unit_norm():
    """d/dt ||W_j||^2 = 2 <y_j u_j> (1 - ||W_j||^2): units that win (y_j u_j > 0) end at
    norm 1, from initial norms between 0.5 and 2.5."""
    rng = np.random.default_rng(8)
    centres = rng.normal(size=(10, 20))
    x = centres[rng.integers(0, 10, 4000)] + 0.5 * rng.normal(size=(4000, 20))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    w0 = rng.normal(size=(20, 8)) / np.sqrt(20) * rng.uniform(0.5, 2.5, size=(1, 8))
    init_norms = np.linalg.norm(w0, axis=0)

    def rule(w, xb):
        return softhebb(w, xb, temperature=0.1)

    w = _train(rule, w0.astype(np.float32), x, lr=0.05, steps=3000, batch=32)
    share = np.bincount((x @ w).argmax(1), minlength=8) / len(x)
    winners = share >= 0.02
    assert winners.sum() >= 4
    norms = np.linalg.norm(w, axis=0)
    np.testing.assert_allclose(norms[winners], 1.0, atol=0.03)
    assert np.abs(norms[winners] - 1).max() < 0.2 * np.abs(init_norms[winners] - 1).max()


def test_softhebb_update_matches_its_formula_without_extras():
    """Plain soft-WTA Hebb: ΔW = <x y^T> - W diag(<y u>), y = softmax(u / T)."""
    rng = np.random.default_rng(9)
    w = rng.normal(size=(5, 3)).astype(np.float32)
    x = rng.normal(size=(7, 5)).astype(np.float32)
    u = x @ w
    y = np.exp(u / 0.5) / np.exp(u / 0.5).sum(1, keepdims=True)
    expected = x.T @ y / 7 - w * (y * u).sum(0) / 7
    got = softhebb(
        jnp.asarray(w), jnp.asarray(x), temperature=0.5, anti_hebbian=False, adaptive=False
    )
    np.testing.assert_allclose(-np.asarray(got), expected, rtol=1e-4, atol=1e-6)
    anti = -np.asarray(softhebb(jnp.asarray(w), jnp.asarray(x), temperature=0.5, adaptive=False))
    y_anti = np.where(np.eye(3)[u.argmax(1)] > 0, y, -y)
    np.testing.assert_allclose(
        anti, x.T @ y_anti / 7 - w * (y_anti * u).sum(0) / 7, rtol=1e-4, atol=1e-6
    )


def test_local_trainer_sanger_and_predict_batch():
    x = _anisotropic(10)
    w0 = np.random.default_rng(11).normal(size=(D, 2)).astype(np.float32) * 0.1
    t = LocalTrainer(
        sanger,
        w0,
        optimizer=optax.sgd(0.005),
        batch_size=20,
        epochs=20,
        show_progress=False,
        key=jax.random.key(0),
    )
    w = np.asarray(t.train(x))
    v = _top_pcs(x, 2)
    assert min(_cos(w[:, 0], v[:, 0]), _cos(w[:, 1], v[:, 1])) >= 0.99
    batch = np.asarray(t.predict_batch(x[:5]))
    np.testing.assert_allclose(
        batch, np.stack([np.asarray(t.predict(r)) for r in x[:5]]), rtol=1e-6
    )
    np.testing.assert_allclose(batch, x[:5] @ w, rtol=1e-5, atol=1e-6)


def test_local_trainer_with_state_and_bad_input():
    pats = np.array([[1.0, 0.2], [0.2, 1.0]], np.float32)
    data = pats[np.random.default_rng(12).integers(0, 2, 8000)]
    t = LocalTrainer(
        lambda w, xb, th: bcm(w, th, xb, tau=5.0),
        jnp.array([[0.55], [0.5]]),
        state=jnp.zeros(1),
        optimizer=optax.sgd(0.005),
        batch_size=1,
        epochs=3,
        show_progress=False,
    )
    t.train(data)
    y = np.asarray(jax.nn.relu(t.predict_batch(pats)))[:, 0]
    assert y.max() > 1.5 and y.min() < 0.1 * y.max()  # selective (BCM fixed point y = 2)
    with pytest.raises(px.ShapeError, match="empty"):
        t.train(np.zeros((0, 2)))
    with pytest.raises(px.ShapeError, match="features"):
        t.train(np.ones((10, 3)))
    with pytest.raises(px.ShapeError, match="one sample"):
        t.predict(np.ones((2, 2)))
    with pytest.raises(px.ShapeError, match="batch"):
        LocalTrainer(oja, jnp.ones((2, 1)), batch_size=64, show_progress=False).train(
            np.ones((3, 2))
        )


def test_local_trainer_compile_switch_and_softhebb_options():
    x = np.asarray(_anisotropic(13, n=256))
    runs = []
    for compiled in (True, False):
        t = LocalTrainer(
            oja,
            0.1 * jnp.ones((D, 1)),
            batch_size=16,
            epochs=2,
            key=jax.random.key(1),
            show_progress=False,
            compile=compiled,
        )
        runs.append(np.asarray(t.train(x)))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-6)
    with pytest.raises(px.ConfigError, match="temperature"):
        softhebb(jnp.ones((3, 2)), jnp.ones((1, 3)), temperature=0.0)


def test_krotov_hopfield_ranking_and_step_normalisation():
    """Only the top unit (g = 1) and the k-th (g = -delta) learn; normalise_step scales the
    step so its largest entry is 1."""
    w = jnp.asarray(np.random.default_rng(14).normal(size=(6, 4)), jnp.float32)
    x = jnp.asarray(np.abs(np.random.default_rng(15).normal(size=(1, 6))), jnp.float32)
    h = np.asarray(x @ (jnp.sign(w) * jnp.abs(w) ** 2))[0]
    order = np.argsort(-h)
    dw = -np.asarray(krotov_hopfield(w, x, p=3.0, k=3, delta=0.4))
    wn, xn = np.asarray(w), np.asarray(x)[0]
    np.testing.assert_allclose(dw[:, order[0]], xn - h[order[0]] * wn[:, order[0]], rtol=1e-4)
    np.testing.assert_allclose(
        dw[:, order[2]], -0.4 * (xn - h[order[2]] * wn[:, order[2]]), rtol=1e-4
    )
    assert np.all(dw[:, order[1]] == 0) and np.all(dw[:, order[3]] == 0)
    g = krotov_hopfield(w, x, p=3.0, k=3, delta=0.4, normalise_step=True)
    assert float(jnp.max(jnp.abs(g))) == pytest.approx(1.0)
