"""Tests of the ``plastix`` command line, run in-process through ``plastix.cli.main`` (which
returns an exit code and prints ``plastix: error: ...`` on bad input), plus one subprocess test
of ``python -m plastix``.

Training runs are tiny (embedded digits, 256 training samples, 3 inference steps) so the file
stays fast; expectations come from the documented behaviour (file layout, resolution order,
exact resume, determinism per seed) and from independent numpy computations."""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess
import sys
import urllib.error
from pathlib import Path

import jax
import numpy as np
import pytest

import plastix as px
from plastix.cli import main
from plastix.data import _download as download_module

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"real MNIST not found at {MNIST_DIR}",
)

TINY = [
    "--set", "data.train_limit=256",
    "--set", "data.test_limit=128",
    "--set", "rule.inference.steps=3",
    "--no-progress",
]  # fmt: skip

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _train(out: Path, *extra: str, epochs: int = 2) -> int:
    return main(["train", "--epochs", str(epochs), *TINY, "--out", str(out), *extra])


def _resolved(config: dict) -> dict:
    """The resolved configuration inside summary['config'] (wherever the trainer keeps it)."""
    return config.get("resolved", config)


def _read_metrics(run: Path) -> list[dict]:
    return [
        json.loads(line)
        for line in (run / "metrics.jsonl").read_text().splitlines()
        if line.strip()
    ]


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Same parameter and optimizer arrays, same epoch and seed (the metadata's log also
    holds each epoch's wall-clock seconds, which differ between runs)."""
    assert sorted(a) == sorted(b)
    for k in a:
        if k != "__meta__":
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    ma, mb = (json.loads(bytes(m["__meta__"]).decode()) for m in (a, b))
    assert (ma["epoch"], ma["seed"]) == (mb["epoch"], mb["seed"])


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "plastix: error: " in err, err
    return err


@pytest.fixture(scope="module")
def run2(tmp_path_factory) -> Path:
    """An uninterrupted 2-epoch tiny run (seed 0), shared by several tests."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert _train(out) == 0
    return out


@pytest.fixture
def no_network(monkeypatch):
    """Every download fails at once (as offline), without touching the network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(download_module, "urlopen", refuse)


# --------------------------------------------------------------------------- a tiny run


def test_tiny_run_writes_the_run_directory(run2):
    metrics = _read_metrics(run2)
    assert [r["epoch"] for r in metrics] == [1, 2]
    for r in metrics:
        for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "train_seconds"):
            assert math.isfinite(r[k]), (k, r)
        assert 0.0 <= r["test_accuracy"] <= 1.0 and 0.0 <= r["train_accuracy"] <= 1.0
        # 128 test samples: the accuracy is a multiple of 1/128
        assert abs(r["test_accuracy"] * 128 - round(r["test_accuracy"] * 128)) < 1e-6

    summary = json.loads((run2 / "summary.json").read_text())
    for key in ("rule", "model", "dataset", "epochs", "test_accuracy", "train_seconds_per_epoch",
                "compile_seconds", "config"):  # fmt: skip
        assert key in summary, key
    assert summary["rule"] == "pc" and summary["model"] == "mlp" and summary["dataset"] == "digits"
    assert summary["epochs"] == 2
    assert summary["test_accuracy"] == metrics[-1]["test_accuracy"]
    secs = [r["train_seconds"] for r in metrics]
    assert min(secs) <= summary["train_seconds_per_epoch"] <= max(secs)
    assert summary["compile_seconds"] > 0
    cfg = _resolved(summary["config"])
    assert cfg["rule"]["name"] == "pc" and cfg["rule"]["inference"]["steps"] == 3
    assert cfg["data"]["train_limit"] == 256 and cfg["data"]["test_limit"] == 128
    assert cfg["train"]["epochs"] == 2
    assert cfg["model"]["name"] == "mlp" and cfg["model"]["hidden"] == [
        128,
        128,
    ]  # the default preset

    ckpts = sorted(p.name for p in (run2 / "checkpoints").iterdir())
    assert "epoch-0002.npz" in ckpts
    png = (run2 / "curves.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and png[12:16] == b"IHDR"
    assert png.endswith(b"IEND\xaeB`\x82")


def test_reported_accuracy_matches_the_final_checkpoint(run2):
    """Recompute the test accuracy with a numpy forward pass of the saved parameters."""
    net = px.Network.from_example(
        px.models.mlp(10, hidden=(128, 128), activation="gelu"), np.zeros((1, 8, 8, 1))
    )
    like = net.init(key=jax.random.key(0))
    z = _npz(run2 / "checkpoints" / "epoch-0002.npz")
    leaves = [z[k] for k in sorted(k for k in z if k.startswith("leaf_"))]
    ref, treedef = jax.tree.flatten(like)
    params = jax.tree.unflatten(treedef, leaves[: len(ref)])  # params come first, then opt state
    for a, r in zip(jax.tree.leaves(params), ref):
        assert a.shape == r.shape

    test = px.data.load_dataset("digits", "test").subset(slice(0, 128))
    info = px.data.dataset_info("digits")
    x = ((test.x.astype(np.float64) - info.mean[0]) / info.std[0]).reshape(128, -1)

    def gelu(v):
        return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))

    def dense(p, h):
        return h @ np.asarray(p["w"], np.float64) + np.asarray(p["b"], np.float64)

    h = gelu(dense(params[0][1], x))
    h = gelu(dense(params[1][0], h))
    out = dense(params[2], h)
    acc = float(np.mean(np.argmax(out, -1) == test.y))
    summary = json.loads((run2 / "summary.json").read_text())
    assert abs(acc - summary["test_accuracy"]) <= 1 / 128 + 1e-9


def test_same_seed_twice_is_identical_and_seed_matters(run2, tmp_path):
    again = tmp_path / "again"
    assert _train(again) == 0
    s1 = json.loads((run2 / "summary.json").read_text())
    s2 = json.loads((again / "summary.json").read_text())
    assert s1["test_accuracy"] == s2["test_accuracy"]
    assert s1["test_loss"] == s2["test_loss"]
    _assert_same_arrays(
        _npz(run2 / "checkpoints" / "epoch-0002.npz"),
        _npz(again / "checkpoints" / "epoch-0002.npz"),
    )

    other = tmp_path / "other-seed"
    assert _train(other, "--seed", "1", epochs=1) == 0
    a = _npz(run2 / "checkpoints" / "epoch-0001.npz")
    b = _npz(other / "checkpoints" / "epoch-0001.npz")
    assert any(not np.array_equal(a[k], b[k]) for k in a if k.startswith("leaf_"))


def test_resume_matches_an_uninterrupted_run(run2, tmp_path):
    out = tmp_path / "resumed"
    assert _train(out, epochs=1) == 0
    first = _read_metrics(out)
    assert [r["epoch"] for r in first] == [1]
    assert main(["train", "--epochs", "2", *TINY, "--out", str(out), "--resume"]) == 0

    _assert_same_arrays(
        _npz(out / "checkpoints" / "epoch-0002.npz"), _npz(run2 / "checkpoints" / "epoch-0002.npz")
    )
    resumed, straight = _read_metrics(out), _read_metrics(run2)
    assert [r["epoch"] for r in resumed] == [1, 2]
    assert resumed[0] == first[0]  # epoch 1's record is kept as it was
    for r, s in zip(resumed, straight):
        assert {k: v for k, v in r.items() if k != "train_seconds"} == {
            k: v for k, v in s.items() if k != "train_seconds"
        }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2
    assert (
        summary["test_accuracy"] == json.loads((run2 / "summary.json").read_text())["test_accuracy"]
    )


def test_existing_run_dir_without_resume_is_an_error(run2, capsys):
    before = (run2 / "metrics.jsonl").read_text()
    assert _train(run2) == 2
    err = _error(capsys)
    assert "already holds a run" in err and "--resume" in err
    assert (run2 / "metrics.jsonl").read_text() == before


def test_resume_with_a_different_model_is_an_error(run2, capsys):
    before = sorted(p.name for p in (run2 / "checkpoints").iterdir())
    rc = main(
        [
            "train",
            "--epochs",
            "3",
            *TINY,
            "--set",
            "model.hidden=[64, 64]",
            "--out",
            str(run2),
            "--resume",
        ]
    )
    assert rc == 2
    err = _error(capsys)
    assert (
        "would mix two runs" in err and "model.hidden: the run has [128, 128], now [64, 64]" in err
    ), err
    assert sorted(p.name for p in (run2 / "checkpoints").iterdir()) == before


def test_rule_bp_works(tmp_path):
    out = tmp_path / "bp"
    # the default preset's PC options (rule.inference, ...) are dropped when --rule switches rule
    assert main(["train", "--rule", "bp", "--epochs", "1", "--set", "data.train_limit=256",
                 "--set", "data.test_limit=128", "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rule"] == "bp" and summary["epochs"] == 1
    cfg = _resolved(summary["config"])
    assert cfg["rule"] == {
        "name": "bp",
        "cost": "squared-error",
        "dropout": {"input": 0.0, "hidden": 0.0},  # BP's own default: off
    }
    (rec,) = _read_metrics(out)
    assert "train_energy" not in rec and math.isfinite(rec["train_loss"])


def test_rule_bp_rejects_pc_options(capsys):
    assert main(["train", "--rule", "bp", "--set", "rule.inference.steps=3", "--print-config"]) == 2
    err = _error(capsys)
    assert "unknown config key 'rule.inference'" in err and "rule.cost" in err


# --------------------------------------------------------------------------- configuration


def _print_config(capsys, *args: str) -> dict:
    assert main(["train", *args, "--print-config"]) == 0
    return json.loads(capsys.readouterr().out)


def test_preset_print_config(capsys):
    cfg = _print_config(capsys, "--preset", "pcx-mnist-mlp")
    assert cfg["rule"]["name"] == "pc"
    assert cfg["rule"]["inference"]["optimizer"] == {"name": "sgd", "lr": 0.0105, "momentum": 0.65}
    assert cfg["rule"]["inference"]["steps"] == 8
    assert cfg["optimizer"]["lr"] == 2.97e-4
    assert cfg["train"]["batch_size"] == 128
    assert cfg["data"]["name"] == "mnist"
    assert cfg["model"]["hidden"] == [128, 128, 128]


def test_default_command_is_train(capsys):
    cfg = _print_config(capsys, "--set", "rule.inference.steps=4")
    assert cfg["rule"]["inference"]["steps"] == 4
    # `plastix --print-config` (no command) behaves like `plastix train --print-config`
    assert main(["--print-config", "--set", "rule.inference.steps=4"]) == 0
    assert json.loads(capsys.readouterr().out) == cfg


def test_resolution_order(tmp_path, capsys):
    conf = tmp_path / "conf.toml"
    conf.write_text("[rule.inference]\nsteps = 5\n\n[train]\nepochs = 3\nbatch_size = 16\n")
    cfg = _print_config(capsys, "--config", str(conf))
    assert cfg["rule"]["inference"]["steps"] == 5  # the file beats the preset's 20
    assert cfg["train"]["epochs"] == 3 and cfg["train"]["batch_size"] == 16
    assert cfg["rule"]["inference"]["optimizer"]["lr"] == 0.1  # untouched preset value
    cfg = _print_config(
        capsys,
        "--config",
        str(conf),
        "--set",
        "rule.inference.steps=7",
        "--set",
        "train.epochs=4",
        "--epochs",
        "6",
    )
    assert cfg["rule"]["inference"]["steps"] == 7  # --set beats the file
    assert cfg["train"]["epochs"] == 6  # flags beat --set
    assert cfg["train"]["batch_size"] == 16


def test_json_config_file(tmp_path, capsys):
    conf = tmp_path / "conf.json"
    conf.write_text(json.dumps({"rule": {"inference": {"steps": 9}}, "optimizer": {"lr": 0.5}}))
    cfg = _print_config(capsys, "--config", str(conf))
    assert cfg["rule"]["inference"]["steps"] == 9 and cfg["optimizer"]["lr"] == 0.5


def test_config_file_with_unknown_key(tmp_path, capsys):
    conf = tmp_path / "bad.toml"
    conf.write_text("[rule]\nstepz = 5\n")
    assert main(["train", "--config", str(conf), "--print-config"]) == 2
    err = _error(capsys)
    assert "unknown config key 'rule.stepz'" in err and "rule.inference" in err


def test_config_file_invalid_or_missing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[rule\nsteps = \n")
    assert main(["train", "--config", str(bad), "--print-config"]) == 2
    assert "not valid TOML" in _error(capsys)
    assert main(["train", "--config", str(tmp_path / "nope.toml"), "--print-config"]) == 2
    assert "cannot read config file" in _error(capsys)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--rule", "nope"), ("--model", "nope"), ("--dataset", "nope")],
)
def test_unknown_choice_flags(flag, value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", flag, value, "--print-config"])
    assert info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("rule.name=nope", f"unknown rule 'nope'; choose one of {sorted(px.config.RULES)}"),
        (
            "model.name=nope",
            f"unknown model 'nope'; choose one of {sorted(px.models.MODELS)}",
        ),
        ("data.name=nope", r"unknown dataset 'nope'"),
    ],
)
def test_unknown_names_via_set(setting, expected, capsys):
    assert main(["train", "--set", setting, "--print-config"]) == 2
    assert expected in _error(capsys)


def test_unknown_name_is_a_config_error():
    args = px.cli.build_parser().parse_args(["train", "--set", "rule.name=nope"])
    from plastix.cli._main import resolve_config

    with pytest.raises(px.ConfigError, match=r"unknown rule 'nope'.*'bp'.*'pc'"):
        resolve_config(args)


def test_unknown_preset(capsys):
    assert main(["train", "--preset", "nope", "--print-config"]) == 2
    err = _error(capsys)
    assert "unknown preset 'nope'" in err and "pcx-mnist-mlp" in err


def test_unknown_config_key_lists_valid_keys(capsys):
    assert main(["train", "--set", "rule.stepz=3", "--print-config"]) == 2
    err = _error(capsys)
    assert "unknown config key 'rule.stepz'" in err
    for key in ("rule.inference", "rule.mode", "rule.nudging"):
        assert key in err


def test_wrong_value_type(capsys):
    assert main(["train", "--set", "train.epochs=abc", "--print-config"]) == 2
    assert "train.epochs must be of type int, got 'abc'" in _error(capsys)
    assert main(["train", "--set", "data.normalize=3", "--print-config"]) == 2
    assert "data.normalize must be of type bool" in _error(capsys)


def test_set_without_equals(capsys):
    assert main(["train", "--set", "rule.inference.steps", "--print-config"]) == 2
    err = _error(capsys)
    assert "--set 'rule.inference.steps'" in err and "KEY=VALUE" in err


def test_resume_without_out(capsys):
    assert main(["train", "--resume", *TINY]) == 2
    assert "--resume needs --out" in _error(capsys)


@pytest.mark.parametrize("how", ["flag", "set", "file"])
def test_data_dir_accepts_a_path(how, tmp_path, capsys):
    if how == "flag":
        args = ["--data-dir", str(tmp_path)]
    elif how == "set":
        args = ["--set", f"data.dir={tmp_path}"]
    else:
        conf = tmp_path / "conf.toml"
        conf.write_text(f"[data]\ndir = {json.dumps(str(tmp_path))}\n")
        args = ["--config", str(conf)]
    cfg = _print_config(capsys, *args)
    assert cfg["data"]["dir"] == str(tmp_path)


def test_nullable_keys_are_typed(capsys):
    cfg = _print_config(
        capsys, "--set", "rule.inference.tol=0.01", "--set", "data.train_limit=null"
    )
    assert cfg["rule"]["inference"]["tol"] == 0.01 and cfg["data"]["train_limit"] is None
    assert main(["train", "--set", "data.train_limit=abc", "--print-config"]) == 2
    assert "data.train_limit must be of type int | null, got 'abc'" in _error(capsys)


def test_list_command(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("bp", "pc", "mlp", "skip-mlp", "conv-demo", "digits", "mnist", "cifar10",
                 "digits-pc", "pcx-mnist-mlp", "bp-mnist-mlp"):  # fmt: skip
        assert name in out, name


# --------------------------------------------------------------------------- data errors


def test_missing_mnist_with_download_impossible_env_dir(tmp_path, monkeypatch, no_network, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(empty))
    assert (
        main(
            ["train", "--dataset", "mnist", "--epochs", "1", *TINY, "--out", str(tmp_path / "run")]
        )
        == 1  # a data fault: exit 1
    )
    err = _error(capsys)
    assert "could not download train-images-idx3-ubyte.gz" in err
    assert str(empty) in err  # says where to put the file
    assert not list(empty.rglob("*.gz")) and not list(empty.rglob("*.part"))


def test_missing_mnist_with_download_impossible_data_dir_flag(
    tmp_path, monkeypatch, no_network, capsys
):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(empty))
    rc = main(["train", "--dataset", "mnist", "--data-dir", str(empty), "--epochs", "1", *TINY,
               "--out", str(tmp_path / "run")])  # fmt: skip
    assert rc == 1  # a data fault: exit 1
    err = _error(capsys)
    assert "could not download train-images-idx3-ubyte.gz" in err and str(empty) in err


def test_download_command_offline(tmp_path, no_network, capsys):
    empty = tmp_path / "empty"
    assert main(["download", "mnist", "--data-dir", str(empty)]) == 1  # a data fault: exit 1
    assert "could not download" in _error(capsys)


@needs_mnist
def test_corrupt_mnist_file(tmp_path, monkeypatch, no_network, capsys):
    data = tmp_path / "mnist"
    data.mkdir()
    for f in MNIST_DIR.glob("*.gz"):
        shutil.copy(f, data / f.name)
    labels = data / "train-labels-idx1-ubyte.gz"
    raw = labels.read_bytes()
    labels.write_bytes(raw[: len(raw) // 2])
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(data))
    assert (
        main(
            ["train", "--dataset", "mnist", "--epochs", "1", *TINY, "--out", str(tmp_path / "run")]
        )
        == 1  # a data fault: exit 1
    )
    err = _error(capsys)
    assert "train-labels-idx1-ubyte.gz" in err
    assert "truncated or corrupt" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


@needs_mnist
def test_mnist_wrong_content_fails_checksum(tmp_path, monkeypatch, no_network, capsys):
    """A well-formed gzip of a modified IDX file (one label changed) fails the SHA256 check."""
    data = tmp_path / "mnist"
    data.mkdir()
    for f in MNIST_DIR.glob("*.gz"):
        shutil.copy(f, data / f.name)
    labels = data / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[8] = (raw[8] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(data))
    assert (
        main(
            ["train", "--dataset", "mnist", "--epochs", "1", *TINY, "--out", str(tmp_path / "run")]
        )
        == 1  # a data fault: exit 1
    )
    err = _error(capsys)
    assert "t10k-labels-idx1-ubyte.gz" in err and "SHA256 mismatch" in err


# --------------------------------------------------------------------------- real MNIST


@needs_mnist
def test_real_mnist_run_via_env(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("PLASTIX_DATA_DIR", str(MNIST_DIR))
    out = tmp_path / "mnist"
    rc = main(["train", "--preset", "digits-pc", "--dataset", "mnist", "--epochs", "1",
               "--set", "data.train_limit=512", "--set", "data.test_limit=256",
               "--set", "rule.inference.steps=3", "--no-progress", "--out", str(out)])  # fmt: skip
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "mnist" and summary["epochs"] == 1
    assert summary["steps_per_epoch"] == 512 // 32  # the digits preset's batch size
    assert summary["test_accuracy"] > 0.5  # well above chance (0.1) after 16 steps


@needs_mnist
def test_real_mnist_run_via_data_dir(tmp_path, no_network):
    out = tmp_path / "mnist"
    rc = main(["train", "--preset", "digits-pc", "--dataset", "mnist", "--data-dir",
               str(MNIST_DIR), "--epochs", "1", "--set", "data.train_limit=512", "--set", "data.test_limit=256",
               "--set", "rule.inference.steps=3", "--no-progress", "--out", str(out)])  # fmt: skip
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "mnist" and summary["epochs"] == 1
    assert summary["test_accuracy"] > 0.3


# --------------------------------------------------------------------------- python -m plastix

EXPECTED_KEYS = [
    "data.name", "data.dir", "data.normalize", "data.augment", "data.train_limit", "data.test_limit",
    "train.epochs", "train.batch_size", "train.seed", "train.steps_per_call", "train.eval_batch_size",
    "optimizer.name", "optimizer.lr", "optimizer.weight_decay", "optimizer.momentum",
    "optimizer.schedule", "optimizer.schedule.warmup_fraction", "optimizer.schedule.start_factor",
    "optimizer.schedule.peak_factor", "optimizer.schedule.end_factor",
    "rule.cost", "rule.mode", "rule.inference.steps", "rule.inference.optimizer",
    "rule.inference.optimizer.lr", "rule.inference.optimizer.momentum", "rule.inference.tol",
    "rule.nudging", "rule.nudging.beta", "rule.nudging.sign",
    "model.hidden", "model.activation",
]  # fmt: skip


def test_python_m_plastix_help():
    top = subprocess.run(
        [sys.executable, "-m", "plastix", "--help"], capture_output=True, text=True, timeout=60
    )
    assert top.returncode == 0, top.stderr
    for cmd in ("train", "list", "download"):
        assert cmd in top.stdout
    tr = subprocess.run(
        [sys.executable, "-m", "plastix", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tr.returncode == 0, tr.stderr
    text = tr.stdout
    for flag in ("--rule", "--model", "--dataset", "--data-dir", "--epochs", "--set", "--config",
                 "--preset", "--resume", "--out", "--print-config"):  # fmt: skip
        assert flag in text, flag
    for key in EXPECTED_KEYS:
        assert f"{key} = " in text, key
    # and every key a configuration can set, for every rule, model and optimizer
    named = {"rule": px.config.RULES, "model": px.models.MODELS, "optimizer": px.train.OPTIMIZERS}
    for section, classes in named.items():
        for cls in classes.values() if isinstance(classes, dict) else classes:
            for o in px.config.options(cls, prefix=f"{section}."):
                assert f"{o.key} = " in text or (o.python_only and o.key in text), o.key
    for preset in ("digits-pc", "pcx-mnist-mlp", "bp-mnist-mlp"):
        assert f"{preset}:" in text, preset


def test_devices_and_distributed_flags_are_checked(capsys, tmp_path):
    """The test session has 4 CPU devices: --devices 9 names them and the fix; --coordinator
    without the process count and id is refused before anything starts."""
    assert main(["train", *TINY, "--devices", "9", "--out", str(tmp_path / "a")]) == 2
    err = _error(capsys)
    assert "train.devices is 9 but JAX sees 4 device(s)" in err and "JAX_NUM_CPU_DEVICES" in err
    assert main(["train", *TINY, "--coordinator", "localhost:1", "--out", str(tmp_path / "b")]) == 2
    assert "--coordinator needs --num-processes N and --process-id I" in _error(capsys)
    args = ["--coordinator", "localhost:1", "--num-processes", "2", "--process-id", "2"]
    assert main(["train", *TINY, *args, "--out", str(tmp_path / "c")]) == 2
    assert "--process-id 2 is not in 0..1" in _error(capsys)
