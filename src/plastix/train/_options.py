"""The training loop's settings as an option object (the ``train`` section of a configuration);
the :class:`~plastix.Trainer`'s defaults are these."""

from __future__ import annotations

import equinox as eqx

from .._errors import ConfigError
from .._option import option


class TrainOptions(eqx.Module):
    """Epochs, batch size, seed and the loop's mechanics.

    >>> import plastix as px
    >>> px.train.TrainOptions().epochs == px.Trainer.epochs
    True
    """

    epochs: int = option(10, help="number of epochs")
    batch_size: int = option(
        128, help="minibatch size (the last incomplete batch of an epoch is dropped)"
    )
    seed: int = option(
        0, help="seed of the initial parameters, the batch order and every random draw"
    )
    steps_per_call: int = option(
        64,
        help="training steps per compiled call, at most (progress-bar refresh interval; an "
        "epoch is cut into equal calls when a divisor of its steps lies in [N/2, N], so one "
        "program is compiled; 1: no compiled loop, faster for wide conv nets on CPU)",
    )
    eval_batch_size: int = option(1000, help="batch size of evaluation")
    cache_features: bool = option(
        True,
        help="once only a read-out learns (SoftHebb and the Hebbian rules after their "
        "unsupervised phase), compute the frozen features of the data once and train the "
        "read-out on them (same steps; memory: one feature vector per example)",
    )
    gradient_check: int = option(
        0,
        help="log each epoch the cosine of the rule's update with the exact gradient on the "
        "first N training samples (0: off)",
    )
    diagnostics: int = option(
        0,
        help="log each epoch predictive coding's per-node energies, activity and weight norms "
        "and activity-Hessian condition number on the first N training samples, and plot "
        "them (0: off)",
    )
    devices: int = option(
        0,
        help="split each batch over the first N devices (0: every device JAX sees; on CPU "
        "JAX_NUM_CPU_DEVICES=N makes N)",
    )

    shards: int = option(
        0,
        help="draw every batch from N contiguous shards of the training set, each shuffled on "
        "its own, batch_size/N rows from each; each of N processes (--num-processes) then reads "
        "only its own shard of the data files (0: one shard per process; 1: one global "
        "shuffle)",
    )

    def __check_init__(self) -> None:
        for k in ("epochs", "gradient_check", "diagnostics", "devices", "shards"):
            if getattr(self, k) < 0:
                raise ConfigError(f"train.{k} must be >= 0, got {getattr(self, k)}.")
        for k in ("batch_size", "steps_per_call", "eval_batch_size"):
            if getattr(self, k) < 1:
                raise ConfigError(f"train.{k} must be >= 1, got {getattr(self, k)}.")
