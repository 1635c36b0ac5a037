"""Run a suite: one ``plastix train`` subprocess per (entry, seed), resumable."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._progress import progress as progress_report
from ..config import RULES
from ._suites import Entry, Suite


def slug(label: str) -> str:
    """A folder name for an entry label: ``"pc (strict)"`` -> ``"pc-strict"``, letters
    transliterated to ASCII (``"Nøkland"`` -> ``"nokland"``)."""
    ascii_ = unicodedata.normalize("NFKD", label.lower().translate(_LETTERS))
    return re.sub(r"[^a-z0-9]+", "-", ascii_.encode("ascii", "ignore").decode()).strip("-")


# letters NFKD does not decompose into an ASCII base
_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})


@dataclass(frozen=True)
class RunResult:
    """One (entry, seed) run: its directory, summary (None if it failed) and peak memory."""

    entry: Entry
    seed: int
    out: Path
    summary: dict[str, Any] | None
    peak_rss_bytes: int | None
    error: str | None = None
    reused: bool = False
    warm_compile_seconds: float | None = None


def checks_gradient(entry: Entry) -> bool:
    """Does the suite's gradient check apply to ``entry``: a rule whose update estimates the
    output cost's gradient (not backprop itself, whose cosine is 1 by construction)?"""
    if entry.rule == "bp" or entry.rule not in RULES:  # an unknown rule fails in its run
        return False
    return RULES[entry.rule].estimates_gradient


def _command(
    entry: Entry,
    out: Path,
    seed: int,
    epochs: int | None,
    data_dir: str | None,
    sets: Mapping[str, Any],
    gradient_check: int,
    resume: bool,
) -> list[str]:
    cmd = [sys.executable, "-m", "plastix", "train", "--preset", entry.preset, "--out", str(out)]
    cmd += ["--seed", str(seed), "--no-progress"]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    if data_dir is not None:
        cmd += ["--data-dir", data_dir]
    settings = {**entry.overrides, **sets}
    # the suite's gradient check, or a --set one, for the rules it applies to only
    n = settings.pop("train.gradient_check", gradient_check)
    if n and checks_gradient(entry):
        settings["train.gradient_check"] = n
    for k, v in settings.items():
        cmd += ["--set", f"{k}={json.dumps(v)}"]
    if resume:
        cmd.append("--resume")
    return cmd


def _settings(cmd: Sequence[str]) -> list[str]:
    """A run's command without what does not change the run: ``--resume`` and the data
    folder's path (the same files may sit elsewhere on another machine)."""
    out, skip = [], False
    for a in cmd:
        if skip:
            skip = False
        elif a == "--data-dir":
            skip = True
        elif a != "--resume":
            out.append(a)
    return out


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Wait for ``proc``; its exit status and peak resident memory in bytes (wait4)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return proc.returncode, int(usage.ru_maxrss) * scale


def _warm_compile(cmd: Sequence[str]) -> dict[str, Any]:
    """The run's programs compiled twice by ``cmd --compile-only`` with a fresh persistent
    compilation cache: the first call fills it, the second starts warm. ``{"cold": s,
    "warm": s}`` (compile seconds), or ``{"error": ...}``."""
    secs = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PLASTIX_COMPILE_CACHE": cache}
        for _ in range(2):
            done = subprocess.run([*cmd, "--compile-only"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                return {"error": done.stderr[-1500:]}
            secs.append(json.loads(done.stdout.strip().splitlines()[-1])["compile_seconds"])
    return {"cold": secs[0], "warm": secs[1]}


def run_suite(
    suite: Suite,
    out: str | Path,
    *,
    seeds: int = 1,
    epochs: int | None = None,
    data_dir: str | None = None,
    sets: Mapping[str, Any] | None = None,
    only: Sequence[str] | None = None,
    progress: bool = True,
    warm_compile: bool = True,
) -> list[RunResult]:
    """Run every entry of ``suite`` for seeds ``0..seeds-1`` (at least the entry's own
    ``seeds``) into ``out/<entry>/seed-<k>``.

    A run whose ``summary.json`` exists with the requested epochs is reused when its recorded
    command is this entry's (up to ``--resume`` and ``--data-dir``; otherwise it is reported as
    failed, with what to do, and left alone); one with
    checkpoints but no summary (killed) is resumed; a failed run is reported, not fatal.
    ``only`` restricts to the given entry labels; ``sets`` (dotted config keys) apply to every
    entry, except that a ``train.gradient_check`` replaces the suite's and, like it, applies
    only where :func:`checks_gradient` holds. With ``warm_compile``, seed 0's programs are
    also compiled alone twice with a fresh compilation cache (``--compile-only``), once per
    run folder, and both calls' seconds kept in its ``bench.json`` (``compile_only``).
    """
    if seeds < 1:
        raise ConfigError(f"seeds must be >= 1, got {seeds}.")
    entries = list(suite.entries)
    if only:
        unknown = sorted(set(only) - {e.label for e in entries})
        if unknown:
            raise ConfigError(
                f"suite {suite.name!r} has no entries {unknown}; its entries: "
                f"{[e.label for e in entries]}."
            )
        entries = [e for e in entries if e.label in only]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    jobs = [(e, s) for e in entries for s in range(max(seeds, e.seeds))]
    bar = progress_report(jobs, disable=not progress, unit="run", desc=f"bench {suite.name}")
    for entry, seed in bar:
        bar.set_postfix(rule=entry.label, seed=seed)
        run = out / slug(entry.label) / f"seed-{seed}"
        summary_path, info_path = run / "summary.json", run / "bench.json"
        if summary_path.exists() and info_path.exists():
            summary = json.loads(summary_path.read_text())
            info = json.loads(info_path.read_text())
            if epochs is None or summary["epochs"] == epochs:
                now = _command(
                    entry, run, seed, epochs, data_dir, sets or {}, suite.gradient_check, False
                )
                if _settings(info.get("command", [])) != _settings(now):
                    err = (
                        f"{run} holds a run of another command ({shlex.join(info.get('command', []))}), "
                        f"not of this entry's ({shlex.join(now)}): delete the folder to rerun it "
                        "with the suite's current settings, or pass another --out."
                    )
                    results.append(RunResult(entry, seed, run, None, None, error=err))
                    continue
                warm = _warm_of(info, info_path, now) if warm_compile and seed == 0 else None
                results.append(RunResult(entry, seed, run, summary, info["peak_rss_bytes"], reused=True, warm_compile_seconds=warm))  # fmt: skip
                continue
        resume = (run / "config.json").is_file() or (
            (run / "checkpoints").is_dir() and any((run / "checkpoints").glob("*.npz"))
        )  # a run killed before its first checkpoint has recorded its configuration
        cmd = _command(entry, run, seed, epochs, data_dir, sets or {}, suite.gradient_check, resume)
        run.mkdir(parents=True, exist_ok=True)
        with open(run / "train.log", "ab") as log:
            # compilation cache off: every run's compile seconds are cold, comparable
            env = {**os.environ, "PLASTIX_COMPILE_CACHE": "off"}
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            code, rss = _wait(proc)
        if code != 0 or not summary_path.exists():
            tail = (run / "train.log").read_text(errors="replace")[-1500:]
            results.append(RunResult(entry, seed, run, None, rss, error=f"exit {code}: {tail}"))
            continue
        info = {"peak_rss_bytes": rss, "command": cmd}
        info_path.write_text(json.dumps(info, indent=2) + "\n")
        fresh = [a for a in cmd if a != "--resume"]  # the run's own command
        warm = _warm_of(info, info_path, fresh) if warm_compile and seed == 0 else None
        summary = json.loads(summary_path.read_text())
        results.append(RunResult(entry, seed, run, summary, rss, warm_compile_seconds=warm))
    return results


def _warm_of(info: dict[str, Any], info_path: Path, cmd: Sequence[str]) -> float | None:
    """The warm compile seconds of the run ``cmd`` trains, measured once
    (:func:`_warm_compile`) and kept in its ``bench.json``; None when compiling alone
    failed."""
    if "compile_only" not in info:
        info["compile_only"] = _warm_compile(cmd)
        info_path.write_text(json.dumps(info, indent=2) + "\n")
    warm = info["compile_only"].get("warm")
    return None if warm is None else float(warm)
