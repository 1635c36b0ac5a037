"""Every subpackage imports, and the public API is what the top level re-exports."""

from __future__ import annotations

import importlib

import pytest

SUBPACKAGES = [
    "plastix",
    "plastix.nn",
    "plastix.graph",
    "plastix.rules",
    "plastix.inference",
    "plastix.data",
    "plastix.train",
    "plastix.models",
    "plastix.cli",
    "plastix.local",
    "plastix.memory",
    "plastix.bench",
    "plastix.config",
    "plastix.viz",
]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_import(name):
    mod = importlib.import_module(name)
    assert mod.__doc__


def test_public_names():
    import plastix as px

    for name in [
        "Network",
        "edge",
        "PC",
        "BP",
        "FF",
        "PCMode",
        "Nudging",
        "NudgeSign",
        "Inference",
        "Trainer",
        "SquaredError",
        "CrossEntropy",
        "TanhPower",
        "PlastixError",
        "__version__",
        "FA",
        "DFA",
        "DRTP",
        "SignSymmetry",
        "TP",
        "DTP",
    ]:
        assert hasattr(px, name), name


def test_command_line_does_not_load_matplotlib():
    """The command line starts without matplotlib (0.3 s): it is loaded when a picture is
    drawn (a fresh interpreter, since this one may have it already)."""
    import subprocess
    import sys

    code = "import sys, plastix.cli._main; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
