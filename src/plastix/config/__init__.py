"""Configuration derived from the option classes: keys, types, defaults and help come from
the dataclass fields of the rules, models, optimizers and run settings (written once, with
:func:`plastix._option.option`); presets are TOML files shipped in the package.

- :func:`options` lists a class's keys; :func:`build` makes an instance from a mapping;
  :func:`to_config` gives an instance's mapping (``build(type(x), to_config(x)) == x``).
- :class:`RunConfig` is a whole run; :func:`resolve` layers presets, config files, ``--set``
  values and flags over its defaults.
"""

from ._options import Option as Option
from ._presets import DEFAULT_PRESET as DEFAULT_PRESET
from ._presets import default_preset as default_preset
from ._presets import load_preset as load_preset
from ._presets import preset_help as preset_help
from ._presets import preset_names as preset_names
from ._resolve import Layer as Layer
from ._resolve import from_preset as from_preset
from ._resolve import load_config_file as load_config_file
from ._resolve import parse_sets as parse_sets
from ._resolve import parse_value as parse_value
from ._resolve import resolve as resolve
from ._resolve import unflatten as unflatten
from ._run import ALL_RULES as ALL_RULES
from ._run import CHOICES as CHOICES
from ._run import NAMED_SECTIONS as NAMED_SECTIONS
from ._run import RULES as RULES
from ._run import SECTIONS as SECTIONS
from ._run import RunConfig as RunConfig
from ._run import build as build
from ._run import make_rule as make_rule
from ._run import options as options
from ._run import to_config as to_config
