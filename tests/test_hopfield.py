"""Hopfield memory and its CANNs-style trainer, against theory and an independent numpy model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import plastix as px
from plastix.memory import (
    Hopfield,
    HopfieldTrainer,
    PatternError,
    Unit,
    Update,
    flip,
    overlap,
    random_patterns,
)


def _trainer(n, patterns, **kw):
    t = HopfieldTrainer(Hopfield.create(n), show_progress=False, **kw)
    t.train(patterns)
    return t


def test_storage_is_the_hebb_outer_product_rule_and_chunks_add_up():
    rng = np.random.default_rng(0)
    xi = np.where(rng.random((7, 40)) < 0.5, 1.0, -1.0).astype(np.float32)
    expected = xi.T @ xi / 40
    np.fill_diagonal(expected, 0.0)
    t = _trainer(40, xi, chunk=3)  # three compiled chunks: 3 + 3 + 1 patterns
    np.testing.assert_allclose(t.model.W, expected, atol=1e-6)
    assert int(t.model.count) == 7
    np.testing.assert_allclose(t.model.W, t.model.W.T)


def test_sync_sweep_matches_numpy():
    rng = np.random.default_rng(1)
    xi = np.where(rng.random((5, 60)) < 0.5, 1.0, -1.0).astype(np.float32)
    m = Hopfield.create(60).store(jnp.asarray(xi))
    s0 = np.where(rng.random(60) < 0.5, 1.0, -1.0).astype(np.float32)
    w = np.asarray(m.W)
    h = w @ s0
    expected = np.where(h == 0, s0, np.sign(h))
    got = m.init_state(jnp.asarray(s0)).update(update=Update.SYNC)
    np.testing.assert_array_equal(got.s, expected)
    assert float(got.energy) == pytest.approx(-0.5 * expected @ w @ expected, rel=1e-5)


@pytest.mark.parametrize("update", [Update.ASYNC, Update.SYNC])
def test_recall_from_noisy_cues_at_low_load(update):
    """N = 500, P = 0.05 N: the retrieval state has overlap ~ 1 (Amit et al.: m > 0.99 for
    alpha < 0.1), so >= 99 % of cues with 10 % flipped bits are recalled with m >= 0.95."""
    n, p = 500, 25
    ms = []
    for trial in range(4):
        k1, k2, k3 = jax.random.split(jax.random.key(trial), 3)
        xi = random_patterns(k1, p, n)
        t = _trainer(n, xi, update=update)
        cues = flip(k2, xi, 0.1)
        assert np.allclose(np.asarray(overlap(cues, xi)), 0.8)
        ms.append(np.asarray(overlap(t.predict_batch(cues, key=k3), xi)))
    m = np.concatenate(ms)
    assert (m >= 0.95).mean() >= 0.99


def test_recall_collapses_far_above_capacity():
    """At P/N = 0.3 (> 0.138) the retrieval states are gone: even cues equal to the stored
    patterns drift far away."""
    n = 300
    xi = random_patterns(jax.random.key(0), 90, n)
    t = _trainer(n, xi, update=Update.SYNC)
    m = np.asarray(overlap(t.predict_batch(xi, key=jax.random.key(1)), xi))
    assert m.mean() < 0.7


@pytest.mark.parametrize("update", [Update.ASYNC, Update.SYNC])
def test_predict_batch_equals_predict_one_by_one(update):
    n = 120
    xi = random_patterns(jax.random.key(0), 10, n)
    t = _trainer(n, xi, update=update, steps=5)
    cues = flip(jax.random.key(1), xi, 0.2)
    key = jax.random.key(2)
    batch = np.asarray(t.predict_batch(cues, key=key))
    keys = jax.random.split(key, cues.shape[0])
    one = np.stack([np.asarray(t.predict(c, key=k)) for c, k in zip(cues, keys)])
    np.testing.assert_array_equal(batch, one)


def test_compile_switch_gives_the_same_recall():
    n = 40
    xi = random_patterns(jax.random.key(0), 3, n)
    t = _trainer(n, xi, steps=2, update=Update.SYNC)
    cues = flip(jax.random.key(1), xi, 0.2)
    compiled = np.asarray(t.predict_batch(cues, key=jax.random.key(2)))
    t.configure_progress(show_progress=False, use_compile=False)
    np.testing.assert_array_equal(
        np.asarray(t.predict_batch(cues, key=jax.random.key(2))), compiled
    )


def test_energy_never_increases_under_async_sign_updates():
    """E = -1/2 s^T W s is a Lyapunov function for asynchronous updates (W symmetric,
    zero diagonal): each flip of unit i changes E by -2 |h_i| <= 0."""
    n = 200
    xi = random_patterns(jax.random.key(3), 30, n)
    t = _trainer(n, xi, steps=8)
    for k in range(3):
        cue = random_patterns(jax.random.key(10 + k), 1, n)[0]
        e = np.asarray(t.energy_trace(cue, key=jax.random.key(k)))
        assert e.shape == (9,)
        assert np.all(np.diff(e) <= 1e-4)
        assert e[-1] < e[0]


def test_tanh_units_recall_the_sign_of_the_pattern():
    n = 200
    xi = random_patterns(jax.random.key(4), 8, n)
    t = HopfieldTrainer(
        Hopfield.create(n, unit=Unit.TANH, beta=4.0), update=Update.SYNC, show_progress=False
    )
    t.train(xi)
    out = np.asarray(t.predict_batch(flip(jax.random.key(5), xi, 0.1), key=jax.random.key(6)))
    assert np.all(np.abs(out) <= 1.0)
    np.testing.assert_array_equal(np.sign(out), np.asarray(xi))


def test_bad_input_gives_clear_errors():
    t = HopfieldTrainer(Hopfield.create(10), show_progress=False)
    with pytest.raises(px.ShapeError, match="10 units"):
        t.train(np.ones((3, 12)))
    with pytest.raises(PatternError, match="±1"):
        t.train(np.array([[0.0, 1.0] * 5]))
    with pytest.raises(px.ShapeError, match="empty"):
        t.train(np.zeros((0, 10)))
    with pytest.raises(px.ShapeError, match="empty"):
        t.train([])
    with pytest.raises(PatternError, match="NaN"):
        t.train(np.full((1, 10), np.nan))
    t.train(np.ones((1, 10)))
    with pytest.raises(px.ShapeError, match="10 units"):
        t.predict(np.ones(9))
    with pytest.raises(px.ShapeError, match="predict_batch"):
        t.predict(np.ones((2, 10)))
    with pytest.raises(PatternError, match="±1"):
        t.predict_batch(np.full((2, 10), 0.5))
    with pytest.raises(px.ShapeError, match="positive"):
        Hopfield.create(0)
    with pytest.raises(px.ConfigError, match="beta"):
        Hopfield.create(4, unit=Unit.TANH, beta=0.0)
    with pytest.raises(px.ConfigError, match="Update"):
        HopfieldTrainer(Hopfield.create(4), update="async")  # type: ignore[arg-type]
    tanh = HopfieldTrainer(Hopfield.create(4, unit=Unit.TANH), show_progress=False)
    with pytest.raises(PatternError, match=r"\[-1, 1\]"):
        tanh.train(np.full((1, 4), 2.0))
    assert isinstance(PatternError("x"), px.PlastixError)


def test_pictures_are_written(tmp_path):
    from plastix.memory import capacity_curve
    from plastix.viz import plot_capacity, plot_energy, plot_receptive_fields

    rows = capacity_curve(jax.random.key(0), 50, [0.05, 0.4], update=Update.SYNC)
    assert rows[0]["recalled"] == 1.0 and rows[0]["patterns"] == 2.0
    assert plot_capacity(rows, tmp_path / "c.png").stat().st_size > 0
    assert plot_energy(np.array([[0.0, -1.0, -2.0]]), tmp_path / "e.png").stat().st_size > 0
    w = np.random.default_rng(0).normal(size=(16, 3))
    assert plot_receptive_fields(w, (4, 4), tmp_path / "r.png").stat().st_size > 0
    with pytest.raises(px.ShapeError, match="rows"):
        plot_receptive_fields(w, (5, 5), tmp_path / "bad.png")
