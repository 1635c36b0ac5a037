"""Parametrisations (standard, μPC, NTP) and the residual MLP: every expectation from the
μPC paper's scalings (Innocenti, Achour & Buckley 2025, Table 1; jpc's formulas), an
independent numpy forward pass, and the variance recursion of a residual ReLU network."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px


def _scaled(edges):
    """(src, dst, ScaledLinear) for each scaled dense layer, the last of each edge."""
    out = []
    for e in edges:
        layers = e.layer.layers if isinstance(e.layer, px.nn.Sequential) else (e.layer,)
        dense = [l for l in layers if isinstance(l, px.nn.ScaledLinear)]
        if dense:
            out.append((e.src, e.dst, dense[-1]))
    return out


def test_scaled_linear_is_scaled_and_standard_normal():
    layer = px.nn.ScaledLinear(300, fan_in_power=0.5, multiplier=0.25)
    p = layer.init((400,), key=jax.random.key(0))
    w = np.asarray(p["w"])
    # 120,000 N(0, 1) draws: the sample mean and std are within 5 standard errors
    assert abs(w.mean()) < 5 / math.sqrt(w.size)
    assert abs(w.std() - 1) < 5 / math.sqrt(2 * w.size)
    x = np.asarray(jax.random.normal(jax.random.key(1), (3, 400)))
    np.testing.assert_allclose(layer(p, jnp.asarray(x)), 0.25 / 20 * x @ w, rtol=1e-5, atol=1e-6)
    assert "b" not in p
    with pytest.raises(px.ConfigError, match="multiplier > 0"):
        px.nn.ScaledLinear(3, multiplier=0.0)


@pytest.mark.parametrize("depth", [1, 2, 7])
def test_mupc_scalings_are_the_papers(depth):
    """a_1 = 1/sqrt(D), a_l = 1/sqrt(N L) (L = H + 1 dense layers), a_L = 1/N (μPC) or
    1/sqrt(N) (NTP), identity skips into hidden nodes 2..H."""
    d, n, classes = 784, 32, 10
    for param, readout in ((px.models.MuPC(), 1 / n), (px.models.NTP(), 1 / math.sqrt(n))):
        edges = px.models.ResidualMLP(width=n, depth=depth, parametrisation=param).edges(classes)
        scaled = _scaled(edges)
        assert [(s, dst) for s, dst, _ in scaled] == [(i, (i + 1,)) for i in range(depth + 1)]
        fan_in = [d] + [n] * depth
        got = [layer.scale(f) for (_, _, layer), f in zip(scaled, fan_in)]
        want = [1 / math.sqrt(d)] + [1 / math.sqrt(n * (depth + 1))] * (depth - 1) + [readout]
        np.testing.assert_allclose(got, want, rtol=1e-12)
        skips = [(e.src, e.dst) for e in edges if isinstance(e.layer, px.nn.Identity)]
        assert skips == [(i, (i + 1,)) for i in range(1, depth)]


def test_standard_keeps_linear_layers():
    edges = px.models.ResidualMLP(width=8, depth=3, parametrisation=px.models.Standard()).edges(10)
    assert not _scaled(edges)
    assert sum(isinstance(e.layer, px.nn.Identity) for e in edges) == 2


def test_residual_mlp_forward_equals_numpy():
    """jpc's residual MLP by hand: z1 = a1 W1 x, z_l = a_l W_l relu(z_{l-1}) + z_{l-1},
    y = a_L W_L relu(z_H)."""
    d, n, h = 20, 16, 5
    net = px.Network.from_example(px.models.residual_mlp(4, width=n, depth=h), jnp.zeros((1, d)))
    params = net.init(key=jax.random.key(0))
    ws = [np.asarray(p[-1]["w"], np.float64) for p in params if p is not None]
    x = np.asarray(jax.random.normal(jax.random.key(1), (3, d)), np.float64)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    z = x @ ws[0] / math.sqrt(d)
    for w in ws[1:-1]:
        z = relu(z) @ w / math.sqrt(n * (h + 1)) + z
    y = relu(z) @ ws[-1] / n
    np.testing.assert_allclose(net(params, jnp.asarray(x, jnp.float32)), y, rtol=2e-4, atol=1e-5)


def _mean_square_growth(param, depth, width=256, batch=256):
    net = px.Network.from_example(
        px.models.residual_mlp(10, width=width, depth=depth, parametrisation=param),
        jnp.zeros((1, 64)),
    )
    params = net.init(key=jax.random.key(depth))
    x = jax.random.normal(jax.random.key(1), (batch, 64))
    acts = net.feedforward(params, x)
    return float(jnp.mean(acts[depth] ** 2) / jnp.mean(acts[1] ** 2))


@pytest.mark.parametrize("depth", [8, 32, 128])
def test_mupc_keeps_activities_order_one_at_any_depth(depth):
    """At initialisation a ReLU branch adds Var(a W relu(z)) = a^2 N Var(z) / 2 to the
    residual stream: with μPC (a^2 = 1/(N L)) the mean square grows by (1 + 1/(2L)) per
    block, (1 + 1/(2L))^(H-1) -> e^(1/2) in all; with the standard parametrisation
    (W ~ U(+-1/sqrt N): a^2 N = 1/3) by (1 + 1/6) per block, exponentially in depth."""
    mupc = _mean_square_growth(px.models.MuPC(), depth)
    want = (1 + 1 / (2 * (depth + 1))) ** (depth - 1)
    assert mupc == pytest.approx(want, rel=0.25)
    assert mupc < 1.7
    if depth <= 32:  # beyond, float32 overflows in the standard parametrisation
        standard = _mean_square_growth(px.models.Standard(), depth)
        assert standard == pytest.approx((7 / 6) ** (depth - 1), rel=0.5)


def test_mupc_on_a_graph_with_merges_and_fan_in():
    """Beyond the chain: a node fed by two dense edges (K = 2) and a skip, depth from the
    longest path of dense layers (0 -> 1 -> 2 -> 4: three), readout 1/(n sqrt K)."""
    lin = lambda n: px.nn.Linear(n, use_bias=False)  # noqa: E731
    edges = [
        px.edge(px.nn.Sequential([px.nn.Flatten(), lin(8)]), [0, 1]),
        px.edge(lin(8), [1, 2]),
        px.edge(lin(8), [0, 3]),  # node 3: one dense edge, no skip
        px.edge(lin(8), [1, 4]),  # node 4: two dense edges and a skip -> a merge
        px.edge(lin(8), [2, 4]),
        px.edge(px.nn.Identity(), [1, 4]),
        px.edge(lin(5), [3, 5]),  # the output: two dense edges
        px.edge(lin(5), [4, 5]),
    ]
    scaled = px.models.MuPC().apply(edges)
    layers = {
        (e.src, e.dst[0]): (
            e.layer.layers[-1] if isinstance(e.layer, px.nn.Sequential) else e.layer
        )
        for e in scaled
        if not isinstance(e.layer, px.nn.Identity)
    }
    assert isinstance(scaled[5].layer, px.nn.Identity)  # the skip is left alone
    depth = 4  # 0 -> 1 -> 2 -> 4 -> 5
    assert layers[(0, 1)].scale(6) == pytest.approx(1 / math.sqrt(6))
    assert layers[(1, 2)].scale(8) == pytest.approx(1 / math.sqrt(8))
    assert layers[(0, 3)].scale(6) == pytest.approx(1 / math.sqrt(6))
    for src in (1, 2):
        assert layers[(src, 4)].scale(8) == pytest.approx(1 / math.sqrt(8 * 2 * depth))
    for src in (3, 4):
        assert layers[(src, 5)].scale(8) == pytest.approx(1 / (8 * math.sqrt(2)))
    net = px.Network.from_example(scaled, jnp.zeros((1, 6)))
    assert net(net.init(key=jax.random.key(0)), jnp.ones((2, 6))).shape == (2, 5)


def test_parametrisation_refuses_what_it_cannot_scale():
    with pytest.raises(px.ConfigError, match="EqxModule edges cannot be parametrised"):
        px.models.MuPC().apply(
            [px.edge(px.nn.EqxModule(lambda x: x), [0, 1]), px.edge(px.nn.Linear(2), [1, 2])]
        )
    shared = [
        px.edge(px.nn.Linear(4), [0, 1]),
        px.edge(px.nn.Linear(4), [[1, 2], [1, 3]]),  # feeds a hidden node and the output
        px.edge(px.nn.Linear(4), [2, 3]),
    ]
    with pytest.raises(px.GraphError, match="split it into one edge per destination"):
        px.models.MuPC().apply(shared)


@pytest.mark.parametrize(
    ("edges", "shape", "steps"),
    [
        (lambda: px.models.residual_mlp(3, width=8, depth=4), (6,), 400),
        (lambda: px.models.ResidualConvNet(channels=3, depth=3).edges(3), (6, 6, 1), 300),
    ],
    ids=["resnet", "conv-resnet"],
)
def test_fixed_prediction_pc_equals_backprop_on_mupc_nets(edges, shape, steps):
    """Fixed-prediction PC's fixed point gives BP's gradient (Millidge et al. 2020); on the
    μPC residual nets too (scaled dense and conv layers, skip edges, nodes fed by two edges)."""
    jax.config.update("jax_enable_x64", True)
    try:
        net = px.Network.from_example(edges(), jnp.zeros((1, *shape), jnp.float64))
        params = jax.tree.map(lambda a: a.astype(jnp.float64), net.init(key=jax.random.key(0)))
        x = jax.random.normal(jax.random.key(1), (4, *shape), jnp.float64)
        y = jax.nn.one_hot(jnp.array([0, 1, 2, 0]), 3, dtype=jnp.float64)
        rule = px.PC(
            mode=px.PCMode.FIXED_PREDICTION,
            inference=px.Inference(steps=steps, optimizer=optax.sgd(0.5)),
        )
        g, _, _ = jax.jit(lambda p: rule.grads(net, p, None, (x, y)))(params)
        loss = lambda p: jnp.sum(rule.cost(net(p, x), y)) / x.shape[0]  # noqa: E731
        want = jax.grad(loss)(params)
        for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    finally:
        jax.config.update("jax_enable_x64", False)


def test_parametrisation_from_a_configuration():
    run = px.config.build(
        px.config.RunConfig,
        {"model": {"name": "residual-mlp", "depth": 4, "parametrisation": "ntp"}},
    )
    assert run.model == px.models.ResidualMLP(depth=4, parametrisation=px.models.NTP())
    assert px.config.build(type(run), px.config.to_config(run)) == run
    with pytest.raises(px.ConfigError, match="mupc"):
        px.config.build(
            px.config.RunConfig, {"model": {"name": "residual-mlp", "parametrisation": "mup"}}
        )


def _naive_conv(x, w, stride, pad):
    """Cross-correlation of NHWC ``x`` with HWIO ``w`` by loops (zero padding)."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw, _, cout = w.shape
    oh = (x.shape[1] - kh) // stride + 1
    ow = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            out[:, i, j, :] = np.einsum("bhwc,hwco->bo", patch, w)
    return out


def test_scaled_conv_is_scaled_and_standard_normal():
    """y = c n_in^-p (x * W), n_in = k_h k_w c_in, against a convolution written with loops;
    the weights N(0, 1)."""
    conv = px.nn.ScaledConv2d(5, kernel_size=3, stride=2, padding=1, multiplier=0.5)
    p = conv.init((7, 7, 3), key=jax.random.key(0))
    x = np.asarray(jax.random.normal(jax.random.key(1), (2, 7, 7, 3)))
    want = 0.5 / math.sqrt(27) * _naive_conv(x, np.asarray(p["w"]), 2, 1)
    np.testing.assert_allclose(conv(p, jnp.asarray(x)), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(px.ConfigError, match=r"ScaledConv2d\(fan_in_power=0.5, multiplier=0.0\)"):
        px.nn.ScaledConv2d(2, multiplier=0.0)
    with pytest.raises(px.ShapeError, match=r"ScaledConv2d\(out_channels=0\): need a positive"):
        px.nn.ScaledConv2d(0)
    big = px.nn.ScaledConv2d(64, kernel_size=3).init((3, 3, 64), key=jax.random.key(2))["w"]
    assert float(jnp.mean(big)) == pytest.approx(0, abs=0.03)
    assert float(jnp.std(big)) == pytest.approx(1, abs=0.03)


@pytest.mark.parametrize("depth", [2, 8])
def test_mupc_scalings_on_a_residual_convnet(depth):
    """The paper's scalings with a convolution's fan-in 9 c_in for the width: stem
    1/sqrt(9 c_in), blocks 1/sqrt(9 C L) (L = H + 1 weighted layers), read-out 1/n_in."""
    c = 6
    edges = px.models.ResidualConvNet(channels=c, depth=depth).edges(10)
    net = px.Network.from_example(edges, jnp.zeros((1, 12, 12, 2)))
    params = net.init(key=jax.random.key(0))
    acts = net.feedforward(params, jnp.ones((1, 12, 12, 2)))
    big_l = depth + 1
    for e in edges:
        layers = e.layer.layers if isinstance(e.layer, px.nn.Sequential) else (e.layer,)
        (w,) = [l for l in layers if isinstance(l, (px.nn.ScaledConv2d, px.nn.ScaledLinear))] or [
            None
        ]
        if w is None:
            assert isinstance(e.layer, px.nn.Identity)
            continue
        fan_in = 9 * acts[e.src].shape[-1] if e.src < depth else acts[e.src][0].size
        want = {
            0: 1 / math.sqrt(9 * 2),
            depth: 1 / fan_in,
        }.get(e.src, 1 / math.sqrt(9 * c * big_l))
        assert w.scale(fan_in) == pytest.approx(want, rel=1e-12)


def _conv_mean_square_growth(param, depth, channels=64, side=32, batch=8):
    """The last hidden node's mean square over the first's, on the centre of the image that
    the zero padding has not reached (one pixel per convolution)."""
    model = px.models.ResidualConvNet(
        channels=channels, depth=depth, stem_stride=1, parametrisation=param
    )
    net = px.Network.from_example(model.edges(10), jnp.zeros((1, side, side, 1)))
    params = net.init(key=jax.random.key(depth))
    acts = net.feedforward(params, jax.random.normal(jax.random.key(1), (batch, side, side, 1)))
    m = depth + 1
    centre = lambda a: a[:, m : side - m, m : side - m, :]  # noqa: E731
    return float(jnp.mean(centre(acts[depth]) ** 2) / jnp.mean(centre(acts[1]) ** 2))


def test_mupc_keeps_conv_activities_order_one():
    """As for the residual MLP, with a 3x3 convolution's fan-in 9 C for the width: μPC's
    branch adds Var(z) / (2L) per block, (1 + 1/(2L))^(H-1) in all; the standard
    parametrisation (U(+-1/sqrt(9 C)) weights) adds Var(z) / 6, (7/6)^(H-1)."""
    depth = 8
    mupc = _conv_mean_square_growth(px.models.MuPC(), depth)
    assert mupc == pytest.approx((1 + 1 / (2 * (depth + 1))) ** (depth - 1), rel=0.25)
    standard = _conv_mean_square_growth(px.models.Standard(), depth)
    assert standard == pytest.approx((7 / 6) ** (depth - 1), rel=0.25)


def test_residual_conv_from_a_configuration():
    run = px.config.build(
        px.config.RunConfig,
        {"model": {"name": "residual-conv", "channels": 4, "depth": 3, "parametrisation": "mupc"}},
    )
    assert run.model == px.models.ResidualConvNet(channels=4, depth=3)
    assert px.config.build(type(run), px.config.to_config(run)) == run
    with pytest.raises(px.ConfigError, match="channels"):
        px.models.ResidualConvNet(channels=0)
