"""Every command line of README.md and docs/*.md (their ```bash blocks) runs as printed.

The lines of a block run one after the other in one scratch folder, as a user would paste
them into a shell there; ``../shared/datasets/mnist`` is the real MNIST, and so is
``$PLASTIX_DATA_DIR``. A line whose comment states a duration (``~1 min``, ``~15 s``) runs in
the slow tier, with the whole of its block; every other line must be quick and runs in the fast
tier. The fast tier also resolves the configuration of every ``plastix train`` line, slow ones
included (``--print-config``), so that a renamed option or preset fails at once.

Three adaptations, none of which changes a command: a line for ``--devices N`` runs on N CPU
devices (``JAX_NUM_CPU_DEVICES=N``); the blocks of one ``--coordinator`` (one block per host)
run together on this host, with a free local port for the coordinator's address; ``make``
lines are not run here: ``make test`` is CI's own command (``.ci/run``) and ``make run`` is
``plastix`` with no arguments (checked below against the Makefile), which the fast tier runs.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import MNIST_DIR
from plastix.cli import main

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DURATION = re.compile(r"~\s?\d+(?:\.\d+)?\s?(?:s|min|h)\b")


@dataclass(frozen=True)
class Line:
    command: str  # as bash gets it: continuations joined, the comment kept
    comment: str

    @property
    def slow(self) -> bool:
        return DURATION.search(self.comment) is not None


def _lines(code: str) -> list[Line]:
    lines: list[Line] = []
    physical = code.splitlines()
    i = 0
    while i < len(physical):
        raw = physical[i]
        while raw.rstrip().endswith("\\") and i + 1 < len(physical):
            i += 1
            raw = raw.rstrip()[:-1] + " " + physical[i].strip()
        i += 1
        if not raw.strip():
            continue
        command, _, comment = (
            raw.partition(" #") if not raw.lstrip().startswith("#") else ("", "", raw)
        )
        if not command.strip():  # a comment line: it belongs to the command above it
            assert lines, f"a comment opens a block: {raw!r}"
            lines[-1] = Line(lines[-1].command, lines[-1].comment + " " + comment)
        else:
            lines.append(Line(raw.strip(), comment))
    return lines


def _blocks(path: Path) -> list[list[Line]]:
    code = re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)
    blocks = [[l for l in _lines(c) if not l.command.startswith("make ")] for c in code]
    return [b for b in blocks if b]


def _hosts(block: list[Line]) -> bool:
    return any("--coordinator" in l.command for l in block)


def _cases(slow: bool) -> list:
    cases = []
    for path in FILES:
        blocks = _blocks(path)
        if blocks and any(_hosts(b) for b in blocks):
            group = [i for i, b in enumerate(blocks) if _hosts(b)]
            marks = [pytest.mark.slow] if any(l.slow for i in group for l in blocks[i]) else []
            if slow == bool(marks):
                cases.append(pytest.param(path, tuple(group), marks=marks, id=f"{path.name}-hosts"))
        for i, block in enumerate(blocks):
            if _hosts(block):
                continue
            if slow and any(l.slow for l in block):
                cases.append(pytest.param(path, (i,), marks=pytest.mark.slow, id=f"{path.name}-{i + 1}"))  # fmt: skip
            if not slow and not all(l.slow for l in block):
                cases.append(pytest.param(path, (i,), id=f"{path.name}-{i + 1}"))
    return cases


def _folder(tmp_path: Path) -> Path:
    """A scratch repository folder with the real ``../shared/datasets/mnist`` beside it."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "shared").symlink_to(MNIST_DIR.parents[1], target_is_directory=True)
    return tmp_path / "repo"


def _env(command: str) -> dict[str, str]:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PLASTIX_DATA_DIR"] = str(MNIST_DIR)
    env.pop("JAX_NUM_CPU_DEVICES", None)
    devices = re.search(r"--devices (\d+)", command)
    if devices and "JAX_NUM_CPU_DEVICES" not in command:
        env["JAX_NUM_CPU_DEVICES"] = devices.group(1)  # a line for a machine with N devices
    return env


def _check(command: str, proc: subprocess.CompletedProcess[str]) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"`{command}` ended with {proc.returncode}:\n{text[-3000:]}"
    assert "Traceback" not in text, f"`{command}`:\n{text[-3000:]}"


def _needs_mnist(lines: list[Line]) -> None:
    if any("mnist" in l.command for l in lines):
        if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
            pytest.skip(f"real MNIST not found in {MNIST_DIR}")


def _run_block(block: list[Line], cwd: Path) -> None:
    _needs_mnist(block)
    for line in block:
        start = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", line.command], cwd=cwd, env=_env(line.command), capture_output=True,
            text=True, timeout=4 * 3600,
        )  # fmt: skip
        print(f"{time.monotonic() - start:7.1f} s  {line.command}")  # shown by pytest -s
        _check(line.command, proc)


def _run_hosts(blocks: list[list[Line]], cwd: Path) -> None:
    """One block per host, all at once here, the coordinator at a free local port."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    commands = [
        re.sub(r"--coordinator \S+", f"--coordinator localhost:{port}", l.command)
        for b in blocks
        for l in b
    ]
    _needs_mnist([l for b in blocks for l in b])
    procs = [
        subprocess.Popen(["bash", "-c", c], cwd=cwd, env=_env(c), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for c in commands
    ]  # fmt: skip
    try:
        for c, p in zip(commands, procs, strict=True):
            out, err = p.communicate(timeout=4 * 3600)
            _check(c, subprocess.CompletedProcess(c, p.returncode, out, err))
    finally:
        for p in procs:  # never leave a process behind
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.parametrize(("path", "blocks"), _cases(slow=False))
def test_quick_command_lines_run_as_printed(path, blocks, tmp_path):
    cwd = _folder(tmp_path)
    for i in blocks:
        _run_block([l for l in _blocks(path)[i] if not l.slow], cwd)


@pytest.mark.parametrize(("path", "blocks"), _cases(slow=True))
def test_every_command_line_runs_as_printed(path, blocks, tmp_path):
    cwd = _folder(tmp_path)
    chosen = [_blocks(path)[i] for i in blocks]
    if len(chosen) > 1 or _hosts(chosen[0]):
        _run_hosts(chosen, cwd)
    else:
        _run_block(chosen[0], cwd)


def _train_lines() -> list:
    return [
        pytest.param(l.command, id=f"{path.name}:{l.command.split(' #')[0].strip()[8:70]}")
        for path in FILES
        for block in _blocks(path)
        for l in block
        if " train" in l.command and "--resume" not in l.command and "--config" not in l.command
    ]


@pytest.mark.parametrize("command", _train_lines())
def test_every_train_line_resolves(command, capsys):
    """The configuration of each line resolves (options, presets and values exist), slow
    lines included, without training."""
    words = shlex.split(command, comments=True)
    while re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # an environment setting before it
        words = words[1:]
    if ">" in words:
        words = words[: words.index(">")]
    assert words[0] == "plastix", command
    assert main([*words[1:], "--print-config"]) == 0, capsys.readouterr().err
    assert "Traceback" not in capsys.readouterr().err


def test_every_block_has_lines_and_the_fast_tier_has_quick_ones():
    """The parser sees what a reader sees (a test that cannot see a line cannot run it)."""
    readme = _blocks(ROOT / "README.md")
    commands = [l.command for b in readme for l in b]
    assert any(c.startswith("plastix train --rule pc --dataset mnist") for c in commands)
    assert any(c.startswith("plastix list") for c in commands)
    assert sum(l.slow for b in readme for l in b) >= 3
    assert any(not l.slow for b in readme for l in b)
    first = next(l for b in readme for l in b if "--dataset mnist" in l.command)
    assert first.slow and "~1 min" in first.comment  # from its comment on the next line
    hosts = [b for b in _blocks(ROOT / "docs" / "scaling.md") if _hosts(b)]
    assert len(hosts) == 2 and all("--process-id" in b[0].command for b in hosts)


def test_make_run_is_plastix_with_no_arguments():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run: .*\n\t(.*)$", makefile, flags=re.M)
    assert recipe is not None and recipe.group(1).strip() == "$(VENV)/bin/plastix"
