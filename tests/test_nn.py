"""Tests of plastix.nn: every layer against an independent computation (plain numpy loops,
closed-form formulas), parameter initialisation, containers, wrappers and shape errors."""

from __future__ import annotations

import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import plastix as px
from plastix import ShapeError, nn

RTOL = 1e-5
ATOL = 1e-5


def _rand(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# --------------------------------------------------------------------------- reference ops


def np_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride, pads) -> np.ndarray:
    """Direct convolution loop: NHWC input, HWIO weights, ``pads = ((top, bottom), (left, right))``."""
    sh, sw = stride
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    n, hp, wp, cin = xp.shape
    kh, kw, _, cout = w.shape
    oh = (hp - kh) // sh + 1
    ow = (wp - kw) // sw + 1
    out = np.zeros((n, oh, ow, cout))
    for bi in range(n):
        for i in range(oh):
            for j in range(ow):
                for o in range(cout):
                    acc = 0.0
                    for a in range(kh):
                        for c in range(kw):
                            for ci in range(cin):
                                acc += xp[bi, i * sh + a, j * sw + c, ci] * float(w[a, c, ci, o])
                    out[bi, i, j, o] = acc
    if b is not None:
        out = out + np.asarray(b, np.float64)
    return out


def same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow/XLA 'SAME' padding: output ceil(size / s), extra padding at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return (total // 2, total - total // 2)


def np_pool(x: np.ndarray, window, stride, padding, kind: str) -> np.ndarray:
    wh, ww = window
    sh, sw = stride
    ph, pw = padding
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=fill)
    n, hp, wp, c = xp.shape
    oh = (hp - wh) // sh + 1
    ow = (wp - ww) // sw + 1
    out = np.zeros((n, oh, ow, c))
    for bi in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    win = xp[bi, i * sh : i * sh + wh, j * sw : j * sw + ww, ch]
                    out[bi, i, j, ch] = win.max() if kind == "max" else win.sum() / (wh * ww)
    return out


# --------------------------------------------------------------------------- Linear


def test_linear_matches_x_w_plus_b():
    layer = nn.Linear(4)
    p = layer.init((3,), key=jax.random.key(0))
    assert set(p) == {"w", "b"}
    assert p["w"].shape == (3, 4) and p["b"].shape == (4,)
    assert p["w"].dtype == jnp.float32
    x = _rand(1, (5, 3))
    expected = x.astype(np.float64) @ np.asarray(p["w"], np.float64) + np.asarray(
        p["b"], np.float64
    )
    np.testing.assert_allclose(np.asarray(layer(p, jnp.asarray(x))), expected, rtol=RTOL, atol=ATOL)


def test_linear_with_hand_params():
    layer = nn.Linear(2)
    p = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), "b": jnp.array([0.5, -1.0])}
    x = jnp.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    # row 0: [1-5, 2-6] + b = [-3.5, -5]; row 1: [2+3, 4+4] + b = [5.5, 7]
    np.testing.assert_allclose(np.asarray(layer(p, x)), [[-3.5, -5.0], [5.5, 7.0]])


def test_linear_without_bias():
    layer = nn.Linear(4, use_bias=False)
    p = layer.init((3,), key=jax.random.key(0))
    assert set(p) == {"w"}
    x = _rand(2, (5, 3))
    np.testing.assert_allclose(
        np.asarray(layer(p, jnp.asarray(x))), x @ np.asarray(p["w"]), rtol=RTOL, atol=ATOL
    )


def test_linear_init_bounds_use_fan_in():
    fan_in, fan_out = 16, 4000
    bound = 1.0 / math.sqrt(fan_in)  # 0.25
    p = nn.Linear(fan_out).init((fan_in,), key=jax.random.key(3))
    w, b = np.asarray(p["w"]), np.asarray(p["b"])
    assert w.dtype == np.float32 and b.dtype == np.float32
    for arr in (w, b):
        assert np.all(np.abs(arr) <= bound)
        # uniform over the full interval: extremes close to +-bound, mean ~ 0
        assert arr.max() > 0.95 * bound and arr.min() < -0.95 * bound
    assert abs(w.mean()) < 0.01
    # U(-a, a) has variance a^2 / 3
    np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.05)


def test_linear_init_is_deterministic_per_key():
    layer = nn.Linear(4)
    p1 = layer.init((3,), key=jax.random.key(11))
    p2 = layer.init((3,), key=jax.random.key(11))
    p3 = layer.init((3,), key=jax.random.key(12))
    np.testing.assert_array_equal(np.asarray(p1["w"]), np.asarray(p2["w"]))
    assert not np.array_equal(np.asarray(p1["w"]), np.asarray(p3["w"]))


def test_linear_rejects_non_positive_width():
    with pytest.raises(ShapeError, match="positive int"):
        nn.Linear(0)


def test_linear_on_image_input_says_flatten():
    with pytest.raises(ShapeError, match=r"flat.*\(4, 4, 1\).*Flatten"):
        nn.Linear(3).init((4, 4, 1), key=jax.random.key(0))


def test_linear_on_image_input_in_a_network_says_flatten():
    with pytest.raises(ShapeError, match=r"edge 0.*Flatten"):
        px.Network.from_example([px.edge(nn.Linear(3), [0, 1])], jnp.zeros((2, 4, 4, 1)))


# --------------------------------------------------------------------------- Conv2d


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "hw"),
    [
        (3, 1, 0, (5, 6)),
        (3, 2, 1, (6, 5)),
        ((2, 3), (1, 2), (1, 0), (5, 5)),
        (3, 1, "SAME", (5, 4)),
        (3, 2, "SAME", (6, 5)),
        (2, 2, "SAME", (5, 5)),
        (3, 1, "VALID", (5, 5)),
    ],
)
def test_conv2d_matches_numpy_loop(kernel, stride, padding, hw):
    cin, cout = 2, 3
    conv = nn.Conv2d(cout, kernel_size=kernel, stride=stride, padding=padding)
    h, w_ = hw
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    # parameters from numpy (the init is tested on its own; this avoids a compile per shape)
    p = {"w": jnp.asarray(_rand(3, (kh, kw, cin, cout))), "b": jnp.asarray(_rand(2, (cout,)))}
    if padding == "SAME":
        pads = (same_pads(h, kh, sh), same_pads(w_, kw, sw))
    elif padding == "VALID":
        pads = ((0, 0), (0, 0))
    else:
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        pads = ((ph, ph), (pw, pw))
    x = _rand(4, (2, h, w_, cin))
    expected = np_conv2d(x, np.asarray(p["w"]), np.asarray(p["b"]), (sh, sw), pads)
    got = np.asarray(conv(p, jnp.asarray(x)))
    assert got.shape == expected.shape
    if padding == "SAME":  # output size ceil(size / stride)
        assert got.shape[1:3] == (-(-h // sh), -(-w_ // sw))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_conv2d_hand_computed():
    # 1 channel 3x3 input, 2x2 all-ones kernel, no bias: each output is a 2x2 window sum
    conv = nn.Conv2d(1, kernel_size=2, use_bias=False)
    p = {"w": jnp.ones((2, 2, 1, 1))}
    x = jnp.arange(9.0).reshape(1, 3, 3, 1)
    # [[0,1,2],[3,4,5],[6,7,8]] -> [[0+1+3+4, 1+2+4+5], [3+4+6+7, 4+5+7+8]]
    np.testing.assert_allclose(np.asarray(conv(p, x))[0, :, :, 0], [[8.0, 12.0], [20.0, 24.0]])


def test_conv2d_init_bounds_use_kh_kw_cin():
    conv = nn.Conv2d(64, kernel_size=(3, 2))
    p = conv.init((6, 6, 4), key=jax.random.key(1))
    bound = 1.0 / math.sqrt(3 * 2 * 4)
    w = np.asarray(p["w"])
    assert w.shape == (3, 2, 4, 64)
    assert np.all(np.abs(w) <= bound) and w.max() > 0.95 * bound and w.min() < -0.95 * bound
    assert np.all(np.abs(np.asarray(p["b"])) <= bound)


def test_conv2d_on_flat_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"Conv2d.*\(height, width, channels\).*\(16,\)"):
        nn.Conv2d(3).init((16,), key=jax.random.key(0))
    with pytest.raises(ShapeError, match=r"edge 0.*Conv2d"):
        px.Network.from_example([px.edge(nn.Conv2d(3), [0, 1])], jnp.zeros((2, 16)))


def test_conv2d_rejects_bad_padding_string():
    with pytest.raises(ShapeError, match="padding"):
        nn.Conv2d(3, padding="FULL")


# --------------------------------------------------------------------------- pooling


@pytest.mark.parametrize(
    ("window", "stride", "padding"),
    [(2, None, 0), (2, 1, 0), (3, 2, 1), ((2, 3), (1, 2), (0, 1)), (3, 1, 1)],
)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_matches_numpy_loop(kind, window, stride, padding):
    layer_cls = nn.MaxPool if kind == "max" else nn.AvgPool
    layer = layer_cls(window, stride=stride, padding=padding)
    assert layer.init((6, 7, 2), key=jax.random.key(0)) is None
    x = _rand(5, (2, 6, 7, 2))
    win = (window, window) if isinstance(window, int) else window
    st = win if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    pad = (padding, padding) if isinstance(padding, int) else padding
    expected = np_pool(x, win, st, pad, kind)
    got = np.asarray(layer(None, jnp.asarray(x)))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_maxpool_padding_never_wins_on_negative_inputs():
    x = -1.0 - jnp.abs(jnp.asarray(_rand(6, (1, 4, 4, 1))))  # all <= -1
    y = nn.MaxPool(3, stride=1, padding=1)(None, x)
    assert y.shape == (1, 4, 4, 1)
    assert float(jnp.max(y)) <= -1.0


def test_avgpool_hand_computed_with_zero_padding_counted():
    x = jnp.ones((1, 2, 2, 1))
    # window 2, stride 2, padding 1: 4x4 padded grid, each window holds one real 1 and 3 zeros
    y = nn.AvgPool(2, stride=2, padding=1)(None, x)
    np.testing.assert_allclose(np.asarray(y)[0, :, :, 0], np.full((2, 2), 0.25))


def test_pool_on_flat_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"MaxPool.*\(height, width, channels\)"):
        nn.MaxPool(2).init((10,), key=jax.random.key(0))
    with pytest.raises(ShapeError, match=r"AvgPool.*\(height, width, channels\)"):
        nn.AvgPool(2).init((10,), key=jax.random.key(0))


# --------------------------------------------------------------------------- Flatten


def test_flatten_is_row_major_reshape():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    y = np.asarray(nn.Flatten()(None, jnp.asarray(x)))
    assert y.shape == (2, 60)
    np.testing.assert_array_equal(y[1], x[1].ravel())
    assert nn.Flatten().init((3, 4, 5), key=jax.random.key(0)) is None


# --------------------------------------------------------------------------- activations

_X = np.concatenate([np.linspace(-5, 5, 101), [-1.0, 1.0, 0.0, -0.5, 0.5, 2.5]]).astype(np.float32)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


_FORMULAS = {
    "tanh": (nn.Tanh(), np.tanh),
    "relu": (nn.ReLU(), lambda x: np.where(x > 0, x, 0.0)),
    "leaky-relu": (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    "gelu": (nn.GELU(), _gelu_tanh),
    "elu": (nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))),
    "hard-tanh": (nn.HardTanh(), lambda x: np.minimum(np.maximum(x, -1.0), 1.0)),
    "sigmoid": (nn.Sigmoid(), lambda x: 1.0 / (1.0 + np.exp(-x))),
    "identity": (nn.Identity(), lambda x: x),
}


@pytest.mark.parametrize("name", sorted(_FORMULAS))
def test_activation_matches_formula(name):
    layer, formula = _FORMULAS[name]
    x64 = _X.astype(np.float64)
    expected = formula(x64)
    got = np.asarray(layer(None, jnp.asarray(_X).reshape(1, -1)))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert layer.init((3,), key=jax.random.key(0)) is None
    # the model registry's activation names map to the same functions
    by_name = px.models.activation(name)
    np.testing.assert_allclose(
        np.asarray(by_name(None, jnp.asarray(_X)[None]))[0], expected, rtol=1e-5, atol=1e-6
    )


def test_leaky_relu_custom_slope():
    y = nn.LeakyReLU(negative_slope=0.2)(None, jnp.array([[-3.0, -0.5, 0.0, 2.0]]))
    np.testing.assert_allclose(np.asarray(y)[0], [-0.6, -0.1, 0.0, 2.0], rtol=1e-6)


def test_gelu_exact_is_x_phi_x():
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in _X.astype(np.float64)])
    got = np.asarray(nn.GELU(approximate=False)(None, jnp.asarray(_X)[None]))[0]
    np.testing.assert_allclose(got, _X * phi, rtol=1e-5, atol=1e-6)


def test_hard_tanh_hand_values():
    y = nn.HardTanh()(None, jnp.array([[-3.0, -1.0, -0.25, 0.7, 1.0, 9.0]]))
    np.testing.assert_allclose(np.asarray(y)[0], [-1.0, -1.0, -0.25, 0.7, 1.0, 1.0], rtol=1e-6)


# --------------------------------------------------------------------------- Sequential


def test_sequential_is_composition():
    seq = nn.Sequential([nn.Flatten(), nn.Linear(5), nn.Tanh(), nn.Linear(3)])
    p = seq.init((2, 3, 1), key=jax.random.key(0))
    assert isinstance(p, tuple) and len(p) == 4
    assert p[0] is None and p[2] is None
    assert p[1]["w"].shape == (6, 5) and p[3]["w"].shape == (5, 3)
    x = _rand(7, (4, 2, 3, 1))
    h = x.reshape(4, -1).astype(np.float64)
    h = np.tanh(h @ np.asarray(p[1]["w"], np.float64) + np.asarray(p[1]["b"], np.float64))
    expected = h @ np.asarray(p[3]["w"], np.float64) + np.asarray(p[3]["b"], np.float64)
    np.testing.assert_allclose(np.asarray(seq(p, jnp.asarray(x))), expected, rtol=RTOL, atol=ATOL)


def test_sequential_layers_get_distinct_keys():
    seq = nn.Sequential([nn.Linear(4), nn.Linear(4)])
    p = seq.init((4,), key=jax.random.key(0))
    assert not np.array_equal(np.asarray(p[0]["w"]), np.asarray(p[1]["w"]))


def test_sequential_wraps_callables():
    seq = nn.Sequential([nn.Linear(2), jnp.sin])
    assert isinstance(seq.layers[1], nn.Lambda)
    p = seq.init((3,), key=jax.random.key(0))
    x = _rand(8, (2, 3))
    expected = np.sin(x @ np.asarray(p[0]["w"]) + np.asarray(p[0]["b"]))
    np.testing.assert_allclose(np.asarray(seq(p, jnp.asarray(x))), expected, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- wrappers


@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")
def test_eqx_module_is_vmapped_per_sample():
    module = eqx.nn.Linear(3, 2, key=jax.random.key(0))
    layer = nn.as_layer(module)
    assert isinstance(layer, nn.EqxModule)
    p = layer.init((3,), key=jax.random.key(1))
    x = _rand(9, (5, 3))
    w, b = np.asarray(module.weight), np.asarray(module.bias)
    expected = x @ w.T + b
    got = np.asarray(layer(p, jnp.asarray(x)))
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        got, np.stack([np.asarray(module(jnp.asarray(xi))) for xi in x]), rtol=RTOL, atol=ATOL
    )


@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")
def test_eqx_module_uses_the_given_params():
    module = eqx.nn.Linear(3, 2, key=jax.random.key(0))
    layer = nn.EqxModule(module)
    p = layer.init((3,), key=jax.random.key(1))
    p2 = jax.tree.map(lambda a: 2.0 * a, p)
    x = _rand(10, (4, 3))
    expected = x @ (2 * np.asarray(module.weight)).T + 2 * np.asarray(module.bias)
    np.testing.assert_allclose(
        np.asarray(layer(p2, jnp.asarray(x))), expected, rtol=RTOL, atol=ATOL
    )
    # gradients flow to the parameters: d sum(y) / d bias = batch size per output
    g = jax.grad(lambda q: jnp.sum(layer(q, jnp.asarray(x))))(p)
    np.testing.assert_allclose(np.asarray(g.bias), [4.0, 4.0])


@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")
def test_eqx_module_batched():
    class BatchedDense(eqx.Module):
        w: jax.Array

        def __call__(self, x):
            assert x.ndim == 2  # gets the whole batch
            return x @ self.w

    w = jnp.asarray(_rand(11, (3, 2)))
    layer = nn.EqxModule(BatchedDense(w), batched=True)
    p = layer.init((3,), key=jax.random.key(0))
    x = _rand(12, (4, 3))
    np.testing.assert_allclose(
        np.asarray(layer(p, jnp.asarray(x))), x @ np.asarray(w), rtol=RTOL, atol=ATOL
    )


@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")
def test_eqx_module_in_a_network():
    module = eqx.nn.Linear(4, 3, key=jax.random.key(2))
    net = px.Network.from_example(
        [px.edge(nn.Linear(4), [0, 1]), px.edge(module, [1, 2])], jnp.zeros((2, 5))
    )
    assert net.node_shapes == ((5,), (4,), (3,))
    params = net.init(key=jax.random.key(0))
    x = _rand(13, (2, 5))
    h = x @ np.asarray(params[0]["w"]) + np.asarray(params[0]["b"])
    expected = h @ np.asarray(params[1].weight).T + np.asarray(params[1].bias)
    np.testing.assert_allclose(
        np.asarray(net(params, jnp.asarray(x))), expected, rtol=RTOL, atol=ATOL
    )


def test_wrapping_an_eqx_module_does_not_warn():
    module = eqx.nn.Linear(3, 2, key=jax.random.key(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.as_layer(module)


def test_eqx_module_layer_is_jittable():
    module = eqx.nn.Linear(3, 2, key=jax.random.key(0))
    layer = nn.as_layer(module)
    p = layer.init((3,), key=jax.random.key(1))
    x = jnp.ones((4, 3))
    expected = np.ones((4, 3)) @ np.asarray(module.weight).T + np.asarray(module.bias)
    np.testing.assert_allclose(np.asarray(jax.jit(layer)(p, x)), expected, rtol=RTOL, atol=ATOL)


def test_plain_layers_are_jittable():
    layer = nn.Linear(2)
    p = layer.init((3,), key=jax.random.key(1))
    x = jnp.ones((4, 3))
    np.testing.assert_allclose(
        np.asarray(jax.jit(layer)(p, x)),
        np.asarray(x) @ np.asarray(p["w"]) + np.asarray(p["b"]),
        rtol=RTOL,
    )


def test_plain_callable_becomes_lambda_edge():
    e = px.edge(jnp.tanh, [1, 2])
    assert isinstance(e.layer, nn.Lambda)
    assert e.src == 1 and e.dst == (2,)
    x = jnp.asarray(_X)[None]
    np.testing.assert_allclose(np.asarray(e.layer(None, x)), np.tanh(_X)[None], rtol=1e-6)
    assert e.layer.init((3,), key=jax.random.key(0)) is None
    # a lambda works too, and layers pass through unchanged
    sq = nn.as_layer(lambda v: v**2)
    assert isinstance(sq, nn.Lambda)
    np.testing.assert_allclose(np.asarray(sq(None, jnp.array([[3.0]]))), [[9.0]])
    lin = nn.Linear(2)
    assert nn.as_layer(lin) is lin


def test_non_callable_is_not_an_edge():
    with pytest.raises(TypeError, match="cannot use 42 as an edge"):
        nn.as_layer(42)


def test_sigmoid_gain_and_centre():
    """sigma(g (x - c)) against numpy; gain 4, centre 0.5 has slope 1 at 0.5 (the hard
    sigmoid's), by a central finite difference."""
    layer = nn.Sigmoid(gain=4.0, centre=0.5)
    x64 = _X.astype(np.float64)
    got = np.asarray(layer(None, jnp.asarray(_X)[None]))[0]
    np.testing.assert_allclose(got, 1.0 / (1.0 + np.exp(-4.0 * (x64 - 0.5))), rtol=1e-5, atol=1e-6)
    h = 1e-3
    slope = (layer(None, jnp.array([0.5 + h])) - layer(None, jnp.array([0.5 - h]))) / (2 * h)
    assert float(slope[0]) == pytest.approx(1.0, rel=1e-3)
