"""The contract every learning rule follows."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import optax
from jaxtyping import Array, PRNGKeyArray

from .._errors import ShapeError
from .._option import check_option_types
from ..graph import Network
from ..inference import InferenceInfo
from ._costs import Cost

Batch = tuple[Array, Array]
"""``(x, y)``: inputs ``(batch, *input_shape)`` and one-hot targets ``(batch, classes)``."""
Metrics = dict[str, Array]


class AbstractRule(eqx.Module):
    """A learning rule: given a network, its parameters, its non-learned state and a batch,
    :meth:`step` returns the updated parameters, state and optimizer state and metrics
    (``loss`` and ``accuracy`` always, rule-specific ones such as ``energy`` too).

    :meth:`init` makes both halves: ``params`` (what the optimizer updates) and ``state``
    (what the rule keeps beside them and updates itself: Forward-Forward's running means,
    the Hebbian rules' step counter, batch-norm statistics and BCM thresholds; ``None`` for
    most rules). The optimizer never sees ``state``. Rules are immutable, their methods pure and
    ``jit``-able; every concrete rule is final, and what a rule can do beyond training is
    declared by the abstract bases it derives from (:class:`AbstractGradientRule`,
    :class:`AbstractEnergyRule`, :class:`AbstractFeedbackRule`,
    :class:`AbstractGenerativeRule`), never discovered by attribute lookups.

    ``name`` is how configurations and the command line name the rule;
    ``estimates_gradient`` says whether the update estimates the gradient of the output cost
    of the network's feedforward pass (so :func:`~plastix.rules.gradient_check` can compare
    them): False for rules with local objectives (Forward-Forward) or none (Hebbian).
    """

    name: ClassVar[str]
    estimates_gradient: ClassVar[bool] = True

    def __check_init__(self) -> None:
        check_option_types(self)  # EP(sign="bogus") fails here, naming the valid values

    def check(self, net: Network, batch: Batch | None = None) -> None:
        """Raise a clear error if this rule cannot train ``net`` (or on ``batch``)."""
        if batch is not None:
            check_batch(net, batch)

    def bind(self, *, steps_per_epoch: int) -> AbstractRule:
        """This rule told the length of an epoch in steps (the :class:`~plastix.train.Trainer`
        calls it); rules with phases counted in epochs (SoftHebb) return an updated copy."""
        del steps_per_epoch
        return self

    def optimizer_calls_per_step(self) -> int:
        """How many times :meth:`step` calls the optimizer per batch (1; iPC: once per
        inference step). A learning-rate schedule counts optimizer calls, so one meant to
        span a run spans ``steps * optimizer_calls_per_step()`` of them (the command line
        builds it so)."""
        return 1

    def optimizer_calls(self, *, steps_per_epoch: int, epochs: int) -> int:
        """How many times a run of ``epochs`` epochs of ``steps_per_epoch`` steps calls the
        optimizer: the span of its learning-rate schedule (``steps *``
        :meth:`optimizer_calls_per_step`; the Hebbian rules call it only after their
        unsupervised phase)."""
        return steps_per_epoch * epochs * self.optimizer_calls_per_step()

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, Any]:
        """Initial ``(params, state)``: by default the network's parameters and no state;
        rules with extra weights or non-learned state add them."""
        return net.init(key=key), None

    def per_example_state(self, net: Network, x: Array | jax.ShapeDtypeStruct) -> Any:
        """A state kept per training example for the training inputs ``x`` (leading axis
        ``len(x)``; a ``jax.ShapeDtypeStruct`` of them serves), or ``None`` (the default: the rule's state is :meth:`init`'s). When a rule
        returns one (the energy rules with ``persistent=True``), a
        :class:`~plastix.train.Trainer` keeps it in place of the state, passes each batch's
        rows to :meth:`step` as ``state`` and writes the returned rows back."""
        del net, x
        return None

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """The network's output for inputs ``x`` as this rule reads it (default: a
        feedforward pass; energy-based rules with a free phase use its equilibrium)."""
        return net(params, x)

    @abc.abstractmethod
    def eval_cost(self, output: Array, target: Array) -> Array:
        """The per-sample cost of ``output`` against one-hot ``target`` (what evaluation
        reports as the test loss)."""

    @abc.abstractmethod
    def step(
        self,
        net: Network,
        params: Any,
        state: Any,
        opt_state: optax.OptState,
        optimizer: optax.GradientTransformation,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, optax.OptState, Metrics]:
        """One training step: the new parameters, state and optimizer state, and the
        metrics."""


Rule = AbstractRule
"""The public name of :class:`AbstractRule` (``px.Rule``)."""


class AbstractGradientRule(AbstractRule):
    """A rule whose update is a parameter gradient (:meth:`grads`) that any optax optimizer
    applies; :meth:`step` is that, once for all such rules. ``cost`` is its output cost."""

    cost: eqx.AbstractVar[Cost]

    @abc.abstractmethod
    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        """Parameter gradients (a pytree like ``params``), the new non-learned state and
        metrics for one batch."""

    def step(
        self,
        net: Network,
        params: Any,
        state: Any,
        opt_state: optax.OptState,
        optimizer: optax.GradientTransformation,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, optax.OptState, Metrics]:
        """One training step: :meth:`grads`, then the optimizer's update."""
        g, state, metrics = self.grads(net, params, state, batch, key=key)
        updates, opt_state = optimizer.update(g, opt_state, params)
        return optax.apply_updates(params, updates), state, opt_state, metrics

    def eval_cost(self, output: Array, target: Array) -> Array:
        return self.cost(output, target)


class AbstractEnergyRule(AbstractRule):
    """A rule that relaxes node states on an energy before it learns (PC, iPC, BiPC, EP,
    CHL). :meth:`relax` exposes the relaxed states."""

    @abc.abstractmethod
    def relax(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """The state of every node (node order, the input included) at the end of the
        relaxation this rule learns from on ``batch`` (for EP and CHL: the free phase, whose
        output is the prediction), and the relaxation's :class:`~plastix.InferenceInfo`."""


class AbstractFeedbackRule(AbstractGradientRule):
    """A rule that sends errors or targets down through other weights than the network's
    (feedback alignment, target propagation). :meth:`forward_params` picks the network's own
    parameters (or their gradients) out of the rule's."""

    @abc.abstractmethod
    def forward_params(self, params: Any) -> Any:
        """The network's (forward) parameters within this rule's ``params`` or gradients."""


class AbstractGenerativeRule(AbstractRule):
    """A rule that also learns a top-down (generative) model: :meth:`generate` gives inputs
    for labels, :meth:`forward_params` the network's own (bottom-up) parameters."""

    @abc.abstractmethod
    def generate(self, net: Network, params: Any, y: Array) -> Array:
        """Inputs generated for one-hot labels ``y``."""

    @abc.abstractmethod
    def forward_params(self, params: Any) -> Any:
        """The network's (bottom-up) parameters within this rule's ``params`` or gradients."""


class AbstractFeatureRule(AbstractRule):
    """A rule that, from step :meth:`frozen_from` on, trains only a read-out on a fixed
    function of the input, its frozen :meth:`features` (SoftHebb and the Hebbian rules after
    their unsupervised phase). From there a :class:`~plastix.train.Trainer` computes the
    features of the data once and calls :meth:`feature_step` on them
    (``train.cache_features``): the same steps as :meth:`step` on the inputs, without running
    the frozen part of the network again at every step and every evaluation."""

    @abc.abstractmethod
    def frozen_from(self) -> int | None:
        """The step (counted from 0) from which :meth:`step` trains only the read-out on
        :meth:`features`; None while it is not known (before :meth:`bind`)."""

    @abc.abstractmethod
    def features(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """The frozen part's output for inputs ``x``: what the read-out sees."""

    @abc.abstractmethod
    def feature_step(
        self,
        net: Network,
        params: Any,
        state: Any,
        opt_state: optax.OptState,
        optimizer: optax.GradientTransformation,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, optax.OptState, Metrics]:
        """:meth:`step` at a step from :meth:`frozen_from` on, given ``(features, y)`` instead
        of ``(x, y)``: the same parameters, state, optimizer state and metrics."""

    @abc.abstractmethod
    def feature_predict(self, net: Network, params: Any, state: Any, feats: Array) -> Array:
        """:meth:`predict` from the inputs' :meth:`features`."""


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
