"""Help text of configuration keys, shared by the commands' ``--help``."""

from __future__ import annotations

import json
from typing import Any

from .. import config as cfg


def config_value(v: Any) -> str:
    return json.dumps(v)


def option_lines(opts: list[cfg.Option], indent: str, run: dict[str, Any] | None) -> list[str]:
    lines = []
    for o in opts:
        if o.python_only:
            lines.append(f"{indent}{o.key}  (Python only)  {o.help}")
            continue
        shown = config_value(o.default)
        if run is not None and o.key in run and run[o.key] != o.default:
            shown = f"{config_value(run[o.key])} (class default {shown})"
        choices = f"  {{{', '.join(o.choices)}}}" if o.choices else ""
        lines.append(f"{indent}{o.key} = {shown}{choices}  {o.help}")
    return lines
