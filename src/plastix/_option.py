"""Option fields: a static dataclass field with its help written once.

Every option of a rule, a model, an optimizer, the inference or a run is a field declared with
:func:`option`; :mod:`plastix.config` derives the configuration keys, their types, defaults
and help (``plastix train --help``, ``plastix list``, the docs) from these fields alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx

HELP = "help"
PYTHON_ONLY = "python_only"


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    default_factory: Any = dataclasses.MISSING,
    python_only: bool = False,
    **kwargs: Any,
) -> Any:
    """A static :func:`equinox.field` carrying its ``help`` (one line, shown by the command
    line and the docs). ``python_only=True`` marks an option a configuration cannot set (a
    callable, an optax object); :mod:`plastix.config` lists it as such."""
    metadata = {HELP: help, PYTHON_ONLY: python_only}
    if default_factory is not dataclasses.MISSING:
        return eqx.field(static=True, default_factory=default_factory, metadata=metadata, **kwargs)
    if default is dataclasses.MISSING:
        return eqx.field(static=True, metadata=metadata, **kwargs)
    return eqx.field(static=True, default=default, metadata=metadata, **kwargs)
