"""Configuration derived from the option classes: one source of truth for every key.

The oracle is the Python class itself: a key's default is the field's default, ``build`` of an
empty mapping is the class's default instance, the command line's default for a rule is that
rule's Python default, and ``--help`` shows what a run gets (what ``--print-config`` prints).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable

import pytest

import plastix as px
from plastix import config
from plastix._option import option
from plastix.cli import main

OPTION_CLASSES = [
    *config.ALL_RULES,
    *px.models.ALL_MODELS,
    *px.train.OPTIMIZERS,
    *px.train.SCHEDULES,
    px.Inference,
    px.Nudging,
    px.inference.SGD,
    px.data.DataOptions,
    px.train.TrainOptions,
    config.RunConfig,
]


@pytest.mark.parametrize("cls", OPTION_CLASSES, ids=lambda c: c.__name__)
def test_build_of_nothing_is_the_default_and_round_trips(cls):
    assert config.build(cls, {}) == cls()
    assert config.build(cls, config.to_config(cls())) == cls()
    json.dumps(config.to_config(cls()))  # a configuration is plain JSON


@pytest.mark.parametrize("cls", OPTION_CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_a_key_with_help_or_python_only(cls):
    keys = {o.key: o for o in config.options(cls)}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        nested = [k for k in keys if k.startswith(f.name + ".")]
        assert f.name in keys or nested, f"{cls.__name__}.{f.name} has no configuration key"
        assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"
    for o in keys.values():
        assert o.help, o.key


@pytest.mark.parametrize("rule", sorted(config.RULES))
def test_cli_default_of_a_rule_is_its_python_default(rule, capsys):
    """Keys no layer sets get the class defaults (here on the digits preset, which sets none
    of another rule's options; `--rule R` alone starts from R's own preset: test_defaults)."""
    assert main(["train", "--rule", rule, "--preset", "digits-pc", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)["rule"]
    cls = config.RULES[rule]
    assert printed == {"name": rule, **config.to_config(cls())}
    assert config.make_rule(rule) == cls()


def test_the_hebbian_rule_is_one_algorithm_from_python_and_the_cli(capsys):
    """Issue 20: ``LocalHebbian()`` defaulted to SoftHebb's conv rates and no step
    normalisation, ``--rule hebbian`` to (0.02,) with normalisation. One default now: the
    CLI's (the measured hebbian-mnist recipe, Krotov & Hopfield's normalised step)."""
    rule = px.local.LocalHebbian()
    assert rule.lr == (0.02,) and rule.normalise_step is True
    assert main(["train", "--rule", "hebbian", "--preset", "digits-pc", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)["rule"]
    assert printed["lr"] == [0.02] and printed["normalise_step"] is True


def _help_values(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        m = re.match(r"  ((?:data|train)\.\w+) = (\S+)", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def test_help_shows_what_a_run_gets(capsys):
    """Issue 20: ``--help`` listed epochs 10, batch 128 while a run got the default preset's
    30 and 32. Each data/train value in ``--help`` is now the one ``--print-config`` prints."""
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = _help_values(capsys.readouterr().out)
    assert main(["train", "--print-config"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert len(shown) == 17  # the data and train sections: 7 and 10 keys
    for key, text in shown.items():
        section, name = key.split(".")
        assert json.loads(text) == run[section][name], key
    assert shown["train.epochs"] == "30" and shown["train.batch_size"] == "32"


@pytest.mark.parametrize("preset", config.preset_names())
def test_presets_resolve_and_print_config_round_trips(preset, tmp_path, capsys):
    run = config.from_preset(preset)
    assert main(["train", "--preset", preset, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == config.to_config(run)
    path = tmp_path / "run.json"
    path.write_text(printed)
    assert main(["train", "--config", str(path), "--print-config"]) == 0
    assert capsys.readouterr().out == printed
    # the preset file itself is a valid --config file: every value it sets is the run's (keys
    # it leaves out come from its rule's default preset for its dataset, the layer below)
    from importlib import resources

    toml = resources.files("plastix.config").joinpath("presets", f"{preset}.toml")
    (tmp_path / "p.toml").write_text(toml.read_text())
    assert main(["train", "--config", str(tmp_path / "p.toml"), "--print-config"]) == 0
    got = json.loads(capsys.readouterr().out)
    settings = config.load_preset(preset)

    def check(want, have, obj, where):
        for k, v in want.items():
            if isinstance(v, dict):
                # a table printed by name (its object at its defaults) has no sub-keys
                sub = have.get(k, {})
                sub = sub if isinstance(sub, dict) else {"name": sub}
                check(v, sub, getattr(obj, k), f"{where}{k}.")
            elif k in have:
                assert have[k] == (list(v) if isinstance(v, tuple) else v), where + k
            else:  # an option object printed by name: all its options at their defaults
                assert k != "name" and getattr(obj, k) == v, where + k

    check(settings, got, run, "")
    if config.default_preset(settings["rule"]["name"], settings["data"]["name"]) == (preset, True):
        assert got == json.loads(printed)  # over itself: the same run


@pytest.mark.parametrize(
    ("rule", "key", "value", "field"),
    [
        ("ff", "embedding_seed", 3, "embedding_seed"),
        ("softhebb", "hebbian_steps", 5, "hebbian_steps"),
        ("softhebb", "anti_hebbian", False, "anti_hebbian"),
        ("hebbian", "init_norm", None, "init_norm"),
        ("softhebb", "lr_power", 1.0, "lr_power"),
        ("ep", "rho", "tanh", "rho"),
        ("pc", "inference.optimizer.lr", 0.2, "inference"),
    ],
)
def test_fields_once_unreachable_are_keys(rule, key, value, field, capsys):
    args = ["train", "--rule", rule, "--set", f"rule.{key}={json.dumps(value)}", "--print-config"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)["rule"]
    got = printed
    for part in key.split("."):
        got = got[part]
    assert got == value
    built = config.build(config.RULES[rule], {k: v for k, v in printed.items() if k != "name"})
    assert getattr(built, field) != getattr(config.RULES[rule](), field)


def test_choices_nested_options_and_their_errors():
    pc = config.make_rule(
        "pc", nudging={"sign": "centred"}, cost="cross-entropy", inference={"steps": 3}
    )
    assert pc.nudging == px.Nudging(sign=px.NudgeSign.CENTRED)
    assert isinstance(pc.cost, px.CrossEntropy) and pc.inference.steps == 3
    assert pc.inference.optimizer == px.inference.SGD(0.1, momentum=0.5)  # untouched default
    ep = config.make_rule("ep", rho={"name": "leaky-relu", "negative_slope": 0.2})
    assert ep.rho == px.nn.LeakyReLU(negative_slope=0.2)
    assert config.to_config(ep)["rho"] == {"name": "leaky-relu", "negative_slope": 0.2}
    assert config.make_rule("pc", nudging=None).nudging is None
    with pytest.raises(px.ConfigError, match=r"unknown cost 'hinge'.*cross-entropy"):
        config.make_rule("bp", cost="hinge")
    with pytest.raises(px.ConfigError, match=r"unknown cost 'cross-entropy'.*squared-error"):
        config.make_rule("bipc", cost="cross-entropy")  # BiPC's cost is squared error only
    with pytest.raises(px.ConfigError, match=r"unknown sign 'up'.*centred"):
        config.make_rule("ep", sign="up")
    with pytest.raises(px.ConfigError, match=r"must be of type int, got 2.5"):
        config.make_rule("pc", inference={"steps": 2.5})
    with pytest.raises(px.ConfigError, match=r"needs 2 entries"):
        config.make_rule("ep", free={"bounds": [0.0]})
    with pytest.raises(px.ConfigError, match=r"beta must be > 0"):
        config.make_rule("pc", nudging={"beta": 0.0})
    with pytest.raises(px.ConfigError, match=r"unknown config key .*valid keys: .*steps"):
        config.make_rule("pc", inference={"stepz": 3})


class _WithCallable(px.nn.Layer):
    fn: Callable[[int], int] = option(default=abs, help="any function")
    width: int = option(3, help="a width")

    def __call__(self, params, x):
        return x


def test_python_only_fields_are_listed_and_refused():
    opts = {o.key: o for o in config.options(_WithCallable)}
    assert opts["fn"].python_only and not opts["width"].python_only
    assert "fn" not in config.to_config(_WithCallable())
    with pytest.raises(px.ConfigError, match="can only be set from Python"):
        config.build(_WithCallable, {"fn": "abs"})


def test_layers_switching_rule_drop_only_a_presets_options():
    # the preset's PC options go when a later layer picks another rule...
    run = config.from_preset("pcx-mnist-mlp", {"rule.name": "bp"})
    assert run.rule == px.BP() and run.model.hidden == (128, 128, 128)
    # ...but a user's options for the wrong rule are an error
    with pytest.raises(px.ConfigError, match="unknown config key 'rule.inference'"):
        config.from_preset("digits-pc", {"rule.inference.steps": 3}, {"rule.name": "bp"})
    # options set under the final rule's name are kept whatever the order
    run = config.from_preset("digits-pc", {"rule.beta": 0.3}, {"rule.name": "ep"})
    assert run.rule == px.EP(beta=0.3)


def test_the_docs_list_every_key_as_the_classes_say():
    """docs/configuration.md ends with ``plastix list --markdown`` (regenerate it with
    ``plastix list --markdown``, replacing the section from its heading on)."""
    from pathlib import Path

    from plastix.cli._main import options_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    ref = options_markdown()
    heading = ref.splitlines()[0]
    assert heading in doc, "docs/configuration.md has no generated key reference"
    assert doc[doc.index(heading) :] == ref, "the key reference in docs/configuration.md is stale"


@pytest.mark.parametrize(
    ("rule", "dead"),
    [
        ("chl", ("beta", "sign", "readout")),  # CHL clamps: no nudging, no read-out
        ("hebbian", ("inverse_temperature", "anti_hebbian", "lr_power")),  # SoftHebb's WTA only
        ("pc", ("mode_incremental",)),
    ],
)
def test_no_rule_carries_options_it_ignores(rule, dead):
    """Issue 20: CHL(EP) ignored beta and sign, LocalHebbian(SoftHebb) the soft-WTA options;
    sibling classes now carry only their own fields."""
    keys = {o.key.split(".")[0] for o in config.options(config.RULES[rule])}
    assert not keys & set(dead), keys & set(dead)
    assert "incremental" not in [m.value for m in px.PCMode]  # iPC is its own rule, "ipc"
    assert config.RULES["ipc"] is px.IncrementalPC


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("train.batch_size=0", "train.batch_size must be >= 1, got 0"),
        ("train.epochs=-1", "train.epochs must be >= 0, got -1"),
        ("data.train_limit=0", "data.train_limit must be >= 1 or null, got 0"),
        ("rule.inference.optimizer.lr=0", "need lr > 0 and momentum in [0, 1)"),
        ("rule.inference.optimizer.momentum=1.0", "need lr > 0 and momentum in [0, 1)"),
        ("optimizer.schedule.name=warmup-cosine", None),
        ('optimizer.schedule={"name": "warmup-cosine", "warmup_fraction": 1.0}',
         "warmup_fraction must be in [0, 1), got 1.0"),
        ("model.name=softhebb-conv", None),
        ('model={"name": "softhebb-conv", "pools": ["max", "max", "min"]}',
         "softhebb-conv: unknown pool 'min'; choose 'max' or 'avg'"),
        ('model={"name": "softhebb-conv", "kernels": [3]}', "need one entry per block"),
        ("rule.name=5", "rule.name must be a name (a string), got 5"),
        ("optimizer.name=lbfgs", "unknown optimizer 'lbfgs'; choose one of"),
    ],
)  # fmt: skip
def test_option_classes_refuse_bad_values_by_name(setting, message, capsys):
    code = main(["train", "--set", setting, "--print-config"])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0, err
    else:
        assert code == 2 and message in err, err


def test_a_config_file_with_an_unknown_section_names_the_valid_ones(tmp_path, capsys):
    conf = tmp_path / "c.toml"
    conf.write_text("[rules]\nname = 'ep'\n")
    assert main(["train", "--config", str(conf), "--print-config"]) == 2
    err = capsys.readouterr().err
    assert "unknown section(s) ['rules']" in err and "data, model, rule, optimizer, train" in err
