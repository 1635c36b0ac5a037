"""A run killed with SIGKILL at a random moment resumes from its last checkpoint and ends with
the parameters of an uninterrupted run, bitwise (CPU); its log holds every epoch once."""

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


@pytest.mark.parametrize("rule", sorted(RUNS))
def test_sigkill_then_resume_equals_an_uninterrupted_run(rule, tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    _finish(_cli(full, RUNS[rule]))
    # kill at a random moment after the first checkpoint (during an epoch or a write),
    # uniformly within the time the uninterrupted run spent training
    summary = json.loads((full / "summary.json").read_text())
    span = summary["train_seconds_per_epoch"] * EPOCHS
    rng = np.random.default_rng(sum(map(ord, rule)))
    proc = _cli(cut, RUNS[rule])
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if any((cut / "checkpoints").glob("epoch-*.npz")):
            break
        time.sleep(0.005)
    time.sleep(float(rng.uniform(0.0, 0.8 * span)))
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    first = cut / "checkpoints"
    assert any(first.glob("epoch-*.npz"))
    for p in (cut / "checkpoints").glob("epoch-*.npz"):  # every visible checkpoint is whole
        np.load(p, allow_pickle=False).close()
    _finish(_cli(cut, RUNS[rule], "--resume"))
    a, b = _arrays(full), _arrays(cut)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    epochs = [json.loads(l)["epoch"] for l in (cut / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, EPOCHS + 1))
    assert not list(cut.rglob("*.tmp"))
    assert killed, "the run ended before the kill: the test proved nothing"
