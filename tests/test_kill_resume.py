"""A run stopped at a random moment resumes from its last checkpoint and ends with the
parameters of an uninterrupted run, bitwise (CPU); its log holds every epoch once. Stopped by
SIGKILL (its lock is left behind and taken over), by Ctrl-C (SIGINT: exit 130) or by SIGTERM
(exit 143): the last two end with one line saying how to resume, and no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

EPOCHS = 24
COMMON = ["--epochs", str(EPOCHS), "--no-progress", "--set", "train.batch_size=16"]
RUNS = {
    "pc": ["--rule", "pc", "--set", "model.hidden=[32]", "--set", "rule.inference.steps=5"],
    "ep": [
        "--rule",
        "ep",
        "--set",
        "model.hidden=[32]",
        "--set",
        "model.activation=identity",
        "--set",
        "data.normalize=false",
        "--set",
        "rule.free.steps=8",
        "--set",
        "rule.nudged.steps=3",
    ],
}


def _cli(out: Path, args: list[str], *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-m", "plastix", "train", "--out", str(out), *COMMON, *args, *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen[bytes]) -> None:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out.decode()[-3000:]


def _arrays(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "checkpoints" / f"epoch-{EPOCHS:04d}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k.startswith("leaf_")}


def _resume_and_compare(full: Path, cut: Path) -> None:
    """Resume ``cut`` with nothing but ``--resume`` (the run's own configuration) and check it
    ends bit for bit as the uninterrupted ``full``, every epoch logged once, no temporary file
    or lock left behind."""
    resume = [sys.executable, "-m", "plastix", "train", "--out", str(cut), "--resume", "--no-progress"]  # fmt: skip
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    _finish(subprocess.Popen(resume, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    a, b = _arrays(full), _arrays(cut)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    epochs = [json.loads(l)["epoch"] for l in (cut / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, EPOCHS + 1))
    assert not list(cut.rglob("*.tmp"))
    assert not (cut / ".lock").exists()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The uninterrupted run of each rule, made once."""
    done: dict[str, Path] = {}

    def get(rule: str) -> Path:
        if rule not in done:
            done[rule] = tmp_path_factory.mktemp(f"full-{rule}") / "run"
            _finish(_cli(done[rule], RUNS[rule]))
        return done[rule]

    return get


STOPS = {signal.SIGKILL: -signal.SIGKILL, signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.mark.parametrize(
    ("rule", "sig"),
    [
        ("pc", signal.SIGKILL),
        ("pc", signal.SIGINT),
        # the same path as Ctrl-C, and EP's kill (its compile is long): the slow tier
        pytest.param("pc", signal.SIGTERM, marks=pytest.mark.slow),
        pytest.param("ep", signal.SIGKILL, marks=pytest.mark.slow),
    ],
    ids=["pc-kill", "pc-ctrl-c", "pc-term", "ep-kill"],
)
def test_stop_then_resume_equals_an_uninterrupted_run(rule, sig, uninterrupted, tmp_path):
    full, cut = uninterrupted(rule), tmp_path / "cut"
    # stop at a random moment after the first checkpoint (during an epoch or a write),
    # uniformly within the time the uninterrupted run spent training
    summary = json.loads((full / "summary.json").read_text())
    span = summary["train_seconds_per_epoch"] * EPOCHS
    rng = np.random.default_rng(sum(map(ord, rule)) + int(sig))
    proc = _cli(cut, RUNS[rule])
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if any((cut / "checkpoints").glob("epoch-*.npz")):
            break
        time.sleep(0.005)
    time.sleep(float(rng.uniform(0.0, 0.8 * span)))
    stopped = proc.poll() is None
    proc.send_signal(sig)
    log, _ = proc.communicate(timeout=60)
    assert stopped, "the run ended before the signal: the test proved nothing"
    text = log.decode()
    assert proc.returncode == STOPS[sig], text[-2000:]
    if sig != signal.SIGKILL:
        assert "Traceback" not in text, text[-2000:]
        word = "interrupted" if sig == signal.SIGINT else "terminated"
        assert f"plastix: {word}; {cut} keeps every finished epoch" in text, text[-2000:]
        assert "--resume" in text
        assert not (cut / ".lock").exists()  # released on the way out
    else:
        assert (cut / ".lock").exists()  # left by the killed process, taken over below
    for p in (cut / "checkpoints").glob("epoch-*.npz"):  # every visible checkpoint is whole
        np.load(p, allow_pickle=False).close()
    # the run's own configuration: --resume needs no other option
    _resume_and_compare(full, cut)


# the run, in a process that kills itself (SIGKILL) in the middle of writing its third
# checkpoint: half of the file is in the temporary file, nothing is renamed yet
DIES_WRITING = """
import os, signal, sys
import plastix.train._checkpoint as ck

atomic, seen = ck._atomic_write, []

def dying(path, write):
    if path.suffix != ".npz":
        return atomic(path, write)
    seen.append(path)
    if len(seen) < 3:
        return atomic(path, write)

    def half(f):
        write(f)
        f.flush()
        f.truncate(f.tell() // 2)
        f.flush()
        os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    return atomic(path, half)

ck._atomic_write = dying
from plastix.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_kill_during_a_checkpoint_write_then_resume_equals_an_uninterrupted_run(
    uninterrupted, tmp_path
):
    full, cut = uninterrupted("pc"), tmp_path / "cut"
    cmd = [sys.executable, "-c", DIES_WRITING, "train", "--out", str(cut), *COMMON, *RUNS["pc"]]
    proc = subprocess.run(cmd, env={**os.environ, "JAX_PLATFORMS": "cpu"}, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    # killed mid-write: the half file is the temporary one; the visible checkpoints are whole
    assert [p.name[:16] for p in (cut / "checkpoints").glob(".*.tmp")] == [".epoch-0003.npz."]
    assert sorted(p.name for p in (cut / "checkpoints").glob("epoch-*.npz")) == [
        "epoch-0001.npz",
        "epoch-0002.npz",
    ]
    _resume_and_compare(full, cut)
