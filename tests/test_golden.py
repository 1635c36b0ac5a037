"""Every preset reproduces the golden run of ``tests/golden/presets.json`` (see ``_golden.py``):
2 training steps on the digits from seed 0, every array the run ends with compared bitwise
on the machine that wrote the file, allclose on another."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from _golden import GOLDEN, environment, run_preset
from plastix.config import preset_names

DATA = json.loads(GOLDEN.read_text())
# presets whose 2 steps take long on 2 CPU cores (EP's 250-step conv relaxations: minutes) or
# compile for 10-16 s (the energy rules' unrolled relaxations, the widest decoders): the slow
# tier runs them, the fast tier keeps under its 15 minutes (their rules' theory and contract
# tests stay fast)
SLOW = {
    "ep-cifar10-conv4",
    "ep-mnist-mlp",
    "chl-mnist-mlp",
    "cl-mnist-mlp",
    "bipc-mnist-mlp",
    "dtp-cifar10-simplevgg",
}


def test_every_preset_has_a_golden_run():
    assert sorted(DATA["presets"]) == sorted(preset_names())


# Non-learned state that left the parameters after the golden file was written (the rules'
# state beside their parameters): its old path -> its new one. Such a leaf is compared by value
# (its dtype may have changed: FF's step counter was float32 for the optimizer's sake).
MOVED = [
    (re.compile(r"^params\['state'\]"), "state"),
    (
        re.compile(r"^params\['layers'\]\[(\d+)\]\['(mean|var|theta)'\]"),
        r"state['stats'][\1]['\2']",
    ),
]


def _new_path(path: str) -> tuple[str, bool]:
    for pattern, repl in MOVED:
        new = pattern.sub(repl, path)
        if new != path:
            return new, True
    return path, False


def _compare(name: str, got: dict, want: dict, bitwise: bool) -> list[str]:
    problems = []
    g_leaves = {l["path"]: l for l in got["leaves"]}
    w_leaves = {}
    moved = set()
    for l in want["leaves"]:
        path, was_moved = _new_path(l["path"])
        w_leaves[path] = l
        if was_moved:
            moved.add(path)
    if sorted(g_leaves) != sorted(w_leaves) or any(
        g_leaves[p]["shape"] != w_leaves[p]["shape"]
        or (p not in moved and g_leaves[p]["dtype"] != w_leaves[p]["dtype"])
        for p in w_leaves
    ):
        problems.append(
            "arrays differ in number, path, shape or dtype: "
            f"{[(p, l['shape'], l['dtype']) for p, l in g_leaves.items()]} vs "
            f"{[(p, l['shape'], l['dtype']) for p, l in w_leaves.items()]}"
        )
        return problems
    for path, w in w_leaves.items():
        g = g_leaves[path]
        if bitwise and path not in moved:
            if g["sha256"] != w["sha256"]:
                problems.append(f"{path}: bytes differ (sum {g['sum']!r} vs {w['sum']!r})")
            continue
        scale = max(1.0, np.sqrt(w["sumsq"] / max(1, int(np.prod(w["shape"])))))
        tol = (0.0, 0.0) if bitwise else (1e-4, 1e-5 * scale)
        if not np.allclose(g["samples"], w["samples"], rtol=tol[0], atol=tol[1]):
            problems.append(f"{path}: samples {g['samples']} vs {w['samples']}")
        if not np.isclose(g["sumsq"], w["sumsq"], rtol=tol[0] or 1e-4, atol=1e-8):
            problems.append(f"{path}: sum of squares {g['sumsq']} vs {w['sumsq']}")
    for k, v in want["metrics"].items():
        if not np.isclose(got["metrics"][k], v, rtol=1e-4, atol=1e-6):
            problems.append(f"metric {k}: {got['metrics'][k]} vs {v}")
    return problems


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in DATA["presets"]],
)
def test_preset_reproduces_golden_run(name):
    want = DATA["presets"][name]
    got = run_preset(name)
    bitwise = environment() == DATA["environment"]
    problems = _compare(name, got, want, bitwise)
    assert not problems, f"preset {name} ({'bitwise' if bitwise else 'allclose'}):\n" + "\n".join(
        problems
    )
