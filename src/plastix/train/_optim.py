"""Weight optimizers from options (for the CLI and presets)."""

from __future__ import annotations

import optax

from .._errors import ConfigError

OPTIMIZER_DEFAULTS = {
    "name": "adamw",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "momentum": 0.9,
    "schedule": "constant",
    "warmup_fraction": 0.1,
    "start_factor": 0.0,
    "peak_factor": 1.0,
    "end_factor": 0.0,
}

OPTIMIZER_DOCS = {
    "name": "adam | adamw | sgd",
    "lr": "learning rate (the base of the schedule)",
    "weight_decay": "weight decay (adamw: decoupled; sgd: added to the gradient; not for adam)",
    "momentum": "momentum (sgd only; 0 for none)",
    "schedule": "constant | warmup-cosine",
    "warmup_fraction": "warmup-cosine: fraction of all steps spent warming up",
    "start_factor": "warmup-cosine: first lr = start_factor * lr",
    "peak_factor": "warmup-cosine: lr after warmup = peak_factor * lr",
    "end_factor": "warmup-cosine: last lr = end_factor * lr",
}


def make_optimizer(
    *,
    steps_per_epoch: int,
    epochs: int,
    name: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    schedule: str = "constant",
    warmup_fraction: float = 0.1,
    start_factor: float = 0.0,
    peak_factor: float = 1.0,
    end_factor: float = 0.0,
) -> optax.GradientTransformation:
    """``adam`` | ``adamw`` | ``sgd`` with a ``constant`` or ``warmup-cosine`` learning rate:
    linear from ``start_factor*lr`` to ``peak_factor*lr`` over ``warmup_fraction`` of all steps,
    then cosine down to ``end_factor*lr`` at the last step (PCX's benchmarks use 1, 1.1, 0.1
    and 10 % warmup)."""
    total = max(steps_per_epoch * epochs, 1)
    if schedule == "constant":
        lr_s: float | optax.Schedule = lr
    elif schedule == "warmup-cosine":
        if not 0 <= warmup_fraction < 1:
            raise ConfigError(f"warmup_fraction must be in [0, 1), got {warmup_fraction}.")
        lr_s = optax.warmup_cosine_decay_schedule(
            init_value=start_factor * lr,
            peak_value=peak_factor * lr,
            warmup_steps=int(round(warmup_fraction * total)),
            decay_steps=total,
            end_value=end_factor * lr,
        )
    else:
        raise ConfigError(
            f"unknown schedule {schedule!r}; choose one of ['constant', 'warmup-cosine']."
        )
    if name == "adamw":
        return optax.adamw(lr_s, weight_decay=weight_decay)
    if name == "adam":
        if weight_decay:
            raise ConfigError("optimizer 'adam' has no weight decay; use name 'adamw' for it.")
        return optax.adam(lr_s)
    if name == "sgd":
        sgd = optax.sgd(lr_s, momentum=momentum or None)
        return optax.chain(optax.add_decayed_weights(weight_decay), sgd) if weight_decay else sgd
    raise ConfigError(f"unknown optimizer {name!r}; choose one of ['adam', 'adamw', 'sgd'].")
