r"""Equilibrium propagation (EP) and contrastive Hebbian learning (CHL).

Both relax every non-input node's state :math:`s_n` on the Hopfield-style energy, in its
"primitive function" form that works for any edge (dense, conv, pooling inside an edge):

.. math:: E(s, \theta) = \sum_{n \ne \mathrm{in}} \tfrac12 \lVert s_n \rVert^2
          - \sum_e \sum_{d \in \mathrm{dst}(e)} \big\langle \rho(s_d),\, f_e(\theta_e, \rho(s_{src(e)})) \big\rangle

(the input is not passed through :math:`\rho`). For a dense edge
:math:`f_e(u) = u W + b` this is :math:`-\rho(s_d)^\top W^\top \rho(s_{src}) - b^\top \rho(s_d)`,
the energy of Scellier & Bengio (2017). Edges are the couplings only: build the network with
linear edges (``mlp(..., activation="identity")``); :math:`\rho` belongs to the rule.
"""

from __future__ import annotations

import abc
import cmath
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, GraphError
from .._option import option
from ..graph import Network
from ..inference import SGD, Inference, InferenceInfo
from ..nn import ACTIVATIONS, HardSigmoid, Identity, Layer, Sequential, Sigmoid, Tanh
from ._base import AbstractEnergyRule, AbstractGradientRule, Batch, Metrics, check_batch
from ._costs import Cost, SquaredError, accuracy
from ._pc import NudgeSign


def _default_relaxation(steps: int) -> Inference:
    return Inference(steps=steps, optimizer=SGD(0.5), bounds=(0.0, 1.0))


def _rho_option() -> Any:
    return option(
        default_factory=HardSigmoid,
        help="activation rho of the states (hard-sigmoid: keep free.bounds = [0, 1])",
    )


def _cost_option() -> Any:
    return option(default_factory=SquaredError, help="output cost C")


def _free_option() -> Any:
    return option(
        default_factory=lambda: _default_relaxation(30),
        help="free-phase relaxation (T1 steps, from zero states)",
    )


def _nudged_option() -> Any:
    return option(
        default_factory=lambda: _default_relaxation(10),
        help="nudged (CHL: clamped) phase relaxation (T2 steps, from the free equilibrium)",
    )


def _readout_option() -> Any:
    return option(
        False, help="the output is a read-out of its sources, not a state (use cross-entropy)"
    )


def _persistent_option() -> Any:
    return option(
        False,
        help="start each free phase from the example's last free state (persistent particles; "
        "the trainer keeps one per training example) instead of zeros",
    )


def _activation_in(layer: Layer) -> Layer | None:
    """The first activation layer (not the identity) inside an edge's layer, if any."""
    if isinstance(layer, Sequential):
        for sub in layer.layers:
            found = _activation_in(sub)
            if found is not None:
                return found
        return None
    kinds = tuple(c for c in ACTIVATIONS.values() if c is not Identity)
    return layer if isinstance(layer, kinds) else None


class AbstractEquilibriumRule(AbstractGradientRule, AbstractEnergyRule):
    r"""The base of :class:`EP` and :class:`CHL`: the energy above, the free phase (from zero
    states) and its equilibrium output as the prediction. A variant overrides :meth:`energy`.
    The exact gradient these rules estimate is that of the cost at the free equilibrium
    (:func:`~plastix.rules.exact_gradient` differentiates it implicitly)."""

    rho: eqx.AbstractVar[Layer]
    cost: eqx.AbstractVar[Cost]
    free: eqx.AbstractVar[Inference]
    nudged: eqx.AbstractVar[Inference]
    persistent: eqx.AbstractVar[bool]

    @property
    @abc.abstractmethod
    def reads_out(self) -> bool:
        """Is the output a read-out of its sources' states rather than a state?"""

    # --- energy ----------------------------------------------------------------------------

    def energy(
        self,
        net: Network,
        params: Any,
        states: tuple[Array, ...],
        cache: dict[int, Array] | None = None,
    ) -> Array:
        """The energy :math:`E` summed over the batch (what a variant overrides);
        ``states[net.input]`` is the input, ``cache`` optional edge outputs by edge index.
        The nudge :math:`\\beta C` is not part of it: :meth:`total_energy` adds it."""
        r = [s if n == net.input else self.rho(None, s) for n, s in enumerate(states)]
        cache = cache or {}
        e = jnp.zeros((), states[net.output].dtype)
        for n, s in enumerate(states):
            if n != net.input and not (self.reads_out and n == net.output):
                e = e + 0.5 * jnp.sum(s * s)
        for i, (edge, p) in enumerate(zip(net.edges, params)):
            if self.reads_out and net.output in edge.dst:
                continue
            out = cache[i] if i in cache else edge.layer(p, r[edge.src])
            for d in edge.dst:
                e = e - jnp.sum(r[d] * out)
        return e

    def total_energy(
        self,
        net: Network,
        params: Any,
        states: tuple[Array, ...],
        target: Array,
        beta: Array | float,
        cache: dict[int, Array] | None = None,
    ) -> Array:
        """:math:`E + \\beta C(o, y)`, what the phases relax on and the weights learn from
        (:meth:`energy`, then the nudge of the output :math:`o` towards ``target``)."""
        e = self.energy(net, params, states, cache)
        return e + beta * jnp.sum(self.cost(self.output_value(net, params, states), target))

    def output_value(self, net: Network, params: Any, states: tuple[Array, ...]) -> Array:
        """The output: its state, or with ``readout`` the read-out of its sources' states."""
        if not self.reads_out:
            return states[net.output]
        terms = [
            net.edges[i].layer(params[i], self._rho_of(net, states, net.edges[i].src))
            for i in net.incoming[net.output]
        ]
        return sum(terms[1:], terms[0])

    def _rho_of(self, net: Network, states: tuple[Array, ...], n: int) -> Array:
        return states[n] if n == net.input else self.rho(None, states[n])

    def check(self, net: Network, batch: Batch | None = None) -> None:
        for i, e in enumerate(net.edges):
            act = _activation_in(e.layer)
            if act is not None:
                raise GraphError(
                    f"{type(self).__name__} relaxes on a Hopfield energy whose nonlinearity is "
                    f"rho ({type(self.rho).__name__}), applied to the states; edge {i} applies "
                    f"its own activation {type(act).__name__}, which breaks that energy (the "
                    "rule would learn next to nothing). Build the network with linear edges: "
                    "model.activation=identity (as the ep-, chl- and cl- presets do), and set "
                    "rule.rho for the nonlinearity."
                )
        if self.reads_out:
            for i in net.incoming[net.output]:
                if len(net.edges[i].dst) > 1:
                    raise GraphError(
                        f"EP with readout=True reads the output out of its incoming edges, but "
                        f"edge {i} ({net.edges[i]!r}) also feeds other nodes; give the read-out "
                        "its own edge."
                    )
        super().check(net, batch)

    # --- phases ----------------------------------------------------------------------------

    def _relax(
        self,
        net: Network,
        params: Any,
        x: Array,
        y: Array,
        free: tuple[Array, ...],
        beta: float,
        inference: Inference,
        clamp_output: bool = False,
    ) -> tuple[tuple[Array, ...], Any]:
        cache = net.input_edge_outputs(params, x)
        out_pos = self.state_nodes(net).index(net.output)

        def full(f: tuple[Array, ...]) -> tuple[Array, ...]:
            if clamp_output:
                f = tuple(y if i == out_pos else s for i, s in enumerate(f))
            return self.full_states(net, x, f)

        def grad_fn(f: tuple[Array, ...]) -> tuple[Array, Any]:
            e, g = jax.value_and_grad(
                lambda f: self.total_energy(net, params, full(f), y, beta, cache)
            )(f)
            if clamp_output:
                g = tuple(jnp.zeros_like(gi) if i == out_pos else gi for i, gi in enumerate(g))
            return e, g

        relaxed, info = inference.run(grad_fn, free)
        if clamp_output:
            relaxed = tuple(y if i == out_pos else s for i, s in enumerate(relaxed))
        return relaxed, info

    def _init_states(self, net: Network, x: Array | jax.ShapeDtypeStruct) -> tuple[Array, ...]:
        return tuple(
            jnp.zeros((x.shape[0], *net.node_shapes[n]), x.dtype) for n in self.state_nodes(net)
        )

    def _weighted_theta_grad(
        self,
        net: Network,
        params: Any,
        x: Array,
        terms: Sequence[tuple[tuple[Array, ...], Array, float, float]],
    ) -> Any:
        r""":math:`\sum_k w_k \partial_\theta F_{\beta_k}(s_k)` for ``terms`` of
        ``(states, target, beta, weight)``, in one gradient: the outputs of the edges leaving
        the input are computed once, so their backward products with the input are too (the
        phases' cotangents are summed first)."""

        def total(p: Any) -> Array:
            cache = net.input_edge_outputs(p, x)
            e = jnp.zeros((), x.dtype)
            for free, target, beta, weight in terms:
                states = self.full_states(net, x, free)
                e = e + weight * self.total_energy(net, p, states, target, beta, cache)
            return e

        return jax.grad(total)(params)

    @staticmethod
    def state_nodes(net: Network) -> tuple[int, ...]:
        """The nodes with a state (all but the input), in the order of the state tuples."""
        return tuple(n for n in range(net.num_nodes) if n != net.input)

    def full_states(self, net: Network, x: Array, free: tuple[Array, ...]) -> tuple[Array, ...]:
        """Every node's state (node order): the input ``x`` and the ``free`` states (in
        :meth:`state_nodes` order)."""
        states: list[Array] = [x] * net.num_nodes
        for n, s in zip(self.state_nodes(net), free):
            states[n] = s
        return tuple(states)

    def free_phase(
        self, net: Network, params: Any, x: Array, init: tuple[Array, ...] | None = None
    ) -> tuple[tuple[Array, ...], Any]:
        """States of every non-input node (in node order) at the free equilibrium, and the
        relaxation's :class:`~plastix.InferenceInfo`; the relaxation starts from ``init``
        (the states of :meth:`state_nodes`; default zeros)."""
        dummy = jnp.zeros((x.shape[0], *net.node_shapes[net.output]), x.dtype)
        start = self._init_states(net, x) if init is None else init
        return self._relax(net, params, x, dummy, start, 0.0, self.free)

    def per_example_state(self, net: Network, x: Array | jax.ShapeDtypeStruct) -> Any:
        """With ``persistent``: every training example's free state (zeros to begin with),
        ``(n, *node shape)`` per state node for the ``n`` inputs ``x`` (``None`` otherwise;
        only ``x``'s shape and dtype are read: a ``jax.ShapeDtypeStruct`` serves).
        The trainer keeps it and passes each batch's rows as ``state``."""
        if not self.persistent:
            return None
        return self._init_states(net, x)

    def _step_free_phase(
        self, net: Network, params: Any, state: Any, x: Array
    ) -> tuple[tuple[Array, ...], Any, Any]:
        """A training step's free phase: its states, its info and the rule's new state (the
        free states themselves with ``persistent``, else ``state`` unchanged)."""
        free, info = self.free_phase(net, params, x, self._persistent_start(net, x, state))
        return free, info, (free if self.persistent else state)

    def _persistent_start(self, net: Network, x: Array, state: Any) -> tuple[Array, ...] | None:
        """The free phase's start: the batch's persistent states, or None (zeros)."""
        if not self.persistent:
            return None
        shapes = [(x.shape[0], *net.node_shapes[n]) for n in self.state_nodes(net)]
        if (
            not isinstance(state, tuple)
            or len(state) != len(shapes)
            or any(tuple(s.shape) != sh for s, sh in zip(state, shapes, strict=True))
        ):
            raise ConfigError(
                f"{type(self).__name__}(persistent=True) starts each free phase from the "
                f"batch's own states: pass state = one array per state node, shapes {shapes} "
                "(the rows of rule.per_example_state(net, x_train) for the batch; "
                "plastix.train.Trainer keeps them for you)."
            )
        return tuple(state)

    def relax(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """Every node's state at the free equilibrium (the prediction's), and its info."""
        self.check(net, batch)
        free, info = self.free_phase(net, params, batch[0])
        return self.full_states(net, batch[0], free), info

    def predict(self, net: Network, params: Any, state: Any, x: Array) -> Array:
        """The output (state or read-out) at the free equilibrium."""
        del state
        free, _ = self.free_phase(net, params, x)
        return self.output_value(net, params, self.full_states(net, x, free))

    def _contrast(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        clamp: Callable[[Array, Array], Array],
        weight: float,
    ) -> tuple[Any, Any, Metrics]:
        """The free phase, then the output clamped at ``clamp(free output, y)`` with the other
        states relaxed from the free equilibrium: ``weight`` times the contrast
        :math:`\\partial_\theta E(s^{\\mathrm{clamped}}) - \\partial_\theta E(s^{\\mathrm{free}})`,
        the new state and the metrics (CHL's and coupled learning's update)."""
        check_batch(net, batch)
        x, y = batch
        free, info, new_state = self._step_free_phase(net, params, state, x)
        out = free[self.state_nodes(net).index(net.output)]
        target = clamp(out, y)
        clamped, cinfo = self._relax(
            net, params, x, target, free, 0.0, self.nudged, clamp_output=True
        )
        g = self._weighted_theta_grad(
            net, params, x, ((clamped, y, 0.0, weight), (free, y, 0.0, -weight))
        )
        return g, new_state, self._metrics(net, params, x, y, free, info, cinfo)

    # --- metrics -------------------------------------------------------------------------

    def _metrics(
        self,
        net: Network,
        params: Any,
        x: Array,
        y: Array,
        free: tuple[Array, ...],
        info: Any,
        nudged_info: Any,
    ) -> Metrics:
        out = self.output_value(net, params, self.full_states(net, x, free))
        m = {
            "loss": jnp.mean(self.cost(out, y)),
            "accuracy": accuracy(out, y),
            "energy": info.energy / x.shape[0],
            "residual": jnp.mean(info.residual),
            "not_converged": info.not_converged,
            "inference_steps": info.steps,
        }
        if nudged_info is not None:
            m["residual_nudged"] = jnp.mean(nudged_info.residual)
        return m


@final
class EP(AbstractEquilibriumRule):
    r"""Equilibrium propagation (Scellier & Bengio 2017; symmetric nudging of Laborieux et
    al. 2021).

    Free phase: relax :math:`E` (``free``, from zero states) to :math:`s^0`. Nudged phase(s):
    from :math:`s^0`, relax :math:`F_\beta = E + \beta\, C(s_{\mathrm{out}}, y)` (``nudged``)
    to :math:`s^{\pm\beta}`. The update estimates :math:`\nabla_\theta C(s^0_{\mathrm{out}})`:

    - ``POSITIVE``: :math:`\frac{1}{\beta}\big(\partial_\theta E(s^{\beta}) - \partial_\theta E(s^0)\big)`, bias :math:`O(\beta)`;
    - ``NEGATIVE``: the same with :math:`-\beta`;
    - ``CENTRED``: :math:`\frac{1}{2\beta}\big(\partial_\theta E(s^{\beta}) - \partial_\theta E(s^{-\beta})\big)`, bias :math:`O(\beta^2)`.

    For a dense edge :math:`\partial_W E = -\rho(s_{src}) \rho(s_d)^\top`, so the update is
    local and Hebbian. The prediction is the output state at the free equilibrium. Override
    :meth:`energy` for a variant.

    With ``readout=True`` (Laborieux et al. 2021's cross-entropy variant) the output node is
    not a state: it reads out :math:`\hat y = \sum_{e \to \mathrm{out}} f_e(\rho(s_{src}))`
    and the cost is :math:`C(\hat y, y)` (use ``CrossEntropy()``); its weights get the same
    estimator applied to :math:`F_\beta`, i.e. :math:`\partial_\theta C` at the nudged states.
    """

    name: ClassVar[str] = "ep"
    rho: Layer = _rho_option()
    cost: Cost = _cost_option()
    beta: float = option(0.5, help="nudging strength (> 0)")
    sign: NudgeSign = option(
        NudgeSign.CENTRED, help="positive | negative | centred (symmetric) nudging"
    )
    free: Inference = _free_option()
    nudged: Inference = _nudged_option()
    readout: bool = _readout_option()
    persistent: bool = _persistent_option()

    @property
    def reads_out(self) -> bool:
        """``readout``."""
        return self.readout

    def __check_init__(self) -> None:
        if not self.beta > 0:
            raise ConfigError(
                f"{type(self).__name__}(beta={self.beta!r}): the nudging strength must be > 0 "
                "(beta = 0 would make the nudged phase equal the free one); the sign is set "
                "by `sign`."
            )

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        self.check(net, batch)
        x, y = batch
        bsz = x.shape[0]
        free, info, state = self._step_free_phase(net, params, state, x)
        b = self.beta
        phases = {
            NudgeSign.POSITIVE: ((b, 1 / b), (0.0, -1 / b)),
            NudgeSign.NEGATIVE: ((-b, -1 / b), (0.0, 1 / b)),
            NudgeSign.CENTRED: ((b, 0.5 / b), (-b, -0.5 / b)),
        }[self.sign]
        nudged_info = None
        terms = []
        for beta, weight in phases:
            if beta == 0.0:
                states = free
            else:
                states, nudged_info = self._relax(net, params, x, y, free, beta, self.nudged)
            terms.append((states, y, beta, weight / bsz))
        total = self._weighted_theta_grad(net, params, x, terms)
        return total, state, self._metrics(net, params, x, y, free, info, nudged_info)


@final
class CHL(AbstractEquilibriumRule):
    r"""Contrastive Hebbian learning (Movellan 1991): a free phase, then a clamped phase with
    the output held at the target; the update is
    :math:`\partial_\theta E(s^{\mathrm{clamped}}) - \partial_\theta E(s^{\mathrm{free}})`,
    i.e. :math:`\Delta W \propto \rho\rho^\top_{\mathrm{clamped}} - \rho\rho^\top_{\mathrm{free}}`.
    It is EP's positive estimator times :math:`\beta` in the limit :math:`\beta \to \infty`
    (the nudged output then reaches the target). The output is a state (CHL clamps it), so
    there is no read-out variant."""

    name: ClassVar[str] = "chl"
    rho: Layer = _rho_option()
    cost: Cost = _cost_option()
    free: Inference = _free_option()
    nudged: Inference = _nudged_option()
    persistent: bool = _persistent_option()

    @property
    def reads_out(self) -> bool:
        """CHL clamps the output state: never a read-out."""
        return False

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        bsz = batch[0].shape[0]
        return self._contrast(net, params, state, batch, lambda out, y: y, 1.0 / bsz)


HOLOMORPHIC_RHO: tuple[type[Layer], ...] = (Sigmoid, Tanh, Identity)
"""The activations holomorphic EP accepts: analytic functions (clips and ReLUs are not)."""


@final
class HolomorphicEP(AbstractEquilibriumRule):
    r"""Holomorphic equilibrium propagation (Laborieux & Zenke 2022): EP with complex nudging
    strengths on a circle, which gives the exact gradient at a finite :math:`|\beta|`.

    The free phase is EP's (real). Then, from the free equilibrium, the states relax on
    :math:`F_{\beta_k} = E + \beta_k C` for the :math:`N` points
    :math:`\beta_k = \beta e^{2\pi i k / N}` (complex states; the gradient steps use the
    holomorphic derivative :math:`\partial F / \partial s`) to :math:`s^{\beta_k}`, and the
    update is the discrete Cauchy integral of :math:`g(\beta) = \partial_\theta F_\beta(s^\beta)`

    .. math:: \widehat{\nabla_\theta C} = \mathrm{Re}\,\frac1N \sum_{k=0}^{N-1}
              \frac{g(\beta_k)}{\beta_k}
              = \nabla_\theta C + O(\beta^{N})

    (every Taylor term of :math:`g` but the first and those of degree :math:`1 + mN` cancel;
    :math:`\sum_k 1/\beta_k = 0` removes :math:`g(0)`, so no free-phase term is needed). The
    energy must be holomorphic in the states: ``rho`` is ``sigmoid``, ``tanh`` or
    ``identity`` and the nudged relaxation has no ``bounds``. Real weights and inputs make
    :math:`s^{\bar\beta} = \overline{s^{\beta}}`, so only the points with
    :math:`0 \le k \le N/2` are relaxed (the others are their conjugates). ``points = 2`` is
    centred EP exactly.

    >>> import jax, jax.numpy as jnp, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(4,), activation="identity"), jnp.zeros((1, 3)))
    >>> rule = px.HolomorphicEP(beta=0.5, points=4)
    >>> params = net.init(key=jax.random.key(0))
    >>> x, y = jnp.ones((2, 3)), jnp.eye(2)
    >>> g, _, m = rule.grads(net, params, None, (x, y))
    >>> jax.tree.structure(g) == jax.tree.structure(params), bool(jnp.isfinite(m["loss"]))
    (True, True)
    """

    name: ClassVar[str] = "holomorphic-ep"
    rho: Layer = option(
        default_factory=Sigmoid,
        help="activation rho of the states, holomorphic: sigmoid | tanh | identity",
    )
    cost: Cost = _cost_option()
    beta: float = option(0.5, help="radius |beta| of the circle of nudging strengths (> 0)")
    points: int = option(
        4, help="N: nudging strengths beta * exp(2 pi i k / N), k < N (>= 2; bias O(beta^N))"
    )
    free: Inference = option(
        default_factory=lambda: Inference(steps=30, optimizer=SGD(0.5)),
        help="free-phase relaxation (T1 steps, from zero states)",
    )
    nudged: Inference = option(
        default_factory=lambda: Inference(steps=10, optimizer=SGD(0.5)),
        help="relaxation at each complex nudging strength (T2 steps, from the free equilibrium; "
        "no bounds)",
    )
    readout: bool = _readout_option()
    persistent: bool = _persistent_option()

    @property
    def reads_out(self) -> bool:
        """``readout``."""
        return self.readout

    def __check_init__(self) -> None:
        if not self.beta > 0:
            raise ConfigError(
                f"HolomorphicEP(beta={self.beta!r}): the radius of the nudging circle must be > 0."
            )
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 2:
            raise ConfigError(
                f"HolomorphicEP(points={self.points!r}): need an int >= 2 (2 is centred EP; "
                "each more point cuts the bias by another factor of beta)."
            )
        if not isinstance(self.rho, HOLOMORPHIC_RHO):
            names = ", ".join(sorted(k for k, v in ACTIVATIONS.items() if v in HOLOMORPHIC_RHO))
            raise ConfigError(
                f"HolomorphicEP needs a holomorphic activation rho (the states become complex); "
                f"{type(self.rho).__name__} is not. Use one of: {names} (e.g. --set "
                "rule.rho=sigmoid)."
            )
        if self.nudged.bounds is not None:
            raise ConfigError(
                "HolomorphicEP relaxes complex states in its nudged phases, which a box cannot "
                f"bound (nudged.bounds={self.nudged.bounds}); set rule.nudged.bounds=null."
            )

    def _point(
        self, net: Network, params: Any, x: Array, y: Array, free: tuple[Array, ...], beta: complex
    ) -> tuple[Any, Any]:
        """:math:`g(\beta) / \beta` at one nudging strength (complex states unless it is
        real), and the relaxation's info."""
        if beta.imag == 0.0:  # beta_0 and, for even N, beta_{N/2}: EP's real nudged phase
            states, info = self._relax(net, params, x, y, free, beta.real, self.nudged)
            g = self._weighted_theta_grad(net, params, x, ((states, y, beta.real, 1.0),))
            return jax.tree.map(lambda gi: gi / beta.real, g), info
        ctype = jnp.result_type(x.dtype, jnp.complex64)
        cparams = jax.tree.map(lambda p: p.astype(ctype), params)
        cx, cy = x.astype(ctype), y.astype(ctype)
        cache = net.input_edge_outputs(cparams, cx)
        b = jnp.asarray(beta, ctype)

        def grad_fn(f: tuple[Array, ...]) -> tuple[Array, Any]:
            return jax.value_and_grad(
                lambda f: self.total_energy(
                    net, cparams, self.full_states(net, cx, f), cy, b, cache
                ),
                holomorphic=True,
            )(f)

        states, info = self.nudged.run(grad_fn, tuple(s.astype(ctype) for s in free))
        full = self.full_states(net, cx, states)
        g = jax.grad(lambda p: self.total_energy(net, p, full, cy, b), holomorphic=True)(cparams)
        return jax.tree.map(lambda gi: gi / b, g), info

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        self.check(net, batch)
        x, y = batch
        bsz = x.shape[0]
        free, info, state = self._step_free_phase(net, params, state, x)
        n = self.points
        total = jax.tree.map(jnp.zeros_like, params)
        nudged_info = None
        for k in range(n // 2 + 1):
            beta = complex(self.beta * cmath.exp(2j * math.pi * k / n))
            weight = 1.0 if k == 0 or 2 * k == n else 2.0  # k and n - k: conjugate pairs
            g, point_info = self._point(net, params, x, y, free, beta)
            if k == 1 or nudged_info is None:
                nudged_info = point_info  # report a complex point's relaxation
            total = jax.tree.map(
                lambda t, gi, w=weight: t + (w / (n * bsz)) * jnp.real(gi).astype(t.dtype),
                total,
                g,
            )
        return total, state, self._metrics(net, params, x, y, free, info, nudged_info)
