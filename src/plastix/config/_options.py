"""Configuration keys derived from dataclass fields.

A configurable class is a dataclass (an Equinox module) whose options are fields declared
with :func:`plastix._option.option`. From the fields alone this module derives

- :func:`options`: every key (dotted for nested option objects), its type, default and help;
- :func:`build`: an instance from a mapping of keys (``build(cls, {}) == cls()``);
- :func:`to_config`: the mapping of an instance (``build(type(x), to_config(x)) == x``).

Types understood: ``bool``, ``int``, ``float``, ``str``, enums (by value), tuples and
sequences of those (lists), ``X | None`` (``null``), unions of scalars, nested option objects
(dotted keys) and *choices*: an abstract type whose implementations have names (costs,
activations, state optimizers, schedules; at the top level rules, models and optimizers),
given as the name or as a table ``{name = ..., <options>}``. A field of any other type (a
callable, an optax object) is *Python-only*: listed as such, not settable from a config.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ConfigError
from .._option import HELP, PYTHON_ONLY

Choices = Mapping[type, Mapping[str, type]]
"""For each abstract type, its implementations by name."""


@dataclass(frozen=True)
class Option:
    """One configuration key: dotted ``key``, a readable ``type``, the ``default`` (in config
    form), ``help``, the ``choices`` (names, for enums and choice fields) and whether only
    Python can set it."""

    key: str
    type: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    python_only: bool = False


# --- types ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """What a field's annotation allows."""

    tag: str  # scalar | enum | list | choice | nested | union | opaque
    types: tuple[Any, ...] = ()  # scalar types / enum class / item kind / classes
    nullable: bool = False
    item: _Kind | None = None
    length: int | None = None  # fixed-length tuples


_SCALARS = (bool, int, float, str)


def _args_without_none(tp: Any) -> tuple[tuple[Any, ...], bool]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        return tuple(a for a in args if a is not type(None)), type(None) in args
    return (tp,), False


def _choice_base(tp: Any, choices: Choices) -> type | None:
    if not isinstance(tp, type):
        return None
    for base in choices:
        if issubclass(tp, base):
            return base
    return None


def _kind(tp: Any, choices: Choices) -> _Kind:
    args, nullable = _args_without_none(tp)
    if len(args) == 1:
        k = _single_kind(args[0], choices)
        return dataclasses.replace(k, nullable=nullable)
    kinds = [_single_kind(a, choices) for a in args]
    configurable = [k for k in kinds if k.tag != "opaque"]
    if len(configurable) == 1 and configurable[0].tag == "choice":
        # a choice, or (Python only) any other object of the opaque types
        return dataclasses.replace(configurable[0], nullable=nullable)
    if all(k.tag in ("scalar", "list") for k in kinds):
        return _Kind("union", tuple(kinds), nullable=nullable)
    return _Kind("opaque", nullable=nullable)


def _single_kind(tp: Any, choices: Choices) -> _Kind:
    if tp in _SCALARS:
        return _Kind("scalar", (tp,))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _Kind("enum", (tp,))
    origin = typing.get_origin(tp)
    if origin in (tuple, list, Sequence, typing.Sequence):
        args = typing.get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = {_single_kind(a, choices) for a in args}
            if len(items) == 1:
                (item,) = items
                return _Kind("list", item=item, length=len(args))
            return _Kind("opaque")
        item = _single_kind(args[0], choices) if args else _Kind("opaque")
        if item.tag not in ("scalar", "enum"):
            return _Kind("opaque")
        return _Kind("list", item=item)
    base = _choice_base(tp, choices)
    if base is not None:
        allowed = {n: c for n, c in choices[base].items() if issubclass(c, tp)}
        return _Kind("choice", (tp, allowed))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _Kind("nested", (tp,))
    return _Kind("opaque")


def _describe(k: _Kind) -> str:
    if k.tag == "scalar":
        s = k.types[0].__name__
    elif k.tag == "enum":
        s = "str"
    elif k.tag == "list":
        assert k.item is not None
        s = f"list[{_describe(k.item)}]" + (f" of {k.length}" if k.length else "")
    elif k.tag == "union":
        s = " | ".join(_describe(i) for i in k.types)
    elif k.tag == "choice":
        s = "name"
    elif k.tag == "nested":
        s = "table"
    else:
        s = "python object"
    return s + (" | null" if k.nullable else "")


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except NameError as err:  # pragma: no cover - a class annotated with an unknown name
        raise TypeError(f"cannot resolve the annotations of {cls.__name__}: {err}") from err


def _field_kinds(cls: type, choices: Choices) -> dict[str, tuple[dataclasses.Field[Any], _Kind]]:
    hints = _hints(cls)
    out = {}
    for f in _fields(cls):
        k = _kind(hints[f.name], choices)
        if f.metadata.get(PYTHON_ONLY):
            k = _Kind("opaque", nullable=k.nullable)
        out[f.name] = (f, k)
    return out


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def name_of(obj: Any, choices: Mapping[str, type]) -> str:
    """The name under which ``obj``'s class is a choice."""
    for n, c in choices.items():
        if type(obj) is c:
            return n
    raise ConfigError(
        f"{type(obj).__name__} is not one of the named choices {sorted(choices)}; "
        "a configuration cannot describe it (Python only)."
    )


# --- instance -> config -----------------------------------------------------------------------


def to_config(obj: Any, choices: Choices) -> dict[str, Any]:
    """The configuration mapping of option object ``obj``: every configurable field in config
    form (Python-only fields are left out)."""
    out: dict[str, Any] = {}
    for name, (_, k) in _field_kinds(type(obj), choices).items():
        if k.tag == "opaque":
            continue
        out[name] = _value_to_config(getattr(obj, name), k, choices)
    return out


def _value_to_config(v: Any, k: _Kind, choices: Choices) -> Any:
    if v is None:
        return None
    if k.tag == "scalar" or k.tag == "union":
        return list(v) if isinstance(v, tuple) else v
    if k.tag == "enum":
        return v.value
    if k.tag == "list":
        assert k.item is not None
        return [_value_to_config(i, k.item, choices) for i in v]
    if k.tag == "nested":
        return to_config(v, choices)
    if k.tag == "choice":
        allowed = k.types[1]
        if not any(type(v) is c for c in allowed.values()):
            return "<python object>"
        name = name_of(v, allowed)
        opts = to_config(v, choices)
        if not opts or v == type(v)():
            return name
        return {"name": name, **opts}
    raise AssertionError(k)


# --- config -> instance -----------------------------------------------------------------------


def build(cls: type, config: Mapping[str, Any], choices: Choices, *, where: str = "") -> Any:
    """An instance of ``cls`` from a (nested) configuration mapping; missing keys keep their
    defaults, so ``build(cls, {}) == cls()``."""
    return update(None, cls, config, choices, where=where)


def update(
    obj: Any, cls: type, config: Mapping[str, Any], choices: Choices, *, where: str = ""
) -> Any:
    """``obj`` (an instance of ``cls``; ``None``: its defaults) with the keys of ``config``
    set. Nested tables update the nested object in place of replacing it."""
    kinds = _field_kinds(cls, choices)
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        full = f"{where}{key}"
        if key not in kinds:
            valid = [f"{where}{n}" for n, (_, k) in kinds.items() if k.tag != "opaque"]
            raise ConfigError(
                f"unknown config key {full!r} for {_title(cls, choices)}; valid keys: "
                f"{', '.join(valid) or 'none'}."
            )
        f, k = kinds[key]
        if k.tag == "opaque":
            raise ConfigError(
                f"{full} ({cls.__name__}.{key}) can only be set from Python: "
                f"{f.metadata.get(HELP, '')}"
            )
        current = getattr(obj, key) if obj is not None else _default(f)
        if current is dataclasses.MISSING:
            current = None
        kwargs[key] = _convert(value, k, current, choices, full)
    try:
        if obj is None:
            return cls(**kwargs)
        return dataclasses.replace(obj, **kwargs) if kwargs else obj
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where.rstrip('.') or cls.__name__}: {err}") from err


def _title(cls: type, choices: Choices) -> str:
    for base, named in choices.items():
        for n, c in named.items():
            if c is cls and issubclass(cls, base):
                return f"{n!r} ({cls.__name__})"
    return cls.__name__


def _type_error(key: str, k: _Kind, value: Any) -> ConfigError:
    return ConfigError(f"{key} must be of type {_describe(k)}, got {value!r}.")


def _convert(value: Any, k: _Kind, current: Any, choices: Choices, key: str) -> Any:
    if value is None:
        if k.nullable:
            return None
        raise ConfigError(f"{key} cannot be null; it must be of type {_describe(k)}.")
    if k.tag == "scalar":
        return _scalar(value, k.types[0], key, k)
    if k.tag == "union":
        for sub in k.types:
            try:
                return _convert(value, sub, None, choices, key)
            except ConfigError:
                continue
        raise _type_error(key, k, value)
    if k.tag == "enum":
        e = k.types[0]
        if isinstance(value, e):
            return value
        for m in e:
            if m.value == value:
                return m
        raise ConfigError(
            f"{key}: unknown {key.rsplit('.', 1)[-1]} {value!r}; choose one of "
            f"{[m.value for m in e]}."
        )
    if k.tag == "list":
        assert k.item is not None
        if not isinstance(value, (list, tuple)):
            raise _type_error(key, k, value)
        if k.length is not None and len(value) != k.length:
            raise ConfigError(f"{key} needs {k.length} entries, got {list(value)!r}.")
        return tuple(_convert(v, k.item, None, choices, key) for v in value)
    if k.tag == "nested":
        cls = k.types[0]
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} is a table of options of {cls.__name__}; got {value!r}.")
        return update(current, cls, value, choices, where=key + ".")
    if k.tag == "choice":
        return _choice(value, k, current, choices, key)
    raise AssertionError(k)


_NONFINITE = {"nan", "inf", "infinity"}


def _scalar(value: Any, tp: type, key: str, k: _Kind) -> Any:
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}.")
        return float(value)
    if tp is float and isinstance(value, str) and value.strip().lower().lstrip("+-") in _NONFINITE:
        raise ConfigError(f"{key} must be a finite number, got {value!r}.")
    if tp is str and isinstance(value, str):
        return value
    raise _type_error(key, k, value)


def _choice(value: Any, k: _Kind, current: Any, choices: Choices, key: str) -> Any:
    allowed: Mapping[str, type] = k.types[1]
    if isinstance(value, str):
        name, opts = value, {}
    elif isinstance(value, Mapping):
        opts = dict(value)
        name = opts.pop("name", None)
        if name is None:
            if current is None or not any(type(current) is c for c in allowed.values()):
                raise ConfigError(f"{key}: give its name, one of {sorted(allowed)}.")
            name = name_of(current, allowed)
    else:
        if any(type(value) is c for c in allowed.values()):
            return value
        raise ConfigError(
            f"{key} must be a name ({' | '.join(allowed)}) or a table; got {value!r}."
        )
    if name not in allowed:
        raise ConfigError(
            f"unknown {key.rsplit('.', 1)[-1]} {name!r}; choose one of {sorted(allowed)} "
            f"(key {key})."
        )
    cls = allowed[name]
    same = current is not None and type(current) is cls
    return update(current if same else None, cls, opts, choices, where=key + ".")


# --- listing ----------------------------------------------------------------------------------


def options(cls: type, choices: Choices, *, prefix: str = "", obj: Any = None) -> list[Option]:
    """Every option of ``cls`` (of ``obj``'s values when given, else the defaults), with
    dotted keys for nested options (``prefix`` before each)."""
    out: list[Option] = []
    for name, (f, k) in _field_kinds(cls, choices).items():
        key = prefix + name
        value = getattr(obj, name) if obj is not None else _default(f)
        help_ = f.metadata.get(HELP, "")
        if k.tag == "opaque":
            if help_:  # a field without help is another library's (a diffrax solver's)
                out.append(Option(key, "python object", None, help_, python_only=True))
            continue
        names: tuple[str, ...] = ()
        if k.tag == "enum":
            names = tuple(m.value for m in k.types[0])
        elif k.tag == "choice":
            names = tuple(k.types[1])
        default = None if value is dataclasses.MISSING else _value_to_config(value, k, choices)
        if k.tag == "nested":
            if value is None or value is dataclasses.MISSING:
                out.append(Option(key, _describe(k), None, help_))
                value = k.types[0]()
            out.extend(options(k.types[0], choices, prefix=key + ".", obj=value))
            continue
        if k.tag == "choice" and isinstance(default, dict):
            default = default["name"]
        out.append(Option(key, _describe(k), default, help_, names))
        if k.tag == "choice":
            # the options of the chosen class (its values), then those of the other choices
            chosen = value if value is not None and value is not dataclasses.MISSING else None
            for n, c in k.types[1].items():
                mine = chosen is not None and type(chosen) is c
                for o in options(c, choices, prefix=key + ".", obj=chosen if mine else None):
                    when = "" if mine else f" (with {key} = {n})"
                    out.append(dataclasses.replace(o, help=o.help + when))
    return out
