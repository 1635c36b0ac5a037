r"""Hopfield associative memory and its CANNs-style trainers.

Storage is Hebbian, :math:`W = \frac1N\sum_\mu \xi^\mu \xi^{\mu\top}` with a zero diagonal
(:class:`HopfieldTrainer`; :class:`AntiHebbianTrainer` subtracts the same term; both can
centre the patterns on their mean activity and divide by the pattern count instead of
:math:`N`, as CANNs' ``subtract_mean`` / ``normalize_by_patterns``). Recall runs the dynamics
:math:`s_i \leftarrow \sigma(h_i - \theta_i)`, :math:`h = Ws`, with a threshold (bias)
:math:`\theta` (0 by default), either for all units at once (``Update.SYNC``) or one unit at
a time in a random order (``Update.ASYNC``, one *sweep* = every unit once), with
:math:`\sigma = \mathrm{sign}` (``Unit.SIGN``; a unit with :math:`h_i = \theta_i` keeps its
state) or :math:`\tanh(\beta\,\cdot)` (``Unit.TANH``). The energy
:math:`E(s) = -\tfrac12 s^\top W s + \theta^\top s` never increases under asynchronous sign
updates.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, PlastixError, ShapeError
from .._progress import progress
from ._progress import ProgressMixin


class PatternError(PlastixError, ValueError):
    """Pattern values do not suit the memory (e.g. not ±1 for a binary memory)."""


class Unit(enum.Enum):
    """Neuron non-linearity: ``SIGN`` (binary ±1 memory) or ``TANH`` (graded, gain ``beta``)."""

    SIGN = "sign"
    TANH = "tanh"


class Update(enum.Enum):
    """``SYNC``: all units at once; ``ASYNC``: one unit at a time, random order per sweep."""

    SYNC = "sync"
    ASYNC = "async"


def _activate(h: Array, s: Array, unit: Unit, beta: float) -> Array:
    if unit is Unit.SIGN:
        return jnp.where(h == 0, s, jnp.sign(h))
    return jnp.tanh(beta * h)


def energy(w: Array, s: Array, threshold: float | Array = 0.0) -> Array:
    r"""Hopfield energy :math:`E(s) = -\tfrac12 s^\top W s + \theta^\top s` (over the last
    axis of ``s``; ``threshold`` :math:`\theta` is a scalar or one value per unit).

    >>> import jax.numpy as jnp
    >>> from plastix.memory import energy
    >>> w = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    >>> float(energy(w, jnp.array([1.0, 1.0]))), float(energy(w, jnp.array([1.0, 1.0]), 0.5))
    (-1.0, 0.0)
    """
    quad = -0.5 * jnp.einsum("...i,ij,...j->...", s, w, s)
    return quad + jnp.sum(jnp.asarray(threshold, s.dtype) * s, axis=-1)


def sweep(
    w: Array,
    s: Array,
    *,
    update: Update = Update.ASYNC,
    unit: Unit = Unit.SIGN,
    beta: float = 1.0,
    threshold: float | Array = 0.0,
    key: PRNGKeyArray | None = None,
) -> Array:
    r"""One update of the state ``s`` (shape ``(N,)``), :math:`s_i \leftarrow
    \sigma(h_i - \theta_i)` with :math:`h = Ws` and ``threshold`` :math:`\theta` (a scalar or
    ``(N,)``): all units at once (``SYNC``), or every unit once in an order drawn from ``key``
    (``ASYNC``; ``key`` is required).

    >>> import jax, jax.numpy as jnp
    >>> from plastix.memory import sweep, Update
    >>> xi = jnp.array([1.0, -1.0, 1.0])
    >>> w = (jnp.outer(xi, xi) - jnp.eye(3)) / 3
    >>> sweep(w, jnp.array([1.0, 1.0, 1.0]), update=Update.SYNC).tolist()
    [1.0, -1.0, 1.0]
    """
    theta = jnp.broadcast_to(jnp.asarray(threshold, s.dtype), s.shape)
    if update is Update.SYNC:
        return _activate(w @ s - theta, s, unit, beta)
    if key is None:
        raise ConfigError("sweep(update=Update.ASYNC) needs a PRNG key for the unit order.")
    return _async_sweep(w, s, theta, _orders(key, None, s.shape[0]), unit, beta)


def _orders(key: PRNGKeyArray, steps: int | None, n: int) -> Array:
    """Random unit orders, ``(n,)`` or ``(steps, n)`` (argsort of uniforms: compiles fast
    under ``vmap``, unlike nested ``jax.random.permutation``)."""
    shape = (n,) if steps is None else (steps, n)
    return jnp.argsort(jax.random.uniform(key, shape), axis=-1)


def _async_sweep(w: Array, s: Array, theta: Array, order: Array, unit: Unit, beta: float) -> Array:
    def body(state: Array, i: Array) -> tuple[Array, None]:
        h = jnp.dot(jax.lax.dynamic_index_in_dim(w, i, keepdims=False), state)
        h = h - jax.lax.dynamic_index_in_dim(theta, i, keepdims=False)
        si = jax.lax.dynamic_index_in_dim(state, i, keepdims=False)
        return jax.lax.dynamic_update_index_in_dim(state, _activate(h, si, unit, beta), i, 0), None

    return jax.lax.scan(body, s, order)[0]


def recall(
    w: Array,
    cue: Array,
    *,
    steps: int = 10,
    update: Update = Update.ASYNC,
    unit: Unit = Unit.SIGN,
    beta: float = 1.0,
    threshold: float | Array = 0.0,
    key: PRNGKeyArray | None = None,
) -> tuple[Array, Array]:
    """Run ``steps`` sweeps (:func:`sweep`, with ``threshold``) from ``cue`` (shape ``(N,)``);
    returns the final state and the energy before and after each sweep (shape
    ``(steps + 1,)``). Compiled with ``lax.scan``.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.memory import recall
    >>> xi = jnp.array([1.0, -1.0, 1.0, -1.0])
    >>> w = (jnp.outer(xi, xi) - jnp.eye(4)) / 4
    >>> s, e = recall(w, jnp.array([1.0, 1.0, 1.0, -1.0]), steps=2, key=jax.random.key(0))
    >>> s.tolist(), e.shape
    ([1.0, -1.0, 1.0, -1.0], (3,))
    """
    theta = jnp.broadcast_to(jnp.asarray(threshold, cue.dtype), cue.shape)
    if update is Update.SYNC:

        def body(state: Array, _: Any) -> tuple[Array, Array]:
            new = _activate(w @ state - theta, state, unit, beta)
            return new, energy(w, new, theta)

        s, es = jax.lax.scan(body, cue, None, length=steps)
    else:
        if key is None:
            raise ConfigError("recall(update=Update.ASYNC) needs a PRNG key for the unit order.")

        def abody(state: Array, order: Array) -> tuple[Array, Array]:
            new = _async_sweep(w, state, theta, order, unit, beta)
            return new, energy(w, new, theta)

        s, es = jax.lax.scan(abody, cue, _orders(key, steps, cue.shape[0]))
    return s, jnp.concatenate([energy(w, cue, theta)[None], es])


def overlap(a: Array, b: Array) -> Array:
    r"""Overlap :math:`m = \frac1N \sum_i a_i b_i` (1 for identical ±1 patterns), over the
    last axis.

    >>> import jax.numpy as jnp
    >>> from plastix.memory import overlap
    >>> float(overlap(jnp.array([1.0, -1.0, 1.0, 1.0]), jnp.array([1.0, -1.0, 1.0, -1.0])))
    0.5
    """
    return jnp.mean(a * b, axis=-1)


def flip(key: PRNGKeyArray, patterns: Array, fraction: float) -> Array:
    """Noisy cues: each pattern with exactly ``round(fraction * N)`` of its ±1 entries
    flipped, chosen independently per pattern.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.memory import flip
    >>> x = jnp.ones((2, 10))
    >>> (flip(jax.random.key(0), x, 0.3) == -1).sum(axis=1).tolist()
    [3, 3]
    """
    k = round(fraction * patterns.shape[-1])
    return patterns if k == 0 else _flip(key, jnp.asarray(patterns), k)


@functools.partial(jax.jit, static_argnames="k")
def _flip(key: PRNGKeyArray, patterns: Array, k: int) -> Array:
    u = jax.random.uniform(key, patterns.shape)
    kth = jnp.sort(u, axis=-1)[..., k - 1 : k]  # the k smallest uniforms of each pattern
    return jnp.where(u <= kth, -patterns, patterns)


def _as_threshold(theta: Any) -> Array:
    return jnp.asarray(theta, dtype=jnp.result_type(float))


class Hopfield(eqx.Module):
    r"""A Hopfield network: weights ``W`` (``N x N``, symmetric, zero diagonal), state ``s``,
    ``energy`` of the state, the number of stored patterns ``count`` and the ``threshold``
    :math:`\theta` of the units (a scalar or one value per unit, 0 by default; the update is
    :math:`s_i \leftarrow \sigma(h_i - \theta_i)`, as CANNs' ``threshold``). Immutable: every
    method returns a new model.

    >>> import jax.numpy as jnp
    >>> from plastix.memory import Hopfield
    >>> m = Hopfield.create(4).store(jnp.array([[1.0, -1.0, 1.0, -1.0]]))
    >>> m = m.init_state(jnp.array([1.0, 1.0, 1.0, -1.0])).update()
    >>> m.s.tolist(), float(m.energy), Hopfield.create(1000).storage_capacity
    ([1.0, -1.0, 1.0, -1.0], -1.5, 138)
    """

    W: Array
    s: Array
    count: Array
    unit: Unit = eqx.field(static=True, default=Unit.SIGN)
    beta: float = eqx.field(static=True, default=1.0)
    threshold: Array = eqx.field(default=0.0, converter=_as_threshold)

    def __check_init__(self) -> None:
        if self.W.ndim != 2 or self.W.shape[0] != self.W.shape[1]:
            raise ShapeError(f"Hopfield: W must be square (N, N), got {tuple(self.W.shape)}.")
        if self.s.shape != (self.W.shape[0],):
            raise ShapeError(f"Hopfield: s must have shape ({self.W.shape[0]},).")
        if not self.beta > 0:
            raise ConfigError(f"Hopfield: the tanh gain beta={self.beta} must be > 0.")
        if self.threshold.shape not in ((), (self.W.shape[0],)):
            raise ShapeError(
                f"Hopfield: threshold must be a scalar or one value per unit "
                f"({self.W.shape[0]},), got shape {tuple(self.threshold.shape)}."
            )

    @classmethod
    def create(
        cls,
        n: int,
        *,
        unit: Unit = Unit.SIGN,
        beta: float = 1.0,
        threshold: float | Array = 0.0,
    ) -> Hopfield:
        """An empty memory of ``n`` units (zero weights, state all +1) with unit ``threshold``
        (a scalar or ``(n,)``)."""
        if not isinstance(n, int) or n <= 0:
            raise ShapeError(f"Hopfield.create: n={n!r} must be a positive int.")
        if not isinstance(unit, Unit):
            raise ConfigError(f"Hopfield.create: unit must be a plastix.memory.Unit, got {unit!r}.")
        theta = np.asarray(threshold, dtype=np.float64)
        if not np.all(np.isfinite(theta)):
            raise ConfigError(f"Hopfield.create: threshold must be finite, got {threshold!r}.")
        return cls(
            jnp.zeros((n, n)),
            jnp.ones((n,)),
            jnp.zeros((), jnp.int32),
            unit,
            beta,
            _as_threshold(theta),
        )

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.W.shape[0])

    @property
    def energy(self) -> Array:
        r"""Energy of the current state, :math:`-\tfrac12 s^\top W s + \theta^\top s`."""
        return energy(self.W, self.s, self.threshold)

    @property
    def storage_capacity(self) -> int:
        r"""Estimated number of random patterns the memory holds, :math:`\lfloor 0.138\,N
        \rfloor` (at least 1): the critical load :math:`\alpha_c \approx 0.138` of Amit,
        Gutfreund & Sompolinsky (1985) for unbiased ±1 patterns, Hebbian storage, zero
        threshold and large :math:`N`. Below it retrieval states with overlap near 1 exist;
        above it recall collapses. (Recalling *every* pattern without a single wrong bit needs
        the much lower :math:`P \lesssim N / (4 \ln N)`.) CANNs rounds with 0.14 instead."""
        return max(1, (138 * self.n) // 1000)  # integer floor of 0.138 N, no float rounding

    def store(self, patterns: Array, *, scale: float | Array | None = None) -> Hopfield:
        r"""Add patterns ``(P, N)`` by the Hebb rule :math:`W \mathrel{+}= c \sum_\mu
        \xi^\mu\xi^{\mu\top}` with :math:`c` = ``scale`` (default :math:`1/N`), diagonal kept
        at zero; ``count`` grows by :math:`P`. Pure and ``jit``-able (no checks:
        :class:`HopfieldTrainer` validates)."""
        c = 1.0 / self.W.shape[0] if scale is None else scale
        w = self._zero_diagonal(self.W + c * (patterns.T @ patterns))
        return eqx.tree_at(lambda m: (m.W, m.count), self, (w, self.count + patterns.shape[0]))

    def unlearn(self, patterns: Array, *, scale: float | Array | None = None) -> Hopfield:
        r"""Anti-Hebbian update, the negative of :meth:`store`: :math:`W \mathrel{-}= c
        \sum_\mu \xi^\mu\xi^{\mu\top}` (``scale`` :math:`c`, default :math:`1/N`), diagonal
        kept at zero. Unlearning a stored pattern removes exactly its term; ``count`` is
        unchanged. Pure and ``jit``-able."""
        c = 1.0 / self.W.shape[0] if scale is None else scale
        return eqx.tree_at(
            lambda m: m.W, self, self._zero_diagonal(self.W - c * (patterns.T @ patterns))
        )

    def _zero_diagonal(self, w: Array) -> Array:
        return w * (1.0 - jnp.eye(w.shape[0], dtype=w.dtype))

    def init_state(self, pattern: Array) -> Hopfield:
        """The model with state ``pattern``."""
        return eqx.tree_at(lambda m: m.s, self, jnp.asarray(pattern, self.W.dtype))

    def update(self, *, update: Update = Update.SYNC, key: PRNGKeyArray | None = None) -> Hopfield:
        """The model after one sweep of the dynamics (see :func:`sweep`)."""
        s = sweep(
            self.W,
            self.s,
            update=update,
            unit=self.unit,
            beta=self.beta,
            threshold=self.threshold,
            key=key,
        )
        return eqx.tree_at(lambda m: m.s, self, s)


def _as_patterns(data: Any, n: int, unit: Unit, what: str) -> np.ndarray:
    try:
        arr = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise PatternError(f"{what}: cannot read the patterns as a float array ({e}).") from e
    if arr.size == 0:
        raise ShapeError(f"{what}: no patterns given (empty data); pass at least one.")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ShapeError(f"{what}: patterns must be (P, {n}) or ({n},), got {arr.shape}.")
    if arr.shape[0] == 0:
        raise ShapeError(f"{what}: no patterns given (empty data); pass at least one.")
    if arr.shape[1] != n:
        raise ShapeError(
            f"{what}: patterns have {arr.shape[1]} entries but the memory has {n} units; "
            f"reshape/flatten them to length {n} or create Hopfield.create({arr.shape[1]})."
        )
    if not np.all(np.isfinite(arr)):
        raise PatternError(f"{what}: patterns contain NaN or inf.")
    if unit is Unit.SIGN and not np.all(np.abs(arr) == 1):
        bad = arr[np.abs(arr) != 1][:3].tolist()
        raise PatternError(
            f"{what}: a binary (Unit.SIGN) memory needs ±1 patterns, found values like {bad}; "
            "map {0,1} data with 2*x-1 or use Unit.TANH for graded patterns."
        )
    if unit is Unit.TANH and np.any(np.abs(arr) > 1):
        raise PatternError(f"{what}: Unit.TANH patterns must lie in [-1, 1].")
    return arr


class AbstractStorageTrainer(ProgressMixin):
    r"""The CANNs trainer interface for a :class:`Hopfield` memory, shared by
    :class:`HopfieldTrainer` (Hebbian storage) and :class:`AntiHebbianTrainer` (anti-Hebbian
    unlearning), which differ only in the sign :math:`\pm` of the update
    :math:`W \mathrel{\pm}= c \sum_\mu t^\mu t^{\mu\top}`, diagonal kept at zero.

    ``train(data)`` updates the weights (in compiled chunks, with a progress bar),
    ``predict(pattern)`` recalls one cue, ``predict_batch(patterns)`` recalls many in one
    compiled, vectorised call (``vmap``), ``configure_progress(show_progress, use_compile)``
    (or CANNs' ``show_iteration_progress`` / ``compiled_prediction``) switches the progress
    bar and compilation. The trained model is ``trainer.model``.

    Storage options, as CANNs' ``HebbianTrainer``, applied to the ``P`` patterns
    :math:`\xi^\mu` of one ``train`` call:

    * ``subtract_mean``: :math:`t^\mu = \xi^\mu - \rho` with :math:`\rho` the mean activity, the
      mean of all :math:`P N` entries (a scalar); otherwise :math:`t^\mu = \xi^\mu`.
    * ``normalize_by_patterns``: :math:`c = 1/P`; otherwise plastix's :math:`c = 1/N`.

    Recall uses the model's ``threshold``; ``predict_batch(patterns, key=k)`` equals
    ``predict(patterns[i], key=ki)`` with ``ki = jax.random.split(k, len(patterns))[i]``.
    """

    _sign: ClassVar[float]
    _verb: ClassVar[str]

    def __init__(
        self,
        model: Hopfield,
        *,
        update: Update = Update.ASYNC,
        steps: int = 10,
        chunk: int = 1024,
        subtract_mean: bool = False,
        normalize_by_patterns: bool = False,
        show_progress: bool = True,
        compile: bool = True,
    ) -> None:
        name = type(self).__name__
        if type(self) is AbstractStorageTrainer:
            raise TypeError(
                "AbstractStorageTrainer is abstract; use HopfieldTrainer or AntiHebbianTrainer."
            )
        if not isinstance(model, Hopfield):
            raise ConfigError(f"{name} needs a plastix.memory.Hopfield, got {type(model)}.")
        if not isinstance(update, Update):
            raise ConfigError(f"update must be a plastix.memory.Update, got {update!r}.")
        if steps < 1 or chunk < 1:
            raise ConfigError(f"steps={steps} and chunk={chunk} must be >= 1.")
        for opt, value in (
            ("subtract_mean", subtract_mean),
            ("normalize_by_patterns", normalize_by_patterns),
        ):
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"{name}: {opt} must be True or False, got {value!r}.")
        self.model = model
        self.update = update
        self.steps = steps
        self.chunk = chunk
        self.subtract_mean = bool(subtract_mean)
        self.normalize_by_patterns = bool(normalize_by_patterns)
        self.show_progress = show_progress
        self.use_compile = compile

    def _kw(self) -> dict[str, Any]:
        m = self.model
        return {"steps": self.steps, "update": self.update, "unit": m.unit, "beta": m.beta}

    def _patterns(self, data: Any, method: str) -> np.ndarray:
        m = self.model
        return _as_patterns(data, m.n, m.unit, f"{type(self).__name__}.{method}")

    def train(self, train_data: Any) -> Hopfield:
        """Update the weights with ``train_data`` (``(P, N)``, ±1 for a binary memory, values
        in ``[-1, 1]`` for a tanh memory); returns the new model (also ``self.model``)."""
        pats = self._patterns(train_data, "train")
        p, n = pats.shape
        if self.subtract_mean:
            pats = (pats - pats.mean(dtype=np.float64)).astype(np.float32)
        scale = jnp.asarray(1.0 / p if self.normalize_by_patterns else 1.0 / n, jnp.float32)
        if self._sign > 0:
            fn = _store_jit if self.use_compile else _store
        else:
            fn = _unlearn_jit if self.use_compile else _unlearn
        n_chunks = math.ceil(p / self.chunk)
        model = self.model
        for c in progress(
            range(n_chunks),
            desc=f"hopfield: {self._verb}",
            disable=not self.show_progress,
            leave=False,
        ):
            model = fn(model, jnp.asarray(pats[c * self.chunk : (c + 1) * self.chunk]), scale)
        self.model = model
        return model

    def _recall(self, pattern: Any, key: PRNGKeyArray | None, what: str) -> tuple[Array, Array]:
        """Recall from one cue ``(N,)``: the final state and the energy trace."""
        cue = self._patterns(pattern, what)
        if cue.shape[0] != 1:
            raise ShapeError(f"{what} takes one pattern ({self.model.n},); use predict_batch.")
        key = jax.random.key(0) if key is None else key
        f = _recall_one_jit if self.use_compile else _recall_one
        m = self.model
        return f(m.W, jnp.asarray(cue[0]), key, m.threshold, **self._kw())

    def predict(self, pattern: Any, *, key: PRNGKeyArray | None = None) -> Array:
        """Recall from one cue ``(N,)``; returns the final state ``(N,)``."""
        return self._recall(pattern, key, "predict")[0]

    def predict_batch(self, patterns: Any, *, key: PRNGKeyArray | None = None) -> Array:
        """Recall from cues ``(B, N)`` in one compiled, vectorised call; returns ``(B, N)``."""
        cues = self._patterns(patterns, "predict_batch")
        key = jax.random.key(0) if key is None else key
        keys = jax.random.split(key, cues.shape[0])
        f = _recall_batch_jit if self.use_compile else _recall_batch
        m = self.model
        return f(m.W, jnp.asarray(cues), keys, m.threshold, **self._kw())[0]

    def energy_trace(self, pattern: Any, *, key: PRNGKeyArray | None = None) -> Array:
        """Energy before and after each recall sweep from one cue, shape ``(steps + 1,)``."""
        return self._recall(pattern, key, "energy_trace")[1]


@final
class HopfieldTrainer(AbstractStorageTrainer):
    r"""Hebbian storage in a :class:`Hopfield` memory with the CANNs trainer interface (CANNs'
    ``HebbianTrainer``; also importable as :data:`HebbianTrainer`):
    :math:`W \mathrel{+}= c \sum_\mu t^\mu t^{\mu\top}`, :math:`c = 1/N` (or :math:`1/P` with
    ``normalize_by_patterns``), :math:`t^\mu = \xi^\mu` (or :math:`\xi^\mu - \rho` with
    ``subtract_mean``), diagonal zero. See :class:`AbstractStorageTrainer` for the interface.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.memory import Hopfield, HopfieldTrainer
    >>> xi = jnp.sign(jax.random.normal(jax.random.key(0), (3, 100)))
    >>> t = HopfieldTrainer(Hopfield.create(100), show_progress=False)
    >>> t.train(xi).count.item()
    3
    >>> bool((t.predict_batch(xi) == xi).all())
    True
    """

    _sign: ClassVar[float] = 1.0
    _verb: ClassVar[str] = "storing"


@final
class AntiHebbianTrainer(AbstractStorageTrainer):
    r"""Anti-Hebbian unlearning ("fire together, wire apart") with the CANNs trainer interface
    (CANNs' ``AntiHebbianTrainer``): the negative of :class:`HopfieldTrainer`'s update with the
    same options, :math:`W \mathrel{-}= c \sum_\mu t^\mu t^{\mu\top}`, diagonal zero; ``count``
    is unchanged. Unlearning the patterns just stored (same options) gives back the weights
    from before; from empty weights it gives exactly minus the Hebbian weights.

    >>> import jax.numpy as jnp
    >>> from plastix.memory import AntiHebbianTrainer, Hopfield, HopfieldTrainer
    >>> xi = jnp.array([[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]])
    >>> hebb = HopfieldTrainer(Hopfield.create(4), show_progress=False).train(xi)
    >>> anti = AntiHebbianTrainer(hebb, show_progress=False).train(xi[:1])
    >>> second = HopfieldTrainer(Hopfield.create(4), show_progress=False).train(xi[1:])
    >>> bool(jnp.allclose(anti.W, second.W))
    True
    """

    _sign: ClassVar[float] = -1.0
    _verb: ClassVar[str] = "unlearning"


HebbianTrainer = HopfieldTrainer
"""CANNs' name of :class:`HopfieldTrainer` (Hebbian storage in a Hopfield memory)."""


def _store(model: Hopfield, patterns: Array, scale: Array) -> Hopfield:
    return model.store(patterns, scale=scale)


def _unlearn(model: Hopfield, patterns: Array, scale: Array) -> Hopfield:
    return model.unlearn(patterns, scale=scale)


def _recall_one(
    w: Array,
    cue: Array,
    key: PRNGKeyArray,
    threshold: Array,
    *,
    steps: int,
    update: Update,
    unit: Unit,
    beta: float,
) -> tuple[Array, Array]:
    return recall(
        w, cue, steps=steps, update=update, unit=unit, beta=beta, threshold=threshold, key=key
    )


def _recall_batch(
    w: Array,
    cues: Array,
    keys: PRNGKeyArray,
    threshold: Array,
    *,
    steps: int,
    update: Update,
    unit: Unit,
    beta: float,
) -> tuple[Array, Array]:
    def one(c: Array, k: PRNGKeyArray) -> tuple[Array, Array]:
        return _recall_one(w, c, k, threshold, steps=steps, update=update, unit=unit, beta=beta)

    return jax.vmap(one)(cues, keys)


_STATIC = ("steps", "update", "unit", "beta")
_store_jit = eqx.filter_jit(_store)
_unlearn_jit = eqx.filter_jit(_unlearn)
_recall_one_jit = jax.jit(_recall_one, static_argnames=_STATIC)
_recall_batch_jit = jax.jit(_recall_batch, static_argnames=_STATIC)


def random_patterns(key: PRNGKeyArray, p: int, n: int) -> Array:
    """``p`` random ±1 patterns of length ``n`` (each entry ±1 with probability 1/2).

    >>> import jax
    >>> from plastix.memory import random_patterns
    >>> random_patterns(jax.random.key(0), 2, 5).shape
    (2, 5)
    """
    return jnp.where(jax.random.bernoulli(key, 0.5, (p, n)), 1.0, -1.0)


def capacity_curve(
    key: PRNGKeyArray,
    n: int,
    loads: Sequence[float],
    *,
    noise: float = 0.0,
    steps: int = 10,
    update: Update = Update.ASYNC,
    threshold: float = 0.95,
    trials: int = 1,
) -> list[dict[str, float]]:
    """Recall quality against the load :math:`\\alpha = P/N`: for each load, store
    ``round(alpha * n)`` random patterns, recall every one from a cue with a fraction
    ``noise`` of flipped bits, and report the mean final overlap and the fraction of patterns
    recalled with overlap >= ``threshold``. Theory (Amit, Gutfreund & Sompolinsky 1985):
    retrieval collapses near :math:`\\alpha_c \\approx 0.138` for large ``n``."""
    rows = []
    for alpha in loads:
        p = max(1, round(alpha * n))
        ms = []
        for t in range(trials):
            k1, k2, k3 = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, p), t), 3)
            xi = random_patterns(k1, p, n)
            tr = HopfieldTrainer(
                Hopfield.create(n), update=update, steps=steps, show_progress=False
            )
            tr.train(xi)
            cues = flip(k2, xi, noise) if noise > 0 else xi
            ms.append(np.asarray(overlap(tr.predict_batch(cues, key=k3), xi)))
        m = np.concatenate(ms)
        rows.append(
            {
                "alpha": p / n,
                "patterns": float(p),
                "mean_overlap": float(m.mean()),
                "recalled": float((m >= threshold).mean()),
            }
        )
    return rows
