"""State relaxation as the gradient-flow ODE, solved by diffrax with an adaptive step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import diffrax
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._errors import ConfigError
from .._option import check_option_types, option
from ._inference import (
    AbstractInference,
    GradFn,
    Inference,
    InferenceInfo,
    nothing_free,
    per_sample_norm,
)

ODE_SOLVERS: dict[str, type[diffrax.AbstractSolver]] = {
    "euler": diffrax.Euler,
    "heun": diffrax.Heun,
    "midpoint": diffrax.Midpoint,
    "ralston": diffrax.Ralston,
    "bosh3": diffrax.Bosh3,
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
}
"""The diffrax solvers a configuration names (Python: any diffrax ODE solver)."""


def per_sample_max(tree: Any) -> Array:
    """The largest magnitude among each sample's entries over all leaves of ``tree``."""
    leaves = jax.tree.leaves(tree)
    return jnp.max(
        jnp.stack([jnp.max(jnp.abs(l).reshape(l.shape[0], -1), axis=1) for l in leaves]), axis=0
    )


def _max_norm(tree: Any) -> Array:
    return jnp.max(jnp.stack([jnp.max(jnp.abs(l)) for l in jax.tree.leaves(tree)]))


class ODEInference(AbstractInference):
    r"""Relax the states along the gradient flow of the energy,

    .. math:: \frac{dz}{dt} = -\nabla_z E(z), \qquad t \in [0, t_1],

    solved by a diffrax ``solver`` (Heun's second-order method by default, as in jpc) with a
    PID step-size controller (relative and absolute tolerances ``rtol``, ``atol`` on every
    state's local error: the largest, not the root mean square), so the step grows where the
    flow is smooth and shrinks where it is stiff. With ``steady_state``
    the solve stops once no state of any sample moves faster than the tolerance,
    :math:`\max_k |\partial E / \partial z_{ik}| < \mathrm{atol} + \mathrm{rtol}\,\max_k |z_{ik}|`,
    else it runs to :math:`t_1`. That test is absolute in the gradient: under μPC, whose
    :math:`1/N` read-out makes every state's gradient small, it passes after a step or two.
    ``steady_decay`` :math:`= \delta` replaces it by a test relative to each sample's start,
    :math:`\max_k |\partial E / \partial z_{ik}(t)| \le \delta \max_k |\partial E /
    \partial z_{ik}(0)|`, unchanged when the energy is scaled (:math:`E \to cE` stops at the
    same state). (diffrax's steady-state event and jpc's training script compare
    root mean squares over all states: PC starts at the feedforward pass with only the output's
    neighbours off equilibrium, whose gradient is averaged away over a deep net's states, and
    the solve stopped before its first step: a 16-layer μPC net learned only its read-out.)
    ``max_steps`` caps the solver steps; the steps taken (accepted, rejected ones not
    counted) and the residual :math:`\lVert \nabla_z E_i \rVert` at the end are reported in
    :class:`InferenceInfo`. ``adaptive=False`` takes constant steps of ``dt0``: with the
    Euler solver that is :class:`Inference` with plain gradient descent of step ``dt0`` for
    :math:`t_1 / dt_0` steps (a test checks it).

    Time is in the units of the state step: :math:`T` gradient steps of size :math:`\eta`
    cover :math:`t_1 = T \eta`. The energy is summed over the batch, so a sample's flow does
    not depend on the batch size (jpc averages over the batch: its times are plastix's times
    the batch size). The batch shares one step size (the controller's error norm is the
    largest over the batch). Each step costs the solver's gradient evaluations (Heun: 2; Tsit5: 6,
    the last reused) plus one for the steady-state check.

    >>> import jax.numpy as jnp, plastix as px
    >>> inf = px.inference.ODEInference(t1=50.0, rtol=1e-6, atol=1e-6)
    >>> z, info = inf.run(lambda z: (0.5 * jnp.sum((z - 3.0) ** 2), z - 3.0), jnp.zeros((2, 1)))
    >>> round(float(z[0, 0]), 3), int(info.not_converged)
    (3.0, 0)
    """

    name: ClassVar[str] = "ode"
    solver: diffrax.AbstractSolver = option(
        default_factory=diffrax.Heun,
        help="diffrax ODE solver: euler | heun | midpoint | ralston | bosh3 | tsit5 | dopri5",
    )
    t1: float = option(10.0, help="end of the integration (T steps of size eta: t1 = T eta)")
    dt0: float | None = option(
        None,
        help="first step (null: chosen by diffrax from the tolerances); the step if not adaptive",
    )
    rtol: float = option(1e-3, help="relative tolerance of the step controller and steady state")
    atol: float = option(1e-3, help="absolute tolerance of the step controller and steady state")
    adaptive: bool = option(True, help="PID step-size control (false: constant steps of dt0)")
    steady_state: bool = option(
        True, help="stop once every sample's max |gradient| < atol + rtol max |state|"
    )
    steady_decay: float | None = option(
        None,
        help="steady state once every sample's max |gradient| fell below this fraction of its "
        "value at the start, whatever its scale (null: the tolerances' test)",
    )
    max_steps: int = option(4096, help="most solver steps (a cap; the solve reports if hit)")

    def __check_init__(self) -> None:
        check_option_types(self)
        if not self.t1 > 0:
            raise ConfigError(f"ODEInference(t1={self.t1!r}): need an end time t1 > 0.")
        if self.dt0 is not None and not 0 < self.dt0:
            raise ConfigError(f"ODEInference(dt0={self.dt0!r}): need a step dt0 > 0 or None.")
        if not (self.rtol >= 0 and self.atol >= 0 and self.rtol + self.atol > 0):
            raise ConfigError(
                f"ODEInference(rtol={self.rtol!r}, atol={self.atol!r}): need rtol, atol >= 0, "
                "not both 0."
            )
        if self.steady_decay is not None and not 0 < self.steady_decay < 1:
            raise ConfigError(
                f"ODEInference(steady_decay={self.steady_decay!r}): need a fraction in (0, 1) "
                "of the starting gradient, or None for the tolerances' test."
            )
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ConfigError(f"ODEInference(max_steps={self.max_steps!r}): need an int >= 1.")
        if not self.adaptive and self.dt0 is None:
            raise ConfigError(
                "ODEInference(adaptive=False) takes constant steps: please pass a value for dt0."
            )
        if self.adaptive and not isinstance(self.solver, diffrax.AbstractAdaptiveSolver):
            raise ConfigError(
                f"ODEInference(solver={type(self.solver).__name__}()) has no error estimate for "
                "the adaptive step controller: pass adaptive=False with a step dt0, or a solver "
                "with one (heun, tsit5, ...)."
            )

    def run(
        self,
        grad_fn: GradFn,
        states: Any,
        *,
        phases: Sequence[tuple[int, GradFn, frozenset[int]]] = (),
    ) -> tuple[Any, InferenceInfo]:
        """Solve the gradient flow from ``states``; ``grad_fn(states)`` returns
        ``(energy, d energy / d states)``. ``phases`` (cheaper gradients for a fixed number of
        first steps) have no meaning for an adaptive solve and are refused."""
        if phases:
            raise ConfigError(
                "ODEInference.run: phases are for a fixed number of steps; use Inference."
            )
        if not jax.tree.leaves(states):
            return states, nothing_free(grad_fn, states)
        dtype = jnp.result_type(*jax.tree.leaves(states))
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ConfigError(
                f"ODEInference solves real states; these are {dtype}. Use Inference for complex "
                "states."
            )
        rtol, atol = self.rtol, self.atol

        def field(t: Any, z: Any, args: Any) -> Any:
            return jax.tree.map(jnp.negative, grad_fn(z)[1])

        if self.steady_decay is None:

            def steady(z: Any, g: Any) -> Array:
                return per_sample_max(g) < atol + rtol * per_sample_max(z)

        else:  # relative to each sample's starting speed: the same stop for E and c E
            g0 = per_sample_max(grad_fn(states)[1])
            decay = self.steady_decay

            def steady(z: Any, g: Any) -> Array:
                return per_sample_max(g) <= decay * g0

        controller: diffrax.AbstractStepSizeController
        if self.adaptive:
            # the error's largest entry, not its root mean square: PC's error sits in a few
            # nodes of a deep net, and an average over all states let an unstable step pass
            controller = diffrax.PIDController(rtol=rtol, atol=atol, norm=_max_norm)
        else:
            controller = diffrax.ConstantStepSize()
        event = None
        if self.steady_state:
            event = diffrax.Event(lambda t, z, args, **kw: jnp.all(steady(z, grad_fn(z)[1])))
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            self.solver,
            t0=0.0,
            t1=self.t1,
            dt0=self.dt0,
            y0=states,
            stepsize_controller=controller,
            event=event,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=self.max_steps,
            throw=False,
        )
        z = jax.tree.map(lambda a: a[0], sol.ys)
        energy, g = grad_fn(z)
        residual = per_sample_norm(g)
        if self.steady_state:
            bad = jnp.sum(~steady(z, g))
        else:  # the cap hit before t1: every sample stopped short
            capped = sol.result == diffrax.RESULTS.max_steps_reached
            bad = jnp.where(capped, residual.shape[0], jnp.sum(~jnp.isfinite(residual)))
        steps = jnp.asarray(sol.stats["num_accepted_steps"], jnp.int32)
        return z, InferenceInfo(energy, residual, steps, bad)


INFERENCES: tuple[type[AbstractInference], ...] = (Inference, ODEInference)
"""The ways of relaxing states a configuration can name."""
