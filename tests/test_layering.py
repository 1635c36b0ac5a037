"""Imports point one way (``../shared/DESIGN.md``): a package imports only packages below it,
never another package's private module, and the library imports nothing inside functions
(the command-line package alone may import lazily, to keep ``plastix --help`` fast).

The redesign lands in steps: ``KNOWN`` lists the violations still to remove, and the test fails
both on a new violation and on a listed one that is gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "plastix"

# low to high; a package may import those with a lower rank (and itself)
RANK = {
    "_errors": 0,
    "_option": 0,
    "_progress": 0,
    "nn": 1,
    "graph": 2,
    "data": 2,
    "inference": 3,
    "models": 3,
    "rules": 4,
    "local": 5,
    "memory": 6,
    "train": 7,
    "config": 8,
    "viz": 9,
    "bench": 10,
    "cli": 11,
    "__init__": 12,
    "__main__": 12,
}

KNOWN: set[tuple[str, str]] = set()


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _resolve(path: Path, node: ast.ImportFrom) -> str | None:
    """The plastix-relative dotted module an import names (None: outside plastix)."""
    if node.level == 0:
        mod = node.module or ""
        return mod[len("plastix.") :] if mod.startswith("plastix.") else None
    base = list(path.relative_to(SRC).parent.parts)
    up = node.level - 1
    base = base[: len(base) - up] if up else base
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _violations() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        pkg = _package(path)
        tree = ast.parse(path.read_text())
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if id(node) not in top_level and pkg != "cli":
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else ["." * node.level + (node.module or "")]
                )
                for name in names:
                    found.add((rel, f"in-function import {name}"))
            if not isinstance(node, ast.ImportFrom):
                continue
            base = _resolve(path, node)
            if base is None:
                continue
            # `from .. import nn` imports the package nn itself
            targets = [base] if base else [a.name for a in node.names]
            for target in targets:
                parts = target.split(".")
                other = parts[0]
                if other != pkg and other in RANK and RANK[other] > RANK.get(pkg, 99):
                    found.add((rel, f"upward import of {other}"))
                if other != pkg and any(p.startswith("_") for p in parts[1:]):
                    found.add((rel, f"private import {target}"))
    return found


def test_imports_point_downward_and_stay_public():
    found = _violations()
    new = sorted(found - KNOWN)
    gone = sorted(KNOWN - found)
    assert not new, f"new import violations (see DESIGN.md's layering): {new}"
    assert not gone, f"these listed violations are fixed: remove them from KNOWN: {gone}"


def test_every_package_has_a_rank():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(RANK), packages - set(RANK)
