"""A sweep of the command line's error cases: each ends with one `plastix: error:` line (or
argparse's usage error) naming the problem, exit code 2 for usage and configuration, 1 for
faults at run time, and never a traceback."""

from __future__ import annotations

import urllib.error

from plastix.cli import main
from plastix.data import _download as download_module

TINY = ["--set", "data.train_limit=64", "--set", "data.test_limit=32", "--no-progress"]


def _cases(tmp):
    bad_toml = tmp / "bad.toml"
    bad_toml.write_text("[optimizer\nlr = 1")
    unknown_section = tmp / "sec.toml"
    unknown_section.write_text("[rules]\nname = 'pc'\n")
    a_file = tmp / "afile"
    a_file.write_text("")
    empty = tmp / "empty"
    empty.mkdir()
    return [
        # (argv, exit code, words the message must hold)
        (["train", "--rule", "nope"], 2, "invalid choice: 'nope'"),
        (["train", "--dataset", "imagenet"], 2, "invalid choice: 'imagenet'"),
        (["train", "--epochs", "three"], 2, "invalid int value"),
        (["list", "--bogus"], 2, "unrecognized arguments"),
        (["train", "--set", "rule.nope=1"], 2, "unknown config key 'rule.nope'"),
        (["train", "--set", "nokeyvalue"], 2, "use KEY=VALUE"),
        (["train", "--set", "optimizer.name=nope"], 2, "unknown optimizer 'nope'; choose one of"),
        (["train", "--set", "data.augment=sideways"], 2, "data.augment"),
        (["train", "--preset", "nope"], 2, "unknown preset 'nope'"),
        (["train", "--config", str(tmp / "missing.toml")], 2, "missing.toml"),
        (["train", "--config", str(bad_toml)], 2, "bad.toml"),
        (["train", "--config", str(unknown_section)], 2, "rules"),
        (["train", "--set", "train.batch_size=0"], 2, "train.batch_size must be >= 1"),
        (["train", "--set", "train.batch_size=100000", *TINY], 2, "batch_size must be in 1..64"),
        (["train", "--set", "rule.inference.steps=-1"], 2, "need an int >= 0"),
        (["train", "--set", "optimizer.lr=nan"], 2, "optimizer.lr must be a finite number"),
        (["train", "--set", "optimizer.lr=-0.1"], 2, "lr must be a finite number > 0"),
        (["train", "--epochs", "-1"], 2, "train.epochs must be >= 0"),
        (["train", "--devices", "99", *TINY], 2, "train.devices is 99"),
        (["train", "--resume"], 2, "--resume needs --out"),
        (["train", "--out", str(a_file), *TINY], 2, "a file is in the way"),
        (["train", "--out", str(empty), "--resume", *TINY], 2, "no run to resume"),
        (["train", "--compile-only", "--resume", "--out", str(empty), *TINY], 2, "drop --resume"),
        (["train", "--set", "rule.seed=4294967297", "--rule", "fa", *TINY], 2, "fa seed must lie"),
        (["train", "--rule", "chl", "--preset", "digits-pc", *TINY], 2, "own activation GELU"),
        (["train", "--rule", "softhebb", "--preset", "digits-pc", *TINY], 2, "Hebbian blocks"),
        (["train", "--rule", "ff", "--set", "model.hidden=[8]", *TINY], 2, "skip_first"),
        (["bench", "--suite", "nope"], 2, "unknown suite 'nope'"),
        (["train", "--dataset", "mnist", "--data-dir", str(empty), *TINY], 1, "by hand"),
        (["download", "mnist", "--data-dir", str(a_file)], 1, "afile"),
    ]


def test_every_cli_error_is_one_clean_line(tmp_path, monkeypatch, capsys):
    def offline(*a, **k):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(download_module, "urlopen", offline)
    failures = []
    for argv, code, words in _cases(tmp_path):
        try:
            rc = main(argv)
        except SystemExit as err:  # argparse's usage errors
            rc = err.code
        err = capsys.readouterr().err
        lines = [l for l in err.splitlines() if l.strip()]
        last = lines[-1] if lines else ""
        ok = (
            rc == code
            and "Traceback" not in err
            and words in last
            and (last.startswith("plastix: error:") or ": error:" in last)
        )
        if not ok:
            failures.append(f"{argv}: exit {rc} (want {code}), stderr {err!r}")
    assert not failures, "\n".join(failures)
