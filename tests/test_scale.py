"""Data parallelism over the 4 CPU devices of the test session (conftest): the batch is
sharded over a ``jax.sharding`` mesh, and training gives the parameters of single-device
training to float tolerance."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px


@pytest.fixture(scope="module")
def digits():
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 256))
    te = px.data.load_dataset("digits", "test").subset(slice(0, 64))
    return tr, te


def _ep_data(tr, te):
    return tr, te  # EP's states live in [0, 1]: so do the raw pixels


def _pc_data(tr, te):
    norm = px.data.Normalize.for_dataset("digits")
    return dataclasses.replace(tr, x=norm(tr.x)), dataclasses.replace(te, x=norm(te.x))


RULES = {
    "bp": (lambda: px.BP(), "tanh", _pc_data),
    "pc": (
        lambda: px.PC(inference=px.Inference(steps=6, optimizer=optax.sgd(0.1, momentum=0.5))),
        "tanh",
        _pc_data,
    ),
    "ep": (
        lambda: px.config.make_rule("ep", free={"steps": 10}, nudged={"steps": 4}),
        "identity",
        _ep_data,
    ),
}


def _fit(name, digits, devices):
    make, act, prep = RULES[name]
    tr, te = prep(*digits)
    net = px.Network.from_example(px.models.mlp(10, hidden=(24,), activation=act), tr.x[:1])
    t = px.Trainer(
        net, make(), optax.adam(1e-3), tr, te, epochs=1, batch_size=32, progress=False,
        steps_per_call=4, devices=devices,
    )  # fmt: skip
    return t, t.fit()


@pytest.mark.parametrize("name", sorted(RULES))
def test_sharded_training_equals_single_device(name, digits):
    assert jax.device_count() == 4, "conftest asks for 4 CPU devices"
    one, s1 = _fit(name, digits, jax.devices()[:1])
    four, s4 = _fit(name, digits, None)
    assert s1["environment"]["data_parallel_devices"] == 1
    assert s4["environment"]["data_parallel_devices"] == 4
    for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params), strict=True):
        assert b.sharding.is_fully_replicated and len(b.sharding.device_set) == 4
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-6)
    assert s1["test_accuracy"] == pytest.approx(s4["test_accuracy"], abs=1 / 64 + 1e-9)


def test_the_batch_really_is_split(digits):
    """The compiled step of a 4-device trainer holds per-device batches of 32 / 4 = 8 rows
    and an all-reduce of the gradients; the 1-device one neither."""
    texts = {}
    for n in (1, 4):
        t, _ = _fit("bp", digits, jax.devices()[:n])
        carry = t._replicate((t.params, t.state, t.opt_state))
        xs, ys = t._replicate((jnp.asarray(t.train.x), jnp.asarray(t.train.y)))
        idx = jnp.zeros((2, 32), jnp.int32)
        texts[n] = t._chunk.lower(carry, xs, ys, idx, t._keys(0)[:2]).compile().as_text()
    assert "all-reduce" in texts[4] and "all-reduce" not in texts[1]
    assert "f32[8,64]" in texts[4] and "f32[8,64]" not in texts[1]


def test_batch_must_split_over_the_devices(digits):
    tr, te = _pc_data(*digits)
    net = px.Network.from_example(px.models.mlp(10, hidden=(8,)), tr.x[:1])
    with pytest.raises(px.ConfigError, match="does not split over 4 devices"):
        px.Trainer(net, px.BP(), optax.adam(1e-3), tr, te, batch_size=30, progress=False)
    with pytest.raises(px.ConfigError, match="devices is empty"):
        px.Trainer(net, px.BP(), optax.adam(1e-3), tr, te, batch_size=32, devices=[])
