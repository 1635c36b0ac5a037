"""The Trainer: compiled epochs, evaluation, progress bar, metrics log, checkpoints, resume."""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._compile import ONCE, run_once
from .._errors import CheckpointError, ConfigError, DivergenceError, ShapeError, check_seed
from .._progress import progress
from ..data import ArrayDataset, DataLoader, Shards
from ..graph import Network
from ..rules import (
    AbstractFeatureRule,
    Rule,
    diagnose,
    gradient_check,
    require_gradient_estimate,
)
from ._checkpoint import atomic_write_text, latest_checkpoint, load_checkpoint, save_checkpoint
from ._options import TrainOptions
from ._run_dir import RUN_CONFIG, RunLock, config_differences, read_run_config, write_run_config

Augment = Callable[..., jax.Array]
_DEFAULTS = TrainOptions()


def _epoch_keys(seed: int, epoch: jax.Array, steps: int) -> jax.Array:
    """The raw data ``(steps, 2)`` of epoch ``epoch``'s per-step keys."""
    base = jax.random.fold_in(jax.random.key(seed), 1_000_003)
    return jax.random.key_data(jax.random.split(jax.random.fold_in(base, epoch), steps))


def _as_keys(keys: jax.Array) -> jax.Array:
    """Typed keys from keys or their raw data (the Trainer passes raw data: a numpy slice of
    it costs nothing, where slicing a key array compiles a program per slice)."""
    if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
        return keys
    return jax.random.wrap_key_data(keys)


def _batch_rows(batch_size: int, devices: Sequence[jax.Device]) -> tuple[int, int]:
    """The rows ``(lo, hi)`` of every batch that this process's devices hold when a batch is
    split over ``devices`` (a contiguous block: the mesh lists each process's devices
    together)."""
    mesh = Mesh(np.array(list(devices)), ("data",))
    spans = [
        idx[0]
        for idx in NamedSharding(mesh, P("data"))
        .addressable_devices_indices_map((batch_size,))
        .values()
        if idx is not None
    ]
    if not spans:
        raise ConfigError(
            f"none of the devices {list(devices)} belongs to this process; pass devices that "
            "include this process's own (jax.local_devices())."
        )
    lo = min(sp.start or 0 for sp in spans)
    hi = max(batch_size if sp.stop is None else sp.stop for sp in spans)
    return lo, hi


def local_shards(
    batch_size: int, shards: int = 0, devices: Sequence[jax.Device] | None = None
) -> Shards:
    """The shards of the training set this process needs when every batch of ``batch_size``
    rows is drawn from ``shards`` shards (:class:`~plastix.data.DataLoader`; 0: one per
    process) and split over ``devices`` (default: every device): read them with
    ``DataOptions.load(part=...)`` or ``load_dataset(rows=Shards.rows(n))`` and give the
    :class:`Trainer` that part.

    >>> import plastix as px
    >>> px.train.local_shards(128, 1)  # one process: everything
    Shards(count=1, first=0, stop=1)
    """
    count = shards or jax.process_count()
    devices = list(jax.devices() if devices is None else devices)
    if batch_size % count or batch_size % len(devices):
        raise ConfigError(
            f"batch_size {batch_size} must split into {count} shards' equal parts and over "
            f"{len(devices)} devices; use a multiple of {math.lcm(count, len(devices))}."
        )
    lo, hi = _batch_rows(batch_size, devices)
    part = batch_size // count
    return Shards(count, lo // part, -(-hi // part))


Carry = tuple[Any, Any, Any]
"""What training carries from step to step: ``(params, state, opt_state)``."""


def _scan(body: Any, carry: Carry, xs: Any) -> tuple[Carry, dict[str, jax.Array]]:
    """``lax.scan`` of ``body`` over the steps in ``xs``; a single step runs without a loop
    (the metrics still get their leading steps axis)."""
    if jax.tree.leaves(xs)[0].shape[0] == 1:
        carry, m = body(carry, jax.tree.map(lambda v: v[0], xs))
        return carry, jax.tree.map(lambda v: v[None], m)
    return jax.lax.scan(body, carry, xs)


@dataclass
class Trainer:
    """Train ``params`` of ``net`` with ``rule`` and an optax ``optimizer`` on ``train`` data.

    Each epoch runs inside compiled code: the data sit on the device once, and up to
    ``steps_per_call`` training steps run per compiled call (a ``lax.scan``; an epoch is cut
    into equal calls where a divisor of its steps allows, so one program is compiled), between
    which the progress bar updates. ``steps_per_call=1`` compiles one step without a loop: on
    XLA:CPU, convolutions inside a compiled loop run several times slower (5-25x measured on
    the CIFAR-10 conv nets, ``benchmarks/cpu_loop_convs.py``), so the wide conv presets use it.
    Everything random derives from ``seed``: the initial parameters, the batch order of each
    epoch and the per-step keys, so a run is reproducible and resumes exactly.

    With ``out_dir`` set, the run directory gets ``metrics.jsonl`` (one line per epoch),
    ``checkpoints/epoch-NNNN.npz`` (each epoch) and ``summary.json``; ``after_fit`` hooks
    (e.g. ``plastix.viz.plot_run`` for ``curves.png``) run at the end.

    After :meth:`fit`, ``params``, ``state`` (the rule's non-learned state, see
    :meth:`~plastix.rules.AbstractRule.init`) and ``opt_state`` hold where training ended.
    """

    net: Network
    rule: Rule
    optimizer: optax.GradientTransformation
    train: ArrayDataset
    test: ArrayDataset | None = None
    epochs: int = _DEFAULTS.epochs
    batch_size: int = _DEFAULTS.batch_size
    seed: int = _DEFAULTS.seed
    out_dir: str | Path | None = None
    augment: Augment | None = None
    steps_per_call: int = _DEFAULTS.steps_per_call
    eval_batch_size: int = _DEFAULTS.eval_batch_size
    shards: int = _DEFAULTS.shards
    """Draw every batch from this many contiguous shards of the training set, each shuffled
    on its own (``DataLoader(shards=...)``; 0: one per process). In a many-process run each
    process then needs only its own shards (:func:`local_shards`), and ``train`` may be just
    that part (``load_dataset(rows=...)``, ``DataOptions.load(part=...)``)."""
    cache_features: bool = _DEFAULTS.cache_features
    """For a rule that from some step on trains only a read-out on frozen features
    (:class:`~plastix.rules.AbstractFeatureRule`: SoftHebb and the Hebbian rules after their
    unsupervised phase), compute the features of the training and test data once, when the
    first epoch that is all read-out starts, and train and evaluate the read-out on them: the
    same steps, without running the frozen blocks at every step. Off with ``augment`` (the
    inputs change every epoch) and when each process feeds its own rows."""
    progress: bool = True
    keep_checkpoints: int = 2
    gradient_check: int = _DEFAULTS.gradient_check
    """If > 0, after every epoch compare the rule's update with the exact gradient
    (:func:`plastix.rules.gradient_check`) on the first ``gradient_check`` training samples and
    log ``grad_cosine``, ``grad_relative_norm`` and their per-edge lists (plotted as angles in
    ``alignment.png``)."""
    diagnostics: int = _DEFAULTS.diagnostics
    """If > 0 (predictive coding only), after every epoch log the diagnostics of the first
    ``diagnostics`` training samples (:func:`plastix.rules.diagnose`: per-node energies,
    activity and weight norms, the activity-Hessian condition number), plotted in
    ``diagnostics.png``."""
    devices: Sequence[jax.Device] | None = None
    """Data parallelism: each batch is split over these devices (a one-axis ``jax.sharding``
    mesh named ``"data"``; parameters and optimizer state are replicated and XLA inserts the
    all-reduces). Default: every device JAX sees (``jax.devices()``); one device trains
    unsharded. ``batch_size`` must be a multiple of their number."""
    config: dict[str, Any] = field(default_factory=dict)
    """The resolved configuration, recorded in ``summary.json`` (``rule.name`` and
    ``model.name`` name the run)."""
    after_fit: Sequence[Callable[[Path, dict[str, Any]], Any]] = ()
    """Called with the run directory and the summary after a fit that has an ``out_dir`` (on
    the first process): e.g. ``plastix.viz.plot_run``, which draws ``curves.png`` and
    ``alignment.png`` (the command line passes it; the loop itself writes data only)."""

    def __post_init__(self) -> None:
        for name, tp, hint in (
            ("rule", Rule, "a rule object such as plastix.PC()"),
            (
                "optimizer",
                optax.GradientTransformation,
                "an optax optimizer such as optax.adam(1e-3)",
            ),
            ("train", ArrayDataset, "a plastix.data.ArrayDataset (plastix.data.load_dataset)"),
            ("net", Network, "a plastix.Network (Network.from_example)"),
        ):
            if not isinstance(getattr(self, name), tp):
                raise ConfigError(f"Trainer({name}={getattr(self, name)!r}): expected {hint}.")
        if self.test is not None and not isinstance(self.test, ArrayDataset):
            raise ConfigError(f"Trainer(test={self.test!r}): expected an ArrayDataset or None.")
        if self.augment is not None and not callable(self.augment):
            raise ConfigError(
                f"Trainer(augment={self.augment!r}): expected a callable (x, *, key) -> x, e.g. "
                "plastix.data.RandomCrop(...); on the command line, data.augment names one."
            )
        if self.epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {self.epochs}.")
        n_train = len(self.train) if self.train.total is None else self.train.total
        if not 0 < self.batch_size <= n_train:
            raise ConfigError(
                f"batch_size must be in 1..{n_train} (the training set size), got {self.batch_size}."
            )
        if self.shards < 0:
            raise ConfigError(f"shards must be >= 0 (0: one per process), got {self.shards}.")
        if self.steps_per_call < 1:
            raise ConfigError(f"steps_per_call must be >= 1, got {self.steps_per_call}.")
        check_seed(self.seed, "seed")
        for name, ds in (("train", self.train), ("test", self.test)):
            if ds is None:
                continue
            self.net.check_input(ds.x[:1])
            out = self.net.node_shapes[self.net.output]
            if out != (ds.num_classes,):
                raise ShapeError(
                    f"the {name} set has {ds.num_classes} classes but the network's output node has "
                    f"shape {out}; build the model with num_classes={ds.num_classes}."
                )
        self.rule.check(self.net)
        devices = list(jax.devices() if self.devices is None else self.devices)
        if not devices:
            raise ConfigError("devices is empty; pass None (every device) or at least one device.")
        self._mesh = Mesh(np.array(devices), ("data",)) if len(devices) > 1 else None
        if self.batch_size % len(devices):
            raise ConfigError(
                f"batch_size {self.batch_size} does not split over {len(devices)} devices; use a "
                f"multiple of {len(devices)} or pass fewer devices (Trainer(devices=...), CLI "
                "--devices N)."
            )
        # the batch order of each epoch depends only on (seed, epoch, shards): exact resume
        self._shards = self.shards or jax.process_count()
        self._loader = DataLoader(self.train, self.batch_size, seed=self.seed, shards=self._shards)
        self.steps_per_epoch = len(self._loader)
        self.rule = self.rule.bind(steps_per_epoch=self.steps_per_epoch)
        self._num_classes = self.train.num_classes
        self._chunk = jax.jit(self._run_chunk, donate_argnums=(0,))
        self._keys_exe: Any = None  # the compiled program of an epoch's keys (see _keys)
        # with many processes each one feeds only its devices' rows of every batch
        self._fed = self._mesh is not None and jax.process_count() > 1
        if not self.train.whole and (self.gradient_check or self.diagnostics):
            raise ConfigError(
                "gradient_check and diagnostics look at the first training samples, which "
                f"only the process holding them has ({self.train!r}); set them to 0 in a run "
                "whose processes read their own shards."
            )
        if not self.train.whole:
            self._check_part(devices)
        self._chunk_fed = jax.jit(self._run_chunk_fed, donate_argnums=(0,))
        # the inputs' shape and dtype are all a per-example state is made from
        self._train_shape = jax.ShapeDtypeStruct(self.train.x.shape, self.train.x.dtype)
        one = jax.ShapeDtypeStruct((1, *self.train.x.shape[1:]), self.train.x.dtype)
        example = self.rule.per_example_state(self.net, one)
        self._per_example = example is not None
        if self._per_example and self._fed:
            raise ConfigError(
                f"{self.rule.name} keeps a state per training example (persistent=True), which "
                "needs every example's index on every process; run it in one process (drop "
                "--num-processes), or without persistent states."
            )
        self._eval = jax.jit(self._evaluate)
        self._eval_feat = jax.jit(self._evaluate_features)
        self._chunk_feat = jax.jit(self._run_chunk_features, donate_argnums=(0,))
        self._feat_batch = jax.jit(
            lambda p, s, x: self.rule.features(self.net, p, s, x)  # type: ignore[attr-defined]
        )
        if self.gradient_check < 0 or self.gradient_check > len(self.train):
            raise ConfigError(
                f"gradient_check must be in 0..{len(self.train)} (samples), got {self.gradient_check}."
            )
        if self.gradient_check:  # fail now, not after the first epoch
            require_gradient_estimate(self.rule)
        self._check = jax.jit(
            lambda p, s, x, y: gradient_check(self.rule, self.net, p, (x, y), state=s)
        )
        if not 0 <= self.diagnostics <= len(self.train):
            raise ConfigError(
                f"diagnostics must be in 0..{len(self.train)} (samples), got {self.diagnostics}."
            )
        if self.diagnostics:  # fail now, not after the first epoch
            jax.eval_shape(
                lambda p, b: diagnose(self.rule, self.net, p, b),
                self.net.init(key=jax.random.key(0)),
                self._first(1),
            )
        self._diagnose = jax.jit(lambda p, x, y: diagnose(self.rule, self.net, p, (x, y)))

    # --- compiled pieces ----------------------------------------------------------------------

    def _train_step(
        self,
        carry: Carry,
        x: jax.Array,
        labels: jax.Array,
        key: jax.Array,
        bidx: jax.Array | None = None,
    ) -> tuple[Carry, dict[str, jax.Array]]:
        akey, rkey = jax.random.split(key)
        x = self._split(x)
        if self.augment is not None:
            x = self.augment(x, key=akey)
        y = self._split(jax.nn.one_hot(labels, self._num_classes, dtype=jnp.float32))
        params, state, opt_state = carry
        if self._per_example:  # the batch's rows of the per-example state, written back after
            assert bidx is not None
            rows = jax.tree.map(lambda b: b[bidx], state)
            params, rows, opt_state, m = self.rule.step(
                self.net, params, rows, opt_state, self.optimizer, (x, y), key=rkey
            )
            state = jax.tree.map(lambda b, r: b.at[bidx].set(r), state, rows)
            return (params, state, opt_state), m
        params, state, opt_state, m = self.rule.step(
            self.net, params, state, opt_state, self.optimizer, (x, y), key=rkey
        )
        return (params, state, opt_state), m

    def _run_chunk(
        self,
        carry: Carry,
        xs: jax.Array,
        ys: jax.Array,
        idx: jax.Array,
        keys: jax.Array,
    ) -> tuple[Carry, dict[str, jax.Array]]:
        def body(carry: Carry, inp: Any) -> tuple[Carry, Any]:
            bidx, key = inp
            return self._train_step(carry, xs[bidx], ys[bidx], key, bidx)

        return _scan(body, carry, (idx, _as_keys(keys)))

    def _train_step_features(
        self, carry: Carry, f: jax.Array, labels: jax.Array, key: jax.Array
    ) -> tuple[Carry, dict[str, jax.Array]]:
        """:meth:`_train_step` of a read-out-only step, on the inputs' cached features (the
        same key split, so the same dropout masks)."""
        assert isinstance(self.rule, AbstractFeatureRule)
        _, rkey = jax.random.split(key)
        f = self._split(f)
        y = self._split(jax.nn.one_hot(labels, self._num_classes, dtype=jnp.float32))
        params, state, opt_state = carry
        params, state, opt_state, m = self.rule.feature_step(
            self.net, params, state, opt_state, self.optimizer, (f, y), key=rkey
        )
        return (params, state, opt_state), m

    def _run_chunk_features(
        self, carry: Carry, fs: jax.Array, ys: jax.Array, idx: jax.Array, keys: jax.Array
    ) -> tuple[Carry, dict[str, jax.Array]]:
        def body(carry: Carry, inp: Any) -> tuple[Carry, Any]:
            bidx, key = inp
            return self._train_step_features(carry, fs[bidx], ys[bidx], key)

        return _scan(body, carry, (idx, _as_keys(keys)))

    def _run_chunk_fed(
        self, carry: Carry, xb: jax.Array, yb: jax.Array, keys: jax.Array
    ) -> tuple[Carry, dict[str, jax.Array]]:
        """:meth:`_run_chunk` on batches given whole, ``(steps, batch, ...)``, their batch axis
        sharded over the devices (each process supplied its own rows)."""

        def body(carry: Carry, inp: Any) -> tuple[Carry, Any]:
            x, labels, key = inp
            return self._train_step(carry, x, labels, key)

        return _scan(body, carry, (xb, yb, _as_keys(keys)))

    def _local_rows(self) -> slice:
        """The rows of a batch that this process's devices hold (a contiguous block)."""
        assert self._mesh is not None
        return slice(*_batch_rows(self.batch_size, list(self._mesh.devices.flat)))

    def _check_part(self, devices: Sequence[jax.Device]) -> None:
        """A training set that is a part of its split must hold every row this process
        feeds."""
        if not self._fed:
            raise ConfigError(
                f"the training set is a part of its split ({self.train!r}); only a run of "
                "many processes, each feeding its own rows, trains on a part: load the whole "
                "split."
            )
        need = local_shards(self.batch_size, self._shards, devices).rows(
            self.train.total or len(self.train)
        )
        have = (self.train.offset, self.train.offset + len(self.train))
        if not have[0] <= need[0] < need[1] <= have[1]:
            raise ConfigError(
                f"this process feeds training rows {need[0]}..{need[1]} (its shards of "
                f"{self._shards}) but holds rows {have[0]}..{have[1]}; load "
                "plastix.train.local_shards(batch_size, shards, devices) of the training set."
            )

    def _feed(self, idx: np.ndarray) -> tuple[jax.Array, jax.Array]:
        """Global ``(steps, batch, ...)`` inputs and labels for batch indices ``idx`` (into
        the whole training split), built from this process's rows only
        (``jax.make_array_from_process_local_data``)."""
        assert self._mesh is not None
        rows = idx[:, self._local_rows()] - self.train.offset
        sharding = NamedSharding(self._mesh, P(None, "data"))
        x = jax.make_array_from_process_local_data(
            sharding, np.asarray(self.train.x[rows]), (*idx.shape, *self.train.x.shape[1:])
        )
        y = jax.make_array_from_process_local_data(
            sharding, np.asarray(self.train.y[rows]), idx.shape
        )
        return x, y

    def _evaluate(
        self, params: Any, state: Any, xs: jax.Array, ys: jax.Array
    ) -> dict[str, jax.Array]:
        return self._evaluate_with(self.rule.predict, params, state, xs, ys)

    def _evaluate_features(
        self, params: Any, state: Any, fs: jax.Array, ys: jax.Array
    ) -> dict[str, jax.Array]:
        """:meth:`_evaluate` from the inputs' cached features."""
        assert isinstance(self.rule, AbstractFeatureRule)
        return self._evaluate_with(self.rule.feature_predict, params, state, fs, ys)

    def _evaluate_with(
        self,
        predict: Callable[..., jax.Array],
        params: Any,
        state: Any,
        xs: jax.Array,
        ys: jax.Array,
    ) -> dict[str, jax.Array]:
        n = xs.shape[0]
        bs = min(self.eval_batch_size, n)
        nb = math.ceil(n / bs)
        pad = nb * bs - n
        xs = jnp.concatenate([xs, jnp.zeros((pad, *xs.shape[1:]), xs.dtype)]).reshape(
            nb, bs, *xs.shape[1:]
        )
        ys = jnp.concatenate([ys, jnp.zeros((pad,), ys.dtype)]).reshape(nb, bs)
        mask = (jnp.arange(nb * bs) < n).reshape(nb, bs)

        def body(carry: Any, inp: Any) -> tuple[Any, None]:
            x, y, m = inp
            out = predict(self.net, params, state, self._split(x))
            yy = jax.nn.one_hot(y, self._num_classes, dtype=jnp.float32)
            loss = jnp.sum(self.rule.eval_cost(out, yy) * m)
            correct = jnp.sum((jnp.argmax(out, -1) == y) * m)
            return (carry[0] + loss, carry[1] + correct), None

        (loss, correct), _ = jax.lax.scan(body, (jnp.zeros(()), jnp.zeros(())), (xs, ys, mask))
        return {"loss": loss / n, "accuracy": correct / n}

    # --- helpers ------------------------------------------------------------------------------

    def _split(self, a: jax.Array) -> jax.Array:
        """Shard ``a``'s leading (batch) axis over the devices (no-op on one device)."""
        if self._mesh is None or a.shape[0] % self._mesh.size:
            return a
        return jax.lax.with_sharding_constraint(a, NamedSharding(self._mesh, P("data")))

    def _replicate(self, tree: Any) -> Any:
        """Place ``tree`` on every device (no-op on one device)."""
        if self._mesh is None:
            return tree
        return jax.device_put(tree, NamedSharding(self._mesh, P()))

    def _keys(self, epoch: int) -> np.ndarray:
        """The raw data ``(steps_per_epoch, 2)`` of ``epoch``'s per-step keys
        (``jax.random.wrap_key_data`` makes them keys), from one compiled program: op by op,
        each random operation compiled a program of its own, 0.3 s of a run's start."""
        if self._keys_exe is None:
            self._keys_exe = (
                jax.jit(_epoch_keys, static_argnums=(0, 2))
                .lower(self.seed, np.int32(0), self.steps_per_epoch)
                .compile(ONCE)
            )
        return np.asarray(self._keys_exe(np.int32(epoch)))

    def _chunks(self, cached: bool = False) -> list[tuple[int, int]]:
        """The ``(first, end)`` steps of each compiled call of an epoch; an epoch on cached
        features runs at least 64 steps per call (it has no convolutions to keep out of a
        compiled loop)."""
        n = self.steps_per_epoch
        k = min(max(self.steps_per_call, 64) if cached else self.steps_per_call, n)
        # equal calls when a divisor of the epoch's steps lies in [k/2, k]: one compiled
        # program instead of two (the remainder's), e.g. 468 steps as 9 x 52, not 7 x 64 + 20
        d = max(d for d in range(1, k + 1) if n % d == 0)
        k = d if 2 * d >= k else k
        return [(s, min(s + k, n)) for s in range(0, n, k)]

    def _frozen_from(self) -> int | None:
        """The first step that trains only a read-out on cached features (None: never)."""
        if not (self.cache_features and isinstance(self.rule, AbstractFeatureRule)):
            return None
        if self.augment is not None or self._fed:
            return None
        return self.rule.frozen_from()

    def _cached(self, epoch: int) -> bool:
        """Whether every step of ``epoch`` (from 1) trains only the read-out on cached
        features."""
        frozen = self._frozen_from()
        return frozen is not None and (epoch - 1) * self.steps_per_epoch >= frozen

    def _features_of(self, params: Any, state: Any, x: np.ndarray) -> jax.Array:
        """The rule's frozen features of ``x``, one compiled call per ``eval_batch_size``
        inputs (no loop around the convolutions; the last batch padded to the same shape)."""
        n, bs = len(x), min(self.eval_batch_size, len(x))
        parts = []
        for a in range(0, n, bs):
            xb = np.asarray(x[a : a + bs])
            if len(xb) < bs:
                xb = np.concatenate([xb, np.zeros((bs - len(xb), *xb.shape[1:]), xb.dtype)])
            f = self._feat_batch(params, state, self._replicate(jnp.asarray(xb)))
            parts.append(f[: min(bs, n - a)])
        return self._replicate(jnp.concatenate(parts))

    def evaluate(self, params: Any, data: ArrayDataset, state: Any = None) -> dict[str, float]:
        """Test loss (the rule's cost) and accuracy of the rule's prediction over ``data``
        (``state``: the rule's non-learned state, for the rules that keep one)."""
        m = self._eval(params, state, *self._replicate((jnp.asarray(data.x), jnp.asarray(data.y))))
        return {k: float(v) for k, v in m.items()}

    def _first(self, n: int) -> tuple[jax.Array, jax.Array]:
        """The first ``n`` training samples, labels one-hot."""
        x = jnp.asarray(self.train.x[:n])
        y = jax.nn.one_hot(jnp.asarray(self.train.y[:n]), self._num_classes, dtype=jnp.float32)
        return x, y

    def _diagnostics(self, params: Any) -> dict[str, Any]:
        d = jax.device_get(self._diagnose(params, *self._first(self.diagnostics)))

        def num(v: Any) -> float | None:
            v = float(v)
            return v if math.isfinite(v) else None  # JSON has no nan / inf

        return {k: [num(a) for a in v] if isinstance(v, list) else num(v) for k, v in d.items()}

    def _gradient_check(self, params: Any, state: Any) -> dict[str, Any]:
        n = self.gradient_check
        x, y = self._first(n)
        if self._per_example:  # the first n examples' own states
            state = jax.tree.map(lambda b: b[:n], state)
        c = jax.device_get(self._check(params, state, x, y))
        return {
            "grad_cosine": float(c["cosine"]),
            "grad_relative_norm": float(c["relative_norm"]),
            "grad_cosine_per_edge": [float(v) for v in c["cosine_per_edge"]],
            "grad_relative_norm_per_edge": [float(v) for v in c["relative_norm_per_edge"]],
        }

    def init(self) -> Carry:
        """Initial parameters and non-learned state (from ``seed``) and optimizer state; for
        a rule with a state per training example (:meth:`~plastix.rules.AbstractRule.per_example_state`),
        that state for the whole training set."""
        # one compiled program: op by op, every layer's random draws and every optimizer
        # buffer compiled a program of its own (18 for PCX's MLP, 1.3 s of a run's start)
        return run_once(self._init_carry)

    def _init_carry(self) -> Carry:
        params, state = self.rule.init(self.net, key=jax.random.key(self.seed))
        if self._per_example:
            if state is not None:
                raise ConfigError(
                    f"{self.rule.name} has both a state and a per-example state; the trainer "
                    "keeps only one of them."
                )
            state = self.rule.per_example_state(self.net, self._train_shape)
        return params, state, self.optimizer.init(params)

    # --- the loop -----------------------------------------------------------------------------

    def compile(self) -> dict[str, Any]:
        """Compile the run's programs as :meth:`fit` does before its first epoch, train
        nothing, and return the seconds (``compile_seconds``, the wall time, and
        ``compile_seconds_by_program``; the initial parameters' program is not counted, as in
        :meth:`fit`). With JAX's persistent compilation cache on, a second call in a new
        process measures a warm start (``plastix train --compile-only``)."""
        carry = self._replicate(self.init())
        _, _, seconds, split, _ = self._compile_programs(carry, *self._train_arrays(), 0)
        return {"compile_seconds": seconds, "compile_seconds_by_program": split}

    def _train_arrays(self) -> tuple[Any, Any]:
        """The training images and labels on every device, once (None when they are fed
        per batch)."""
        if self._fed:
            return None, None
        xs = self._replicate(jax.device_put(jnp.asarray(self.train.x)))
        return xs, self._replicate(jax.device_put(jnp.asarray(self.train.y)))

    def _compile_programs(
        self, carry: Carry, xs: Any, ys: Any, start: int
    ) -> tuple[dict[int, Any], dict[int, Any], float, dict[str, float], Any]:
        """Compile the programs of epochs ``start + 1 ..``: the training chunks (one per chunk
        length; on cached features when every epoch after ``start`` trains only a read-out)
        and the evaluation. Returns the compiled chunks, those on cached features, the wall
        seconds, the seconds by program and the test arrays on the devices (None without a
        test set)."""
        # compile once per chunk length, outside the timed epochs: the programs are traced
        # here, compiled by a worker thread (XLA lets go of the GIL), while this thread
        # traces and compiles the evaluation beside them
        t0 = time.perf_counter()
        keys0 = self._keys(0)  # a template: only their shape and type are compiled for
        lowered = {}
        cached_epochs = [e for e in range(start + 1, self.epochs + 1) if self._cached(e)]
        plain = len(cached_epochs) < self.epochs - start or not cached_epochs
        for a, b in {(b - a): (a, b) for a, b in self._chunks()}.values() if plain else ():
            idx0 = np.full((b - a, self.batch_size), self.train.offset, np.int64)
            if self._fed:
                lowered[b - a] = self._chunk_fed.lower(carry, *self._feed(idx0), keys0[a:b])
            else:
                lowered[b - a] = self._chunk.lower(
                    carry, xs, ys, jnp.asarray(idx0.astype(np.int32)), keys0[a:b]
                )
        lowered_feat = {}
        if cached_epochs:
            f1 = jax.eval_shape(self._feat_batch, carry[0], carry[1], xs[:1])
            sharding = None if self._mesh is None else NamedSharding(self._mesh, P())
            f_all = jax.ShapeDtypeStruct(
                (len(self.train), *f1.shape[1:]), f1.dtype, sharding=sharding
            )
            for a, b in {(b - a): (a, b) for a, b in self._chunks(cached=True)}.values():
                idx_f = jnp.zeros((b - a, self.batch_size), jnp.int32)
                lowered_feat[b - a] = self._chunk_feat.lower(carry, f_all, ys, idx_f, keys0[a:b])

        def timed_compile(lw: Any) -> tuple[Any, float]:
            return lw.compile(), time.perf_counter()

        train_done = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            jobs = {n: pool.submit(timed_compile, lw) for n, lw in lowered.items()}
            jobs_feat = {n: pool.submit(timed_compile, lw) for n, lw in lowered_feat.items()}
            eval_compile, test_xy = 0.0, None
            if self.test is not None:
                t1 = time.perf_counter()
                test_xy = self._replicate((jnp.asarray(self.test.x), jnp.asarray(self.test.y)))
                if plain:
                    self._eval.lower(carry[0], carry[1], *test_xy).compile()
                eval_compile = time.perf_counter() - t1
            done = {n: job.result() for n, job in jobs.items()}
            done_feat = {n: job.result() for n, job in jobs_feat.items()}
        compile_seconds = time.perf_counter() - t0
        compiled = {n: c for n, (c, _) in done.items()}
        compiled_feat = {n: c for n, (c, _) in done_feat.items()}
        train_done = max([train_done, *(t for _, t in [*done.values(), *done_feat.values()])])
        # the evaluation compiles beside the training programs: "train" is the time until
        # they were ready, "eval" the evaluation's own, and compile_seconds the wall time
        compile_split = {"train": train_done - t0, "eval": eval_compile}
        return compiled, compiled_feat, compile_seconds, compile_split, test_xy

    def fit(self, *, resume: bool = False) -> dict[str, Any]:
        """Train for ``epochs`` epochs; return the summary (also written to ``summary.json``).

        With ``out_dir`` set, the run directory is held by this process for the run (a second
        live run there is refused) and records the configuration the run starts with
        (``config.json``). A directory that already holds a run needs ``resume=True``: training
        then continues from the last completed epoch and ends with the same parameters as an
        uninterrupted run. A resume refuses another seed or, when both are known, another
        configuration than the run's (only ``train.epochs`` and ``data.dir`` may change), and
        a directory with no run to continue."""
        out = Path(self.out_dir) if self.out_dir is not None else None
        lead = jax.process_index() == 0  # with many processes, only the first writes files
        if out is None or not lead:
            return self._fit(out, lead, resume)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as err:
            raise ConfigError(
                f"the run directory {out} cannot be made: {err.strerror or err}; a file is in "
                "the way. Choose another output directory."
            ) from err
        with RunLock(out):
            return self._fit(out, lead, resume)

    def _fit(self, out: Path | None, lead: bool, resume: bool) -> dict[str, Any]:
        carry = self.init()
        start = 0
        records: list[dict[str, Any]] = []
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            ckpt = latest_checkpoint(out / "checkpoints")
            # the first process owns the directory (the others may see its config.json)
            started = (out / RUN_CONFIG).is_file() if lead else ckpt is not None
            if not resume and (ckpt is not None or started):
                what = f"checkpoint {ckpt.name}" if ckpt is not None else RUN_CONFIG
                raise ConfigError(
                    f"{out} already holds a run ({what}); pass resume=True (--resume) to "
                    "continue it, or choose another output directory."
                )
            if resume and ckpt is None and not started and lead:
                raise ConfigError(
                    f"there is no run to resume in {out} (no checkpoint, no {RUN_CONFIG}); "
                    "leave out resume (--resume) to start one there."
                )
            if resume:
                saved = read_run_config(out)
                diffs = config_differences(saved, self.config) if saved and self.config else []
                if diffs:
                    raise ConfigError(
                        f"resuming {out} with other settings than the run's would mix two runs: "
                        + "; ".join(diffs)
                        + ". Only train.epochs (and data.dir) may change on resume; start a new "
                        "run in another directory for the rest."
                    )
            for stale in [*out.glob(".*.tmp"), *(out / "checkpoints").glob(".*.tmp")]:
                if lead:
                    stale.unlink(missing_ok=True)  # a write cut short by a kill (never renamed)
            if lead and not started:
                write_run_config(out, self.config, self.seed)
            if ckpt is not None:
                carry, meta = load_checkpoint(ckpt, carry)
                if meta.get("shards", 1) != self._shards:
                    raise ConfigError(
                        f"resuming {out} with batches drawn from {self._shards} shard(s), but "
                        f"the run drew them from {meta.get('shards', 1)} (train.shards 0 means "
                        "one per process): that would change its batch order. Resume with "
                        f"--set train.shards={meta.get('shards', 1)}."
                    )
                if meta.get("seed", self.seed) != self.seed:
                    raise ConfigError(
                        f"resuming {out} with seed {self.seed}, but the run was started with "
                        f"seed {meta['seed']}: that would mix two runs. Resume with seed "
                        f"{meta['seed']}, or start a new run in another directory."
                    )
                if not isinstance(meta.get("epoch"), int):
                    raise CheckpointError(
                        f"checkpoint {ckpt} records no epoch (its metadata is damaged); delete "
                        "it to resume from the one before, or start a new run."
                    )
                bad = [
                    i
                    for i, leaf in enumerate(jax.tree.leaves(carry))
                    if jnp.issubdtype(leaf.dtype, jnp.inexact)
                    and not bool(jnp.all(jnp.isfinite(leaf)))
                ]
                if bad:
                    raise CheckpointError(
                        f"checkpoint {ckpt} holds NaN or infinite values (array {bad[0]} and "
                        f"{len(bad) - 1} more): it cannot be resumed. Delete it to resume from "
                        "an earlier checkpoint, or start a new run."
                    )
                start = int(meta["epoch"])
                # the checkpoint carries the log up to its epoch: a kill between writing it and
                # rewriting metrics.jsonl loses no epoch
                records = meta.get("records") or [
                    r for r in _read_jsonl(out / "metrics.jsonl") if r["epoch"] <= start
                ]
        carry = self._replicate(carry)
        xs, ys = self._train_arrays()
        compiled, compiled_feat, compile_seconds, compile_split, test_xy = self._compile_programs(
            carry, xs, ys, start
        )
        feats: jax.Array | None = None  # the training set's features, once cached
        test_feats: jax.Array | None = None

        epoch_seconds = [r["train_seconds"] for r in records]
        bar = progress(
            total=self.epochs * self.steps_per_epoch,
            initial=start * self.steps_per_epoch,
            disable=not (self.progress and lead),
            unit="step",
            dynamic_ncols=True,
            desc=f"{self.rule.name}",
        )
        try:
            for epoch in range(start + 1, self.epochs + 1):
                idx_np = np.asarray(self._loader.batch_indices(epoch))
                # numpy slices per call: slicing a device array compiles a program per slice
                idx_all = idx_np.astype(np.int32)
                keys = self._keys(epoch)
                sums: dict[str, float] = {}
                cached = self._cached(epoch)
                cache_seconds = None
                if cached and feats is None:
                    t0 = time.perf_counter()
                    feats = self._features_of(carry[0], carry[1], self.train.x)
                    if self.test is not None:
                        test_feats = self._features_of(carry[0], carry[1], self.test.x)
                    jax.block_until_ready((feats, test_feats))
                    cache_seconds = time.perf_counter() - t0
                t0 = time.perf_counter()
                for a, b in self._chunks(cached):
                    if cached:
                        carry, m = compiled_feat[b - a](carry, feats, ys, idx_all[a:b], keys[a:b])
                    elif self._fed:
                        carry, m = compiled[b - a](carry, *self._feed(idx_np[a:b]), keys[a:b])
                    else:
                        carry, m = compiled[b - a](carry, xs, ys, idx_all[a:b], keys[a:b])
                    m = jax.device_get(m)
                    for k, v in m.items():
                        v = np.asarray(v, np.float64)
                        if not np.all(np.isfinite(v)):
                            step = a + int(np.argmax(~np.isfinite(v)))
                            raise DivergenceError(
                                f"training diverged: {k} became {v[~np.isfinite(v)][0]} at epoch "
                                f"{epoch}, step {step}. Lower the learning rate "
                                "(optimizer lr, or the states' lr for energy-based rules); the last "
                                "good checkpoint is kept."
                            )
                        sums[k] = sums.get(k, 0.0) + float(v.sum())
                    bar.set_postfix(
                        epoch=epoch,
                        loss=f"{sums['loss'] / b:.4f}",
                        acc=f"{sums['accuracy'] / b:.4f}",
                        refresh=False,
                    )
                    bar.update(b - a)
                train_seconds = time.perf_counter() - t0
                epoch_seconds.append(train_seconds)
                rec: dict[str, Any] = {"epoch": epoch}
                rec.update({f"train_{k}": v / self.steps_per_epoch for k, v in sums.items()})
                if self.test is not None and cached:
                    m = self._eval_feat(carry[0], carry[1], test_feats, test_xy[1])
                    rec.update({f"test_{k}": float(v) for k, v in m.items()})
                elif self.test is not None:  # the test set already on the devices
                    m = self._eval(carry[0], carry[1], *test_xy)
                    rec.update({f"test_{k}": float(v) for k, v in m.items()})
                if self.gradient_check:
                    rec.update(self._gradient_check(carry[0], carry[1]))
                if self.diagnostics:
                    rec.update(self._diagnostics(carry[0]))
                rec["train_seconds"] = train_seconds
                if cache_seconds is not None:
                    rec["feature_cache_seconds"] = cache_seconds
                records.append(rec)
                if self.test is not None:
                    bar.write(
                        f"epoch {epoch}: train loss {rec['train_loss']:.4f} acc {rec['train_accuracy']:.4f}"
                        f" | {self._eval_split} loss {rec['test_loss']:.4f} acc {rec['test_accuracy']:.4f}"
                        f" | {train_seconds:.2f}s"
                    )
                if out is not None and lead:
                    self._save_epoch(out, epoch, carry, records)
        finally:
            bar.close()
        self.params, self.state, self.opt_state = carry
        summary = self._summary(records, epoch_seconds, compile_seconds, compile_split)
        if out is not None and lead:
            atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
            for hook in self.after_fit:
                hook(out, summary)
        return summary

    def _save_epoch(
        self, out: Path, epoch: int, carry: Carry, records: list[dict[str, Any]]
    ) -> None:
        ckdir = out / "checkpoints"
        save_checkpoint(
            ckdir / f"epoch-{epoch:04d}.npz",
            carry,
            {"epoch": epoch, "seed": self.seed, "shards": self._shards, "records": records},
        )
        # the log is rewritten whole, atomically: after a kill it matches a checkpoint, never
        # holding a duplicated or half-written epoch
        atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        olds = sorted(ckdir.glob("epoch-*.npz"))[: -self.keep_checkpoints or None]
        for p in olds:
            p.unlink(missing_ok=True)

    @property
    def _eval_split(self) -> str:
        """What the ``test_*`` numbers were measured on: the test set, or a validation split
        held out of the training set (``DataOptions(validation=N)``)."""
        return "validation" if self.test is not None and self.test.split == "validation" else "test"

    def _summary(
        self,
        records: list[dict[str, Any]],
        epoch_seconds: list[float],
        compile_seconds: float,
        compile_split: dict[str, float],
    ) -> dict[str, Any]:
        last = records[-1] if records else {}
        n_params = sum(int(np.size(l)) for l in jax.tree.leaves(self.params))
        return {
            "rule": _name(self.config.get("rule"), self.rule.name),
            "model": _name(self.config.get("model"), "custom"),
            "dataset": self.train.name,
            "epochs": len(records),
            "test_accuracy": last.get("test_accuracy"),
            "test_loss": last.get("test_loss"),
            "evaluated_on": self._eval_split if self.test is not None else None,
            "train_accuracy": last.get("train_accuracy"),
            "train_loss": last.get("train_loss"),
            "train_seconds_per_epoch": statistics.median(epoch_seconds) if epoch_seconds else None,
            "compile_seconds": compile_seconds,
            # the training programs (every chunk length) and the evaluation program
            "compile_seconds_by_program": compile_split,
            "feature_cache_seconds": sum(r.get("feature_cache_seconds", 0.0) for r in records),
            "steps_per_epoch": self.steps_per_epoch,
            "num_params": n_params,
            "seed": self.seed,
            "history": records,
            "environment": {
                "plastix": _version(),
                "jax": jax.__version__,
                "backend": jax.default_backend(),
                "devices": len(jax.devices()),
                "data_parallel_devices": 1 if self._mesh is None else self._mesh.size,
                "processes": jax.process_count(),
                "per_process_feed": self._fed,
                "compilation_cache": getattr(jax.config, "jax_compilation_cache_dir", None) or None,
                "shards": self._shards,
                "train_rows_read": [self.train.offset, self.train.offset + len(self.train)],
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            "config": self.config,
        }


def _name(section: Any, default: str) -> str:
    """The ``name`` of a config section (``{"name": "pc", ...}``), else ``default``."""
    return str(section["name"]) if isinstance(section, dict) and "name" in section else default


def _version() -> str:
    try:
        return importlib.metadata.version("plastix")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0.0.0+unknown"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
