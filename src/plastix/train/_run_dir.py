"""A run directory's identity and ownership: the configuration a run was started with
(``config.json``, so that a resume continues the same run) and a lock that keeps a second live
process out of it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from .._errors import ConfigError
from ._checkpoint import atomic_write_text

RUN_CONFIG = "config.json"
LOCK = ".lock"
RESUMABLE_KEYS = ("train.epochs", "data.dir")
"""Configuration keys a resume may change: how long the run goes on, and where its data
files are found. Every other difference would continue a different run."""


def read_run_config(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The configuration the run in ``out`` was started with (``config.json``; for runs of
    earlier versions, the one in ``summary.json``), or ``None`` if it recorded none."""
    out = Path(out)
    for name in (RUN_CONFIG, "summary.json"):
        path = out / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"cannot read {path} ({err}): the run's configuration is damaged; repair or "
                "delete the file, or start a new run in another directory."
            ) from err
        config = data.get("config") if isinstance(data, dict) else None
        if isinstance(config, dict):
            return config
    return None


def write_run_config(out: Path, config: dict[str, Any], seed: int) -> None:
    """Record the configuration and seed a run in ``out`` starts with."""
    atomic_write_text(out / RUN_CONFIG, json.dumps({"config": config, "seed": seed}, indent=2))


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for k, v in tree.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_differences(
    saved: dict[str, Any], current: dict[str, Any], *, allowed: tuple[str, ...] = RESUMABLE_KEYS
) -> list[str]:
    """Each key whose value differs between the run's ``saved`` configuration and the
    ``current`` one (``"key: run has A, now B"``), keys in ``allowed`` left out."""
    a, b = _flat(saved), _flat(current)
    keys = [k for k in sorted(set(a) | set(b)) if k not in allowed and a.get(k) != b.get(k)]
    # another choice (rule.name, rule.inference.optimizer.name, ...) is the difference to
    # report, not each of its options
    chosen = [k[: -len("name")] for k in keys if k == "name" or k.endswith(".name")]
    keys = [k for k in keys if not any(k.startswith(p) and k != p + "name" for p in chosen)]
    return [f"{k}: the run has {a.get(k, '(unset)')!r}, now {b.get(k, '(unset)')!r}" for k in keys]


class RunLock:
    """Exclusive use of a run directory by one live process: a kernel lock (``flock``) on
    ``OUT/.lock``, which also records the holder's pid, host and start time for the message a
    second process gets. The kernel lets go of the lock when its process ends in any way
    (``kill -9`` included), so a killed run's lock is simply taken over; a live one is refused
    with a :class:`~plastix.ConfigError`. On a file system without locks the run goes on
    unlocked, with a warning."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK
        self.fd: int | None = None  # the locked file while held

    def __enter__(self) -> RunLock:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(10):
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o666)  # the umask applies
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ConfigError(self._busy()) from None
            except OSError as e:
                os.close(fd)
                warnings.warn(
                    f"cannot lock {self.path} ({e.strerror}): this file system has no locks, "
                    "so nothing keeps a second run out of this directory.",
                    stacklevel=2,
                )
                return self
            # the previous holder unlinks the file as it lets go: a lock on that unlinked
            # file would hold nothing, so try again on the file now at the path
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(me).encode())
            self.fd = fd
            return self
        raise ConfigError(f"could not take the lock {self.path}; is another run starting there?")

    def _busy(self) -> str:
        try:
            owner = json.loads(self.path.read_text())
            who = f"process {int(owner['pid'])} on "
            who += "this machine" if owner["host"] == socket.gethostname() else str(owner["host"])
        except (OSError, ValueError, KeyError, TypeError):
            who = "a process that is starting"  # it holds the lock, its record is not written
        return (
            f"{self.path.parent} is in use by another run ({who}); wait for it to end or "
            "choose another output directory."
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)  # while still holding it (see __enter__)
            os.close(self.fd)
            self.fd = None
