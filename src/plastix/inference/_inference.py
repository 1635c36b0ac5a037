"""State relaxation: minimise an energy over the free states by gradient steps."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from .._errors import ConfigError
from .._option import check_option_types, option

GradFn = Callable[[Any], tuple[Array, Any]]


class InferenceInfo(eqx.Module):
    """What a relaxation reports.

    ``energy``: the energy (summed over the batch) at the last gradient evaluation;
    ``residual``: per sample, the norm of the energy gradient over the free states at that
    evaluation; ``steps``: how many state updates ran; ``not_converged``: samples whose residual
    is above the tolerance (``0`` when no tolerance is set and all is finite).
    """

    energy: Array
    residual: Array
    steps: Array
    not_converged: Array


def nothing_free(grad_fn: GradFn, states: Any) -> InferenceInfo:
    """What a relaxation with no free states reports: the energy, no steps."""
    energy, _ = grad_fn(states)
    zero = jnp.zeros((), jnp.int32)
    return InferenceInfo(energy, jnp.zeros((1,), energy.dtype), zero, zero)


def per_sample_norm(tree: Any) -> Array:
    """Per sample (the leading axis of every leaf), the Euclidean norm over all the leaves'
    other entries: the residual :class:`InferenceInfo` reports for a state gradient.

    >>> import jax.numpy as jnp, plastix as px
    >>> px.inference.per_sample_norm((jnp.array([[3.0], [0.0]]), jnp.array([[4.0, 0.0], [0.0, 1.0]])))
    Array([5., 1.], dtype=float32)
    """
    leaves = jax.tree.leaves(tree)
    sq = sum(jnp.sum(jnp.square(jnp.abs(l)).reshape(l.shape[0], -1), axis=1) for l in leaves)
    return jnp.sqrt(sq)


class AbstractStateOptimizer(eqx.Module):
    """An optimizer of the states with options a configuration can set (``name`` selects it);
    it is used as an optax ``GradientTransformation`` (``init`` / ``update``)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def transform(self) -> optax.GradientTransformation:
        """The optax transformation."""

    def init(self, params: Any) -> Any:
        return self.transform().init(params)

    def update(self, updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        return self.transform().update(updates, state, params)


class SGD(AbstractStateOptimizer):
    r"""Gradient descent on the states with heavy-ball momentum,
    :math:`v \leftarrow \mu v + \nabla_z E,\ z \leftarrow z - \eta v` (optax ``sgd``).

    >>> import jax.numpy as jnp, plastix as px
    >>> opt = px.inference.SGD(lr=0.5)
    >>> upd, _ = opt.update(jnp.ones(2), opt.init(jnp.zeros(2)))
    >>> upd.tolist()
    [-0.5, -0.5]
    """

    name: ClassVar[str] = "sgd"
    lr: float = option(0.1, help="step size of the state updates")
    momentum: float = option(0.0, help="heavy-ball momentum (0: none)")

    def __check_init__(self) -> None:
        if not self.lr > 0 or not 0 <= self.momentum < 1:
            raise ConfigError(
                f"SGD(lr={self.lr!r}, momentum={self.momentum!r}): need lr > 0 and momentum "
                "in [0, 1)."
            )

    def transform(self) -> optax.GradientTransformation:
        return optax.sgd(self.lr, momentum=self.momentum or None)


STATE_OPTIMIZERS: tuple[type[AbstractStateOptimizer], ...] = (SGD,)
"""The state optimizers a configuration can name."""


class AbstractInference(eqx.Module):
    """How a rule relaxes its states on an energy (``name`` selects it in a configuration):
    :class:`Inference` (a number of optimizer steps) or :class:`ODEInference` (the gradient
    flow, solved with an adaptive step). Both are used through :meth:`run`."""

    name: ClassVar[str]

    @abc.abstractmethod
    def run(
        self,
        grad_fn: GradFn,
        states: Any,
        *,
        phases: Sequence[tuple[int, GradFn, frozenset[int]]] = (),
    ) -> tuple[Any, InferenceInfo]:
        """Relax ``states`` (a pytree of ``(batch, ...)`` arrays); ``grad_fn(states)`` returns
        ``(energy, d energy / d states)``, the energy summed over the batch."""


class Inference(AbstractInference):
    r"""Relax states :math:`z` on an energy :math:`E`: :math:`z \leftarrow z - \mathrm{opt}(\nabla_z E)`.

    ``steps`` updates with an ``optimizer`` on the states (default: :class:`SGD` with
    momentum 0.5; any optax transformation works from Python),
    re-initialised for every call. With ``tol`` set, stop early once every sample's residual
    :math:`\lVert \nabla_z E \rVert` is below ``tol`` (``steps`` is then the maximum).
    ``unroll`` is passed to ``lax.scan``; by default the loop is rolled (``unroll=1``): fully
    unrolled relaxations compiled 6x longer and ran up to 4.6x slower on XLA:CPU inside the
    trainer's compiled chunks (EP's MNIST preset: 19.9 against 4.3 s per epoch; PC's: equal
    within noise; BENCHMARKS.md).
    With ``bounds=(lo, hi)`` the states are projected onto the box after every step, and the
    residual is that of the projected gradient, :math:`\lVert z - \mathrm{clip}(z - \nabla_z E)\rVert`,
    which vanishes at a box-constrained minimum.

    >>> import jax.numpy as jnp, plastix as px
    >>> inf = px.Inference(steps=50, optimizer=px.inference.SGD(0.5))
    >>> z, info = inf.run(lambda z: (0.5 * jnp.sum((z - 3.0) ** 2), z - 3.0), jnp.zeros((2, 1)))
    >>> round(float(z[0, 0]), 4)
    3.0
    """

    name: ClassVar[str] = "steps"
    steps: int = option(20, help="state updates (the maximum when tol is set)")
    optimizer: AbstractStateOptimizer | optax.GradientTransformation = option(
        default_factory=lambda: SGD(0.1, momentum=0.5),
        help="optimizer of the states, re-initialised for every relaxation (Python: any optax "
        "transformation)",
    )
    tol: float | None = option(
        None, help="stop once every sample's residual is below tol (null: always `steps`)"
    )
    unroll: int | bool | None = option(
        None, help="lax.scan unroll of the fixed-step loop (null: 1, a rolled loop; true: full)"
    )
    bounds: tuple[float, float] | None = option(
        None, help="project the states onto [lo, hi] after every step (null: no bounds)"
    )

    def __check_init__(self) -> None:
        check_option_types(self)  # Inference(optimizer="sgd") names what it takes
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ConfigError(f"Inference(bounds={self.bounds!r}): need (lo, hi) with lo < hi.")
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ConfigError(f"Inference(steps={self.steps!r}): need an int >= 0.")
        if self.tol is not None and not self.tol > 0:
            raise ConfigError(f"Inference(tol={self.tol!r}): need a positive tolerance or None.")

    def project(self, states: Any) -> Any:
        """``states`` clipped onto ``bounds`` (unchanged when ``bounds`` is None)."""
        if self.bounds is None:
            return states
        lo, hi = self.bounds
        return jax.tree.map(lambda a: jnp.clip(a, lo, hi), states)

    def residual(self, states: Any, grads: Any) -> Array:
        r"""Per-sample residual at ``states`` with state gradients ``grads``:
        :math:`\lVert \nabla_z E \rVert`, or with ``bounds`` that of the projected gradient,
        :math:`\lVert z - \mathrm{clip}(z - \nabla_z E) \rVert`.

        >>> import jax.numpy as jnp, plastix as px
        >>> z, g = jnp.array([[1.0, 0.5]]), jnp.array([[-3.0, 4.0]])
        >>> px.Inference().residual(z, g).tolist()
        [5.0]
        >>> px.Inference(bounds=(0.0, 1.0)).residual(z, g).tolist()  # z - clip(z - g) = (0, 0.5)
        [0.5]
        """
        if self.bounds is None:
            return per_sample_norm(grads)
        lo, hi = self.bounds
        return per_sample_norm(
            jax.tree.map(lambda a, b: a - jnp.clip(a - b, lo, hi), states, grads)
        )

    def run(
        self,
        grad_fn: GradFn,
        states: Any,
        *,
        phases: Sequence[tuple[int, GradFn, frozenset[int]]] = (),
    ) -> tuple[Any, InferenceInfo]:
        """Relax ``states`` (a pytree of ``(batch, ...)`` arrays). ``grad_fn(states)`` returns
        ``(energy, d energy / d states)``.

        ``phases``: ``(steps, grad_fn, frozen)`` that run first, each as its own rolled loop
        (written out when one step), with the same optimizer state carried through; the
        leaves of ``states`` numbered in ``frozen`` (in ``jax.tree.leaves`` order) are not
        updated in that phase. A rule that knows parts of its energy are zero early on gives
        cheaper gradient functions for those steps, and freezes the states it knows have a
        zero gradient; ``grad_fn`` runs the steps left. Only with a fixed number of steps
        (``tol`` unset)."""
        if not jax.tree.leaves(states):
            return states, nothing_free(grad_fn, states)
        opt_state = self.optimizer.init(states)
        total = self.steps
        early = sum(p[0] for p in phases)
        if early and (self.tol is not None or early > total):
            raise ConfigError(
                f"Inference.run: phases of {early} steps need a fixed number of steps "
                f"(tol=None) of at least that many (steps={total}, tol={self.tol})."
            )
        batch = jax.tree.leaves(states)[0].shape[0]
        dtype = jnp.result_type(*jax.tree.leaves(states))
        if self.bounds is not None and jnp.issubdtype(dtype, jnp.complexfloating):
            raise ConfigError(
                f"Inference(bounds={self.bounds}) cannot bound complex states; pass bounds=None."
            )
        # complex states (holomorphic EP): a complex energy, a real residual
        zero_info = (jnp.zeros((), dtype), jnp.zeros((batch,), jnp.finfo(dtype).dtype))

        def update(z: Any, opt_state: Any, g: Any) -> tuple[Any, Any]:
            upd, opt_state = self.optimizer.update(g, opt_state, z)
            return self.project(optax.apply_updates(z, upd)), opt_state

        if self.tol is None:

            def step(fn: GradFn, frozen: frozenset[int], z: Any, o: Any) -> Any:
                e, g = fn(z)
                z2, o = update(z, o, g)
                if frozen:
                    leaves, tree = jax.tree.flatten(z)
                    moved = jax.tree.leaves(z2)
                    z2 = jax.tree.unflatten(
                        tree,
                        [a if k in frozen else b for k, (a, b) in enumerate(zip(leaves, moved))],
                    )
                return z2, o, e, g

            unroll = self.unroll if self.unroll is not None else 1
            segments = [p for p in [*phases, (total - early, grad_fn, frozenset())] if p[0]]
            z, o = states, opt_state
            energy, residual = zero_info
            for k, (n, fn, frozen) in enumerate(segments):
                last = k == len(segments) - 1
                # the loop carries the states and the optimizer's state only; the very last
                # step is written out after it and reports the energy and the residual
                n_loop = n - 1 if last else n
                if n_loop == 1:  # written out: no loop to pay for
                    z, o, _, _ = step(fn, frozen, z, o)
                elif n_loop:
                    body = lambda c, _, fn=fn, fr=frozen: (step(fn, fr, *c)[:2], None)  # noqa: E731
                    (z, o), _ = jax.lax.scan(body, (z, o), None, length=n_loop, unroll=unroll)
                if last:
                    z_before = z
                    z, o, energy, g = step(fn, frozen, z, o)
                    residual = self.residual(z_before, g)
            states = z
            steps_run = jnp.asarray(total)
            bad = jnp.sum(~jnp.isfinite(residual))
        else:
            tol = self.tol

            def cond(carry: Any) -> Array:
                return (carry[2] < total) & ~carry[5]

            def wbody(carry: Any) -> Any:
                z, o, t, _e, _r, _done = carry
                e, g = grad_fn(z)
                r = self.residual(z, g)
                done = jnp.all(r <= tol)
                z2, o2 = update(z, o, g)
                keep = lambda a, b: jnp.where(done, a, b)  # noqa: E731
                z, o = jax.tree.map(keep, (z, o), (z2, o2))
                # the carry keeps its types when the energy is computed at a higher precision
                # than the states (float64 labels with float32 images under x64)
                return z, o, t + 1 - done.astype(t.dtype), e.astype(_e.dtype), r, done

            init = (states, opt_state, jnp.asarray(0), *zero_info, jnp.asarray(False))
            states, _, steps_run, energy, residual, _ = jax.lax.while_loop(cond, wbody, init)
            bad = jnp.sum(~(residual <= tol))
        return states, InferenceInfo(energy, residual, steps_run, bad)
