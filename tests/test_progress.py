"""Progress reports: tqdm on a terminal, plain periodic lines elsewhere (issue 17, item 6)."""

from __future__ import annotations

import io

import pytest
from tqdm.auto import tqdm

import plastix as px
from plastix._progress import INTERVAL_ENV, PlainProgress, progress
from plastix.cli import main


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_off_a_terminal_and_a_bar_on_one():
    """Off a terminal: whole lines (no carriage returns), at most one per interval, and a last
    one at the end that says 100 %; on a terminal: tqdm."""
    out = io.StringIO()
    bar = progress(total=4, desc="train", unit="step", file=out, interval=0.0)
    assert isinstance(bar, PlainProgress)
    bar.set_postfix(loss="0.5000")
    for _ in range(4):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 4
    assert lines[0].startswith("train: 1/4 step (25%) loss=0.5000 [elapsed")
    assert "eta" in lines[0] and "eta" not in lines[-1]
    assert lines[-1].startswith("train: 4/4 step (100%)")

    quiet = io.StringIO()  # a long interval: only the closing line
    with progress(range(50), desc="q", file=quiet, interval=3600.0) as it:
        assert sum(1 for _ in it) == 50
    assert quiet.getvalue().splitlines() == [quiet.getvalue().splitlines()[0]]
    assert quiet.getvalue().startswith("q: 50/50 it (100%)")

    off = io.StringIO()
    bar = progress(total=2, file=off, disable=True, interval=0.0)
    bar.update(2)
    bar.close()
    assert off.getvalue() == ""

    term = progress(total=2, file=_Terminal(), interval=0.0)
    assert isinstance(term, tqdm)
    term.close()


def test_progress_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0")
    out = io.StringIO()
    bar = progress(total=3, file=out)
    bar.update(1)
    bar.update(1)
    assert len(out.getvalue().splitlines()) == 2
    monkeypatch.setenv(INTERVAL_ENV, "soon")
    with pytest.raises(px.ConfigError, match=rf"{INTERVAL_ENV}='soon'.*e\.g\. 30"):
        progress(total=3, file=io.StringIO())


def test_cli_training_log_is_plain_lines_when_piped(capsys, tmp_path, monkeypatch):
    """`plastix train` with its output captured (not a terminal), progress on: the log is
    whole lines, the progress ones naming the rule, the step count and the loss."""
    monkeypatch.setenv(INTERVAL_ENV, "0")
    code = main(
        ["train", "--epochs", "2", "--set", "train.steps_per_call=8", "--out", str(tmp_path / "r")]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    steps = [line for line in err.splitlines() if line.startswith("pc: ")]
    assert steps and all(" step (" in line and "loss=" in line for line in steps), err[-2000:]
    assert not any("refresh" in line for line in steps)
    assert steps[-1].split()[1].split("/")[0] == steps[-1].split()[1].split("/")[1]


def test_compile_cache_keeps_the_programs_for_the_next_run(tmp_path):
    """The CLI's persistent compilation cache (issue 15): a run fills the folder named by
    PLASTIX_COMPILE_CACHE with its compiled programs, a second identical run reuses it and
    ends with the same numbers; --no-compile-cache writes nothing."""
    import json
    import os
    import subprocess
    import sys

    cache = tmp_path / "cache"

    def run(name, *extra, cache_dir=cache):
        env = {**os.environ, "PLASTIX_COMPILE_CACHE": str(cache_dir), "JAX_PLATFORMS": "cpu"}
        out = tmp_path / name
        cmd = [sys.executable, "-m", "plastix", "train", "--epochs", "1", "--no-progress",
               "--set", "model.hidden=[16]", "--out", str(out), *extra]  # fmt: skip
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return json.loads((out / "summary.json").read_text())

    first = run("a")
    programs = sorted(p.name for p in cache.iterdir())
    assert any(p.startswith("jit__run_chunk") for p in programs), programs

    def compile_only(cache_dir):  # the same run's programs, nothing trained or written
        env = {**os.environ, "PLASTIX_COMPILE_CACHE": str(cache_dir), "JAX_PLATFORMS": "cpu"}
        cmd = [sys.executable, "-m", "plastix", "train", "--epochs", "1", "--compile-only",
               "--set", "model.hidden=[16]", "--out", str(tmp_path / "none")]  # fmt: skip
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert not (tmp_path / "none").exists()
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    warm = compile_only(cache)
    assert sorted(p.name for p in cache.iterdir()) == programs  # all were the run's
    assert set(warm["compile_seconds_by_program"]) == {"train", "eval"}
    fresh = tmp_path / "fresh"  # (a cache entry's key depends on the folder: compare names)
    compile_only(fresh)
    own = sorted(p.name.rsplit("-", 2)[0] for p in fresh.iterdir())
    assert set(own) <= {p.rsplit("-", 2)[0] for p in programs}
    assert {"jit__run_chunk", "jit__evaluate"} <= set(own), own
    second = run("b")
    assert sorted(p.name for p in cache.iterdir()) == programs  # nothing new to compile
    assert second["test_accuracy"] == first["test_accuracy"]
    unused = tmp_path / "unused"  # the flag wins over the variable
    run("c", "--no-compile-cache", cache_dir=unused)
    assert not unused.exists() or not any(unused.iterdir())


def test_compile_cache_folder_that_cannot_be_made(tmp_path, monkeypatch):
    """A cache path blocked by a file: the error names the folder and both ways out (the
    check runs before any JAX setting changes)."""
    from plastix.cli._main import COMPILE_CACHE_ENV, compile_cache

    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(COMPILE_CACHE_ENV, str(blocker / "cache"))
    with pytest.raises(
        px.ConfigError, match=r"cannot be made.*PLASTIX_COMPILE_CACHE.*--no-compile-cache"
    ):
        compile_cache()
    monkeypatch.setenv(COMPILE_CACHE_ENV, "off")
    assert compile_cache() is None
