"""Rules by name, with typed option schemas (for the CLI and config files)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optax

from .._errors import ConfigError
from ..inference import Inference
from ._base import Rule
from ._bipc import BiPC
from ._bp import BP
from ._costs import Cost, CrossEntropy, SquaredError
from ._ep import CHL, EP
from ._pc import PC, NudgeSign, Nudging, PCMode

COSTS: dict[str, Callable[[], Cost]] = {
    "squared-error": SquaredError,
    "cross-entropy": CrossEntropy,
}


def choice(kind: str, value: Any, options: dict[str, Any] | tuple[str, ...]) -> Any:
    """Look ``value`` up among named ``options``; a clear error lists the valid names."""
    if value in options:
        return options[value] if isinstance(options, dict) else value
    raise ConfigError(f"unknown {kind} {value!r}; choose one of {sorted(options)}.")


@dataclass(frozen=True)
class RuleSpec:
    """A rule's name, one-line help, option defaults (the schema) and builder."""

    name: str
    help: str
    defaults: dict[str, Any]
    build: Callable[[dict[str, Any]], Rule]
    doc: dict[str, str] = field(default_factory=dict)


def _build_bp(o: dict[str, Any]) -> Rule:
    return BP(cost=choice("cost", o["cost"], COSTS)())


def _inference(o: dict[str, Any]) -> Inference:
    opt = optax.sgd(o["state_lr"], momentum=o["state_momentum"] or None)
    return Inference(steps=o["steps"], optimizer=opt, tol=o["tol"])


def _build_pc(o: dict[str, Any]) -> Rule:
    mode = choice("PC mode", o["mode"], {m.value: m for m in PCMode})
    nudging = None
    if o["nudging"] != "none":
        sign = choice("nudging", o["nudging"], {"none": None} | {s.value: s for s in NudgeSign})
        nudging = Nudging(beta=o["beta"], sign=sign)
    return PC(
        mode=mode, cost=choice("cost", o["cost"], COSTS)(), inference=_inference(o), nudging=nudging
    )


def _rho(name: str) -> Any:
    from ..models import activation

    return activation(name)


def _relaxation(steps: int, lr: float, clip: bool) -> Inference:
    return Inference(steps=steps, optimizer=optax.sgd(lr), bounds=(0.0, 1.0) if clip else None)


def _build_ep(o: dict[str, Any], cls: type[EP] = EP) -> Rule:
    clip = o["activation"] == "hard-sigmoid"
    return cls(
        rho=_rho(o["activation"]),
        cost=choice("cost", o["cost"], COSTS)(),
        beta=o["beta"],
        sign=choice("nudging sign", o["sign"], {s.value: s for s in NudgeSign}),
        free=_relaxation(o["free_steps"], o["state_lr"], clip),
        nudged=_relaxation(o["nudged_steps"], o["state_lr"], clip),
        readout=o["readout"],
    )


_EP_DEFAULTS = {
    "activation": "hard-sigmoid",
    "cost": "squared-error",
    "beta": 0.5,
    "sign": "centred",
    "free_steps": 30,
    "nudged_steps": 10,
    "state_lr": 0.5,
    "readout": False,
}
_EP_DOCS = {
    "activation": "rho applied to the states (hard-sigmoid keeps states in [0, 1])",
    "cost": "output cost on the output state: " + " | ".join(COSTS),
    "beta": "nudging strength (> 0)",
    "sign": "positive | negative | centred (symmetric) nudging",
    "free_steps": "free-phase relaxation steps T1",
    "nudged_steps": "nudged (CHL: clamped) phase relaxation steps T2",
    "state_lr": "step size of the state relaxation",
    "readout": "the output is a read-out of its sources, not a state (use cost cross-entropy)",
}


def _build_bipc(o: dict[str, Any]) -> Rule:
    return BiPC(
        alpha_f=o["alpha_f"],
        alpha_b=o["alpha_b"],
        down_activation=_rho(o["down_activation"]),
        inference=_inference(o),
    )


RULES: dict[str, RuleSpec] = {
    "bp": RuleSpec(
        "bp",
        "backpropagation (the baseline)",
        {"cost": "squared-error"},
        _build_bp,
        {"cost": f"output cost: {' | '.join(COSTS)}"},
    ),
    "pc": RuleSpec(
        "pc",
        "predictive coding (strict, fixed-prediction or incremental)",
        {
            "mode": "strict",
            "cost": "squared-error",
            "steps": 20,
            "state_lr": 0.1,
            "state_momentum": 0.5,
            "tol": None,
            "nudging": "none",
            "beta": 0.1,
        },
        _build_pc,
        {
            "mode": f"{' | '.join(m.value for m in PCMode)}",
            "cost": f"output cost: {' | '.join(COSTS)}",
            "steps": "inference steps T (the maximum when tol is set)",
            "state_lr": "learning rate of the SGD on the states",
            "state_momentum": "momentum of the SGD on the states (0 for none)",
            "tol": "stop inference once every sample's residual is below tol (null: T steps)",
            "nudging": "none (clamp the output) | positive | negative | centred",
            "beta": "nudging strength (> 0) when nudging is not none",
        },
    ),
    "ep": RuleSpec(
        "ep",
        "equilibrium propagation (build the model with activation=identity: rho is the rule's)",
        dict(_EP_DEFAULTS),
        _build_ep,
        dict(_EP_DOCS),
    ),
    "chl": RuleSpec(
        "chl",
        "contrastive Hebbian learning (a free and a clamped phase)",
        {k: v for k, v in _EP_DEFAULTS.items() if k not in ("beta", "sign", "readout")},
        lambda o: _build_ep({**_EP_DEFAULTS, **o}, CHL),
        {k: v for k, v in _EP_DOCS.items() if k not in ("beta", "sign", "readout")},
    ),
    "bipc": RuleSpec(
        "bipc",
        "bidirectional predictive coding (bottom-up and top-down weights; classify and generate)",
        {
            "alpha_f": 1.0,
            "alpha_b": 0.1,
            "down_activation": "gelu",
            "steps": 20,
            "state_lr": 0.1,
            "state_momentum": 0.5,
            "tol": None,
        },
        _build_bipc,
        {
            "alpha_f": "weight of the bottom-up (discriminative) errors",
            "alpha_b": "weight of the top-down (generative) errors",
            "down_activation": "activation of the top-down layers (identity into the input)",
            "steps": "inference steps T (the maximum when tol is set)",
            "state_lr": "learning rate of the SGD on the states",
            "state_momentum": "momentum of the SGD on the states (0 for none)",
            "tol": "stop inference once every sample's residual is below tol (null: T steps)",
        },
    ),
}


def make_rule(name: str, **options: Any) -> Rule:
    """Build rule ``name`` from options (defaults for those not given).

    >>> import plastix as px
    >>> px.rules.make_rule("pc", steps=8).inference.steps
    8
    """
    spec = choice("rule", name, RULES)
    unknown = set(options) - set(spec.defaults)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {sorted(unknown)} for rule {name!r}; valid: {sorted(spec.defaults)}."
        )
    return spec.build({**spec.defaults, **options})
