"""Output costs :math:`C(\\hat y, y)`, per sample."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


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
        logp = jax.nn.log_softmax(output.reshape(output.shape[0], -1), axis=1)
        return -jnp.sum(target.reshape(target.shape[0], -1) * logp, axis=1)


ALL_COSTS: tuple[type[Cost], ...] = (SquaredError, CrossEntropy)
"""The costs a configuration can name."""


def accuracy(output: Array, target: Array) -> Array:
    """Fraction of samples whose arg-max output is the arg-max of the one-hot target."""
    return jnp.mean(jnp.argmax(output, axis=-1) == jnp.argmax(target, axis=-1))
