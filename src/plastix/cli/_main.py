"""The ``plastix`` command line."""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import config as cfg
from .._errors import ConfigError, GraphError, PlastixError, ShapeError
from ..config import RULES, RunConfig
from ..data import DATASETS, download_dataset
from ..models import MODELS
from ..rules import AbstractGenerativeRule
from ..train import OPTIMIZERS, Trainer, read_run_config
from . import _memory
from ._help import config_value, option_lines


def summary_line(cls: type) -> str:
    """The start of a class's docstring (its one-line help): up to the first full stop (not
    "et al." or an ellipsis), colon or formula after at least three words."""
    doc = " ".join((cls.__doc__ or cls.__name__).split())
    ends = r"(?<!\bal)(?<!\.)\.(?!\.)(?:\s|$)|:\s|\s*\.\. math::|\s*:math:"
    cut = [m.start() for m in re.finditer(ends, doc) if len(doc[: m.start()].split()) >= 3]
    return (doc[: cut[0]] if cut else doc).strip().rstrip(":,")


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
            if "name" in v:
                out[f"{prefix}{k}"] = v["name"]
        else:
            out[f"{prefix}{k}"] = v
    return out


def _keys_help() -> str:
    default_run = cfg.resolve([cfg.Layer("preset", cfg.load_preset(cfg.DEFAULT_PRESET), True)])
    run = _flat(cfg.to_config(default_run))
    lines = [
        "configuration keys (--set KEY=VALUE, or sections in a --config file). A run without "
        "--preset starts from its rule's preset for its dataset (`plastix train --rule R "
        "--dataset D --print-config` shows it); with neither given, from "
        f"{cfg.DEFAULT_PRESET}, whose values are shown where they change a class default:"
    ]
    for sec in ("data", "train"):
        cls = type(getattr(default_run, sec))
        lines += option_lines(cfg.options(cls, prefix=f"{sec}."), "  ", run)
    sections = (
        ("rule", RULES, default_run.rule),
        ("model", MODELS, default_run.model),
        ("optimizer", {c.name: c for c in OPTIMIZERS}, default_run.optimizer),
    )
    for sec, named, current in sections:
        lines.append(f"  {sec}.name = {config_value(current.name)}  {{{', '.join(named)}}}")
        for name, cls in named.items():
            mine = type(current) is cls
            lines.append(f"  {sec} options when {sec}.name = {name} ({summary_line(cls)}):")
            # class defaults; the run's value beside them where the default preset changes it
            opts = cfg.options(cls, prefix=f"{sec}.")
            lines += option_lines(opts, "    ", run if mine else None) or ["    (none)"]
    lines.append("presets (--preset NAME):")
    for name in cfg.preset_names():
        lines.append(f"  {name}: {cfg.preset_help(name)}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plastix",
        description="Train networks with local learning rules (predictive coding, backprop, ...). "
        "With no command, runs `plastix train` on the embedded digits dataset.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser(
        "train",
        parents=[common],
        help="train a model with a learning rule",
        description="Train a model with a learning rule and write metrics.jsonl, checkpoints, "
        "summary.json and curves.png to the run directory. Settings are resolved as: "
        "defaults < --preset (default: the rule's preset for the dataset, "
        f"{cfg.DEFAULT_PRESET} for pc on the digits) < --config < --set < flags.",
        epilog=_keys_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--rule", choices=sorted(RULES), help="learning rule (rule.name)")
    t.add_argument("--model", choices=sorted(MODELS), help="network (model.name)")
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
    t.add_argument(
        "--preset", metavar="NAME", help=f"a published setup: {', '.join(cfg.preset_names())}"
    )
    t.add_argument("--config", metavar="FILE", help="TOML or JSON file of settings by section")
    t.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="set one key (repeatable); see the list below",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint, with the run's own "
        "configuration (other options may only extend --epochs)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument(
        "--no-compile-cache",
        action="store_true",
        help=f"do not use the persistent compilation cache (default: ${COMPILE_CACHE_ENV}, else "
        "~/.cache/plastix/compiled; a second run of the same setup then skips XLA's compilation)",
    )
    t.add_argument(
        "--compile-only",
        action="store_true",
        help="compile the run's programs, print their seconds (JSON) and train nothing (no run "
        "directory); run it twice with the compilation cache on to time a warm start",
    )
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
        parents=[common],
        help="run every rule of a suite (same data, per-rule presets) and write one table",
        description="Run a benchmark suite: one `plastix train` per rule and seed into "
        "OUT/<rule>/seed-<k> (finished runs are reused, killed ones resumed; seed 0's "
        "programs are also compiled alone twice with a fresh compilation cache, once, for the "
        "warm-start column), then write OUT/results.md, results.csv, accuracy.png and "
        "time.png.",
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
    ls = sub.add_parser(
        "list",
        parents=[common],
        help="list rules, models, datasets and presets with their options",
    )
    ls.add_argument(
        "--markdown", action="store_true", help="every configuration key as Markdown tables"
    )
    _memory.add_parser(sub, common)
    d = sub.add_parser(
        "download",
        parents=[common],
        help="download a dataset into the data folder (checksums verified)",
    )
    d.add_argument("dataset", choices=[n for n in DATASETS if n != "digits"])
    d.add_argument(
        "--data-dir", metavar="DIR", help="target folder (else $PLASTIX_DATA_DIR, else the cache)"
    )
    return parser


COMPILE_CACHE_ENV = "PLASTIX_COMPILE_CACHE"
"""The persistent compilation cache's folder (``off``: no cache)."""


def compile_cache(*, off: bool = False) -> Path | None:
    """Turn on JAX's persistent compilation cache for this process, in ``$PLASTIX_COMPILE_CACHE``
    (``off`` or ``0`` there, or ``off=True``: no cache), else ``~/.cache/plastix/compiled``;
    every compiled program is kept, so a second run of the same setup loads them instead of
    compiling. Returns the folder (None when off)."""
    import jax

    where = os.environ.get(COMPILE_CACHE_ENV, "")
    if off or where.lower() in ("off", "0", "none", "false"):
        return None
    path = Path(where).expanduser() if where else Path.home() / ".cache" / "plastix" / "compiled"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"the compilation cache folder {path} cannot be made ({err.strerror or err}); set "
            f"{COMPILE_CACHE_ENV} to a writable folder, or pass --no-compile-cache."
        ) from err
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def _named(layers: list[cfg.Layer], section: str) -> str | None:
    """The ``name`` the last of ``layers`` that gives one sets for ``section``."""
    for layer in reversed(layers):
        value = layer.settings.get(section)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return str(value["name"])
    return None


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """The run's configuration from the command line's layers. At the bottom: the named
    ``--preset``; with ``--resume``, the run's own recorded configuration; else the preset of
    the chosen rule for the chosen dataset (:func:`plastix.config.default_preset`; with
    neither given, predictive coding on the digits)."""
    user = []
    if args.config:
        user.append(cfg.Layer(f"config file {args.config}", cfg.load_config_file(args.config)))
    user.append(cfg.Layer("--set", cfg.parse_sets(args.set)))
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
    user.append(
        cfg.Layer("flags", cfg.unflatten({k: v for k, v in flags.items() if v is not None}))
    )
    saved = read_run_config(args.out) if args.resume and args.out else None
    base: list[cfg.Layer] = []
    if saved is not None:
        base.append(cfg.Layer(f"the run in {args.out}", saved, preset=True))
    if args.preset:
        base.append(cfg.Layer(f"preset {args.preset}", cfg.load_preset(args.preset), preset=True))
    elif saved is None:
        rule = _named(user, "rule") or "pc"
        dataset = _named(user, "data") or "digits"
        if rule not in RULES or dataset not in DATASETS:  # resolving names the unknown one
            rule, dataset = "pc", "digits"
        preset, own = cfg.default_preset(rule, dataset)
        base.append(cfg.Layer(f"preset {preset}", cfg.load_preset(preset), preset=True))
        if not own:  # the rule's MNIST setup on another dataset
            data: dict[str, Any] = {"data": {"name": dataset}}
            if dataset == "digits":  # 1346 images: the digits preset's epochs and batch size
                train = cfg.load_preset(cfg.DEFAULT_PRESET)["train"]
                data["train"] = {k: train[k] for k in ("epochs", "batch_size") if k in train}
            base.append(cfg.Layer(f"dataset {dataset}", data, preset=True))
        args.default_preset = (preset, rule, dataset, own)
    return cfg.resolve(base + user)


def build_trainer(
    run: RunConfig,
    *,
    out: str | None,
    progress: bool,
    datasets: tuple[Any, Any, Any] | None = None,
) -> Trainer:
    """The :class:`~plastix.Trainer` (data, network, rule, optimizer) of a run's
    configuration, ready to ``fit``; ``out=None`` names a fresh run directory. ``datasets``
    (``(train, test, augment)``, as ``DataOptions.load`` returns) replaces the configured
    data (``benchmarks/device_check.py`` times steps on stand-in images)."""
    import jax

    from ..data import DataLoader
    from ..graph import Network
    from ..train import local_shards

    tr = run.train
    if not 0 <= tr.devices <= jax.device_count():
        raise ConfigError(
            f"train.devices is {tr.devices} but JAX sees {jax.device_count()} device(s); use 0 "
            f"(all) or 1..{jax.device_count()} (on CPU, JAX_NUM_CPU_DEVICES=N makes N devices)."
        )
    devices = jax.devices()[: tr.devices] if tr.devices else None
    part = None
    if jax.process_count() > 1:  # each process reads only the shards its devices take
        part = local_shards(tr.batch_size, tr.shards, devices)
        part = None if (part.first, part.stop) == (0, part.count) else part
    train, test, augment = run.data.load(part=part) if datasets is None else datasets
    if part is not None:
        print(
            f"plastix: process {jax.process_index()} of {jax.process_count()} reads training "
            f"rows {train.offset}..{train.offset + len(train)} of {train.total} (shards "
            f"{part.first}..{part.stop - 1 if part.stop else part.count - 1} of {part.count})",
            file=sys.stderr,
        )
    net = Network.from_example(run.model.edges(train.num_classes), train.x[:1])
    shards = tr.shards or jax.process_count()
    total = train.total or len(train)
    # (a batch larger than the training set is refused by the Trainer, with its message)
    fits = 0 < tr.batch_size <= total
    steps_per_epoch = len(DataLoader(train, tr.batch_size, shards=shards)) if fits else 1
    # a schedule spans the run's optimizer calls (iPC calls it at every inference step, the
    # Hebbian rules only after their unsupervised phase)
    calls = run.rule.optimizer_calls(steps_per_epoch=steps_per_epoch, epochs=tr.epochs)
    optimizer = run.optimizer.make(steps_per_epoch=calls, epochs=1)
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = f"runs/{run.rule.name}-{run.model.name}-{run.data.name}-{stamp}"
        n = 1
        while Path(out).exists():  # two runs started within a second: a new folder each
            n += 1
            out = f"runs/{run.rule.name}-{run.model.name}-{run.data.name}-{stamp}-{n}"
    return Trainer(
        net,
        run.rule,
        optimizer,
        train,
        test,
        epochs=tr.epochs,
        batch_size=tr.batch_size,
        seed=tr.seed,
        out_dir=out,
        augment=augment,
        steps_per_call=tr.steps_per_call,
        eval_batch_size=tr.eval_batch_size,
        shards=tr.shards,
        cache_features=tr.cache_features,
        gradient_check=tr.gradient_check,
        diagnostics=tr.diagnostics,
        devices=devices,
        progress=progress,
        config=cfg.to_config(run),
    )


def run_train(run: RunConfig, *, out: str | None, resume: bool, progress: bool) -> dict[str, Any]:
    """Build everything from a run's configuration and train; returns the summary."""
    trainer = build_trainer(run, out=out, progress=progress)
    net, rule, train, test = trainer.net, trainer.rule, trainer.train, trainer.test
    assert test is not None
    out = str(trainer.out_dir)
    try:
        summary = trainer.fit(resume=resume)
    except KeyboardInterrupt as err:
        err.run_dir = out  # type: ignore[attr-defined]  # for main's message
        raise
    summary["out"] = out
    import jax

    from .. import viz  # matplotlib: imported once a run has finished, not for --help

    if jax.process_index() == 0:
        viz.plot_run(out, summary)
    if isinstance(rule, AbstractGenerativeRule) and trainer.epochs > 0:  # one sample per class
        import jax.numpy as jnp

        from ..train import generation_quality

        images = rule.generate(net, trainer.params, jnp.eye(train.num_classes))
        title = f"{rule.name}: generated from each class label"
        viz.plot_image_grid(
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


def options_markdown() -> str:
    """The reference of every configuration key (``plastix list --markdown``; the end of
    docs/configuration.md), generated from the option classes."""
    out = ["## Every key (generated by `plastix list --markdown`)", ""]
    fixed = (("data", RunConfig().data), ("train", RunConfig().train))
    named = (
        ("rule", RULES),
        ("model", MODELS),
        ("optimizer", {c.name: c for c in OPTIMIZERS}),
    )
    header = ["| key | default | choices | help |", "| --- | --- | --- | --- |"]

    def rows(opts: list[cfg.Option]) -> list[str]:
        lines = []
        for o in opts:
            default = "Python only" if o.python_only else f"`{config_value(o.default)}`"
            choices = ", ".join(f"`{c}`" for c in o.choices)
            lines.append(f"| `{o.key}` | {default} | {choices} | {o.help.replace('|', '/')} |")
        return lines

    for sec, obj in fixed:
        out += [f"### `{sec}` ({type(obj).__name__})", "", *header]
        out += rows(cfg.options(type(obj), prefix=f"{sec}.")) + [""]
    for sec, classes in named:
        for name, cls in classes.items():
            title = f"### `{sec}.name = {name}`: {summary_line(cls)} (`{cls.__name__}`)"
            opts = cfg.options(cls, prefix=f"{sec}.")
            out += [title, ""] + ([*header, *rows(opts)] if opts else ["No options."]) + [""]
    return "\n".join(out).rstrip() + "\n"


def _list() -> None:
    sections = (
        ("rules", RULES),
        ("models", MODELS),
        ("optimizers", {c.name: c for c in OPTIMIZERS}),
    )
    for title, named in sections:
        print(f"{title}:")
        for name, cls in named.items():
            print(f"  {name}: {summary_line(cls)}")
            for line in option_lines(cfg.options(cls), "      ", None):
                print(line)
    print(f"datasets: {', '.join(DATASETS)}")
    print("presets:")
    for name in cfg.preset_names():
        print(f"  {name}: {cfg.preset_help(name)}")
    from ..bench import SUITES

    print("bench suites:")
    for name, suite in SUITES.items():
        print(f"  {name}: {suite.help} ({len(suite.entries)} entries)")


def _bench(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ..bench import SUITES, run_suite, write_report

    if args.suite not in SUITES:
        raise ConfigError(f"unknown suite {args.suite!r}; choose one of {sorted(SUITES)}.")
    suite = SUITES[args.suite]
    sets = {}
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: use KEY=VALUE, e.g. --set train.seed=1.")
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
        raise ConfigError("--coordinator needs --num-processes N and --process-id I.")
    if not 0 <= args.process_id < args.num_processes:
        raise ConfigError(f"--process-id {args.process_id} is not in 0..{args.num_processes - 1}.")
    # CPU devices of different processes talk through gloo (no effect on GPU/TPU backends);
    # set before any backend starts
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
    )


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so the run stops as cleanly as on Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


USAGE_ERRORS = (ConfigError, ShapeError, GraphError)
"""Errors in what the user asked for (exit code 2); other failures exit with 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``plastix`` and ``python -m plastix``.

    Errors end in one line on stderr that names the problem and the fix, never a traceback
    (``--debug`` shows it): exit code 2 for usage and configuration errors, 1 for faults at
    run time (data, divergence, checkpoints, the disk), 130 after Ctrl-C and 143 after SIGTERM
    (the run directory stays consistent; ``--resume`` continues it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["train", *argv]
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        return _command(args, argv)
    except KeyboardInterrupt as err:
        out = getattr(err, "run_dir", None)
        what = "terminated" if isinstance(err, _Terminated) else "interrupted"
        where = (
            f"; {out} keeps every finished epoch: continue with "
            f"`plastix train --out {shlex.quote(str(out))} --resume`"
            if out
            else ""
        )
        print(f"plastix: {what}{where}", file=sys.stderr)
        return 143 if isinstance(err, _Terminated) else 130
    except BrokenPipeError:  # e.g. `plastix list | head`: the reader is gone, nothing to say
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 141
    except PlastixError as err:
        if args.debug:
            raise
        print(f"plastix: error: {err}", file=sys.stderr)
        return 2 if isinstance(err, USAGE_ERRORS) else 1
    except OSError as err:
        if args.debug:
            raise
        where = f" ({err.filename})" if err.filename else ""
        if err.errno == errno.ENOSPC:
            hint = (
                "the disk is full; the last good checkpoint is kept: free space and continue "
                "with --resume."
            )
        else:
            hint = "check the path and its permissions, or choose another --out / --data-dir."
        print(f"plastix: error: {err.strerror or err}{where}: {hint}", file=sys.stderr)
        return 1
    except Exception as err:
        if args.debug:
            raise
        print(
            f"plastix: internal error: {type(err).__name__}: {err}. Run again with --debug for "
            "the traceback, and please report it.",
            file=sys.stderr,
        )
        return 1
    finally:
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _command(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command == "list":
        if args.markdown:
            print(options_markdown(), end="")
        else:
            _list()
        return 0
    if args.command == "bench":
        return _bench(args, argv)
    if args.command == "memory":
        return _memory.run(args)
    if args.command == "download":
        path = download_dataset(args.dataset, root=args.data_dir)
        print(f"{args.dataset} is in {path}")
        return 0
    run = resolve_config(args)
    if args.print_config:
        print(json.dumps(cfg.to_config(run), indent=2))
        return 0
    if getattr(args, "coordinator", None):
        _initialize_distributed(args)
    if args.resume and not args.out:
        raise ConfigError("--resume needs --out DIR: the run directory to continue.")
    chosen = getattr(args, "default_preset", None)
    if chosen is not None and (args.rule or args.dataset or chosen[0] != cfg.DEFAULT_PRESET):
        preset, rule, dataset, own = chosen
        how = f"its setup for {dataset}" if own else f"its MNIST setup, on {dataset}"
        print(f"plastix: {rule} on {dataset} starts from preset {preset} ({how}; "
              "--print-config shows it all, --preset picks another)", file=sys.stderr)  # fmt: skip
    compile_cache(off=args.no_compile_cache)
    if args.compile_only:
        if args.resume:
            raise ConfigError("--compile-only trains nothing and writes no run: drop --resume.")
        trainer = build_trainer(run, out=args.out, progress=False)
        print(json.dumps(trainer.compile()))
        return 0
    summary = run_train(run, out=args.out, resume=args.resume, progress=not args.no_progress)
    acc = summary["test_accuracy"]
    print(
        f"{summary['rule']} / {summary['model']} / {summary['dataset']}: "
        f"{summary.get('evaluated_on') or 'test'} accuracy {acc:.4f} after {summary['epochs']} epochs, "
        f"{summary['train_seconds_per_epoch']:.3f} s/epoch (compile {summary['compile_seconds']:.1f} s); "
        f"run directory {Path(summary['out'])}"
        if acc is not None
        else f"no epochs run; run directory {summary['out']}"
    )
    return 0
