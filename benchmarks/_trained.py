"""What the scripts that read trained runs share: a preset's network and rule with a run's
checkpoint loaded and the MNIST test set as the run's data options prepare it
(``bipc_eval.py``, ``hpc_eval.py``); a run folder's own configuration, data and last
checkpoint, and the frozen features of its inputs (``softhebb_readout.py``,
``hebbian_readout_sweep.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import plastix as px
from plastix.config import RunConfig, build, from_preset
from plastix.train import latest_checkpoint, load_checkpoint

DEFAULT_DATA_DIR = str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist")


def load_trained(preset: str, checkpoint: Path, data_dir: str) -> dict[str, Any]:
    """``net``, ``rule``, ``params``, ``state`` (from ``checkpoint``, a run of ``preset``) and
    the MNIST test images ``x`` (normalised when the preset normalises) and labels ``y``."""
    run = from_preset(preset)
    te = px.data.load_dataset("mnist", "test", root=data_dir)
    info = px.data.dataset_info("mnist")
    x = jnp.asarray(px.data.Normalize(info.mean, info.std)(te.x) if run.data.normalize else te.x)
    net = px.Network.from_example(run.model.edges(10), x[:1])
    params, state = run.rule.init(net, key=jax.random.key(0))
    opt = run.optimizer.make(steps_per_epoch=1, epochs=1)
    (params, state, _), _ = load_checkpoint(checkpoint, (params, state, opt.init(params)))
    return {
        "net": net,
        "rule": run.rule,
        "params": params,
        "state": state,
        "x": x,
        "y": jnp.asarray(te.y),
    }


def load_run(run_dir: Path, *, initial: bool = False) -> dict[str, Any]:
    """The run in ``run_dir`` as its ``config.json`` describes it: ``run`` (its
    configuration), ``net``, ``rule``, ``params`` and ``state`` from its last checkpoint (with
    ``initial``: the rule's initial draw for the run's seed, e.g. a random-feature control),
    ``train`` and ``evaluation`` (its validation split when it held one out, else the test
    set)."""
    run = build(RunConfig, json.loads((run_dir / "config.json").read_text())["config"])
    train, evaluation, _ = run.data.load()
    net = px.Network.from_example(run.model.edges(train.num_classes), train.x[:1])
    params, state = run.rule.init(net, key=jax.random.key(run.train.seed))
    if not initial:
        ckpt = latest_checkpoint(run_dir / "checkpoints")
        if ckpt is None:
            raise SystemExit(f"no checkpoint in {run_dir / 'checkpoints'}")
        opt = run.optimizer.make(steps_per_epoch=1, epochs=1)
        (params, state, _), _ = load_checkpoint(ckpt, (params, state, opt.init(params)))
    return {"run": run, "net": net, "rule": run.rule, "params": params, "state": state,
            "train": train, "evaluation": evaluation}  # fmt: skip


def frozen_features(loaded: dict[str, Any], x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The rule's features of ``x`` (flattened per sample) under ``loaded``'s parameters, one
    compiled call per ``batch`` inputs."""
    rule, net, params, state = (loaded[k] for k in ("rule", "net", "params", "state"))
    feat = jax.jit(lambda v: rule.features(net, params, state, v).reshape(v.shape[0], -1))
    parts = [np.asarray(feat(jnp.asarray(x[i : i + batch]))) for i in range(0, len(x), batch)]
    return np.concatenate(parts)
