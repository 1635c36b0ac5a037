"""Presets: published setups, one TOML file each in ``plastix/config/presets/`` (package data).

A preset file holds a ``help`` line and the sections it sets (``[data]``, ``[model]``,
``[rule]``, ``[optimizer]``, ``[train]``, nested tables for nested options); it is a valid
``--config`` file as it stands.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

from .._errors import ConfigError

DEFAULT_PRESET = "digits-pc"
"""The preset of ``plastix train`` with no ``--preset``."""


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
    """The settings of preset ``name`` (nested sections, ``help`` left out)."""
    return {k: v for k, v in _preset(name).items() if k != "help"}


def _preset(name: str) -> dict[str, Any]:
    presets = _all()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(presets)}.")
    return presets[name]
