r"""Hopfield associative memory and its CANNs-style trainer.

Storage is Hebbian, :math:`W = \frac1N\sum_\mu \xi^\mu \xi^{\mu\top}` with a zero diagonal;
recall runs the dynamics :math:`s_i \leftarrow \sigma(h_i)`, :math:`h = Ws`, either for all
units at once (``Update.SYNC``) or one unit at a time in a random order (``Update.ASYNC``,
one *sweep* = every unit once), with :math:`\sigma = \mathrm{sign}` (``Unit.SIGN``; a unit
with :math:`h_i = 0` keeps its state) or :math:`\tanh(\beta h)` (``Unit.TANH``). The energy
:math:`E(s) = -\tfrac12 s^\top W s` never increases under asynchronous sign updates.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray
from tqdm.auto import tqdm

from .._errors import ConfigError, PlastixError, ShapeError


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


def energy(w: Array, s: Array) -> Array:
    r"""Hopfield energy :math:`E(s) = -\tfrac12 s^\top W s` (over the last axis of ``s``).

    >>> import jax.numpy as jnp
    >>> from plastix.hebbian import energy
    >>> float(energy(jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.array([1.0, 1.0])))
    -1.0
    """
    return -0.5 * jnp.einsum("...i,ij,...j->...", s, w, s)


def sweep(
    w: Array,
    s: Array,
    *,
    update: Update = Update.ASYNC,
    unit: Unit = Unit.SIGN,
    beta: float = 1.0,
    key: PRNGKeyArray | None = None,
) -> Array:
    """One update of the state ``s`` (shape ``(N,)``): all units at once (``SYNC``), or every
    unit once in an order drawn from ``key`` (``ASYNC``; ``key`` is required).

    >>> import jax, jax.numpy as jnp
    >>> from plastix.hebbian import sweep, Update
    >>> xi = jnp.array([1.0, -1.0, 1.0])
    >>> w = (jnp.outer(xi, xi) - jnp.eye(3)) / 3
    >>> sweep(w, jnp.array([1.0, 1.0, 1.0]), update=Update.SYNC).tolist()
    [1.0, -1.0, 1.0]
    """
    if update is Update.SYNC:
        return _activate(w @ s, s, unit, beta)
    if key is None:
        raise ConfigError("sweep(update=Update.ASYNC) needs a PRNG key for the unit order.")
    return _async_sweep(w, s, _orders(key, None, s.shape[0]), unit, beta)


def _orders(key: PRNGKeyArray, steps: int | None, n: int) -> Array:
    """Random unit orders, ``(n,)`` or ``(steps, n)`` (argsort of uniforms: compiles fast
    under ``vmap``, unlike nested ``jax.random.permutation``)."""
    shape = (n,) if steps is None else (steps, n)
    return jnp.argsort(jax.random.uniform(key, shape), axis=-1)


def _async_sweep(w: Array, s: Array, order: Array, unit: Unit, beta: float) -> Array:
    def body(state: Array, i: Array) -> tuple[Array, None]:
        h = jnp.dot(jax.lax.dynamic_index_in_dim(w, i, keepdims=False), state)
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
    key: PRNGKeyArray | None = None,
) -> tuple[Array, Array]:
    """Run ``steps`` sweeps from ``cue`` (shape ``(N,)``); returns the final state and the
    energy before and after each sweep (shape ``(steps + 1,)``). Compiled with ``lax.scan``.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.hebbian import recall
    >>> xi = jnp.array([1.0, -1.0, 1.0, -1.0])
    >>> w = (jnp.outer(xi, xi) - jnp.eye(4)) / 4
    >>> s, e = recall(w, jnp.array([1.0, 1.0, 1.0, -1.0]), steps=2, key=jax.random.key(0))
    >>> s.tolist(), e.shape
    ([1.0, -1.0, 1.0, -1.0], (3,))
    """
    if update is Update.SYNC:

        def body(state: Array, _: Any) -> tuple[Array, Array]:
            new = _activate(w @ state, state, unit, beta)
            return new, energy(w, new)

        s, es = jax.lax.scan(body, cue, None, length=steps)
    else:
        if key is None:
            raise ConfigError("recall(update=Update.ASYNC) needs a PRNG key for the unit order.")

        def abody(state: Array, order: Array) -> tuple[Array, Array]:
            new = _async_sweep(w, state, order, unit, beta)
            return new, energy(w, new)

        s, es = jax.lax.scan(abody, cue, _orders(key, steps, cue.shape[0]))
    return s, jnp.concatenate([energy(w, cue)[None], es])


def overlap(a: Array, b: Array) -> Array:
    r"""Overlap :math:`m = \frac1N \sum_i a_i b_i` (1 for identical ±1 patterns), over the
    last axis.

    >>> import jax.numpy as jnp
    >>> from plastix.hebbian import overlap
    >>> float(overlap(jnp.array([1.0, -1.0, 1.0, 1.0]), jnp.array([1.0, -1.0, 1.0, -1.0])))
    0.5
    """
    return jnp.mean(a * b, axis=-1)


def flip(key: PRNGKeyArray, patterns: Array, fraction: float) -> Array:
    """Noisy cues: each pattern with exactly ``round(fraction * N)`` of its ±1 entries
    flipped, chosen independently per pattern.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.hebbian import flip
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


class Hopfield(eqx.Module):
    r"""A Hopfield network: weights ``W`` (``N x N``, symmetric, zero diagonal), state ``s``,
    ``energy`` of the state, and the number of stored patterns ``count``. Immutable: every
    method returns a new model.

    >>> import jax.numpy as jnp
    >>> from plastix.hebbian import Hopfield
    >>> m = Hopfield.create(4).store(jnp.array([[1.0, -1.0, 1.0, -1.0]]))
    >>> m = m.init_state(jnp.array([1.0, 1.0, 1.0, -1.0])).update()
    >>> m.s.tolist(), float(m.energy)
    ([1.0, -1.0, 1.0, -1.0], -1.5)
    """

    W: Array
    s: Array
    count: Array
    unit: Unit = eqx.field(static=True, default=Unit.SIGN)
    beta: float = eqx.field(static=True, default=1.0)

    def __check_init__(self) -> None:
        if self.W.ndim != 2 or self.W.shape[0] != self.W.shape[1]:
            raise ShapeError(f"Hopfield: W must be square (N, N), got {tuple(self.W.shape)}.")
        if self.s.shape != (self.W.shape[0],):
            raise ShapeError(f"Hopfield: s must have shape ({self.W.shape[0]},).")
        if not self.beta > 0:
            raise ConfigError(f"Hopfield: the tanh gain beta={self.beta} must be > 0.")

    @classmethod
    def create(cls, n: int, *, unit: Unit = Unit.SIGN, beta: float = 1.0) -> Hopfield:
        """An empty memory of ``n`` units (zero weights, state all +1)."""
        if not isinstance(n, int) or n <= 0:
            raise ShapeError(f"Hopfield.create: n={n!r} must be a positive int.")
        if not isinstance(unit, Unit):
            raise ConfigError(
                f"Hopfield.create: unit must be a plastix.hebbian.Unit, got {unit!r}."
            )
        return cls(jnp.zeros((n, n)), jnp.ones((n,)), jnp.zeros((), jnp.int32), unit, beta)

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.W.shape[0])

    @property
    def energy(self) -> Array:
        """Energy of the current state."""
        return energy(self.W, self.s)

    def store(self, patterns: Array) -> Hopfield:
        r"""Add patterns ``(P, N)`` by the Hebb rule :math:`W \mathrel{+}= \frac1N \sum_\mu
        \xi^\mu\xi^{\mu\top}`, diagonal kept at zero. Pure and ``jit``-able (no checks:
        :class:`HopfieldTrainer` validates)."""
        dw = patterns.T @ patterns / self.W.shape[0]
        w = (self.W + dw) * (1.0 - jnp.eye(self.W.shape[0], dtype=self.W.dtype))
        return eqx.tree_at(lambda m: (m.W, m.count), self, (w, self.count + patterns.shape[0]))

    def init_state(self, pattern: Array) -> Hopfield:
        """The model with state ``pattern``."""
        return eqx.tree_at(lambda m: m.s, self, jnp.asarray(pattern, self.W.dtype))

    def update(self, *, update: Update = Update.SYNC, key: PRNGKeyArray | None = None) -> Hopfield:
        """The model after one sweep of the dynamics (see :func:`sweep`)."""
        s = sweep(self.W, self.s, update=update, unit=self.unit, beta=self.beta, key=key)
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


class HopfieldTrainer:
    """The CANNs trainer interface for a :class:`Hopfield` memory: ``train(data)`` stores
    patterns (in compiled chunks, with a progress bar), ``predict(pattern)`` recalls one,
    ``predict_batch(patterns)`` recalls many in one compiled, vectorised call (``vmap``),
    ``configure_progress(show_progress, use_compile)`` as in CANNs. The trained model is
    ``trainer.model``.

    ``predict_batch(patterns, key=k)`` equals ``predict(patterns[i], key=ki)`` with
    ``ki = jax.random.split(k, len(patterns))[i]``.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.hebbian import Hopfield, HopfieldTrainer
    >>> xi = jnp.sign(jax.random.normal(jax.random.key(0), (3, 100)))
    >>> t = HopfieldTrainer(Hopfield.create(100), show_progress=False)
    >>> t.train(xi).count.item()
    3
    >>> bool((t.predict_batch(xi) == xi).all())
    True
    """

    def __init__(
        self,
        model: Hopfield,
        *,
        update: Update = Update.ASYNC,
        steps: int = 10,
        chunk: int = 1024,
        show_progress: bool = True,
        compile: bool = True,
    ) -> None:
        if not isinstance(model, Hopfield):
            raise ConfigError(
                f"HopfieldTrainer needs a plastix.hebbian.Hopfield, got {type(model)}."
            )
        if not isinstance(update, Update):
            raise ConfigError(f"update must be a plastix.hebbian.Update, got {update!r}.")
        if steps < 1 or chunk < 1:
            raise ConfigError(f"steps={steps} and chunk={chunk} must be >= 1.")
        self.model = model
        self.update = update
        self.steps = steps
        self.chunk = chunk
        self.show_progress = show_progress
        self.use_compile = compile

    def configure_progress(self, show_progress: bool = True, use_compile: bool = True) -> None:
        """Turn the progress bar and JIT compilation on or off (off: easier debugging)."""
        self.show_progress = show_progress
        self.use_compile = use_compile

    def _kw(self) -> dict[str, Any]:
        m = self.model
        return {"steps": self.steps, "update": self.update, "unit": m.unit, "beta": m.beta}

    def train(self, train_data: Any) -> Hopfield:
        """Store ``train_data`` (``(P, N)``, ±1 for a binary memory); returns the new model."""
        pats = _as_patterns(train_data, self.model.n, self.model.unit, "HopfieldTrainer.train")
        store = _store_jit if self.use_compile else _store
        n_chunks = math.ceil(pats.shape[0] / self.chunk)
        model = self.model
        for c in tqdm(
            range(n_chunks), desc="hopfield: storing", disable=not self.show_progress, leave=False
        ):
            model = store(model, jnp.asarray(pats[c * self.chunk : (c + 1) * self.chunk]))
        self.model = model
        return model

    def predict(self, pattern: Any, *, key: PRNGKeyArray | None = None) -> Array:
        """Recall from one cue ``(N,)``; returns the final state ``(N,)``."""
        cue = _as_patterns(pattern, self.model.n, self.model.unit, "HopfieldTrainer.predict")
        if cue.shape[0] != 1:
            raise ShapeError(f"predict takes one pattern ({self.model.n},); use predict_batch.")
        key = jax.random.key(0) if key is None else key
        f = _recall_one_jit if self.use_compile else _recall_one
        return f(self.model.W, jnp.asarray(cue[0]), key, **self._kw())[0]

    def predict_batch(self, patterns: Any, *, key: PRNGKeyArray | None = None) -> Array:
        """Recall from cues ``(B, N)`` in one compiled, vectorised call; returns ``(B, N)``."""
        cues = _as_patterns(
            patterns, self.model.n, self.model.unit, "HopfieldTrainer.predict_batch"
        )
        key = jax.random.key(0) if key is None else key
        keys = jax.random.split(key, cues.shape[0])
        f = _recall_batch_jit if self.use_compile else _recall_batch
        return f(self.model.W, jnp.asarray(cues), keys, **self._kw())[0]

    def energy_trace(self, pattern: Any, *, key: PRNGKeyArray | None = None) -> Array:
        """Energy before and after each recall sweep from one cue, shape ``(steps + 1,)``."""
        cue = _as_patterns(pattern, self.model.n, self.model.unit, "HopfieldTrainer.energy_trace")
        if cue.shape[0] != 1:
            raise ShapeError(f"energy_trace takes one pattern ({self.model.n},).")
        key = jax.random.key(0) if key is None else key
        f = _recall_one_jit if self.use_compile else _recall_one
        return f(self.model.W, jnp.asarray(cue[0]), key, **self._kw())[1]


def _store(model: Hopfield, patterns: Array) -> Hopfield:
    return model.store(patterns)


def _recall_one(
    w: Array, cue: Array, key: PRNGKeyArray, *, steps: int, update: Update, unit: Unit, beta: float
) -> tuple[Array, Array]:
    return recall(w, cue, steps=steps, update=update, unit=unit, beta=beta, key=key)


def _recall_batch(
    w: Array,
    cues: Array,
    keys: PRNGKeyArray,
    *,
    steps: int,
    update: Update,
    unit: Unit,
    beta: float,
) -> tuple[Array, Array]:
    def one(c: Array, k: PRNGKeyArray) -> tuple[Array, Array]:
        return _recall_one(w, c, k, steps=steps, update=update, unit=unit, beta=beta)

    return jax.vmap(one)(cues, keys)


_STATIC = ("steps", "update", "unit", "beta")
_store_jit = eqx.filter_jit(_store)
_recall_one_jit = jax.jit(_recall_one, static_argnames=_STATIC)
_recall_batch_jit = jax.jit(_recall_batch, static_argnames=_STATIC)


def random_patterns(key: PRNGKeyArray, p: int, n: int) -> Array:
    """``p`` random ±1 patterns of length ``n`` (each entry ±1 with probability 1/2).

    >>> import jax
    >>> from plastix.hebbian import random_patterns
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
