"""`plastix memory hopfield|stdp` end to end (issue 17, item 3): run directory, summary,
arrays and pictures, each number against theory or an independent computation."""

from __future__ import annotations

import json

import numpy as np
import pytest

import plastix as px
from plastix.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _run(tmp_path, *args):
    out = tmp_path / "run"
    assert main(["memory", *args, "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for f in summary["files"]:
        assert (out / f).is_file(), f
        if f.endswith(".png"):
            assert (out / f).read_bytes()[:8] == PNG
    return out, summary, arrays


def test_hopfield_random_patterns_and_capacity(tmp_path):
    """Hebbian weights = (1/N) sum xi xi^T with a zero diagonal (numpy); below the critical
    load every pattern comes back from a cue with 10 % flipped bits, the energy never rises
    under asynchronous updates, and recall collapses well above alpha_c = 0.138."""
    out, s, a = _run(
        tmp_path, "hopfield", "--set", "neurons=200", "--set", "count=10",
        "--set", "loads=[0.05,0.3]", "--set", "trials=1",
    )  # fmt: skip
    xi = a["patterns"]
    assert xi.shape == (10, 200) and set(np.unique(xi)) == {-1.0, 1.0}
    w = xi.T @ xi / 200
    np.fill_diagonal(w, 0.0)
    np.testing.assert_allclose(a["weights"], w, atol=1e-6)
    assert np.mean(a["cues"] != xi) == pytest.approx(0.1, abs=0.01)
    assert s["recalled"] == 1.0 and s["mean_overlap"] == 1.0 and s["load"] == 0.05
    np.testing.assert_array_equal(a["recalled"], xi)
    assert s["energy_decreases"] and np.all(np.diff(a["energy"], axis=1) <= 1e-4)
    low, high = s["capacity"]
    assert low["recalled"] == 1.0 and high["recalled"] < 0.5, s["capacity"]
    assert s["theory_capacity"] == 27 and s["config"]["neurons"] == 200
    assert {"recall.png", "energy.png", "weights.png", "capacity.png"} <= set(s["files"])
    assert json.loads((out / "config.json").read_text())["task"] == "hopfield"


def test_hopfield_on_binarised_digits(tmp_path):
    """Three digit images (one per class, binarised at their mean) stored in 64 units come
    back from corrupted cues; the recall picture shows stored, cue and recalled images."""
    _, s, a = _run(
        tmp_path, "hopfield", "--set", "patterns=digits", "--set", "count=3",
        "--set", "loads=[]",
    )  # fmt: skip
    train = px.data.load_dataset("digits", "train")
    first = [int(np.flatnonzero(np.asarray(train.y) == c)[0]) for c in range(3)]
    x = np.asarray(train.x[first], np.float32).reshape(3, -1)
    expected = np.where(x > x.mean(axis=1, keepdims=True), 1.0, -1.0)
    np.testing.assert_array_equal(a["patterns"], expected)
    assert s["neurons"] == 64 and s["recalled"] == 1.0 and s["capacity"] == []
    assert "capacity.png" not in s["files"]


def test_stdp_potentiates_the_inputs_that_fire_together(tmp_path):
    """Song, Miller & Abbott's result: the correlated group ends near w_max, the independent
    inputs below where they started; the weights stay in [0, w_max]."""
    _, s, a = _run(tmp_path, "stdp", "--set", "trials=100")
    assert s["mean_weight_group"] > 0.9 * s["w_max"]
    assert s["mean_weight_rest"] < s["w_init"]
    w = a["w_final"]
    assert w.shape == (100, 1) and w.min() >= 0.0 and w.max() <= s["w_max"] + 1e-7
    assert a["weights_over_training"].shape[0] == 21  # before, then after each of 20 chunks


def test_memory_command_errors(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["memory", "stdp", "--set", "bogus=1", "--out", str(out)]) == 2
    assert "unknown config key 'bogus'" in capsys.readouterr().err
    assert main(["memory", "hopfield", "--set", "flip=0.9", "--out", str(out)]) == 2
    assert "flip=0.9 must be in [0, 0.5]" in capsys.readouterr().err
    assert main(["memory", "hopfield", "--set", "patterns=cats", "--out", str(out)]) == 2
    assert "random" in capsys.readouterr().err
    args = ["memory", "hopfield", "--set", "neurons=50", "--set", "count=2", "--set", "loads=[]"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["memory", "hopfield", "--set", "count=7", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 7
