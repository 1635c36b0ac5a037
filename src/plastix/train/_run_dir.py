"""A run directory's identity and ownership: the configuration a run was started with
(``config.json``, so that a resume continues the same run) and a lock that keeps a second live
process out of it."""

from __future__ import annotations

import json
import os
import socket
import time
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class RunLock:
    """Exclusive use of a run directory by one live process (``OUT/.lock``: its pid, host and
    start time). A lock left by a process that is gone (killed) on this host is taken over; a
    live one is refused with a :class:`~plastix.ConfigError`."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK
        self.held = False

    def __enter__(self) -> RunLock:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._stale():
                    continue
                self.path.unlink(missing_ok=True)  # a killed run's: take it over
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self
        raise ConfigError(f"could not take the lock {self.path}; delete it if no run uses it.")

    def _stale(self) -> bool:
        """True if the lock's owner is gone; raises if it is alive (or cannot be told)."""
        try:
            owner = json.loads(self.path.read_text())
            pid, host = int(owner["pid"]), str(owner["host"])
        except FileNotFoundError:
            return False  # released meanwhile: try again
        except (OSError, ValueError, KeyError, TypeError):
            return True  # half-written by a process killed while taking it
        if host == socket.gethostname() and not _alive(pid):
            return True
        where = "this machine" if host == socket.gethostname() else f"host {host}"
        raise ConfigError(
            f"{self.path.parent} is in use by another run (process {pid} on {where}); wait for "
            f"it to end or choose another output directory (if that run is gone, delete "
            f"{self.path})."
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
