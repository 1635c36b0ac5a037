"""Hebbian blocks as layers (SoftHebb's, Journé et al. 2022): batch norm without affine, a
bias-free dense or conv map, the triangle activation to a power, optional pooling. The plastic
updates that train them are rules' (:mod:`plastix.local`); under any other rule they are
ordinary layers whose batch norm uses the stored statistics."""

from __future__ import annotations

import abc
import enum
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, ShapeError
from ._layers import Layer, Params, Shape, _pair


def _last(v: Array, ndim: int) -> Array:
    """``v`` (shape ``(C,)``) shaped to broadcast along the last axis of an ``ndim`` array."""
    return v.reshape((1,) * (ndim - 1) + (-1,))


class HebbianActivation(enum.Enum):
    """The non-linearity of a Hebbian block, applied to its weighted input :math:`u` before
    the power :math:`p`."""

    TRIANGLE = "triangle"
    r"""SoftHebb's :math:`\max(0, u - \bar u)^p`, :math:`\bar u` the mean over the units
    (Journé et al. 2022)."""
    RELU = "relu"
    r"""Krotov & Hopfield's (2019) rectified power :math:`\max(0, u)^p` (their :math:`n`)."""
    IDENTITY = "identity"
    r"""The weighted input itself, :math:`u` (power 1 only): the linear projection the PCA
    rules (Oja, Sanger) learn, read out as in PCA followed by a linear classifier."""


class HebbianLayer(Layer):
    """A Hebbian block: batch norm without affine parameters (optional), a weighted input
    without bias, an activation (:class:`HebbianActivation`, the triangle by default) to a
    power, and optional pooling.

    Parameters ``{"w", "mean", "var"}``: the weights and the running input statistics (used
    outside training; gradient-based rules see them as constants)."""

    power: float = eqx.field(static=True, default=1.0, kw_only=True)
    activation: HebbianActivation = eqx.field(
        static=True, default=HebbianActivation.TRIANGLE, kw_only=True
    )
    pool: Layer | None = eqx.field(static=True, default=None, kw_only=True)
    batch_norm: bool = eqx.field(static=True, default=True, kw_only=True)
    init_radius: float = eqx.field(static=True, default=25.0, kw_only=True)
    eps: float = eqx.field(static=True, default=1e-5, kw_only=True)

    def __check_init__(self) -> None:
        if not isinstance(self.activation, HebbianActivation):
            raise ConfigError(
                f"{type(self).__name__} activation must be a HebbianActivation "
                f"({', '.join(a.value for a in HebbianActivation)}), got {self.activation!r}."
            )
        if self.activation is HebbianActivation.IDENTITY and self.power != 1.0:
            raise ConfigError(
                f"{type(self).__name__}: the identity activation takes no power (got power="
                f"{self.power}); pass power=1.0, or the relu activation for max(0, u)^p."
            )
        if self.init_radius <= 0 or self.power <= 0:
            raise ConfigError(
                f"{type(self).__name__} needs init_radius > 0 and power > 0, got "
                f"{self.init_radius} and {self.power}."
            )

    @abc.abstractmethod
    def weight_shape(self, in_shape: Shape) -> Shape:
        """Shape of ``w`` (output units/channels last) for per-sample inputs ``in_shape``."""

    @abc.abstractmethod
    def weighted_input(self, w: Array, xn: Array) -> Array:
        """:math:`u`, linear in ``w``; units/channels on the last axis."""

    def matrix_form(self, w: Array, xn: Array) -> tuple[Array, Array, tuple[int, ...]]:
        """``(A, W_mat, u_shape)`` with ``u = (A @ W_mat).reshape(u_shape)``: the input as a
        matrix of patches (one row per output position) and the weights as a matrix, so that
        the Hebbian correlation is one matrix product, :math:`A^\top y`."""
        return xn, w, (xn.shape[0], w.shape[-1])

    def weights_from_matrix(self, m: Array, w_shape: tuple[int, ...]) -> Array:
        """Inverse of the weight reshaping in :meth:`matrix_form`."""
        return m.reshape(w_shape)

    def stat_axes(self, x: Array) -> tuple[int, ...]:
        """Axes of ``x`` the batch norm averages over (all but the channel axis)."""
        return tuple(range(x.ndim - 1))

    def prepare(self, x: Array) -> Array:
        """The input as the weights see it (dense blocks flatten images)."""
        return x

    def init(self, in_shape: Shape, *, key: PRNGKeyArray) -> Params:
        shape = self.weight_shape(in_shape)
        fan_in = math.prod(shape[:-1])
        w = self.init_radius / math.sqrt(fan_in) * jax.random.normal(key, shape, jnp.float32)
        params: dict[str, Array] = {"w": w}
        if self.batch_norm:
            c = shape[-2] if len(shape) == 4 else shape[0]
            params["mean"] = jnp.zeros((c,), jnp.float32)
            params["var"] = jnp.ones((c,), jnp.float32)
        return params

    def normalise(
        self, params: Params, x: Array, *, batch_stats: bool
    ) -> tuple[Array, Array | None, Array | None]:
        """``(x_hat, batch_mean, batch_var)``: ``x`` standardised with the batch's statistics
        (``batch_stats``; the unbiased variance is returned for the running average) or the
        running ones."""
        x = self.prepare(x)
        if not self.batch_norm:
            return x, None, None
        if batch_stats:
            axes = self.stat_axes(x)
            mean = jnp.mean(x, axes)
            var = jnp.var(x, axes)
            n = math.prod(x.shape[a] for a in axes)
            xn = (x - _last(mean, x.ndim)) / _last(jnp.sqrt(var + self.eps), x.ndim)
            return xn, mean, var * n / max(n - 1, 1)
        mean = _last(jax.lax.stop_gradient(params["mean"]), x.ndim)
        var = _last(jax.lax.stop_gradient(params["var"]), x.ndim)
        return (x - mean) / jnp.sqrt(var + self.eps), None, None

    def activate(self, u: Array) -> Array:
        """The activation to the power :math:`p` (triangle: :math:`\\max(0, u - \\bar u)^p`,
        mean over the channels; ReLU: :math:`\\max(0, u)^p`; identity: :math:`u`), then the
        pooling."""
        if self.activation is HebbianActivation.IDENTITY:
            a = u
        elif self.activation is HebbianActivation.RELU:
            a = jax.nn.relu(u)
        else:
            a = jax.nn.relu(u - jnp.mean(u, axis=-1, keepdims=True))
        if self.power != 1.0:
            a = a**self.power
        return a if self.pool is None else self.pool(None, a)

    def __call__(self, params: Params, x: Array) -> Array:
        xn, _, _ = self.normalise(params, x, batch_stats=False)
        return self.activate(self.weighted_input(params["w"], xn))


class HebbConv2d(HebbianLayer):
    """A convolutional Hebbian block (NHWC, weights HWIO, no bias, ``reflect`` or zero
    padding), e.g. SoftHebb's first CIFAR-10 layer
    ``HebbConv2d(96, 5, padding=2, power=0.7, pool=MaxPool(4, stride=2, padding=1))``."""

    out_channels: int = eqx.field(static=True, default=96)
    kernel_size: int | tuple[int, int] = eqx.field(static=True, default=3)
    padding: int | tuple[int, int] = eqx.field(static=True, default=0)
    padding_mode: str = eqx.field(static=True, default="reflect")
    stride: int | tuple[int, int] = eqx.field(static=True, default=1)

    def __check_init__(self) -> None:
        if not isinstance(self.out_channels, int) or self.out_channels <= 0:
            raise ShapeError(
                f"HebbConv2d(out_channels={self.out_channels!r}): need a positive int."
            )
        _pair(self.kernel_size, "kernel_size")
        _pair(self.padding, "padding")
        _pair(self.stride, "stride")
        if self.padding_mode not in ("reflect", "zeros"):
            raise ConfigError(
                f"HebbConv2d padding_mode must be 'reflect' or 'zeros', got {self.padding_mode!r}."
            )

    def weight_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3:
            raise ShapeError(
                f"HebbConv2d expects per-sample images (height, width, channels), got {in_shape}."
            )
        kh, kw = _pair(self.kernel_size, "kernel_size")
        return (kh, kw, in_shape[2], self.out_channels)

    def _pad(self, xn: Array) -> Array:
        ph, pw = _pair(self.padding, "padding")
        if ph or pw:
            mode = "reflect" if self.padding_mode == "reflect" else "constant"
            xn = jnp.pad(xn, ((0, 0), (ph, ph), (pw, pw), (0, 0)), mode=mode)
        return xn

    def matrix_form(self, w: Array, xn: Array) -> tuple[Array, Array, tuple[int, ...]]:
        kh, kw, _, cout = w.shape
        patches = jax.lax.conv_general_dilated_patches(
            self._pad(xn),
            (kh, kw),
            _pair(self.stride, "stride"),
            "VALID",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )  # (N, H', W', cin * kh * kw), input channel major
        n, h, wd, f = patches.shape
        wm = jnp.transpose(w, (2, 0, 1, 3)).reshape(f, cout)
        return patches.reshape(n * h * wd, f), wm, (n, h, wd, cout)

    def weights_from_matrix(self, m: Array, w_shape: tuple[int, ...]) -> Array:
        kh, kw, cin, cout = w_shape
        return jnp.transpose(m.reshape(cin, kh, kw, cout), (1, 2, 0, 3))

    def weighted_input(self, w: Array, xn: Array) -> Array:
        xn = self._pad(xn)
        return jax.lax.conv_general_dilated(
            xn,
            w,
            window_strides=_pair(self.stride, "stride"),
            padding="VALID",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )


class HebbDense(HebbianLayer):
    """A dense Hebbian block (images are flattened first), weights ``(in, units)``."""

    units: int = eqx.field(static=True, default=2000)

    def __check_init__(self) -> None:
        if not isinstance(self.units, int) or self.units <= 0:
            raise ShapeError(f"HebbDense(units={self.units!r}): need a positive int.")
        if self.pool is not None:
            raise ConfigError("HebbDense has no spatial axes to pool; pass pool=None.")

    def prepare(self, x: Array) -> Array:
        return x.reshape(x.shape[0], -1)

    def weight_shape(self, in_shape: Shape) -> Shape:
        return (math.prod(in_shape), self.units)

    def weighted_input(self, w: Array, xn: Array) -> Array:
        return xn @ w
