"""Accuracy on real MNIST: the PCX benchmark preset, the README's first MNIST command, and
every rule given alone (`plastix train --rule R --dataset mnist --epochs 2`, its own preset)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from plastix.cli import main, run_train
from plastix.config import from_preset

README = Path(__file__).resolve().parents[1] / "README.md"

# test accuracy of `plastix train --rule R --dataset mnist --epochs 2` measured on the dev
# machine (BENCHMARKS.md, "Every rule alone on MNIST"); the bar is 1 point below, and at least
# 0.95 for CHL, EP, DFA and SoftHebb (issue 21)
TWO_EPOCHS = {
    "bp": 0.9591, "pc": 0.9595, "ipc": 0.9696, "fa": 0.9450, "sign-symmetry": 0.9592,
    "dfa": 0.9760, "drtp": 0.9378, "hebbian": 0.9141, "cl": 0.9827, "tp": 0.9333,
    "dtp": 0.9695, "ff": 0.9434, "chl": 0.9784, "ep": 0.9772, "bipc": 0.9621,
    "softhebb": 0.9866, "hpc": 0.8646,
}  # fmt: skip


def _run(mnist_dir, tmp_path, epochs, rule_preset="pcx-mnist-mlp"):
    run = from_preset(rule_preset, {"data.dir": str(mnist_dir), "train.epochs": epochs})
    return run_train(run, out=str(tmp_path / "run"), resume=False, progress=False)


def test_pcx_preset_reaches_96_5_after_3_epochs(mnist_dir, tmp_path):
    s = _run(mnist_dir, tmp_path, 3)
    assert s["test_accuracy"] >= 0.965, s["history"]


def _readme_mnist_line() -> list[str]:
    """The README's first `plastix train ... --dataset mnist` command, as arguments."""
    for line in README.read_text().splitlines():
        if line.startswith("plastix train") and "--dataset mnist" in line:
            return shlex.split(line.split("#")[0])[1:]
    raise AssertionError("README.md has no `plastix train ... --dataset mnist` line")


@pytest.mark.slow
def test_the_readme_mnist_command_reaches_98(mnist_dir, tmp_path):
    """Its first MNIST line (PC alone on MNIST: the pcx-mnist-mlp preset, 25 epochs)."""
    args = _readme_mnist_line()
    args[args.index("--data-dir") + 1] = str(mnist_dir)
    args[args.index("--out") + 1] = str(tmp_path / "run")
    assert main([*args, "--no-progress"]) == 0
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["test_accuracy"] >= 0.98, s["history"]


@pytest.mark.slow
@pytest.mark.parametrize("rule", sorted(TWO_EPOCHS))
def test_every_rule_alone_trains_on_mnist(rule, mnist_dir, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--rule", rule, "--dataset", "mnist", "--epochs", "2", "--data-dir",
            str(mnist_dir), "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    acc = json.loads((out / "summary.json").read_text())["test_accuracy"]
    bar = TWO_EPOCHS[rule] - 0.01
    if rule in ("chl", "ep", "dfa", "softhebb"):
        bar = max(bar, 0.95)
    assert acc >= bar, (rule, acc, bar)


@pytest.mark.slow
def test_bipc_preset_classifies_like_pc_and_generates_digits(mnist_dir, tmp_path):
    """Issue 3's bar: within 1 point of PC on the same network (PC: 98.0% after 10 epochs,
    BENCHMARKS.md), and each generated digit nearest to its own class's mean test image."""
    s = _run(mnist_dir, tmp_path, 10, "bipc-mnist-mlp")
    assert s["test_accuracy"] >= 0.97, s["history"]
    assert s["generation"]["nearest_mean_accuracy"] >= 0.9, s["generation"]


@pytest.mark.slow
def test_hpc_preset_classifies_and_generates_digits(mnist_dir, tmp_path):
    """Issue 19: hybrid PC's preset, 86.78 % after its first epoch and 86.56 % after three
    (BENCHMARKS.md; a generative model's classification); generated digits nearest their own
    class means."""
    s = _run(mnist_dir, tmp_path, 1, "hpc-mnist")
    assert s["test_accuracy"] >= 0.85, s["history"]
    assert s["generation"]["nearest_mean_accuracy"] >= 0.9, s["generation"]


@pytest.mark.slow
def test_ipc_preset_with_its_own_recipe(mnist_dir, tmp_path):
    """Issue 16: PCX's iPC setup, its schedule over every optimizer call (98.37 % over 3 seeds
    after 25 epochs, BENCHMARKS.md). Three epochs gave 0.9767; the strict-PC recipe it
    replaces, 95.0 % after 25."""
    s = _run(mnist_dir, tmp_path, 3, "ipc-mnist-mlp")
    assert s["test_accuracy"] >= 0.9667, s["history"]


@pytest.mark.slow
def test_krotov_hopfield_preset_beats_its_random_control(mnist_dir, tmp_path):
    """Issue 16: Krotov & Hopfield's network, shortened to 10 Hebbian + 10 read-out epochs
    (0.9711 on the dev machine; the full preset: 98.01 % over 3 seeds, BENCHMARKS.md), against
    the same read-out on the random initial weights for 10 epochs (0.9579): the learned
    features must keep most of their 1.3-point lead and the accuracy within 1 point."""
    runs = {}
    for name, sets in {
        "learned": {"rule.hebbian_epochs": 10, "train.epochs": 20},
        "control": {"rule.hebbian_epochs": 0, "train.epochs": 10, "rule.cost.beta": 1e-4},
    }.items():
        run = from_preset("krotov-hopfield-mnist", {"data.dir": str(mnist_dir), **sets})
        runs[name] = run_train(run, out=str(tmp_path / name), resume=False, progress=False)
    learned, control = (runs[k]["test_accuracy"] for k in ("learned", "control"))
    assert learned >= 0.9611, runs["learned"]["history"]
    assert learned - control >= 0.007, (learned, control)


# issue 16: each classic rule's lead over random features of the same width, in points (the
# mnist-hebbian suite, 3 seeds; BENCHMARKS.md); the test runs seed 0 and wants half of it
CLASSIC_LEAD = {"hebb (1 unit)": 9.50, "oja (1 unit)": 10.10, "sanger (64 units)": 7.40,
                "wta (100 units)": 2.53, "bcm (100 units)": 2.37}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(CLASSIC_LEAD))
def test_each_classic_rule_learns_features_better_than_random_ones(label, mnist_dir, tmp_path):
    """A classic local rule at the width where its theory says it learns (the mnist-hebbian
    suite's entry: one Hebbian epoch, 10 read-out epochs) against the same network's random
    initial features (its control entry), seed 0 each."""
    from plastix.bench import SUITES

    entries = {e.label: e for e in SUITES["mnist-hebbian"].entries}
    acc = {}
    for name, e in (("rule", entries[label]), ("control", entries[entries[label].control])):
        run = from_preset(e.preset, {"data.dir": str(mnist_dir), **e.overrides})
        acc[name] = run_train(run, out=str(tmp_path / name), resume=False, progress=False)[
            "test_accuracy"
        ]
    assert 100 * (acc["rule"] - acc["control"]) >= CLASSIC_LEAD[label] / 2, acc
