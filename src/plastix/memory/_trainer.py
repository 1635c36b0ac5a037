"""The CANNs trainer interface for the feedforward local rules (Oja, Sanger, Hebb, WTA,
Krotov-Hopfield, BCM, SoftHebb): ``train(data)`` runs whole epochs as one compiled
``lax.scan`` over minibatches each, ``predict`` / ``predict_batch`` give the layer's linear
response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, PRNGKeyArray

from .._errors import ConfigError, ShapeError
from .._progress import progress
from ._progress import ProgressMixin


class LocalTrainer(ProgressMixin):
    r"""Train a weight matrix ``w`` ``(in, out)`` with a local rule.

    ``rule(w, x) -> grads`` (the functions of :mod:`plastix.local`, e.g. ``oja``), or, when
    ``state`` is given, ``rule(w, x, state) -> (grads, state)`` (e.g.
    ``lambda w, x, th: bcm(w, th, x)`` with ``state=jnp.zeros(out)``). The optimizer applies
    the grads (default ``optax.sgd(0.01)``, i.e. :math:`W \leftarrow W + 0.01\,\Delta W`);
    ``post`` (e.g. :func:`normalise_columns`) is applied to ``w`` after each step. Each epoch
    shuffles the data with ``key`` and runs as one compiled scan (``compile=False``: no jit).
    ``configure_progress`` switches the progress bar over epochs and the compilation (CANNs'
    names ``show_iteration_progress`` / ``compiled_prediction`` work too). CANNs'
    ``OjaTrainer`` / ``SangerTrainer`` / ``BCMTrainer`` correspond to this class with ``oja``
    / ``sanger`` / ``bcm``, ``optimizer=optax.sgd(learning_rate)`` and ``batch_size=1``
    (``normalize_weights=True``: ``post=normalise_columns``); CANNs' weights are ``w.T``.

    >>> import jax, jax.numpy as jnp
    >>> from plastix.local import oja
    >>> from plastix.memory import LocalTrainer
    >>> x = jax.random.normal(jax.random.key(0), (512, 2)) * jnp.array([[3.0, 0.5]])
    >>> t = LocalTrainer(oja, 0.1 * jnp.ones((2, 1)), epochs=10, show_progress=False)
    >>> w = t.train(x)
    >>> abs(float(w[0, 0])) > 0.95, t.predict_batch(x[:4]).shape
    (True, (4, 1))
    """

    def __init__(
        self,
        rule: Callable[..., Any],
        w: Array,
        *,
        state: Any = None,
        optimizer: optax.GradientTransformation | None = None,
        batch_size: int = 32,
        epochs: int = 1,
        post: Callable[[Array], Array] | None = None,
        key: PRNGKeyArray | None = None,
        show_progress: bool = True,
        compile: bool = True,
    ) -> None:
        w = jnp.asarray(w)
        if w.ndim != 2:
            raise ShapeError(f"LocalTrainer: w must be (in, out), got shape {tuple(w.shape)}.")
        if batch_size < 1 or epochs < 1:
            raise ConfigError(f"batch_size={batch_size} and epochs={epochs} must be >= 1.")
        self.rule = rule
        self.w = w
        self.state = state
        self.optimizer = optax.sgd(0.01) if optimizer is None else optimizer
        self.opt_state = self.optimizer.init(w)
        self.batch_size = batch_size
        self.epochs = epochs
        self.post = post
        self.key = jax.random.key(0) if key is None else key
        self.show_progress = show_progress
        self.use_compile = compile
        self._epoch_fn: Any = None

    def _compile_changed(self) -> None:
        self._epoch_fn = None

    def _epoch(self) -> Any:
        if self._epoch_fn is not None:
            return self._epoch_fn
        stateful = self.state is not None

        def epoch(w: Array, opt_state: Any, state: Any, xs: Array) -> Any:
            def body(carry: Any, xb: Array) -> Any:
                w, s, st = carry
                if stateful:
                    g, st = self.rule(w, xb, st)
                else:
                    g = self.rule(w, xb)
                u, s = self.optimizer.update(g, s, w)
                w = optax.apply_updates(w, u)
                if self.post is not None:
                    w = self.post(w)
                return (w, s, st), None

            return jax.lax.scan(body, (w, opt_state, state), xs)[0]

        self._epoch_fn = jax.jit(epoch) if self.use_compile else epoch
        return self._epoch_fn

    def _check(self, data: Any, what: str) -> np.ndarray:
        x = np.asarray(data, np.float32)
        if x.size == 0:
            raise ShapeError(f"{what}: empty data; pass at least one sample.")
        if x.ndim == 1:
            x = x[None, :]
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.w.shape[0]:
            raise ShapeError(
                f"{what}: samples have {x.shape[1]} features but w has {self.w.shape[0]} inputs."
            )
        return x

    def train(self, train_data: Any) -> Array:
        """Run ``epochs`` epochs over ``train_data`` ``(samples, in)`` (or images, flattened);
        returns the trained weights (also ``self.w``). A last partial batch is dropped."""
        x = self._check(train_data, "LocalTrainer.train")
        n = x.shape[0] // self.batch_size
        if n == 0:
            raise ShapeError(
                f"LocalTrainer.train: {x.shape[0]} samples is less than one batch "
                f"({self.batch_size}); lower batch_size."
            )
        epoch = self._epoch()
        xj = jnp.asarray(x)
        for _ in progress(range(self.epochs), desc="local rule", disable=not self.show_progress):
            self.key, k = jax.random.split(self.key)
            perm = jax.random.permutation(k, x.shape[0])[: n * self.batch_size]
            xs = xj[perm].reshape(n, self.batch_size, -1)
            self.w, self.opt_state, self.state = epoch(self.w, self.opt_state, self.state, xs)
        return self.w

    def predict(self, pattern: Any) -> Array:
        """The linear response :math:`xW` of one sample ``(in,)``, shape ``(out,)``."""
        x = self._check(pattern, "LocalTrainer.predict")
        if x.shape[0] != 1:
            raise ShapeError("LocalTrainer.predict takes one sample; use predict_batch.")
        return jnp.asarray(x[0]) @ self.w

    def predict_batch(self, patterns: Any) -> Array:
        """The linear responses of samples ``(B, in)``, shape ``(B, out)``."""
        return jnp.asarray(self._check(patterns, "LocalTrainer.predict_batch")) @ self.w
