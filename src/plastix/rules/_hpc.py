r"""Hybrid predictive coding (HPC; Tscshantz, Millidge, Seth & Buckley 2023, "Hybrid predictive
coding: Inferring, fast and slow").

Two networks on the same nodes. The **generator** predicts each node from the nodes above it,
top-down, label to image: for every edge :math:`e` of the network (source :math:`s`,
destination :math:`d`) a layer :math:`g_e(z_d)` predicts :math:`z_s`. Its energy is

.. math:: E(z) = \sum_{n \ne \mathrm{out}} \tfrac12 \Big\lVert z_n -
          \sum_{e:\, s(e) = n} g_e(z_{d(e)}) \Big\rVert^2 .

The **amortiser** is the network itself, bottom-up, image to label: its feedforward pass
:math:`\hat z` (:math:`\hat z_{\mathrm{in}} = x`) is a fast guess of the states.

Training clamps the input to :math:`x` and the output to the label :math:`y`, starts the
hidden states at the amortiser's guess and relaxes them on :math:`E` (iterative inference, the
slow part) to :math:`z^*`. The generator learns :math:`-\nabla_\theta E(z^*)` (PC's local
update); the amortiser regresses each node's prediction, made from its **own** guesses, onto
the equilibrium, layer by layer:

.. math:: A(\phi) = \sum_{n \ne \mathrm{in}} \tfrac12 \Big\lVert z^*_n -
          \sum_{e \to n} f_e(\phi_e, \hat z_{s(e)}) \Big\rVert^2 ,
          \qquad z^*_{\mathrm{out}} = y,

each edge's gradient local (its input :math:`\hat z_{s(e)}` held). As the amortiser learns,
inference starts nearer its equilibrium and needs fewer steps (the paper's point, and what the
``start_energy`` and ``inference_steps`` metrics show). Classification reads the amortiser's
guess (``prediction="amortised"``, one pass) or relaxes the label and hidden states from it
with the image clamped (``"hybrid"``); :meth:`HybridPC.generate` runs the generator top-down
from a label.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._option import option
from ..graph import Network
from ..inference import SGD, AbstractInference, Inference, InferenceInfo
from ..nn import Layer, Tanh
from ._base import (
    AbstractEnergyRule,
    AbstractGenerativeRule,
    AbstractGradientRule,
    Batch,
    Metrics,
    check_batch,
)
from ._bipc import (
    InputTerm,
    init_top_down,
    require_top_down,
    top_down_layers,
    top_down_pass,
    top_down_predictions,
    with_nodes,
)
from ._costs import SquaredError, accuracy


class HPCPrediction(enum.Enum):
    """How :class:`HybridPC` classifies. ``AMORTISED``: the amortiser's feedforward pass (fast
    inference). ``HYBRID``: from it, relax the label and the hidden states on the generator's
    energy with the input clamped, and read the label node (fast, then slow)."""

    AMORTISED = "amortised"
    HYBRID = "hybrid"


def _default_inference() -> Inference:
    return Inference(steps=20, optimizer=SGD(0.1, momentum=0.5))


@final
class HybridPC(AbstractGradientRule, AbstractEnergyRule, AbstractGenerativeRule):
    r"""Hybrid predictive coding: an amortiser's guess starts inference on a generator's
    energy, and learns to regress the equilibrium (the module docstring has the maths).

    Parameters are ``{"up": <the network's: the amortiser>, "down": <the generator, one layer
    per edge>}``; the generator's layer of an edge is ``Flatten, Linear, Reshape`` to the
    source's shape followed by ``down_activation`` (identity into the input), as BiPC's.
    The update is not an estimate of backprop's gradient (``estimates_gradient`` is false):
    the amortiser regresses onto the generator's equilibrium.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> x, y = jnp.ones((4, 6)), jax.nn.one_hot(jnp.arange(4) % 2, 2)
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), x)
    >>> rule = px.HybridPC()
    >>> params, state = rule.init(net, key=jax.random.key(0))
    >>> grads, state, metrics = rule.grads(net, params, state, (x, y))
    >>> sorted(grads), rule.predict(net, params, state, x).shape, rule.generate(net, params, y).shape
    (['down', 'up'], (4, 2), (4, 6))
    """

    name: ClassVar[str] = "hpc"
    estimates_gradient: ClassVar[bool] = False
    down_activation: Layer = option(
        default_factory=Tanh, help="activation of the generator's layers (identity into the input)"
    )
    inference: AbstractInference = option(
        default_factory=_default_inference,
        help="relaxation of the hidden states on the generator's energy, from the amortiser's "
        "guess: steps | ode",
    )
    prediction: HPCPrediction = option(
        HPCPrediction.HYBRID,
        help="how to classify: amortised (the amortiser's pass) | hybrid (relax from it)",
    )
    predict_inference: AbstractInference | None = option(
        None, help="relaxation when classifying with prediction=hybrid (null: `inference`)"
    )
    cost: SquaredError = option(
        default_factory=SquaredError, help="cost of the amortiser's output read by the metrics"
    )

    # --- structure -------------------------------------------------------------------------

    def check(self, net: Network, batch: Batch | None = None) -> None:
        require_top_down(net, "hybrid PC")
        super().check(net, batch)

    def generator_layers(self, net: Network) -> tuple[Layer, ...]:
        """The generator's layer of each edge: destination state -> prediction of the source."""
        return top_down_layers(net, self.down_activation)

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, None]:
        self.check(net)
        kup, kdown = jax.random.split(key)
        return {
            "up": net.init(key=kup),
            "down": init_top_down(net, self.generator_layers(net), key=kdown),
        }, None

    # --- the two objectives ----------------------------------------------------------------

    def energy(self, net: Network, down: Any, states: tuple[Array, ...]) -> Array:
        """The generator's energy :math:`E` of the batch (summed) at ``states`` (every node,
        input and output included), for the generator's parameters ``down``."""
        return self._energy(net, down, states)

    def _energy(
        self,
        net: Network,
        down: Any,
        states: tuple[Array, ...],
        input_term: InputTerm | None = None,
    ) -> Array:
        """:meth:`energy`, with ``input_term`` the clamped input's error as its quadratic
        form (see :meth:`plastix.BiPC.relax_nodes`)."""
        skip = frozenset() if input_term is None else frozenset({input_term.edge})
        mus = top_down_predictions(net, self.generator_layers(net), down, states, skip)
        e = jnp.zeros((), states[net.output].dtype)
        for z, mu in zip(states, mus):
            if mu is not None:
                e = e + 0.5 * jnp.sum(jnp.square(z - mu))
        if input_term is not None:
            e = e + input_term(states[net.edges[input_term.edge].dst[0]])
        return e

    def amortiser_loss(
        self, net: Network, up: Any, guesses: tuple[Array, ...], targets: tuple[Array, ...]
    ) -> Array:
        """The amortiser's regression :math:`A` of the batch (summed): each node's prediction
        from the amortiser's own ``guesses`` (its feedforward pass) against ``targets`` (the
        equilibrium, the label at the output). The guesses are held: each edge's gradient is
        its own layer's regression."""
        held = jax.tree.map(jax.lax.stop_gradient, guesses)
        mus = net.predictions(up, held)
        a = jnp.zeros((), targets[net.output].dtype)
        for z, mu in zip(targets, mus):
            if mu is not None:  # every node but the input
                a = a + 0.5 * jnp.sum(jnp.square(z - mu))
        return a

    def relax_nodes(
        self,
        net: Network,
        down: Any,
        states: tuple[Array, ...],
        free: tuple[int, ...],
        inference: AbstractInference | None = None,
        *,
        fused: bool = True,
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """Relax the nodes in ``free`` on the generator's energy (the others clamped). With
        the input clamped, its error's products with the input are computed once, before the
        loop (as :meth:`plastix.BiPC.relax_nodes` does; ``fused``)."""

        def full(fs: tuple[Array, ...]) -> tuple[Array, ...]:
            return with_nodes(states, free, fs)

        term = None
        if fused and net.input not in free:
            term = InputTerm.of(net, down, states[net.input])
        grad_fn = jax.value_and_grad(lambda fs: self._energy(net, down, full(fs), term))
        inference = self.inference if inference is None else inference
        relaxed, info = inference.run(grad_fn, tuple(states[n] for n in free))
        return full(relaxed), info

    # --- the rule contract -----------------------------------------------------------------

    def _hidden(self, net: Network) -> tuple[int, ...]:
        return tuple(n for n in range(net.num_nodes) if n not in (net.input, net.output))

    def _start(self, net: Network, guesses: tuple[Array, ...], y: Array) -> tuple[Array, ...]:
        """The amortiser's guesses with the label clamped at the output."""
        states = list(guesses)
        states[net.output] = y
        return tuple(states)

    def relax(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """Every node's state after the training relaxation: input and label clamped, the
        hidden states relaxed from the amortiser's guesses."""
        check_batch(net, batch)
        x, y = batch
        start = self._start(net, net.feedforward(params["up"], x), y)
        return self.relax_nodes(net, params["down"], start, self._hidden(net))

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        check_batch(net, batch)
        x, y = batch
        bsz = x.shape[0]
        guesses = net.feedforward(params["up"], x)
        start = self._start(net, guesses, y)
        relaxed, info = self.relax_nodes(net, params["down"], start, self._hidden(net))
        relaxed = jax.tree.map(jax.lax.stop_gradient, relaxed)
        g_down = jax.grad(lambda d: self.energy(net, d, relaxed))(params["down"])
        a, g_up = jax.value_and_grad(lambda u: self.amortiser_loss(net, u, guesses, relaxed))(
            params["up"]
        )
        g = jax.tree.map(lambda t: t / bsz, {"up": g_up, "down": g_down})
        out = guesses[net.output]
        return (
            g,
            state,
            {
                "loss": jnp.mean(self.cost(out, y)),
                "accuracy": accuracy(out, y),
                "energy": info.energy / bsz,
                "start_energy": self.energy(net, params["down"], start) / bsz,
                "amortiser_loss": a / bsz,
                "residual": jnp.mean(info.residual),
                "not_converged": info.not_converged,
                "inference_steps": info.steps,
            },
        )

    def forward_params(self, params: Any) -> Any:
        """The amortiser's (bottom-up) weights, i.e. the network's parameters, within this
        rule's ``params`` (or its gradients)."""
        return params["up"]

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """Classify ``x``: the amortiser's pass, or (``prediction="hybrid"``) every node but
        the input relaxed from it on the generator's energy, read at the output."""
        del state
        guesses = net.feedforward(params["up"], x)
        if self.prediction is HPCPrediction.AMORTISED:
            return guesses[net.output]
        free = tuple(n for n in range(net.num_nodes) if n != net.input)
        relaxed, _ = self.relax_nodes(
            net, params["down"], guesses, free, inference=self.predict_inference
        )
        return relaxed[net.output]

    def generate(self, net: Network, params: Any, y: Array) -> Array:
        """Inputs generated for one-hot labels ``y``: the generator's top-down pass from the
        label (with the input free, its energy's minimum: every error zero)."""
        return top_down_pass(net, self.generator_layers(net), params["down"], y)[net.input]
