"""Weight optimizers as option objects: ``Adam``, ``AdamW``, ``SGD``, each with a learning-rate
schedule (``Constant`` or ``WarmupCosine``). ``make(steps_per_epoch=..., epochs=...)`` gives the
optax transformation (the schedule needs the run's length)."""

from __future__ import annotations

import abc
import math
from typing import ClassVar

import equinox as eqx
import optax

from .._errors import ConfigError
from .._option import check_option_types, option


class AbstractSchedule(eqx.Module):
    """A learning-rate schedule, from the base rate and the run's total number of steps."""

    name: ClassVar[str]

    @abc.abstractmethod
    def make(self, lr: float, total_steps: int) -> float | optax.Schedule:
        """The learning rate (a constant or an optax schedule)."""


class Constant(AbstractSchedule):
    """The base learning rate throughout."""

    name: ClassVar[str] = "constant"

    def make(self, lr: float, total_steps: int) -> float | optax.Schedule:
        return lr


class WarmupCosine(AbstractSchedule):
    """Linear from ``start_factor * lr`` to ``peak_factor * lr`` over ``warmup_fraction`` of all
    steps, then a cosine down to ``end_factor * lr`` at the last step (PCX's benchmarks: 1, 1.1,
    0.1 with 10 % warmup).

    >>> import plastix as px
    >>> s = px.train.WarmupCosine(warmup_fraction=0.5, start_factor=0.0).make(1.0, 10)
    >>> float(s(0)), float(s(5))
    (0.0, 1.0)
    """

    name: ClassVar[str] = "warmup-cosine"
    warmup_fraction: float = option(0.1, help="fraction of all steps spent warming up")
    start_factor: float = option(0.0, help="first lr = start_factor * lr")
    peak_factor: float = option(1.0, help="lr after warmup = peak_factor * lr")
    end_factor: float = option(0.0, help="last lr = end_factor * lr")

    def __check_init__(self) -> None:
        if not 0 <= self.warmup_fraction < 1:
            raise ConfigError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}.")

    def make(self, lr: float, total_steps: int) -> float | optax.Schedule:
        total = max(total_steps, 1)
        return optax.warmup_cosine_decay_schedule(
            init_value=self.start_factor * lr,
            peak_value=self.peak_factor * lr,
            warmup_steps=int(round(self.warmup_fraction * total)),
            decay_steps=total,
            end_value=self.end_factor * lr,
        )


class HoldLinear(AbstractSchedule):
    r"""The base rate for the first ``hold_fraction`` of all steps, then a straight line down to
    ``end_factor * lr`` at the last step ("linear cooldown"; the Forward-Forward port of Löwe,
    ``loeweX/Forward-Forward``, holds for half of its epochs, then cools down linearly):

    $$\eta_t = \eta\,\min\Big(1,\ 1 - (1 - e)\,\frac{t - H}{T - 1 - H}\Big),
    \qquad t = 0, \dots, T - 1,\quad H = \lfloor hT \rfloor,$$

    $h$ = ``hold_fraction``, $e$ = ``end_factor``, $T$ the run's steps.

    >>> import plastix as px
    >>> s = px.train.HoldLinear(hold_fraction=0.5).make(1.0, 11)
    >>> [round(float(s(t)), 2) for t in (0, 5, 7, 10)]
    [1.0, 1.0, 0.6, 0.0]
    """

    name: ClassVar[str] = "hold-linear"
    hold_fraction: float = option(0.5, help="fraction of all steps at the base rate")
    end_factor: float = option(0.0, help="last lr = end_factor * lr")

    def __check_init__(self) -> None:
        if not 0 <= self.hold_fraction < 1:
            raise ConfigError(f"hold_fraction must be in [0, 1), got {self.hold_fraction}.")
        if not 0 <= self.end_factor <= 1:
            raise ConfigError(f"end_factor must be in [0, 1], got {self.end_factor}.")

    def make(self, lr: float, total_steps: int) -> float | optax.Schedule:
        hold = int(self.hold_fraction * max(total_steps, 1))
        decay = max(total_steps - 1 - hold, 1)
        return optax.join_schedules(
            [
                optax.constant_schedule(lr),
                optax.linear_schedule(lr, self.end_factor * lr, transition_steps=decay),
            ],
            boundaries=[hold],
        )


SCHEDULES: tuple[type[AbstractSchedule], ...] = (Constant, WarmupCosine, HoldLinear)
"""The schedules a configuration can name."""


class AbstractOptimizer(eqx.Module):
    """A weight optimizer's options; :meth:`make` gives the optax transformation for a run of
    ``steps_per_epoch * epochs`` steps."""

    name: ClassVar[str]
    lr: eqx.AbstractVar[float]
    schedule: eqx.AbstractVar[AbstractSchedule]

    def __check_init__(self) -> None:
        who = f"optimizer {self.name}"
        lr = self.lr
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ConfigError(f"{who}: lr must be a finite number > 0, got {lr!r}.")
        wd = getattr(self, "weight_decay", 0.0)
        if not (isinstance(wd, (int, float)) and math.isfinite(wd) and wd >= 0):
            raise ConfigError(f"{who}: weight_decay must be a finite number >= 0, got {wd!r}.")
        m = getattr(self, "momentum", 0.0)
        if not (isinstance(m, (int, float)) and 0 <= m < 1):
            raise ConfigError(f"{who}: momentum must be in [0, 1), got {m!r}.")
        check_option_types(self)  # schedule="cosine" names what it takes

    @abc.abstractmethod
    def make(self, *, steps_per_epoch: int, epochs: int) -> optax.GradientTransformation:
        """The optax transformation."""

    def _lr(self, steps_per_epoch: int, epochs: int) -> float | optax.Schedule:
        return self.schedule.make(self.lr, steps_per_epoch * epochs)


class Adam(AbstractOptimizer):
    """Adam (optax ``adam``); no weight decay (use :class:`AdamW`)."""

    name: ClassVar[str] = "adam"
    lr: float = option(1e-3, help="learning rate (the base of the schedule)")
    schedule: AbstractSchedule = option(default_factory=Constant, help="learning-rate schedule")

    def make(self, *, steps_per_epoch: int, epochs: int) -> optax.GradientTransformation:
        return optax.adam(self._lr(steps_per_epoch, epochs))


class AdamW(AbstractOptimizer):
    """AdamW (optax ``adamw``): Adam with decoupled weight decay."""

    name: ClassVar[str] = "adamw"
    lr: float = option(1e-3, help="learning rate (the base of the schedule)")
    weight_decay: float = option(0.0, help="decoupled weight decay")
    schedule: AbstractSchedule = option(default_factory=Constant, help="learning-rate schedule")

    def make(self, *, steps_per_epoch: int, epochs: int) -> optax.GradientTransformation:
        return optax.adamw(self._lr(steps_per_epoch, epochs), weight_decay=self.weight_decay)


class SGD(AbstractOptimizer):
    """SGD with heavy-ball momentum (optax ``sgd``); weight decay is added to the gradient."""

    name: ClassVar[str] = "sgd"
    lr: float = option(1e-3, help="learning rate (the base of the schedule)")
    momentum: float = option(0.9, help="momentum (0: none)")
    weight_decay: float = option(0.0, help="L2 weight decay, added to the gradient")
    schedule: AbstractSchedule = option(default_factory=Constant, help="learning-rate schedule")

    def make(self, *, steps_per_epoch: int, epochs: int) -> optax.GradientTransformation:
        sgd = optax.sgd(self._lr(steps_per_epoch, epochs), momentum=self.momentum or None)
        if self.weight_decay:
            return optax.chain(optax.add_decayed_weights(self.weight_decay), sgd)
        return sgd


class RMSprop(AbstractOptimizer):
    r"""RMSprop (optax ``rmsprop``): each gradient divided by the root of a running mean of
    its square; centred, by the running variance instead (Graves 2013):

    $$v \leftarrow \rho v + (1-\rho) g^2, \quad m \leftarrow \rho m + (1-\rho) g, \quad
    u \leftarrow \mu u - \eta\, g / \sqrt{v - m^2 + \epsilon}, \quad \theta \leftarrow \theta + u$$

    ($m = 0$ when not centred; $v$, $m$, $u$ start at 0). Lee et al. (2015)'s DTP code uses
    $\rho = 0.95$, $\epsilon = 10^{-3}$, $\mu = 0.9$, centred.

    >>> import plastix as px
    >>> opt = px.train.RMSprop(lr=0.01, decay=0.95, eps=1e-3, centered=True, momentum=0.9)
    >>> opt.make(steps_per_epoch=10, epochs=1).init({"w": 0.0}) is not None
    True
    """

    name: ClassVar[str] = "rmsprop"
    lr: float = option(1e-3, help="learning rate (the base of the schedule)")
    decay: float = option(0.9, help="averaging coefficient rho of the running squares")
    eps: float = option(1e-8, help="added inside the square root")
    centered: bool = option(False, help="divide by the running variance, not the mean square")
    momentum: float = option(0.0, help="heavy-ball momentum of the steps (0: none)")
    schedule: AbstractSchedule = option(default_factory=Constant, help="learning-rate schedule")

    def __check_init__(self) -> None:
        if not (isinstance(self.decay, (int, float)) and 0 <= self.decay < 1):
            raise ConfigError(f"optimizer rmsprop: decay must be in [0, 1), got {self.decay!r}.")
        if not (isinstance(self.eps, (int, float)) and math.isfinite(self.eps) and self.eps > 0):
            raise ConfigError(
                f"optimizer rmsprop: eps must be a finite number > 0, got {self.eps!r}."
            )

    def make(self, *, steps_per_epoch: int, epochs: int) -> optax.GradientTransformation:
        return optax.rmsprop(
            self._lr(steps_per_epoch, epochs),
            decay=self.decay,
            eps=self.eps,
            centered=self.centered,
            momentum=self.momentum or None,
            eps_in_sqrt=True,
        )


OPTIMIZERS: tuple[type[AbstractOptimizer], ...] = (AdamW, Adam, SGD, RMSprop)
"""The weight optimizers a configuration can name."""
