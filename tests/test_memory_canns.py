"""The CANNs trainer options and trainers of plastix.memory, against hand computations.

CANNs (``canns.trainer``, 1.5.0) defines: Hebbian storage ``W += c sum_mu t t^T`` with
``t = x - rho`` (``rho`` the mean of all entries) under ``subtract_mean`` and ``c = 1/P``
under ``normalize_by_patterns``; ``AntiHebbianTrainer`` subtracts the same term; the Hopfield
update ``s = sign(W s - theta)``; ``configure_progress(show_iteration_progress=...,
compiled_prediction=...)``. Each test states its oracle: numpy outer products, the sign of
``h - theta`` worked out by hand, the closed-form STDP window, geometric sums of the traces,
a numpy LIF loop.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from plastix.local import oja
from plastix.memory import (
    LIF,
    STDP,
    AbstractStorageTrainer,
    AntiHebbianTrainer,
    HebbianTrainer,
    Hopfield,
    HopfieldTrainer,
    LocalTrainer,
    STDPTrainer,
    Update,
    energy,
    random_patterns,
)
from plastix.memory import _hopfield as hopfield_module
from plastix.memory import _stdp as stdp_module

OPTIONS = list(product([False, True], [False, True]))  # (subtract_mean, normalize_by_patterns)


def _biased(seed: int, p: int, n: int, plus: float = 0.7) -> np.ndarray:
    """±1 patterns with P(+1) = plus, so the mean activity rho is clearly non-zero."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((p, n)) < plus, 1.0, -1.0).astype(np.float32)


def _numpy_hebb(xi: np.ndarray, subtract_mean: bool, normalize: bool) -> np.ndarray:
    """CANNs' generic Hebbian rule written out: rho over all P*N entries, 1/P or plastix 1/N."""
    p, n = xi.shape
    t = xi.astype(np.float64) - (xi.mean() if subtract_mean else 0.0)
    w = sum(np.outer(t[mu], t[mu]) for mu in range(p)) / (p if normalize else n)
    np.fill_diagonal(w, 0.0)
    return w


def _quiet(cls, model, **kw):
    return cls(model, show_progress=False, **kw)


# --- subtract_mean / normalize_by_patterns -------------------------------------------------


@pytest.mark.parametrize(("subtract_mean", "normalize"), OPTIONS)
def test_storage_options_match_the_outer_products_computed_by_hand(subtract_mean, normalize):
    xi = _biased(0, 7, 30)
    assert abs(xi.mean()) > 0.2  # the centring has something to remove
    t = _quiet(
        HopfieldTrainer,
        Hopfield.create(30),
        subtract_mean=subtract_mean,
        normalize_by_patterns=normalize,
        chunk=3,  # rho and P must be those of the whole call, not of each chunk
    )
    t.train(xi)
    np.testing.assert_allclose(t.model.W, _numpy_hebb(xi, subtract_mean, normalize), atol=1e-5)
    assert int(t.model.count) == 7


def test_normalize_by_patterns_divides_each_train_call_by_its_own_count():
    """Two calls add (1/P1) sum_1 + (1/P2) sum_2, as CANNs' per-call normalisation does."""
    a, b = _biased(1, 2, 12), _biased(2, 5, 12)
    t = _quiet(HopfieldTrainer, Hopfield.create(12), normalize_by_patterns=True)
    t.train(a)
    t.train(b)
    expected = _numpy_hebb(a, False, True) + _numpy_hebb(b, False, True)
    np.testing.assert_allclose(t.model.W, expected, atol=1e-6)
    assert int(t.model.count) == 7


def test_subtract_mean_uses_one_scalar_mean_activity():
    """rho is the mean of all entries (CANNs), not a per-unit mean: for patterns whose units
    have different means the two definitions give different weights."""
    xi = np.array([[1, 1, -1], [1, -1, -1], [1, 1, 1]], np.float32)
    rho = 1 / 3  # (1 - 1 + 3) / 9: the mean of all nine entries
    assert xi.mean() == pytest.approx(rho)
    t = xi - rho
    expected = t.T @ t / 3
    np.fill_diagonal(expected, 0.0)
    got = _quiet(HopfieldTrainer, Hopfield.create(3), subtract_mean=True).train(xi).W
    np.testing.assert_allclose(got, expected, atol=1e-6)
    per_unit = xi - xi.mean(0)
    assert not np.allclose(got, per_unit.T @ per_unit / 3 * (1 - np.eye(3)), atol=1e-3)


# --- anti-Hebbian ----------------------------------------------------------------------------


@pytest.mark.parametrize(("subtract_mean", "normalize"), OPTIONS)
def test_anti_hebbian_weights_are_exactly_minus_the_hebbian_ones(subtract_mean, normalize):
    xi = _biased(3, 6, 25)
    kw = {"subtract_mean": subtract_mean, "normalize_by_patterns": normalize}
    hebb = _quiet(HopfieldTrainer, Hopfield.create(25), **kw).train(xi)
    anti = _quiet(AntiHebbianTrainer, Hopfield.create(25), **kw).train(xi)
    np.testing.assert_array_equal(np.asarray(anti.W), -np.asarray(hebb.W))
    np.testing.assert_allclose(anti.W, -_numpy_hebb(xi, subtract_mean, normalize), atol=1e-5)
    assert int(anti.count) == 0  # unlearning stores nothing


def test_unlearning_removes_exactly_the_unlearned_patterns():
    xi = random_patterns(jax.random.key(0), 4, 40)
    both = _quiet(HopfieldTrainer, Hopfield.create(40)).train(xi)
    anti = _quiet(AntiHebbianTrainer, both, chunk=1).train(xi[2:])
    only_first = _quiet(HopfieldTrainer, Hopfield.create(40)).train(xi[:2])
    np.testing.assert_allclose(anti.W, only_first.W, atol=1e-6)
    assert int(anti.count) == 4


def test_anti_hebbian_memory_turns_a_pattern_into_its_inverse():
    """W = -(xi xi^T - I)/N gives h = -(N-1)/N xi: one synchronous sweep maps xi to -xi."""
    xi = np.asarray(random_patterns(jax.random.key(1), 1, 16))
    t = _quiet(AntiHebbianTrainer, Hopfield.create(16), update=Update.SYNC, steps=1)
    t.train(xi)
    np.testing.assert_allclose(t.model.W @ xi[0], -(15 / 16) * xi[0], atol=1e-6)
    np.testing.assert_array_equal(t.predict(xi[0]), -xi[0])


def test_hebbian_trainer_is_the_canns_name_of_the_hopfield_trainer():
    assert HebbianTrainer is HopfieldTrainer
    with pytest.raises(TypeError, match="abstract"):
        AbstractStorageTrainer(Hopfield.create(3))
    with pytest.raises(px.ConfigError, match="subtract_mean"):
        HopfieldTrainer(Hopfield.create(3), subtract_mean="yes")  # type: ignore[arg-type]
    with pytest.raises(px.ConfigError, match="Hopfield"):
        AntiHebbianTrainer(np.zeros((3, 3)))  # type: ignore[arg-type]


# --- threshold -------------------------------------------------------------------------------

XI3 = np.array([1.0, -1.0, 1.0], np.float32)


@pytest.mark.parametrize("theta", [-1.0, -0.7, -0.5, 0.0, 0.3, 0.6, 0.7, 1.0, 2.0])
@pytest.mark.parametrize("update", [Update.SYNC, Update.ASYNC])
def test_threshold_shifts_the_fixed_point_as_h_minus_theta_predicts(theta, update):
    """One pattern xi = (1, -1, 1), W = (xi xi^T - I)/3: at s = xi, h = (2/3) xi. With a
    scalar threshold, s = xi stays put iff xi_i (h_i - theta) > 0 for every unit, i.e.
    2/3 - theta > 0 (units +1) and 2/3 + theta > 0 (unit -1): iff |theta| < 2/3. Otherwise
    the +1 units flip to -1 (theta > 2/3) or the -1 unit flips to +1 (theta < -2/3)."""
    m = Hopfield.create(3, threshold=theta).store(jnp.asarray(XI3[None]))
    np.testing.assert_allclose(m.W @ XI3, 2 / 3 * XI3, atol=1e-6)
    expected = np.where(XI3 * (2 / 3 * XI3 - theta) > 0, XI3, -XI3)
    if update is Update.SYNC:
        got = np.asarray(m.init_state(jnp.asarray(XI3)).update(update=update).s)
        np.testing.assert_array_equal(got, expected)
    else:  # one asynchronous sweep: the first unit to move decides; only check fixedness
        moved = m.init_state(jnp.asarray(XI3)).update(update=update, key=jax.random.key(0))
        got = np.asarray(moved.s)
        assert np.array_equal(got, XI3) == (abs(theta) < 2 / 3)
    t = _quiet(HopfieldTrainer, Hopfield.create(3, threshold=theta), update=update, steps=1)
    t.train(XI3[None])
    assert np.array_equal(np.asarray(t.predict(XI3, key=jax.random.key(0))), XI3) == (
        abs(theta) < 2 / 3
    )


def test_high_threshold_drives_every_unit_to_minus_one():
    """theta = 1 > 2/3: from xi the +1 units see h - theta = -1/3 < 0 and flip; at
    s = (-1, -1, -1) h = (0, 2/3, 0), so h - theta = (-1, -1/3, -1) < 0: a fixed point."""
    t = _quiet(HopfieldTrainer, Hopfield.create(3, threshold=1.0), update=Update.SYNC, steps=5)
    t.train(XI3[None])
    np.testing.assert_array_equal(t.predict(XI3), [-1.0, -1.0, -1.0])
    np.testing.assert_allclose(t.model.W @ -np.ones(3), [0.0, 2 / 3, 0.0], atol=1e-6)


def test_per_unit_threshold_sweep_and_energy_match_numpy():
    rng = np.random.default_rng(4)
    n = 50
    xi = np.where(rng.random((5, n)) < 0.5, 1.0, -1.0).astype(np.float32)
    theta = rng.normal(scale=0.3, size=n).astype(np.float32)
    m = Hopfield.create(n, threshold=theta).store(jnp.asarray(xi))
    s0 = np.where(rng.random(n) < 0.5, 1.0, -1.0).astype(np.float32)
    w = np.asarray(m.W)
    u = w @ s0 - theta
    expected = np.where(u == 0, s0, np.sign(u))
    got = m.init_state(jnp.asarray(s0)).update(update=Update.SYNC)
    np.testing.assert_array_equal(got.s, expected)
    e = -0.5 * expected @ w @ expected + theta @ expected
    assert float(got.energy) == pytest.approx(e, rel=1e-5)
    assert float(energy(m.W, jnp.asarray(expected), jnp.asarray(theta))) == pytest.approx(
        e, rel=1e-5
    )


def test_energy_with_threshold_never_increases_under_async_updates():
    """E = -1/2 s^T W s + theta^T s: flipping unit i changes E by -|Δs_i| |h_i - theta_i|."""
    n = 120
    xi = random_patterns(jax.random.key(5), 15, n)
    theta = 0.2 * jax.random.normal(jax.random.key(6), (n,))
    t = _quiet(HopfieldTrainer, Hopfield.create(n, threshold=theta), steps=6)
    t.train(xi)
    for k in range(3):
        cue = random_patterns(jax.random.key(10 + k), 1, n)[0]
        e = np.asarray(t.energy_trace(cue, key=jax.random.key(k)))
        assert np.all(np.diff(e) <= 1e-4)
        assert e[-1] < e[0]


def test_threshold_must_be_scalar_or_per_unit_and_finite():
    with pytest.raises(px.ShapeError, match="threshold"):
        Hopfield.create(4, threshold=np.ones(3))
    with pytest.raises(px.ConfigError, match="finite"):
        Hopfield.create(4, threshold=float("nan"))
    assert Hopfield.create(4).threshold.shape == ()


# --- storage capacity ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 7, 8, 100, 500, 999, 1000, 1001, 10_000])
def test_storage_capacity_is_floor_of_0138_n_at_least_one(n):
    expected = max(1, int(Fraction(138, 1000) * n))  # exact floor, no float rounding
    assert Hopfield.create(n).storage_capacity == expected
    assert isinstance(Hopfield.create(n).storage_capacity, int)


# --- configure_progress ----------------------------------------------------------------------


def _hopfield_trainer():
    t = _quiet(HopfieldTrainer, Hopfield.create(30), steps=2)
    t.train(random_patterns(jax.random.key(0), 3, 30))
    return t


def _trainers():
    """One of each trainer that has configure_progress, with a train input for it."""
    xs = np.asarray(jax.random.normal(jax.random.key(0), (64, 4)))
    pre = np.zeros((20, 2), np.float32)
    pre[3, 1] = pre[8, 0] = 1.0
    return [
        (
            _quiet(HopfieldTrainer, Hopfield.create(30)),
            np.asarray(random_patterns(jax.random.key(1), 3, 30)),
        ),
        (
            _quiet(AntiHebbianTrainer, Hopfield.create(30)),
            np.asarray(random_patterns(jax.random.key(2), 3, 30)),
        ),
        (LocalTrainer(oja, 0.1 * jnp.ones((4, 1)), batch_size=8, show_progress=False), xs),
        (STDPTrainer(jnp.array([[1.5], [0.2]]), show_progress=False), pre),
    ]


@pytest.mark.parametrize("index", range(4))
def test_configure_progress_accepts_the_canns_names(index, capsys):
    trainer, data = _trainers()[index]
    trainer.configure_progress(show_iteration_progress=True)
    assert trainer.show_progress and trainer.show_iteration_progress
    capsys.readouterr()
    trainer.train(data)
    # captured output is not a terminal: a plain progress line (tqdm's bar on a terminal)
    assert "(100%)" in capsys.readouterr().err
    trainer.configure_progress(show_iteration_progress=False, compiled_prediction=False)
    assert not trainer.show_progress and not trainer.use_compile
    assert trainer.compiled_prediction is False and trainer.show_iteration_progress is False
    trainer.train(data)
    assert capsys.readouterr().err == ""  # no bar
    trainer.configure_progress(compiled_prediction=True)
    assert trainer.use_compile and not trainer.show_progress  # None leaves a switch alone
    trainer.configure_progress(False, False)  # plastix's positional form still works
    assert (trainer.show_progress, trainer.use_compile) == (False, False)
    trainer.compiled_prediction = True
    assert trainer.use_compile


@pytest.mark.parametrize("index", range(4))
def test_configure_progress_rejects_unknown_and_contradictory_options(index):
    trainer, _ = _trainers()[index]
    with pytest.raises(px.ConfigError, match=r"unknown option.*show_iteration_progress"):
        trainer.configure_progress(show_iteration=True)
    with pytest.raises(px.ConfigError, match="disagree"):
        trainer.configure_progress(use_compile=True, compiled_prediction=False)
    with pytest.raises(px.ConfigError, match="True or False"):
        trainer.configure_progress(show_progress="no")


def test_compiled_prediction_false_runs_the_hopfield_recall_without_jit(monkeypatch):
    t = _hopfield_trainer()
    cues = np.asarray(random_patterns(jax.random.key(3), 4, 30))
    compiled = np.asarray(t.predict_batch(cues, key=jax.random.key(4)))

    def forbidden(*args, **kwargs):
        raise AssertionError("the compiled recall was used")

    monkeypatch.setattr(hopfield_module, "_recall_batch_jit", forbidden)
    monkeypatch.setattr(hopfield_module, "_recall_one_jit", forbidden)
    monkeypatch.setattr(hopfield_module, "_store_jit", forbidden)
    t.configure_progress(compiled_prediction=False)
    np.testing.assert_array_equal(t.predict_batch(cues, key=jax.random.key(4)), compiled)
    t.predict(cues[0])
    t.train(cues)
    t.configure_progress(compiled_prediction=True)
    with pytest.raises(AssertionError, match="compiled recall"):
        t.predict_batch(cues)


def test_compiled_prediction_false_runs_the_stdp_trainer_without_jit(monkeypatch):
    x = np.asarray(jax.random.uniform(jax.random.key(0), (3, 10, 2)))
    t = STDPTrainer(jnp.array([[0.8], [0.7]]), show_progress=False)
    compiled = np.asarray(t.predict_batch(x))

    def forbidden(*args, **kwargs):
        raise AssertionError("the compiled STDP was used")

    monkeypatch.setattr(stdp_module, "_spikes_jit", forbidden)
    monkeypatch.setattr(stdp_module, "_train_trials_jit", forbidden)
    t.configure_progress(compiled_prediction=False)
    np.testing.assert_array_equal(t.predict_batch(x), compiled)
    t.train(x)


def test_compiled_prediction_false_retraces_the_local_rule_every_epoch():
    """Compiled, the epoch is traced once and reused; without jit every epoch's scan traces
    the rule again, so counting Python calls of the rule shows which path ran."""
    calls = []

    def counting_oja(w, x):
        calls.append(1)
        return oja(w, x)

    x = np.asarray(jax.random.normal(jax.random.key(0), (32, 3)))

    def trainer():
        return LocalTrainer(
            counting_oja,
            0.1 * jnp.ones((3, 1)),
            batch_size=8,
            epochs=3,
            optimizer=optax.sgd(0.01),
            key=jax.random.key(1),
            show_progress=False,
        )

    w_compiled = np.asarray(trainer().train(x))
    assert len(calls) == 1
    t2 = trainer()
    t2.configure_progress(compiled_prediction=False)
    calls.clear()
    np.testing.assert_allclose(t2.train(x), w_compiled, rtol=1e-5, atol=1e-6)
    assert len(calls) == 3


# --- STDP trainer ----------------------------------------------------------------------------

RULE = STDP(a_plus=0.02, a_minus=0.03, tau_plus=15.0, tau_minus=25.0, w_min=-5.0, w_max=5.0)
NEURON = LIF(tau_m=10.0, v_th=1.0)
DRIVER, PROBE = 1.5, 0.2  # input 0 fires the neuron on its own; input 1 never does


def _pair(delta: int, t: int = 80, t0: int = 30) -> np.ndarray:
    """Input 1 (probe) spikes at t0, input 0 (driver) at t0 + delta: the post neuron fires
    exactly with the driver, so delta = t_post - t_pre for the probe synapse."""
    pre = np.zeros((t, 2), np.float32)
    pre[t0, 1] = 1.0
    pre[t0 + delta, 0] = 1.0
    return pre


def _window(delta: float) -> float:
    return 0.02 * np.exp(-delta / 15.0) if delta >= 0 else -0.03 * np.exp(delta / 25.0)


def _numpy_lif(w: np.ndarray, pre: np.ndarray, lif: LIF) -> np.ndarray:
    """The LIF neurons written out step by step (no plasticity)."""
    v = np.full(w.shape[1], lif.v_rest)
    out = []
    for x in pre:
        v = v + lif.dt / lif.tau_m * (lif.v_rest - v) + x @ w
        s = (v >= lif.v_th).astype(np.float32)
        v = np.where(s > 0, lif.v_reset, v)
        out.append(s)
    return np.stack(out)


@pytest.mark.parametrize("delta", [-20, -5, -1, 1, 4, 10, 30])
def test_stdp_trainer_reproduces_the_pair_window(delta):
    """One pre spike of the probe and one post spike (caused by the driver): the probe's
    weight moves by A+ exp(-delta/tau+) (pre first) or -A- exp(delta/tau-) (post first)."""
    pre = _pair(delta)
    w0 = np.array([[DRIVER], [PROBE]], np.float32)
    post = _numpy_lif(w0, pre, NEURON)
    assert post.sum() == 1 and post[30 + delta, 0] == 1  # a single post spike, with the driver
    t = STDPTrainer(w0, rule=RULE, lif=NEURON, show_progress=False)
    np.testing.assert_array_equal(t.predict(pre), post)
    w = np.asarray(t.train(pre))
    assert w[1, 0] - PROBE == pytest.approx(_window(delta), rel=1e-5)
    assert w[0, 0] - DRIVER == pytest.approx(0.02, rel=1e-5)  # driver: pre and post together


def test_stdp_trials_start_from_rest_and_add_up():
    """Three identical trials (and then two epochs of one) each add the same pair window: no
    membrane potential or trace is carried from one trial into the next."""
    pre = _pair(6)
    w0 = jnp.array([[DRIVER], [PROBE]])
    t = STDPTrainer(w0, rule=RULE, lif=NEURON, show_progress=False)
    w = np.asarray(t.train(np.stack([pre, pre, pre])))
    assert w[1, 0] - PROBE == pytest.approx(3 * _window(6), rel=1e-4)
    t2 = STDPTrainer(w0, rule=RULE, lif=NEURON, epochs=2, show_progress=False)
    assert float(t2.train(pre)[1, 0]) - PROBE == pytest.approx(2 * _window(6), rel=1e-4)


def test_stdp_trainer_learns_from_graded_rate_inputs():
    """A constant graded input r on the probe, the driver firing the neuron once at t1. The
    probe's traces give closed forms: LTP = A+ r sum_{k=0}^{t1} e^{-k/tau+} at the post spike,
    LTD = -A- r sum_{k=1}^{T-1-t1} e^{-k/tau-} over the later steps."""
    r, t1, steps = 0.4, 20, 50
    pre = np.zeros((steps, 2), np.float32)
    pre[:, 1] = r
    pre[t1, 0] = 1.0
    w0 = np.array([[DRIVER], [0.01]], np.float32)
    assert _numpy_lif(w0, pre, NEURON).sum() == 1
    t = STDPTrainer(w0, rule=RULE, lif=NEURON, show_progress=False)
    ltp = 0.02 * r * np.exp(-np.arange(t1 + 1) / 15.0).sum()
    ltd = 0.03 * r * np.exp(-np.arange(1, steps - t1) / 25.0).sum()
    assert float(t.train(pre)[1, 0]) - 0.01 == pytest.approx(ltp - ltd, rel=1e-4)


def test_stdp_predict_single_steps_and_batches():
    rng = np.random.default_rng(7)
    w = rng.uniform(0, 1, size=(6, 3)).astype(np.float32)
    x = rng.uniform(0, 1, size=(10, 6)).astype(np.float32)
    t = STDPTrainer(w, lif=LIF(v_th=1.2), show_progress=False)
    one_step = np.asarray(t.predict_batch(x))
    np.testing.assert_array_equal(one_step, (x @ w >= 1.2).astype(np.float32))  # from rest
    np.testing.assert_array_equal(t.predict(x[3]), one_step[3])
    trials = rng.uniform(0, 0.5, size=(4, 15, 6)).astype(np.float32)
    batch = np.asarray(t.predict_batch(trials))
    assert batch.shape == (4, 15, 3)
    for i in range(4):
        np.testing.assert_array_equal(batch[i], _numpy_lif(w, trials[i], LIF(v_th=1.2)))
    np.testing.assert_array_equal(t.w, w)  # prediction does not learn


def test_stdp_trainer_bad_input():
    t = STDPTrainer(jnp.zeros((3, 2)), show_progress=False)
    with pytest.raises(px.ShapeError, match="3 pre-synaptic"):
        t.train(np.zeros((10, 4)))
    with pytest.raises(px.ShapeError, match="empty"):
        t.train(np.zeros((0, 3)))
    with pytest.raises(px.ShapeError, match="NaN"):
        t.train(np.full((5, 3), np.nan))
    with pytest.raises(px.ShapeError, match="predict_batch"):
        t.predict(np.zeros((2, 5, 3)))
    with pytest.raises(px.ShapeError, match=r"\(B, n_pre\)"):
        t.predict_batch(np.zeros(3))
    with pytest.raises(px.ShapeError, match="n_pre, n_post"):
        STDPTrainer(jnp.zeros(3))
    with pytest.raises(px.ConfigError, match="STDP"):
        STDPTrainer(jnp.zeros((3, 2)), rule=LIF())  # type: ignore[arg-type]
    with pytest.raises(px.ConfigError, match="epochs"):
        STDPTrainer(jnp.zeros((3, 2)), epochs=0)
