"""Run configuration: defaults < preset < config file < --set < flags, every key validated."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ..data import DATASETS
from ..models import MODEL_OPTIONS
from ..rules import RULES
from ..train import OPTIMIZER_DEFAULTS, PRESETS

DEFAULT_PRESET = "digits-pc"

FIXED_SECTIONS: dict[str, dict[str, Any]] = {
    "data": {
        "name": "digits",
        "dir": None,
        "normalize": True,
        "augment": "none",
        "train_limit": None,
        "test_limit": None,
    },
    "train": {
        "epochs": 10,
        "batch_size": 128,
        "seed": 0,
        "steps_per_call": 64,
        "eval_batch_size": 1000,
        "gradient_check": 0,
        "devices": 0,
    },
    "optimizer": dict(OPTIMIZER_DEFAULTS),
}

DOCS = {
    "data.name": f"dataset: {' | '.join(DATASETS)}",
    "data.dir": "folder with the data files (else $PLASTIX_DATA_DIR, else the cache)",
    "data.normalize": "standardise inputs with the training set's per-channel mean and std",
    "data.augment": "none | crop-flip (random 4-pixel-padded crops and horizontal flips)",
    "data.train_limit": "use only the first N training samples (null: all)",
    "data.test_limit": "use only the first N test samples (null: all)",
    "train.epochs": "number of epochs",
    "train.batch_size": "minibatch size (the last incomplete batch of an epoch is dropped)",
    "train.seed": "seed of the initial parameters, the batch order and every random draw",
    "train.steps_per_call": "training steps per compiled call (progress-bar refresh interval; 1: no compiled loop, faster for wide conv nets on CPU)",
    "train.eval_batch_size": "batch size of evaluation",
    "train.devices": "split each batch over the first N devices (0: every device JAX sees; "
    "on CPU JAX_NUM_CPU_DEVICES=N makes N)",
    "train.gradient_check": "log each epoch the cosine of the rule's update with the exact "
    "gradient on the first N training samples (0: off)",
}


def parse_value(text: str) -> Any:
    """``--set`` values are JSON (numbers, true/false/null, lists, quoted strings); anything
    that is not JSON is taken as a plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"rule": {"steps": 8}}`` -> ``{"rule.steps": 8}`` (also accepts dotted keys)."""
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A TOML (``.toml``) or JSON (``.json``) file of sections, e.g. ``[rule] steps = 8``."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read config file {p}: {err}") from err
    try:
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text.decode())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"config file {p} is not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {err}"
        ) from err
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table of sections.")
    return flatten(data)


# the type of keys whose default is null
NULLABLE: dict[str, type] = {
    "data.dir": str,
    "data.train_limit": int,
    "data.test_limit": int,
    "rule.tol": float,
    "rule.hebbian_batch": int,
}


def _check_type(key: str, value: Any, default: Any) -> Any:
    if default is None:
        kind = NULLABLE.get(key, float)
        if value is None:
            return value
        return _check_type(key, value, kind())
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, list):
        if isinstance(value, list):
            return value
    raise ConfigError(f"{key} must be of type {type(default).__name__}, got {value!r}.")


def schema(rule: str, model: str) -> dict[str, Any]:
    """All valid dotted keys with their defaults, for the given rule and model."""
    keys = {f"{s}.{k}": v for s, sec in FIXED_SECTIONS.items() for k, v in sec.items()}
    keys["rule.name"] = rule
    keys.update({f"rule.{k}": v for k, v in RULES[rule].defaults.items()})
    keys["model.name"] = model
    keys.update({f"model.{k}": v for k, v in MODEL_OPTIONS[model].items()})
    return keys


def resolve(overrides: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Merge layers of dotted-key overrides (later wins) over the defaults and validate.

    Unknown keys raise :class:`~plastix.ConfigError` with the valid ones listed."""
    merged: dict[str, Any] = {}
    for layer in overrides:
        merged.update(layer)
    rule = merged.get("rule.name", "pc")
    model = merged.get("model.name", "mlp")
    for key, name in (
        ("rule.name", rule),
        ("model.name", model),
        ("data.name", merged.get("data.name", "")),
    ):
        if not isinstance(name, str):
            raise ConfigError(f"{key} must be a name (a string), got {name!r}.")
    if rule not in RULES:
        raise ConfigError(f"unknown rule {rule!r}; choose one of {sorted(RULES)}.")
    if model not in MODEL_OPTIONS:
        raise ConfigError(f"unknown model {model!r}; choose one of {sorted(MODEL_OPTIONS)}.")
    # options of other rules/models that an earlier layer (a preset) set are dropped when a
    # later layer switches rule or model; a key the final rule/model does not know is an error
    valid = schema(rule, model)
    switched = {
        "rule": _last_layer_setting(overrides, "rule.name"),
        "model": _last_layer_setting(overrides, "model.name"),
    }
    out = dict(valid)
    for i, layer in enumerate(overrides):
        for key, value in layer.items():
            section = key.split(".", 1)[0]
            if key not in valid:
                if i == 0 and section in switched and switched[section] > 0:
                    continue  # a preset option of the rule/model a later layer replaced
                pool = sorted(k for k in valid if k.startswith(section + ".")) or sorted(valid)
                raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(pool)}.")
            out[key] = _check_type(key, value, valid[key])
    nested: dict[str, dict[str, Any]] = {}
    for key, value in out.items():
        s, k = key.split(".", 1)
        nested.setdefault(s, {})[k] = value
    if nested["data"]["name"] not in DATASETS:
        raise ConfigError(
            f"unknown dataset {nested['data']['name']!r}; choose one of {list(DATASETS)}."
        )
    return nested


def _last_layer_setting(overrides: list[dict[str, Any]], key: str) -> int:
    idx = [i for i, layer in enumerate(overrides) if key in layer]
    return idx[-1] if idx else -1


def preset(name: str) -> dict[str, Any]:
    """The overrides of a named preset."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
    return dict(PRESETS[name])
