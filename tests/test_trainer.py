"""Trainer: reproducibility, exact resume, checkpoints, logs."""

from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import optax
import pytest

import plastix as px
from plastix.train import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def setup():
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 320))
    te = px.data.load_dataset("digits", "test").subset(slice(0, 100))
    norm = px.data.Normalize.for_dataset("digits")
    tr, te = dataclasses.replace(tr, x=norm(tr.x)), dataclasses.replace(te, x=norm(te.x))
    net = px.Network.from_example(px.models.mlp(10, hidden=(32,)), tr.x[:1])
    rule = px.PC(inference=px.Inference(steps=4, optimizer=optax.sgd(0.1, momentum=0.5)))
    return net, rule, tr, te


def _trainer(setup, out, epochs, **kw):
    net, rule, tr, te = setup
    return px.Trainer(
        net,
        rule,
        optax.adamw(1e-3),
        tr,
        te,
        epochs=epochs,
        batch_size=32,
        out_dir=out,
        progress=False,
        steps_per_call=3,
        after_fit=(px.viz.plot_run,),  # the pictures, drawn from the run directory
        **kw,
    )


def test_same_seed_same_numbers_and_exact_resume(setup, tmp_path):
    full = _trainer(setup, tmp_path / "full", 3)
    s_full = full.fit()
    again = _trainer(setup, tmp_path / "again", 3)
    s_again = again.fit()
    assert s_full["history"][-1]["test_accuracy"] == s_again["history"][-1]["test_accuracy"]
    # interrupted after epoch 1, then resumed to epoch 3
    _trainer(setup, tmp_path / "part", 1).fit()
    resumed = _trainer(setup, tmp_path / "part", 3)
    s_res = resumed.fit(resume=True)
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params), strict=True):
        np.testing.assert_array_equal(a, b)  # bitwise on CPU
    for a, b in zip(
        jax.tree.leaves(full.opt_state), jax.tree.leaves(resumed.opt_state), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    lines = [json.loads(l) for l in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]  # no duplicated or lost epoch
    assert s_res["test_accuracy"] == s_full["test_accuracy"]
    assert sorted(p.name for p in (tmp_path / "part" / "checkpoints").iterdir()) == [
        "epoch-0002.npz",
        "epoch-0003.npz",
    ]
    png = (tmp_path / "part" / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "part" / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["train_seconds_per_epoch"] > 0


def test_one_step_per_call_runs_the_same_steps_without_a_loop(setup):
    """steps_per_call=1 (each step its own compiled call, no lax.scan) trains the same steps
    with the same keys as a scanned chunk of 3: the same parameters and the same per-epoch
    metrics, to float tolerance (XLA may fuse the two programs differently)."""
    a = _trainer(setup, None, 2)
    b = dataclasses.replace(a, steps_per_call=1)
    sa, sb = a.fit(), b.fit()
    for u, v in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    for ra, rb in zip(sa["history"], sb["history"], strict=True):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-5)
        assert ra["test_accuracy"] == pytest.approx(rb["test_accuracy"], abs=0.011)


def test_existing_run_needs_resume(setup, tmp_path):
    _trainer(setup, tmp_path, 1).fit()
    with pytest.raises(px.ConfigError, match="already holds a run"):
        _trainer(setup, tmp_path, 2).fit()


def test_checkpoint_roundtrip_and_errors(tmp_path):
    tree = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": (np.int32(3),)}
    save_checkpoint(tmp_path / "c.npz", tree, {"epoch": 7})
    back, meta = load_checkpoint(tmp_path / "c.npz", tree)
    assert meta == {"epoch": 7}
    np.testing.assert_array_equal(back["a"], tree["a"])
    with pytest.raises(
        px.CheckpointError,
        match="array 0 is float32\\[2, 3\\] but this run expects float32\\[3, 2\\]",
    ):
        load_checkpoint(
            tmp_path / "c.npz", {"a": np.zeros((3, 2), np.float32), "b": (np.int32(0),)}
        )
    with pytest.raises(
        px.CheckpointError, match="has 2 arrays but this run's model/optimizer has 1"
    ):
        load_checkpoint(tmp_path / "c.npz", {"a": np.zeros((2, 3), np.float32)})
    data = (tmp_path / "c.npz").read_bytes()
    (tmp_path / "bad.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(px.CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "bad.npz", tree)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp files left


def test_checkpoints_carry_their_format(tmp_path):
    """A checkpoint records its layout's format; one of another format (an older plastix's
    layout, or a newer one's) is refused with a message naming both formats and the way out.
    Files written before the format was recorded have format 1's layout (the rules' state
    inside the parameters): refused too, with what changed."""
    import json
    import zipfile

    tree = {"a": np.arange(3, dtype=np.float32)}
    save_checkpoint(tmp_path / "c.npz", tree, {"epoch": 1})
    with np.load(tmp_path / "c.npz") as z:
        assert json.loads(bytes(z["__meta__"]).decode())["format"] == px.train.CHECKPOINT_FORMAT

    def write(name, meta):
        arrays = {
            "leaf_00000": tree["a"],
            "__meta__": np.frombuffer(json.dumps(meta).encode(), np.uint8),
        }
        np.savez(tmp_path / name, **arrays)

    assert px.train.CHECKPOINT_FORMAT == 2
    write("unversioned.npz", {"epoch": 2})
    write("f1.npz", {"epoch": 2, "format": 1})
    for name in ("unversioned.npz", "f1.npz"):
        with pytest.raises(
            px.CheckpointError, match=r"has format 1 but .* reads format 2 \(format 1 kept"
        ) as err:
            load_checkpoint(tmp_path / name, tree)
        assert "another --out directory" in str(err.value)
    for fmt in (0, px.train.CHECKPOINT_FORMAT + 1):
        write(f"f{fmt}.npz", {"epoch": 2, "format": fmt})
        with pytest.raises(px.CheckpointError, match=f"has format {fmt} but .* reads format 2"):
            load_checkpoint(tmp_path / f"f{fmt}.npz", tree)
    assert zipfile.is_zipfile(tmp_path / "c.npz")


def test_exact_resume_carries_the_rules_state(tmp_path):
    """Forward-Forward keeps running means and a step counter beside its parameters: a run
    resumed after epoch 1 ends with the same parameters, state and optimizer state, bit for
    bit, as an uninterrupted one (the state is checkpointed, not rebuilt)."""
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 128))
    te = px.data.load_dataset("digits", "test").subset(slice(0, 64))
    net = px.Network.from_example(px.models.mlp(10, hidden=(16, 16), activation="relu"), tr.x[:1])

    def trainer(out, epochs):
        return px.Trainer(
            net, px.FF(), optax.adam(1e-3), tr, te, epochs=epochs, batch_size=32,
            out_dir=out, progress=False, devices=jax.devices()[:1],
        )  # fmt: skip

    full = trainer(tmp_path / "full", 2)
    full.fit()
    trainer(tmp_path / "part", 1).fit()
    resumed = trainer(tmp_path / "part", 2)
    resumed.fit(resume=True)
    assert int(full.state["step"]) == 2 * 128 // 32
    for a, b in zip(
        jax.tree.leaves((full.params, full.state, full.opt_state)),
        jax.tree.leaves((resumed.params, resumed.state, resumed.opt_state)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_trainer_rejects_mismatched_data(setup):
    net, rule, tr, te = setup
    with pytest.raises(px.ConfigError, match="batch_size must be in 1..320"):
        px.Trainer(net, rule, optax.adam(1e-3), tr, te, batch_size=1000)
    wrong = px.Network.from_example(px.models.mlp(3, hidden=(8,)), tr.x[:1])
    with pytest.raises(
        px.ShapeError, match="10 classes but the network's output node has shape \\(3,\\)"
    ):
        px.Trainer(wrong, rule, optax.adam(1e-3), tr, te)


def test_divergence_mid_run_keeps_the_last_good_checkpoint(setup, tmp_path):
    """A loss that turns NaN in epoch 2 stops training with a clear message; epoch 1's
    checkpoint and log stay intact and equal those of a healthy run."""
    import equinox as eqx
    import jax.numpy as jnp

    class NaNAfter(px.PC):
        after: int = eqx.field(static=True, default=15)  # steps; 10 steps per epoch here

        def step(self, net, params, state, opt_state, optimizer, batch, *, key=None):
            p, s, o, m = super().step(net, params, state, opt_state, optimizer, batch, key=key)
            count = o[0].count  # adamw's step counter
            return p, s, o, {**m, "loss": jnp.where(count > self.after, jnp.nan, m["loss"])}

    net, rule, tr, te = setup
    bad = NaNAfter(inference=rule.inference)
    trainer = px.Trainer(
        net, bad, optax.adamw(1e-3), tr, te, epochs=3, batch_size=32,
        out_dir=tmp_path / "bad", progress=False, steps_per_call=3,
    )  # fmt: skip
    with pytest.raises(px.DivergenceError, match="loss became nan at epoch 2, step 5"):
        trainer.fit()
    ckpts = sorted(p.name for p in (tmp_path / "bad" / "checkpoints").glob("*.npz"))
    assert ckpts == ["epoch-0001.npz"]
    metrics = (tmp_path / "bad" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in metrics] == [1]
    good = _trainer(setup, tmp_path / "good", 1)
    good.fit()
    like = good.init()
    (p_bad, _, _), _ = load_checkpoint(tmp_path / "bad" / "checkpoints" / "epoch-0001.npz", like)
    for a, b in zip(jax.tree.leaves(p_bad), jax.tree.leaves(good.params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_rmsprop_is_lee_et_al_s_centred_rmsprop():
    """Three steps against the update written out by hand as in Lee et al. (2015)'s DTP code
    (running mean and mean square with coefficient rho, epsilon inside the root, momentum on
    the normalised step)."""
    lr, rho, eps, mu = 0.01, 0.95, 1e-3, 0.9
    opt = px.train.RMSprop(lr=lr, decay=rho, eps=eps, centered=True, momentum=mu)
    tx = opt.make(steps_per_epoch=3, epochs=1)
    theta = np.array([0.5, -1.0, 2.0])
    grads = [np.array([0.3, -0.2, 0.0]), np.array([0.1, 0.4, -1.0]), np.array([-0.5, 0.2, 0.3])]
    p, st = jax.numpy.asarray(theta, dtype=np.float32), tx.init(jax.numpy.zeros(3))
    m = v = u = np.zeros(3)
    for g in grads:
        m, v = rho * m + (1 - rho) * g, rho * v + (1 - rho) * g**2
        u = mu * u - lr * g / np.sqrt(v - m**2 + eps)
        theta = theta + u
        upd, st = tx.update(jax.numpy.asarray(g, dtype=np.float32), st, p)
        p = optax.apply_updates(p, upd)
    np.testing.assert_allclose(p, theta, rtol=1e-5)
    with pytest.raises(px.ConfigError, match="decay must be in"):
        px.train.RMSprop(decay=1.0)
    with pytest.raises(px.ConfigError, match="lr must be"):
        px.train.RMSprop(lr=-1.0)
    with pytest.raises(px.ConfigError, match="eps must be a finite number > 0"):
        px.train.RMSprop(eps=0.0)


def test_hold_linear_holds_then_cools_down_linearly():
    """SGD without momentum on a constant gradient of 1 moves the weight by minus the sum of
    the learning rates, step by step; a run of 2 epochs x 5 steps holding for half of them
    takes the rates written out by hand: 1 for steps 0-5, then a line to ``end_factor`` at
    step 9."""
    for end, rates in (
        (0.0, [1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0.0]),
        (0.2, [1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2]),
    ):
        opt = px.train.SGD(
            lr=0.1, momentum=0.0, schedule=px.train.HoldLinear(hold_fraction=0.5, end_factor=end)
        )
        tx = opt.make(steps_per_epoch=5, epochs=2)
        p = jax.numpy.zeros(())
        st = tx.init(p)
        moved = []
        for _ in rates:
            upd, st = tx.update(jax.numpy.ones(()), st, p)
            moved.append(-float(upd))
            p = optax.apply_updates(p, upd)
        np.testing.assert_allclose(moved, 0.1 * np.array(rates), rtol=1e-6, atol=1e-8)
    cfg = px.config.from_preset("ff-mnist", {"optimizer.schedule.name": "hold-linear"})
    assert isinstance(cfg.optimizer.schedule, px.train.HoldLinear)
    with pytest.raises(px.ConfigError, match="hold_fraction must be in"):
        px.train.HoldLinear(hold_fraction=1.0)
    with pytest.raises(px.ConfigError, match="end_factor must be in"):
        px.train.HoldLinear(end_factor=1.5)


def test_compiled_start_draws_what_the_rule_draws(setup):
    """The initial carry (one compiled program) holds the rule's own draws and the
    optimizer's state, and an epoch's per-step keys (another) are the documented stream
    ``split(fold_in(fold_in(key(seed), 1000003), epoch), steps)``, computed here op by op."""
    net, rule, _, _ = setup
    t = _trainer(setup, None, 1, seed=7)
    params, state, opt_state = t.init()
    want, want_state = rule.init(net, key=jax.random.key(7))
    assert state is None and want_state is None
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
    for a, b in zip(
        jax.tree.leaves(opt_state), jax.tree.leaves(optax.adamw(1e-3).init(want)), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
    base = jax.random.fold_in(jax.random.key(7), 1_000_003)
    for epoch in (1, 2):
        keys = jax.random.split(jax.random.fold_in(base, epoch), t.steps_per_epoch)
        np.testing.assert_array_equal(t._keys(epoch), jax.random.key_data(keys))


@pytest.mark.parametrize("seed", [2**32, 2**32 + 1, -1, np.int64(2**40)])
def test_seed_outside_the_key_space_is_refused(setup, seed):
    with pytest.raises(px.ConfigError, match=r"seed must lie in \[0, 2\*\*32\)"):
        _trainer(setup, None, 1, seed=seed)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: px.rules.FA(seed=s),
        lambda s: px.rules.DFA(seed=s),
        lambda s: px.rules.DRTP(seed=s),
        lambda s: px.rules.FF(embedding_seed=s),
        lambda s: px.memory.HopfieldTask(seed=s),
        lambda s: px.memory._tasks.STDPTask(seed=s),
    ],
)
def test_every_seed_option_refuses_seeds_jax_would_fold(make):
    """A rule's or task's own seed goes to ``jax.random.key`` as the Trainer's does: seeds
    that share another seed's draws are refused there too."""
    make(2**32 - 1)  # the largest seed JAX tells apart
    assert jax.random.key_data(jax.random.key(2**32 + 1)).tolist() == [0, 1]  # = key(1)
    for bad in (2**32 + 1, -1):
        with pytest.raises(px.ConfigError, match=r"seed must lie in \[0, 2\*\*32\)"):
            make(bad)


def test_compile_alone_trains_nothing_and_changes_nothing(setup, tmp_path):
    """``Trainer.compile`` compiles what ``fit`` compiles before its first epoch (reported by
    program), writes no run directory, and a ``fit`` after it ends with the numbers of a
    ``fit`` without it."""
    t = _trainer(setup, tmp_path / "compiled", 1)
    secs = t.compile()
    assert set(secs["compile_seconds_by_program"]) == {"train", "eval"}
    assert secs["compile_seconds"] >= secs["compile_seconds_by_program"]["train"] > 0
    assert not (tmp_path / "compiled").exists()
    after = t.fit()
    plain = _trainer(setup, tmp_path / "plain", 1).fit()
    assert after["test_accuracy"] == plain["test_accuracy"]
    assert after["history"][-1]["train_loss"] == plain["history"][-1]["train_loss"]
