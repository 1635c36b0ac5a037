r"""Predictive coding.

States :math:`z_n` of the non-input nodes relax on the energy

.. math:: E(z, \theta) = \sum_{n \ne \mathrm{in}, \mathrm{out}} \tfrac12 \lVert z_n - \mu_n \rVert^2
          + C(\mu_{\mathrm{out}}, y), \qquad \mu_n = \sum_{e \to n} f_e(\theta_e, z_{src(e)}),

(output clamped to the target), then the weights follow :math:`-\nabla_\theta E` at the relaxed
states. See ``docs/predictive_coding.md`` for the modes and the nudged variants.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, PRNGKeyArray

from .._compile import run_once
from .._errors import ConfigError
from .._option import option
from ..graph import Network
from ..inference import AbstractInference, Inference, InferenceInfo
from ._base import AbstractEnergyRule, AbstractGradientRule, Batch, Metrics, check_batch
from ._costs import Cost, SquaredError, accuracy


def _keeps_zero_gradient_states(opt: optax.GradientTransformation, like: Any, steps: int) -> bool:
    """Does ``opt`` leave states whose gradient has been zero from the start where they are?
    (True for SGD, momentum, Adam, ...; false e.g. with weight decay on the states.)"""
    shapes = tuple(((1, *z.shape[1:]), z.dtype) for z in like)

    def moved() -> jax.Array:
        probe = tuple(jnp.ones(shape, dtype) for shape, dtype in shapes)
        zeros = jax.tree.map(jnp.zeros_like, probe)

        def step(_: Any, carry: tuple[Any, jax.Array]) -> tuple[Any, jax.Array]:
            state, flag = carry
            upd, state = opt.update(zeros, state, probe)
            return state, flag | jnp.any(jnp.stack([jnp.any(u != 0) for u in jax.tree.leaves(upd)]))

        return jax.lax.fori_loop(0, steps, step, (opt.init(probe), jnp.asarray(False)))[1]

    # one compiled program, run now while the step is traced (op by op, each operation
    # compiled a program of its own: 0.13 s of every PC run's start)
    return not bool(run_once(moved))


_WAVEFRONT_PHASES = 4
"""The first inference steps of strict PC, while states still sit at the feedforward pass,
skip the edges known to carry nothing yet: written out one by one when there are at most this
many, else in at most this many phases, each a rolled loop. Each traces the graph once more,
so compile time grows with depth, not with depth x steps (written out one by one, a
32-hidden-layer net relaxed for 32 steps took 5.7 s to compile, in phases 1.7 s)."""


def _phase_ends(starts: dict[int, int], phases: int) -> list[int]:
    """Where the early phases end, chosen to skip the most edge-steps: phase ``[a, b)`` skips
    the edges whose first needed step ``starts[i]`` is ``>= b``, for ``b - a`` steps. At most
    ``phases`` phases (a small dynamic programme over the distinct first steps)."""
    ends = sorted(set(starts.values()))
    if not ends:
        return []
    later = {b: sum(1 for k in starts.values() if k >= b) for b in ends}
    # best[j][m]: most skipped edge-steps with m phases, the last ending at ends[j]
    best: list[dict[int, tuple[int, list[int]]]] = []
    for j, b in enumerate(ends):
        row = {1: (b * later[b], [b])}
        for m in range(2, phases + 1):
            cands = [
                (best[i][m - 1][0] + (b - ends[i]) * later[b], [*best[i][m - 1][1], b])
                for i in range(j)
                if m - 1 in best[i]
            ]
            if cands:
                row[m] = max(cands, key=lambda c: c[0])
        best.append(row)
    return max((v for row in best for v in row.values()), key=lambda c: c[0])[1]


def _given(mu: Array | None) -> Array:
    if mu is None:  # only the input node has no prediction
        raise ValueError("the input node has no prediction")
    return mu


class PCMode(enum.Enum):
    """How PC relaxes its states.

    ``STRICT``: states start at the feedforward pass and relax on the full energy.
    ``FIXED_PREDICTION``: predictions and their Jacobians stay at their feedforward values while
    the errors relax (Millidge et al. 2020); the fixed point gives exactly BP's gradients.
    (Incremental PC, weights updated at every inference step, is its own rule:
    :class:`IncrementalPC`.)
    """

    STRICT = "strict"
    FIXED_PREDICTION = "fixed-prediction"


class PCVariables(enum.Enum):
    r"""What PC's inference relaxes (the energy and its minimum are the same either way).

    ``STATES``: the node states :math:`z_n`, each step local (a node's gradient involves its
    own error and its children's), so an error reaches a node :math:`k` edges below the output
    only after :math:`k` steps, scaled by about the step size to the :math:`k`-th power.
    ``ERRORS``: ePC (Goemaere et al. 2025), the prediction errors
    :math:`\varepsilon_n = z_n - \mu_n` of the free nodes, the states following by a forward
    pass :math:`z_n = \mu_n(z) + \varepsilon_n`; the gradient
    :math:`\nabla_\varepsilon E` is taken through that pass (backprop-like, not local), so the
    output's error reaches every node at the first step, unattenuated (at
    :math:`\varepsilon = 0` it is backprop's error of each node). The weights then learn
    PC's local update at the relaxed states.
    """

    STATES = "states"
    ERRORS = "errors"


class NudgeSign(enum.Enum):
    """Which nudged phases estimate the gradient: ``+beta``, ``-beta``, or both (centred)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    CENTRED = "centred"


class Nudging(eqx.Module):
    r"""Leave the output free and add :math:`\beta\, C(z_{\mathrm{out}}, y)` to the energy
    (instead of clamping the output to ``y``). The weight update is then divided by
    :math:`\beta` — :math:`g_{+} = \nabla_\theta E_\beta / \beta`,
    :math:`g_{-} = -\nabla_\theta E_{-\beta} / \beta`, centred :math:`(g_{+} + g_{-})/2` — and
    tends to BP's gradient as :math:`\beta \to 0` (first order for one-sided, second order for
    centred)."""

    beta: float = option(0.1, help="nudging strength (> 0)")
    sign: NudgeSign = option(
        NudgeSign.POSITIVE, help="which nudged phases estimate the gradient: +beta, -beta or both"
    )

    def __check_init__(self) -> None:
        if not self.beta > 0:
            raise ConfigError(
                f"Nudging(beta={self.beta!r}): beta must be > 0 (its sign is set by `sign`); "
                "use nudging=None to clamp the output instead."
            )


def _cost_option() -> Any:
    return option(default_factory=SquaredError, help="output cost C(mu_out, y)")


def _inference_option() -> Any:
    return option(
        default_factory=Inference,
        help="relaxation of the states: steps (T steps of SGD, the default) | ode (gradient "
        "flow, adaptive step)",
    )


def _nudging_option() -> Any:
    return option(
        None, help="leave the output free, nudged by beta C (null: clamp the output to y)"
    )


class AbstractPC(AbstractGradientRule, AbstractEnergyRule):
    r"""Predictive coding on any graph network: the base of :class:`PC` and
    :class:`IncrementalPC`, with the default energy (:meth:`energy`). A new energy is a
    subclass of :class:`PC` (or :class:`IncrementalPC`) that overrides :meth:`energy`;
    inference, gradients and the trainer come with it.

    States :math:`z_n` of the non-input nodes start at the feedforward pass and relax on the
    energy (output clamped to the target, or free and nudged by :class:`Nudging`); energies
    are summed over the batch (so each sample's states relax independently of the batch
    size); weight gradients are divided by the batch size.
    """

    cost: eqx.AbstractVar[Cost]
    inference: eqx.AbstractVar[AbstractInference]
    nudging: eqx.AbstractVar[Nudging | None]

    def energy(
        self,
        net: Network,
        states: tuple[Array, ...],
        predictions: tuple[Array | None, ...],
        target: Array | None,
    ) -> Array:
        r"""The network's energy of the batch (a scalar): what a subclass overrides for a new
        energy. ``states[n]`` and ``predictions[n]`` are node ``n``'s state and prediction
        (``predictions[net.input]`` is ``None``). ``target`` is the label the output is
        clamped at (then ``states[net.output]`` is the target too), or ``None`` when the
        output is free (with :class:`Nudging`). The nudge :math:`\beta C(z_{\mathrm{out}}, y)`
        is never part of it: the rule adds it (:meth:`total_energy`), so an override cannot
        lose it. The default is the hidden nodes' errors plus :meth:`output_energy`,
        :math:`\sum_{n \in \mathrm{hidden}} \tfrac12 \lVert z_n - \mu_n \rVert^2
        + E_{\mathrm{out}}`.
        """
        e = jnp.zeros((), states[net.output].dtype)
        for n in range(net.num_nodes):
            if n == net.input or n == net.output:
                continue
            d = states[n] - _given(predictions[n])
            e = e + 0.5 * jnp.sum(d * d)
        return e + self.output_energy(net, states, predictions, target)

    def output_energy(
        self,
        net: Network,
        states: tuple[Array, ...],
        predictions: tuple[Array | None, ...],
        target: Array | None,
    ) -> Array:
        r"""The output node's term of :meth:`energy`, for either mode: the cost
        :math:`C(\mu_{\mathrm{out}}, y)` of its prediction when the output is clamped at
        ``target`` :math:`y`, and its prediction error
        :math:`\tfrac12 \lVert z_{\mathrm{out}} - \mu_{\mathrm{out}} \rVert^2` when it is free
        (``target`` ``None``). An override of :meth:`energy` that uses it is right under
        nudging too."""
        mu_out = _given(predictions[net.output])
        if target is not None:
            return jnp.sum(self.cost(mu_out, target))
        d = states[net.output] - mu_out
        return 0.5 * jnp.sum(d * d)

    def total_energy(
        self,
        net: Network,
        states: tuple[Array, ...],
        predictions: tuple[Array | None, ...],
        y: Array,
        beta: Array | float,
    ) -> Array:
        r"""What the states relax on and the weights learn from: :meth:`energy`, plus with
        :class:`Nudging` the nudge :math:`\beta\, C(z_{\mathrm{out}}, y)` of the free output
        (``beta`` is the phase's signed strength; unused when the output is clamped)."""
        if self.nudging is None:
            return self.energy(net, states, predictions, y)
        try:
            e = self.energy(net, states, predictions, None)
        except (TypeError, AttributeError) as err:  # what None gives where an array goes
            raise ConfigError(
                f"{type(self).__name__}.energy failed with a free (nudged) output, where its "
                f"target is None ({err}). Write the output's term as "
                "self.output_energy(net, states, predictions, target), which handles both "
                "modes, or train with nudging=None (output clamped)."
            ) from err
        return e + beta * jnp.sum(self.cost(states[net.output], y))

    # --- helpers (shared by PC and iPC) ------------------------------------------------------

    def _energy_of_free(
        self,
        net: Network,
        x: Array,
        y: Array,
        beta: float,
        free: tuple[Array, ...],
        params: Any,
        cache: dict[int, Array] | None = None,
    ) -> Array:
        """:meth:`total_energy` as a function of the free states (``cache``: edge outputs
        computed already, see :meth:`Network.predictions`)."""
        s = self._full(net, x, y, free)
        return self.total_energy(net, s, net.predictions(params, s, cache=cache), y, beta)

    def _free_nodes(self, net: Network) -> tuple[int, ...]:
        skip = {net.input} | ({net.output} if self.nudging is None else set())
        return tuple(n for n in range(net.num_nodes) if n not in skip)

    def _full(self, net: Network, x: Array, y: Array, free: tuple[Array, ...]) -> tuple[Array, ...]:
        states: list[Array] = [y] * net.num_nodes  # the output stays y when clamped
        states[net.input] = x
        for n, z in zip(self._free_nodes(net), free):
            states[n] = z
        return tuple(states)

    def _betas(self) -> tuple[tuple[float, float], ...]:
        """(beta, weight) per relaxation; the update is sum(weight * dE/dtheta)."""
        if self.nudging is None:
            return ((0.0, 1.0),)
        b = self.nudging.beta
        if self.nudging.sign is NudgeSign.POSITIVE:
            return ((b, 1.0 / b),)
        if self.nudging.sign is NudgeSign.NEGATIVE:
            return ((-b, -1.0 / b),)
        return ((b, 0.5 / b), (-b, -0.5 / b))

    def _title(self) -> str:
        return f"{type(self).__name__} ({self.name}), which starts from a feedforward pass,"

    def check(self, net: Network, batch: Batch | None = None) -> None:
        net.require_dag(self._title())
        super().check(net, batch)

    def _metrics(self, out: Array, y: Array, energy: Array, info: Any, batch: int) -> Metrics:
        return {
            "loss": jnp.mean(self.cost(out, y)),
            "accuracy": accuracy(out, y),
            "energy": energy / batch,
            "residual": jnp.mean(info.residual),
            "not_converged": info.not_converged,
            "inference_steps": info.steps,
        }


@final
class PC(AbstractPC):
    r"""Predictive coding (strict or fixed-prediction) on any graph network.

    Default energy (a subclass overriding :meth:`energy` gets the rest unchanged):

    .. math:: E = \sum_{n \in \mathrm{hidden}} \tfrac12 \lVert z_n - \mu_n \rVert^2
              + C(\mu_{\mathrm{out}}, y)

    with the output clamped, or, with :class:`Nudging`,
    :math:`\sum_{n \ne \mathrm{in}} \tfrac12 \lVert z_n - \mu_n\rVert^2 + \beta C(z_{\mathrm{out}}, y)`.
    Energies are summed over the batch (so each sample's states relax independently of the
    batch size); weight gradients are divided by the batch size. With
    ``variables=PCVariables.ERRORS`` (ePC) inference relaxes the prediction errors instead of
    the states (:class:`PCVariables`; ``docs/deep_pc.md``).

    >>> import jax, jax.numpy as jnp, optax, plastix as px
    >>> net = px.Network.from_example(
    ...     [px.edge(px.nn.Linear(8), [0, 1]), px.edge(px.nn.Sequential([px.nn.Tanh(), px.nn.Linear(2)]), [1, 2])],
    ...     jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> rule = px.PC(inference=px.Inference(steps=8, optimizer=optax.sgd(0.1)))
    >>> grads, _, metrics = rule.grads(net, params, None, (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])]))
    >>> sorted(metrics)
    ['accuracy', 'energy', 'inference_steps', 'loss', 'not_converged', 'residual']
    """

    name: ClassVar[str] = "pc"
    mode: PCMode = option(PCMode.STRICT, help="strict | fixed-prediction (= BP at the fixed point)")
    variables: PCVariables = option(
        PCVariables.STATES,
        help="what inference relaxes: states | errors (ePC: errors, states by a forward pass)",
    )
    cost: Cost = _cost_option()
    inference: AbstractInference = _inference_option()
    nudging: Nudging | None = _nudging_option()

    def __check_init__(self) -> None:
        if not isinstance(self.mode, PCMode):
            raise ConfigError(
                f"PC(mode={self.mode!r}): use one of {[m for m in PCMode]} (incremental PC is "
                "its own rule, px.IncrementalPC)."
            )
        if self.variables is PCVariables.ERRORS and self.mode is not PCMode.STRICT:
            raise ConfigError(
                "PC(variables=errors) is ePC, which relaxes strict PC's energy; use "
                "mode=strict (fixed-prediction PC holds the predictions, so its errors are "
                "its states)."
            )

    def _title(self) -> str:
        return f"PC ({self.mode.value}), which starts from a feedforward pass,"

    # --- gradients -----------------------------------------------------------------------------

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
        net.require_dag(self._title())
        x, y = batch
        bsz = x.shape[0]
        ff = net.feedforward(params, x)
        total = jax.tree.map(jnp.zeros_like, params)
        energy, info = jnp.zeros(()), None
        for beta, weight in self._betas():
            _, info, energy, g = self._phase(net, params, x, y, ff, beta)
            total = jax.tree.map(lambda t, gi, w=weight: t + (w / bsz) * gi, total, g)
        return total, state, self._metrics(ff[net.output], y, energy, info, bsz)

    def relax(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """Every node's state after the relaxation (with nudging, the first nudged phase's)."""
        check_batch(net, batch)
        net.require_dag(self._title())
        x, y = batch
        beta, _ = self._betas()[0]
        free, info, _, _ = self._phase(net, params, x, y, net.feedforward(params, x), beta)
        return self._full(net, x, y, free), info

    def _phase(
        self, net: Network, params: Any, x: Array, y: Array, ff: tuple[Array, ...], beta: float
    ) -> tuple[tuple[Array, ...], InferenceInfo, Array, Any]:
        """One relaxation at nudging ``beta``: the free states, the relaxation's info, the
        energy and its weight gradient at the relaxed states."""
        if self.mode is PCMode.FIXED_PREDICTION:
            return self._phase_fixed(net, params, x, y, ff, beta)
        if self.variables is PCVariables.ERRORS:
            return self._phase_errors(net, params, x, y, ff, beta)
        return self._phase_strict(net, params, x, y, ff, beta)

    def _phase_errors(
        self, net: Network, params: Any, x: Array, y: Array, ff: tuple[Array, ...], beta: float
    ) -> tuple[tuple[Array, ...], InferenceInfo, Array, Any]:
        """ePC: relax the free nodes' errors, the states following by a forward pass."""
        free_nodes = self._free_nodes(net)
        cache = net.input_edge_outputs(params, x)

        clamp = {} if self.nudging is not None else {net.output: y}

        def derived(errors: tuple[Array, ...]) -> tuple[tuple[Array, ...], tuple[Any, ...]]:
            """The states and predictions of the forward pass with the errors added (the
            clamped output stays y)."""
            err = dict(zip(free_nodes, errors))
            return net.forward(params, x, errors=err, clamp=clamp, cache=cache)

        default = (
            type(self).energy is AbstractPC.energy
            and type(self).output_energy is AbstractPC.output_energy
            and type(self).total_energy is AbstractPC.total_energy
        )

        def energy_of_errors(errors: tuple[Array, ...]) -> Array:
            s, mus = derived(errors)
            if not default:  # a subclass's energy, from the states and predictions
                return self.total_energy(net, s, mus, y, beta)
            # the default energy written in the errors, sum 1/2 |e_n|^2 + the output's term:
            # equal to it, but without the terms (z_n - mu_n) whose cotangents cancel only
            # exactly; XLA fused their running sum down the chain into every node's backward
            # step, so step and compile time grew as depth squared (64 hidden layers: 16 ms a
            # step, 2.9 ms for the same maths in plain JAX)
            e = sum(0.5 * jnp.sum(jnp.square(v)) for v in errors)
            if self.nudging is None:
                return e + jnp.sum(self.cost(mus[net.output], y))
            return e + beta * jnp.sum(self.cost(s[net.output], y))

        zeros = tuple(jnp.zeros_like(ff[n]) for n in free_nodes)  # the feedforward pass
        errors, info = self.inference.run(jax.value_and_grad(energy_of_errors), zeros)
        s, _ = derived(errors)
        free = tuple(s[n] for n in free_nodes)
        e, g = jax.value_and_grad(lambda p: self._energy_of_free(net, x, y, beta, free, p))(params)
        return free, info, e, g

    def _phase_strict(
        self, net: Network, params: Any, x: Array, y: Array, ff: tuple[Array, ...], beta: float
    ) -> tuple[tuple[Array, ...], InferenceInfo, Array, Any]:
        free_nodes = self._free_nodes(net)
        free0 = tuple(ff[n] for n in free_nodes)
        cache = net.input_edge_outputs(params, x)

        def energy_of(free: tuple[Array, ...], cache: dict[int, Array]) -> Array:
            return self._energy_of_free(net, x, y, beta, free, params, cache)

        grad_fn = jax.value_and_grad(lambda f: energy_of(f, cache))
        # the first steps, while some states still sit at the feedforward pass: the edges
        # those states feed into error-free nodes contribute nothing, so their feedforward
        # outputs stand in for them (a few phases, each a rolled loop: compile time does not
        # grow with depth x steps)
        starts, still, length = self._wavefront(net, free0)
        # short wavefronts are written out step by step (as fast as it gets on XLA:CPU);
        # long ones (deep networks) run in a few rolled phases
        if length <= _WAVEFRONT_PHASES:
            ends = list(range(1, length + 1))
        else:
            ends = _phase_ends(starts, _WAVEFRONT_PHASES)
        # outputs of the edges at the feedforward pass (the same ops as in `ff`: XLA merges them)
        ff_edges = {i: net.edges[i].layer(params[i], ff[net.edges[i].src]) for i in starts}
        phases = []
        previous = 0
        for end in ends:
            c = {**cache, **{i: ff_edges[i] for i, k in starts.items() if k >= end}}
            # states with a zero gradient all through the phase stay put
            frozen = frozenset(j for j, n in enumerate(free_nodes) if still.get(n, 0) >= end)
            grad = jax.value_and_grad(lambda f, c=c: energy_of(f, c))
            phases.append((end - previous, grad, frozen))
            previous = end
        free, info = self.inference.run(grad_fn, free0, phases=phases)
        e, g = jax.value_and_grad(lambda p: self._energy_of_free(net, x, y, beta, free, p))(params)
        return free, info, e, g

    def _wavefront(
        self, net: Network, free0: tuple[Array, ...]
    ) -> tuple[dict[int, int], dict[int, int], int]:
        """For the first inference steps, while some states still equal their feedforward
        values: for each edge that can be skipped, the first step that needs it (until then
        its source still equals its feedforward value and every node it feeds has a zero
        error, so its output is the feedforward one and it passes no gradient); for each
        state that stays put, the first step it moves; and how many steps this lasts. Only for the default energy (whose
        zero terms are known), a fixed number of steps, and a state optimizer that leaves a
        state with zero gradient where it is (checked)."""
        if (
            not isinstance(self.inference, Inference)
            or type(self).energy is not AbstractPC.energy
            or type(self).output_energy is not AbstractPC.output_energy
            or type(self).total_energy is not AbstractPC.total_energy
            or self.inference.tol is not None
            or self.inference.bounds is not None  # a still state outside the box moves
            or self.inference.steps == 0
        ):
            return {}, {}, 0
        pristine = set(self._free_nodes(net))
        starts: dict[int, int] = {}
        moves: dict[int, int] = {}
        step = 0
        while pristine and step < self.inference.steps:
            settled = pristine | {net.input}
            zero_err = {
                n for n in pristine if all(net.edges[i].src in settled for i in net.incoming[n])
            }
            cached = {
                i
                for i, e in enumerate(net.edges)
                if e.src in pristine and all(d in zero_err for d in e.dst)
            }
            still = {
                n
                for n in zero_err
                if not (n == net.output and self.nudging is not None)  # its cost pulls it
                and all(i in cached for i in net.outgoing[n])
            }
            if still == pristine:  # nothing moves any more
                break
            step += 1
            starts.update({i: step for i in cached})
            moves.update({n: step for n in still})
            pristine = still
        if starts and not _keeps_zero_gradient_states(
            self.inference.optimizer, free0, min(step, 8)
        ):
            return {}, {}, 0
        return starts, moves, step

    def _phase_fixed(
        self, net: Network, params: Any, x: Array, y: Array, ff: tuple[Array, ...], beta: float
    ) -> tuple[tuple[Array, ...], InferenceInfo, Array, Any]:
        free_nodes = self._free_nodes(net)
        # predictions and Jacobians at the feedforward pass, reused for every step
        mu_ff, vjp = jax.vjp(lambda p, s: net.predictions(p, s), params, ff)

        def parts(free: tuple[Array, ...]) -> tuple[Array, Any, Any]:
            s = self._full(net, x, y, free)
            e, (gs, gmu) = jax.value_and_grad(
                lambda s, m: self.total_energy(net, s, m, y, beta), argnums=(0, 1)
            )(s, mu_ff)
            gp, gs_through = vjp(gmu)
            g_free = tuple(gs[n] + gs_through[n] for n in free_nodes)
            return e, g_free, gp

        free, info = self.inference.run(lambda f: parts(f)[:2], tuple(ff[n] for n in free_nodes))
        energy, _, gp = parts(free)
        return free, info, energy, gp


@final
class IncrementalPC(AbstractPC):
    r"""Incremental predictive coding (iPC; Salvatori et al. 2024): PC's energy and
    relaxation, with the weights updated by the optimizer at every one of the ``T`` inference
    steps (:meth:`step`). :meth:`grads` gives the sum of the per-step weight gradients with
    the weights held: iPC's update in the limit of a small learning rate (what a gradient
    check compares). The optimizer is called ``T`` times per batch
    (:meth:`optimizer_calls_per_step`): a learning-rate schedule for a run must span
    ``T x`` its batches (the command line builds it so).

    >>> import jax, jax.numpy as jnp, optax, plastix as px
    >>> net = px.Network.from_example(px.models.mlp(2, hidden=(8,)), jnp.zeros((1, 3)))
    >>> params = net.init(key=jax.random.key(0))
    >>> rule, opt = px.IncrementalPC(inference=px.Inference(steps=4)), optax.sgd(0.1)
    >>> batch = (jnp.ones((4, 3)), jnp.eye(2)[jnp.array([0, 1, 0, 1])])
    >>> params, _, _, metrics = rule.step(net, params, None, opt.init(params), opt, batch)
    >>> sorted(metrics)
    ['accuracy', 'energy', 'inference_steps', 'loss', 'not_converged', 'residual']

    ``residual`` and ``energy`` are those of the last of the ``T`` steps (the state gradient's
    norm before its update, as for :class:`PC`); ``inference.bounds`` and ``inference.unroll``
    apply as in :class:`Inference`; a tolerance does not (the weights move at every step, so
    the relaxation has no fixed point to stop at) and is refused.
    """

    name: ClassVar[str] = "ipc"
    cost: Cost = _cost_option()
    inference: Inference = option(
        default_factory=Inference,
        help="the T inference steps and their state optimizer (the weights move at each)",
    )
    nudging: Nudging | None = _nudging_option()

    def __check_init__(self) -> None:
        if self.nudging is not None and self.nudging.sign is NudgeSign.CENTRED:
            raise ConfigError(
                "incremental PC cannot use centred nudging (one relaxation per batch)."
            )
        if self.inference.tol is not None:
            raise ConfigError(
                f"IncrementalPC(inference=Inference(tol={self.inference.tol!r})): iPC runs "
                "exactly `steps` inference steps, its weights moving at every one, so there is "
                "no equilibrium to stop at; set inference.tol=None (`--set "
                "rule.inference.tol=null`) and choose `steps`."
            )

    def optimizer_calls_per_step(self) -> int:
        return max(self.inference.steps, 1)

    def grads(
        self,
        net: Network,
        params: Any,
        state: Any,
        batch: Batch,
        *,
        key: PRNGKeyArray | None = None,
    ) -> tuple[Any, Any, Metrics]:
        _, _, total, metrics, _, _ = self._incremental(net, params, batch, None, None)
        return total, state, metrics

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
        """iPC's step: the weights move at every inference step (not one gradient step)."""
        params, opt_state, _, metrics, _, _ = self._incremental(
            net, params, batch, opt_state, optimizer
        )
        return params, state, opt_state, metrics

    def relax(
        self, net: Network, params: Any, batch: Batch
    ) -> tuple[tuple[Array, ...], InferenceInfo]:
        """Every node's state after the ``T`` steps with the weights held."""
        _, _, _, _, free, info = self._incremental(net, params, batch, None, None)
        x, y = batch
        return self._full(net, x, y, free), info

    def _incremental(
        self,
        net: Network,
        params: Any,
        batch: Batch,
        opt_state: optax.OptState | None,
        optimizer: optax.GradientTransformation | None,
    ) -> tuple[Any, Any, Any, Metrics, tuple[Array, ...], InferenceInfo]:
        """iPC's relaxation: at each of the T steps, the energy's gradients move the states
        and, with an ``optimizer``, the weights. Without one (weights held) it also returns the
        sum of the per-step weight gradients, iPC's update in the limit of a small learning
        rate, which :meth:`grads` returns (None with an optimizer: :meth:`step` needs no sum);
        then the metrics, the final free states and the last step's :class:`InferenceInfo`
        (energy and per-sample residual at its gradient evaluation, as :class:`Inference`
        reports them)."""
        check_batch(net, batch)
        net.require_dag(self._title())
        x, y = batch
        bsz = x.shape[0]
        ((beta, weight),) = self._betas()
        ff = net.feedforward(params, x)
        free = tuple(ff[n] for n in self._free_nodes(net))
        inf = self.inference
        sopt = inf.optimizer
        sstate = sopt.init(free)

        def energy_of(free: tuple[Array, ...], p: Any) -> Array:
            return self._energy_of_free(net, x, y, beta, free, p)

        def body(carry: Any, _: None) -> tuple[Any, None]:
            free, p, so, wo, total, _, _ = carry
            e, (gf, gp) = jax.value_and_grad(energy_of, argnums=(0, 1))(free, p)
            su, so = sopt.update(gf, so, free)
            # projected onto inference.bounds, with the projected gradient's residual
            moved = inf.project(optax.apply_updates(free, su))
            r = inf.residual(free, gf)
            gp = jax.tree.map(lambda g: (weight / bsz) * g, gp)
            if optimizer is None:
                total = jax.tree.map(jnp.add, total, gp)
            else:
                wu, wo = optimizer.update(gp, wo, p)
                p = optax.apply_updates(p, wu)
            return (moved, p, so, wo, total, e.astype(e0.dtype), r.astype(r0.dtype)), None

        steps = max(inf.steps, 1)
        total = jax.tree.map(jnp.zeros_like, params) if optimizer is None else None
        dtype = jnp.result_type(*jax.tree.leaves((free, y, params)))
        e0, r0 = jnp.zeros((), dtype), jnp.zeros((bsz,), dtype)
        unroll = inf.unroll if inf.unroll is not None else 1
        (free, params, _, opt_state, total, energy, residual), _ = jax.lax.scan(
            body,
            (free, params, sstate, opt_state, total, e0, r0),
            None,
            length=steps,
            unroll=unroll,
        )
        info = InferenceInfo(energy, residual, jnp.asarray(steps), jnp.sum(~jnp.isfinite(residual)))
        metrics = {
            "loss": jnp.mean(self.cost(ff[net.output], y)),
            "accuracy": accuracy(ff[net.output], y),
            "energy": energy / bsz,
            "residual": jnp.mean(residual),
            "not_converged": info.not_converged,
            "inference_steps": info.steps,
        }
        return params, opt_state, total, metrics, free, info
