"""Predictive coding and backprop, checked against theory and independent computations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from plastix.rules._costs import accuracy


def _flat(tree):
    return jnp.concatenate([jnp.ravel(l) for l in jax.tree.leaves(tree)])


def _rel(a, b):
    a, b = _flat(a), _flat(b)
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def _cos(a, b):
    a, b = _flat(a), _flat(b)
    return float(a @ b / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


@pytest.fixture(scope="module")
def problem():
    """A skip network (the seed's CorMLP shape, small) and a batch."""
    edges = [
        px.edge(px.nn.Sequential([px.nn.Linear(16), px.nn.Tanh()]), [0, 1]),
        px.edge(px.nn.Sequential([px.nn.Linear(12), px.nn.GELU()]), [[1, 2], [1, 3]]),
        px.edge(px.nn.Sequential([px.nn.Linear(12), px.nn.Tanh()]), [2, 3]),
        px.edge(px.nn.Linear(4), [3, 4]),
    ]
    x = jax.random.normal(jax.random.key(1), (8, 6))
    y = jax.nn.one_hot(jnp.arange(8) % 4, 4)
    net = px.Network.from_example(edges, x)
    params = net.init(key=jax.random.key(0))
    return net, params, (x, y)


def _bp_reference(net, params, batch, cost):
    """Backprop written independently: a hand-coded forward of the skip network."""
    x, y = batch

    def fwd(p):
        lin = lambda q, h: h @ q["w"] + q["b"][None, :]  # noqa: E731
        z1 = jnp.tanh(lin(p[0][0], x))
        h = jax.nn.gelu(lin(p[1][0], z1))
        z2 = h
        z3 = h + jnp.tanh(lin(p[2][0], z2))
        return lin(p[3], z3)

    return jax.grad(lambda p: jnp.mean(cost(fwd(p), y)))(params)


@pytest.mark.parametrize("cost", [px.SquaredError(), px.CrossEntropy()])
def test_bp_matches_hand_written_backprop(problem, cost):
    net, params, batch = problem
    g, _, m = px.BP(cost=cost).grads(net, params, None, batch)
    assert _rel(g, _bp_reference(net, params, batch, cost)) < 1e-6
    assert set(m) == {"loss", "accuracy"}


@pytest.mark.parametrize("cost", [px.SquaredError(), px.CrossEntropy()])
def test_fixed_prediction_pc_equals_backprop(problem, cost):
    """Fixed-prediction inference with unit state step reaches the exact errors after as many
    steps as the longest path (Millidge et al. 2020): the weight gradients are BP's."""
    net, params, batch = problem
    rule = px.PC(
        mode=px.PCMode.FIXED_PREDICTION,
        cost=cost,
        inference=px.Inference(steps=4, optimizer=optax.sgd(1.0)),
    )
    g, _, m = jax.jit(lambda p: rule.grads(net, p, None, batch))(params)
    ref = _bp_reference(net, params, batch, cost)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert float(m["residual"]) < 1e-5  # the fixed point has been reached


def test_fixed_prediction_converges_with_any_state_optimizer(problem):
    net, params, batch = problem
    rule = px.PC(
        mode=px.PCMode.FIXED_PREDICTION,
        inference=px.Inference(steps=300, optimizer=optax.sgd(0.2, momentum=0.5)),
    )
    g, _, _ = rule.grads(net, params, None, batch)
    assert _rel(g, _bp_reference(net, params, batch, px.SquaredError())) < 1e-4


@pytest.mark.parametrize("cost", [px.SquaredError(), px.CrossEntropy()])
def test_strict_pc_approaches_bp_as_nudging_shrinks(problem, cost):
    """With output nudging beta, PC's update / beta = BP's gradient + O(beta) one-sided,
    + O(beta^2) centred."""
    net, params, batch = problem
    ref = _bp_reference(net, params, batch, cost)
    errs: dict[px.NudgeSign, list[float]] = {}
    betas = (0.1, 0.01)
    for sign in px.NudgeSign:
        for beta in betas:
            rule = px.PC(
                cost=cost,
                nudging=px.Nudging(beta, sign),
                inference=px.Inference(steps=400, optimizer=optax.sgd(0.2, momentum=0.5)),
            )
            g, _, _ = jax.jit(lambda p, rule=rule: rule.grads(net, p, None, batch))(params)
            errs.setdefault(sign, []).append(_rel(g, ref))
    for sign in (px.NudgeSign.POSITIVE, px.NudgeSign.NEGATIVE):
        e1, e2 = errs[sign]
        assert 5 < e1 / e2 < 20, (sign, errs)  # first order: 10x smaller for 10x smaller beta
        assert e2 < 0.05
    c1, c2 = errs[px.NudgeSign.CENTRED]
    assert c1 / c2 > 30, errs  # second order (100x, up to float precision)
    assert c2 < 2e-3
    assert c1 < min(errs[px.NudgeSign.POSITIVE][0], errs[px.NudgeSign.NEGATIVE][0])


def test_clamped_pc_without_inference_updates_only_the_last_layer(problem):
    """At the feedforward state every hidden error is zero, so dE/dtheta is the output cost's
    gradient for the last layer and zero elsewhere."""
    net, params, batch = problem
    g, _, _ = px.PC(inference=px.Inference(steps=0)).grads(net, params, None, batch)
    ref = _bp_reference(net, params, batch, px.SquaredError())
    np.testing.assert_allclose(g[3]["w"], ref[3]["w"], rtol=1e-5, atol=1e-7)
    for leaf in jax.tree.leaves(g[:3]):
        assert float(jnp.max(jnp.abs(leaf))) == 0.0


def test_energy_decreases_during_inference(problem):
    net, params, batch = problem
    energies = []
    for steps in (0, 1, 2, 5, 10, 50):
        rule = px.PC(inference=px.Inference(steps=steps, optimizer=optax.sgd(0.1)))
        # the energy at the relaxed states, as the weight gradient sees it
        x, y = batch
        free = None
        g, _, m = rule.grads(net, params, None, batch)
        energies.append(float(m["energy"]))
        del g, free, x, y
    # at T=0 the metric is the energy at the feedforward state: the output cost
    ff_cost = float(jnp.mean(px.SquaredError()(net(params, batch[0]), batch[1])))
    assert energies[0] == pytest.approx(ff_cost, rel=1e-5)
    assert all(b <= a + 1e-7 for a, b in zip(energies, energies[1:])), energies
    assert energies[-1] < 0.9 * energies[0]


def test_inference_solves_a_quadratic():
    """z* = argmin 1/2 ||A z - b||^2 = lstsq(A, b), per sample."""
    a = jnp.array([[2.0, 0.5], [0.5, 1.0], [0.0, 1.0]])
    b = jnp.array([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]])  # two samples

    def grad_fn(z):
        r = z @ a.T - b
        return 0.5 * jnp.sum(r * r), r @ a

    inf = px.Inference(steps=2000, optimizer=optax.sgd(0.1, momentum=0.5), tol=1e-6)
    z, info = inf.run(grad_fn, jnp.zeros((2, 2)))
    expected = np.linalg.lstsq(np.asarray(a), np.asarray(b).T, rcond=None)[0].T
    np.testing.assert_allclose(z, expected, atol=1e-5)
    assert int(info.steps) < 2000  # stopped at the tolerance
    assert int(info.not_converged) == 0
    assert float(jnp.max(info.residual)) <= 1e-6
    # too few steps: every sample reported as not converged
    _, info = px.Inference(steps=3, optimizer=optax.sgd(0.01), tol=1e-6).run(
        grad_fn, jnp.zeros((2, 2))
    )
    assert int(info.not_converged) == 2 and int(info.steps) == 3


def test_incremental_pc_first_step_is_the_output_gradient(problem):
    """iPC with one step: states at the feedforward pass, so only the last layer moves, by
    -lr * BP's last-layer gradient (plain SGD)."""
    net, params, batch = problem
    opt = optax.sgd(0.5)
    rule = px.IncrementalPC(inference=px.Inference(steps=1, optimizer=optax.sgd(0.1)))
    new, _, _, _ = rule.step(net, params, None, opt.init(params), opt, batch)
    ref = _bp_reference(net, params, batch, px.SquaredError())
    np.testing.assert_allclose(
        new[3]["w"], params[3]["w"] - 0.5 * ref[3]["w"], rtol=1e-5, atol=1e-7
    )
    for a, b in zip(jax.tree.leaves(new[:3]), jax.tree.leaves(params[:3])):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)  # zero up to float rounding


def test_incremental_pc_grads_are_the_small_learning_rate_limit_of_its_step(problem):
    """iPC's ``grads`` (the per-step weight gradients summed, weights held) is what its
    ``step`` moves the weights by per unit of a small SGD learning rate: (theta - step) / lr
    -> grads as lr -> 0, with an O(lr) error that shrinks 10x for a 10x smaller lr."""
    net, params, batch = problem
    rule = px.IncrementalPC(inference=px.Inference(steps=6, optimizer=optax.sgd(0.1)))
    g, _, _ = jax.jit(lambda p: rule.grads(net, p, None, batch))(params)
    errs = []
    for lr in (1e-2, 1e-3):
        opt = optax.sgd(lr)
        new, _, _, _ = jax.jit(lambda p, opt=opt: rule.step(net, p, None, opt.init(p), opt, batch))(
            params
        )
        moved = jax.tree.map(lambda a, b, lr=lr: (a - b) / lr, params, new)
        errs.append(_rel(moved, g))
    assert errs[1] < 0.02 and 5 < errs[0] / errs[1] < 20, errs
    strict, _, _ = px.PC(inference=rule.inference).grads(net, params, None, batch)
    assert _rel(strict, g) > 0.1  # and it is not the strict relaxation's update


def _clamped_energy(net, params, batch, states):
    """The clamped PC energy over the hidden states, written out here (squared error):
    E = sum_hidden 1/2 |z_n - mu_n|^2 + 1/2 |mu_out - y|^2, the predictions mu from
    ``net.predictions``, the other nodes' states from ``states``."""
    _, y = batch
    hidden = [n for n in range(net.num_nodes) if n not in (net.input, net.output)]

    def energy(zs):
        full = list(states)
        for n, z in zip(hidden, zs):
            full[n] = z
        mu = net.predictions(params, tuple(full))
        e = sum(0.5 * jnp.sum((full[n] - mu[n]) ** 2) for n in hidden)
        return e + 0.5 * jnp.sum((mu[net.output] - y) ** 2)

    return energy, tuple(states[n] for n in hidden), hidden


def _hidden_energy_grad_norms(net, params, batch, states):
    """Per sample, the norm of :func:`_clamped_energy`'s gradient at ``states``."""
    energy, zs, _ = _clamped_energy(net, params, batch, states)
    g = jax.grad(energy)(zs)
    return jnp.sqrt(sum(jnp.sum(a.reshape(a.shape[0], -1) ** 2, axis=1) for a in g))


def test_incremental_pc_reports_its_last_steps_residual(problem):
    """With the weights held, iPC's T steps are strict PC's relaxation: the same states, and
    the residual of its last step is the energy gradient's norm at the states after T - 1
    steps (computed here from the energy written out), as PC reports it. With the weights
    moving (``step``) the metrics name T steps and a finite residual."""
    net, params, batch = problem
    T, sgd = 6, optax.sgd(0.1)
    ipc = px.IncrementalPC(inference=px.Inference(steps=T, optimizer=sgd))
    states, info = jax.jit(lambda p: ipc.relax(net, p, batch))(params)
    pc_states, pc_info = px.PC(inference=ipc.inference).relax(net, params, batch)
    for a, b in zip(states, pc_states, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    before, _ = px.PC(inference=px.Inference(steps=T - 1, optimizer=sgd)).relax(net, params, batch)
    want = _hidden_energy_grad_norms(net, params, batch, before)
    assert float(jnp.min(want)) > 1e-3  # not yet at rest: the check has something to compare
    np.testing.assert_allclose(info.residual, want, rtol=1e-4)
    np.testing.assert_allclose(pc_info.residual, want, rtol=1e-4)
    assert int(info.steps) == T and int(info.not_converged) == 0
    opt = optax.adam(1e-2)
    _, _, _, m = ipc.step(net, params, None, opt.init(params), opt, batch)
    assert int(m["inference_steps"]) == T and int(m["not_converged"]) == 0
    assert np.isfinite(float(m["residual"])) and float(m["residual"]) > 0


def test_pc_and_incremental_pc_honour_bounds_and_ipc_refuses_a_tolerance(problem):
    """With ``inference.bounds`` PC's states are those of the plain projected relaxation
    (``Inference.run`` on the energy written out; PC's shortcut of holding still states
    while the errors reach them moved none outside the box, and was 2e-2 off), and iPC's,
    with the weights held, the same (iPC ignored bounds before); ``inference.tol`` cannot
    apply to iPC (the weights move at every step) and is refused."""
    net, params, batch = problem
    inf = px.Inference(steps=5, optimizer=optax.sgd(0.3), bounds=(-0.2, 0.2))
    ff = net.feedforward(params, batch[0])
    energy, z0, hidden = _clamped_energy(net, params, batch, ff)
    assert max(float(jnp.max(jnp.abs(z))) for z in z0) > 0.5  # the box binds from the start
    want, _ = inf.run(jax.value_and_grad(energy), z0)
    for rule in (px.PC(inference=inf), px.IncrementalPC(inference=inf)):
        states, _ = rule.relax(net, params, batch)
        for n, w in zip(hidden, want, strict=True):
            assert float(jnp.max(jnp.abs(states[n]))) <= 0.2 + 1e-7
            np.testing.assert_allclose(states[n], w, rtol=1e-5, atol=1e-6)
    with pytest.raises(px.ConfigError, match=r"tol=1e-06.*no equilibrium.*tol=null"):
        px.IncrementalPC(inference=px.Inference(steps=5, tol=1e-6))


class ScaledPC(px.PC):
    """A custom energy: the default one times 3 (only the energy is overridden)."""

    def energy(self, net, states, predictions, target):
        return 3.0 * super().energy(net, states, predictions, target)


class DepthWeightedPC(px.PC):
    """The docs' new energy: hidden errors weighted by depth, the output's term from
    ``output_energy`` (so it is right clamped and nudged)."""

    def energy(self, net, states, predictions, target):
        e = 0.0
        for n in range(net.num_nodes):
            if n not in (net.input, net.output):
                e += 0.5 * (1 + n) * jnp.sum((states[n] - predictions[n]) ** 2)
        return e + self.output_energy(net, states, predictions, target)


class LabelOnlyPC(px.PC):
    """An override that treats ``target`` as a label always (the pre-split mistake)."""

    def energy(self, net, states, predictions, target):
        return jnp.sum(self.cost(predictions[net.output], target))


@pytest.mark.parametrize("cost", [px.SquaredError(), px.CrossEntropy()])
def test_a_new_energy_is_right_under_nudging(problem, cost):
    """Nudging is added outside the overridable energy. Theory: every positively weighted
    PC energy has the feedforward pass as its free equilibrium (all errors zero), so
    centred nudging gives BP's gradient up to O(beta^2) for the depth-weighted energy too;
    an override that cannot handle a free output stops with a clear error instead of
    training on a wrong update."""
    net, params, batch = problem
    ref = _bp_reference(net, params, batch, cost)
    rule = DepthWeightedPC(
        cost=cost,
        nudging=px.Nudging(0.01, px.NudgeSign.CENTRED),
        inference=px.Inference(steps=400, optimizer=optax.sgd(0.1, momentum=0.5)),
    )
    g, _, _ = jax.jit(lambda p: rule.grads(net, p, None, batch))(params)
    assert _rel(g, ref) < 2e-3
    bad = LabelOnlyPC(cost=cost, nudging=px.Nudging(0.01))
    with pytest.raises(px.ConfigError, match="output_energy"):
        bad.grads(net, params, None, batch)
    # clamped, the same override is the seed's pattern and runs
    LabelOnlyPC(cost=cost, inference=px.Inference(steps=2)).grads(net, params, None, batch)


def test_custom_energy_subclass_is_used(problem):
    net, params, batch = problem
    g, _, _ = ScaledPC(inference=px.Inference(steps=0)).grads(net, params, None, batch)
    ref = _bp_reference(net, params, batch, px.SquaredError())
    np.testing.assert_allclose(g[3]["w"], 3.0 * ref[3]["w"], rtol=1e-5, atol=1e-7)


def _digits():
    tr = px.data.load_dataset("digits", "train")
    te = px.data.load_dataset("digits", "test")
    norm = px.data.Normalize.for_dataset("digits")
    import dataclasses

    return dataclasses.replace(tr, x=norm(tr.x)), dataclasses.replace(te, x=norm(te.x))


@pytest.mark.parametrize(
    "rule",
    [
        px.IncrementalPC(inference=px.Inference(steps=5, optimizer=optax.sgd(0.1))),
        ScaledPC(inference=px.Inference(steps=10, optimizer=optax.sgd(0.05, momentum=0.5))),
        px.PC(
            mode=px.PCMode.FIXED_PREDICTION,
            cost=px.CrossEntropy(),
            inference=px.Inference(steps=3, optimizer=optax.sgd(1.0)),
        ),
    ],
    ids=["incremental", "custom-energy", "fixed-prediction"],
)
def test_pc_variants_train_on_digits(rule):
    train, test = _digits()
    net = px.Network.from_example(px.models.mlp(10, hidden=(64,)), train.x[:1])
    t = px.Trainer(
        net, rule, optax.adam(1e-3), train, test, epochs=4, batch_size=32, progress=False
    )
    s = t.fit()
    assert s["test_accuracy"] > 0.9, s["history"]


@pytest.mark.parametrize("model", ["skip-mlp", "conv-demo"])
def test_seed_networks_train_under_pc(model):
    """The seed's skip network and ConvDemo, written in plastix, learn under strict PC
    (on the embedded digits: 8x8 images, small data)."""
    train, test = _digits()
    net = px.Network.from_example(px.models.make_model(model, 10), train.x[:1])
    rule = px.PC(inference=px.Inference(steps=10, optimizer=optax.sgd(0.1, momentum=0.5)))
    t = px.Trainer(
        net, rule, optax.adam(2e-3), train, test, epochs=4, batch_size=32, progress=False
    )
    s = t.fit()
    assert s["test_accuracy"] > 0.8, s["history"]


def test_label_sample_mismatch_and_wrong_targets(problem):
    net, params, (x, y) = problem
    with pytest.raises(px.ShapeError, match="label/sample count mismatch: 8 inputs but 7 targets"):
        px.PC().grads(net, params, None, (x, y[:7]))
    with pytest.raises(px.ShapeError, match="one-hot"):
        px.BP().grads(net, params, None, (x, jnp.zeros((8, 3))))
    with pytest.raises(px.ShapeError, match=r"expects inputs of shape \(batch, 6\)"):
        px.PC().grads(net, params, None, (jnp.zeros((8, 5)), y))


def test_bad_rule_options():
    with pytest.raises(px.ConfigError, match="beta must be > 0"):
        px.Nudging(beta=0.0)
    with pytest.raises(px.ConfigError, match="unknown rule 'pcx'; choose one of"):
        px.config.make_rule("pcx")
    with pytest.raises(px.ConfigError, match=r"unknown config key 'rule \(pc\).stepz'"):
        px.config.make_rule("pc", stepz=3)
    with pytest.raises(px.ConfigError, match="unknown mode 'lazy'"):
        px.config.make_rule("pc", mode="lazy")


def test_nan_divergence_during_inference_stops_training(tmp_path):
    train, test = _digits()
    net = px.Network.from_example(px.models.mlp(10, hidden=(32,)), train.x[:1])
    rule = px.PC(inference=px.Inference(steps=20, optimizer=optax.sgd(50.0)))  # explodes
    t = px.Trainer(
        net,
        rule,
        optax.adam(1e-3),
        train,
        test,
        epochs=2,
        batch_size=32,
        progress=False,
        out_dir=tmp_path,
    )
    with pytest.raises(px.DivergenceError, match="training diverged: .* at epoch 1, step 0"):
        t.fit()
    assert not list((tmp_path / "checkpoints").glob("*.npz"))  # nothing saved from a diverged run


def test_metrics_accuracy_helper():
    out = jnp.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    y = jax.nn.one_hot(jnp.array([1, 1, 1]), 2)
    assert float(accuracy(out, y)) == pytest.approx(2 / 3)


ADAM = optax.adam(0.05)


class SamePC(px.PC):
    """Overrides the energy without changing it: takes the general relaxation path."""

    def energy(self, net, states, predictions, target):
        return super().energy(net, states, predictions, target)


@pytest.mark.parametrize(
    "nudging",
    [None, px.Nudging(0.05, px.NudgeSign.POSITIVE), px.Nudging(0.05, px.NudgeSign.CENTRED)],
)
@pytest.mark.parametrize(
    "opt",
    [
        optax.sgd(0.1, momentum=0.5),
        ADAM,
        optax.chain(optax.add_decayed_weights(0.1), optax.sgd(0.1)),  # moves zero-gradient states
    ],
    ids=["momentum", "adam", "decay"],
)
def test_skipping_settled_edges_changes_nothing(problem, nudging, opt):
    """The default energy skips, in the first steps, edges from states still at their
    feedforward value into error-free nodes; a subclass with the same energy takes the general
    path. Both give the same relaxation and gradients."""
    net, params, batch = problem
    if opt is ADAM:
        # Adam rescales the general path's rounding-level hidden gradients (~1e-7 at the
        # feedforward state) into full steps; the exact gradient there is zero, which the
        # skipping path uses: the two differ by Adam's amplification of rounding, not maths
        # (with a clamped output too, since relaxation loops are rolled: the rounding differs)
        pytest.skip("Adam amplifies rounding noise in the general path")
    inf = px.Inference(steps=6, optimizer=opt)
    g1, _, m1 = jax.jit(lambda p: px.PC(inference=inf, nudging=nudging).grads(net, p, None, batch))(
        params
    )
    g2, _, m2 = jax.jit(
        lambda p: SamePC(inference=inf, nudging=nudging).grads(net, p, None, batch)
    )(params)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m1["energy"], m2["energy"], rtol=1e-5)
    np.testing.assert_allclose(m1["residual"], m2["residual"], rtol=1e-4)


def test_wavefront_schedule_of_a_chain():
    """For a chain 0-1-2-3-4 with the output clamped, the error reaches node 3 at step 1,
    node 2 at step 2, node 1 at step 3; edges skipped accordingly."""
    net = px.Network.from_example(px.models.mlp(4, hidden=(5, 5, 5)), jnp.zeros((1, 3)))
    rule = px.PC(inference=px.Inference(steps=8, optimizer=optax.sgd(0.1)))
    free0 = tuple(jnp.zeros((2, 5)) for _ in range(3))
    starts, moves, length = rule._wavefront(net, free0)
    # edge 1 (node 1 -> 2) is first needed at step 2, edge 2 (2 -> 3) at step 1; node 2
    # first moves at step 1, node 1 at step 2; the third step has nothing left to skip
    assert (starts, moves, length) == ({1: 2, 2: 1}, {1: 2, 2: 1}, 3)


def test_phase_ends_skip_the_most_edge_steps():
    """The early phases [a, b) skip the edges first needed at a step >= b; the chosen ends
    maximise the skipped edge-steps, as an exhaustive search over all ends finds."""
    from itertools import combinations

    from plastix.rules._pc import _phase_ends

    def skipped(starts, ends):
        a, total = 0, 0
        for b in ends:
            total += (b - a) * sum(1 for k in starts.values() if k >= b)
            a = b
        return total

    rng = np.random.default_rng(0)
    for starts in (
        {i: 40 - i for i in range(40)},  # a 40-edge chain relaxed for 40 steps
        {i: int(k) for i, k in enumerate(rng.integers(1, 30, size=25))},
    ):
        for phases in (1, 2, 4):
            ends = _phase_ends(starts, phases)
            cands = sorted(set(starts.values()))
            best = max(
                skipped(starts, list(c))
                for m in range(1, phases + 1)
                for c in combinations(cands, m)
            )
            assert len(ends) <= phases and ends == sorted(ends)
            assert skipped(starts, ends) == best
    assert _phase_ends({}, 4) == []


def test_deep_relaxation_in_phases_changes_nothing():
    """A 12-hidden-layer residual net relaxed for 12 steps runs its early steps in rolled
    phases (more wavefront steps than are written out); it relaxes as the general path does
    (a subclass with the same energy, which skips nothing), and its program does not grow
    with the number of steps."""
    net = px.Network.from_example(px.models.residual_mlp(3, width=6, depth=12), jnp.zeros((1, 5)))
    params = net.init(key=jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (4, 5))
    batch = (x, jax.nn.one_hot(jnp.array([0, 1, 2, 0]), 3))
    inf = px.Inference(steps=12, optimizer=px.inference.SGD(0.2, momentum=0.5))
    rule = px.PC(inference=inf)
    free0 = tuple(net.feedforward(params, x)[n] for n in rule._free_nodes(net))
    starts, _, length = rule._wavefront(net, free0)
    # the error enters at node 12 (next to the clamped output) and reaches node 2 at step 11:
    # the two edges (dense and identity) out of node 1 are first needed then
    assert length == 12 and max(starts.values()) == 11
    assert sorted(i for i, k in starts.items() if k == 11) == [1, 2]
    g1, _, m1 = jax.jit(lambda p: rule.grads(net, p, None, batch))(params)
    g2, _, m2 = jax.jit(lambda p: SamePC(inference=inf).grads(net, p, None, batch))(params)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m1["energy"], m2["energy"], rtol=1e-5)

    # the program does not grow with the number of steps (it did, by a graph per step)
    def dots(steps):
        r = px.PC(inference=px.Inference(steps=steps, optimizer=inf.optimizer))
        return str(jax.make_jaxpr(lambda p: r.grads(net, p, None, batch))(params)).count(
            "dot_general"
        )

    assert dots(24) == dots(12)


def test_ipc_schedules_span_every_optimizer_call(monkeypatch):
    """iPC calls the optimizer at each of its T inference steps, so a run's schedule spans
    batches x T calls; counted in batches it would reach its end after 1/T of the run (as it
    did: the ipc-mnist-mlp preset's warmup-cosine ended in its first 4 of 25 epochs)."""
    from plastix.cli._main import build_trainer

    seen = []
    make = px.train.WarmupCosine.make
    monkeypatch.setattr(
        px.train.WarmupCosine,
        "make",
        lambda self, lr, total_steps: seen.append(total_steps) or make(self, lr, total_steps),
    )
    digits = {"data.name": "digits", "train.epochs": 2, "rule.inference.steps": 6}
    for preset in ("pcx-mnist-mlp", "ipc-mnist-mlp"):
        build_trainer(px.config.from_preset(preset, digits), out=None, progress=False)
    batches = 2 * (1346 // 128)  # two epochs of the digits' 1346 training images
    assert seen == [batches, batches * 6]
    assert px.IncrementalPC(inference=px.Inference(steps=6)).optimizer_calls_per_step() == 6
    assert px.PC(inference=px.Inference(steps=6)).optimizer_calls_per_step() == 1


@pytest.mark.parametrize(
    ("opt", "keeps"),
    [
        (optax.sgd(0.1), True),
        (optax.sgd(0.1, momentum=0.5, nesterov=True), True),
        (optax.adam(0.1), True),  # m = v = 0, update 0 / (sqrt(0) + eps) = 0
        (optax.adamw(0.1, weight_decay=0.1), False),  # decay pulls the states toward 0
        (optax.chain(optax.sgd(0.1), optax.add_decayed_weights(1e-3)), False),
    ],
)
def test_wavefront_probe_knows_which_state_optimizers_keep_resting_states(opt, keeps):
    """The wavefront skips states whose gradient is still zero only when the state optimizer
    leaves such states where they are for the whole relaxation (one compiled probe)."""
    from plastix.rules._pc import _keeps_zero_gradient_states

    like = (jnp.zeros((4, 3)), jnp.zeros((4, 2, 5)))
    assert _keeps_zero_gradient_states(opt, like, 8) is keeps
