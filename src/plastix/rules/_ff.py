r"""The Forward-Forward family (Hinton 2022): every layer learns from its own local loss.

A chain network :math:`0 \to 1 \to \dots \to L \to L+1` is read as :math:`L` FF layers (the
edges into the hidden nodes) and a read-out edge into the output node, which FF replaces by
its own linear classifier. Layer :math:`l` sees only the *direction* of the activity below it,

.. math:: a_l = f_l(\theta_l, \hat a_{l-1}), \qquad
          \hat a = \frac{a}{\lVert a\rVert + \epsilon} \text{ (length) or }
          \frac{a}{\sqrt{\overline{a^2}} + \epsilon} \text{ (RMS)},

with :math:`\hat a_0` the normalised input, and no gradient crosses a layer boundary
(``jax.lax.stop_gradient`` on :math:`a_{l-1}`). Its goodness is
:math:`G_l = \sum_j a_{l,j}^2` (or the mean), and its loss pushes the goodness of positive
data above a threshold :math:`\theta` and that of negative data below it,

.. math:: \mathcal L_l = \tfrac12\,\mathbb E_{+}\operatorname{softplus}(\theta - G_l^+)
          + \tfrac12\,\mathbb E_{-}\operatorname{softplus}(G_l^- - \theta)

or, symmetric (SymBa, Lee & Song 2023), :math:`\mathbb E\,\operatorname{softplus}(-\alpha(G_l^+ - G_l^-))`
over pairs of a positive and its negative. *Supervised*: the positive is the input with its
true label encoded in it, the negative the same input with a wrong label drawn uniformly from
the other classes. *Unsupervised*: the negative is a hybrid of two images mixed through a mask
made by blurring random noise. Peer normalisation (optional) adds
:math:`\lambda\,\overline{(\bar r - r_j)^2}`, with :math:`r` a running mean of each unit's
positive activity, so that all units stay in use.

Prediction: the label with the highest goodness summed over the layers (optionally skipping
the first), or a linear classifier (softmax, cross-entropy) on the normalised activities of a
neutral-label input (all labels at once, :math:`1/C` each), trained on detached features.

>>> import jax, jax.numpy as jnp, plastix as px
>>> net = px.Network.from_example(px.models.mlp(3, hidden=(16, 16), activation="relu"), jnp.zeros((1, 12)))
>>> rule = px.rules.FF()
>>> params, state = rule.init(net, key=jax.random.key(0))
>>> x, y = jnp.ones((4, 12)), jnp.eye(3)[jnp.array([0, 1, 2, 0])]
>>> step = jax.jit(lambda p, s: rule.grads(net, p, s, (x, y), key=jax.random.key(1)))
>>> grads, state, metrics = step(params, state)
>>> float(metrics["goodness_pos_0"]) > 0, params["layers"][2]  # the read-out edge is replaced
(True, None)
"""

from __future__ import annotations

import enum
import math
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, GraphError, ShapeError, check_seed
from .._option import option
from ..graph import Network
from ..nn import Linear, ReLU, Sequential
from ._base import AbstractGradientRule, Batch, Metrics, check_batch
from ._costs import Cost, CrossEntropy


class Supervision(enum.Enum):
    """Where FF's negative data come from."""

    SUPERVISED = "supervised"  #: the input with a wrong label
    UNSUPERVISED = "unsupervised"  #: hybrid images (masks from blurred noise)


class LabelEncoding(enum.Enum):
    """How a label is put into the input (supervised FF)."""

    OVERLAY = "overlay"  #: the first C input features become ``label_value * one_hot``
    FIXED_EMBEDDING = "fixed-embedding"  #: a fixed random vector per class is added
    LEARNED_EMBEDDING = "learned-embedding"  #: the same, trained by the first layer's loss


class Goodness(enum.Enum):
    SUM = "sum"  #: :math:`\sum_j a_j^2`
    MEAN = "mean"  #: :math:`\frac1n\sum_j a_j^2`


class FFLoss(enum.Enum):
    SOFTPLUS = "softplus"  #: Hinton's logistic loss around the threshold
    SYMBA = "symba"  #: symmetric: softplus(-alpha (G+ - G-))


class FFNorm(enum.Enum):
    LENGTH = "length"  #: divide by the L2 norm (Hinton, the seed)
    RMS = "rms"  #: divide by the root mean square (the best public port)


class FFInit(enum.Enum):
    NETWORK = "network"  #: the layers' own initialisation
    NORMAL = "normal"  #: the best public port's: :math:`W \\sim \\mathcal N(0, 1/n_{out})`, :math:`b = 0`


class FFPrediction(enum.Enum):
    GOODNESS = "goodness"  #: argmax over labels of the summed goodness (C forward passes)
    LINEAR = "linear"  #: the linear classifier on a neutral-label input (one pass)


# --- negative data -------------------------------------------------------------------------


def wrong_labels(key: PRNGKeyArray, labels: Array, num_classes: int) -> Array:
    """A label drawn uniformly from the ``num_classes - 1`` classes other than ``labels``
    (integers): the true label plus an offset in :math:`1..C-1`, modulo :math:`C`.

    >>> import jax, jax.numpy as jnp
    >>> y = jnp.array([0, 1, 2, 3])
    >>> bool(jnp.all(wrong_labels(jax.random.key(0), y, 4) != y))
    True
    """
    if num_classes < 2:
        raise ConfigError(f"wrong labels need at least 2 classes, got {num_classes}.")
    offset = jax.random.randint(key, labels.shape, 1, num_classes)
    return (labels + offset) % num_classes


def blur_mask(key: PRNGKeyArray, shape: tuple[int, int, int], steps: int) -> Array:
    """Binary masks ``(batch, H, W)``: random bits blurred ``steps`` times with the filter
    :math:`[\\frac14, \\frac12, \\frac14]` along both image axes (edges replicated), then
    thresholded at 1/2 (Hinton 2022, section 3.2)."""
    m = jax.random.bernoulli(key, 0.5, shape).astype(jnp.float32)
    for _ in range(steps):
        for axis in (1, 2):
            p = jnp.pad(m, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
            n = m.shape[axis]
            lo = jax.lax.slice_in_dim(p, 0, n, axis=axis)
            mid = jax.lax.slice_in_dim(p, 1, n + 1, axis=axis)
            hi = jax.lax.slice_in_dim(p, 2, n + 2, axis=axis)
            m = 0.25 * lo + 0.5 * mid + 0.25 * hi
    return (m > 0.5).astype(jnp.float32)


def hybrid_images(key: PRNGKeyArray, x: Array, steps: int = 8) -> Array:
    """Negative data of unsupervised FF: each image ``x`` (NHW or NHWC) mixed with another
    image of the batch (never itself) through a :func:`blur_mask`,
    :math:`m \\odot x_b + (1 - m) \\odot x_{b'}`."""
    if x.ndim not in (3, 4) or x.shape[1] < 2 or x.shape[2] < 2:
        raise ShapeError(
            f"hybrid negatives need a batch of images (N, H, W[, C]) with H, W >= 2; got shape "
            f"{x.shape}. Use supervised FF for non-image inputs."
        )
    if x.shape[0] < 2:
        raise ShapeError("hybrid negatives mix two images of a batch: use a batch size >= 2.")
    kmask, kshift = jax.random.split(key)
    m = blur_mask(kmask, (x.shape[0], x.shape[1], x.shape[2]), steps)
    if x.ndim == 4:
        m = m[..., None]
    shift = jax.random.randint(kshift, (), 1, x.shape[0])
    other = jnp.roll(x, shift, axis=0)
    return m * x + (1.0 - m) * other


# --- the rule ------------------------------------------------------------------------------


def _sq(a: Array, goodness: Goodness) -> Array:
    s = jnp.reshape(a, (a.shape[0], -1)) ** 2
    return jnp.sum(s, -1) if goodness is Goodness.SUM else jnp.mean(s, -1)


def _normal_init(layer: Any, p: Any, key: PRNGKeyArray) -> Any:
    """Re-initialise the Linear layers in ``layer`` (params ``p``): N(0, 1/out), zero bias."""
    if isinstance(layer, Linear):
        w = p["w"]
        new = {"w": jax.random.normal(key, w.shape, w.dtype) / math.sqrt(w.shape[1])}
        if "b" in p:
            new["b"] = jnp.zeros_like(p["b"])
        return new
    if isinstance(layer, Sequential):
        keys = jax.random.split(key, max(len(layer.layers), 1))
        return tuple(_normal_init(l, q, k) for l, q, k in zip(layer.layers, p, keys))
    return p


@final
class FF(AbstractGradientRule):
    """Forward-Forward; see the module docstring for the maths.

    Parameters (:meth:`init`): ``{"layers": <the network's, the read-out edge's set to
    None>, "classifier": {"w": (features, C)}, "embedding": (C, F) (learned embedding only)}``;
    state ``{"peer": running mean activity per layer, "step": steps taken}`` (not learned:
    :meth:`grads` returns its next value).

    Options: ``threshold`` defaults to one per unit (the layer width for ``goodness=SUM``,
    1 for ``MEAN``). ``skip_first`` leaves the first layer out of the goodness prediction and
    of the classifier's features (Hinton). ``greedy_steps > 0`` trains one layer at a time,
    ``greedy_steps`` optimizer steps each (the classifier always learns); 0 trains all layers
    each step. ``relu_full_grad`` passes the gradient of a ReLU ending an edge straight through
    (as the best public port does; dead units still learn). The classifier's gradient is
    multiplied by ``classifier_scale`` (its learning rate relative to the layers') and gets
    ``classifier_weight_decay`` (L2) added before that.
    """

    name: ClassVar[str] = "ff"
    estimates_gradient: ClassVar[bool] = False
    supervision: Supervision = option(
        Supervision.SUPERVISED,
        help="supervised (wrong-label negatives) | unsupervised (hybrid-image negatives)",
    )
    label: LabelEncoding = option(
        LabelEncoding.OVERLAY, help="overlay (first C inputs) | fixed-embedding | learned-embedding"
    )
    label_value: float = option(
        1.0, help="overlay: value of the label's pixel; embeddings: std of their entries"
    )
    goodness: Goodness = option(Goodness.SUM, help="sum | mean of the squared activities")
    threshold: float | None = option(
        None, help="goodness threshold (null: one per unit, i.e. the width for sum, 1 for mean)"
    )
    loss: FFLoss = option(
        FFLoss.SOFTPLUS, help="softplus (Hinton) | symba (symmetric, softplus(-alpha (G+ - G-)))"
    )
    symba_alpha: float = option(4.0, help="SymBa's scale alpha")
    norm: FFNorm = option(FFNorm.RMS, help="length | rms normalisation of each layer's input")
    eps: float = option(1e-8, help="added to the norm")
    prediction: FFPrediction = option(
        FFPrediction.LINEAR,
        help="linear (classifier on a neutral-label input) | goodness (argmax over labels)",
    )
    skip_first: bool = option(
        True, help="leave layer 1 out of the goodness score and the classifier's features"
    )
    peer_weight: float = option(0.03, help="weight of the peer-normalisation loss (0: off)")
    peer_momentum: float = option(
        0.9, help="momentum of the running mean of the peer normalisation"
    )
    greedy_steps: int = option(
        0, help="train one layer at a time for this many steps each (0: all layers each step)"
    )
    relu_full_grad: bool = option(
        True, help="pass the gradient of a ReLU ending an edge straight through"
    )
    classifier_scale: float = option(
        10.0, help="the classifier's gradient scale (its lr relative to the layers')"
    )
    classifier_weight_decay: float = option(
        3e-3, help="extra L2 on the classifier (before the scale)"
    )
    blur_steps: int = option(
        8, help="unsupervised: blurring passes of the noise that makes the hybrid masks"
    )
    weight_init: FFInit = option(
        FFInit.NORMAL, help="normal (W ~ N(0, 1/out), b = 0, as the best port) | network"
    )
    embedding_seed: int = option(0, help="seed of the fixed label embedding")
    cost: Cost = option(
        default_factory=CrossEntropy,
        help="cost of the class scores (logits or goodness) that evaluation reports",
    )

    def __check_init__(self) -> None:
        check_seed(self.embedding_seed, "FF embedding_seed")
        if self.supervision is Supervision.UNSUPERVISED and (
            self.prediction is FFPrediction.GOODNESS
        ):
            raise ConfigError(
                "unsupervised FF has no label to score by goodness: use prediction='linear'."
            )
        if self.threshold is not None and self.threshold < 0:
            raise ConfigError(f"FF threshold must be >= 0, got {self.threshold}.")
        if self.eps <= 0 or self.symba_alpha <= 0:
            raise ConfigError(
                f"FF eps and symba_alpha must be > 0 ({self.eps}, {self.symba_alpha})."
            )
        if not 0 <= self.peer_momentum < 1 or self.peer_weight < 0:
            raise ConfigError(
                f"FF peer_weight must be >= 0 and peer_momentum in [0, 1) "
                f"({self.peer_weight}, {self.peer_momentum})."
            )
        if self.greedy_steps < 0 or self.blur_steps < 0:
            raise ConfigError("FF greedy_steps and blur_steps must be >= 0.")
        if self.classifier_scale <= 0 or self.classifier_weight_decay < 0:
            raise ConfigError("FF classifier_scale must be > 0 and classifier_weight_decay >= 0.")

    # --- structure -------------------------------------------------------------------------

    def chain(self, net: Network) -> tuple[int, ...]:
        """Edge indices along the chain input -> ... -> output (the last is the read-out)."""
        edges = net.chain("FF", "use a chain, e.g. models.mlp")
        if len(edges) < 2:
            raise GraphError(
                "FF needs at least one hidden layer before the output node (the output edge is "
                "replaced by FF's linear classifier)."
            )
        return tuple(edges)

    def num_classes(self, net: Network) -> int:
        return math.prod(net.node_shapes[net.output])

    def readout_layers(self, net: Network) -> tuple[int, ...]:
        """Positions (in the FF layers) read by the goodness score and the classifier."""
        n = len(self.chain(net)) - 1
        return tuple(range(1 if self.skip_first else 0, n))

    def check(self, net: Network, batch: Batch | None = None) -> None:
        net.require_dag("FF")
        layers = self.chain(net)[:-1]
        if self.skip_first and len(layers) < 2:
            raise ConfigError(
                "FF with skip_first needs at least 2 hidden layers (the first is skipped); "
                "add a layer or set skip_first=false."
            )
        c = self.num_classes(net)
        f = math.prod(net.input_shape)
        if self.supervision is Supervision.SUPERVISED:
            if c < 2:
                raise ConfigError(f"supervised FF needs >= 2 classes, the output node has {c}.")
            if self.label is LabelEncoding.OVERLAY and c > f:
                raise ShapeError(
                    f"the label overlay writes the {c} classes into the first input features, but "
                    f"the input has only {f}: {c} classes cannot be encoded. Use "
                    "label='fixed-embedding' or 'learned-embedding'."
                )
            if self.label is LabelEncoding.OVERLAY and f < 2 * c:
                raise ShapeError(
                    f"inputs of {f} features are too small for the label overlay: it overwrites "
                    f"the first {c}, leaving {f - c} of the data. Need at least {2 * c} features, "
                    "or use label='fixed-embedding' or 'learned-embedding'."
                )
        else:
            s = net.input_shape
            if len(s) not in (2, 3) or s[0] < 2 or s[1] < 2:
                raise ShapeError(
                    f"unsupervised FF mixes images (H, W[, C]) with H, W >= 2; the input has "
                    f"shape {s}. Use supervision='supervised' for other inputs."
                )
        super().check(net, batch)

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, Any]:
        self.check(net)
        chain = self.chain(net)
        layers = list(net.init(key=key))
        if self.weight_init is FFInit.NORMAL:
            keys = jax.random.split(jax.random.fold_in(key, 1), len(chain))
            for i, k in zip(chain[:-1], keys):
                layers[i] = _normal_init(net.edges[i].layer, layers[i], k)
        layers[chain[-1]] = None  # the read-out edge: replaced by the classifier
        feats = sum(
            math.prod(net.node_shapes[net.edges[chain[i]].dst[0]]) for i in self.readout_layers(net)
        )
        params: dict[str, Any] = {
            "layers": tuple(layers),
            "classifier": {"w": jnp.zeros((feats, self.num_classes(net)), jnp.float32)},
        }
        if self.label is LabelEncoding.LEARNED_EMBEDDING:
            params["embedding"] = self._fixed_embedding(net)
        state = {
            "peer": tuple(
                jnp.full(net.node_shapes[net.edges[i].dst[0]], 0.5, jnp.float32) for i in chain[:-1]
            ),
            "step": jnp.zeros((), jnp.int32),
        }
        return params, state

    # --- pieces ----------------------------------------------------------------------------

    def _fixed_embedding(self, net: Network) -> Array:
        f = math.prod(net.input_shape)
        e = jax.random.normal(jax.random.key(self.embedding_seed), (self.num_classes(net), f))
        return self.label_value * e

    def _embedding(self, net: Network, params: Any) -> Array:
        if self.label is LabelEncoding.LEARNED_EMBEDDING:
            return params["embedding"]  # type: ignore[no-any-return]
        return self._fixed_embedding(net)

    def encode(self, net: Network, params: Any, x: Array, label: Array) -> Array:
        """``x`` with ``label`` (``(batch, C)``: one-hot, or uniform for the neutral label) in it."""
        flat = jnp.reshape(x, (x.shape[0], -1))
        c = label.shape[-1]
        if self.label is LabelEncoding.OVERLAY:
            flat = flat.at[:, :c].set(self.label_value * label)
        else:
            flat = flat + label @ self._embedding(net, params)
        return jnp.reshape(flat, x.shape)

    def normalize(self, a: Array) -> Array:
        """The direction of each sample's activity (length or RMS normalisation)."""
        flat = jnp.reshape(a, (a.shape[0], -1))
        if self.norm is FFNorm.LENGTH:
            scale = jnp.sqrt(jnp.sum(flat**2, -1))
        else:
            scale = jnp.sqrt(jnp.mean(flat**2, -1))
        return a / (jnp.reshape(scale, (-1,) + (1,) * (a.ndim - 1)) + self.eps)

    def _layer(self, net: Network, i: int, p: Any, h: Array) -> Array:
        layer = net.edges[i].layer
        if (
            self.relu_full_grad
            and isinstance(layer, Sequential)
            and layer.layers
            and isinstance(layer.layers[-1], ReLU)
        ):
            pre = Sequential(layer.layers[:-1])(p[:-1], h)
            return pre + jax.lax.stop_gradient(jax.nn.relu(pre) - pre)
        return layer(p, h)

    def activities(self, net: Network, params: Any, x: Array) -> list[Array]:
        """Every FF layer's (unnormalised) activity for inputs ``x`` (labels already in
        them); each layer sees the normalised, gradient-stopped activity below it."""
        h = x
        acts = []
        for i in self.chain(net)[:-1]:
            a = self._layer(net, i, params["layers"][i], self.normalize(h))
            acts.append(a)
            h = jax.lax.stop_gradient(a)
        return acts

    def theta(self, a: Array) -> float:
        if self.threshold is not None:
            return self.threshold
        return float(math.prod(a.shape[1:])) if self.goodness is Goodness.SUM else 1.0

    def layer_goodness(self, a: Array) -> Array:
        """:math:`G` per sample."""
        return _sq(a, self.goodness)

    def layer_loss(self, a_pos: Array, a_neg: Array) -> Array:
        """The FF loss of one layer from its positive and negative activities."""
        gp, gn = self.layer_goodness(a_pos), self.layer_goodness(a_neg)
        if self.loss is FFLoss.SYMBA:
            return jnp.mean(jax.nn.softplus(-self.symba_alpha * (gp - gn)))
        th = self.theta(a_pos)
        return 0.5 * (jnp.mean(jax.nn.softplus(th - gp)) + jnp.mean(jax.nn.softplus(gn - th)))

    def neutral(self, net: Network, params: Any, x: Array) -> Array:
        """The input the classifier reads: ``x`` with the neutral label (or ``x`` itself,
        unsupervised)."""
        if self.supervision is Supervision.UNSUPERVISED:
            return x
        c = self.num_classes(net)
        return self.encode(net, params, x, jnp.full((x.shape[0], c), 1.0 / c, x.dtype))

    def features(self, net: Network, params: Any, x: Array) -> Array:
        """The classifier's input: the normalised activities of the read-out layers for the
        neutral-label input, concatenated (gradient-stopped)."""
        acts = self.activities(net, params, self.neutral(net, params, x))
        parts = [
            jnp.reshape(self.normalize(acts[i]), (x.shape[0], -1)) for i in self.readout_layers(net)
        ]
        return jax.lax.stop_gradient(jnp.concatenate(parts, -1))

    def positives_negatives(
        self, net: Network, params: Any, x: Array, y: Array, key: PRNGKeyArray
    ) -> tuple[Array, Array]:
        """Positive and negative inputs for a batch."""
        if self.supervision is Supervision.UNSUPERVISED:
            return x, hybrid_images(key, x, self.blur_steps)
        c = self.num_classes(net)
        neg = jax.nn.one_hot(wrong_labels(key, jnp.argmax(y, -1), c), c, dtype=x.dtype)
        return self.encode(net, params, x, y), self.encode(net, params, x, neg)

    # --- losses, gradients and steps -------------------------------------------------------

    def _losses(
        self, net: Network, params: Any, state: Any, batch: Batch, key: PRNGKeyArray
    ) -> tuple[Array, tuple[Any, Metrics]]:
        x, y = batch
        pos, neg = self.positives_negatives(net, params, x, y, key)
        acts_p = self.activities(net, params, pos)
        acts_n = self.activities(net, params, neg)
        m = self.peer_momentum
        total = jnp.zeros(())
        metrics: Metrics = {}
        ff_losses, peers, new_running = [], [], []
        for l, (ap, an) in enumerate(zip(acts_p, acts_n)):
            loss_l = self.layer_loss(ap, an)
            running = m * state["peer"][l] + (1 - m) * jnp.mean(ap, 0)
            peer = jnp.mean((jnp.mean(running) - running) ** 2)
            new_running.append(jax.lax.stop_gradient(running))
            total = total + loss_l + self.peer_weight * peer
            ff_losses.append(loss_l)
            peers.append(peer)
            gp, gn = self.layer_goodness(ap), self.layer_goodness(an)
            th = self.theta(ap)
            metrics[f"ff_loss_{l}"] = loss_l
            metrics[f"ff_accuracy_{l}"] = 0.5 * (jnp.mean(gp > th) + jnp.mean(gn < th))
            metrics[f"goodness_pos_{l}"] = jnp.mean(gp)
            metrics[f"goodness_neg_{l}"] = jnp.mean(gn)
        logits = self.features(net, params, x) @ params["classifier"]["w"]
        ce = jnp.mean(-jnp.sum(y * jax.nn.log_softmax(logits, -1), -1))
        total = total + ce
        metrics["loss"] = sum(ff_losses[1:], ff_losses[0])
        metrics["accuracy"] = jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(y, -1))
        metrics["classifier_loss"] = ce
        if self.peer_weight:
            metrics["peer_loss"] = sum(peers[1:], peers[0])
        new_state = {"peer": tuple(new_running), "step": state["step"] + 1}
        return total, (new_state, metrics)

    def layer_losses(
        self, net: Network, params: Any, state: Any, batch: Batch, *, key: PRNGKeyArray
    ) -> Array:
        """The FF loss of each layer (without peer normalisation), shape ``(L,)``."""
        _, (_, metrics) = self._losses(net, params, state, batch, key)
        n = len(self.chain(net)) - 1
        return jnp.stack([metrics[f"ff_loss_{l}"] for l in range(n)])

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        """Every layer's local gradient, the classifier's (scaled, with its L2), the next
        peer-normalisation means and step count, and the metrics."""
        check_batch(net, batch)
        if key is None:
            raise ConfigError("FF draws negative data: pass a PRNG key (key=...).")
        (_, (new_state, metrics)), g = jax.value_and_grad(
            lambda p: self._losses(net, p, state, batch, key), has_aux=True
        )(params)
        w = params["classifier"]["w"]
        gw = self.classifier_scale * (g["classifier"]["w"] + self.classifier_weight_decay * w)
        return {**g, "classifier": {"w": gw}}, new_state, metrics

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
        """One step: every layer's local gradient through the optimizer (only the active
        layer's update when greedy), then the peer-normalisation state and step count."""
        g, new_state, metrics = self.grads(net, params, state, batch, key=key)
        updates, opt_state = optimizer.update(g, opt_state, params)
        if self.greedy_steps:
            chain = self.chain(net)[:-1]
            active = jnp.minimum(state["step"] // self.greedy_steps, len(chain) - 1)
            layers = list(updates["layers"])
            for l, i in enumerate(chain):
                on = (active == l).astype(jnp.float32)
                layers[i] = jax.tree.map(lambda u, on=on: u * on, layers[i])
            if "embedding" in updates:
                updates = {**updates, "embedding": updates["embedding"] * (active == 0)}
            updates = {**updates, "layers": tuple(layers)}
            metrics["active_layer"] = active
        return optax.apply_updates(params, updates), new_state, opt_state, metrics

    # --- prediction ------------------------------------------------------------------------

    def goodness_scores(self, net: Network, params: Any, x: Array) -> Array:
        """``(batch, C)``: the goodness summed over the read-out layers, for each label."""
        c = self.num_classes(net)
        cols = []
        for k in range(c):
            label = jnp.broadcast_to(jax.nn.one_hot(k, c, dtype=x.dtype), (x.shape[0], c))
            acts = self.activities(net, params, self.encode(net, params, x, label))
            g = [self.layer_goodness(acts[i]) for i in self.readout_layers(net)]
            cols.append(sum(g[1:], g[0]))
        return jnp.stack(cols, -1)

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """Class scores: summed goodness per label, or the linear classifier's logits."""
        del state
        if self.prediction is FFPrediction.GOODNESS:
            return self.goodness_scores(net, params, x)
        return self.features(net, params, x) @ params["classifier"]["w"]
