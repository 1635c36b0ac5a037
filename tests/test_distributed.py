"""Two processes on localhost joined by ``jax.distributed`` (CPU collectives through gloo)
train through the CLI, each reading only its own half of the MNIST training files, and end
with the parameters of a single-process run that draws its batches from the same two shards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import MNIST_DIR

ARGS = [
    "--epochs",
    "2",
    "--no-progress",
    "--set",
    "model.hidden=[16]",
    "--batch-size",
    "32",
    "--dataset",
    "mnist",
    "--data-dir",
    str(MNIST_DIR),
    "--set",
    "data.train_limit=2000",
    "--set",
    "data.test_limit=500",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def _cmd(out, *extra):
    return [sys.executable, "-m", "plastix", "train", "--out", str(out), *ARGS, *extra]


def _leaves(run):
    with np.load(run / "checkpoints" / "epoch-0002.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k.startswith("leaf_")}


def test_two_processes_match_one(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "1"}
    if not MNIST_DIR.is_dir():
        pytest.skip(f"real MNIST not found at {MNIST_DIR}")
    # one process, one device, batches drawn from two shards as the two processes draw them
    one = _cmd(tmp_path / "one", "--set", "train.shards=2")
    single = subprocess.run(one, env=env, capture_output=True, timeout=300)
    assert single.returncode == 0, single.stdout.decode()[-2000:] + single.stderr.decode()[-2000:]
    coord = f"localhost:{_free_port()}"
    procs = [
        subprocess.Popen(
            _cmd(
                tmp_path / "two",
                "--coordinator",
                coord,
                "--num-processes",
                "2",
                "--process-id",
                str(i),
            ),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(2)
    ]
    try:
        outs = [p.communicate(timeout=300)[0].decode() for p in procs]
    finally:
        for p in procs:  # bounded: never leave a process behind
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(p.returncode == 0 for p in procs), "\n---\n".join(o[-2000:] for o in outs)
    import json

    env0 = json.loads((tmp_path / "two" / "summary.json").read_text())["environment"]
    assert env0["processes"] == 2 and env0["data_parallel_devices"] == 2
    assert env0["per_process_feed"]  # each process fed only its own rows of every batch
    assert env0["shards"] == 2  # one per process, the default
    assert env0["train_rows_read"] == [0, 1000]  # process 0 read only its half of 2000
    assert "process 1 of 2 reads training rows 1000..2000 of 2000" in outs[1]
    a, b = _leaves(tmp_path / "one"), _leaves(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
