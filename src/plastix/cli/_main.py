"""The ``plastix`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
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
        "--devices", type=int, metavar="N", help="devices to split each batch over (train.devices)"
    )
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
        "--coordinator",
        metavar="HOST:PORT",
        help="many processes (hosts): the address of process 0, for jax.distributed.initialize",
    )
    t.add_argument("--num-processes", type=int, metavar="N", help="with --coordinator")
    t.add_argument("--process-id", type=int, metavar="I", help="with --coordinator: 0..N-1")
    t.add_argument(
        "--print-config", action="store_true", help="print the resolved configuration and exit"
    )
    b = sub.add_parser(
        "bench",
        help="run every rule of a suite (same data, per-rule presets) and write one table",
        description="Run a benchmark suite: one `plastix train` per rule and seed into "
        "OUT/<rule>/seed-<k> (finished runs are reused, killed ones resumed), then write "
        "OUT/results.md, results.csv, accuracy.png and time.png.",
    )
    b.add_argument("--suite", required=True, help="suite name (see `plastix list`)")
    b.add_argument("--seeds", type=int, default=1, metavar="K", help="seeds 0..K-1 per rule")
    b.add_argument("--epochs", type=int, metavar="N", help="override every preset's epochs")
    b.add_argument("--out", metavar="DIR", help="output folder (default runs/bench-<suite>)")
    b.add_argument("--data-dir", metavar="DIR", help="folder with the data files")
    b.add_argument(
        "--only", action="append", metavar="LABEL", help="run only this entry (repeatable)"
    )
    b.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], help="set a key in every run"
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument(
        "--update",
        metavar="FILE",
        help="also write the suite's section (machine, versions, command, table, plots) into "
        "FILE, e.g. BENCHMARKS.md, replacing the section an earlier run of this suite wrote",
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
        "train.devices": args.devices,
    }
    layers.append({k: v for k, v in flags.items() if v is not None})
    return cfg.resolve(layers)


def build_trainer(config: dict[str, dict[str, Any]], *, out: str | None, progress: bool) -> Trainer:
    """The :class:`~plastix.Trainer` (data, network, rule, optimizer) of a resolved
    configuration, ready to ``fit``; ``out=None`` names a fresh run directory."""
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
    n_dev = tr["devices"]
    if not 0 <= n_dev <= jax.device_count():
        raise cfg.ConfigError(
            f"train.devices is {n_dev} but JAX sees {jax.device_count()} device(s); use 0 (all) "
            f"or 1..{jax.device_count()} (on CPU, JAX_NUM_CPU_DEVICES=N makes N devices)."
        )
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
        devices=jax.devices()[:n_dev] if n_dev else None,
        progress=progress,
        config=config,
    )
    return trainer


def run_train(
    config: dict[str, dict[str, Any]], *, out: str | None, resume: bool, progress: bool
) -> dict[str, Any]:
    """Build everything from a resolved configuration and train; returns the summary."""
    trainer = build_trainer(config, out=out, progress=progress)
    net, rule, train, test = trainer.net, trainer.rule, trainer.train, trainer.test
    assert test is not None
    r = config["rule"]
    out = str(trainer.out_dir)
    summary = trainer.fit(resume=resume)
    summary["out"] = str(out)
    generate = getattr(rule, "generate", None)
    if generate is not None and trainer.epochs > 0:  # generative rules: one sample per class
        import jax.numpy as jnp

        from ..train import generation_quality, plot_image_grid

        images = generate(net, trainer.params, jnp.eye(train.num_classes))
        title = f"{r['name']}: generated from each class label"
        plot_image_grid(
            images, Path(out) / "generated.png", titles=list(train.classes), title=title
        )
        quality = generation_quality(images, test.x, test.y)
        summary["generation"] = quality
        (Path(out) / "generation.json").write_text(json.dumps(quality, indent=2) + "\n")
        print(
            f"generated digits: RMSE to the class mean {quality['rmse_to_class_mean']:.3f} "
            f"(real test images: {quality['reference_rmse']:.3f}); nearest class mean = the "
            f"label for {quality['nearest_mean_accuracy']:.0%} of the classes"
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
    from ..bench import SUITES

    print("bench suites:")
    for name, suite in SUITES.items():
        print(f"  {name}: {suite.help} ({len(suite.entries)} entries)")


def _bench(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..bench import SUITES, run_suite, write_report

    if args.suite not in SUITES:
        raise cfg.ConfigError(f"unknown suite {args.suite!r}; choose one of {sorted(SUITES)}.")
    suite = SUITES[args.suite]
    sets = {}
    for item in args.set:
        if "=" not in item:
            raise cfg.ConfigError(f"--set {item!r}: use KEY=VALUE, e.g. --set train.seed=1.")
        k, v = item.split("=", 1)
        sets[k.strip()] = cfg.parse_value(v.strip())
    out = Path(args.out or f"runs/bench-{suite.name}")
    results = run_suite(
        suite, out, seeds=args.seeds, epochs=args.epochs, data_dir=args.data_dir, sets=sets,
        only=args.only, progress=not args.no_progress,
    )  # fmt: skip
    paths = write_report(suite, results, out, "plastix " + shlex.join(argv))
    print(paths["markdown"].read_text())
    if args.update:
        from ..bench import update_section

        update_section(Path(args.update), suite.name, paths)
        print(f"plastix bench: section {suite.name!r} of {args.update} updated")
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"plastix bench: {r.entry.label} seed {r.seed} failed ({r.out / 'train.log'})")
    return 1 if failed else 0


def _initialize_distributed(args: argparse.Namespace) -> None:
    """Join a multi-process run (``jax.distributed``): every process runs the same command with
    its own ``--process-id``; each batch is then split over the devices of all processes."""
    import jax

    if args.num_processes is None or args.process_id is None:
        raise cfg.ConfigError("--coordinator needs --num-processes N and --process-id I.")
    if not 0 <= args.process_id < args.num_processes:
        raise cfg.ConfigError(
            f"--process-id {args.process_id} is not in 0..{args.num_processes - 1}."
        )
    # CPU devices of different processes talk through gloo (no effect on GPU/TPU backends);
    # set before any backend starts
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
    )


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
        if args.command == "bench":
            return _bench(args, argv)
        if args.command == "download":
            path = download_dataset(args.dataset, root=args.data_dir)
            print(f"{args.dataset} is in {path}")
            return 0
        config = resolve_config(args)
        if args.print_config:
            print(json.dumps(config, indent=2))
            return 0
        if getattr(args, "coordinator", None):
            _initialize_distributed(args)
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
