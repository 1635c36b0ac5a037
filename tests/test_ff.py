"""Forward-Forward: expectations from the algorithm's definition (Hinton 2022), checked against
independent numpy computations, ``jax.grad`` and small training runs."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from plastix.cli import main
from plastix.rules import (
    FF,
    FFInit,
    FFLoss,
    FFNorm,
    FFPrediction,
    Goodness,
    LabelEncoding,
    Supervision,
    hybrid_images,
    wrong_labels,
)


def _net(features: int = 24, hidden=(16, 16, 16), classes: int = 3, act: str = "relu"):
    edges = px.models.mlp(classes, hidden=hidden, activation=act)
    return px.Network.from_example(edges, jnp.zeros((1, features)))


def _batch(key, n: int = 32, features: int = 24, classes: int = 3):
    kx, ky = jax.random.split(key)
    x = jax.random.uniform(kx, (n, features))
    y = jax.nn.one_hot(jax.random.randint(ky, (n,), 0, classes), classes)
    return x, y


# --------------------------------------------------------------------------- negatives


def test_wrong_labels_never_true_and_uniform_over_the_others():
    c, n = 10, 90_000
    y = jax.random.randint(jax.random.key(0), (n,), 0, c)
    neg = np.asarray(wrong_labels(jax.random.key(1), y, c))
    y = np.asarray(y)
    assert not np.any(neg == y)
    # given the true class, each of the other 9 classes has probability 1/9
    for true in (0, 4, 9):
        counts = np.bincount(neg[y == true], minlength=c) / np.sum(y == true)
        others = np.delete(counts, true)
        assert counts[true] == 0
        np.testing.assert_allclose(others, 1 / 9, atol=0.012)


@pytest.mark.parametrize("label", list(LabelEncoding))
def test_negative_inputs_never_carry_the_true_label(label):
    net, c = _net(features=40, classes=5), 5
    rule = FF(label=label, label_value=1.0)
    params, _ = rule.init(net, key=jax.random.key(0))
    x, y = _batch(jax.random.key(1), n=500, features=40, classes=c)
    pos, neg = jax.jit(lambda p: rule.positives_negatives(net, p, x, y, jax.random.key(2)))(params)
    if label is LabelEncoding.OVERLAY:
        dec_pos, dec_neg = pos[:, :c], neg[:, :c]
        np.testing.assert_array_equal(dec_pos, y)  # exactly one-hot, value 1
    else:  # decode the label from the added embedding (least squares on the known rows)
        emb = rule._embedding(net, params)
        dec_pos = (pos - x) @ jnp.linalg.pinv(emb)
        dec_neg = (neg - x) @ jnp.linalg.pinv(emb)
        np.testing.assert_allclose(dec_pos, y, atol=1e-4)
    np.testing.assert_allclose(jnp.max(dec_neg, -1), 1.0, atol=1e-4)  # one label each ...
    assert not np.any(np.argmax(dec_neg, -1) == np.argmax(y, -1))  # ... never the true one
    np.testing.assert_array_equal(pos.reshape(500, -1)[:, c:] if label is LabelEncoding.OVERLAY else 0,
                                  x[:, c:] if label is LabelEncoding.OVERLAY else 0)  # fmt: skip


def test_hybrid_images_mix_two_different_images_through_smooth_masks():
    n, h, w = 16, 28, 28
    # image b is constant b + 1: every hybrid pixel tells which image it came from
    x = jnp.broadcast_to(jnp.arange(1.0, n + 1)[:, None, None, None], (n, h, w, 1))
    neg = np.asarray(jax.jit(lambda x: hybrid_images(jax.random.key(3), x, steps=8))(x))[..., 0]
    for b in range(n):
        vals = set(np.unique(neg[b]).tolist())
        assert b + 1 in vals and len(vals) == 2  # itself and exactly one other image
    mask = neg == np.arange(1.0, n + 1)[:, None, None]
    assert 0.3 < mask.mean() < 0.7
    # blurred noise: neighbouring pixels agree far more often than for independent bits (1/2)
    agree = np.mean(mask[:, 1:, :] == mask[:, :-1, :])
    assert agree > 0.85
    with pytest.raises(px.ShapeError, match="batch size >= 2"):
        hybrid_images(jax.random.key(0), x[:1])


# --------------------------------------------------------------------------- locality


def test_no_gradient_crosses_a_layer_boundary():
    net = _net()
    rule = FF(peer_weight=0.0)
    params, state = rule.init(net, key=jax.random.key(0))
    batch, key = _batch(jax.random.key(1)), jax.random.key(2)
    chain = rule.chain(net)[:-1]
    per_layer = []
    jac = jax.jit(jax.jacrev(lambda p: rule.layer_losses(net, p, state, batch, key=key)))(params)
    for k in range(len(chain)):
        g = jax.tree.map(lambda a, k=k: a[k], jac)
        per_layer.append(g)
        for j, e in enumerate(chain):
            norm = sum(float(jnp.sum(jnp.abs(a))) for a in jax.tree.leaves(g["layers"][e]))
            if j == k:
                assert norm > 0
            else:
                assert norm == 0.0, f"layer {k}'s loss reaches layer {j}"
    # the rule's gradient of each layer is that layer's own loss gradient
    g, _, _ = jax.jit(lambda p: rule.grads(net, p, state, batch, key=key))(params)
    for k, e in enumerate(chain):
        for a, b in zip(
            jax.tree.leaves(g["layers"][e]), jax.tree.leaves(per_layer[k]["layers"][e])
        ):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def _np_forward(params, chain, x, norm, eps, full=True):
    """Independent numpy forward pass: normalise, linear, ReLU, per layer."""
    h, acts = np.asarray(x, np.float64).reshape(len(x), -1), []
    for i in chain:
        (w, b) = (np.asarray(params["layers"][i][-2]["w"], np.float64),
                  np.asarray(params["layers"][i][-2]["b"], np.float64))  # fmt: skip
        if norm is FFNorm.RMS:
            scale = np.sqrt(np.mean(h**2, -1, keepdims=True))
        else:
            scale = np.sqrt(np.sum(h**2, -1, keepdims=True))
        a = np.maximum((h / (scale + eps)) @ w + b, 0)
        acts.append(a)
        h = a
    return acts


@pytest.mark.parametrize(
    ("goodness", "norm", "skip"),
    [(Goodness.SUM, FFNorm.RMS, True), (Goodness.MEAN, FFNorm.LENGTH, False)],
)
def test_prediction_by_goodness_equals_brute_force_over_all_labels(goodness, norm, skip):
    c, f = 4, 30
    net = _net(features=f, classes=c)
    rule = FF(goodness=goodness, norm=norm, skip_first=skip, prediction=FFPrediction.GOODNESS,
              label_value=2.5)  # fmt: skip
    params, _ = rule.init(net, key=jax.random.key(0))
    x, _ = _batch(jax.random.key(1), n=64, features=f, classes=c)
    chain = rule.chain(net)[:-1]
    scores = np.zeros((64, c))
    for label in range(c):
        xl = np.asarray(x, np.float64).copy()
        xl[:, :c] = 0.0
        xl[:, label] = 2.5
        acts = _np_forward(params, chain, xl, norm, rule.eps)
        for a in acts[1 if skip else 0 :]:
            scores[:, label] += np.sum(a**2, -1) if goodness is Goodness.SUM else np.mean(a**2, -1)
    got = np.asarray(jax.jit(lambda p, x: rule.predict(net, p, None, x))(params, x))
    np.testing.assert_allclose(got, scores, rtol=1e-4)
    np.testing.assert_array_equal(np.argmax(got, -1), np.argmax(scores, -1))


def test_linear_prediction_reads_the_neutral_label_features():
    c, f = 3, 24
    net = _net(features=f, classes=c)
    rule = FF()
    params, _ = rule.init(net, key=jax.random.key(0))
    w = jax.random.normal(jax.random.key(5), params["classifier"]["w"].shape)
    params = {**params, "classifier": {"w": w}}
    x, _ = _batch(jax.random.key(1), features=f, classes=c)
    xn = np.asarray(x, np.float64).copy()
    xn[:, :c] = 1.0 / c
    acts = _np_forward(params, rule.chain(net)[:-1], xn, FFNorm.RMS, rule.eps)
    feats = np.concatenate(
        [a / (np.sqrt(np.mean(a**2, -1, keepdims=True)) + rule.eps) for a in acts[1:]], -1
    )
    np.testing.assert_allclose(
        rule.predict(net, params, None, x), feats @ np.asarray(w), rtol=1e-4, atol=1e-4
    )


# --------------------------------------------------------------------------- losses


def test_layer_losses_match_their_formulas():
    ka, kb = jax.random.split(jax.random.key(0))
    ap, an = (
        jax.nn.relu(jax.random.normal(ka, (50, 8))),
        jax.nn.relu(jax.random.normal(kb, (50, 8))),
    )
    gp, gn = np.sum(np.asarray(ap) ** 2, -1), np.sum(np.asarray(an) ** 2, -1)
    th = 8.0  # one per unit
    seed_loss = np.mean(np.log1p(np.exp(np.concatenate([th - gp, gn - th]))))  # the seed's
    np.testing.assert_allclose(FF().layer_loss(ap, an), seed_loss, rtol=1e-5)
    symba = np.mean(np.log1p(np.exp(-4.0 * (gp - gn))))
    np.testing.assert_allclose(FF(loss=FFLoss.SYMBA).layer_loss(ap, an), symba, rtol=1e-5)
    gpm, gnm = gp / 8, gn / 8
    mean3 = np.mean(np.log1p(np.exp(np.concatenate([3 - gpm, gnm - 3]))))
    np.testing.assert_allclose(
        FF(goodness=Goodness.MEAN, threshold=3.0).layer_loss(ap, an), mean3, rtol=1e-5
    )


def test_normalisation_keeps_only_the_direction():
    a = jax.random.normal(jax.random.key(0), (5, 7)) * jnp.arange(1.0, 6.0)[:, None]
    length = FF(norm=FFNorm.LENGTH, eps=1e-12).normalize(a)
    rms = FF(norm=FFNorm.RMS, eps=1e-12).normalize(a)
    np.testing.assert_allclose(jnp.linalg.norm(length, axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(jnp.sqrt(jnp.mean(rms**2, -1)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(rms, length * math.sqrt(7), rtol=1e-5)


def test_peer_normalisation_running_mean_and_loss():
    net = _net()
    rule = FF(peer_weight=0.5, peer_momentum=0.8)
    params, state = rule.init(net, key=jax.random.key(0))
    batch, key = _batch(jax.random.key(1)), jax.random.key(2)
    opt = optax.sgd(0.0)
    _, new, _, metrics = rule.step(net, params, state, opt.init(params), opt, batch, key=key)
    pos, _ = rule.positives_negatives(net, params, *batch, key)
    acts = rule.activities(net, params, pos)
    expect_loss = 0.0
    for l, a in enumerate(acts):
        r = 0.8 * 0.5 + 0.2 * np.mean(np.asarray(a), 0)
        np.testing.assert_allclose(new["peer"][l], r, rtol=1e-5)
        expect_loss += np.mean((np.mean(r) - r) ** 2)
    np.testing.assert_allclose(metrics["peer_loss"], expect_loss, rtol=1e-4)
    assert int(new["step"]) == 1


def test_greedy_training_updates_one_layer_at_a_time():
    net = _net()
    rule = FF(greedy_steps=2)
    params, state = rule.init(net, key=jax.random.key(0))
    opt = optax.sgd(0.1, momentum=0.9)
    ostate = opt.init(params)
    chain = rule.chain(net)[:-1]
    step = jax.jit(lambda p, s, o, b, k: rule.step(net, p, s, o, opt, b, key=k))
    for t in range(6):
        batch = _batch(jax.random.key(10 + t))
        new, state, ostate, m = step(params, state, ostate, batch, jax.random.key(t))
        changed = [
            any(bool(jnp.any(a != b)) for a, b in zip(jax.tree.leaves(new["layers"][i]), jax.tree.leaves(params["layers"][i])))
            for i in chain
        ]  # fmt: skip
        assert changed == [l == t // 2 for l in range(3)], (t, changed)
        assert int(m["active_layer"]) == t // 2
        assert bool(jnp.any(new["classifier"]["w"] != params["classifier"]["w"]))
        params = new


def test_learned_embedding_is_trained_by_the_first_layer_only():
    net = _net(features=24)
    rule = FF(label=LabelEncoding.LEARNED_EMBEDDING, peer_weight=0.0)
    params, state = rule.init(net, key=jax.random.key(0))
    batch, key = _batch(jax.random.key(1)), jax.random.key(2)
    jac = jax.jit(jax.jacrev(lambda p: rule.layer_losses(net, p, state, batch, key=key)))(params)
    g0 = jax.tree.map(lambda a: a[0], jac)
    g1 = jax.tree.map(lambda a: jnp.sum(a[1:], 0), jac)
    assert float(jnp.sum(jnp.abs(g0["embedding"]))) > 0
    assert float(jnp.sum(jnp.abs(g1["embedding"]))) == 0.0
    fixed = FF(label=LabelEncoding.FIXED_EMBEDDING)
    p2, _ = fixed.init(net, key=jax.random.key(0))
    assert "embedding" not in p2
    np.testing.assert_array_equal(fixed._embedding(net, p2), params["embedding"])


# --------------------------------------------------------------------------- learning


def _digits():
    train = px.data.load_dataset("digits", "train")
    test = px.data.load_dataset("digits", "test")
    return train, test


def _fit(rule, hidden, steps, lr=3e-3, seed=0):
    train, test = _digits()
    net = px.Network.from_example(px.models.mlp(10, hidden=hidden, activation="relu"), train.x[:1])
    params, state = rule.init(net, key=jax.random.key(seed))
    opt = optax.adam(lr)
    xs, ys = jnp.asarray(train.x), jax.nn.one_hot(jnp.asarray(train.y), 10)

    @jax.jit
    def run(params, state, ostate, key):
        def body(carry, k):
            p, s, o = carry
            ki, kr = jax.random.split(k)
            idx = jax.random.choice(ki, xs.shape[0], (64,), replace=False)
            p, s, o, m = rule.step(net, p, s, o, opt, (xs[idx], ys[idx]), key=kr)
            return (p, s, o), m

        (p, _, o), ms = jax.lax.scan(body, (params, state, ostate), jax.random.split(key, steps))
        return p, o, ms

    params, _, ms = run(params, state, opt.init(params), jax.random.key(seed + 1))
    return net, params, ms, test


def test_goodness_of_positives_rises_above_negatives_during_training():
    rule = FF(prediction=FFPrediction.GOODNESS)
    net, params, ms, test = _fit(rule, (64, 64), steps=300)
    for l in range(2):
        gp, gn = np.asarray(ms[f"goodness_pos_{l}"]), np.asarray(ms[f"goodness_neg_{l}"])
        # at the start the label is a small part of the input: positives ~ negatives
        assert abs(gp[0] - gn[0]) < 0.1 * gp[0]
        # at the end positives are above the threshold (64) and negatives below it
        assert gp[-20:].mean() > 64 > gn[-20:].mean()
        # and far enough that the logistic loss is small: sigmoid(2) = 0.88
        assert gp[-20:].mean() - 64 > 2 and 64 - gn[-20:].mean() > 2
        assert np.asarray(ms[f"ff_accuracy_{l}"])[-20:].mean() > 0.85
    acc = np.mean(np.argmax(rule.predict(net, params, None, jnp.asarray(test.x)), -1) == test.y)
    assert acc > 0.85, acc


@pytest.mark.slow
def test_unsupervised_ff_features_support_a_linear_readout():
    rule = FF(supervision=Supervision.UNSUPERVISED, blur_steps=2)
    net, params, ms, test = _fit(rule, (64, 64), steps=300)
    assert (
        np.asarray(ms["goodness_pos_1"])[-20:].mean()
        > np.asarray(ms["goodness_neg_1"])[-20:].mean()
    )
    acc = np.mean(np.argmax(rule.predict(net, params, None, jnp.asarray(test.x)), -1) == test.y)
    assert acc > 0.7, acc  # chance is 0.1


# --------------------------------------------------------------------------- bad input


def test_more_classes_than_the_overlay_can_encode():
    net = _net(features=8, classes=10)
    with pytest.raises(px.ShapeError, match="10 classes cannot be encoded"):
        FF().init(net, key=jax.random.key(0))
    FF(label=LabelEncoding.FIXED_EMBEDDING, skip_first=False).check(net)  # an embedding can


def test_inputs_too_small_for_the_overlay():
    net = _net(features=15, classes=10)
    with pytest.raises(px.ShapeError, match="too small for the label overlay"):
        FF().check(net)


def test_bad_configurations_are_clear_errors(capsys):
    with pytest.raises(px.ConfigError, match="prediction='linear'"):
        FF(supervision=Supervision.UNSUPERVISED, prediction=FFPrediction.GOODNESS)
    with pytest.raises(px.ShapeError, match="H, W >= 2"):
        FF(supervision=Supervision.UNSUPERVISED).check(_net())
    with pytest.raises(px.ConfigError, match="skip_first"):
        FF().check(_net(hidden=(16,)))
    with pytest.raises(px.GraphError, match="chain"):
        FF().check(px.Network.from_example(px.models.skip_mlp(3), jnp.zeros((1, 24))))
    with pytest.raises(px.ConfigError, match="unknown loss 'hinge'"):
        px.config.make_rule("ff", loss="hinge")
    net = _net()
    params, state = FF().init(net, key=jax.random.key(0))
    with pytest.raises(px.ConfigError, match="PRNG key"):
        FF().grads(net, params, state, _batch(jax.random.key(0)))
    with pytest.raises(px.ConfigError, match="threshold"):
        FF(threshold=-1.0)
    # FF's layer-local losses are not the output cost's gradient: no gradient check
    with pytest.raises(px.ConfigError, match="train.gradient_check=0"):
        px.rules.gradient_check(FF(), net, params, _batch(jax.random.key(0)))
    code = main(["train", "--rule", "ff", "--epochs", "1", "--set", "data.train_limit=64",
                 "--set", "train.gradient_check=8", "--no-progress"])  # fmt: skip
    assert code == 2 and "pass gradient_check=0" in capsys.readouterr().err


def test_registry_builds_every_option():
    rule = px.config.make_rule(
        "ff", goodness="mean", loss="symba", norm="length", prediction="goodness",
        label="learned-embedding", weight_init="network", supervision="supervised",
    )  # fmt: skip
    assert (rule.goodness, rule.loss, rule.norm, rule.prediction, rule.label, rule.weight_init) == (
        Goodness.MEAN, FFLoss.SYMBA, FFNorm.LENGTH, FFPrediction.GOODNESS,
        LabelEncoding.LEARNED_EMBEDDING, FFInit.NETWORK,
    )  # fmt: skip


@pytest.mark.slow
def test_ff_port_recipe_learns_mnist_in_two_epochs(mnist_dir, tmp_path):
    """The ``ff-mnist`` recipe (Löwe's port: held then linearly cooled learning rate) cut to 2
    of its 100 epochs, on the validation split: 95.14 % by the linear classifier when
    measured (BENCHMARKS.md, issue 16); a collapse or a broken schedule fails."""
    from plastix.cli import run_train
    from plastix.config import from_preset

    run = from_preset(
        "ff-mnist",
        {"data.dir": str(mnist_dir), "data.validation": 10000, "train.epochs": 2},
    )
    s = run_train(run, out=str(tmp_path / "ff"), resume=False, progress=False)
    assert s["test_accuracy"] >= 0.94, s["history"]


@pytest.mark.slow
def test_cli_trains_ff(tmp_path):
    out = tmp_path / "ff"
    assert main(["train", "--rule", "ff", "--epochs", "2", "--set", "model.activation=\"relu\"",
                 "--set", "data.train_limit=512", "--set", "data.test_limit=256",
                 "--set", "train.steps_per_call=8", "--set", "train.batch_size=64",
                 "--set", "optimizer.lr=0.003", "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rule"] == "ff" and summary["epochs"] == 2
    assert summary["test_accuracy"] > 0.3
    rec = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert "train_ff_accuracy_0" in rec[-1] and "train_goodness_pos_1" in rec[-1]


def test_layer_report_and_plot(tmp_path):
    from plastix.train import ff_layer_report
    from plastix.viz import plot_ff_layers

    net = _net(features=24, hidden=(8, 8), classes=3)
    rule = FF(peer_weight=0.0)
    params, _ = rule.init(net, key=jax.random.key(0))
    x, y = _batch(jax.random.key(1), n=40)
    labels = jnp.argmax(y, -1)
    rep = ff_layer_report(rule, net, params, x, labels, key=jax.random.key(2), batch_size=16)
    assert len(rep["layers"]) == 2
    # independent: goodness of positives = sum of squares of the numpy forward pass
    xp = np.asarray(x, np.float64).copy()
    xp[:, :3] = np.asarray(y)
    acts = _np_forward(params, rule.chain(net)[:-1], xp, FFNorm.RMS, rule.eps)
    for l, rec in enumerate(rep["layers"]):
        np.testing.assert_allclose(rec["goodness_pos"], np.sum(acts[l] ** 2, -1), rtol=1e-4)
        assert rec["threshold"] == 8.0 and 0 <= rec["goodness_accuracy"] <= 1
    png = plot_ff_layers(rep, tmp_path / "ff.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
