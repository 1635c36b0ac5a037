"""SoftHebb networks against their maths: the plastic update against an explicit loop over
patches, the fast matrix form against the vector-Jacobian form, the norm dynamics (weights
converge to the unit sphere), the read-out gradient against backprop, the phases, the
running batch statistics, the CLI on MNIST and the CIFAR-10 preset on a small slice."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from _compiled import assert_trees_close
from plastix.cli import main
from plastix.local import (
    BCM,
    WTA,
    Hebb,
    HebbConv2d,
    HebbDense,
    KrotovHopfield,
    LocalHebbian,
    Oja,
    Sanger,
    SoftHebb,
    neuron_norms,
    soft_wta,
    softhebb,
    softhebb_delta,
)
from plastix.rules._costs import CrossEntropy


def _conv_net(channels: int = 6) -> px.Network:
    return px.Network.from_example(
        [
            px.edge(HebbConv2d(channels, 3, padding=1, pool=px.nn.MaxPool(2)), [0, 1]),
            px.edge(HebbConv2d(channels, 3, padding=1, power=0.7), [1, 2]),
            px.edge(px.nn.Sequential([px.nn.Flatten(), px.nn.Linear(3)]), [2, 3]),
        ],
        jnp.zeros((1, 6, 6, 2)),
    )


def _batch(
    seed: int, n: int = 5, shape: tuple[int, ...] = (6, 6, 2)
) -> tuple[jax.Array, jax.Array]:
    k1, k2 = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(k1, (n, *shape))
    y = jax.nn.one_hot(jax.random.randint(k2, (n,), 0, 3), 3)
    return x, y


def test_soft_wta_closed_form():
    u = jnp.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    beta = 0.7
    e = np.exp(beta * np.asarray(u))
    sm = e / e.sum(1, keepdims=True)
    expected = -sm
    expected[np.arange(2), np.argmax(np.asarray(u), 1)] *= -1
    np.testing.assert_allclose(soft_wta(u, beta), expected, rtol=1e-6)
    np.testing.assert_allclose(soft_wta(u, beta, anti_hebbian=False), sm, rtol=1e-6)


def test_conv_update_equals_an_explicit_loop_over_patches():
    """dW[i,j,c,o] = sum_{n,h,w} y[n,h,w,o] xpad[n,h*s+i,w*s+j,c] - (sum y_o u_o) W[i,j,c,o],
    reflect padding, computed here with numpy loops."""
    layer = HebbConv2d(4, (3, 2), padding=1, stride=2)
    x = np.asarray(jax.random.normal(jax.random.key(0), (2, 7, 6, 3)))
    w = np.asarray(layer.init((7, 6, 3), key=jax.random.key(1))["w"])
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    kh, kw, _, cout = w.shape
    ho, wo = (xp.shape[1] - kh) // 2 + 1, (xp.shape[2] - kw) // 2 + 1
    u = np.zeros((2, ho, wo, cout))
    for n in range(2):
        for h in range(ho):
            for v in range(wo):
                patch = xp[n, 2 * h : 2 * h + kh, 2 * v : 2 * v + kw, :]
                u[n, h, v] = np.tensordot(patch, w, axes=3)
    np.testing.assert_allclose(
        layer.weighted_input(jnp.asarray(w), jnp.asarray(x)), u, rtol=1e-4, atol=1e-4
    )
    y = np.asarray(soft_wta(jnp.asarray(u), 0.3))
    dw = np.zeros_like(w)
    for n in range(2):
        for h in range(ho):
            for v in range(wo):
                patch = xp[n, 2 * h : 2 * h + kh, 2 * v : 2 * v + kw, :]
                dw += patch[..., None] * y[n, h, v][None, None, None, :]
    dw -= (y * u).sum((0, 1, 2)) * w
    got = softhebb_delta(
        layer, jnp.asarray(w), jnp.asarray(x), jnp.asarray(u, jnp.float32), jnp.asarray(y)
    )
    np.testing.assert_allclose(got, dw, rtol=1e-3, atol=1e-3 * np.abs(dw).max())
    # the fast matrix form used in training: the same numbers
    a, wm, shape = layer.matrix_form(jnp.asarray(w), jnp.asarray(x))
    np.testing.assert_allclose((a @ wm).reshape(shape), u, rtol=1e-4, atol=1e-4)
    ym = y.reshape(-1, cout)
    fast = layer.weights_from_matrix(a.T @ ym - jnp.sum(ym * (a @ wm), 0)[None, :] * wm, w.shape)
    np.testing.assert_allclose(fast, dw, rtol=1e-3, atol=1e-3 * np.abs(dw).max())


def test_dense_update_equals_the_plain_softhebb_function():
    """Two implementations of dw = y x - (y u) w: the network rule's block update and
    plastix.local.softhebb (mean over the batch, temperature = 1 / beta, returns -dW)."""
    layer = HebbDense(units=5)
    x = jax.random.normal(jax.random.key(0), (8, 7))
    w = layer.init((7,), key=jax.random.key(1))["w"]
    u = layer.weighted_input(w, x)
    d = softhebb_delta(layer, w, x, u, soft_wta(u, 2.0))
    ref = -softhebb(w, x, temperature=0.5, adaptive=False) * 8
    np.testing.assert_allclose(d, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make", [lambda: HebbDense(units=6), lambda: HebbConv2d(6, 3, padding=1)])
def test_weight_norms_converge_to_one(make):
    """d||w_j||^2/dt = 2 <y_j u_j> (1 - ||w_j||^2): from norm ~25 the neurons that win
    approach the unit sphere; every neuron's norm falls, none grows."""
    shape = (8, 8, 1)
    net = px.Network.from_example(
        [
            px.edge(make(), [0, 1]),
            px.edge(px.nn.Sequential([px.nn.Flatten(), px.nn.Linear(3)]), [1, 2]),
        ],
        jnp.zeros((1, *shape)),
    )
    rule = SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_steps=10**6)
    params, state = rule.init(net, key=jax.random.key(0))
    opt = optax.sgd(0.0)
    xs = jax.random.normal(jax.random.key(1), (400, 16, *shape))
    xs = xs + 2.0 * jnp.sign(jax.random.normal(jax.random.key(2), (1, 1, *shape)))  # structure

    @jax.jit
    def run(p, s):
        def body(carry, x):
            p, s = carry
            p, s, _, _ = rule.step(net, p, s, opt.init(p), opt, (x, jnp.zeros((16, 3))))
            return (p, s), None

        return jax.lax.scan(body, (p, s), xs)[0][0]

    norms0 = neuron_norms(params["layers"][0]["w"])
    norms = neuron_norms(run(params, state)["layers"][0]["w"])
    assert float(jnp.min(norms0)) > 10  # init_radius 25 (chi-distributed)
    assert bool(jnp.all(norms < norms0))
    assert float(jnp.median(jnp.abs(norms - 1))) < 0.1, norms


def test_readout_gradient_equals_backprop_and_phases_touch_only_their_part():
    net = _conv_net()
    rule = SoftHebb(lr=(0.05, 0.01), inverse_temperature=(1.0, 0.5), dropout=0.0, hebbian_steps=1)
    params, state = rule.init(net, key=jax.random.key(0))
    batch = _batch(1)
    g, _, _ = jax.jit(lambda p: rule.grads(net, p, state, batch))(params)
    bp, _, _ = jax.jit(lambda p: px.rules.BP(cost=CrossEntropy()).grads(net, p, None, batch))(
        rule.network_params(net, params, state)
    )
    assert_trees_close(g["layers"][2], bp[2], rtol=1e-4, atol=1e-6)
    assert all(float(jnp.max(jnp.abs(l))) == 0 for l in jax.tree.leaves(g["layers"][:2]))

    opt = optax.adam(1e-2)
    step = jax.jit(lambda p, s, o: rule.step(net, p, s, o, opt, batch, key=jax.random.key(3)))
    o = opt.init(params)
    p1, s1, o1, m1 = step(params, state, o)  # Hebbian
    assert int(m1["hebbian"]) == 1
    assert_trees_close(p1["layers"][2], params["layers"][2], rtol=0, atol=0)
    for i in (0, 1):
        assert not np.allclose(p1["layers"][i]["w"], params["layers"][i]["w"])
    assert_trees_close(o1, o, rtol=0, atol=0)  # the optimizer is not used
    p2, s2, _, m2 = step(p1, s1, o1)  # read-out
    assert int(m2["hebbian"]) == 0
    assert_trees_close(p2["layers"][:2], p1["layers"][:2], rtol=0, atol=0)
    assert not np.allclose(p2["layers"][2][1]["w"], p1["layers"][2][1]["w"])
    assert_trees_close(s2["stats"], s1["stats"], rtol=0, atol=0)  # frozen statistics
    assert int(s2["step"]) == 2


def test_hebbian_micro_batches_equal_consecutive_updates():
    """hebbian_batch=2 on a batch of 6: the same as three Hebbian passes on the thirds."""
    net = _conv_net()
    rule = SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_steps=5, hebbian_batch=2)
    params, state = rule.init(net, key=jax.random.key(0))
    x, y = _batch(4, n=6)
    opt = optax.sgd(0.1)
    p1, s1, _, _ = jax.jit(lambda p, s: rule.step(net, p, s, opt.init(p), opt, (x, y)))(
        params, state
    )
    p, s = params, state
    for k in range(3):
        p, s, _, _ = rule.hebbian_pass(net, p, s, x[2 * k : 2 * k + 2])
    assert_trees_close(p1["layers"], p["layers"], rtol=1e-4, atol=1e-5)
    assert_trees_close(s1["stats"], s["stats"], rtol=1e-4, atol=1e-5)
    with pytest.raises(px.ConfigError, match="hebbian_batch=4"):
        SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_steps=5, hebbian_batch=4).step(
            net, params, state, opt.init(params), opt, (x, y)
        )


def test_running_statistics_and_the_hebbian_step_by_hand():
    """bn_momentum=1: the running statistics become the batch's (unbiased variance); the
    first block's weights move by lr * (|norm - 1| + 1e-10)^0.5 * dW / max|dW|."""
    net = _conv_net()
    rule = SoftHebb(lr=0.05, inverse_temperature=0.8, bn_momentum=1.0, hebbian_steps=1)
    params, state = rule.init(net, key=jax.random.key(0))
    x, _ = _batch(2)
    new, new_state, _, _ = rule.hebbian_pass(net, params, state, x)
    layers, stats = new["layers"], new_state["stats"]
    xn = np.asarray(x)
    np.testing.assert_allclose(stats[0]["mean"], xn.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats[0]["var"], xn.reshape(-1, 2).var(0, ddof=1), rtol=1e-4)
    w = params["layers"][0]["w"]
    block = net.edges[0].layer
    xhat = (x - x.mean((0, 1, 2), keepdims=True)) / jnp.sqrt(x.var((0, 1, 2), keepdims=True) + 1e-5)
    u = block.weighted_input(w, xhat)
    d = softhebb_delta(block, w, xhat, u, soft_wta(u, 0.8))
    rate = 0.05 * np.sqrt(np.abs(np.asarray(neuron_norms(w)) - 1) + 1e-10)
    expected = w + rate[None, None, None, :] * d / jnp.max(jnp.abs(d))
    np.testing.assert_allclose(layers[0]["w"], expected, rtol=1e-4, atol=1e-4)


def test_errors_are_clear():
    net = _conv_net()
    with pytest.raises(px.ConfigError, match="2 Hebbian blocks"):
        SoftHebb(lr=(0.1, 0.2, 0.3)).check(net)
    with pytest.raises(px.ConfigError, match="positive"):
        SoftHebb(lr=-1.0)
    with pytest.raises(px.ConfigError, match="dropout"):
        SoftHebb(dropout=1.0)
    mlp = px.Network.from_example(px.models.mlp(3, hidden=(4,)), jnp.zeros((1, 5)))
    with pytest.raises(px.GraphError, match="Hebbian blocks"):
        SoftHebb().check(mlp)
    params, state = SoftHebb(lr=0.1, inverse_temperature=1.0).init(net, key=jax.random.key(0))
    opt = optax.adam(1e-3)
    with pytest.raises(px.ConfigError, match="hebbian_steps"):
        SoftHebb(lr=0.1, inverse_temperature=1.0).step(
            net, params, state, opt.init(params), opt, _batch(0)
        )
    with pytest.raises(px.ConfigError, match=r"rule.init\(net"):
        SoftHebb(lr=0.1, inverse_temperature=1.0).predict(
            net, params["layers"], state, _batch(0)[0]
        )
    with pytest.raises(px.ConfigError, match="not None"):
        SoftHebb(lr=0.1, inverse_temperature=1.0).predict(net, params, None, _batch(0)[0])
    with pytest.raises(px.ShapeError):
        HebbConv2d(0)
    with pytest.raises(px.ConfigError, match="pool"):
        HebbDense(units=3, pool=px.nn.MaxPool(2))


def test_sharded_softhebb_equals_single_device():
    """Data parallelism over the 4 test CPU devices for a Hebbian rule: the same parameters
    as one device, through the Hebbian and the read-out phase."""
    if len(jax.devices()) < 4:
        pytest.skip("needs 4 devices (jax_num_cpu_devices=4 in conftest)")
    rng = np.random.default_rng(0)
    data = px.data.ArrayDataset(
        rng.normal(size=(64, 6, 6, 2)).astype(np.float32), rng.integers(0, 3, 64), 3, "random"
    )
    net = _conv_net()
    out = {}
    for n in (1, 4):
        t = px.train.Trainer(
            net,
            SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_epochs=1, dropout=0.0),
            optax.adam(1e-2),
            data,
            epochs=2,
            batch_size=16,
            progress=False,
            devices=jax.devices()[:n],
        )
        t.fit()
        out[n] = t.params
    assert_trees_close(out[4], out[1], rtol=1e-4, atol=1e-5)


def test_cli_softhebb_on_real_mnist(mnist_dir, tmp_path):
    """`plastix train --rule softhebb` on an MNIST slice: the Hebbian epoch, then read-out
    epochs whose test accuracy is far above chance."""
    out = tmp_path / "run"
    code = main(
        [
            "train", "--preset", "softhebb-mnist", "--data-dir", str(mnist_dir), "--out", str(out),
            "--no-progress", "--epochs", "3", "--set", "data.train_limit=2000",
            "--set", "data.test_limit=1000", "--set", "model.channels=[8,16,32]",
            "--set", "train.batch_size=20", "--devices", "1",
            # the preset's cosine spans only the read-out's calls: over 2 short read-out
            # epochs a constant rate shows the features' quality, not the schedule's
            "--set", "optimizer.schedule=constant",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    hist = summary["history"]
    assert summary["rule"] == "softhebb" and len(hist) == 3
    assert hist[0]["train_hebbian"] == 1.0 and hist[1]["train_hebbian"] == 0.0
    assert hist[-1]["test_accuracy"] > 0.8, hist


def _dense_net(units: int, shape: tuple[int, ...] = (8,)) -> px.Network:
    return px.Network.from_example(
        [px.edge(HebbDense(units=units), [0, 1]), px.edge(px.nn.Linear(3), [1, 2])],
        jnp.zeros((1, *shape)),
    )


def test_local_sanger_through_the_trainer_finds_the_principal_components():
    """update=sanger on standardised Gaussian data: the block's columns converge to the top-3
    eigenvectors of the standardised data's covariance (numpy), in order."""
    rng = np.random.default_rng(0)
    d, n = 8, 4096
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    x = (rng.normal(size=(n, d)) * np.linspace(3.0, 0.5, d)) @ q.T
    images = x.reshape(n, 1, d, 1).astype(np.float32)  # datasets are NHWC; the block flattens
    data = px.data.ArrayDataset(images, rng.integers(0, 3, n), 3, "gauss")
    # the plain (unnormalised) Sanger step; the default normalises the step (Krotov-Hopfield's)
    rule = LocalHebbian(
        update=Sanger(), lr=0.01, hebbian_epochs=6, dropout=0.0, normalise_step=False
    )
    t = px.train.Trainer(
        _dense_net(3, (1, d, 1)), rule, optax.adam(1e-3), data, epochs=6, batch_size=32, progress=False,
        devices=jax.devices()[:1],
    )  # fmt: skip
    t.fit()
    w = np.asarray(t.params["layers"][0]["w"])
    xs = (x - x.mean(0)) / x.std(0)
    evecs = np.linalg.eigh(np.cov(xs.T))[1][:, ::-1][:, :3]
    cos = np.abs(np.sum(w * evecs, 0)) / np.linalg.norm(w, axis=0)
    assert np.all(cos > 0.99), cos
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0, atol=0.05)


def test_local_updates_match_their_functions_and_bcm_carries_its_threshold():
    """One Hebbian step of each update equals W - lr * f(W, x_hat) with the pure function."""
    from plastix.local import bcm, hebb, krotov_hopfield, oja, sanger, wta

    net = _dense_net(5)
    x, y = _batch(0, n=6, shape=(8,))
    xhat = (x - x.mean(0, keepdims=True)) / jnp.sqrt(x.var(0, keepdims=True) + 1e-5)
    fns = {
        Hebb(decay=0.3): lambda w, th: hebb(w, xhat, decay=0.3),
        Oja(): lambda w, th: oja(w, xhat),
        Sanger(): lambda w, th: sanger(w, xhat),
        WTA(): lambda w, th: wta(w, xhat),
        KrotovHopfield(p=2.0, k=3, delta=0.2): lambda w, th: krotov_hopfield(
            w, xhat, p=2.0, k=3, delta=0.2
        ),
        BCM(tau=50.0): lambda w, th: bcm(w, th, xhat, tau=50.0)[0],
    }
    for update, fn in fns.items():
        rule = LocalHebbian(update=update, lr=0.1, hebbian_steps=3, normalise_step=False)
        params, state = rule.init(net, key=jax.random.key(1))
        new, _, _, _ = rule.hebbian_pass(net, params, state, x)
        w0 = params["layers"][0]["w"]
        expected = w0 - 0.1 * fn(w0, state["update"][0])
        np.testing.assert_allclose(
            new["layers"][0]["w"], expected, rtol=1e-4, atol=1e-5, err_msg=update.name
        )
    rule = LocalHebbian(update=BCM(), lr=0.1, hebbian_steps=3, normalise_step=False)
    params, state = rule.init(net, key=jax.random.key(1))
    np.testing.assert_array_equal(state["update"][0], np.zeros(5))  # theta starts at 0
    opt = optax.adam(1e-3)
    _, s1, _, _ = jax.jit(lambda p, s: rule.step(net, p, s, opt.init(p), opt, (x, y)))(
        params, state
    )
    assert float(jnp.min(s1["update"][0])) > 0  # theta tracks <y^2> > 0
    assert "theta" not in params["layers"][0]  # state, not a parameter


def test_local_rule_errors():
    with pytest.raises(px.GraphError, match="HebbDense"):
        LocalHebbian().check(_conv_net())
    with pytest.raises(px.ConfigError, match="unknown update 'nope'"):
        px.config.make_rule("hebbian", update="nope")
    with pytest.raises(px.ConfigError, match="init_radius > 0 and power > 0"):
        HebbDense(units=4, power=0.0)
    with pytest.raises(px.ConfigError, match="init_radius > 0 and power > 0"):
        HebbDense(units=4, init_radius=-1.0)
    # anneal needs the Hebbian phase's length, which only hebbian_steps or the Trainer gives
    net = _dense_net(3)
    rule = LocalHebbian(anneal=True)
    params, state = rule.init(net, key=jax.random.key(0))
    with pytest.raises(px.ConfigError, match="anneal=True .* pass hebbian_steps"):
        rule.hebbian_pass(net, params, state, jnp.ones((2, 8)))


def test_cli_hebbian_rule_on_real_mnist(mnist_dir, tmp_path):
    """`plastix train --rule hebbian` (Krotov-Hopfield by default) on an MNIST slice."""
    out = tmp_path / "run"
    code = main(
        [
            "train", "--preset", "hebbian-mnist", "--data-dir", str(mnist_dir), "--out", str(out),
            "--no-progress", "--epochs", "4", "--set", "data.train_limit=3000",
            "--set", "data.test_limit=1000", "--set", "model.hidden=[200]", "--devices", "1",
            "--set", "train.batch_size=20",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rule"] == "hebbian"
    # 150 Krotov-Hopfield steps on 3000 images and a 3-epoch read-out: far above chance (0.1);
    # the full preset's numbers are in BENCHMARKS.md
    assert summary["history"][-1]["test_accuracy"] > 0.6, summary["history"]


def test_tanh_power_cost_against_its_formula_and_backprop_readout():
    """Krotov & Hopfield's read-out cost sum_k |tanh(beta o_k) - (2 y_k - 1)|^m, written out in
    numpy; at zero output every unit is one away from its +-1 target, so the cost is the number
    of classes for any m; the Hebbian rule's read-out gradient under it equals backprop's."""
    rng = np.random.default_rng(3)
    o = rng.normal(size=(4, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]]
    want = np.sum(np.abs(np.tanh(0.7 * o) - (2 * y - 1)) ** 6, axis=1)
    got = px.TanhPower(beta=0.7)(jnp.asarray(o), jnp.asarray(y))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for m in (1.0, 3.0, 6.0):
        assert float(px.TanhPower(m=m)(jnp.zeros((1, 3)), jnp.asarray(y[:1]))[0]) == 3.0
    with pytest.raises(px.ConfigError, match="beta > 0"):
        px.TanhPower(beta=0.0)

    net = px.Network.from_example(
        px.models.softhebb_mlp(
            3,
            hidden=(5,),
            activation=px.nn.HebbianActivation.RELU,
            power=2.0,
            batch_norm=False,
            readout_bias=False,
        ),
        jnp.zeros((1, 4)),
    )
    cost = px.TanhPower(beta=0.3)
    rule = LocalHebbian(cost=cost, dropout=0.0, hebbian_steps=0)
    params, state = rule.init(net, key=jax.random.key(0))
    batch = (jnp.asarray(rng.uniform(size=(4, 4)), jnp.float32), jnp.asarray(y))
    g, _, _ = rule.grads(net, params, state, batch)
    bp, _, _ = px.rules.BP(cost=cost).grads(
        net, rule.network_params(net, params, state), None, batch
    )
    assert_trees_close(g["layers"][1], bp[1], rtol=1e-4, atol=1e-6)
    assert float(rule.eval_cost(jnp.zeros((1, 3)), batch[1][:1])[0]) == 3.0


def test_relu_activation_is_the_rectified_power():
    """Krotov & Hopfield's features: max(0, W^T v)^n on the raw input (no batch norm)."""
    layer = HebbDense(units=4, activation=px.nn.HebbianActivation.RELU, power=4.5, batch_norm=False)
    p = layer.init((3,), key=jax.random.key(0))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 3)), jnp.float32)
    want = np.maximum(np.asarray(x) @ np.asarray(p["w"]), 0.0) ** 4.5
    np.testing.assert_allclose(layer(p, x), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(px.ConfigError, match="HebbianActivation"):
        HebbDense(units=4, activation="relu")  # type: ignore[arg-type]


def test_identity_activation_is_the_linear_projection():
    """The PCA rules' features: the standardised input times the weights, signs kept."""
    layer = HebbDense(units=3, activation=px.nn.HebbianActivation.IDENTITY)
    p = layer.init((4,), key=jax.random.key(0))
    x = np.random.default_rng(1).normal(size=(6, 4))
    xn = (x - x.mean(0)) / np.sqrt(x.var(0) + layer.eps)
    p = {**p, "mean": jnp.asarray(x.mean(0), jnp.float32), "var": jnp.asarray(x.var(0))}
    got = np.asarray(layer(p, jnp.asarray(x, jnp.float32)))
    np.testing.assert_allclose(got, xn @ np.asarray(p["w"]), rtol=1e-4, atol=1e-4)
    assert (got < 0).any()
    with pytest.raises(px.ConfigError, match="identity activation takes no power"):
        HebbDense(units=3, activation=px.nn.HebbianActivation.IDENTITY, power=2.0)


def test_annealed_rate_decays_linearly_over_the_hebbian_phase():
    """anneal=True: with the step normalised to a largest entry of 1, step s of N moves the
    weights by at most lr (1 - s / N) (Krotov & Hopfield's linear decay), then nothing."""
    net = px.Network.from_example(
        [px.edge(HebbDense(units=3, batch_norm=False), [0, 1]), px.edge(px.nn.Linear(2), [1, 2])],
        jnp.zeros((1, 4)),
    )
    rule = LocalHebbian(update=KrotovHopfield(k=2), lr=0.1, anneal=True, hebbian_steps=4)
    params, state = rule.init(net, key=jax.random.key(0))
    opt = optax.sgd(0.0)
    o = opt.init(params)
    step = jax.jit(lambda p, s, o, b: rule.step(net, p, s, o, opt, b))
    rng = np.random.default_rng(1)
    for s in range(5):
        batch = (jnp.asarray(rng.uniform(size=(2, 4)), jnp.float32), jnp.eye(2))
        new, state, o, _ = step(params, state, o, batch)
        moved = float(jnp.max(jnp.abs(new["layers"][0]["w"] - params["layers"][0]["w"])))
        assert moved == pytest.approx(0.1 * max(1 - s / 4, 0), rel=1e-4, abs=1e-7), s
        params = new
    # no Hebbian phase (the random-feature control): every step is the read-out's
    rule0 = LocalHebbian(update=KrotovHopfield(k=2), lr=0.1, anneal=True, hebbian_steps=0)
    p0, s0 = rule0.init(net, key=jax.random.key(0))
    _, _, _, m = rule0.step(net, p0, s0, opt.init(p0), opt, batch)
    assert int(m["hebbian"]) == 0


def test_hebbian_schedule_spans_only_the_read_out_steps():
    """The read-out's optimizer is called only after the Hebbian phase, so a learning-rate
    schedule over the run spans (epochs - hebbian_epochs) * steps_per_epoch calls; iPC's spans
    one call per inference step."""
    assert LocalHebbian(hebbian_epochs=2).optimizer_calls(steps_per_epoch=10, epochs=6) == 40
    assert LocalHebbian(hebbian_steps=7).optimizer_calls(steps_per_epoch=10, epochs=1) == 3
    assert px.BP().optimizer_calls(steps_per_epoch=10, epochs=6) == 60
    ipc = px.config.from_preset("ipc-mnist-mlp").rule
    assert ipc.optimizer_calls(steps_per_epoch=10, epochs=2) == 20 * ipc.inference.steps


def _random_data(n: int, shape: tuple[int, ...], seed: int) -> px.data.ArrayDataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    return px.data.ArrayDataset(x, rng.integers(0, 3, n), 3, "random")


@pytest.mark.parametrize("which", ["softhebb-conv", "krotov-dense"])
def test_cached_features_train_the_same_read_out_as_the_whole_network(which, tmp_path):
    """train.cache_features: once only the read-out learns, the trainer computes the frozen
    blocks' features once and steps the read-out on them. The reference recomputes the
    blocks at every step and evaluation (cache off): the same parameters, metrics (dropout
    masks included) and test accuracy, on one device and split over 4, and an interrupted
    cached run resumes exactly."""
    if which == "softhebb-conv":
        net, shape = _conv_net(), (6, 6, 2)
        rule: px.Rule = SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_epochs=1)
    else:
        net, shape = _dense_net(5, (1, 8, 1)), (1, 8, 1)
        rule = LocalHebbian(update=KrotovHopfield(p=2.0, k=2, delta=0.2), lr=0.05, hebbian_epochs=1)
    train, test = _random_data(96, shape, 0), _random_data(40, shape, 1)

    def fit(cache: bool, devices: int = 1, epochs: int = 3, out=None, resume=False) -> px.Trainer:
        t = px.train.Trainer(
            net, rule, optax.adam(1e-2), train, test, epochs=epochs, batch_size=16,
            steps_per_call=2, eval_batch_size=32, progress=False, cache_features=cache,
            devices=jax.devices()[:devices], out_dir=out,
        )  # fmt: skip
        t.summary = t.fit(resume=resume)
        return t

    ref, got = fit(False), fit(True)
    assert_trees_close(got.params, ref.params, rtol=1e-5, atol=1e-6)
    h_ref, h_got = ref.summary["history"], got.summary["history"]
    for r, g in zip(h_ref, h_got, strict=True):
        for k in ("train_loss", "train_accuracy", "train_hebbian", "test_loss", "test_accuracy"):
            np.testing.assert_allclose(g[k], r[k], rtol=1e-5, atol=1e-6, err_msg=k)
    # the cache is made once, when the first all-read-out epoch starts (epoch 2)
    assert [("feature_cache_seconds" in r) for r in h_got] == [False, True, False]
    assert "feature_cache_seconds" not in h_ref[1] and ref.summary["feature_cache_seconds"] == 0
    if len(jax.devices()) >= 4:
        assert_trees_close(fit(True, devices=4).params, ref.params, rtol=1e-4, atol=1e-5)
    fit(True, epochs=2, out=tmp_path / "run")
    resumed = fit(True, epochs=3, out=tmp_path / "run", resume=True)
    assert_trees_close(resumed.params, got.params, rtol=1e-6, atol=1e-7)
    assert [("feature_cache_seconds" in r) for r in resumed.summary["history"]] == [
        False, True, True,
    ]  # fmt: skip


def test_feature_cache_is_off_where_the_inputs_change():
    """With an augmentation the inputs differ every epoch: nothing is cached."""
    train = _random_data(32, (6, 6, 2), 0)
    t = px.train.Trainer(
        _conv_net(), SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_epochs=1),
        optax.adam(1e-2), train, epochs=2, batch_size=16, progress=False,
        augment=lambda x, *, key: x + 0.0 * jax.random.normal(key, x.shape),
        devices=jax.devices()[:1],
    )  # fmt: skip
    s = t.fit()
    assert s["feature_cache_seconds"] == 0 and len(s["history"]) == 2
