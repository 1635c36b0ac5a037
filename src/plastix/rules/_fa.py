r"""The feedback alignment family: backprop without weight transport.

Backprop carries the error from layer :math:`l` down to layer :math:`l-1` through the transpose
of the forward weights, :math:`\delta_{l-1} = (W_l^\top \delta_l) \odot f'(a_{l-1})`. The rules
here replace :math:`W_l^\top` by something a neuron could have (Lillicrap et al. 2020's "weight
transport problem"); every weight update keeps the local form :math:`\Delta W_l \propto
-\delta_l h_{l-1}^\top`:

* :class:`FA` (Lillicrap et al. 2016): a fixed random matrix :math:`B_l` of :math:`W_l`'s shape,
  :math:`\delta_{l-1} = (B_l^\top \delta_l) \odot f'(a_{l-1})`;
* :class:`SignSymmetry` (Liao et al. 2016): :math:`B_l = \overline{|W_l|}\,\mathrm{sign}(W_l)`,
  the forward weights' signs only;
* :class:`DFA` (Nøkland 2016): every hidden layer receives a fixed random projection of the
  *output* error :math:`e = \partial C / \partial \hat y`,
  :math:`\delta_l = (D_l e) \odot f'(a_l)`;
* :class:`DRTP` (Frenkel et al. 2021): a fixed random projection of the *target*,
  :math:`\delta_l = (D_l (-y)) \odot f'(a_l)` (no error is sent back at all; in classification
  :math:`-y` has the sign of the error of the target unit).

On the graph, the replacement happens at the weight layers (:class:`~plastix.nn.Linear`,
:class:`~plastix.nn.Conv2d`, also inside :class:`~plastix.nn.Sequential` edges): the error still
flows through activations, pooling and flattening as in backprop (those are local), while the
output layer's update is backprop's. Other layers with parameters (e.g. wrapped Equinox modules)
are backpropagated through unchanged. Feedback matrices are derived from the rule's ``seed`` when
the step is traced, so they are compile-time constants: no optimizer (or weight decay) touches
them and checkpoints need not store them.

:func:`alignment_with_bp` measures the angle between a rule's update and backprop's gradient,
per edge; ``Trainer(gradient_check=N)`` logs it every epoch and plots it (``alignment.png``).
"""

from __future__ import annotations

import abc
import functools
import math
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._compile import run_once
from .._errors import check_seed
from .._option import option
from ..graph import Network, masked
from ..nn import Conv2d, Layer, Linear, Sequential
from ._base import AbstractFeedbackRule, AbstractRule, Batch, Metrics, check_batch
from ._check import gradient_check
from ._costs import Cost, CrossEntropy, accuracy
from ._dropout import Dropout, dropout_option

_WEIGHT_LAYERS = (Linear, Conv2d)


def has_weight_layer(layer: Layer) -> bool:
    """Does ``layer`` contain a :class:`~plastix.nn.Linear` or :class:`~plastix.nn.Conv2d`
    (itself or inside a :class:`~plastix.nn.Sequential`)?"""
    if isinstance(layer, Sequential):
        return any(has_weight_layer(l) for l in layer.layers)
    return isinstance(layer, _WEIGHT_LAYERS)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _feedback_call(layer: Layer, params: Any, feedback: Any, x: Array) -> Array:
    return layer(params, x)


def _feedback_fwd(layer: Layer, params: Any, feedback: Any, x: Array) -> tuple[Array, Any]:
    return layer(params, x), (params, feedback, x)


def _feedback_bwd(layer: Layer, res: Any, g: Array) -> tuple[Any, Any, Array]:
    params, feedback, x = res
    (dp,) = jax.vjp(lambda p: layer(p, x), params)[1](g)
    # the layer is affine in x: its input-Jacobian at the feedback weights is theirs alone
    (dx,) = jax.vjp(lambda z: layer(feedback, z), x)[1](g)
    return dp, jax.tree.map(jnp.zeros_like, feedback), dx


_feedback_call.defvjp(_feedback_fwd, _feedback_bwd)


def apply_with_feedback(layer: Layer, params: Any, feedback: Any, x: Array) -> Array:
    r"""``layer(params, x)``, whose backward pass sends the error to ``x`` through the
    ``feedback`` weights (a pytree like ``params``) at every weight layer instead of the forward
    weights: :math:`\partial x = B^\top \delta` for :math:`y = W x + b`. Parameter gradients are
    backprop's. With ``feedback = params`` this is ordinary backprop.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> lin = px.nn.Linear(2)
    >>> p, b = lin.init((3,), key=jax.random.key(0)), lin.init((3,), key=jax.random.key(1))
    >>> dx = jax.grad(lambda x: px.rules.apply_with_feedback(lin, p, b, x).sum())(jnp.ones((1, 3)))
    >>> bool(jnp.allclose(dx, b["w"].sum(1)[None]))
    True
    """
    if isinstance(layer, Sequential):
        for sub, p, f in zip(layer.layers, params, feedback):
            x = apply_with_feedback(sub, p, f, x)
        return x
    if isinstance(layer, _WEIGHT_LAYERS):
        return _feedback_call(layer, params, feedback, x)
    return layer(params, x)


def _zero_weights(layer: Layer, params: Any) -> Any:
    """``params`` with the weights and biases of ``layer``'s Linear / Conv2d parts at zero."""
    if isinstance(layer, Sequential):
        return tuple(_zero_weights(l, p) for l, p in zip(layer.layers, params))
    if isinstance(layer, _WEIGHT_LAYERS):
        return jax.tree.map(jnp.zeros_like, params)
    return params


class _FeedbackRule(AbstractFeedbackRule):
    """Shared by the rules of this module: a cost, a seed for the fixed feedback weights; the
    parameters are the network's (the feedback weights are constants derived from ``seed``)."""

    cost: Cost = option(default_factory=CrossEntropy, help="output cost C")
    seed: int = option(0, help="seed of the fixed random feedback weights")
    dropout: Dropout = dropout_option()

    def __check_init__(self) -> None:
        check_seed(self.seed, f"{self.name} seed")

    def check(self, net: Network, batch: Batch | None = None) -> None:
        net.require_dag(type(self).__name__)
        super().check(net, batch)

    def _key(self) -> PRNGKeyArray:
        return jax.random.fold_in(jax.random.key(self.seed), 0x5EED)

    def forward_params(self, params: Any) -> Any:
        """The parameters themselves (the feedback weights are not parameters)."""
        return params


class AbstractFeedbackAlignment(_FeedbackRule):
    r"""Backprop's pass with the error sent down through feedback weights :math:`B_l`
    (:meth:`feedback_params`) instead of :math:`W_l^\top` at every weight layer: the base of
    :class:`FA` and :class:`SignSymmetry`."""

    @abc.abstractmethod
    def feedback_params(self, net: Network, params: Any) -> Any:
        """The feedback weights, a pytree like ``params`` (only the weight layers' entries are
        used)."""

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
        fb = self.feedback_params(net, params)
        net.require_dag(type(self).__name__)
        masks = self.dropout.masks(net, x.shape[0], key=key)

        def loss_fn(p: Any) -> tuple[Array, Array]:
            acts = net.feedforward(
                p,
                x,
                masks=masks,
                apply=lambda i, pi, xi: apply_with_feedback(net.edges[i].layer, pi, fb[i], xi),
            )
            out = acts[net.output]
            return jnp.mean(self.cost(out, y)), out

        (loss, out), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
        return g, state, {"loss": loss, "accuracy": accuracy(out, y)}


@final
class FA(AbstractFeedbackAlignment):
    r"""Feedback alignment (Lillicrap et al. 2016): the error reaches layer :math:`l-1`
    through a fixed random matrix :math:`B_l` instead of :math:`W_l^\top`,

    .. math:: \delta_{l-1} = (B_l^\top \delta_l) \odot f'(a_{l-1}), \qquad
              \nabla_{W_l} \approx \delta_l h_{l-1}^\top ,

    :math:`\delta_L = \partial C / \partial a_L`. :math:`B_l` has :math:`W_l`'s shape and
    initialisation (a fresh draw of the layer's init from ``seed``); :meth:`feedback_params`
    gives them (override it for other feedback). The forward weights come to align with
    :math:`B_l^\top` and the update with backprop's gradient.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> batch = (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> grads, _, metrics = px.FA().grads(net, params, None, batch)
    >>> sorted(metrics)
    ['accuracy', 'loss']
    """

    name: ClassVar[str] = "fa"

    def feedback_params(self, net: Network, params: Any) -> Any:
        """A fixed random draw of the network's initialisation."""
        return run_once(lambda: net.init(key=self._key()))  # one program, run now


@final
class SignSymmetry(AbstractFeedbackAlignment):
    r"""Sign symmetry (Liao, Leibo & Poggio 2016): feedback alignment whose feedback weights
    share the forward weights' signs but not their magnitudes,
    :math:`B_l = \overline{|W_l|}\, \mathrm{sign}(W_l)` (one magnitude per layer, the mean
    absolute weight, so the error keeps backprop's scale).

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> fb = px.SignSymmetry().feedback_params(net, params)
    >>> bool(jnp.all(jnp.sign(fb[1]["w"]) == jnp.sign(params[1]["w"])))
    True
    """

    name: ClassVar[str] = "sign-symmetry"

    def feedback_params(self, net: Network, params: Any) -> Any:
        def sign(w: Array) -> Array:
            w = jax.lax.stop_gradient(w)
            return jnp.mean(jnp.abs(w)) * jnp.sign(w) if w.ndim >= 2 else w

        return jax.tree.map(sign, params)


class _DirectRule(_FeedbackRule):
    """Rules whose hidden layers receive a fixed random projection of an output-sized signal."""

    zero_init: bool = option(
        False,
        help="start every Linear / Conv2d weight and bias at zero (Nøkland 2016's DFA with "
        "tanh: the fixed random projections alone break the symmetry)",
    )

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, Any]:
        """The network's initial parameters, with ``zero_init`` the weight layers' at zero."""
        params, state = super().init(net, key=key)
        if self.zero_init:
            params = tuple(_zero_weights(e.layer, p) for e, p in zip(net.edges, params))
        return params, state

    @abc.abstractmethod
    def signal(self, out: Array, y: Array, error: Array) -> Array:
        """The signal projected to the hidden layers (``error`` is ∂C/∂output)."""

    def projections(self, net: Network) -> dict[int, Array]:
        r"""The fixed random matrices :math:`D_i` ``(output size, source size)``, one per edge
        that has weights and does not leave the input node: the error reaching that edge's
        source node is ``signal @ D_i`` (reshaped). Entries
        :math:`\sim U(-1/\sqrt{n_{out}}, 1/\sqrt{n_{out}})`."""
        n_out = math.prod(net.node_shapes[net.output])
        bound = 1.0 / math.sqrt(n_out)

        def draw() -> dict[int, Array]:
            mats = {}
            for i, e in enumerate(net.edges):
                if e.src == net.input or not has_weight_layer(e.layer):
                    continue
                n_src = math.prod(net.node_shapes[e.src])
                k = jax.random.fold_in(self._key(), i)
                mats[i] = jax.random.uniform(k, (n_out, n_src), jnp.float32, -bound, bound)
            return mats

        return run_once(draw)  # one program, run now (also while a step is traced)

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
        net.require_dag(type(self).__name__)
        order = net.topological_order
        assert order is not None
        masks = self.dropout.masks(net, x.shape[0], key=key)
        vjps: dict[int, Any] = {}

        def apply(i: int, p: Any, xi: Array) -> Array:  # the pass, keeping each edge's vjp
            out, vjps[i] = jax.vjp(net.edges[i].layer, p, xi)
            return out

        acts = net.feedforward(params, x, masks=masks, apply=apply)
        out = acts[net.output]
        loss, error = jax.value_and_grad(lambda o: jnp.mean(self.cost(o, y)))(out)
        sig = self.signal(out, y, error).reshape(out.shape[0], -1)
        proj = self.projections(net)
        # the error arriving at each node, accumulated from its outgoing edges (reverse order)
        cot: list[Any] = [None] * net.num_nodes
        cot[net.output] = error
        grads: list[Any] = [None] * len(net.edges)
        for n in reversed(order):  # an edge's destinations all come after its source
            for i in net.outgoing[n]:
                e = net.edges[i]
                # a node's error reaches its incoming edges through its dropout mask
                g = functools.reduce(
                    jnp.add, [masked(cot[d], masks, d) for d in e.dst if cot[d] is not None]
                )
                dp, dx = vjps[i](g)
                grads[i] = dp
                if e.src == net.input:
                    continue
                if i in proj:
                    dx = (sig @ proj[i]).reshape(acts[e.src].shape)
                cot[e.src] = dx if cot[e.src] is None else cot[e.src] + dx
        return tuple(grads), state, {"loss": loss, "accuracy": accuracy(out, y)}


@final
class DFA(_DirectRule):
    r"""Direct feedback alignment (Nøkland 2016): every hidden layer gets the output error
    :math:`e = \partial C/\partial \hat y` through its own fixed random matrix,

    .. math:: \delta_l = (D_l e) \odot f'(a_l), \qquad \nabla_{W_l} \approx \delta_l h_{l-1}^\top,

    so no error passes through another layer's weights; the output layer's update is
    backprop's. On a graph, the error reaching the source node of each weighted edge is
    :math:`D_i e`; it flows through that edge's parameter-free part (activation, pooling) as in
    backprop. Works on conv edges (:math:`D_i` maps to the flattened feature map).

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8, 8)), jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> batch = (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> grads, _, metrics = px.DFA().grads(net, params, None, batch)
    >>> [g["w"].shape for g in (grads[0][1], grads[1][0], grads[2])]
    [(3, 8), (8, 8), (8, 2)]
    """

    name: ClassVar[str] = "dfa"

    def signal(self, out: Array, y: Array, error: Array) -> Array:
        return error


@final
class DRTP(_DirectRule):
    r"""Direct random target projection (Frenkel, Lefebvre & Bol 2021): the hidden layers get a
    fixed random projection of the *target*, not of the error,

    .. math:: \delta_l = (D_l\, (-y^*/B)) \odot f'(a_l),

    (:math:`B` the batch size, as in the mean cost; :math:`-y^*` has the sign of the error of
    the target class), so the hidden updates need no backward pass and can be made before the
    output is known. The output layer is trained with its own error.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> batch = (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> sorted(px.DRTP().grads(net, params, None, batch)[2])
    ['accuracy', 'loss']
    """

    name: ClassVar[str] = "drtp"

    def signal(self, out: Array, y: Array, error: Array) -> Array:
        return -y / y.shape[0]


def alignment_with_bp(
    rule: AbstractRule, net: Network, params: Any, batch: Batch
) -> dict[str, Any]:
    r"""The angle between ``rule``'s update and backprop's gradient (of the rule's cost), per
    edge (lists in edge order, ``nan`` for parameter-free edges) and overall:
    ``cosine``, ``angle`` (degrees, :math:`\arccos` of the cosine), ``cosine_per_edge``,
    ``angle_per_edge``, ``relative_norm`` and ``relative_norm_per_edge``
    (:math:`|g_{rule}| / |g_{BP}|`). An angle below 90° means the update descends the loss.
    Jit-able.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> batch = (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> a = px.rules.alignment_with_bp(px.DFA(), net, params, batch)
    >>> round(float(a["angle_per_edge"][1]), 3)  # the output layer: backprop's update
    0.0
    """
    c = gradient_check(rule, net, params, batch)

    def angle(v: Any) -> Any:
        return jnp.degrees(jnp.arccos(jnp.clip(v, -1.0, 1.0)))

    c["angle"] = angle(c["cosine"])
    c["angle_per_edge"] = [angle(v) for v in c["cosine_per_edge"]]
    return c
