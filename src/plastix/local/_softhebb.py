r"""SoftHebb networks (Journé, Rodriguez, Guo & Moraitis 2022, "Hebbian Deep Learning Without
Feedback"): Hebbian layers trained in one unsupervised pass, then a linear read-out.

A SoftHebb network is a chain of *Hebbian blocks* and a read-out edge into the output node.
Block :math:`l` standardises its input with batch statistics (batch norm without affine
parameters), computes the weighted input :math:`u = W * \hat x` (a convolution with reflect
padding, or a dense product, no bias), and passes on
:math:`\mathrm{pool}\big(\max(0, u - \bar u)^{p}\big)` (the triangle activation, mean over the
channels, to the power :math:`p`). Its plasticity is a soft winner-take-all: at every position
the channels compete through :math:`y = \mathrm{softmax}(\beta u)` (inverse temperature
:math:`\beta`), the winner keeps :math:`+y_k` and every other channel gets the anti-Hebbian
:math:`-y_j`, and

.. math:: \Delta W_{:j} = \sum_{n,\text{pos}} y_j\,(\hat x_{\text{patch}} - u_j W_{:j})
          = (y \star \hat x)_j - \Big(\sum y_j u_j\Big) W_{:j},

:math:`y\star\hat x` being the correlation of the post-synaptic signal with the input patches
(exactly the vector-Jacobian product of :math:`W \mapsto u` at :math:`y`). The step is scaled by
its largest entry and applied with a per-neuron rate that shrinks as the neuron's norm nears 1,
:math:`W_{:j} \leftarrow W_{:j} + \eta_l\,(|\lVert W_{:j}\rVert - 1| + 10^{-10})^{1/2}\,
\Delta W_{:j} / \max|\Delta W|`. The weights start with norm ``init_radius`` (25) and converge
to the unit sphere. Every block learns from the same forward pass; nothing flows backwards.

After ``hebbian_epochs`` the blocks freeze (their batch norms then use the running statistics
gathered during the pass) and the read-out edge learns by cross-entropy on the detached
features, with dropout, through the trainer's optimizer.

>>> import jax, jax.numpy as jnp, optax, plastix as px
>>> from plastix.local import HebbConv2d, SoftHebb
>>> net = px.Network.from_example(
...     [px.edge(HebbConv2d(8, 3, padding=1, pool=px.nn.MaxPool(2)), [0, 1]),
...      px.edge(px.nn.Sequential([px.nn.Flatten(), px.nn.Linear(3)]), [1, 2])],
...     jnp.zeros((1, 6, 6, 1)))
>>> rule = SoftHebb(lr=0.05, inverse_temperature=1.0, hebbian_steps=10)
>>> params, state = rule.init(net, key=jax.random.key(0))
>>> x, y = jnp.ones((4, 6, 6, 1)), jnp.eye(3)[jnp.array([0, 1, 2, 0])]
>>> opt = optax.adam(1e-3)  # for the read-out, after the Hebbian steps
>>> p, s, o, m = rule.step(net, params, state, opt.init(params), opt, (x, y), key=jax.random.key(1))
>>> int(m["hebbian"]), int(s["step"])
(1, 1)
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, GraphError
from .._option import option
from ..graph import Network
from ..nn import HebbianLayer, Params
from ..rules import AbstractFeatureRule, Batch, Cost, CrossEntropy, Metrics, check_batch


def _positive(who: str, name: str, v: Any) -> None:
    vals = (v,) if isinstance(v, (int, float)) else tuple(v)
    if not vals or any(not isinstance(a, (int, float)) or a <= 0 for a in vals):
        raise ConfigError(f"{who} {name} must be positive numbers, got {v!r}.")


def soft_wta(u: Array, inverse_temperature: float, *, anti_hebbian: bool = True) -> Array:
    r"""SoftHebb's post-synaptic signal: :math:`y = \mathrm{softmax}(\beta u)` over the last
    (channel) axis; with ``anti_hebbian`` every channel but the winner gets :math:`-y_j`.

    >>> import jax.numpy as jnp
    >>> soft_wta(jnp.array([[0.0, jnp.log(3.0)]]), 1.0).round(4).tolist()
    [[-0.25, 0.75]]
    """
    y = jax.nn.softmax(inverse_temperature * u, axis=-1)
    if anti_hebbian:
        win = jax.nn.one_hot(jnp.argmax(u, axis=-1), u.shape[-1], dtype=bool)
        y = jnp.where(win, y, -y)
    return y


def softhebb_delta(layer: HebbianLayer, w: Array, xn: Array, u: Array, y: Array) -> Array:
    r""":math:`\Delta W = (y \star \hat x) - (\sum y u)\,W` for a block with weighted input
    ``u = layer.weighted_input(w, xn)`` and post-synaptic signal ``y`` (same shape as ``u``):
    the correlation term is the vector-Jacobian product of :math:`W \mapsto u` at ``y``, so the
    same code serves dense and convolutional blocks."""
    _, vjp = jax.vjp(lambda ww: layer.weighted_input(ww, xn), w)
    (yx,) = vjp(y)
    yu = jnp.sum(y * u, axis=tuple(range(u.ndim - 1)))
    return yx - _last(yu, w.ndim) * w


def _last(v: Array, ndim: int) -> Array:
    """``v`` (shape ``(C,)``) shaped to broadcast along the last axis of an ``ndim`` array."""
    return v.reshape((1,) * (ndim - 1) + (-1,))


def neuron_norms(w: Array) -> Array:
    """The norm of each output unit's weights (all axes but the last)."""
    return jnp.sqrt(jnp.sum(w * w, axis=tuple(range(w.ndim - 1))))


def _per_layer(value: float | Sequence[float], n: int, name: str) -> tuple[float, ...]:
    vals = (value,) if isinstance(value, (int, float)) else tuple(value)
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        raise ConfigError(
            f"SoftHebb {name} has {len(vals)} values but the network has {n} Hebbian blocks; "
            f"pass one value, or one per block."
        )
    return tuple(float(v) for v in vals)


class AbstractHebbianRule(AbstractFeatureRule):
    r"""Hebbian blocks trained without labels or feedback for a first phase, then a linear
    read-out on the frozen features: the base of :class:`SoftHebb` and
    :class:`~plastix.local.LocalHebbian`, which differ in the plastic update
    (:meth:`hebbian_pass`).

    ``lr`` takes one value or one per Hebbian block. The Hebbian phase lasts
    ``hebbian_steps`` training steps, or ``hebbian_epochs`` epochs once a
    :class:`~plastix.train.Trainer` has told the rule its epoch length (:meth:`bind`); the
    read-out learns in every later step (``dropout`` on its input features). With
    ``hebbian_batch`` set, a Hebbian step splits its batch into consecutive micro-batches of
    that size, one plastic update each (Journé et al. use 10 for the Hebbian pass and 64 for
    the read-out), so the trainer's batch size only sets the read-out's. ``anneal`` decays the
    Hebbian rate as :math:`\eta_0 (1 - t / T)` over the ``T`` Hebbian steps; ``cost`` is the
    read-out's (cross-entropy, or Krotov & Hopfield's :class:`~plastix.TanhPower`). The
    optimizer is called only after the Hebbian phase, so a schedule spans those steps
    (:meth:`optimizer_calls`).
    """

    estimates_gradient: ClassVar[bool] = False

    lr: eqx.AbstractVar[float | tuple[float, ...]]
    bn_momentum: float = option(
        0.1, help="momentum of the running batch-norm statistics during the Hebbian pass"
    )
    dropout: float = option(0.5, help="dropout on the read-out's input features")
    hebbian_epochs: int = option(
        1, help="unsupervised epochs before the read-out learns (the rest of the run)"
    )
    hebbian_steps: int | None = option(
        None, help="unsupervised steps instead of epochs (null: hebbian_epochs decides)"
    )
    hebbian_batch: int | None = option(
        None, help="micro-batch of each Hebbian update (null: the whole batch)"
    )
    anneal: bool = option(
        False,
        help="decay the Hebbian rate linearly to 0 over the Hebbian phase (Krotov & Hopfield)",
    )
    cost: Cost = option(
        default_factory=CrossEntropy,
        help="the read-out's cost: cross-entropy | tanh-power (Krotov & Hopfield) | squared-error",
    )

    def __check_init__(self) -> None:
        who = type(self).__name__
        if self.hebbian_batch is not None and self.hebbian_batch < 1:
            raise ConfigError(f"{who} hebbian_batch must be >= 1, got {self.hebbian_batch}.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{who} dropout must be in [0, 1), got {self.dropout}.")
        if not 0 < self.bn_momentum <= 1:
            raise ConfigError(f"{who} bn_momentum must be in (0, 1], got {self.bn_momentum}.")
        if self.hebbian_epochs < 0 or (self.hebbian_steps is not None and self.hebbian_steps < 0):
            raise ConfigError(f"{who} hebbian_epochs and hebbian_steps must be >= 0.")
        _positive(who, "lr", self.lr)

    @abc.abstractmethod
    def _block_update(
        self,
        l: int,
        n_blocks: int,
        layer: HebbianLayer,
        w: Array,
        xn: Array,
        lr: float | Array,
        u_state: Any,
    ) -> tuple[Array, Array, Any]:
        """Block ``l``'s plastic update from its standardised input ``xn``: its new weights,
        its weighted input ``u`` at the old weights (the block's output is
        ``layer.activate(u)``) and the new state of its update (``u_state``: what
        :meth:`_init_blocks` gave the block, ``None`` for stateless updates)."""

    def hebbian_pass(
        self, net: Network, params: Any, state: Any, x: Array
    ) -> tuple[Any, Any, Array, Metrics]:
        """One unsupervised step of every block from the same forward pass (batch statistics,
        which also update the running ones): the new parameters and state, the features and
        per-block metrics."""
        hebb, _ = self.blocks(net)
        lrs: list[float | Array] = list(_per_layer(self.lr, len(hebb), "lr"))
        if self.anneal:
            if self.hebbian_steps is None:
                raise ConfigError(
                    f"{type(self).__name__} anneal=True decays the rate over the Hebbian phase, "
                    "whose length it does not know: pass hebbian_steps=..., or train with "
                    "plastix.train.Trainer (which calls rule.bind(steps_per_epoch=...))."
                )
            left = 1.0 - state["step"].astype(jnp.float32) / max(self.hebbian_steps, 1)
            lrs = [lr * jnp.maximum(left, 0.0) for lr in lrs]
        layers = list(self._layers(params))
        stats, u_states = list(state["stats"]), list(state["update"])
        metrics: Metrics = {}
        m = self.bn_momentum
        for l, i in enumerate(hebb):
            layer = net.edges[i].layer
            assert isinstance(layer, HebbianLayer)
            w = layers[i]["w"]
            xn, bmean, bvar = layer.normalise({**layers[i], **stats[l]}, x, batch_stats=True)
            new_w, u, u_states[l] = self._block_update(
                l, len(hebb), layer, w, xn, lrs[l], u_states[l]
            )
            if bmean is not None and bvar is not None:
                stats[l] = {
                    "mean": (1 - m) * stats[l]["mean"] + m * bmean,
                    "var": (1 - m) * stats[l]["var"] + m * bvar,
                }
            layers[i] = {**layers[i], "w": new_w}
            metrics[f"norm_gap_{l}"] = jnp.mean(jnp.abs(neuron_norms(w) - 1.0))
            x = layer.activate(u)
        new_state = {**state, "stats": tuple(stats), "update": tuple(u_states)}
        return {**params, "layers": tuple(layers)}, new_state, jax.lax.stop_gradient(x), metrics

    @abc.abstractmethod
    def _check_blocks(self, net: Network, blocks: tuple[int, ...]) -> None:
        """Raise a clear error if this rule cannot train the Hebbian ``blocks`` (edges)."""

    @abc.abstractmethod
    def _init_blocks(self, net: Network, params: Any) -> tuple[Any, tuple[Any, ...]]:
        """The initial parameters from the network's (a rule's own block initialisation) and
        each block's initial update state (``None`` for stateless updates)."""

    def eval_cost(self, output: Array, target: Array) -> Array:
        """The read-out's cost (``cost``, cross-entropy by default)."""
        return self.cost(output, target)

    def optimizer_calls(self, *, steps_per_epoch: int, epochs: int) -> int:
        """The read-out's optimizer calls: the steps after the Hebbian phase (at least 1)."""
        bound = self.bind(steps_per_epoch=steps_per_epoch)
        assert bound.hebbian_steps is not None
        return max(steps_per_epoch * epochs - bound.hebbian_steps, 1)

    # --- structure -----------------------------------------------------------------------------

    def bind(self, *, steps_per_epoch: int) -> AbstractHebbianRule:
        """This rule with ``hebbian_steps = hebbian_epochs * steps_per_epoch`` (unless
        ``hebbian_steps`` was given)."""
        if self.hebbian_steps is not None:
            return self
        return dataclasses.replace(self, hebbian_steps=self.hebbian_epochs * steps_per_epoch)

    def blocks(self, net: Network) -> tuple[tuple[int, ...], int]:
        """Edge indices of the Hebbian blocks along the chain, and of the read-out edge."""
        edges = net.chain(type(self).__name__, "use models.softhebb_conv or softhebb_mlp")
        *hebb, readout = edges
        bad = [i for i in hebb if not isinstance(net.edges[i].layer, HebbianLayer)]
        if not hebb or bad:
            raise GraphError(
                "SoftHebb needs Hebbian blocks (plastix.local.HebbConv2d / HebbDense) on every "
                f"edge before the read-out; edge(s) {bad or 'none'} are not. Use "
                "models.softhebb_conv or softhebb_mlp."
            )
        if isinstance(net.edges[readout].layer, HebbianLayer):
            raise GraphError(
                "SoftHebb's last edge (into the output node) is the read-out and must be an "
                "ordinary layer, e.g. Sequential([Flatten(), Linear(10)])."
            )
        return tuple(hebb), readout

    def check(self, net: Network, batch: Batch | None = None) -> None:
        hebb, _ = self.blocks(net)
        _per_layer(self.lr, len(hebb), "lr")
        self._check_blocks(net, hebb)
        super().check(net, batch)

    def init(self, net: Network, *, key: PRNGKeyArray) -> tuple[Any, Any]:
        """``params = {"layers": <the network's, the Hebbian blocks' weights only>}`` and
        ``state = {"step": steps taken, "stats": each block's running batch-norm statistics,
        "update": each block's update state}`` (not learned by the optimizer)."""
        self.check(net)
        hebb, _ = self.blocks(net)
        layers = list(net.init(key=key))
        stats = []
        for i in hebb:
            p = dict(layers[i])
            stats.append({k: p.pop(k) for k in ("mean", "var") if k in p})
            layers[i] = p
        params, u_states = self._init_blocks(net, {"layers": tuple(layers)})
        state = {"step": jnp.zeros((), jnp.int32), "stats": tuple(stats), "update": u_states}
        return params, state

    def _layers(self, params: Any) -> Any:
        if not (isinstance(params, dict) and "layers" in params):
            raise ConfigError(
                f"{type(self).__name__} parameters are {{'layers': ...}}; make them (and the "
                "state) with rule.init(net, key=...)."
            )
        return params["layers"]

    def network_params(self, net: Network, params: Any, state: Any) -> Any:
        """The network's parameters: the blocks' weights with their running statistics
        (what ``net(...)`` and the blocks as ordinary layers read)."""
        if not (isinstance(state, dict) and "stats" in state):
            raise ConfigError(
                f"{type(self).__name__} keeps its blocks' running statistics in its state: pass "
                "the state that rule.init(net, key=...) returned (not None)."
            )
        hebb, _ = self.blocks(net)
        layers = list(self._layers(params))
        for l, i in enumerate(hebb):
            layers[i] = {**layers[i], **state["stats"][l]}
        return tuple(layers)

    def frozen_from(self) -> int | None:
        """The end of the Hebbian phase: from there only the read-out learns."""
        return self.hebbian_steps

    def features(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """The frozen blocks' output (the read-out's input), running statistics."""
        hebb, _ = self.blocks(net)
        layers = self.network_params(net, params, state)
        for i in hebb:
            x = net.edges[i].layer(layers[i], x)
        return x

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        return net(self.network_params(net, params, state), x)

    def feature_predict(self, net: Network, params: Any, state: Any, feats: Array) -> Array:
        """The read-out's output on the blocks' :meth:`features` (= :meth:`predict`)."""
        _, readout = self.blocks(net)
        return net.edges[readout].layer(self._layers(params)[readout], feats)

    # --- learning ------------------------------------------------------------------------------

    def _readout_loss(
        self, net: Network, ro: Params, feats: Array, y: Array, key: PRNGKeyArray | None
    ) -> tuple[Array, Array]:
        _, readout = self.blocks(net)
        if self.dropout and key is not None:
            keep = jax.random.bernoulli(key, 1 - self.dropout, feats.shape)
            feats = jnp.where(keep, feats / (1 - self.dropout), 0.0)
        logits = net.edges[readout].layer(ro, feats)
        return jnp.mean(self.cost(logits, y)), logits

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        """The read-out's cost gradient on the frozen features (dropout when ``key``
        is given); zeros for the Hebbian blocks, whose learning is :meth:`hebbian_pass`; the
        state unchanged."""
        check_batch(net, batch)
        x, y = batch
        feats = jax.lax.stop_gradient(self.features(net, params, state, x))
        return self._feature_grads(net, params, state, feats, y, key)

    def _feature_grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        feats: Array,
        y: Array,
        key: PRNGKeyArray | None,
    ) -> tuple[Any, Any, Metrics]:
        _, readout = self.blocks(net)
        layers = self._layers(params)
        (loss, logits), g = jax.value_and_grad(
            lambda ro: self._readout_loss(net, ro, feats, y, key), has_aux=True
        )(layers[readout])
        zeros = jax.tree.map(jnp.zeros_like, params)
        glayers = list(zeros["layers"])
        glayers[readout] = g
        metrics = {
            "loss": loss,
            "accuracy": jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(y, -1)),
        }
        return {**zeros, "layers": tuple(glayers)}, state, metrics

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
        """A Hebbian step while ``state["step"] < hebbian_steps``, a read-out step after."""
        if self.hebbian_steps is None:
            raise ConfigError(
                f"{type(self).__name__} does not know how long its Hebbian phase is: pass "
                "hebbian_steps=..., or train with plastix.train.Trainer (which calls "
                "rule.bind(steps_per_epoch=...))."
            )
        check_batch(net, batch)
        x, y = batch
        _, readout = self.blocks(net)
        step = state["step"]

        hb = self.hebbian_batch or x.shape[0]
        if x.shape[0] % hb:
            raise ConfigError(
                f"{type(self).__name__} hebbian_batch={hb} does not divide the batch of "
                f"{x.shape[0]}; use a batch size that is a multiple of it."
            )

        def hebbian(_: None) -> tuple[Any, Any, Any, Metrics]:
            if hb == x.shape[0]:
                new, new_state, feats, m = self.hebbian_pass(net, params, state, x)
            else:

                def micro(carry: Any, xm: Array) -> tuple[Any, tuple[Array, Metrics]]:
                    p, s, f, mm = self.hebbian_pass(net, carry[0], carry[1], xm)
                    return (p, s), (f, mm)

                xs = x.reshape(x.shape[0] // hb, hb, *x.shape[1:])
                # written out up to 8 micro-batches: on XLA:CPU the blocks' products run ~1.2x
                # slower inside a loop (benchmarks/softhebb_floor.py)
                (new, new_state), (fs, ms) = jax.lax.scan(
                    micro, (params, state), xs, unroll=min(xs.shape[0], 8)
                )
                feats = fs.reshape(x.shape[0], *fs.shape[2:])
                m = {k: jnp.mean(v) for k, v in ms.items()}
            logits = net.edges[readout].layer(new["layers"][readout], feats)
            m["loss"] = jnp.mean(self.cost(logits, y))
            m["accuracy"] = jnp.mean(jnp.argmax(logits, -1) == jnp.argmax(y, -1))
            m["hebbian"] = jnp.ones((), jnp.int32)
            return new, {**new_state, "step": step + 1}, opt_state, m

        def read_out(_: None) -> tuple[Any, Any, Any, Metrics]:
            feats = jax.lax.stop_gradient(self.features(net, params, state, x))
            return self.feature_step(net, params, state, opt_state, optimizer, (feats, y), key=key)

        return jax.lax.cond(step < self.hebbian_steps, hebbian, read_out, None)

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
        """A read-out step on the blocks' features ``batch = (features, y)`` (what
        :meth:`step` does after the Hebbian phase, given the features)."""
        feats, y = batch
        hebb, readout = self.blocks(net)
        g, _, m = self._feature_grads(net, params, state, feats, y, key)
        updates, new_opt = optimizer.update(g, opt_state, params)
        new = optax.apply_updates(params, updates)
        layers = list(params["layers"])
        layers[readout] = new["layers"][readout]
        for l, i in enumerate(hebb):
            m[f"norm_gap_{l}"] = jnp.mean(jnp.abs(neuron_norms(layers[i]["w"]) - 1.0))
        m["hebbian"] = jnp.zeros((), jnp.int32)
        new_state = {**state, "step": state["step"] + 1}
        return {**params, "layers": tuple(layers)}, new_state, new_opt, m


@final
class SoftHebb(AbstractHebbianRule):
    r"""SoftHebb: Hebbian blocks trained without feedback, then a linear read-out (see the
    module docstring for the maths).

    ``lr`` and ``inverse_temperature`` take one value or one per Hebbian block; the phases,
    read-out and micro-batches are :class:`AbstractHebbianRule`'s.
    """

    name: ClassVar[str] = "softhebb"
    lr: float | tuple[float, ...] = option(
        (0.08, 0.005, 0.01), help="Hebbian learning rate per block (one value: the same for all)"
    )
    inverse_temperature: float | tuple[float, ...] = option(
        (1.0, 0.65, 0.25), help="soft-WTA inverse temperature beta per block (one value: all)"
    )
    lr_power: float = option(0.5, help="per-neuron rate lr * |norm - 1|^lr_power")
    anti_hebbian: bool = option(
        True, help="non-winning units get -y (anti-Hebbian); false: all Hebbian"
    )

    def __check_init__(self) -> None:
        _positive("SoftHebb", "inverse_temperature", self.inverse_temperature)

    def _check_blocks(self, net: Network, blocks: tuple[int, ...]) -> None:
        _per_layer(self.inverse_temperature, len(blocks), "inverse_temperature")

    def _init_blocks(self, net: Network, params: Any) -> tuple[Any, tuple[Any, ...]]:
        hebb, _ = self.blocks(net)
        return params, (None,) * len(hebb)

    def _block_update(
        self,
        l: int,
        n_blocks: int,
        layer: HebbianLayer,
        w: Array,
        xn: Array,
        lr: float | Array,
        u_state: Any,
    ) -> tuple[Array, Array, Any]:
        """SoftHebb's update of one block (module docstring)."""
        beta = _per_layer(self.inverse_temperature, n_blocks, "inverse_temperature")[l]
        # as matrix products over patches: the same maths as softhebb_delta (tested), but
        # XLA's CPU convolution gradient is ~50x slower than this
        a, wm, u_shape = layer.matrix_form(w, xn)
        um = a @ wm
        ym = soft_wta(um, beta, anti_hebbian=self.anti_hebbian)
        dm = a.T @ ym - jnp.sum(ym * um, axis=0)[None, :] * wm
        delta = layer.weights_from_matrix(dm, w.shape)
        delta = delta / (jnp.max(jnp.abs(delta)) + 1e-30)
        norms = neuron_norms(w)
        rate = lr * (jnp.abs(norms - 1.0) + 1e-10) ** self.lr_power
        return w + _last(rate, delta.ndim) * delta, um.reshape(u_shape), u_state
