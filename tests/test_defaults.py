"""Defaults that train: a run without --preset starts from its rule's preset for its dataset
(the presets' ``default_for``), so `--rule R --dataset D` gets a model and settings that suit
R; the slow tier measures each rule that way on MNIST (tests/test_accuracy.py)."""

from __future__ import annotations

import json

import pytest

from plastix import config
from plastix.cli import main
from plastix.config import ALL_RULES, DEFAULT_PRESET, default_preset, load_preset, preset_names


def _print_config(capsys, *args: str) -> dict:
    assert main(["train", *args, "--print-config"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("cls", ALL_RULES, ids=lambda c: c.name)
def test_every_rule_has_its_own_mnist_preset(cls):
    name, own = default_preset(cls.name, "mnist")
    assert own and load_preset(name)["rule"]["name"] == cls.name
    assert load_preset(name)["data"]["name"] == "mnist"
    assert default_preset(cls.name, "fashion-mnist") == (name, True)  # same shapes, same setup


def test_each_rule_and_dataset_has_at_most_one_default():
    claims: dict[tuple[str, str], list[str]] = {}
    for name in preset_names():
        p = config._presets._preset(name)
        for ds in p.get("default_for", ()):
            claims.setdefault((p["rule"]["name"], ds), []).append(name)
    assert all(len(v) == 1 for v in claims.values()), claims
    assert claims[("pc", "digits")] == [DEFAULT_PRESET]
    assert {r for r, ds in claims if ds == "cifar10"} == {"bp", "pc", "ep", "dtp", "softhebb"}


def test_default_for_is_not_an_option(capsys):
    assert "default_for" not in load_preset("pcx-mnist-mlp")
    conf = _print_config(capsys, "--preset", "pcx-mnist-mlp")
    assert "default_for" not in json.dumps(conf)


def test_no_flags_is_pc_on_the_digits(capsys):
    conf = _print_config(capsys)
    assert conf == config.to_config(config.from_preset(DEFAULT_PRESET))


def test_a_rule_alone_gets_its_setup_on_the_digits(capsys):
    """CHL alone used to get the digits preset's gelu MLP and learn nothing."""
    conf = _print_config(capsys, "--rule", "chl")
    digits = config.load_preset(DEFAULT_PRESET)["train"]  # 1346 images: its epochs and batch
    want = config.to_config(
        config.from_preset(
            "chl-mnist-mlp",
            {
                "data.name": "digits",
                "train.epochs": digits["epochs"],
                "train.batch_size": digits["batch_size"],
            },
        )
    )
    assert conf == want
    assert conf["model"]["activation"] == "identity" and conf["data"]["name"] == "digits"


def test_a_dataset_picks_the_rules_preset(capsys):
    assert _print_config(capsys, "--rule", "pc", "--dataset", "mnist") == config.to_config(
        config.from_preset("pcx-mnist-mlp")
    )
    assert (
        _print_config(capsys, "--rule", "ep", "--dataset", "cifar10")["model"]["name"]
        == (load_preset("ep-cifar10-conv4")["model"]["name"])
    )
    # no CIFAR-10 preset for FF: its MNIST setup on CIFAR-10
    ff = _print_config(capsys, "--rule", "ff", "--dataset", "cifar10")
    assert ff["data"]["name"] == "cifar10" and ff["model"]["hidden"] == [1000, 1000, 1000]
    # flags, --set and --preset still win
    conf = _print_config(capsys, "--rule", "pc", "--dataset", "mnist", "--epochs", "3")
    assert conf["train"]["epochs"] == 3
    conf = _print_config(capsys, "--set", "rule.name=dfa", "--set", "data.name=mnist")
    assert conf == config.to_config(config.from_preset("dfa-mnist-mlp"))
    conf = _print_config(capsys, "--rule", "pc", "--dataset", "mnist", "--preset", "digits-pc")
    assert conf["model"]["hidden"] == [128, 128]


def test_the_run_says_which_preset_it_started_from(tmp_path, capsys):
    args = ["train", "--rule", "bp", "--epochs", "1", "--set", "data.train_limit=128",
            "--set", "data.test_limit=64", "--no-progress", "--out", str(tmp_path / "r")]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "bp on digits starts from preset bp-mnist-mlp (its MNIST setup, on digits" in err


def test_the_readme_mnist_command_is_the_pcx_preset(capsys):
    """Its measured 98.36 % (BENCHMARKS.md) is the preset's; the slow tier runs it."""
    from test_accuracy import _readme_mnist_line

    line = _readme_mnist_line()
    i = line.index("--out")
    args = line[1:i] + line[i + 2 :]  # without "train" and --out
    conf = _print_config(capsys, *args)
    want = config.to_config(config.from_preset("pcx-mnist-mlp"))
    want["data"]["dir"] = conf["data"]["dir"]
    assert conf == want
