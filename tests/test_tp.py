"""Target propagation (TP, DTP, L-DRL), checked against its theory: exact inverses map targets
back to the output target; with linear layers and transposed feedback DTP is backprop; the
feedback losses train the decoders towards what they are meant to be."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from _compiled import assert_trees_close, jalign, jgrads
from plastix.rules import FeedbackLoss


def _close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    assert_trees_close(a, b, rtol=rtol, atol=atol)


def _inverse(net: px.Network, params: Any, i: int, h: jax.Array) -> jax.Array:
    """f_i^{-1}: edge 0 is flatten-linear-tanh, the others linear-tanh (hidden) or linear
    (output), all square and invertible."""
    layer = net.edges[i].layer
    p = params["forward"][i]
    seq = isinstance(layer, px.nn.Sequential)
    lin = next(q for q in p if q is not None) if seq else p
    a = jnp.arctanh(h) if seq else h
    return (a - lin["b"][None, :]) @ jnp.linalg.inv(lin["w"])


class TPInverse(px.TP):
    def feedback(self, net: px.Network, params: Any, i: int, h: jax.Array) -> jax.Array:
        return _inverse(net, params, i, h)


class DTPInverse(px.DTP):
    def feedback(self, net: px.Network, params: Any, i: int, h: jax.Array) -> jax.Array:
        return _inverse(net, params, i, h)


@pytest.fixture(scope="module")
def square():
    d = 6
    x = 0.5 * jax.random.normal(jax.random.key(1), (8, d))
    y = jax.nn.one_hot(jnp.arange(8) % d, d)
    net = px.Network.from_example(px.models.mlp(d, hidden=(d, d), activation="tanh"), x)
    return net, (x, y)


@pytest.mark.parametrize("cls", [TPInverse, DTPInverse])
def test_exact_inverse_targets_map_forward_to_the_output_target(square, cls):
    """With g_l = f_l^{-1}, the forward pass from any layer's target reaches the output
    target (TP), and DTP's difference correction vanishes (same targets)."""
    net, batch = square
    rule = cls(target_lr=0.05)
    params, _ = rule.init(net, key=jax.random.key(0))
    # well-conditioned (orthogonal) square weights, so that the inverses stay in tanh's range
    qs = jnp.linalg.qr(jax.random.normal(jax.random.key(5), (3, 6, 6)))[0]
    f = params["forward"]
    fwd = (
        (None, {**f[0][1], "w": qs[0]}, None),
        ({**f[1][0], "w": qs[1]}, None),
        {**f[2], "w": 3.0 * qs[2]},
    )
    params = {**params, "forward": fwd}
    acts, tgts = rule.targets(net, params, batch)
    fwd = params["forward"]
    for start in (1, 2):
        z = tgts[start]
        for i in range(start, len(net.edges)):
            z = net.edges[i].layer(fwd[i], z)
        np.testing.assert_allclose(z, tgts[net.output], rtol=1e-3, atol=1e-4)
    # the output target is a gradient step of the cost
    out = acts[net.output]
    e = jax.nn.softmax(out) - batch[1]
    np.testing.assert_allclose(tgts[net.output], out - 0.05 * e, rtol=1e-5, atol=1e-6)


class LinearTransposeDTP(px.DTP):
    """Linear decoders with the forward weights' transposes: g(h) = h W^T."""

    def feedback(self, net: px.Network, params: Any, i: int, h: jax.Array) -> jax.Array:
        return h @ params["forward"][i]["w"].T


@pytest.mark.parametrize("eta", [0.1, 1.0])
def test_dtp_with_transposed_feedback_on_a_linear_net_is_backprop(eta):
    """Linear layers: h_{l-1} - hat h_{l-1} = (h_l - hat h_l) W_l^T = eta * backprop's delta,
    so the layer losses' gradients are backprop's exactly, for any eta."""
    x = jax.random.normal(jax.random.key(3), (8, 5))
    y = jax.nn.one_hot(jnp.arange(8) % 3, 3)
    edges = [
        px.edge(px.nn.Linear(7), [0, 1]),
        px.edge(px.nn.Linear(6), [1, 2]),
        px.edge(px.nn.Linear(3), [2, 3]),
    ]
    net = px.Network.from_example(edges, x)
    rule = LinearTransposeDTP(target_lr=eta)
    params, _ = rule.init(net, key=jax.random.key(0))
    g, m = jgrads(rule, net, params, (x, y), key=jax.random.key(1))
    g_bp, m_bp = jgrads(px.BP(cost=px.CrossEntropy()), net, params["forward"], (x, y))
    _close(g["forward"], g_bp, rtol=1e-3, atol=1e-5)  # float32: h - target loses digits
    np.testing.assert_allclose(m["loss"], m_bp["loss"], rtol=1e-6)


@pytest.mark.parametrize("eta", [0.1, 1.0])
def test_dtp_with_transposed_conv_feedback_on_a_linear_conv_net_is_backprop(eta):
    """Conv edges conv -> max-pool (no activation) and a dense read-out: with decoders
    V = W (the transposed convolution of the forward kernel, after max-unpooling at the forward
    maxima) and the read-out's W^T, every decoder is the exact transposed Jacobian of its edge, so
    DTP's layer-loss gradients are backprop's (computed by jax.grad on the same net)."""
    x = jax.random.normal(jax.random.key(3), (6, 8, 8, 2))
    y = jax.nn.one_hot(jnp.arange(6) % 3, 3)
    net = px.Network.from_example(px.models.conv_pool(3, channels=(4, 6)), x)
    rule = px.DTP(target_lr=eta, feedback_activation=px.nn.Identity())
    params, _ = rule.init(net, key=jax.random.key(0))
    f = params["forward"]
    assert params["feedback"][1]["w"].shape == f[1][0]["w"].shape  # (3, 3, 4, 6), HWIO
    fb = (
        None,
        {"w": f[1][0]["w"], "b": jnp.zeros(4)},
        {"w": f[2][1]["w"].T, "b": jnp.zeros(2 * 2 * 6)},
    )
    params = {**params, "feedback": fb}
    g, m = jgrads(rule, net, params, (x, y), key=jax.random.key(1))
    g_bp, m_bp = jgrads(px.BP(cost=px.CrossEntropy()), net, params["forward"], (x, y))
    _close(g["forward"], g_bp, rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(m["loss"], m_bp["loss"], rtol=1e-6)


def test_conv_decoder_unpools_to_the_forward_maxima():
    """The conv decoder's un-pooling puts each pooled value at its window's forward maximum
    (numpy argmax below) and zeros elsewhere; V = a single-tap identity kernel makes the
    transposed convolution the identity, so the decoder output is the un-pooled map."""
    x = jax.random.normal(jax.random.key(0), (2, 4, 4, 1))
    edges = [
        px.edge(px.nn.Conv2d(1, 1), [0, 1]),
        px.edge(px.nn.Sequential([px.nn.Conv2d(1, 1), px.nn.MaxPool(2), px.nn.Flatten()]), [1, 2]),
        px.edge(px.nn.Linear(2), [2, 3]),
    ]
    net = px.Network.from_example(edges, x)
    rule = px.DTP(feedback_activation=px.nn.Identity())
    params, _ = rule.init(net, key=jax.random.key(1))
    f = list(params["forward"])
    f[1] = ({"w": jnp.ones((1, 1, 1, 1)), "b": jnp.zeros(1)}, None, None)
    params = {
        "forward": tuple(f),
        "feedback": (None, {"w": jnp.ones((1, 1, 1, 1)), "b": jnp.zeros(1)}, params["feedback"][2]),
    }
    h1 = net.feedforward(params["forward"], x)[1]
    t = jax.random.normal(jax.random.key(2), (2, 4))
    got = np.asarray(rule.feedback(net, params, 1, t, src=h1))
    a = np.asarray(h1)[..., 0]
    want = np.zeros_like(a)
    for b in range(2):
        for r in range(2):
            for c in range(2):
                win = a[b, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2]
                i, j = np.unravel_index(np.argmax(win), (2, 2))
                want[b, 2 * r + i, 2 * c + j] = float(t[b, 2 * r + c])
    np.testing.assert_allclose(got[..., 0], want, atol=1e-6)
    with pytest.raises(px.ConfigError, match="src="):
        rule.feedback(net, params, 1, t)


@pytest.mark.parametrize("cls", [px.TP, px.DTP])
def test_output_layer_update_is_backprops(square, cls):
    net, batch = square
    rule = cls(target_lr=0.3)
    params, _ = rule.init(net, key=jax.random.key(0))
    g, _ = jgrads(rule, net, params, batch, key=jax.random.key(1))
    g_bp, _ = jgrads(px.BP(cost=px.CrossEntropy()), net, params["forward"], batch)
    _close(g["forward"][2], g_bp[2])
    a = jalign(rule, net, params, batch)  # forward part only
    assert float(a["angle_per_edge"][2]) < 0.1


def _train_feedback(rule: px.TP, net: px.Network, params: Any, x: jax.Array, steps: int):
    """Gradient descent on the feedback loss alone (forward weights fixed)."""
    acts = net.feedforward(params["forward"], x)
    opt = optax.adam(3e-3)

    @jax.jit
    def step(fb: Any, state: Any, key: Any) -> Any:
        def loss(fb: Any) -> Any:
            return rule.feedback_losses(net, {**params, "feedback": fb}, acts, key=key)

        val, g = jax.value_and_grad(loss)(fb)
        upd, state = opt.update(g, state)
        return optax.apply_updates(fb, upd), state, val

    fb, state = params["feedback"], opt.init(params["feedback"])
    vals = []
    for k in range(steps):
        fb, state, v = step(fb, state, jax.random.key(k))
        vals.append(float(v))
    return {**params, "feedback": fb}, vals


def test_reconstruction_loss_is_reduced_by_training_the_feedback():
    """Lee et al.'s decoders learn to invert the layer: the reconstruction loss (averaged over
    the noise) falls well below its value at initialisation."""
    x = jax.random.normal(jax.random.key(0), (64, 10))
    net = px.Network.from_example(px.models.mlp(4, hidden=(16, 12), activation="tanh"), x)
    rule = px.DTP(noise=0.1)
    params, _ = rule.init(net, key=jax.random.key(1))
    _, vals = _train_feedback(rule, net, params, x, 300)
    assert np.mean(vals[-20:]) < 0.5 * np.mean(vals[:20]), (vals[:3], vals[-3:])


def test_difference_reconstruction_trains_the_feedback_to_the_forward_transpose():
    """L-DRL's minimiser is J_g = J_f^T: for a linear layer 12 -> 8 and a linear decoder, the
    decoder weights converge to the forward weights' transpose."""
    x = jax.random.normal(jax.random.key(0), (256, 12))
    edges = [px.edge(px.nn.Linear(12), [0, 1]), px.edge(px.nn.Linear(8), [1, 2])]
    net = px.Network.from_example(edges, x)
    rule = px.DTP(
        noise=0.1, feedback_loss=FeedbackLoss.DIFFERENCE, feedback_activation=px.nn.Identity()
    )
    params, _ = rule.init(net, key=jax.random.key(1))
    w = params["forward"][1]["w"]  # (12, 8): f(h) = h W + b; g(h) = h V + c, V (8, 12)
    err0 = float(jnp.linalg.norm(params["feedback"][1]["w"] - w.T) / jnp.linalg.norm(w))
    trained, _ = _train_feedback(rule, net, params, x, 800)
    v = trained["feedback"][1]["w"]
    err = float(jnp.linalg.norm(v - w.T) / jnp.linalg.norm(w))
    assert err < 0.1 and err < 0.2 * err0, (err0, err)


def test_difference_reconstruction_trains_a_conv_decoder_to_the_transposed_convolution():
    """L-DRL on a linear conv edge (3x3, padding 1, 3 -> 4 channels): the transposed-conv
    decoder's kernel converges to the forward kernel (J_g = J_f^T), averaging 4 noise draws
    per loss."""
    x = jax.random.normal(jax.random.key(0), (64, 6, 6, 2))
    edges = [
        px.edge(px.nn.Conv2d(3, 3, padding=1), [0, 1]),
        px.edge(px.nn.Conv2d(4, 3, padding=1), [1, 2]),
        px.edge(px.nn.Sequential([px.nn.Flatten(), px.nn.Linear(3)]), [2, 3]),
    ]
    net = px.Network.from_example(edges, x)
    rule = px.DTP(
        feedback_loss=FeedbackLoss.DIFFERENCE,
        feedback_activation=px.nn.Identity(),
        layer_noise=(0.1, 0.1),
        noise_samples=4,
    )
    params, _ = rule.init(net, key=jax.random.key(1))
    w = params["forward"][1]["w"]
    err0 = float(jnp.linalg.norm(params["feedback"][1]["w"] - w) / jnp.linalg.norm(w))
    trained, _ = _train_feedback(rule, net, params, x, 400)
    err = float(jnp.linalg.norm(trained["feedback"][1]["w"] - w) / jnp.linalg.norm(w))
    assert err < 0.1 and err < 0.2 * err0, (err0, err)


def test_targets_are_inspectable_and_dtp_target_is_h_when_output_is_on_target(square):
    """DTP: if the output target equals the output (zero error), every target is the activity."""
    net, (x, _) = square
    rule = px.DTP(cost=px.SquaredError())
    params, _ = rule.init(net, key=jax.random.key(0))
    out = net(params["forward"], x)
    acts, tgts = rule.targets(net, params, (x, out))
    assert tgts[0] is None
    for n in range(1, net.num_nodes):
        np.testing.assert_allclose(tgts[n], acts[n], atol=1e-6)


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(px.ConfigError, match="target_lr"):
        px.TP(target_lr=0.0)
    with pytest.raises(px.ConfigError, match="noise"):
        px.DTP(noise=0.0)
    with pytest.raises(px.ConfigError, match="difference"):
        px.config.make_rule("dtp", feedback_loss="backprop")
    x = jnp.zeros((2, 20))
    net = px.Network.from_example(px.models.skip_mlp(4), x)
    with pytest.raises(px.GraphError, match="chain"):
        px.DTP().init(net, key=jax.random.key(0))
    conv = px.Network.from_example(
        [
            px.edge(px.nn.Conv2d(2, 3), [0, 1]),
            px.edge(px.nn.MaxPool(2), [1, 2]),
            px.edge(px.nn.Sequential([px.nn.Flatten(), px.nn.Linear(3)]), [2, 3]),
        ],
        jnp.zeros((1, 6, 6, 1)),
    )
    with pytest.raises(px.ShapeError, match="edge 1 .*neither"):
        px.DTP().check(conv)
    with pytest.raises(px.ConfigError, match="layer_noise has 1 entries but the network has 2"):
        px.DTP(layer_noise=(0.1,)).check(
            px.Network.from_example(px.models.mlp(3, hidden=(4, 4)), jnp.zeros((2, 5)))
        )
    with pytest.raises(px.ConfigError, match="layer_noise"):
        px.DTP(layer_noise=(0.1, -1.0))
    with pytest.raises(px.ConfigError, match="noise_samples"):
        px.DTP(noise_samples=0)
    net = px.Network.from_example(px.models.mlp(3, hidden=(4,)), jnp.zeros((2, 5)))
    rule = px.TP()
    params, _ = rule.init(net, key=jax.random.key(0))
    with pytest.raises(px.ConfigError, match="key"):
        jgrads(rule, net, params, (jnp.zeros((2, 5)), jnp.eye(3)[:2]))


def test_registry_builds_the_family():
    assert type(px.config.make_rule("tp")) is px.TP
    dtp = px.config.make_rule("dtp", target_lr=0.2)
    assert type(dtp) is px.DTP and dtp.target_lr == 0.2
    assert dtp.feedback_loss is FeedbackLoss.RECONSTRUCTION
    ldrl = px.config.from_preset("ldrl-mnist-mlp").rule
    assert type(ldrl) is px.DTP and ldrl.feedback_loss is FeedbackLoss.DIFFERENCE


def test_gradient_top_target_is_a_step_through_the_output_layer(square):
    """TopTarget.GRADIENT (Lee et al. 2015): with cross-entropy and a linear output layer
    o = h W + b, the last hidden target is h - eta (softmax(o) - y) W^T (numpy below); the
    layers beneath still get decoded targets."""
    net, (x, _) = square
    y = jax.nn.one_hot(
        jnp.arange(x.shape[0]) % net.node_shapes[net.output][0], net.node_shapes[net.output][0]
    )
    rule = px.TP(top_target=px.rules.TopTarget.GRADIENT, target_lr=0.3)
    params, _ = rule.init(net, key=jax.random.key(0))
    acts, tgts = jax.jit(lambda p: rule.targets(net, p, (x, y)))(params)
    last = net.edges[-1]
    w, b = np.asarray(params["forward"][-1]["w"]), np.asarray(params["forward"][-1]["b"])
    h = np.asarray(acts[last.src], np.float64)
    o = h @ w + b
    sm = np.exp(o - o.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    np.testing.assert_allclose(
        tgts[last.src], h - 0.3 * (sm - np.asarray(y)) @ w.T, rtol=1e-4, atol=1e-5
    )
    below = net.edges[-2]
    np.testing.assert_allclose(
        tgts[below.src], rule.feedback(net, params, len(net.edges) - 2, tgts[last.src]), atol=1e-5
    )
    with pytest.raises(px.ConfigError, match="top_target must be a TopTarget"):
        px.TP(top_target="gradient")
