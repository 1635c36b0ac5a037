"""The ``plastix`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import PlastixError
from ..data import (
    DATASETS,
    RandomCrop,
    RandomHorizontalFlip,
    dataset_info,
    download_dataset,
    load_dataset,
)
from ..models import MODEL_OPTIONS, make_model
from ..rules import RULES, make_rule
from ..train import OPTIMIZER_DOCS, PRESET_HELP, PRESETS, Trainer, make_optimizer
from . import _config as cfg


def _keys_help() -> str:
    lines = ["configuration keys (--set KEY=VALUE, or sections in a --config file):"]
    for s, sec in cfg.FIXED_SECTIONS.items():
        for k, v in sec.items():
            doc = cfg.DOCS.get(f"{s}.{k}") or OPTIMIZER_DOCS.get(k, "")
            lines.append(f"  {s}.{k} = {json.dumps(v)}  {doc}")
    for name, spec in RULES.items():
        lines.append(f"  rule options when rule.name = {name} ({spec.help}):")
        for k, v in spec.defaults.items():
            lines.append(f"    rule.{k} = {json.dumps(v)}  {spec.doc.get(k, '')}")
    for name, opts in MODEL_OPTIONS.items():
        if opts:
            lines.append(f"  model options when model.name = {name}:")
            for k, v in opts.items():
                lines.append(f"    model.{k} = {json.dumps(v)}")
    lines.append("presets (--preset NAME):")
    for name in PRESETS:
        lines.append(f"  {name}: {PRESET_HELP.get(name, '')}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plastix",
        description="Train networks with local learning rules (predictive coding, backprop, ...). "
        "With no command, runs `plastix train` on the embedded digits dataset.",
    )
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser(
        "train",
        help="train a model with a learning rule",
        description="Train a model with a learning rule and write metrics.jsonl, checkpoints, "
        "summary.json and curves.png to the run directory. Settings are resolved as: "
        f"defaults < --preset (default {cfg.DEFAULT_PRESET}) < --config < --set < flags.",
        epilog=_keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--rule", choices=sorted(RULES), help="learning rule (rule.name)")
    t.add_argument("--model", choices=sorted(MODEL_OPTIONS), help="network (model.name)")
    t.add_argument("--dataset", choices=list(DATASETS), help="dataset (data.name)")
    t.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder with the data files (data.dir); else $PLASTIX_DATA_DIR",
    )
    t.add_argument("--epochs", type=int, metavar="N", help="number of epochs (train.epochs)")
    t.add_argument("--batch-size", type=int, metavar="B", help="minibatch size (train.batch_size)")
    t.add_argument("--seed", type=int, metavar="S", help="random seed (train.seed)")
    t.add_argument(
        "--out", metavar="DIR", help="run directory (default runs/<rule>-<model>-<dataset>-<time>)"
    )
    t.add_argument("--preset", metavar="NAME", help=f"a published setup: {', '.join(PRESETS)}")
    t.add_argument("--config", metavar="FILE", help="TOML or JSON file of settings by section")
    t.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="set one key (repeatable); see the list below",
    )
    t.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument(
        "--print-config", action="store_true", help="print the resolved configuration and exit"
    )
    sub.add_parser("list", help="list rules, models, datasets and presets with their options")
    d = sub.add_parser(
        "download", help="download a dataset into the data folder (checksums verified)"
    )
    d.add_argument("dataset", choices=[n for n in DATASETS if n != "digits"])
    d.add_argument(
        "--data-dir", metavar="DIR", help="target folder (else $PLASTIX_DATA_DIR, else the cache)"
    )
    return parser


def resolve_config(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    layers = [cfg.preset(args.preset or cfg.DEFAULT_PRESET)]
    if args.config:
        layers.append(cfg.load_config_file(args.config))
    sets: dict[str, Any] = {}
    for item in args.set:
        if "=" not in item:
            raise cfg.ConfigError(f"--set {item!r}: use KEY=VALUE, e.g. --set rule.steps=8.")
        k, v = item.split("=", 1)
        sets[k.strip()] = cfg.parse_value(v.strip())
    layers.append(sets)
    flags = {
        "rule.name": args.rule,
        "model.name": args.model,
        "data.name": args.dataset,
        "data.dir": args.data_dir,
        "train.epochs": args.epochs,
        "train.batch_size": args.batch_size,
        "train.seed": args.seed,
    }
    layers.append({k: v for k, v in flags.items() if v is not None})
    return cfg.resolve(layers)


def run_train(
    config: dict[str, dict[str, Any]], *, out: str | None, resume: bool, progress: bool
) -> dict[str, Any]:
    """Build everything from a resolved configuration and train; returns the summary."""
    import jax

    from ..graph import Network

    d, tr, m, r, o = (config[s] for s in ("data", "train", "model", "rule", "optimizer"))
    train = load_dataset(d["name"], "train", root=d["dir"])
    test = load_dataset(d["name"], "test", root=d["dir"])
    if d["train_limit"] is not None:
        train = train.subset(slice(0, int(d["train_limit"])))
    if d["test_limit"] is not None:
        test = test.subset(slice(0, int(d["test_limit"])))
    if d["normalize"]:
        info = dataset_info(d["name"])
        from ..data import Normalize

        norm = Normalize(info.mean, info.std)
        train = dataclasses.replace(train, x=norm(train.x))
        test = dataclasses.replace(test, x=norm(test.x))
    augment = None
    if d["augment"] == "crop-flip":
        crop, flip = RandomCrop(train.x.shape[1], padding=4), RandomHorizontalFlip()

        def augment(x: jax.Array, *, key: jax.Array) -> jax.Array:
            k1, k2 = jax.random.split(key)
            return flip(crop(x, key=k1), key=k2)
    elif d["augment"] != "none":
        raise cfg.ConfigError(
            f"unknown data.augment {d['augment']!r}; choose one of ['none', 'crop-flip']."
        )

    edges = make_model(m["name"], train.num_classes, **{k: v for k, v in m.items() if k != "name"})
    net = Network.from_example(edges, train.x[:1])
    rule = make_rule(r["name"], **{k: v for k, v in r.items() if k != "name"})
    steps_per_epoch = len(train) // tr["batch_size"] if tr["batch_size"] > 0 else 0
    optimizer = make_optimizer(steps_per_epoch=steps_per_epoch, epochs=tr["epochs"], **o)
    if out is None:
        out = f"runs/{r['name']}-{m['name']}-{d['name']}-{time.strftime('%Y%m%d-%H%M%S')}"
    trainer = Trainer(
        net,
        rule,
        optimizer,
        train,
        test,
        epochs=tr["epochs"],
        batch_size=tr["batch_size"],
        seed=tr["seed"],
        out_dir=out,
        augment=augment,
        steps_per_call=tr["steps_per_call"],
        eval_batch_size=tr["eval_batch_size"],
        gradient_check=tr["gradient_check"],
        progress=progress,
        config=config,
    )
    summary = trainer.fit(resume=resume)
    summary["out"] = str(out)
    generate = getattr(rule, "generate", None)
    if generate is not None and trainer.epochs > 0:  # generative rules: one sample per class
        import jax.numpy as jnp

        from ..train import plot_image_grid

        images = generate(net, trainer.params, jnp.eye(train.num_classes))
        title = f"{r['name']}: generated from each class label"
        plot_image_grid(
            images, Path(out) / "generated.png", titles=list(train.classes), title=title
        )
    return summary


def _list() -> None:
    print("rules:")
    for name, spec in RULES.items():
        print(f"  {name}: {spec.help}; options {json.dumps(spec.defaults)}")
    print("models:")
    for name, opts in MODEL_OPTIONS.items():
        print(f"  {name}: options {json.dumps(opts)}")
    print(f"datasets: {', '.join(DATASETS)}")
    print("presets:")
    for name in PRESETS:
        print(f"  {name}: {PRESET_HELP.get(name, '')}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``plastix`` and ``python -m plastix``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["train", *argv]
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            _list()
            return 0
        if args.command == "download":
            path = download_dataset(args.dataset, root=args.data_dir)
            print(f"{args.dataset} is in {path}")
            return 0
        config = resolve_config(args)
        if args.print_config:
            print(json.dumps(config, indent=2))
            return 0
        if args.resume and not args.out:
            raise cfg.ConfigError("--resume needs --out DIR: the run directory to continue.")
        summary = run_train(config, out=args.out, resume=args.resume, progress=not args.no_progress)
    except PlastixError as err:
        print(f"plastix: error: {err}", file=sys.stderr)
        return 2
    acc = summary["test_accuracy"]
    print(
        f"{summary['rule']} / {summary['model']} / {summary['dataset']}: "
        f"test accuracy {acc:.4f} after {summary['epochs']} epochs, "
        f"{summary['train_seconds_per_epoch']:.3f} s/epoch (compile {summary['compile_seconds']:.1f} s); "
        f"run directory {Path(summary['out'])}"
        if acc is not None
        else f"no epochs run; run directory {summary['out']}"
    )
    return 0
