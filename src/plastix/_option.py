"""Option fields: a static dataclass field with its help written once.

Every option of a rule, a model, an optimizer, the inference or a run is a field declared with
:func:`option`; :mod:`plastix.config` derives the configuration keys, their types, defaults
and help (``plastix train --help``, ``plastix list``, the docs) from these fields alone.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any

import equinox as eqx

from ._errors import ConfigError

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


def _allowed(tp: Any) -> tuple[type, ...] | None:
    """The classes a value of annotation ``tp`` must be an instance of, for the annotations
    worth checking at construction (enums and option objects, optionally ``| None``), else
    ``None`` (numbers, strings, tuples: checked by each class or by the configuration)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp) if origin in (typing.Union, types.UnionType) else (tp,)
    classes: list[type] = []
    for a in args:
        if a is type(None):
            classes.append(type(None))
        elif isinstance(a, type) and (issubclass(a, enum.Enum) or issubclass(a, eqx.Module)):
            classes.append(a)
        elif isinstance(a, type) and a.__module__.startswith("optax"):
            classes.append(a)
        else:
            return None
    return tuple(classes)


@functools.cache
def _checked_fields(cls: type) -> tuple[tuple[str, tuple[type, ...]], ...]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: leave it to the class
        return ()
    out = []
    for f in dataclasses.fields(cls):
        allowed = _allowed(hints.get(f.name))
        if allowed:
            out.append((f.name, allowed))
    return tuple(out)


def check_option_types(obj: Any) -> None:
    """Raise a :class:`~plastix.ConfigError` at construction when an option that takes an
    enum or an option object got something else (``EP(sign="bogus")``, ``PC(cost=
    "cross-entropy")``), naming the valid values; the configuration resolves names, Python
    passes the objects."""
    who = type(obj).__name__
    for name, allowed in _checked_fields(type(obj)):  # type: ignore[arg-type]
        value = getattr(obj, name)
        if isinstance(value, allowed):
            continue
        enums = [a for a in allowed if issubclass(a, enum.Enum)]
        if enums:
            e = enums[0]
            valid = ", ".join(f"{e.__name__}.{m.name}" for m in e)
            raise ConfigError(
                f"{who}({name}={value!r}): expected a {e.__name__} ({valid}); from a "
                f"configuration, its value by name ({', '.join(repr(m.value) for m in e)})."
            )
        kinds = [a for a in allowed if a is not type(None)]
        concrete = sorted({c.__name__ for a in kinds for c in _concrete(a)})
        examples = f" (one of {', '.join(concrete[:8])})" if concrete else ""
        none = " or None" if type(None) in allowed else ""
        raise ConfigError(
            f"{who}({name}={value!r}): expected an object of type "
            f"{' | '.join(a.__name__ for a in kinds)}{examples}{none}; a name such as "
            f"{value!r} is resolved by plastix.config (config.build, --set), not by the "
            "constructor."
        )


def _concrete(cls: type) -> list[type]:
    """``cls`` and its subclasses that can be made (not abstract, not private)."""
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        todo.extend(c.__subclasses__())
        if (
            not getattr(c, "__abstractmethods__", None)
            and not c.__name__.startswith(("Abstract", "_"))
            and not c.__module__.startswith("optax")
        ):
            out.append(c)
    return out
