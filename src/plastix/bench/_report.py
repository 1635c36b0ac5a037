"""Tables (markdown, CSV) and plots of a suite's results."""

from __future__ import annotations

import csv
import io
import math
import os
import platform
import shutil
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax

from .._errors import ConfigError
from ..viz import plot_suite
from ._runner import RunResult
from ._suites import Suite

COLUMNS = [
    "rule", "preset", "seeds", "test_accuracy_mean", "test_accuracy_std", "bar", "meets_bar",
    "published", "published_source", "gap_points", "seconds_per_epoch", "compile_seconds", "warm_compile_seconds", "ratio_to_bp",
    "peak_rss_mib", "cosine_to_bp", "cosine_to_bp_layer_mean", "relaxation_steps", "relaxation_residual",
    "epochs", "control", "control_points",
]  # fmt: skip


def _mean(xs: Sequence[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def aggregate(suite: Suite, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per entry: accuracy mean and spread over seeds, median seconds per epoch, the
    ratio to the backprop entry on the same network, peak memory, last-epoch cosine with the
    exact gradient (backprop's, for gradient-free rules) when logged."""
    rows: dict[str, dict[str, Any]] = {}
    for e in suite.entries:
        ok = [r for r in results if r.entry.label == e.label and r.summary is not None]
        if not any(r.entry.label == e.label for r in results):
            continue
        accs = [float(r.summary["test_accuracy"]) for r in ok if r.summary]
        secs = [float(r.summary["train_seconds_per_epoch"]) for r in ok if r.summary]
        comp = [
            float(r.summary["compile_seconds"])
            for r in ok
            if r.summary and r.summary.get("compile_seconds") is not None
        ]
        checks = [
            r.summary["history"][-1]
            for r in ok
            if r.summary and r.summary["history"] and "grad_cosine" in r.summary["history"][-1]
        ]
        # a cosine is undefined (nan) where the exact gradient vanishes on the check samples
        cos = [float(c["grad_cosine"]) for c in checks if math.isfinite(c["grad_cosine"])]
        layer_cos = [
            _mean([float(v) for v in c["grad_cosine_per_edge"] if math.isfinite(v)]) for c in checks
        ]
        rss = [r.peak_rss_bytes for r in ok if r.peak_rss_bytes]
        # a relaxing rule's free phase in its last epoch: state updates per batch (the epoch's
        # mean) and the residual |grad_z E| per sample where they stopped
        last = [r.summary["history"][-1] for r in ok if r.summary and r.summary["history"]]
        steps = [float(h["train_inference_steps"]) for h in last if "train_inference_steps" in h]
        resid = [float(h["train_residual"]) for h in last if "train_residual" in h]
        mean = _mean(accs)
        rows[e.label] = {
            "rule": e.label,
            "preset": e.preset,
            "seeds": len(ok),
            "test_accuracy_mean": mean,
            "test_accuracy_std": statistics.stdev(accs) if len(accs) > 1 else (0.0 if accs else None),
            "bar": e.bar,
            "meets_bar": None if e.bar is None or mean is None else mean >= e.bar,
            "published": e.published.accuracy if e.published else None,
            "published_source": e.published.source if e.published else None,
            "gap_points": None if e.published is None or mean is None else 100 * (mean - e.published.accuracy),
            "seconds_per_epoch": statistics.median(secs) if secs else None,
            "compile_seconds": statistics.median(comp) if comp else None,
            "warm_compile_seconds": next(
                (r.warm_compile_seconds for r in ok if r.warm_compile_seconds is not None), None
            ),
            "ratio_to_bp": None,
            "peak_rss_mib": max(rss) / 2**20 if rss else None,
            "cosine_to_bp": _mean(cos),
            "cosine_to_bp_layer_mean": _mean([c for c in layer_cos if c is not None]),
            "cosine_undefined": bool(checks) and not cos,
            "relaxation_steps": statistics.median(steps) if steps else None,
            "relaxation_residual": statistics.median(resid) if resid else None,
            "epochs": ok[0].summary["epochs"] if ok and ok[0].summary else None,
            "failed": [r.error for r in results if r.entry.label == e.label and r.error],
            "control": e.control,
            "control_points": None,
        }  # fmt: skip
    for e in suite.entries:
        row, base = rows.get(e.label), rows.get(e.baseline or "")
        if row and base and row["seconds_per_epoch"] and base["seconds_per_epoch"]:
            row["ratio_to_bp"] = row["seconds_per_epoch"] / base["seconds_per_epoch"]
        ctrl = rows.get(e.control or "")
        if row and ctrl and None not in (row["test_accuracy_mean"], ctrl["test_accuracy_mean"]):
            row["control_points"] = 100 * (row["test_accuracy_mean"] - ctrl["test_accuracy_mean"])
    return list(rows.values())


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if kind == "acc":
        return f"{v:.4f}"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def markdown(suite: Suite, rows: Sequence[dict[str, Any]], command: str) -> str:
    lines = [
        f"### Suite `{suite.name}`: {suite.help}",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {jax.default_backend()} ({jax.device_count()} device(s)), "
        f"Python {platform.python_version()}, JAX {jax.__version__}",
        "",
    ]
    controls = any(r["control"] for r in rows)
    relaxing = any(r["relaxation_residual"] is not None for r in rows)
    head = "| rule | preset | seeds | test accuracy | bar | published | vs published (points) | "
    head += "vs control (points) | " if controls else ""
    head += (
        "s/epoch | compile s (cold / warm) | x BP (same net) | peak RSS MiB | "
        "cosine to BP (all / layer mean) |"
    )
    head += " relaxation: steps / residual |" if relaxing else ""
    lines += [head, "|" + " --- |" * head.count(" | ") + " --- |"]
    for r in rows:
        acc = _fmt(r["test_accuracy_mean"], "acc")
        if r["seeds"] > 1:
            acc += f" ± {r['test_accuracy_std']:.4f}"
        bar = "—" if r["bar"] is None else f"{r['bar']:.4g} ({_fmt(r['meets_bar'])})"
        cosine = "undefined" if r["cosine_undefined"] else _fmt(r["cosine_to_bp"])
        if r["cosine_to_bp_layer_mean"] is not None:
            cosine += f" / {r['cosine_to_bp_layer_mean']:.3g}"
        pub, gap = "—", "—"
        if r["published"] is not None:
            pub = f"{r['published']:.4f} ({r['published_source']})"
        if r["gap_points"] is not None:
            gap = f"{r['gap_points']:+.2f}"
        ctrl = ""
        if controls:
            ctrl = "—" if r["control_points"] is None else f"{r['control_points']:+.2f}"
            ctrl += " | "
        compile_s = _fmt(r["compile_seconds"])
        if r["warm_compile_seconds"] is not None:
            compile_s += f" / {_fmt(r['warm_compile_seconds'])}"
        relax = ""
        if relaxing:
            relax = f" {_fmt(r['relaxation_steps'])} / {_fmt(r['relaxation_residual'])} |"
            relax = " — |" if r["relaxation_residual"] is None else relax
        lines.append(
            f"| {r['rule']} | `{r['preset']}` | {r['seeds']} | {acc} | {bar} | {pub} | {gap} | "
            f"{ctrl}{_fmt(r['seconds_per_epoch'])} | {compile_s} | "
            f"{_fmt(r['ratio_to_bp'])} | "
            f"{_fmt(r['peak_rss_mib'])} | {cosine} |{relax}"
        )
    lines += [
        "",
        "s/epoch: the median over a run's epochs (compilation excluded), the median over seeds; "
        "compile s: cold, the seconds the run spent compiling before its first epoch (the "
        "median over seeds; `plastix bench` trains with the compilation cache off); warm, seed "
        "0's programs compiled alone (`plastix train --compile-only`) a second time, from the "
        "persistent compilation cache the first time filled.",
    ]
    if relaxing:
        lines += [
            "",
            "Relaxation: for the rules that relax states to an energy minimum, the free phase "
            "in the last epoch: state updates per batch (the epoch's mean; fewer than the "
            "preset's cap where a tolerance stopped it) / the residual "
            "$\\lVert \\nabla_z E\\rVert$ per sample at its last gradient evaluation (the "
            "epoch's mean; the median over seeds; iPC's at the last of its T steps, its "
            "weights moving at each); — where the rule reports none (no states to relax).",
        ]
    if any(r["cosine_to_bp"] is not None or r["cosine_undefined"] for r in rows):
        lines += [
            "",
            "Cosine to BP: after the last epoch, the cosine between the rule's update and the "
            "exact gradient of the output cost (backprop's; for EP and CHL, by implicit "
            "differentiation at the free equilibrium) on the first "
            f"{suite.gradient_check or 'N'} training samples: all layers concatenated / the "
            "mean of the per-layer cosines "
            "(a rule can point each layer the right way with layer-dependent scales, e.g. PC's "
            "errors shrinking on their way down in few inference steps; each run's "
            "`metrics.jsonl` has `grad_cosine_per_edge` and `grad_relative_norm_per_edge`); "
            "— for backprop itself and for rules with local objectives (FF, Hebbian); "
            "undefined where the exact gradient is 0 on those samples (a cost flat there, e.g. "
            "outputs held at a bound of their range exactly at their targets).",
        ]
    failed = [(r["rule"], err) for r in rows for err in r["failed"]]
    if failed:
        lines += ["", "Failed runs:", ""] + [f"- {k}: `{e.splitlines()[0]}`" for k, e in failed]
    return "\n".join(lines) + "\n"


def write_report(
    suite: Suite, results: Sequence[RunResult], out: str | Path, command: str
) -> dict[str, Path]:
    """Write ``results.md``, ``results.csv``, ``accuracy.png`` (test error per epoch on log scales, mean
    over seeds, every rule) and ``time.png`` (seconds per epoch) into ``out``."""
    out = Path(out)
    rows = aggregate(suite, results)
    paths = {"markdown": out / "results.md", "csv": out / "results.csv"}
    paths["markdown"].write_text(markdown(suite, rows, command))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    paths["csv"].write_text(buf.getvalue())
    paths.update(_plots(suite, results, rows, out))
    return paths


def _plots(
    suite: Suite, results: Sequence[RunResult], rows: Sequence[dict[str, Any]], out: Path
) -> dict[str, Path]:
    errors = {}
    for e in suite.entries:
        hists = [r.summary["history"] for r in results if r.entry.label == e.label and r.summary]
        if not hists:
            continue
        n = min(len(h) for h in hists)
        errors[e.label] = [
            100 * (1 - statistics.fmean(h[i]["test_accuracy"] for h in hists)) for i in range(n)
        ]
    timed = [(r["rule"], r["seconds_per_epoch"]) for r in rows if r["seconds_per_epoch"]]
    return plot_suite(suite.name, errors, timed, out)


def _markers(name: str) -> tuple[str, str]:
    return (
        f"<!-- plastix bench {name}: begin (written by `plastix bench --update`) -->",
        f"<!-- plastix bench {name}: end -->",
    )


def update_section(path: Path, suite_name: str, paths: dict[str, Path]) -> None:
    """Write the suite's ``results.md`` into the markdown file ``path`` between this suite's
    markers (replaced if present, appended otherwise; the rest of the file is kept byte for
    byte), with its plots copied next to it (into ``docs/images/`` beside ``path`` when that
    folder exists) as ``bench-<suite>-accuracy.png`` / ``-time.png`` and linked."""
    begin, end = _markers(suite_name)
    body = paths["markdown"].read_text().rstrip("\n")
    images = path.parent / "docs" / "images"
    images = images if images.is_dir() else path.parent
    for key in ("accuracy_png", "time_png"):
        if key in paths:
            dest = images / f"bench-{suite_name}-{key[:-4]}.png"
            if paths[key].resolve() != dest.resolve():
                shutil.copyfile(paths[key], dest)
            rel = Path(os.path.relpath(dest, path.parent)).as_posix()
            body += f"\n\n![{suite_name}: {key[:-4]}]({rel})"
    block = f"{begin}\n{body}\n{end}"
    text = path.read_text() if path.exists() else ""
    if begin in text:
        if end not in text or text.index(end) < text.index(begin):
            raise ConfigError(
                f"{path}: the begin marker of suite {suite_name!r} has no end marker after it; "
                f"restore the line {end!r} (or delete the section) and run again."
            )
        a, b = text.index(begin), text.index(end) + len(end)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
