"""The code of docs/new_rule.md runs as written (its blocks in order, in one namespace)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_new_rule_walkthrough_runs(capsys):
    text = (DOCS / "new_rule.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    module = types.ModuleType("new_rule_doc")  # classes need a real module (dataclasses)
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    try:
        for code in blocks:
            exec(compile(code, "docs/new_rule.md", "exec"), namespace)
    finally:
        del sys.modules[module.__name__]
    out = [l for l in capsys.readouterr().out.splitlines() if not l.startswith("epoch ")]
    assert float(out[0]) > 0.8  # ClippedBP trains on the digits
    assert out[1] == "['cost', 'cost.beta', 'cost.m', 'clip']"
    assert namespace["rule"].clip == 0.2
    assert out[2].endswith("True")
