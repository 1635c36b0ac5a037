"""The rule contract, checked on every rule in ``plastix.config.ALL_RULES`` (diffrax's
all-solvers pattern): a new rule is covered the moment it joins the tuple.

Oracles are the contract itself: ``step`` under ``jit`` keeps the parameter tree, reports a
finite ``loss`` and ``accuracy``, and gives the same bits for the same key; a gradient rule's
gradient tree is the parameter tree; a checkpoint round-trips; a batch split over two devices
gives the one-device result; capabilities are declared by the abstract bases.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import plastix as px
from plastix.config import ALL_RULES
from plastix.rules import (
    AbstractEnergyRule,
    AbstractFeedbackRule,
    AbstractGenerativeRule,
    AbstractGradientRule,
    AbstractRule,
)
from plastix.train import load_checkpoint, save_checkpoint

BATCH = 16


def _model(cls: type) -> list[px.Edge]:
    """A small network each rule can train (the one its presets use, narrowed)."""
    if cls in (px.EP, px.HolomorphicEP, px.CHL, px.rules.CoupledLearning):  # linear edges
        return px.models.mlp(10, hidden=(16,), activation="identity")
    if cls in (px.local.SoftHebb, px.local.LocalHebbian):
        return px.models.softhebb_mlp(10, hidden=(16,))
    if cls is px.FF:
        return px.models.mlp(10, hidden=(16, 16), activation="relu")
    return px.models.mlp(10, hidden=(16, 16), activation="tanh")


def _rule(cls: type) -> AbstractRule:
    """The rule's defaults, with short relaxations (the contract does not depend on their
    length; compiling long unrolled ones would dominate the test's time)."""
    short = px.Inference(steps=3)
    if cls is px.local.SoftHebb:
        return cls(lr=0.01, inverse_temperature=1.0, hebbian_steps=1)  # then the read-out
    if cls is px.local.LocalHebbian:
        return cls(lr=0.01, hebbian_steps=1)
    if cls in (px.PC, px.IncrementalPC, px.BiPC, px.HybridPC):
        return cls(inference=short)
    if cls in (px.EP, px.CHL):
        relax = dataclasses.replace(cls().free, steps=4)
        return cls(free=relax, nudged=dataclasses.replace(relax, steps=2))
    return cls()


@pytest.fixture(scope="module")
def digits():
    data = px.data.load_dataset("digits", "train")
    x = jnp.asarray(data.x[:BATCH])
    return x, jax.nn.one_hot(jnp.asarray(data.y[:BATCH]), 10)


def _setup(cls, digits):
    rule = _rule(cls)
    net = px.Network.from_example(_model(cls), digits[0][:1])
    rule.check(net, digits)
    params, state = rule.init(net, key=jax.random.key(0))
    return rule, net, params, state


def _structure(tree):
    return jax.tree.structure(tree), [
        (np.shape(l), np.asarray(l).dtype) for l in jax.tree.leaves(tree)
    ]


def test_all_rules_are_final_subclasses_with_unique_names():
    names = [cls.name for cls in ALL_RULES]
    assert len(set(names)) == len(names), names
    for cls in ALL_RULES:
        assert issubclass(cls, AbstractRule) and getattr(cls, "__final__", False), cls
        assert not getattr(cls, "__abstractmethods__", None), (cls, cls.__abstractmethods__)
        for other in ALL_RULES:  # no concrete rule derives from another
            assert other is cls or not issubclass(cls, other), (cls, other)


@pytest.mark.parametrize("cls", ALL_RULES, ids=lambda c: c.name)
def test_rule_contract(cls, digits, tmp_path):
    rule, net, params, state = _setup(cls, digits)
    # init is deterministic given the key; the state (non-learned) holds no parameter
    again, state_again = rule.init(net, key=jax.random.key(0))
    for a, b in zip(jax.tree.leaves((params, state)), jax.tree.leaves((again, state_again))):
        np.testing.assert_array_equal(a, b)
    opt = optax.adam(1e-3)
    fn = lambda p, s, o, b, k: rule.step(net, p, s, o, opt, b, key=k)  # noqa: E731
    step = jax.jit(fn)
    key = jax.random.key(1)
    p1, s1, o1, m1 = step(params, state, opt.init(params), digits, key)
    # jit, the parameter and state trees kept, the same bits for the same key
    p2, s2, _, m2 = step(params, state, opt.init(params), digits, key)
    assert _structure(p1) == _structure(params)
    assert _structure(s1) == _structure(state)
    for a, b in zip(jax.tree.leaves((p1, s1)), jax.tree.leaves((p2, s2)), strict=True):
        np.testing.assert_array_equal(a, b)
    # every parameter is floating point (counters and statistics live in the state)
    assert all(np.issubdtype(np.asarray(l).dtype, np.floating) for l in jax.tree.leaves(params))
    moved = [not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(params))]
    assert any(moved), "the step changed nothing"
    # the metrics every rule reports
    for k in ("loss", "accuracy"):
        assert k in m1 and np.isfinite(float(m1[k])), (k, m1)
        assert float(m1[k]) == float(m2[k])
    assert 0.0 <= float(m1["accuracy"]) <= 1.0
    # predictions and the evaluation cost
    out = jax.jit(lambda p, s, x: rule.predict(net, p, s, x))(p1, s1, digits[0])
    assert out.shape == (BATCH, 10)
    assert rule.eval_cost(out, digits[1]).shape == (BATCH,)
    # a checkpoint round-trips, dtypes included
    save_checkpoint(tmp_path / "c.npz", (p1, s1, o1), {"epoch": 1})
    loaded, meta = load_checkpoint(tmp_path / "c.npz", (params, state, opt.init(params)))
    assert meta["epoch"] == 1
    for a, b in zip(jax.tree.leaves((p1, s1, o1)), jax.tree.leaves(loaded), strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    # the batch split over two devices (parameters replicated) gives the one-device step
    mesh = Mesh(np.array(jax.devices()[:2]), ("data",))
    sharded = jax.device_put(digits, NamedSharding(mesh, P("data")))
    rep = jax.device_put((params, state, opt.init(params)), NamedSharding(mesh, P()))
    two = jax.jit(fn)(*rep, sharded, key)
    for a, b in zip(jax.tree.leaves((p1, s1, o1, m1)), jax.tree.leaves(two), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
    # a gradient rule's gradient tree is the parameter tree
    if isinstance(rule, AbstractGradientRule):
        g, gstate, metrics = jax.jit(lambda p: rule.grads(net, p, state, digits, key=key))(params)
        assert _structure(gstate) == _structure(state)
        gs, ps = _structure(g), _structure(params)
        assert gs[0] == ps[0]
        for (gshape, gdtype), (pshape, pdtype) in zip(gs[1], ps[1]):
            assert gshape == pshape
            assert gdtype == pdtype or not np.issubdtype(pdtype, np.floating)
        assert "loss" in metrics and "accuracy" in metrics
    # an energy rule exposes its relaxed states
    if isinstance(rule, AbstractEnergyRule):
        states, info = jax.jit(lambda p: rule.relax(net, p, digits))(params)
        assert len(states) == net.num_nodes
        for n, z in enumerate(states):
            assert z.shape == (BATCH, *net.node_shapes[n]), n
            assert np.all(np.isfinite(np.asarray(z)))
        np.testing.assert_array_equal(states[net.input], digits[0])
        assert np.isfinite(float(info.energy))


def test_capabilities_are_declared_by_the_bases():
    energy = {c.name for c in ALL_RULES if issubclass(c, AbstractEnergyRule)}
    assert energy == {"pc", "ipc", "ep", "holomorphic-ep", "chl", "cl", "bipc", "hpc"}
    feedback = {c.name for c in ALL_RULES if issubclass(c, AbstractFeedbackRule)}
    assert feedback == {"fa", "sign-symmetry", "dfa", "drtp", "tp", "dtp"}
    assert {c.name for c in ALL_RULES if issubclass(c, AbstractGenerativeRule)} == {"bipc", "hpc"}
    local = {c.name for c in ALL_RULES if not issubclass(c, AbstractGradientRule)}
    assert local == {"softhebb", "hebbian"}
    for c in ALL_RULES:  # the gradient check applies exactly to the gradient estimates
        assert c.estimates_gradient == (c.name not in {"ff", "softhebb", "hebbian", "hpc"}), c


def test_a_new_energy_subclass_gets_everything_else(digits):
    """The seed's pattern: subclass, override the energy only; inference, gradients, the
    relaxed states and the contract come with it (here: the energy doubled, so at a clamped
    output with no relaxation the weight gradient doubles)."""

    class DoublePC(px.PC):
        def energy(self, net, states, predictions, target):
            return 2.0 * super().energy(net, states, predictions, target)

    base = px.PC(inference=px.Inference(steps=0))
    double = DoublePC(inference=px.Inference(steps=0))
    net = px.Network.from_example(_model(px.PC), digits[0][:1])
    params = net.init(key=jax.random.key(0))
    g1, _, _ = base.grads(net, params, None, digits)
    g2, _, _ = double.grads(net, params, None, digits)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2)):
        np.testing.assert_allclose(b, 2.0 * a, rtol=1e-5, atol=1e-7)
    states, _ = double.relax(net, params, digits)
    assert len(states) == net.num_nodes
    assert dataclasses.is_dataclass(double)
