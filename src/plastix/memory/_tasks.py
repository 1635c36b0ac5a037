r"""The memory models' experiments as option objects, for ``plastix memory`` (and Python):
:class:`HopfieldTask` (store patterns, recall them from corrupted cues, the capacity curve) and
:class:`STDPTask` (an LIF neuron learning by STDP which of its inputs fire together). Each
``run`` returns plain results (numbers and arrays); the command line writes them to a run
directory with pictures.

>>> from plastix.memory import HopfieldTask
>>> r = HopfieldTask(neurons=200, count=10, loads=()).run()
>>> r["summary"]["recalled"], r["summary"]["patterns"]
(1.0, 10)
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ConfigError, check_seed
from .._option import check_option_types, option
from ..data import load_dataset
from ._hopfield import (
    Hopfield,
    HopfieldTrainer,
    Update,
    capacity_curve,
    flip,
    overlap,
    random_patterns,
)
from ._stdp import LIF, STDP, STDPTrainer


class PatternSource(enum.Enum):
    """Where a Hopfield memory's patterns come from: random ±1 patterns, or images binarised
    (+1 above the image's mean intensity, -1 elsewhere)."""

    RANDOM = "random"
    DIGITS = "digits"
    MNIST = "mnist"


def image_patterns(
    name: str, count: int, *, root: str | None = None
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``count`` training images of dataset ``name``, cycling through the classes (the first
    image of class 0, 1, ..., 9, then the second of each, ...), binarised at each image's mean:
    patterns ``(count, H*W*C)`` of ±1 and the image shape."""
    ds = load_dataset(name, "train", root=root)
    y = np.asarray(ds.y)
    per_class = [np.flatnonzero(y == c) for c in range(ds.num_classes)]
    order = [idx[k] for k in range(max(map(len, per_class))) for idx in per_class if k < len(idx)]
    if count > len(order):
        raise ConfigError(
            f"{name} has {len(order)} training images; ask for at most that many patterns "
            f"(count={count})."
        )
    x = np.asarray(ds.x[np.asarray(order[:count])], np.float32)
    flat = x.reshape(count, -1)
    pats = np.where(flat > flat.mean(axis=1, keepdims=True), 1.0, -1.0).astype(np.float32)
    return pats, tuple(x.shape[1:])


class HopfieldTask(eqx.Module):
    r"""Store ``count`` patterns in a Hopfield memory by the Hebb rule
    (:math:`W = \frac1N \sum_\mu \xi^\mu \xi^{\mu\top}`, zero diagonal), recall each from a cue
    with a fraction ``flip`` of its bits flipped, and measure the capacity curve on random
    patterns of the same size: recall against the load :math:`P/N`, with retrieval expected to
    collapse near :math:`\alpha_c \approx 0.138` (Amit, Gutfreund & Sompolinsky 1985)."""

    name: ClassVar[str] = "hopfield"
    patterns: PatternSource = option(
        PatternSource.RANDOM, help="random ±1 patterns | digits | mnist (binarised images)"
    )
    neurons: int = option(500, help="units N of random patterns (images: their pixel count)")
    count: int = option(25, help="patterns P stored (images: cycling through the classes)")
    flip: float = option(0.1, help="fraction of each cue's bits flipped before recall")
    update: Update = option(Update.ASYNC, help="recall dynamics: async | sync")
    steps: int = option(10, help="recall sweeps")
    subtract_mean: bool = option(
        False, help="store the patterns minus their mean activity (helps biased image patterns)"
    )
    recalled_at: float = option(0.95, help="a pattern counts as recalled at this overlap")
    loads: tuple[float, ...] = option(
        (0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2),
        help="loads P/N of the capacity curve (random patterns of N units; [] for none)",
    )
    trials: int = option(2, help="memories per load of the capacity curve")
    seed: int = option(0, help="seed of the patterns, the cues and the recall order")

    def __check_init__(self) -> None:
        check_option_types(self)  # HopfieldTask(patterns="digits") names PatternSource
        check_seed(self.seed, "hopfield seed")
        if self.neurons < 2 or self.count < 1 or self.steps < 1 or self.trials < 1:
            raise ConfigError(
                f"hopfield: need neurons >= 2, count >= 1, steps >= 1 and trials >= 1 (got "
                f"{self.neurons}, {self.count}, {self.steps}, {self.trials})."
            )
        if not 0 <= self.flip <= 0.5:
            raise ConfigError(f"hopfield: flip={self.flip} must be in [0, 0.5].")
        if not 0 < self.recalled_at <= 1:
            raise ConfigError(f"hopfield: recalled_at={self.recalled_at} must be in (0, 1].")
        if any(not 0 < a <= 1 for a in self.loads):
            raise ConfigError(f"hopfield: every load P/N must be in (0, 1], got {self.loads}.")

    def run(self, *, data_dir: str | None = None, progress: bool = False) -> dict[str, Any]:
        """Run the experiment: ``{"summary": numbers, "arrays": patterns, cues, recalled,
        weights, energy traces, "capacity": rows, "image_shape": shape or None}``."""
        key = jax.random.key(self.seed)
        k_pat, k_cue, k_rec, k_cap, k_energy = jax.random.split(key, 5)
        if self.patterns is PatternSource.RANDOM:
            xi = np.asarray(random_patterns(k_pat, self.count, self.neurons))
            shape = None
        else:
            xi, shape = image_patterns(self.patterns.value, self.count, root=data_dir)
        n = xi.shape[1]
        trainer = HopfieldTrainer(
            Hopfield.create(n),
            update=self.update,
            steps=self.steps,
            subtract_mean=self.subtract_mean,
            show_progress=progress,
        )
        t0 = time.perf_counter()
        trainer.train(xi)
        jax.block_until_ready(trainer.model.W)
        store_s = time.perf_counter() - t0
        cues = np.asarray(flip(k_cue, jnp.asarray(xi), self.flip)) if self.flip > 0 else xi
        jax.block_until_ready(trainer.predict_batch(cues, key=k_rec))  # compiled, untimed
        t0 = time.perf_counter()
        recalled = np.asarray(jax.block_until_ready(trainer.predict_batch(cues, key=k_rec)))
        recall_s = time.perf_counter() - t0
        m = np.asarray(overlap(jnp.asarray(recalled), jnp.asarray(xi)))
        m_cue = np.asarray(overlap(jnp.asarray(cues), jnp.asarray(xi)))
        shown = min(8, len(xi))
        traces = np.stack(
            [
                np.asarray(trainer.energy_trace(cues[i], key=jax.random.fold_in(k_energy, i)))
                for i in range(shown)
            ]
        )
        capacity = capacity_curve(
            k_cap,
            n,
            self.loads,
            noise=self.flip,
            steps=self.steps,
            update=self.update,
            threshold=self.recalled_at,
            trials=self.trials,
        )
        cross = np.abs(xi @ xi.T / n)[~np.eye(len(xi), dtype=bool)]
        summary = {
            "task": self.name,
            "patterns": int(xi.shape[0]),
            "pattern_overlap": float(cross.mean()) if cross.size else 0.0,
            "neurons": int(n),
            "load": float(xi.shape[0] / n),
            "source": self.patterns.value,
            "cue_overlap": float(m_cue.mean()),
            "mean_overlap": float(m.mean()),
            "recalled": float((m >= self.recalled_at).mean()),
            "theory_capacity": Hopfield.create(n).storage_capacity,
            "store_seconds": store_s,
            "recall_seconds": recall_s,
            "energy_decreases": bool(np.all(np.diff(traces, axis=1) <= 1e-4)),
        }
        arrays = {
            "patterns": xi,
            "cues": cues,
            "recalled": recalled,
            "overlaps": m,
            "weights": np.asarray(trainer.model.W),
            "energy": traces,
        }
        return {"summary": summary, "arrays": arrays, "capacity": capacity, "image_shape": shape}


class STDPTask(eqx.Module):
    r"""STDP picks out correlated inputs (after Song, Miller & Abbott 2000): ``inputs``
    Poisson inputs at rate ``rate`` per step drive LIF neurons; the first ``group`` of them
    fire together (their spikes are one shared Poisson train), the rest independently. With
    pair-based STDP (depression 10 % stronger than potentiation), the correlated inputs, which
    tend to fire just before the neuron, are potentiated and the independent ones depressed.
    Each of ``trials`` trials lasts ``steps`` time steps (1 ms each). The weights start where
    the mean drive stays below threshold (:math:`\tau_m \cdot` inputs :math:`\cdot` rate
    :math:`\cdot w_0 = 0.8`), so the neuron fires on fluctuations, as in Song et al."""

    name: ClassVar[str] = "stdp"
    inputs: int = option(100, help="pre-synaptic Poisson inputs")
    group: int = option(20, help="the first inputs that fire together (a shared train)")
    neurons: int = option(1, help="post-synaptic LIF neurons")
    rate: float = option(0.02, help="firing probability of an input per time step (1 ms)")
    steps: int = option(500, help="time steps per trial")
    trials: int = option(200, help="trials, learned one after the other")
    w_init: float = option(0.02, help="initial weight of every synapse")
    w_max: float = option(0.04, help="largest weight (STDP clips to [0, w_max])")
    a_plus: float = option(0.001, help="potentiation amplitude A+")
    a_minus: float = option(0.0011, help="depression amplitude A- (10 % above A+)")
    tau: float = option(20.0, help="STDP time constants tau+ = tau- (steps)")
    tau_m: float = option(20.0, help="membrane time constant of the LIF neurons (steps)")
    seed: int = option(0, help="seed of the spike trains")

    def __check_init__(self) -> None:
        check_option_types(self)
        check_seed(self.seed, "stdp seed")
        if self.inputs < 1 or self.neurons < 1 or self.steps < 1 or self.trials < 1:
            raise ConfigError("stdp: inputs, neurons, steps and trials must be >= 1.")
        if not 0 <= self.group <= self.inputs:
            raise ConfigError(f"stdp: group={self.group} must be in 0..inputs ({self.inputs}).")
        if not 0 < self.rate < 1:
            raise ConfigError(f"stdp: rate={self.rate} must be a probability in (0, 1).")
        if not 0 <= self.w_init <= self.w_max:
            raise ConfigError(f"stdp: need 0 <= w_init ({self.w_init}) <= w_max ({self.w_max}).")

    def trains(self, key: jax.Array) -> jax.Array:
        """Input spikes ``(trials, steps, inputs)``: the group shares one train per trial."""
        k1, k2 = jax.random.split(key)
        shape = (self.trials, self.steps)
        own = jax.random.bernoulli(k1, self.rate, (*shape, self.inputs))
        shared = jax.random.bernoulli(k2, self.rate, (*shape, 1))
        grouped = jnp.arange(self.inputs) < self.group
        return jnp.where(grouped, shared, own).astype(jnp.float32)

    def run(self, *, progress: bool = False) -> dict[str, Any]:
        """Run the experiment: ``{"summary": numbers, "arrays": weights before and after,
        output rate per trial}``."""
        k_train, k_test = jax.random.split(jax.random.key(self.seed))
        pre = self.trains(k_train)
        rule = STDP(
            a_plus=self.a_plus,
            a_minus=self.a_minus,
            tau_plus=self.tau,
            tau_minus=self.tau,
            w_max=self.w_max,
        )
        w0 = jnp.full((self.inputs, self.neurons), self.w_init, jnp.float32)
        trainer = STDPTrainer(w0, rule=rule, lif=LIF(tau_m=self.tau_m), show_progress=progress)
        rates, weights = [], [np.asarray(w0)]
        t0 = time.perf_counter()
        for chunk in np.array_split(np.arange(self.trials), min(self.trials, 20)):
            rates.append(np.asarray(trainer.predict_batch(pre[chunk[:1]])).mean())
            trainer.train(pre[chunk])
            weights.append(np.asarray(trainer.w))
        jax.block_until_ready(trainer.w)
        train_s = time.perf_counter() - t0
        w = np.asarray(trainer.w)
        test = dataclasses.replace(self, trials=4).trains(k_test)
        out_before = float(
            np.asarray(STDPTrainer(w0, rule=rule, lif=trainer.lif).predict_batch(test)).mean()
        )
        out_after = float(np.asarray(trainer.predict_batch(test)).mean())
        g = self.group
        summary = {
            "task": self.name,
            "inputs": self.inputs,
            "group": g,
            "trials": self.trials,
            "mean_weight_group": float(w[:g].mean()) if g else None,
            "mean_weight_rest": float(w[g:].mean()) if g < self.inputs else None,
            "w_init": self.w_init,
            "w_max": self.w_max,
            "output_rate_before": out_before,
            "output_rate_after": out_after,
            "train_seconds": train_s,
        }
        arrays = {
            "w_init": np.asarray(w0),
            "w_final": w,
            "weights_over_training": np.stack(weights),
            "output_rate_per_chunk": np.asarray(rates),
        }
        return {"summary": summary, "arrays": arrays}


TASKS: dict[str, type[eqx.Module]] = {c.name: c for c in (HopfieldTask, STDPTask)}
"""The memory experiments by name (``plastix memory NAME``)."""
