"""Every Python block of README.md and docs/*.md runs exactly as printed.

A block is self-contained unless its first line is ``# (continues the block above)``: then it
runs in the namespace the blocks before it left. A block whose first line starts with
``# slow:`` states how long it takes and runs in the slow tier only. Blocks run in a scratch
folder, with ``$PLASTIX_DATA_DIR`` at the real MNIST. (docs/new_rule.md has its own test, which
also checks what its blocks print.)"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from conftest import MNIST_DIR

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OWN_TEST = {"new_rule.md"}
CONTINUES = "# (continues the block above)"
SLOW = "# slow:"


def _chains(path: Path) -> list[list[str]]:
    """The file's Python blocks, grouped into chains that share one namespace."""
    chains: list[list[str]] = []
    for code in re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S):
        if code.startswith(CONTINUES) and chains:
            chains[-1].append(code)
        else:
            chains.append([code])
    return chains


def _cases() -> list:
    cases = []
    for path in FILES:
        if path.name in OWN_TEST:
            continue
        for i, chain in enumerate(_chains(path)):
            slow = any(c.startswith(SLOW) for c in chain)
            marks = [pytest.mark.slow] if slow else []
            cases.append(pytest.param(path, i, marks=marks, id=f"{path.name}-{i + 1}"))
    return cases


def test_continuation_markers_follow_a_block():
    for path in FILES:
        blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
        if blocks:
            assert not blocks[0].startswith(CONTINUES), f"{path.name}: nothing to continue"


@pytest.mark.parametrize(("path", "index"), _cases())
def test_example_runs_as_printed(path, index, tmp_path, monkeypatch):
    chain = _chains(path)[index]
    if any("mnist" in code for code in chain):
        if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
            pytest.skip(f"real MNIST not found in {MNIST_DIR}")
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(MNIST_DIR))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"example_{path.stem}_{index}")  # dataclasses need a module
    sys.modules[module.__name__] = module
    try:
        for code in chain:
            exec(compile(code, f"{path.name} (example {index + 1})", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
