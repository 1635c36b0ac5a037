"""A run's whole configuration as one option object, and the named choices it may hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import diffrax
import equinox as eqx

from .._errors import ConfigError
from .._option import option
from ..data import DataOptions
from ..inference import (
    INFERENCES,
    ODE_SOLVERS,
    STATE_OPTIMIZERS,
    AbstractInference,
    AbstractStateOptimizer,
)
from ..local import LOCAL_UPDATES, AbstractLocalUpdate, LocalHebbian, SoftHebb
from ..models import (
    ACTIVATIONS,
    ALL_MODELS,
    MLP,
    PARAMETRISATIONS,
    AbstractModel,
    AbstractParametrisation,
)
from ..nn import Layer
from ..rules import (
    ALL_COSTS,
    BP,
    CHL,
    DFA,
    DRTP,
    DTP,
    EP,
    FA,
    FF,
    PC,
    TP,
    BiPC,
    Cost,
    CoupledLearning,
    HolomorphicEP,
    HybridPC,
    IncrementalPC,
    Rule,
    SignSymmetry,
)
from ..train import OPTIMIZERS, SCHEDULES, AbstractOptimizer, AbstractSchedule, AdamW, TrainOptions
from . import _options

ALL_RULES: tuple[type[Rule], ...] = (
    BP,
    PC,
    IncrementalPC,
    EP,
    HolomorphicEP,
    CHL,
    CoupledLearning,
    BiPC,
    HybridPC,
    FF,
    FA,
    SignSymmetry,
    DFA,
    DRTP,
    TP,
    DTP,
    SoftHebb,
    LocalHebbian,
)
"""Every learning rule, in the order ``plastix list`` shows them."""
RULES: dict[str, type[Rule]] = {cls.name: cls for cls in ALL_RULES}
"""The rules by name."""

CHOICES: Mapping[type, Mapping[str, type]] = {
    Rule: RULES,
    AbstractModel: {cls.name: cls for cls in ALL_MODELS},
    AbstractOptimizer: {cls.name: cls for cls in OPTIMIZERS},
    AbstractSchedule: {cls.name: cls for cls in SCHEDULES},
    AbstractStateOptimizer: {cls.name: cls for cls in STATE_OPTIMIZERS},
    AbstractInference: {cls.name: cls for cls in INFERENCES},
    diffrax.AbstractSolver: ODE_SOLVERS,
    Cost: {cls.name: cls for cls in ALL_COSTS},
    AbstractLocalUpdate: {cls.name: cls for cls in LOCAL_UPDATES},
    Layer: ACTIVATIONS,
    AbstractParametrisation: {cls.name: cls for cls in PARAMETRISATIONS},
}
"""For each abstract type an option may have, the implementations a configuration names."""

SECTIONS = ("data", "model", "rule", "optimizer", "train")
NAMED_SECTIONS = ("model", "rule", "optimizer")


class RunConfig(eqx.Module):
    """Everything a ``plastix train`` run is made of. Its configuration is a table per
    section; ``model``, ``rule`` and ``optimizer`` are chosen by ``name``.

    >>> import plastix as px
    >>> run = px.config.build(px.config.RunConfig, {"rule": {"name": "ep", "beta": 0.2}})
    >>> type(run.rule).__name__, run.rule.beta, run.model.hidden
    ('EP', 0.2, (128, 128, 128))
    """

    data: DataOptions = option(default_factory=DataOptions, help="the data")
    model: AbstractModel = option(default_factory=MLP, help="the network")
    rule: Rule = option(default_factory=PC, help="the learning rule")
    optimizer: AbstractOptimizer = option(default_factory=AdamW, help="the weight optimizer")
    train: TrainOptions = option(default_factory=TrainOptions, help="the training loop")


def to_config(obj: Any) -> dict[str, Any]:
    """The configuration of an option object (a rule, a model, ... or a whole
    :class:`RunConfig`, whose named sections are always tables with their ``name``)."""
    if not isinstance(obj, RunConfig):
        return _options.to_config(obj, CHOICES)
    out = {}
    for sec in SECTIONS:
        value = getattr(obj, sec)
        out[sec] = _options.to_config(value, CHOICES)
        if sec in NAMED_SECTIONS:
            out[sec] = {"name": _options.name_of(value, CHOICES[_base(sec)]), **out[sec]}
    return out


def _base(section: str) -> type:
    return {"model": AbstractModel, "rule": Rule, "optimizer": AbstractOptimizer}[section]


def build(cls: type, config: Mapping[str, Any]) -> Any:
    """An instance of option class ``cls`` from its configuration (missing keys keep the
    defaults: ``build(cls, {}) == cls()``); unknown keys and wrong types raise
    :class:`~plastix.ConfigError`.

    >>> import plastix as px
    >>> px.config.build(px.PC, {"inference": {"steps": 8}}).inference.steps
    8
    """
    return _options.build(cls, config, CHOICES)


def options(cls: type, *, prefix: str = "", obj: Any = None) -> list[_options.Option]:
    """Every configuration key of ``cls`` with type, default, help and choices."""
    return _options.options(cls, CHOICES, prefix=prefix, obj=obj)


def make_rule(name: str, **options: Any) -> Rule:
    """Rule ``name`` (a key of :data:`RULES`) built from configuration ``options`` (nested
    options as mappings), as the command line builds it.

    >>> import plastix as px
    >>> px.config.make_rule("pc", inference={"steps": 8}).inference.steps
    8
    """
    if name not in RULES:
        raise ConfigError(f"unknown rule {name!r}; choose one of {sorted(RULES)}.")
    return _options.build(RULES[name], options, CHOICES, where=f"rule ({name}).")
