"""What the evaluation scripts of trained runs (``bipc_eval.py``, ``hpc_eval.py``) share: a
preset's network and rule with a run's checkpoint loaded, and the MNIST test set as the run's
data options prepare it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import plastix as px
from plastix.config import from_preset
from plastix.train import load_checkpoint

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
