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
from ._fa import DFA, DRTP, FA, SignSymmetry
from ._ff import FF, FFInit, FFLoss, FFNorm, FFPrediction, Goodness, LabelEncoding, Supervision
from ._pc import PC, NudgeSign, Nudging, PCMode
from ._tp import DTP, TP, FeedbackLoss, TopTarget

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
            "alpha_b": 1e-4,
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


def _build_ff(o: dict[str, Any]) -> Rule:
    return FF(
        supervision=choice("FF supervision", o["supervision"], {s.value: s for s in Supervision}),
        label=choice("FF label encoding", o["label"], {e.value: e for e in LabelEncoding}),
        label_value=o["label_value"],
        goodness=choice("FF goodness", o["goodness"], {g.value: g for g in Goodness}),
        threshold=o["threshold"],
        loss=choice("FF loss", o["loss"], {f.value: f for f in FFLoss}),
        symba_alpha=o["symba_alpha"],
        norm=choice("FF normalisation", o["norm"], {n.value: n for n in FFNorm}),
        eps=o["eps"],
        prediction=choice("FF prediction", o["prediction"], {p.value: p for p in FFPrediction}),
        skip_first=o["skip_first"],
        peer_weight=o["peer_weight"],
        peer_momentum=o["peer_momentum"],
        greedy_steps=o["greedy_steps"],
        relu_full_grad=o["relu_full_grad"],
        classifier_scale=o["classifier_scale"],
        classifier_weight_decay=o["classifier_weight_decay"],
        blur_steps=o["blur_steps"],
        init=choice("FF init", o["init"], {i.value: i for i in FFInit}),
    )


RULES["ff"] = RuleSpec(
    "ff",
    "Forward-Forward (Hinton 2022): per-layer goodness losses, supervised or unsupervised",
    {
        "supervision": "supervised",
        "label": "overlay",
        "label_value": 1.0,
        "goodness": "sum",
        "threshold": None,
        "loss": "softplus",
        "symba_alpha": 4.0,
        "norm": "rms",
        "eps": 1e-8,
        "prediction": "linear",
        "skip_first": True,
        "peer_weight": 0.03,
        "peer_momentum": 0.9,
        "greedy_steps": 0,
        "relu_full_grad": True,
        "classifier_scale": 10.0,
        "classifier_weight_decay": 3e-3,
        "blur_steps": 8,
        "init": "normal",
    },
    _build_ff,
    {
        "supervision": "supervised (wrong-label negatives) | unsupervised (hybrid-image negatives)",
        "label": "overlay (first C inputs) | fixed-embedding | learned-embedding",
        "label_value": "overlay: value of the label's pixel; embeddings: std of their entries",
        "goodness": "sum | mean of the squared activities",
        "threshold": "goodness threshold (null: one per unit, i.e. the width for sum, 1 for mean)",
        "loss": "softplus (Hinton) | symba (symmetric, softplus(-alpha (G+ - G-)))",
        "symba_alpha": "SymBa's scale alpha",
        "norm": "length | rms normalisation of each layer's input",
        "eps": "added to the norm",
        "prediction": "linear (classifier on a neutral-label input) | goodness (argmax over labels)",
        "skip_first": "leave layer 1 out of the goodness score and the classifier's features",
        "peer_weight": "weight of the peer-normalisation loss (0: off)",
        "peer_momentum": "momentum of the running mean of the peer normalisation",
        "greedy_steps": "train one layer at a time for this many steps each (0: all layers each step)",
        "relu_full_grad": "pass the gradient of a ReLU ending an edge straight through",
        "classifier_scale": "the classifier's gradient scale (its lr relative to the layers')",
        "classifier_weight_decay": "extra L2 on the classifier (before the scale)",
        "blur_steps": "unsupervised: blurring passes of the noise that makes the hybrid masks",
        "init": "normal (W ~ N(0, 1/out), b = 0, as the best port) | network (the layers' own)",
    },
)


_FA_RULES: dict[str, tuple[type[Rule], str]] = {
    "fa": (FA, "feedback alignment (Lillicrap et al. 2016): fixed random feedback weights"),
    "sign-symmetry": (SignSymmetry, "sign symmetry (Liao et al. 2016): feedback sign(W)"),
    "dfa": (DFA, "direct feedback alignment (Nokland 2016): random projection of the error"),
    "drtp": (DRTP, "direct random target projection (Frenkel et al. 2021): projects the target"),
}


def _fa_builder(cls: type[Rule]) -> Callable[[dict[str, Any]], Rule]:
    def build(o: dict[str, Any]) -> Rule:
        return cls(cost=choice("cost", o["cost"], COSTS)(), seed=int(o["seed"]))  # type: ignore[call-arg]

    return build


for _name, (_cls, _help) in _FA_RULES.items():
    RULES[_name] = RuleSpec(
        _name,
        _help,
        {"cost": "cross-entropy", "seed": 0},
        _fa_builder(_cls),
        {
            "cost": f"output cost: {' | '.join(COSTS)}",
            "seed": "seed of the fixed random feedback weights",
        },
    )


def _tp_builder(
    cls: type[TP], loss: FeedbackLoss | None = None
) -> Callable[[dict[str, Any]], Rule]:
    def build(o: dict[str, Any]) -> Rule:
        fl = loss or choice("feedback loss", o["feedback_loss"], {f.value: f for f in FeedbackLoss})
        return cls(
            cost=choice("cost", o["cost"], COSTS)(),
            target_lr=o["target_lr"],
            noise=o["noise"],
            feedback_loss=fl,
            feedback_activation=_rho(o["feedback_activation"]),
            top_target=choice("top target", o["top_target"], {t.value: t for t in TopTarget}),
            layer_noise=tuple(o["layer_noise"]),
            noise_samples=o["noise_samples"],
        )

    return build


_TP_DEFAULTS = {
    "cost": "cross-entropy",
    "target_lr": 0.1,
    "noise": 0.1,
    "feedback_loss": "reconstruction",
    "feedback_activation": "tanh",
    "top_target": "decoder",
    "layer_noise": [],
    "noise_samples": 1,
}
_TP_DOCS = {
    "cost": f"output cost: {' | '.join(COSTS)}",
    "target_lr": "eta: output target h_L - eta dC/dh_L; layer losses are scaled by 1/eta",
    "noise": "std of the noise that drives the feedback-weight training",
    "feedback_loss": "reconstruction (Lee et al. 2015) | difference (L-DRL, Ernoult et al. 2022)",
    "feedback_activation": "decoder activation: dense g(h) = act(h V + c); conv ConvT(act(unpool(h)))",
    "top_target": "last hidden target: decoder (like the others) | gradient (Lee et al. 2015)",
    "layer_noise": "one noise std per decoder, bottom to top ([]: `noise` for all)",
    "noise_samples": "noise draws averaged in each feedback loss (Ernoult et al.'s parallel DTP: 10)",
}
RULES["tp"] = RuleSpec(
    "tp",
    "target propagation: targets through learned inverses, g(target)",
    dict(_TP_DEFAULTS),
    _tp_builder(TP),
    dict(_TP_DOCS),
)
RULES["dtp"] = RuleSpec(
    "dtp",
    "difference target propagation (Lee et al. 2015): h + g(target) - g(h)",
    dict(_TP_DEFAULTS),
    _tp_builder(DTP),
    dict(_TP_DOCS),
)
RULES["ldrl"] = RuleSpec(
    "ldrl",
    "DTP with feedback trained by difference reconstruction (L-DRL, Ernoult et al. 2022)",
    {k: v for k, v in _TP_DEFAULTS.items() if k != "feedback_loss"},
    _tp_builder(DTP, FeedbackLoss.DIFFERENCE),
    {k: v for k, v in _TP_DOCS.items() if k != "feedback_loss"},
)


def _build_softhebb(o: dict[str, Any]) -> Rule:
    from ..hebbian import SoftHebb  # plastix.hebbian builds on plastix.rules

    return SoftHebb(
        lr=tuple(o["lr"]),
        inverse_temperature=tuple(o["inverse_temperature"]),
        lr_power=o["lr_power"],
        anti_hebbian=o["anti_hebbian"],
        bn_momentum=o["bn_momentum"],
        dropout=o["dropout"],
        hebbian_epochs=o["hebbian_epochs"],
        hebbian_batch=o["hebbian_batch"],
    )


RULES["softhebb"] = RuleSpec(
    "softhebb",
    "SoftHebb (Journe et al. 2022): Hebbian soft-WTA blocks, no feedback, then a linear read-out",
    {
        "lr": [0.08, 0.005, 0.01],
        "inverse_temperature": [1.0, 0.65, 0.25],
        "lr_power": 0.5,
        "anti_hebbian": True,
        "bn_momentum": 0.1,
        "dropout": 0.5,
        "hebbian_epochs": 1,
        "hebbian_batch": None,
    },
    _build_softhebb,
    {
        "lr": "Hebbian learning rate per block (one value: the same for all)",
        "inverse_temperature": "soft-WTA inverse temperature beta per block (one value: all)",
        "lr_power": "per-neuron rate lr * |norm - 1|^lr_power",
        "anti_hebbian": "non-winning units get -y (anti-Hebbian); false: all Hebbian",
        "bn_momentum": "momentum of the running batch-norm statistics during the Hebbian pass",
        "dropout": "dropout on the read-out's input features",
        "hebbian_epochs": "unsupervised epochs before the read-out learns (the rest of the run)",
        "hebbian_batch": "micro-batch of each Hebbian update (null: the whole batch)",
    },
)


def _build_hebbian(o: dict[str, Any]) -> Rule:
    from ..hebbian import LocalHebbian, LocalUpdate

    return LocalHebbian(
        update=choice("Hebbian update", o["update"], {u.value: u for u in LocalUpdate}),
        lr=tuple(o["lr"]),
        normalise_step=o["normalise_step"],
        kh_p=o["kh_p"],
        kh_k=o["kh_k"],
        kh_delta=o["kh_delta"],
        hebb_decay=o["hebb_decay"],
        bcm_tau=o["bcm_tau"],
        bn_momentum=o["bn_momentum"],
        dropout=o["dropout"],
        hebbian_epochs=o["hebbian_epochs"],
        hebbian_batch=o["hebbian_batch"],
    )


RULES["hebbian"] = RuleSpec(
    "hebbian",
    "classic local rules (hebb, oja, sanger, wta, krotov-hopfield, bcm) on dense Hebbian "
    "blocks, then a linear read-out",
    {
        "update": "krotov-hopfield",
        "lr": [0.02],
        "normalise_step": True,
        "kh_p": 3.0,
        "kh_k": 2,
        "kh_delta": 0.4,
        "hebb_decay": 0.1,
        "bcm_tau": 100.0,
        "bn_momentum": 0.1,
        "dropout": 0.5,
        "hebbian_epochs": 1,
        "hebbian_batch": None,
    },
    _build_hebbian,
    {
        "update": "hebb | oja | sanger | wta | krotov-hopfield | bcm",
        "lr": "learning rate of the blocks' SGD step (one value, or one per block)",
        "normalise_step": "divide each step by its largest entry (Krotov & Hopfield)",
        "kh_p": "Krotov-Hopfield: the Lebesgue norm p",
        "kh_k": "Krotov-Hopfield: rank of the anti-Hebbian unit",
        "kh_delta": "Krotov-Hopfield: strength of the anti-Hebbian update",
        "hebb_decay": "hebb: weight decay lambda that bounds the weights",
        "bcm_tau": "bcm: time constant (in steps) of the sliding threshold",
        "bn_momentum": "momentum of the running batch-norm statistics during the Hebbian pass",
        "dropout": "dropout on the read-out's input features",
        "hebbian_epochs": "unsupervised epochs before the read-out learns (the rest of the run)",
        "hebbian_batch": "micro-batch of each Hebbian update (null: the whole batch)",
    },
)


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
