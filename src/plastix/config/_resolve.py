"""Layered settings: defaults < preset < config file < ``--set key=value`` < flags."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from . import _options
from ._presets import load_preset
from ._run import CHOICES, NAMED_SECTIONS, SECTIONS, RunConfig, _base


@dataclass(frozen=True)
class Layer:
    """One source of settings: ``origin`` (for messages), a nested ``settings`` mapping, and
    whether it is a preset's (a preset's options of a rule, model or optimizer that a later
    layer replaces are dropped; anyone else's are errors when they do not fit)."""

    origin: str
    settings: Mapping[str, Any]
    preset: bool = False


def parse_value(text: str) -> Any:
    """``--set`` values are JSON (numbers, true/false/null, lists, quoted strings); anything
    that is not JSON is taken as a plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["rule.beta=0.2", ...]`` -> nested settings."""
    flat: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: use KEY=VALUE, e.g. --set rule.inference.steps=8.")
        k, v = item.split("=", 1)
        flat[k.strip()] = parse_value(v.strip())
    return unflatten(flat)


def unflatten(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``{"rule.inference.steps": 8}`` -> ``{"rule": {"inference": {"steps": 8}}}`` (nested
    mappings are merged; a later key wins)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            value = unflatten(value)
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            child = node.get(p)
            if not isinstance(child, dict):
                child = {} if not isinstance(child, str) else {"name": child}
                node[p] = child
            node = child
        last = parts[-1]
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last] = _merge(node[last], value)
        else:
            node[last] = value
    return out


def _merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A TOML (``.toml``) or JSON (``.json``) file of sections, e.g. ``[rule] beta = 0.2``."""
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
    for meta in ("help", "default_for"):  # a preset file used as a config
        data.pop(meta, None)
    return unflatten(data)


def _section_name(section: str, value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("name")
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"{section}.name must be a name (a string), got {value!r}.")


def resolve(layers: Sequence[Layer]) -> RunConfig:
    """The :class:`RunConfig` of ``layers`` applied in order over the defaults.

    The last name given to ``model``, ``rule`` or ``optimizer`` chooses it; options an
    earlier preset set for another choice are dropped, options anyone else set must fit the
    final choice (else a :class:`~plastix.ConfigError` lists the valid keys)."""
    for layer in layers:
        unknown = sorted(set(layer.settings) - set(SECTIONS))
        if unknown:
            raise ConfigError(
                f"{layer.origin}: unknown section(s) {unknown}; valid: {', '.join(SECTIONS)} "
                "(keys are dotted, e.g. rule.inference.steps)."
            )
    run = defaults = RunConfig()
    final: dict[str, str] = {}
    for sec in NAMED_SECTIONS:
        given = (_section_name(sec, l.settings.get(sec)) for l in layers)
        names = [n for n in given if n is not None]
        if names:
            final[sec] = names[-1]
            run = _options.update(run, RunConfig, {sec: {"name": names[-1]}}, CHOICES)
    current = {
        sec: _options.name_of(getattr(defaults, sec), CHOICES[_base(sec)]) for sec in NAMED_SECTIONS
    }
    for layer in layers:
        settings: dict[str, Any] = {}
        for sec, value in layer.settings.items():
            if sec in NAMED_SECTIONS:
                name = _section_name(sec, value)
                if name is not None:
                    current[sec] = name
                if layer.preset and current[sec] != final.get(sec, current[sec]):
                    continue  # a preset's options of a rule/model/optimizer replaced later
                if isinstance(value, str):
                    continue  # the name alone: chosen above
                value = {k: v for k, v in value.items() if k != "name"}
            settings[sec] = value
        try:
            run = _options.update(run, RunConfig, settings, CHOICES)
        except ConfigError as err:
            raise ConfigError(f"{layer.origin}: {err}") from None
    return run


def from_preset(name: str, *settings: Mapping[str, Any]) -> RunConfig:
    """The run of preset ``name`` with ``settings`` (dotted keys or nested sections) layered
    on top, as ``plastix train --preset NAME --set ...`` does.

    >>> import plastix as px
    >>> run = px.config.from_preset("pcx-mnist-mlp", {"rule.inference.steps": 4})
    >>> run.rule.inference.steps, run.train.epochs
    (4, 25)
    """
    layers = [Layer(f"preset {name}", load_preset(name), preset=True)]
    layers += [Layer(f"settings {i + 1}", unflatten(s)) for i, s in enumerate(settings)]
    return resolve(layers)
