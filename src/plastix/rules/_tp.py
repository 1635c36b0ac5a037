r"""The target propagation family: errors carried by differences of activity (NGRAD).

Each layer :math:`h_l = f_l(h_{l-1})` of a chain is trained towards a *target*
:math:`\hat h_l` by a local loss, :math:`\frac{1}{2\eta}\lVert f_l(h_{l-1}) - \hat h_l\rVert^2`
(gradient in :math:`\theta_l` only), and targets travel down through learned feedback
(decoder) functions :math:`g_l: h_l \mapsto h_{l-1}`:

* output target: :math:`\hat h_L = h_L - \eta\, \partial C/\partial h_L` (with the
  :math:`1/\eta` in the layer loss, the output layer's update is backprop's);
* :class:`TP` (Bengio 2014): :math:`\hat h_{l-1} = g_l(\hat h_l)`;
* :class:`DTP` (Lee et al. 2015): :math:`\hat h_{l-1} = h_{l-1} + g_l(\hat h_l) - g_l(h_l)`,
  which corrects for :math:`g_l` not being an exact inverse (when :math:`\hat h_l = h_l` the
  target is :math:`h_{l-1}`, whatever :math:`g_l`);
  for small :math:`\eta`, :math:`(h_{l-1} - \hat h_{l-1})/\eta \approx J_{g_l}\, (h_l - \hat
  h_l)/\eta`: backprop when :math:`J_{g_l} = J_{f_l}^\top`.

The feedback weights are trained at the same time by a noise-driven local loss
(:class:`FeedbackLoss`): Lee et al.'s *reconstruction*
:math:`\lVert g_l(f_l(h_{l-1} + \sigma\epsilon)) - (h_{l-1} + \sigma\epsilon)\rVert^2`, or
Ernoult et al. (2022)'s *difference reconstruction* loss (L-DRL)

.. math:: \tfrac{1}{\sigma^2}\Big[-2\sigma\epsilon^\top\big(r(h_{l-1} + \sigma\epsilon) -
          r(h_{l-1})\big) + \lVert g_l(h_l + \sigma\xi) - g_l(h_l)\rVert^2\Big],
          \quad r = g_l \circ f_l,

whose expectation for small :math:`\sigma` is
:math:`\lVert J_{g_l} - J_{f_l}^\top\rVert_F^2 - \lVert J_{f_l}\rVert_F^2`: it trains the
feedback Jacobian towards the forward one's transpose, so DTP's targets approach backprop's.

Decoders: a dense edge (flat destination) gets :math:`g(h) = \sigma(hV + c)` (Lee et al.), or
:math:`hV + c` reshaped when its source is an image (a conv net's read-out); a convolution edge
``Conv2d -> [activation] -> [pooling / flatten]`` gets Ernoult et al. (2022)'s transposed block
:math:`g(h) = \mathrm{ConvT}_V(\sigma(P^\top h)) + c`, where :math:`P^\top` undoes the pooling
through its transpose at the forward pass (max-unpooling to the forward maxima's positions).

Parameters are ``{"forward": <the network's>, "feedback": <one decoder per edge>}``; the
feedback part of the update is the feedback loss's gradient (so one optimizer trains both).
:meth:`TP.targets` returns every layer's activity and target, for inspection.
"""

from __future__ import annotations

import abc
import enum
import math
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, ShapeError
from .._option import option
from ..graph import Network
from ..nn import (
    ELU,
    GELU,
    AvgPool,
    Conv2d,
    Flatten,
    HardSigmoid,
    HardTanh,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool,
    ReLU,
    Reshape,
    Sequential,
    Sigmoid,
    Tanh,
)
from ._base import AbstractFeedbackRule, Batch, Metrics, check_batch
from ._costs import Cost, CrossEntropy, accuracy


class FeedbackLoss(enum.Enum):
    """How the feedback (decoder) weights are trained."""

    RECONSTRUCTION = "reconstruction"
    """Lee et al. 2015: reconstruct the noise-corrupted layer below, ``g(f(h + s e)) ~ h + s e``."""
    DIFFERENCE = "difference"
    """Ernoult et al. 2022 (L-DRL): train ``J_g`` towards ``J_f^T``."""


def _chain(net: Network, who: str) -> tuple[int, ...]:
    """Edge indices of a chain network input -> ... -> output, in order; else GraphError."""
    return net.chain(who, "use a chain network such as models.mlp, or DFA for general graphs")


_ACTIVATIONS = (Tanh, ReLU, LeakyReLU, GELU, ELU, HardTanh, Sigmoid, HardSigmoid, Identity)
_ROUTING = (MaxPool, AvgPool, Flatten, Reshape)


def _conv_split(layer: Layer) -> int | None:
    """For a convolution edge ``Conv2d -> [activation] -> [pooling / flatten ...]``: how many
    leading layers (conv and activation) precede the routing layers; ``None`` otherwise."""
    if isinstance(layer, Conv2d):
        return 1
    if not isinstance(layer, Sequential) or not layer.layers:
        return None
    layers = tuple(layer.layers)
    if not isinstance(layers[0], Conv2d):
        return None
    k = 2 if len(layers) > 1 and isinstance(layers[1], _ACTIVATIONS) else 1
    return k if all(isinstance(lr, _ROUTING) for lr in layers[k:]) else None


def _conv_of(layer: Layer) -> Conv2d:
    conv = layer if isinstance(layer, Conv2d) else layer.layers[0]  # type: ignore[attr-defined]
    assert isinstance(conv, Conv2d)
    return conv


class TopTarget(enum.Enum):
    """How the last hidden layer's target is made."""

    DECODER = "decoder"
    """Through the output edge's decoder, like every other layer (Ernoult et al. 2022)."""
    GRADIENT = "gradient"
    r"""By a gradient step through the output layer alone (Lee et al. 2015):
    :math:`\hat h_{L-1} = h_{L-1} - \eta\,\partial C(f_L(h_{L-1}), y)/\partial h_{L-1}`; the
    layers below get decoded targets as usual."""


class AbstractTP(AbstractFeedbackRule):
    r"""Target propagation's machinery, the base of :class:`TP` and :class:`DTP`: the output
    target, the per-layer forward losses, the decoders and their feedback losses; a final
    class says how a target passes down one layer (:meth:`_propagate`)."""

    cost: Cost = option(default_factory=CrossEntropy, help="output cost C")
    target_lr: float = option(
        0.1, help="eta: output target h_L - eta dC/dh_L; layer losses are scaled by 1/eta"
    )
    noise: float = option(0.1, help="std of the noise that drives the feedback-weight training")
    feedback_loss: FeedbackLoss = option(
        FeedbackLoss.RECONSTRUCTION,
        help="reconstruction (Lee et al. 2015) | difference (L-DRL, Ernoult et al. 2022)",
    )
    feedback_activation: Layer = option(
        default_factory=Tanh,
        help="decoder activation: dense g(h) = act(h V + c); conv ConvT(act(unpool(h)))",
    )
    top_target: TopTarget = option(
        TopTarget.DECODER,
        help="last hidden target: decoder (like the others) | gradient (Lee et al. 2015)",
    )
    layer_noise: tuple[float, ...] = option(
        (), converter=tuple, help="one noise std per decoder, bottom to top ([]: `noise` for all)"
    )
    noise_samples: int = option(
        1, help="noise draws averaged in each feedback loss (Ernoult et al.'s parallel DTP: 10)"
    )

    def __check_init__(self) -> None:
        if not self.target_lr > 0:
            raise ConfigError(f"target_lr must be > 0, got {self.target_lr}.")
        if not self.noise > 0:
            raise ConfigError(f"noise must be > 0 (the feedback loss needs it), got {self.noise}.")
        if not all(isinstance(v, (int, float)) and v > 0 for v in self.layer_noise):
            raise ConfigError(
                f"layer_noise must hold one positive noise scale per decoder (bottom to top), "
                f"got {self.layer_noise!r}; leave it empty to use `noise` everywhere."
            )
        if not (isinstance(self.noise_samples, int) and self.noise_samples >= 1):
            raise ConfigError(f"noise_samples must be an int >= 1, got {self.noise_samples!r}.")
        if not isinstance(self.feedback_loss, FeedbackLoss):
            raise ConfigError(
                f"feedback_loss must be a FeedbackLoss, got {self.feedback_loss!r}; use one of "
                f"{[f.value for f in FeedbackLoss]}."
            )
        if not isinstance(self.top_target, TopTarget):
            raise ConfigError(
                f"top_target must be a TopTarget, got {self.top_target!r}; use one of "
                f"{[t.value for t in TopTarget]}."
            )

    # --- structure -----------------------------------------------------------------------

    def check(self, net: Network, batch: Batch | None = None) -> None:
        order = _chain(net, type(self).__name__)
        for i in order[1:]:
            e = net.edges[i]
            if _conv_split(e.layer) is None and len(net.node_shapes[e.dst[0]]) != 1:
                raise ShapeError(
                    f"{type(self).__name__} builds a decoder for each hidden edge: a dense one "
                    f"for an edge with a flat destination, a transposed convolution for "
                    f"`Conv2d -> [activation] -> [pooling / flatten]`; edge {i} ({e.layer!r}, "
                    f"{net.node_shapes[e.src]} -> {net.node_shapes[e.dst[0]]}) is neither. Merge "
                    "its pooling into the conv edge before it, or flatten inside it."
                )
        if self.layer_noise and len(self.layer_noise) != len(order) - 1:
            raise ConfigError(
                f"layer_noise has {len(self.layer_noise)} entries but the network has "
                f"{len(order) - 1} decoders (one per edge above the first); give one per "
                "decoder, bottom to top, or leave it empty."
            )
        super().check(net, batch)

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, None]:
        """``{"forward": net.init(...), "feedback": (V_i or None per edge)}``: a dense decoder
        for each edge whose source is a hidden node; no state."""
        self.check(net)
        kf, kb = jax.random.split(key)
        fb: list[Any] = []
        for i, e in enumerate(net.edges):
            k = jax.random.fold_in(kb, i)
            if e.src == net.input:
                fb.append(None)
            elif _conv_split(e.layer) is not None:
                w = _conv_of(e.layer).init(net.node_shapes[e.src], key=k)["w"]  # HWIO
                bound = 1.0 / math.sqrt(w.shape[0] * w.shape[1] * w.shape[3])  # ConvT fan-in
                kw, kc = jax.random.split(k)
                fb.append(
                    {
                        "w": jax.random.uniform(kw, w.shape, w.dtype, -bound, bound),
                        "b": jax.random.uniform(kc, (w.shape[2],), w.dtype, -bound, bound),
                    }
                )
            else:
                n_src = math.prod(net.node_shapes[e.src])
                n_dst = math.prod(net.node_shapes[e.dst[0]])
                fb.append(Linear(n_src).init((n_dst,), key=k))
        return {"forward": net.init(key=kf), "feedback": tuple(fb)}, None

    def forward_params(self, params: Any) -> Any:
        """The network's parameters (or their gradients) within this rule's ``params``."""
        return params["forward"]

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        del state
        return net(params["forward"], x)

    def feedback(
        self, net: Network, params: Any, i: int, h: Array, src: Array | None = None
    ) -> Array:
        """The decoder of edge ``i``: maps the activity of its destination to its source.
        Dense: :math:`g(h) = \\sigma(h V + c)` (linear, reshaped, for an image source). Conv
        edges: :math:`\\mathrm{ConvT}_V(\\sigma(P^\\top h)) + c`, with the pooling's transpose
        :math:`P^\\top` taken at the forward pass from ``src`` (the edge's input activity)."""
        e, v = net.edges[i], params["feedback"][i]
        split = _conv_split(e.layer)
        src_shape = net.node_shapes[e.src]
        if split is None:
            z = h.reshape(h.shape[0], -1) @ v["w"] + v["b"][None, :]
            if len(src_shape) == 1:
                return self.feedback_activation(None, z)
            return z.reshape(h.shape[0], *src_shape)
        if src is None:
            raise ConfigError(f"the conv decoder of edge {i} needs the edge's input: pass src=.")
        layer = e.layer
        if isinstance(layer, Sequential) and split < len(layer.layers):
            fwd = params["forward"][i]
            head, tail = Sequential(layer.layers[:split]), Sequential(layer.layers[split:])
            mid = head(fwd[:split], src)
            _, unroute = jax.vjp(lambda z: tail(fwd[split:], z), mid)
            (h,) = unroute(h)
        u = self.feedback_activation(None, h)
        conv = _conv_of(layer)
        lin = Conv2d(
            conv.out_channels, kernel_size=conv.kernel_size, stride=conv.stride,
            padding=conv.padding, use_bias=False,
        )  # fmt: skip
        (out,) = jax.linear_transpose(lambda z: lin({"w": v["w"]}, z), src)(u)
        return out + v["b"][None, None, None, :]

    def _decode(self, net: Network, params: Any, i: int, h: Array, src: Array) -> Array:
        if _conv_split(net.edges[i].layer) is None:
            return self.feedback(net, params, i, h)  # the dense signature, for subclasses
        return self.feedback(net, params, i, h, src=src)

    def _noise_scales(self, net: Network) -> dict[int, float]:
        """Edge index -> the noise scale of its decoder."""
        order = _chain(net, type(self).__name__)[1:]
        scales = self.layer_noise or (self.noise,) * len(order)
        return {i: float(s) for i, s in zip(order, scales)}

    # --- targets -------------------------------------------------------------------------

    @abc.abstractmethod
    def _propagate(
        self, net: Network, params: Any, i: int, target: Array, h_dst: Array, h_src: Array
    ) -> Array:
        """The target of edge ``i``'s source from its destination's ``target`` (``h_dst``,
        ``h_src``: the forward activities)."""

    def targets(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], tuple[Array | None, ...]]:
        """Every node's forward activity and target (``None`` for the input), for a batch."""
        x, y = batch
        order = _chain(net, type(self).__name__)
        fwd = params["forward"]
        acts = net.feedforward(fwd, x)
        out = acts[net.output]
        e = jax.grad(lambda o: jnp.sum(self.cost(o, y)))(out)  # per-sample dC/dh_L
        tgts: list[Array | None] = [None] * net.num_nodes
        tgts[net.output] = out - self.target_lr * e
        for i in reversed(order[1:]):
            src, dst = net.edges[i].src, net.edges[i].dst[0]
            if dst == net.output and self.top_target is TopTarget.GRADIENT:
                layer, w = net.edges[i].layer, fwd[i]
                gh = jax.grad(lambda h: jnp.sum(self.cost(layer(w, h), y)))(acts[src])
                t = acts[src] - self.target_lr * gh
            else:
                t = self._propagate(net, params, i, tgts[dst], acts[dst], acts[src])  # type: ignore[arg-type]
            tgts[src] = jax.lax.stop_gradient(t)
        return acts, tuple(tgts)

    # --- losses --------------------------------------------------------------------------

    def layer_losses(self, net: Network, fwd: Any, acts: Any, tgts: Any) -> Array:
        r"""Sum over edges of :math:`\frac{1}{2\eta B}\sum_b\lVert f_i(h_{src}) - \hat
        h_{dst}\rVert^2`, each edge's input and target held fixed."""
        total = jnp.zeros(())
        for i, e in enumerate(net.edges):
            h = jax.lax.stop_gradient(acts[e.src])
            t = jax.lax.stop_gradient(tgts[e.dst[0]])
            d = (e.layer(fwd[i], h) - t).reshape(h.shape[0], -1)
            total = total + jnp.sum(d * d) / (2 * self.target_lr * h.shape[0])
        return total

    def feedback_losses(self, net: Network, params: Any, acts: Any, *, key: PRNGKeyArray) -> Array:
        """The feedback loss summed over the decoders (gradient in the feedback weights only),
        each averaged over ``noise_samples`` noise draws."""
        fwd = jax.lax.stop_gradient(params["forward"])
        total = jnp.zeros(())
        scales = self._noise_scales(net)
        for i, e in enumerate(net.edges):
            if params["feedback"][i] is None:
                continue
            s = scales[i]
            h = jax.lax.stop_gradient(acts[e.src])
            hd = jax.lax.stop_gradient(acts[e.dst[0]])
            b = h.shape[0]
            layer = e.layer

            def g(z: Array, src: Array, i: int = i) -> Array:
                return self._decode(net, params, i, z, src)

            def one(k: PRNGKeyArray, i: int = i, s: float = s, h: Array = h, hd: Array = hd,
                    layer: Layer = layer, g: Any = g) -> Array:  # fmt: skip
                k1, k2 = jax.random.split(k)
                eps = jax.random.normal(k1, h.shape, h.dtype)
                hn = h + s * eps
                if self.feedback_loss is FeedbackLoss.RECONSTRUCTION:
                    d = g(layer(fwd[i], hn), hn) - hn
                    return jnp.sum(d * d) / (2 * b)
                xi = jax.random.normal(k2, hd.shape, hd.dtype)
                r0 = g(hd, h)
                r1 = g(layer(fwd[i], hn), hn)
                d = g(hd + s * xi, h) - r0
                term = -2 * s * jnp.sum(eps * (r1 - r0)) + jnp.sum(d * d)
                return term / (2 * s * s * b)

            k = jax.random.fold_in(key, i)
            if self.noise_samples == 1:
                total = total + one(k)
            else:
                total = total + jnp.mean(jax.vmap(one)(jax.random.split(k, self.noise_samples)))
        return total

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
        if key is None:
            raise ConfigError(
                f"{type(self).__name__} trains its feedback weights with noise: pass key=..."
            )
        y = batch[1]
        acts, tgts = self.targets(net, params, batch)
        g_fwd = jax.grad(lambda f: self.layer_losses(net, f, acts, tgts))(params["forward"])
        fb_loss, g_all = jax.value_and_grad(lambda p: self.feedback_losses(net, p, acts, key=key))(
            params
        )
        out = acts[net.output]
        metrics = {
            "loss": jnp.mean(self.cost(out, y)),
            "accuracy": accuracy(out, y),
            "feedback_loss": fb_loss,
        }
        return {"forward": g_fwd, "feedback": g_all["feedback"]}, state, metrics


@final
class TP(AbstractTP):
    r"""Target propagation (Bengio 2014): targets pass down through learned approximate
    inverses, :math:`\hat h_{l-1} = g_l(\hat h_l)`, from the output target
    :math:`\hat h_L = h_L - \eta\,\partial C/\partial h_L`; each layer's forward weights descend
    :math:`\frac{1}{2\eta}\lVert f_l(h_{l-1}) - \hat h_l\rVert^2` and the feedback weights the
    :class:`FeedbackLoss` (noise scale ``noise``, or one per decoder in ``layer_noise``,
    averaged over ``noise_samples`` draws). The decoders are
    :math:`g_l(h) = \sigma(V_l h + c_l)` with :math:`\sigma` = ``feedback_activation`` for dense
    edges, and transposed convolutions after un-pooling for conv edges (see the module
    docstring); a chain network is required. Override :meth:`feedback` for other decoders.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8, 8), activation="tanh"),
    ...                               jnp.zeros((1, 3)))
    >>> rule = px.TP()
    >>> params, state = rule.init(net, key=jax.random.key(0))
    >>> batch = (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> grads, state, metrics = rule.grads(net, params, state, batch, key=jax.random.key(1))
    >>> sorted(metrics)
    ['accuracy', 'feedback_loss', 'loss']
    """

    name: ClassVar[str] = "tp"

    def _propagate(
        self, net: Network, params: Any, i: int, target: Array, h_dst: Array, h_src: Array
    ) -> Array:
        return self._decode(net, params, i, target, h_src)


@final
class DTP(AbstractTP):
    r"""Difference target propagation (Lee et al. 2015):
    :math:`\hat h_{l-1} = h_{l-1} + g_l(\hat h_l) - g_l(h_l)`; with
    ``feedback_loss=FeedbackLoss.DIFFERENCE`` the feedback weights follow Ernoult et al.
    (2022)'s difference reconstruction loss (L-DRL). Otherwise as :class:`TP`.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8, 8), activation="tanh"),
    ...                               jnp.zeros((1, 3)))
    >>> rule = px.DTP(feedback_loss=px.rules.FeedbackLoss.DIFFERENCE)
    >>> params, state = rule.init(net, key=jax.random.key(0))
    >>> acts, targets = rule.targets(net, params, (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])]))
    >>> [None if t is None else t.shape for t in targets]
    [None, (4, 8), (4, 8), (4, 2)]
    """

    name: ClassVar[str] = "dtp"

    def _propagate(
        self, net: Network, params: Any, i: int, target: Array, h_dst: Array, h_src: Array
    ) -> Array:
        return (
            h_src
            + self._decode(net, params, i, target, h_src)
            - self._decode(net, params, i, h_dst, h_src)
        )
