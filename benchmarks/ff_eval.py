"""Evaluate a finished Forward-Forward run both ways and plot its layers.

Usage: python benchmarks/ff_eval.py RUN_DIR

Loads the last checkpoint of a ``plastix train --rule ff`` run directory, prints (and writes to
``RUN_DIR/ff_eval.json``) the error of the linear classifier on a neutral-label input and of
the goodness prediction (over all layers but the first, and over all layers) on the run's
evaluation set (the test set, or the validation split it held out with ``data.validation``),
and writes ``RUN_DIR/ff_layers.png``: per-layer goodness histograms of positive and negative
data of that set with each layer's accuracies.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from plastix.config import RunConfig, build
from plastix.graph import Network
from plastix.rules import FF, FFPrediction, Supervision
from plastix.train import ff_layer_report, latest_checkpoint, load_checkpoint
from plastix.viz import plot_ff_layers


def main(run: Path) -> dict[str, object]:
    summary = json.loads((run / "summary.json").read_text())
    cfg = build(RunConfig, summary["config"])
    # the run's own split: the test set, or the validation split it held out
    train, test, _ = cfg.data.load()
    net = Network.from_example(cfg.model.edges(test.num_classes), test.x[:1])
    rule = cfg.rule
    assert isinstance(rule, FF), f"{run} is not a Forward-Forward run"
    optimizer = cfg.optimizer.make(
        steps_per_epoch=len(train) // cfg.train.batch_size, epochs=cfg.train.epochs
    )
    params, state = rule.init(net, key=jax.random.key(0))
    ckpt = latest_checkpoint(run / "checkpoints")
    assert ckpt is not None, f"no checkpoint in {run}"
    (params, state, _), meta = load_checkpoint(ckpt, (params, state, optimizer.init(params)))
    x, y = jnp.asarray(test.x), np.asarray(test.y)

    def error(rule_variant: object) -> float:
        pred = jax.jit(lambda p, xb: rule_variant.predict(net, p, state, xb))  # type: ignore[attr-defined]
        out = np.concatenate(
            [np.asarray(pred(params, x[s : s + 1000])) for s in range(0, len(x), 1000)]
        )
        return float(np.mean(np.argmax(out, -1) != y))

    res: dict[str, object] = {"run": str(run), "epoch": meta["epoch"], "split": test.split}
    res["linear_error"] = error(dataclasses.replace(rule, prediction=FFPrediction.LINEAR))
    if rule.supervision is Supervision.SUPERVISED:
        for skip in (True, False):
            v = dataclasses.replace(rule, prediction=FFPrediction.GOODNESS, skip_first=skip)
            res[f"goodness_error_{'skip_first' if skip else 'all_layers'}"] = error(v)
    report = ff_layer_report(rule, net, params, x, jnp.asarray(y), key=jax.random.key(7))
    res["layers"] = [
        {k: v for k, v in rec.items() if k not in ("goodness_pos", "goodness_neg")}
        for rec in report["layers"]
    ]
    res["train_seconds_per_epoch"] = summary["train_seconds_per_epoch"]
    plot_ff_layers(
        report, run / "ff_layers.png", title=f"FF on {cfg.data.name} {test.split} data ({run.name})"
    )
    (run / "ff_eval.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main(Path(sys.argv[1]))
