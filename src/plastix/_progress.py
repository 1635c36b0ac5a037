"""Progress reports that read well anywhere: a tqdm bar on a terminal, plain periodic lines
when the output is a file, a pipe, CI or ``nohup`` (carriage-return frames there pile up into
one unreadable line).

>>> import io
>>> out = io.StringIO()
>>> with progress(range(3), desc="demo", unit="step", file=out, interval=0.0) as bar:
...     for _ in bar:
...         pass
>>> out.getvalue().splitlines()[-1].startswith("demo: 3/3 step (100%)")
True
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm.auto import tqdm

from ._errors import ConfigError

INTERVAL_ENV = "PLASTIX_PROGRESS_INTERVAL"
"""Seconds between two plain progress lines (default 30): ``PLASTIX_PROGRESS_INTERVAL=5``."""


def _interval() -> float:
    raw = os.environ.get(INTERVAL_ENV)
    if raw is None:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(
            f"{INTERVAL_ENV}={raw!r} is not a number of seconds >= 0; set it to e.g. 30, or "
            "unset it."
        )
    return value


def _is_terminal(file: Any) -> bool:
    isatty = getattr(file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class PlainProgress:
    """The part of tqdm's interface plastix uses (``update``, ``set_postfix``, ``write``,
    ``close``, iteration, ``with``), printing one plain line at most every ``interval``
    seconds and one at the end: ``desc: n/total unit (pct%) key=value ... [elapsed, eta]``."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: float | None = None,
        initial: float = 0,
        desc: str = "",
        unit: str = "it",
        disable: bool = False,
        file: TextIO | None = None,
        interval: float | None = None,
        **_: Any,
    ) -> None:
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.n, self.desc, self.unit = total, initial, desc, unit
        self.disable = disable
        self.file = file
        self.interval = _interval() if interval is None else interval
        self._start = self._last = time.monotonic()
        self._start_n = initial
        self._postfix = ""
        self._closed = False
        self._printed_n: float | None = None

    def _out(self) -> TextIO:
        return self.file if self.file is not None else sys.stderr

    def _line(self) -> str:
        elapsed = time.monotonic() - self._start
        n = f"{self.n:g}" if isinstance(self.n, float) else str(self.n)
        parts = [f"{self.desc}: " if self.desc else "", n]
        if self.total:
            parts.append(f"/{self.total:g} {self.unit} ({100 * self.n / self.total:.0f}%)")
        else:
            parts.append(f" {self.unit}")
        if self._postfix:
            parts.append(f" {self._postfix}")
        timing = f"elapsed {elapsed:.0f}s"
        done = self.n - self._start_n
        if self.total and 0 < done and self.n < self.total:
            timing += f", eta {elapsed / done * (self.total - self.n):.0f}s"
        parts.append(f" [{timing}]")
        return "".join(parts)

    def _emit(self, force: bool = False) -> None:
        if self.disable:
            return
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            print(self._line(), file=self._out(), flush=True)
            self._last, self._printed_n = now, self.n

    def update(self, n: float = 1) -> None:
        self.n += n
        self._emit()

    def set_postfix(self, refresh: bool = True, **kw: Any) -> None:
        del refresh  # lines are printed on update
        self._postfix = " ".join(f"{k}={v}" for k, v in kw.items())

    def write(self, s: str) -> None:
        print(s, file=self._out(), flush=True)

    def close(self) -> None:
        if not self._closed and self._printed_n != self.n:
            self._emit(force=True)
        self._closed = True

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress report was made without an iterable")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(iterable: Iterable[Any] | None = None, **kw: Any) -> Any:
    """A tqdm bar when the output (``file``, stderr by default) is a terminal, else a
    :class:`PlainProgress` with the same arguments (``interval`` only applies to it)."""
    file = kw.get("file")
    if _is_terminal(file if file is not None else sys.stderr):
        kw.pop("interval", None)
        return tqdm(iterable, **kw)
    return PlainProgress(iterable, **kw)
