r"""Spike-timing-dependent plasticity (pair-based, with traces) on leaky integrate-and-fire
neurons, simulated with one compiled ``lax.scan`` over time steps.

**LIF** (time step :math:`\Delta t`, delta synapses):
:math:`v \leftarrow v + \frac{\Delta t}{\tau_m}(v_\mathrm{rest} - v + R I_\mathrm{ext})
+ s_\mathrm{pre} W`; a neuron spikes when :math:`v \ge v_\mathrm{th}` and is reset to
:math:`v_\mathrm{reset}`.

**Pair-based STDP with traces** (all-to-all pairing): a pre-synaptic trace
:math:`x \leftarrow x\,e^{-\Delta t/\tau_+} + s_\mathrm{pre}` and a post-synaptic trace
:math:`y \leftarrow y\,e^{-\Delta t/\tau_-} + s_\mathrm{post}`; at each step

.. math:: \Delta W_{ij} = A_+\, x_i\, s_{\mathrm{post},j} - A_-\, s_{\mathrm{pre},i}\, y_j,

clipped to :math:`[w_\mathrm{min}, w_\mathrm{max}]`. For one pre spike at :math:`t_\mathrm{pre}`
and one post spike at :math:`t_\mathrm{post}`, :math:`\Delta t = t_\mathrm{post} -
t_\mathrm{pre}`, this gives exactly the window :math:`A_+ e^{-\Delta t/\tau_+}` for
:math:`\Delta t \ge 0` (pre before post: potentiation) and :math:`-A_- e^{\Delta t/\tau_-}`
for :math:`\Delta t < 0` (post before pre: depression).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._errors import ConfigError, ShapeError
from .._progress import progress
from ._progress import ProgressMixin


class STDP(eqx.Module):
    """Pair-based STDP parameters (times in the same unit as ``dt``, e.g. ms)."""

    a_plus: float = eqx.field(static=True, default=0.01)
    a_minus: float = eqx.field(static=True, default=0.012)
    tau_plus: float = eqx.field(static=True, default=20.0)
    tau_minus: float = eqx.field(static=True, default=20.0)
    w_min: float = eqx.field(static=True, default=0.0)
    w_max: float = eqx.field(static=True, default=1.0)

    def __check_init__(self) -> None:
        if self.tau_plus <= 0 or self.tau_minus <= 0:
            raise ConfigError("STDP: tau_plus and tau_minus must be > 0.")
        if self.a_plus < 0 or self.a_minus < 0:
            raise ConfigError("STDP: a_plus and a_minus are magnitudes and must be >= 0.")
        if self.w_min > self.w_max:
            raise ConfigError(f"STDP: w_min={self.w_min} > w_max={self.w_max}.")

    def window(self, delta_t: Array) -> Array:
        r"""The pair window :math:`\Delta W(\Delta t)`, :math:`\Delta t = t_\mathrm{post} -
        t_\mathrm{pre}`.

        >>> from plastix.memory import STDP
        >>> r = STDP(a_plus=1.0, a_minus=0.5, tau_plus=10.0, tau_minus=10.0)
        >>> [round(float(r.window(t)), 4) for t in (0.0, 10.0, -10.0)]
        [1.0, 0.3679, -0.1839]
        """
        delta_t = jnp.asarray(delta_t, jnp.float32)
        return jnp.where(
            delta_t >= 0,
            self.a_plus * jnp.exp(-delta_t / self.tau_plus),
            -self.a_minus * jnp.exp(delta_t / self.tau_minus),
        )


class LIF(eqx.Module):
    """Leaky integrate-and-fire parameters (``dt`` and ``tau_m`` in the same time unit)."""

    tau_m: float = eqx.field(static=True, default=20.0)
    v_rest: float = eqx.field(static=True, default=0.0)
    v_reset: float = eqx.field(static=True, default=0.0)
    v_th: float = eqx.field(static=True, default=1.0)
    resistance: float = eqx.field(static=True, default=1.0)
    dt: float = eqx.field(static=True, default=1.0)

    def __check_init__(self) -> None:
        if self.tau_m <= 0 or self.dt <= 0:
            raise ConfigError("LIF: tau_m and dt must be > 0.")
        if self.v_reset >= self.v_th:
            raise ConfigError(f"LIF: v_reset={self.v_reset} must be below v_th={self.v_th}.")


def _check_trains(w: Array, pre: Array, post: Array | None) -> None:
    if w.ndim != 2:
        raise ShapeError(f"STDP: w must be (n_pre, n_post), got {tuple(w.shape)}.")
    if pre.ndim != 2 or pre.shape[1] != w.shape[0]:
        raise ShapeError(
            f"STDP: pre-synaptic spikes must be (T, {w.shape[0]}), got {tuple(pre.shape)}."
        )
    if pre.shape[0] == 0:
        raise ShapeError("STDP: the spike trains are empty (T = 0).")
    if post is not None and post.shape != (pre.shape[0], w.shape[1]):
        raise ShapeError(
            f"STDP: post-synaptic spikes must be ({pre.shape[0]}, {w.shape[1]}), "
            f"got {tuple(post.shape)}."
        )


def stdp_trains(
    w: Array, pre: Array, post: Array, rule: STDP | None = None, *, dt: float = 1.0
) -> Array:
    """Apply pair-based STDP to given spike trains ``pre`` ``(T, n_pre)`` and ``post``
    ``(T, n_post)`` (0/1 per step); returns the final weights ``(n_pre, n_post)``.

    >>> import jax.numpy as jnp
    >>> from plastix.memory import STDP, stdp_trains
    >>> pre = jnp.zeros((30, 1)).at[5, 0].set(1.0)
    >>> post = jnp.zeros((30, 1)).at[15, 0].set(1.0)
    >>> r = STDP(a_plus=0.1, w_max=10.0)
    >>> float(stdp_trains(jnp.ones((1, 1)), pre, post, r)[0, 0]) > 1.0
    True
    """
    _check_trains(w, pre, post)
    rule = STDP() if rule is None else rule
    dec_p, dec_m = jnp.exp(-dt / rule.tau_plus), jnp.exp(-dt / rule.tau_minus)

    def body(carry: tuple[Array, Array, Array], s: tuple[Array, Array]) -> tuple[Any, None]:
        w, x, y = carry
        sp, so = s
        x = x * dec_p + sp
        w = (
            w
            + rule.a_plus * x[:, None] * so[None, :]
            - rule.a_minus * sp[:, None] * (y * dec_m)[None, :]
        )
        y = y * dec_m + so
        return (jnp.clip(w, rule.w_min, rule.w_max), x, y), None

    init = (w, jnp.zeros(w.shape[0], w.dtype), jnp.zeros(w.shape[1], w.dtype))
    (w, _, _), _ = jax.lax.scan(body, init, (pre.astype(w.dtype), post.astype(w.dtype)))
    return w


def lif_stdp(
    w: Array,
    pre: Array,
    *,
    lif: LIF | None = None,
    rule: STDP | None = None,
    i_ext: Array | None = None,
    plastic: bool = True,
) -> tuple[Array, Array, Array]:
    """Simulate LIF neurons ``(n_post,)`` driven by pre-synaptic spikes ``pre`` ``(T, n_pre)``
    through ``w`` (plus an optional external current ``i_ext`` ``(T, n_post)``), learning
    ``w`` by STDP when ``plastic``. Returns ``(w_final, post_spikes (T, n_post),
    v (T, n_post))``. One compiled ``lax.scan``.

    >>> import jax.numpy as jnp
    >>> from plastix.memory import lif_stdp
    >>> pre = jnp.zeros((50, 1)).at[10, 0].set(1.0)
    >>> w, post, v = lif_stdp(jnp.full((1, 1), 2.0), pre, plastic=False)
    >>> int(post.argmax())
    10
    """
    _check_trains(w, pre, None)
    lif = LIF() if lif is None else lif
    rule = STDP() if rule is None else rule
    if i_ext is not None and i_ext.shape != (pre.shape[0], w.shape[1]):
        raise ShapeError(f"lif_stdp: i_ext must be ({pre.shape[0]}, {w.shape[1]}).")
    dt = lif.dt
    dec_p, dec_m = jnp.exp(-dt / rule.tau_plus), jnp.exp(-dt / rule.tau_minus)
    ext = jnp.zeros((pre.shape[0], w.shape[1]), w.dtype) if i_ext is None else i_ext

    def body(carry: tuple[Array, ...], s: tuple[Array, Array]) -> tuple[Any, tuple[Array, Array]]:
        w, v, x, y = carry
        sp, ie = s
        v = v + dt / lif.tau_m * (lif.v_rest - v + lif.resistance * ie) + sp @ w
        so = (v >= lif.v_th).astype(w.dtype)
        v_out = v
        v = jnp.where(so > 0, lif.v_reset, v)
        x = x * dec_p + sp
        if plastic:
            dw = (
                rule.a_plus * x[:, None] * so[None, :]
                - rule.a_minus * sp[:, None] * (y * dec_m)[None, :]
            )
            w = jnp.clip(w + dw, rule.w_min, rule.w_max)
        y = y * dec_m + so
        return (w, v, x, y), (so, v_out)

    n_post = w.shape[1]
    init = (
        w,
        jnp.full(n_post, lif.v_rest, w.dtype),
        jnp.zeros(w.shape[0], w.dtype),
        jnp.zeros(n_post, w.dtype),
    )
    (w, _, _, _), (post, v) = jax.lax.scan(body, init, (pre.astype(w.dtype), ext))
    return w, post, v


def _as_inputs(data: Any, n_pre: int, what: str, layouts: dict[int, str]) -> np.ndarray:
    """The inputs as a float32 array whose rank is a key of ``layouts`` (rank -> shape text)
    and whose last axis has ``n_pre`` entries."""
    try:
        x = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ShapeError(f"{what}: cannot read the inputs as a float array ({e}).") from e
    if x.size == 0:
        raise ShapeError(f"{what}: empty inputs; pass at least one time step.")
    if x.ndim not in layouts:
        want = " or ".join(layouts.values())
        raise ShapeError(f"{what}: inputs must be {want} with n_pre={n_pre}, got {x.shape}.")
    if x.shape[-1] != n_pre:
        raise ShapeError(
            f"{what}: inputs have {x.shape[-1]} channels but w has {n_pre} pre-synaptic "
            f"inputs (w is (n_pre, n_post)); give each time step {n_pre} values."
        )
    if not np.all(np.isfinite(x)):
        raise ShapeError(f"{what}: inputs contain NaN or inf.")
    return x


class STDPTrainer(ProgressMixin):
    r"""The CANNs trainer interface for STDP on a layer of LIF neurons (CANNs'
    ``STDPTrainer``): weights ``w`` ``(n_pre, n_post)`` learn by pair-based STDP
    (:class:`STDP`, the window :math:`A_+ e^{-\Delta t/\tau_+}` /
    :math:`-A_- e^{\Delta t/\tau_-}`) while the post-synaptic :class:`LIF` neurons are driven by
    the inputs through ``w`` (:func:`lif_stdp`).

    An input *trial* is a sequence of time steps ``(T, n_pre)``: spike trains (0/1) or graded
    inputs such as rates or currents in ``[0, 1]``, delivered as they are (the pre-synaptic
    trace adds the value, the membrane gets :math:`x W`); draw Poisson spikes from rates with
    ``jax.random.bernoulli(key, rates, (T, n_pre))`` if wanted. Every trial starts from rest
    (:math:`v = v_\mathrm{rest}`, zero traces).

    * ``train(data)``: ``(T, n_pre)`` (one trial) or ``(B, T, n_pre)`` (trials learned one
      after the other); each of ``epochs`` epochs is one compiled ``lax.scan`` over the
      trials; returns the new weights (also ``self.w``).
    * ``predict(pattern)``: the output spikes of a trial ``(T, n_pre)`` -> ``(T, n_post)``
      with the weights frozen; a single time step ``(n_pre,)`` -> ``(n_post,)``, from rest,
      i.e. :math:`[xW \ge v_\mathrm{th}]` for :math:`v_\mathrm{rest} = 0`.
    * ``predict_batch(patterns)``: ``predict`` of each pattern in one compiled ``vmap``:
      ``(B, T, n_pre)`` -> ``(B, T, n_post)``, ``(B, n_pre)`` -> ``(B, n_post)``.
    * ``configure_progress(show_progress, use_compile)`` (or CANNs' names
      ``show_iteration_progress`` / ``compiled_prediction``): the progress bar over epochs and
      the compilation.

    >>> import jax.numpy as jnp
    >>> from plastix.memory import LIF, STDP, STDPTrainer
    >>> pre = jnp.zeros((30, 2)).at[5, 1].set(1.0).at[15, 0].set(1.0)  # 1 fires 10 steps early
    >>> rule = STDP(a_plus=0.1, a_minus=0.1, tau_plus=10.0, w_max=2.0)
    >>> t = STDPTrainer(jnp.array([[1.5], [0.2]]), rule=rule, lif=LIF(), show_progress=False)
    >>> round(float(t.train(pre)[1, 0]) - 0.2, 4)  # A+ exp(-10 / 10)
    0.0368
    >>> t.predict(jnp.array([1.0, 0.0])).tolist()
    [1.0]
    """

    def __init__(
        self,
        w: Array,
        *,
        rule: STDP | None = None,
        lif: LIF | None = None,
        epochs: int = 1,
        show_progress: bool = True,
        compile: bool = True,
    ) -> None:
        w = jnp.asarray(w)
        if w.ndim != 2:
            raise ShapeError(f"STDPTrainer: w must be (n_pre, n_post), got shape {tuple(w.shape)}.")
        if not jnp.issubdtype(w.dtype, jnp.floating):
            w = w.astype(jnp.result_type(float))
        if rule is not None and not isinstance(rule, STDP):
            raise ConfigError(f"STDPTrainer: rule must be a plastix.memory.STDP, got {rule!r}.")
        if lif is not None and not isinstance(lif, LIF):
            raise ConfigError(f"STDPTrainer: lif must be a plastix.memory.LIF, got {lif!r}.")
        if not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"STDPTrainer: epochs={epochs!r} must be an int >= 1.")
        self.w = w
        self.rule = STDP() if rule is None else rule
        self.lif = LIF() if lif is None else lif
        self.epochs = epochs
        self.show_progress = show_progress
        self.use_compile = compile

    def train(self, train_data: Any) -> Array:
        """Learn from one trial ``(T, n_pre)`` or trials ``(B, T, n_pre)``; returns ``w``."""
        x = _as_inputs(
            train_data,
            self.w.shape[0],
            "STDPTrainer.train",
            {2: "(T, n_pre)", 3: "(B, T, n_pre)"},
        )
        xs = jnp.asarray(x if x.ndim == 3 else x[None], self.w.dtype)
        f = _train_trials_jit if self.use_compile else _train_trials
        for _ in progress(range(self.epochs), desc="stdp", disable=not self.show_progress):
            self.w = f(self.w, xs, self.lif, self.rule)
        return self.w

    def predict(self, pattern: Any) -> Array:
        """Output spikes of one trial ``(T, n_pre)`` -> ``(T, n_post)``, or of one time step
        ``(n_pre,)`` -> ``(n_post,)``; the weights are not changed."""
        x = _as_inputs(
            pattern,
            self.w.shape[0],
            "STDPTrainer.predict (one pattern; predict_batch for several)",
            {1: "(n_pre,)", 2: "(T, n_pre)"},
        )
        out = self._run(x[None, None] if x.ndim == 1 else x[None])[0]
        return out[0] if x.ndim == 1 else out

    def predict_batch(self, patterns: Any) -> Array:
        """``predict`` of each pattern: ``(B, T, n_pre)`` -> ``(B, T, n_post)``, or
        ``(B, n_pre)`` -> ``(B, n_post)`` (single time steps), in one compiled call."""
        x = _as_inputs(
            patterns,
            self.w.shape[0],
            "STDPTrainer.predict_batch",
            {2: "(B, n_pre)", 3: "(B, T, n_pre)"},
        )
        out = self._run(x[:, None] if x.ndim == 2 else x)
        return out[:, 0] if x.ndim == 2 else out

    def _run(self, x: np.ndarray) -> Array:
        f = _spikes_jit if self.use_compile else _spikes
        return f(self.w, jnp.asarray(x, self.w.dtype), self.lif, self.rule)


def _train_trials(w: Array, trials: Array, lif: LIF, rule: STDP) -> Array:
    def body(w: Array, pre: Array) -> tuple[Array, None]:
        return lif_stdp(w, pre, lif=lif, rule=rule)[0], None

    return jax.lax.scan(body, w, trials)[0]


def _spikes(w: Array, trials: Array, lif: LIF, rule: STDP) -> Array:
    return jax.vmap(lambda pre: lif_stdp(w, pre, lif=lif, rule=rule, plastic=False)[1])(trials)


_train_trials_jit = eqx.filter_jit(_train_trials)
_spikes_jit = eqx.filter_jit(_spikes)
