"""Runs cannot be mixed up or lost: a resume continues the same run (its own configuration;
another rule, model or seed refused), a directory is held by one live run, a run directory
is never overwritten, and the command line ends every failure with one line, not a
traceback. (Stopping by signal and resuming exactly: tests/test_kill_resume.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
import pytest

import plastix as px
from plastix.cli import main
from plastix.train import RunLock, config_differences, load_checkpoint, save_checkpoint

TINY = ["--set", "data.train_limit=128", "--set", "data.test_limit=64", "--no-progress"]


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def run1(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "run"
    assert main(["train", "--epochs", "1", "--set", "model.hidden=[24]", *TINY, "--out", str(out)]) == 0  # fmt: skip
    return out


def test_a_run_records_its_configuration_and_resume_reads_it(run1, tmp_path, capsys):
    saved = json.loads((run1 / "config.json").read_text())
    assert saved["seed"] == 0 and saved["config"]["model"]["hidden"] == [24]
    # --print-config with --resume shows the run's configuration, epochs extended
    assert main(["train", "--out", str(run1), "--resume", "--epochs", "3", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["model"]["hidden"] == [24] and printed["train"]["epochs"] == 3
    assert printed["data"]["train_limit"] == 128


def test_resume_refuses_another_rule_seed_or_model(run1, capsys):
    before = sorted(p.name for p in (run1 / "checkpoints").iterdir())
    for extra, expect in [
        (["--rule", "bp"], "rule.name: the run has 'pc', now 'bp'"),
        (["--seed", "3"], "train.seed: the run has 0, now 3"),
        (["--set", "model.hidden=[8]"], "model.hidden: the run has [24], now [8]"),
        (["--set", "optimizer.lr=0.01"], "optimizer.lr: the run has 0.001, now 0.01"),
    ]:
        assert main(["train", "--out", str(run1), "--resume", "--epochs", "2", *extra]) == 2
        err = _err(capsys)
        assert expect in err and "would mix two runs" in err, err
        assert err.count("\n") == 1  # one line
    assert sorted(p.name for p in (run1 / "checkpoints").iterdir()) == before


def test_resume_without_a_run_and_a_fresh_run_over_one_are_errors(run1, tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "nothing"), "--resume", *TINY]) == 2
    assert "there is no run to resume" in _err(capsys)
    assert main(["train", "--out", str(run1), *TINY]) == 2
    assert "already holds a run" in _err(capsys)


def test_python_resume_refuses_another_seed(tmp_path):
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 64))
    net = px.Network.from_example(px.models.mlp(10, hidden=(8,)), tr.x[:1])

    def fit(seed, resume):
        t = px.Trainer(
            net, px.BP(), optax.adam(1e-3), tr, None, epochs=2, batch_size=32, seed=seed,
            out_dir=tmp_path / "r", progress=False,
        )  # fmt: skip
        return t.fit(resume=resume)

    fit(0, False)
    with pytest.raises(px.ConfigError, match="seed 1, but the run was started with seed 0"):
        fit(1, True)


def test_config_differences_name_the_choice_not_its_options():
    a = {"rule": {"name": "pc", "inference": {"steps": 20}}, "train": {"epochs": 2, "seed": 0}}
    b = {"rule": {"name": "bp"}, "train": {"epochs": 5, "seed": 0}}
    assert config_differences(a, b) == ["rule.name: the run has 'pc', now 'bp'"]
    assert config_differences(a, {**a, "data": {"dir": "/elsewhere"}}) == []


def _holder(out: Path) -> subprocess.Popen[str]:
    """Another process that takes the lock of ``out`` and keeps it (until killed)."""
    code = (
        "import sys, time\n"
        "from plastix.train import RunLock\n"
        "with RunLock(sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_live_run_holds_its_directory_and_a_killed_ones_lock_is_taken_over(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(
            px.ConfigError, match=f"in use by another run \\(process {holder.pid} on this machine"
        ):
            RunLock(tmp_path).__enter__()
    finally:
        holder.kill()  # SIGKILL: no clean-up, the file stays, the kernel lets go of the lock
        holder.wait()
    assert (tmp_path / ".lock").exists()
    with RunLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
        with pytest.raises(px.ConfigError, match=f"process {os.getpid()}"):
            RunLock(tmp_path).__enter__()  # held even against this same process
    assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text("{half a lock")  # a record damaged by whatever: no lock held
    with RunLock(tmp_path):
        pass


def test_a_file_system_without_locks_warns_and_runs_unlocked(tmp_path, monkeypatch):
    import errno
    import fcntl

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.warns(UserWarning, match="No locks available.*nothing keeps a second run out"):
        with RunLock(tmp_path) as lock:
            assert lock.fd is None


def test_a_second_run_on_a_live_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    holder = _holder(out)
    try:
        assert main(["train", "--epochs", "1", *TINY, "--out", str(out)]) == 2
        assert "in use by another run" in _err(capsys)
    finally:
        holder.kill()
        holder.wait()
    assert not (out / "config.json").exists()  # nothing was written into the live run


def test_two_runs_started_together_on_one_directory(tmp_path):
    """Two real processes, the same command at the same moment: one trains, the other is
    refused (by the lock, or, if the first has already finished, by its finished run), and the
    run left is whole."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "plastix", "train", "--epochs", "3", "--set", "model.hidden=[24]", *TINY, "--out", str(out)]  # fmt: skip
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    refused = errs[[p.returncode for p in procs].index(2)]
    assert "Traceback" not in refused, refused
    assert "in use by another run" in refused or "already holds a run" in refused, refused
    epochs = [json.loads(l)["epoch"] for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    assert json.loads((out / "summary.json").read_text())["epochs"] == 3
    assert not (out / ".lock").exists()


def test_out_that_is_a_file_or_unwritable(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("")
    assert main(["train", "--epochs", "1", *TINY, "--out", str(f)]) == 2
    assert "a file is in the way" in _err(capsys)
    # a location the process may not write (a read-only dir; /sys refuses even root)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    target = ro / "run" if not os.access(ro, os.W_OK) else Path("/sys/plastix-test/run")
    try:
        assert main(["train", "--epochs", "1", *TINY, "--out", str(target)]) == 1
        err = _err(capsys)
        assert "not permitted" in err or "Permission denied" in err, err
        assert "choose another --out" in err
    finally:
        ro.chmod(0o700)


def test_checkpoints_with_damaged_contents_are_named(run1, tmp_path):
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 64))
    net = px.Network.from_example(px.models.mlp(10, hidden=(8,)), tr.x[:1])

    def trainer(out):
        return px.Trainer(
            net, px.BP(), optax.sgd(0.1), tr, None, epochs=2, batch_size=32, out_dir=out,
            progress=False,
        )  # fmt: skip

    good = trainer(tmp_path / "good")
    good.fit()
    ckpt = tmp_path / "good" / "checkpoints" / "epoch-0002.npz"
    tree, meta = load_checkpoint(ckpt, good.init())
    nan = jax.tree.map(lambda a: np.full_like(np.asarray(a), np.nan), tree)
    for name, t, m, expect in [
        ("nan", nan, meta, "holds NaN or infinite values"),
        ("noepoch", tree, {k: v for k, v in meta.items() if k != "epoch"}, "records no epoch"),
    ]:
        out = tmp_path / name
        (out / "checkpoints").mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"config": {}, "seed": 0}))
        save_checkpoint(out / "checkpoints" / "epoch-0001.npz", t, m)
        with pytest.raises(px.CheckpointError, match=expect):
            trainer(out).fit(resume=True)


def test_run_files_respect_the_umask(run1):
    old = os.umask(0o022)
    os.umask(old)
    for name in ("config.json", "metrics.jsonl", "summary.json"):
        assert (run1 / name).stat().st_mode & 0o777 == 0o666 & ~old, name
    for p in (run1 / "checkpoints").iterdir():
        assert p.stat().st_mode & 0o777 == 0o666 & ~old


def test_list_into_a_closed_pipe_is_quiet():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        f"{sys.executable} -m plastix list | head -1", shell=True, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.stdout.startswith("rules:")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_an_internal_error_is_one_line_unless_debug(monkeypatch, capsys):
    import plastix.cli._main as cli

    def boom(*a, **k):
        raise RuntimeError("something broke")

    monkeypatch.setattr(cli, "run_train", boom)
    assert main(["train", "--epochs", "1", *TINY]) == 1
    err = _err(capsys)
    assert "internal error: RuntimeError: something broke" in err and "--debug" in err
    with pytest.raises(RuntimeError):
        main(["train", "--epochs", "1", *TINY, "--debug"])


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda: px.EP(sign="bogus"), "EP(sign='bogus'): expected a NudgeSign"),
        (
            lambda: px.PC(cost="cross-entropy"),
            "one of BinaryCrossEntropy, CrossEntropy, SquaredError",
        ),
        (lambda: px.Inference(optimizer="sgd"), "Inference(optimizer='sgd')"),
        (lambda: px.local.LocalHebbian(update="oja"), "one of BCM, Hebb, KrotovHopfield"),
        (lambda: px.train.AdamW(schedule="cosine"), "one of Constant, HoldLinear, WarmupCosine"),
        (lambda: px.train.AdamW(lr=float("nan")), "lr must be a finite number > 0"),
        (lambda: px.train.SGD(lr=-1.0), "lr must be a finite number > 0"),
        (lambda: px.train.Adam(lr=float("inf")), "lr must be a finite number > 0"),
        (lambda: px.train.AdamW(weight_decay=-0.1), "weight_decay must be a finite number >= 0"),
    ],
)
def test_wrong_option_objects_fail_at_construction(make, expect):
    with pytest.raises(px.ConfigError, match=re.escape(expect)):
        make()


def test_trainer_arguments_are_checked():
    tr = px.data.load_dataset("digits", "train").subset(slice(0, 64))
    net = px.Network.from_example(px.models.mlp(10, hidden=(8,)), tr.x[:1])
    with pytest.raises(px.ConfigError, match=r"Trainer\(augment='crop'\): expected a callable"):
        px.Trainer(net, px.BP(), optax.adam(1e-3), tr, augment="crop")
    with pytest.raises(px.ConfigError, match=r"Trainer\(rule='pc'\): expected a rule object"):
        px.Trainer(net, "pc", optax.adam(1e-3), tr)
    with pytest.raises(px.ConfigError, match=r"Trainer\(optimizer='adam'\)"):
        px.Trainer(net, px.BP(), "adam", tr)


@pytest.mark.parametrize(
    ("setting", "expect"),
    [
        ("optimizer.lr=nan", "optimizer.lr must be a finite number, got 'nan'"),
        ("optimizer.lr=-inf", "optimizer.lr must be a finite number, got '-inf'"),
        ("optimizer.lr=-1", "lr must be a finite number > 0, got -1.0"),
        ("rule.inference.optimizer.lr=0", "need lr > 0"),
        ("train.eval_batch_size=0", "train.eval_batch_size must be >= 1, got 0"),
        ("data.test_limit=0", "data.test_limit must be >= 1 or null, got 0"),
        ("data.train_limit=-100", "data.train_limit must be >= 1 or null, got -100"),
        ("train.epochs=-1", "train.epochs must be >= 0, got -1"),
    ],
)
def test_numeric_options_are_checked(setting, expect, tmp_path, capsys):
    assert main(["train", "--set", setting, "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = _err(capsys)
    assert expect in err, err
    assert not (tmp_path / "r").exists()


def test_a_config_file_with_nan_is_refused(tmp_path, capsys):
    f = tmp_path / "c.toml"
    f.write_text("[optimizer]\nlr = nan\n")
    assert main(["train", "--config", str(f), "--print-config"]) == 2
    assert "optimizer.lr must be a finite number" in _err(capsys)


def test_nan_in_the_data_is_found_at_load_time():
    x = np.zeros((5, 2, 2, 1), np.float32)
    x[3, 1, 0, 0] = np.nan
    x[4, 0, 0, 0] = np.inf
    with pytest.raises(px.DataError, match="sample 3 \\(and 1 more\\) holds NaN or infinite"):
        px.data.ArrayDataset(x, np.zeros(5, np.int32), 2, "toy")


@pytest.mark.parametrize("rule", ["ep", "chl", "cl"])
def test_an_equilibrium_rule_on_activated_edges_says_so_before_training(rule, tmp_path, capsys):
    """The digits preset's gelu MLP under CHL trained to chance; now it stops first (and
    `--rule chl` alone gets its own linear setup: test_defaults)."""
    out = tmp_path / "r"
    args = ["train", "--rule", rule, "--preset", "digits-pc", "--epochs", "1", *TINY]
    assert main([*args, "--out", str(out)]) == 2
    err = _err(capsys)
    assert "edge 0 applies its own activation GELU" in err and "model.activation=identity" in err
    assert not (out / "checkpoints").exists()


def test_a_full_disk_names_the_cause_and_keeps_the_last_good_checkpoint(
    tmp_path, monkeypatch, capsys
):
    import errno

    import plastix.train._trainer as trainer_module

    real = trainer_module.save_checkpoint

    def full_at_epoch_2(path, tree, meta):
        if meta["epoch"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, tree, meta)

    monkeypatch.setattr(trainer_module, "save_checkpoint", full_at_epoch_2)
    out = tmp_path / "r"
    assert main(["train", "--epochs", "3", *TINY, "--out", str(out)]) == 1
    err = _err(capsys)
    assert "No space left on device" in err and "the last good checkpoint is kept" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch-0001.npz"]
    assert not (out / ".lock").exists()
    monkeypatch.setattr(trainer_module, "save_checkpoint", real)  # space freed: resume
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text())["epochs"] == 3


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("time.strftime", lambda *a: "20261203-120000")  # one second for both
    for _ in range(2):
        assert main(["train", "--epochs", "1", "--set", "model.hidden=[8]", *TINY]) == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["pc-mlp-digits-20261203-120000", "pc-mlp-digits-20261203-120000-2"]
    assert all((tmp_path / "runs" / r / "summary.json").exists() for r in runs)
