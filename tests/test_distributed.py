"""Two processes on localhost joined by ``jax.distributed`` (CPU collectives through gloo)
train through the CLI and end with the parameters of a single-process run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np

ARGS = ["--epochs", "2", "--no-progress", "--set", "model.hidden=[16]", "--batch-size", "32"]


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
    single = subprocess.run(_cmd(tmp_path / "one"), env=env, capture_output=True, timeout=300)
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
    a, b = _leaves(tmp_path / "one"), _leaves(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
