"""Output costs :math:`C(\\hat y, y)`, per sample."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import ConfigError
from .._option import option


class Cost(eqx.Module):
    """A per-sample output cost; ``__call__`` returns shape ``(batch,)``. ``name`` is how a
    configuration names it."""

    name: ClassVar[str]

    @abc.abstractmethod
    def __call__(
        self, output: Float[Array, "batch ..."], target: Float[Array, "batch ..."]
    ) -> Float[Array, " batch"]:
        """Cost of each sample's ``output`` against its one-hot ``target``."""


class SquaredError(Cost):
    r""":math:`C = \tfrac12 \lVert \hat y - y \rVert^2` (summed over output units)."""

    name: ClassVar[str] = "squared-error"

    def __call__(self, output: Array, target: Array) -> Array:
        d = (output - target).reshape(output.shape[0], -1)
        return 0.5 * jnp.sum(d * d, axis=1)


class CrossEntropy(Cost):
    r""":math:`C = -\sum_k y_k \log \mathrm{softmax}(\hat y)_k` (the output is a logit vector)."""

    name: ClassVar[str] = "cross-entropy"

    def __call__(self, output: Array, target: Array) -> Array:
        z = output.reshape(output.shape[0], -1)
        if jnp.iscomplexobj(z):  # holomorphic (holomorphic EP): shifted by a constant
            m = jax.lax.stop_gradient(jnp.max(jnp.real(z), axis=1, keepdims=True))
            logp = z - m - jnp.log(jnp.sum(jnp.exp(z - m), axis=1, keepdims=True))
        else:
            logp = jax.nn.log_softmax(z, axis=1)
        return -jnp.sum(target.reshape(target.shape[0], -1) * logp, axis=1)


class BinaryCrossEntropy(Cost):
    r"""One logistic unit per class: :math:`C = \sum_k \big[\log(1 + e^{\hat y_k}) - y_k
    \hat y_k\big]`, the binary cross-entropy of :math:`\sigma(\hat y_k)` against
    :math:`y_k` (Nøkland 2016's DFA criterion). Its error is :math:`\partial C / \partial
    \hat y = \sigma(\hat y) - y`; classes are read as :math:`\arg\max_k \hat y_k` as with
    the other costs.

    >>> import jax.numpy as jnp
    >>> round(float(BinaryCrossEntropy()(jnp.array([[0.0, 0.0]]), jnp.array([[0.0, 1.0]]))[0]), 4)
    1.3863
    """

    name: ClassVar[str] = "binary-cross-entropy"

    def __call__(self, output: Array, target: Array) -> Array:
        z = output.reshape(output.shape[0], -1)
        t = target.reshape(target.shape[0], -1)
        return jnp.sum(jax.nn.softplus(z) - t * z, axis=1)


class TanhPower(Cost):
    r"""Krotov & Hopfield's (2019) read-out cost
    :math:`C = \sum_k \lvert \tanh(\beta \hat y_k) - t_k \rvert^m`, :math:`t_k = 2y_k - 1 \in
    \{-1, +1\}`: a power :math:`m > 2` weighs the worst-classified units most. :math:`\beta`
    sets the scale of the outputs the tanh reads, so it must suit the features' scale (their
    rectified power :math:`n = 4.5` makes them large).

    >>> import jax.numpy as jnp
    >>> float(TanhPower(beta=1.0, m=2.0)(jnp.array([[0.0, 0.0]]), jnp.array([[0.0, 1.0]]))[0])
    2.0
    """

    name: ClassVar[str] = "tanh-power"
    beta: float = option(0.1, help="tanh-power: inverse scale beta of the outputs")
    m: float = option(6.0, help="tanh-power: the power m of the error")

    def __check_init__(self) -> None:
        if not self.beta > 0 or not self.m >= 1:
            raise ConfigError(
                f"TanhPower needs beta > 0 and m >= 1, got beta={self.beta}, m={self.m}."
            )

    def __call__(self, output: Array, target: Array) -> Array:
        c = jnp.tanh(self.beta * output.reshape(output.shape[0], -1))
        t = 2.0 * target.reshape(target.shape[0], -1) - 1.0
        return jnp.sum(jnp.abs(c - t) ** self.m, axis=1)


ALL_COSTS: tuple[type[Cost], ...] = (SquaredError, CrossEntropy, BinaryCrossEntropy, TanhPower)
"""The costs a configuration can name."""


def accuracy(output: Array, target: Array) -> Array:
    """Fraction of samples whose arg-max output is the arg-max of the one-hot target."""
    return jnp.mean(jnp.argmax(output, axis=-1) == jnp.argmax(target, axis=-1))
