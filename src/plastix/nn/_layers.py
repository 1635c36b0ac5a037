"""Layers: the edges of a plastix network.

A layer is a static description (hyper-parameters only). Its parameters live outside it, in a
pytree made by :meth:`Layer.init`, so the same network can be trained by any rule and any optax
optimizer. Layers act on *batches*: ``x`` has a leading batch axis and images are NHWC.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, ShapeError
from .._option import option

Params = Any
Shape = tuple[int, ...]


class Layer(eqx.Module):
    """Abstract layer: ``init`` makes parameters for a per-sample input shape, ``__call__``
    applies the layer to a batch."""

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        """Parameters for inputs of per-sample shape ``in_shape`` (``None`` if there are none)."""
        del in_shape, key
        return None

    @abc.abstractmethod
    def __call__(self, params: Params, x: Array) -> Array:
        """Apply the layer to a batch ``x`` of shape ``(batch, *in_shape)``."""


def _uniform(key: PRNGKeyArray, shape: Shape, fan_in: int) -> Array:
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, jnp.float32, -bound, bound)


class Linear(Layer):
    r"""Dense layer :math:`y = x W + b`, with :math:`W, b \sim U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`.

    The input must be flat, ``(batch, features)``; put a :class:`Flatten` before it for images.

    >>> import jax, plastix as px
    >>> layer = px.nn.Linear(3)
    >>> p = layer.init((5,), key=jax.random.key(0))
    >>> layer(p, jax.numpy.ones((2, 5))).shape
    (2, 3)
    """

    out_features: int = eqx.field(static=True)
    use_bias: bool = eqx.field(static=True, default=True)

    def __check_init__(self) -> None:
        if not isinstance(self.out_features, int) or self.out_features <= 0:
            raise ShapeError(f"Linear(out_features={self.out_features!r}): need a positive int.")

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        if len(in_shape) != 1:
            raise ShapeError(
                f"Linear expects a flat per-sample input (features,), got {in_shape}; "
                "put a Flatten() before it."
            )
        wkey, bkey = jax.random.split(key)
        params = {"w": _uniform(wkey, (in_shape[0], self.out_features), in_shape[0])}
        if self.use_bias:
            params["b"] = _uniform(bkey, (self.out_features,), in_shape[0])
        return params

    def __call__(self, params: Params, x: Array) -> Array:
        y = x @ params["w"]
        if self.use_bias:
            y = y + params["b"][None, :]
        return y


def _check_forward_scale(layer: ScaledLinear | ScaledConv2d) -> None:
    if not layer.multiplier > 0 or not layer.fan_in_power >= 0:
        raise ConfigError(
            f"{type(layer).__name__}(fan_in_power={layer.fan_in_power!r}, multiplier="
            f"{layer.multiplier!r}): need fan_in_power >= 0 and multiplier > 0."
        )


def _normal_params(key: PRNGKeyArray, shape: tuple[int, ...], use_bias: bool) -> Params:
    """The μP layers' parameters: standard normal weights of ``shape`` and, with a bias,
    zeros along the last axis."""
    params = {"w": jax.random.normal(key, shape, jnp.float32)}
    if use_bias:
        params["b"] = jnp.zeros((shape[-1],), jnp.float32)
    return params


class ScaledLinear(Layer):
    r"""Dense layer with its scale in the forward pass:
    :math:`y = c\, n_{in}^{-p}\, x W + b`, :math:`W_{ij} \sim \mathcal{N}(0, 1)`, :math:`b = 0`
    (``c`` = ``multiplier``, ``p`` = ``fan_in_power``).

    What μP-style parametrisations build (:class:`plastix.models.MuPC`): the weights are
    :math:`O(1)` at every width and depth and the scalings live in the forward pass, so the
    activities stay :math:`O(1)` and one learning rate transfers across widths and depths.
    With ``p = 0.5`` and ``c = 1`` the activities at initialisation have the variance of a
    standard :class:`Linear` layer's (LeCun normal in distribution), but the gradient with
    respect to :math:`W` is :math:`n_{in}^{-1/2}` times smaller.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> layer = px.nn.ScaledLinear(3, multiplier=0.5)
    >>> p = layer.init((4,), key=jax.random.key(0))
    >>> bool(jnp.allclose(layer(p, jnp.ones((2, 4))), 0.5 * jnp.ones((2, 4)) @ p["w"] / 2))
    True
    """

    out_features: int = eqx.field(static=True)
    fan_in_power: float = eqx.field(static=True, default=0.5)
    multiplier: float = eqx.field(static=True, default=1.0)
    use_bias: bool = eqx.field(static=True, default=False)

    def __check_init__(self) -> None:
        if not isinstance(self.out_features, int) or self.out_features <= 0:
            raise ShapeError(
                f"ScaledLinear(out_features={self.out_features!r}): need a positive int."
            )
        _check_forward_scale(self)

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        if len(in_shape) != 1:
            raise ShapeError(
                f"ScaledLinear expects a flat per-sample input (features,), got {in_shape}; "
                "put a Flatten() before it."
            )
        return _normal_params(key, (in_shape[0], self.out_features), self.use_bias)

    def scale(self, fan_in: int) -> float:
        r"""The forward multiplier :math:`c\, n_{in}^{-p}` for inputs of ``fan_in`` features."""
        return self.multiplier * fan_in ** (-self.fan_in_power)

    def __call__(self, params: Params, x: Array) -> Array:
        y = (x @ params["w"]) * self.scale(x.shape[-1])
        if self.use_bias:
            y = y + params["b"][None, :]
        return y


def _pair(v: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    t = tuple(v)
    if len(t) != 2 or not all(isinstance(i, int) for i in t):
        raise ShapeError(f"{name} must be an int or a pair of ints, got {v!r}.")
    return (t[0], t[1])


class _ConvBase(Layer):
    """What :class:`Conv2d` and :class:`ScaledConv2d` share: the geometry, its checks and
    the convolution."""

    out_channels: eqx.AbstractVar[int]
    kernel_size: eqx.AbstractVar[int | tuple[int, int]]
    stride: eqx.AbstractVar[int | tuple[int, int]]
    padding: eqx.AbstractVar[int | tuple[int, int] | str]
    use_bias: eqx.AbstractVar[bool]

    def __check_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.out_channels, int) or self.out_channels <= 0:
            raise ShapeError(f"{name}(out_channels={self.out_channels!r}): need a positive int.")
        _pair(self.kernel_size, "kernel_size")
        _pair(self.stride, "stride")
        if isinstance(self.padding, str) and self.padding not in ("SAME", "VALID"):
            raise ShapeError(
                f"{name} padding must be an int, a pair or 'SAME'/'VALID', got {self.padding!r}."
            )

    def _padding(self) -> str | list[tuple[int, int]]:
        if isinstance(self.padding, str):
            return self.padding
        ph, pw = _pair(self.padding, "padding")
        return [(ph, ph), (pw, pw)]

    def _shape(self, in_shape: Shape) -> tuple[tuple[int, int, int, int], int]:
        """The HWIO weight shape and the fan-in ``k_h k_w c_in``."""
        if len(in_shape) != 3:
            raise ShapeError(
                f"{type(self).__name__} expects per-sample images (height, width, channels), "
                f"got {in_shape}."
            )
        kh, kw = _pair(self.kernel_size, "kernel_size")
        cin = in_shape[2]
        return (kh, kw, cin, self.out_channels), kh * kw * cin

    def _conv(self, params: Params, x: Array, scale: float) -> Array:
        y = jax.lax.conv_general_dilated(
            x,
            params["w"],
            window_strides=_pair(self.stride, "stride"),
            padding=self._padding(),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        if scale != 1.0:
            y = y * scale
        if self.use_bias:
            y = y + params["b"][None, None, None, :]
        return y


class Conv2d(_ConvBase):
    r"""2-D convolution on NHWC batches, weights HWIO,
    :math:`W, b \sim U(-1/\sqrt{k_h k_w c_{in}}, \cdot)`.

    ``padding`` is an int or pair (zeros on each side), or ``"SAME"``.

    >>> import jax, plastix as px
    >>> conv = px.nn.Conv2d(4, kernel_size=3, padding=1)
    >>> p = conv.init((8, 8, 1), key=jax.random.key(0))
    >>> conv(p, jax.numpy.ones((2, 8, 8, 1))).shape
    (2, 8, 8, 4)
    """

    out_channels: int = eqx.field(static=True)
    kernel_size: int | tuple[int, int] = eqx.field(static=True, default=3)
    stride: int | tuple[int, int] = eqx.field(static=True, default=1)
    padding: int | tuple[int, int] | str = eqx.field(static=True, default=0)
    use_bias: bool = eqx.field(static=True, default=True)

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        shape, fan_in = self._shape(in_shape)
        wkey, bkey = jax.random.split(key)
        params = {"w": _uniform(wkey, shape, fan_in)}
        if self.use_bias:
            params["b"] = _uniform(bkey, (self.out_channels,), fan_in)
        return params

    def __call__(self, params: Params, x: Array) -> Array:
        return self._conv(params, x, 1.0)


class ScaledConv2d(_ConvBase):
    r"""2-D convolution with its scale in the forward pass, the convolutional
    :class:`ScaledLinear`: :math:`y = c\, n_{in}^{-p}\, (x * W) + b`,
    :math:`W \sim \mathcal{N}(0, 1)` (HWIO), :math:`b = 0`, with the fan-in
    :math:`n_{in} = k_h k_w c_{in}` (``c`` = ``multiplier``, ``p`` = ``fan_in_power``). What
    :class:`plastix.models.MuPC` makes of a :class:`Conv2d`.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> conv = px.nn.ScaledConv2d(2, kernel_size=3, padding=1, multiplier=0.5)
    >>> p = conv.init((5, 5, 4), key=jax.random.key(0))
    >>> x = jnp.ones((1, 5, 5, 4))
    >>> bool(jnp.allclose(conv(p, x)[0, 2, 2], 0.5 / 6 * p["w"].sum((0, 1, 2))))
    True
    """

    out_channels: int = eqx.field(static=True)
    kernel_size: int | tuple[int, int] = eqx.field(static=True, default=3)
    stride: int | tuple[int, int] = eqx.field(static=True, default=1)
    padding: int | tuple[int, int] | str = eqx.field(static=True, default=0)
    use_bias: bool = eqx.field(static=True, default=False)
    fan_in_power: float = eqx.field(static=True, default=0.5)
    multiplier: float = eqx.field(static=True, default=1.0)

    def __check_init__(self) -> None:
        _check_forward_scale(self)

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        return _normal_params(key, self._shape(in_shape)[0], self.use_bias)

    def scale(self, fan_in: int) -> float:
        r"""The forward multiplier :math:`c\, n_{in}^{-p}` for a fan-in of ``fan_in``."""
        return self.multiplier * fan_in ** (-self.fan_in_power)

    def __call__(self, params: Params, x: Array) -> Array:
        kh, kw = _pair(self.kernel_size, "kernel_size")
        return self._conv(params, x, self.scale(kh * kw * x.shape[-1]))


class _Pool(Layer):
    window: int | tuple[int, int] = eqx.field(static=True, default=2)
    stride: int | tuple[int, int] | None = eqx.field(static=True, default=None)
    padding: int | tuple[int, int] = eqx.field(static=True, default=0)

    def _args(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[tuple[int, int], ...]]:
        wh, ww = _pair(self.window, "window")
        sh, sw = _pair(self.stride if self.stride is not None else self.window, "stride")
        ph, pw = _pair(self.padding, "padding")
        return (1, wh, ww, 1), (1, sh, sw, 1), ((0, 0), (ph, ph), (pw, pw), (0, 0))

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        if len(in_shape) != 3:
            raise ShapeError(
                f"{type(self).__name__} expects per-sample images (height, width, channels), "
                f"got {in_shape}."
            )
        return None


class MaxPool(_Pool):
    """Max pooling over ``window`` with ``stride`` (default: the window) on NHWC batches."""

    def __call__(self, params: Params, x: Array) -> Array:
        dims, strides, pad = self._args()
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, dims, strides, pad)


class AvgPool(_Pool):
    """Average pooling over ``window`` with ``stride`` (default: the window); zero padding
    counts in the average."""

    def __call__(self, params: Params, x: Array) -> Array:
        dims, strides, pad = self._args()
        s = jax.lax.reduce_window(x, 0.0, jax.lax.add, dims, strides, pad)
        return s / (dims[1] * dims[2])


class Flatten(Layer):
    """Flatten every axis but the batch axis."""

    def __call__(self, params: Params, x: Array) -> Array:
        return x.reshape(x.shape[0], -1)


class Reshape(Layer):
    """Reshape every sample to ``shape`` (the batch axis is kept)."""

    shape: tuple[int, ...] = eqx.field(static=True, converter=tuple)

    def __call__(self, params: Params, x: Array) -> Array:
        return x.reshape(x.shape[0], *self.shape)


class Lambda(Layer):
    """Any parameter-free callable on batches, e.g. ``Lambda(jnp.tanh)``."""

    fn: Callable[[Array], Array] = eqx.field(static=True)

    def __call__(self, params: Params, x: Array) -> Array:
        return self.fn(x)


class Tanh(Layer):
    r""":math:`\tanh(x)`."""

    def __call__(self, params: Params, x: Array) -> Array:
        return jnp.tanh(x)


class ReLU(Layer):
    r""":math:`\max(x, 0)`."""

    def __call__(self, params: Params, x: Array) -> Array:
        return jax.nn.relu(x)


class LeakyReLU(Layer):
    r""":math:`x` if :math:`x > 0` else :math:`\alpha x`."""

    negative_slope: float = option(0.01, help="slope for negative inputs")

    def __call__(self, params: Params, x: Array) -> Array:
        return jax.nn.leaky_relu(x, self.negative_slope)


class GELU(Layer):
    r""":math:`x \Phi(x)`; ``approximate=True`` uses the tanh approximation (JAX's default)."""

    approximate: bool = option(True, help="the tanh approximation")

    def __call__(self, params: Params, x: Array) -> Array:
        return jax.nn.gelu(x, approximate=self.approximate)


class ELU(Layer):
    r""":math:`x` if :math:`x > 0` else :math:`\alpha (e^x - 1)` (the activation of Ernoult et
    al. 2022's DTP networks)."""

    alpha: float = option(1.0, help="saturation value -alpha for large negative inputs")

    def __call__(self, params: Params, x: Array) -> Array:
        return jax.nn.elu(x, self.alpha)


class HardTanh(Layer):
    r""":math:`\mathrm{clip}(x, -1, 1)`."""

    def __call__(self, params: Params, x: Array) -> Array:
        return jnp.clip(x, -1.0, 1.0)


class Sigmoid(Layer):
    r""":math:`\sigma(g\,(x - c)) = 1 / (1 + e^{-g (x - c)})` (gain :math:`g`, centre
    :math:`c`; the plain sigmoid by default). ``gain=4, centre=0.5`` is the analytic
    counterpart of the hard sigmoid (slope 1 at 0.5), which holomorphic EP needs."""

    gain: float = option(1.0, help="gain g: the slope at the centre is g/4")
    centre: float = option(0.0, help="centre c, where the output is 1/2")

    def __call__(self, params: Params, x: Array) -> Array:
        return jax.nn.sigmoid(self.gain * (x - self.centre))


class HardSigmoid(Layer):
    r""":math:`\mathrm{clip}(x, 0, 1)` (the activation of equilibrium propagation papers), with
    derivative 1 on the closed interval :math:`[0, 1]` (``jnp.clip`` would give 1/2 at the
    bounds, where box-constrained states sit)."""

    def __call__(self, params: Params, x: Array) -> Array:
        return x - jax.nn.relu(x - 1.0) + jax.nn.relu(-x)


class Identity(Layer):
    """:math:`x`."""

    def __call__(self, params: Params, x: Array) -> Array:
        return x


class Sequential(Layer):
    """Layers applied one after the other; parameters are a tuple, one entry per layer.

    >>> import jax, plastix as px
    >>> seq = px.nn.Sequential([px.nn.Flatten(), px.nn.Linear(4), px.nn.Tanh()])
    >>> p = seq.init((2, 3, 1), key=jax.random.key(0))
    >>> seq(p, jax.numpy.ones((5, 2, 3, 1))).shape
    (5, 4)
    """

    layers: Sequence[Layer] = eqx.field(
        static=True, converter=lambda ls: tuple(as_layer(l) for l in ls)
    )

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        params = []
        shape = in_shape
        for layer, k in zip(self.layers, jax.random.split(key, max(len(self.layers), 1))):
            p = layer.init(shape, key=k)
            params.append(p)
            out = jax.eval_shape(layer, p, jax.ShapeDtypeStruct((1, *shape), jnp.float32))
            shape = tuple(out.shape[1:])
        return tuple(params)

    def __call__(self, params: Params, x: Array) -> Array:
        for layer, p in zip(self.layers, params):
            x = layer(p, x)
        return x


class _ByIdentity:
    """Holds a value in a static field: hashed and compared by identity (arrays are not hashable)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class EqxModule(Layer):
    """Wrap an initialised Equinox module as a layer. Its arrays become the parameters
    (:meth:`init` returns them); the rest of the module is static.

    Equinox modules act on one sample, so by default the module is ``vmap``-ed over the batch;
    pass ``batched=True`` for a module that already takes batches.

    >>> import equinox as eqx, jax, plastix as px
    >>> layer = px.nn.EqxModule(eqx.nn.Linear(3, 2, key=jax.random.key(0)))
    >>> p = layer.init((3,), key=jax.random.key(1))
    >>> layer(p, jax.numpy.ones((5, 3))).shape
    (5, 2)
    """

    skeleton: Any = eqx.field(static=True)
    initial: _ByIdentity = eqx.field(static=True)
    batched: bool = eqx.field(static=True)

    def __init__(self, module: Any, batched: bool = False) -> None:
        self.skeleton = eqx.filter(module, eqx.is_array, inverse=True)
        self.initial = _ByIdentity(eqx.filter(module, eqx.is_array))
        self.batched = batched

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        return self.initial.value

    def __call__(self, params: Params, x: Array) -> Array:
        module = eqx.combine(params, self.skeleton)
        return module(x) if self.batched else jax.vmap(module)(x)


def as_layer(obj: Any) -> Layer:
    """Turn an edge specification into a :class:`Layer`: layers pass through, Equinox modules
    are wrapped in :class:`EqxModule`, plain callables in :class:`Lambda`."""
    if isinstance(obj, Layer):
        return obj
    if isinstance(obj, eqx.Module):
        return EqxModule(obj)
    if callable(obj):
        return Lambda(obj)
    raise TypeError(
        f"cannot use {obj!r} as an edge: pass a plastix layer, an Equinox module or a callable."
    )


ACTIVATIONS: dict[str, type[Layer]] = {
    "tanh": Tanh,
    "relu": ReLU,
    "leaky-relu": LeakyReLU,
    "gelu": GELU,
    "elu": ELU,
    "hard-tanh": HardTanh,
    "hard-sigmoid": HardSigmoid,
    "sigmoid": Sigmoid,
    "identity": Identity,
}
"""The activations by the name a configuration gives them."""


def activation(name: str | Layer) -> Layer:
    """An activation layer from its name (a key of :data:`ACTIVATIONS`), or a layer passed
    through.

    >>> import plastix as px
    >>> px.nn.activation("hard-sigmoid")
    HardSigmoid()
    """
    if isinstance(name, Layer):
        return name
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}."
        ) from None
