"""Presets: published setups, one TOML file each in ``plastix/config/presets/`` (package data).

A preset file holds a ``help`` line and the sections it sets (``[data]``, ``[model]``,
``[rule]``, ``[optimizer]``, ``[train]``, nested tables for nested options); it is a valid
``--config`` file as it stands. ``default_for = ["mnist", ...]`` makes it the preset a run of
its rule on those datasets starts from when no preset is named (:func:`default_preset`).
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

from .._errors import ConfigError

DEFAULT_PRESET = "digits-pc"
"""The preset of ``plastix train`` with no arguments (predictive coding on the digits)."""
META_KEYS = ("help", "default_for")
"""A preset file's keys that describe it rather than set options."""


def _dir() -> Any:
    return resources.files("plastix.config").joinpath("presets")


@functools.cache
def _all() -> dict[str, dict[str, Any]]:
    out = {}
    for entry in sorted(_dir().iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        name = entry.name[: -len(".toml")]
        try:
            data = tomllib.loads(entry.read_text())
        except tomllib.TOMLDecodeError as err:  # pragma: no cover - a broken package
            raise ConfigError(f"preset {name!r} ({entry}) is not valid TOML: {err}") from err
        if not isinstance(data.get("help"), str):  # pragma: no cover - a broken package
            raise ConfigError(f"preset {name!r} ({entry}) has no `help` line.")
        out[name] = data
    return out


def preset_names() -> list[str]:
    """The names of the shipped presets."""
    return list(_all())


def preset_help(name: str) -> str:
    """The one-line description of preset ``name``."""
    return str(_preset(name)["help"])


def load_preset(name: str) -> dict[str, Any]:
    """The settings of preset ``name`` (nested sections; ``help`` and ``default_for`` left
    out)."""
    return {k: v for k, v in _preset(name).items() if k not in META_KEYS}


def _rule_of(preset: dict[str, Any]) -> str | None:
    rule = preset.get("rule")
    return rule.get("name") if isinstance(rule, dict) else rule if isinstance(rule, str) else None


def default_preset(rule: str, dataset: str) -> tuple[str, bool]:
    """The preset a run of ``rule`` on ``dataset`` starts from when none is named, and whether
    it is that dataset's own (``False``: the rule's MNIST preset, whose data the caller
    replaces; for rules with no preset on the dataset). Raises :class:`~plastix.ConfigError`
    for a rule with no preset at all.

    >>> from plastix.config import default_preset
    >>> default_preset("pc", "mnist"), default_preset("chl", "digits")
    (('pcx-mnist-mlp', True), ('chl-mnist-mlp', False))
    """
    presets = _all()
    for wanted in (dataset, "mnist"):
        found = [
            n
            for n, p in presets.items()
            if _rule_of(p) == rule and wanted in p.get("default_for", ())
        ]
        if len(found) > 1:  # pragma: no cover - a broken package (tested)
            raise ConfigError(f"presets {found} all claim to be {rule}'s default for {wanted}.")
        if found:
            return found[0], wanted == dataset
    raise ConfigError(
        f"rule {rule!r} has no default preset; name one with --preset, or give the model and "
        "options with --set."
    )


def _preset(name: str) -> dict[str, Any]:
    presets = _all()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(presets)}.")
    return presets[name]
