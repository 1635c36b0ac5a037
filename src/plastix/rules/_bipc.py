r"""Bidirectional predictive coding (BiPC; Oliviers, Tang & Bogacz 2025).

Every edge :math:`e` of the network (source :math:`s`, destination :math:`d`) is a bottom-up
(discriminative) prediction :math:`f_e(z_s)` of :math:`z_d`; BiPC adds a top-down (generative)
layer :math:`g_e(z_d)` predicting :math:`z_s`. The energy is

.. math:: F = \alpha_f \sum_{n \ne \mathrm{in}} \tfrac12 \lVert z_n - \textstyle\sum_{e \to n} f_e(z_{s(e)}) \rVert^2
          + \alpha_b \sum_{n \ne \mathrm{out}} \tfrac12 \lVert z_n - \textstyle\sum_{e: s(e)=n} g_e(z_{d(e)}) \rVert^2 .

Training clamps the input and the label and relaxes the hidden states; both sets of weights
follow :math:`-\nabla F`. Classification clamps the input and infers the label; generation
clamps the label and infers the input.

Balancing the two terms: at equilibrium a hidden node's bottom-up error carries the label's
signal (of the order of the backpropagated gradient, small once the network fits) plus the
top-down pull, :math:`\alpha_b` times errors summed over every input pixel. On MNIST
:math:`\alpha_b = 10^{-4}` keeps the label's signal in charge (classification as PC's) while the
top-down weights, trained by an adaptive optimizer whatever the scale of their gradient, learn
to generate clean digits; larger :math:`\alpha_b` trades accuracy for a more generative
representation (``BENCHMARKS.md``). Relax to equilibrium (the default: 8 steps of 0.25,
momentum 0.5): with PC's few tiny steps the deep errors stay of order
:math:`\mathrm{lr}^{\mathrm{depth}}` and any top-down pull swamps them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, GraphError
from .._option import option
from ..graph import Network
from ..inference import SGD, Inference, InferenceInfo
from ..nn import GELU, Flatten, Identity, Layer, Linear, Reshape, Sequential
from ._base import (
    AbstractEnergyRule,
    AbstractGenerativeRule,
    AbstractGradientRule,
    Batch,
    Metrics,
    check_batch,
)
from ._costs import SquaredError, accuracy


def _default_inference() -> Inference:
    return Inference(steps=8, optimizer=SGD(0.25, momentum=0.5))


@final
class BiPC(AbstractGradientRule, AbstractEnergyRule, AbstractGenerativeRule):
    """Bidirectional predictive coding; see the module docstring for the energy.

    The top-down layer of an edge is ``Flatten, Linear, Reshape`` to the source's shape,
    followed by ``down_activation`` (identity into the input node). Parameters are
    ``{"up": <the network's>, "down": <one per edge>}`` (:meth:`init`; no state).

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> x, y = jnp.ones((4, 6)), jax.nn.one_hot(jnp.arange(4) % 2, 2)
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), x)
    >>> rule = px.BiPC()
    >>> params, state = rule.init(net, key=jax.random.key(0))
    >>> grads, state, metrics = rule.grads(net, params, state, (x, y))
    >>> sorted(grads), rule.predict(net, params, state, x).shape, rule.generate(net, params, y).shape
    (['down', 'up'], (4, 2), (4, 6))
    """

    name: ClassVar[str] = "bipc"
    alpha_f: float = option(1.0, help="weight of the bottom-up (discriminative) errors")
    alpha_b: float = option(1e-4, help="weight of the top-down (generative) errors")
    down_activation: Layer = option(
        default_factory=GELU, help="activation of the top-down layers (identity into the input)"
    )
    inference: Inference = option(
        default_factory=_default_inference, help="relaxation of the hidden states"
    )
    cost: SquaredError = option(
        default_factory=SquaredError, help="cost of the output read by the metrics"
    )

    def __check_init__(self) -> None:
        if self.alpha_f < 0 or self.alpha_b < 0 or self.alpha_f + self.alpha_b == 0:
            raise ConfigError(
                f"BiPC(alpha_f={self.alpha_f}, alpha_b={self.alpha_b}): the weights must be >= 0 "
                "and not both 0."
            )

    # --- structure -------------------------------------------------------------------------

    def check(self, net: Network, batch: Batch | None = None) -> None:
        require_top_down(net, "BiPC")
        super().check(net, batch)

    def down_layers(self, net: Network) -> tuple[Layer, ...]:
        """The top-down layer of each edge: destination state -> prediction of the source."""
        return top_down_layers(net, self.down_activation)

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, None]:
        self.check(net)
        kup, kdown = jax.random.split(key)
        down = init_top_down(net, self.down_layers(net), key=kdown)
        return {"up": net.init(key=kup), "down": down}, None

    # --- energy ----------------------------------------------------------------------------

    def energy(self, net: Network, params: Any, states: tuple[Array, ...]) -> Array:
        """:math:`F`, summed over the batch, for all node states (input and output included)."""
        return self._energy(net, params, states)

    def _energy(
        self,
        net: Network,
        params: Any,
        states: tuple[Array, ...],
        cache: dict[int, Array] | None = None,
        input_term: InputTerm | None = None,
    ) -> Array:
        """:meth:`energy`, with the outputs of the bottom-up edges in ``cache`` given, and
        with ``input_term`` the clamped input's top-down error as its quadratic form."""
        up = net.predictions(params["up"], states, cache=cache)
        skip = frozenset() if input_term is None else frozenset({input_term.edge})
        down = top_down_predictions(net, self.down_layers(net), params["down"], states, skip)
        f = jnp.zeros((), states[net.output].dtype)
        for n, z in enumerate(states):
            mu_up, mu_down = up[n], down[n]
            if mu_up is not None:
                f = f + 0.5 * self.alpha_f * jnp.sum((z - mu_up) ** 2)
            if mu_down is not None:
                f = f + 0.5 * self.alpha_b * jnp.sum((z - mu_down) ** 2)
        if input_term is not None:
            f = f + self.alpha_b * input_term(states[net.edges[input_term.edge].dst[0]])
        return f

    def relax_nodes(
        self,
        net: Network,
        params: Any,
        states: tuple[Array, ...],
        free: tuple[int, ...],
        *,
        fused: bool = True,
    ) -> tuple[tuple[Array, ...], Any]:
        """Relax the nodes in ``free`` (the others stay clamped) from ``states``.

        With the input clamped (training, classification) the relaxation does the input's
        work once (``fused``, the default): the bottom-up edges leaving it give constant
        outputs, and the input's top-down error, ``1/2 |x - b - z W|^2`` for its one
        top-down layer, is the quadratic ``c - z . (x - b) W^T + 1/2 z W W^T z^T`` in that
        layer's destination ``z``, whose two products with the 784-wide input are computed
        before the loop (same energy and gradients, up to rounding; tested against
        ``fused=False``)."""

        def full(fs: tuple[Array, ...]) -> tuple[Array, ...]:
            return with_nodes(states, free, fs)

        cache, term = None, None
        if fused and net.input not in free:
            cache = net.input_edge_outputs(params["up"], states[net.input])
            term = InputTerm.of(net, params["down"], states[net.input])
        grad_fn = jax.value_and_grad(
            lambda fs: self._energy(net, params, full(fs), cache=cache, input_term=term)
        )
        relaxed, info = self.inference.run(grad_fn, tuple(states[n] for n in free))
        return full(relaxed), info

    # --- the rule contract -----------------------------------------------------------------

    def relax(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """Every node's state after the training relaxation: input and label clamped, the
        hidden states relaxed from the bottom-up feedforward pass."""
        check_batch(net, batch)
        x, y = batch
        states = list(net.feedforward(params["up"], x))
        states[net.output] = y
        hidden = tuple(n for n in range(net.num_nodes) if n not in (net.input, net.output))
        return self.relax_nodes(net, params, tuple(states), hidden)

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        x, y = batch
        ff = net.feedforward(params["up"], x)
        relaxed, info = self.relax(net, params, batch)
        g = jax.grad(lambda p: self.energy(net, p, relaxed))(params)
        g = jax.tree.map(lambda a: a / x.shape[0], g)
        out = ff[net.output]
        return (
            g,
            state,
            {
                "loss": jnp.mean(self.cost(out, y)),
                "accuracy": accuracy(out, y),
                "energy": info.energy / x.shape[0],
                "residual": jnp.mean(info.residual),
                "not_converged": info.not_converged,
                "inference_steps": info.steps,
            },
        )

    def forward_params(self, params: Any) -> Any:
        """The bottom-up (discriminative) weights, i.e. the network's parameters, within this
        rule's ``params`` (or its gradients)."""
        return params["up"]

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """Classify: clamp the input, start from the feedforward pass, infer every other node,
        read the output node."""
        del state
        ff = net.feedforward(params["up"], x)
        free = tuple(n for n in range(net.num_nodes) if n != net.input)
        relaxed, _ = self.relax_nodes(net, params, ff, free)
        return relaxed[net.output]

    def generate(self, net: Network, params: Any, y: Array) -> Array:
        """Generate inputs for one-hot labels ``y``: clamp the output, start every other node
        from a top-down pass, infer them, return the input node's states."""
        states = top_down_pass(net, self.down_layers(net), params["down"], y)
        free = tuple(n for n in range(net.num_nodes) if n != net.output)
        relaxed, _ = self.relax_nodes(net, params, states, free)
        return relaxed[net.input]


def with_nodes(
    states: tuple[Array, ...], nodes: tuple[int, ...], values: tuple[Array, ...]
) -> tuple[Array, ...]:
    """``states`` with node ``nodes[k]``'s state replaced by ``values[k]``."""
    s = list(states)
    for n, z in zip(nodes, values):
        s[n] = z
    return tuple(s)


def require_top_down(net: Network, who: str) -> None:
    """Raise a clear error unless ``net`` can carry top-down layers: a DAG (its passes start
    from a feedforward one) with one destination per edge (the edge's top-down layer
    predicts its source from it)."""
    net.require_dag(f"{who}, which starts from a feedforward pass,")
    for i, e in enumerate(net.edges):
        if len(e.dst) != 1:
            raise GraphError(
                f"{who} needs one destination per edge (its top-down layer predicts the "
                f"source from it); edge {i} ({e!r}) has {len(e.dst)}: split it into edges."
            )


def top_down_layers(net: Network, activation: Layer) -> tuple[Layer, ...]:
    """A top-down layer per edge, predicting its source from its (single) destination:
    ``Flatten, Linear, Reshape`` to the source's shape, then ``activation`` (identity into
    the input node). BiPC's top-down weights and hybrid PC's generator."""
    layers = []
    for e in net.edges:
        shape = net.node_shapes[e.src]
        act = Identity() if e.src == net.input else activation
        layers.append(Sequential([Flatten(), Linear(math.prod(shape)), Reshape(shape), act]))
    return tuple(layers)


def init_top_down(net: Network, layers: tuple[Layer, ...], *, key: PRNGKeyArray) -> tuple[Any, ...]:
    """Parameters of :func:`top_down_layers` (one pytree per edge)."""
    keys = jax.random.split(key, len(net.edges))
    return tuple(
        layer.init(net.node_shapes[e.dst[0]], key=k) for layer, e, k in zip(layers, net.edges, keys)
    )


def top_down_predictions(
    net: Network,
    layers: tuple[Layer, ...],
    params: Any,
    states: tuple[Array, ...],
    skip: frozenset[int] = frozenset(),
) -> list[Array | None]:
    r"""Each node's top-down prediction :math:`\sum_{e: s(e) = n} g_e(z_{d(e)})` (``None``
    for the nodes no edge leaves, the output, and those whose edges are all in ``skip``)."""
    down: list[Array | None] = [None] * net.num_nodes
    for i, (layer, p, e) in enumerate(zip(layers, params, net.edges)):
        if i in skip:
            continue
        g = layer(p, states[e.dst[0]])
        prev = down[e.src]
        down[e.src] = g if prev is None else prev + g
    return down


def top_down_pass(
    net: Network, layers: tuple[Layer, ...], params: Any, top: Array
) -> tuple[Array, ...]:
    """Every node's state in a top-down pass from the output node's state ``top``: each node
    equals its top-down prediction (where every top-down error is zero)."""
    order = net.topological_order
    assert order is not None
    states: list[Array | None] = [None] * net.num_nodes
    states[net.output] = top
    for n in reversed(order):
        if states[n] is not None:
            continue
        terms = [layers[i](params[i], states[net.edges[i].dst[0]]) for i in net.outgoing[n]]  # type: ignore[arg-type]
        states[n] = sum(terms[1:], terms[0])
    return tuple(states)  # type: ignore[arg-type]


class InputTerm(eqx.Module):
    r"""The clamped input's top-down error :math:`\tfrac12 \lVert x - b - z W\rVert^2` (summed
    over the batch) as a quadratic in ``z``, the state of the one node predicting it (edge
    ``edge``): ``c - sum(z * p) + 1/2 sum((z @ g) * z)`` with ``p = (x - b) W^T``,
    ``g = W W^T``, ``c = 1/2 |x - b|^2``."""

    edge: int = eqx.field(static=True)
    p: Array
    g: Array
    c: Array

    @classmethod
    def of(cls, net: Network, down: Any, x: Array) -> InputTerm | None:
        """The term for input ``x``, or None unless exactly one edge leaves the input."""
        edges = [i for i, e in enumerate(net.edges) if e.src == net.input]
        if len(edges) != 1:
            return None
        (i,) = edges
        lin = down[i][1]  # top_down_layers: Flatten, Linear, Reshape, Identity (into the input)
        r = x.reshape(x.shape[0], -1)
        if "b" in lin:
            r = r - lin["b"][None, :]
        w = lin["w"].astype(jnp.result_type(lin["w"], r))  # W W^T at the states' precision
        return cls(i, r @ w.T, w @ w.T, 0.5 * jnp.sum(r * r))

    def __call__(self, z: Array) -> Array:
        z = z.reshape(z.shape[0], -1)
        return self.c - jnp.sum(z * self.p) + 0.5 * jnp.sum((z @ self.g) * z)
