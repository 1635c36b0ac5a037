"""The contract every learning rule follows."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import optax
from jaxtyping import Array, PRNGKeyArray

from .._errors import ShapeError
from ..graph import Network

Batch = tuple[Array, Array]
"""``(x, y)``: inputs ``(batch, *input_shape)`` and one-hot targets ``(batch, classes)``."""
Metrics = dict[str, Array]


class Rule(eqx.Module):
    """A learning rule. Given a network, its parameters and a batch, :meth:`grads` returns
    parameter updates in gradient form (so any optax optimizer applies them) and metrics
    (``loss`` and ``accuracy`` always, rule-specific ones such as ``energy`` too). Rules are
    immutable and their methods pure and ``jit``-able.

    :meth:`step` is one training step; rules whose parameter updates interleave with their
    inference (e.g. incremental PC) override it.
    """

    name: ClassVar[str] = "rule"
    #: Does :meth:`step` use ``key`` (stochastic rules)?
    stochastic: ClassVar[bool] = False
    #: Does the update estimate the gradient of the output cost of the network's feedforward
    #: pass (so :func:`~plastix.rules.gradient_check` can compare them)? False for rules with
    #: local objectives (Forward-Forward) or none (Hebbian).
    estimates_gradient: ClassVar[bool] = True

    def check(self, net: Network, batch: Batch | None = None) -> None:
        """Raise a clear error if this rule cannot train ``net`` (or on ``batch``)."""
        if batch is not None:
            check_batch(net, batch)

    def bind(self, *, steps_per_epoch: int) -> Rule:
        """This rule told the length of an epoch in steps (the :class:`~plastix.train.Trainer`
        calls it); rules with phases counted in epochs (SoftHebb) return an updated copy."""
        del steps_per_epoch
        return self

    def init_params(self, net: Network, *, key: PRNGKeyArray) -> Any:
        """Initial parameters (default: the network's; rules with extra weights add them)."""
        return net.init(key=key)

    def predict(self, net: Network, params: Any, x: Array) -> Array:
        """The network's output for inputs ``x`` as this rule reads it (default: a
        feedforward pass; energy-based rules with a free phase use its equilibrium)."""
        return net(params, x)

    @abc.abstractmethod
    def grads(
        self, net: Network, params: Any, batch: Batch, *, key: PRNGKeyArray | None = None
    ) -> tuple[Any, Metrics]:
        """Parameter gradients (a pytree like ``params``) and metrics for one batch."""

    def step(
        self,
        net: Network,
        params: Any,
        opt_state: optax.OptState,
        optimizer: optax.GradientTransformation,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, optax.OptState, Metrics]:
        """One training step: gradients, then the optimizer's update."""
        g, metrics = self.grads(net, params, batch, key=key)
        updates, opt_state = optimizer.update(g, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, metrics


def check_batch(net: Network, batch: Batch) -> None:
    """Raise :class:`~plastix.ShapeError` if ``batch`` does not fit ``net``."""
    x, y = batch
    net.check_input(x)
    out_shape = net.node_shapes[net.output]
    if x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"label/sample count mismatch: {x.shape[0]} inputs but {y.shape[0]} targets."
        )
    if tuple(y.shape[1:]) != out_shape:
        raise ShapeError(
            f"targets have shape {tuple(y.shape)} but the output node {net.output} has shape "
            f"(batch, {', '.join(map(str, out_shape))}); pass one-hot targets "
            "(plastix.data.OneHot) matching the network's output."
        )
