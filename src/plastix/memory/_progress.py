"""``configure_progress`` for the memory trainers, with the CANNs library's keyword names.

CANNs' ``Trainer.configure_progress(*, show_iteration_progress, compiled_prediction)`` and
plastix's ``configure_progress(show_progress, use_compile)`` name the same two switches:
``show_iteration_progress`` is ``show_progress`` (the trainer's progress bars) and
``compiled_prediction`` is ``use_compile`` (JIT compilation of training and prediction).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import ConfigError

_OPTIONS = ("show_progress", "use_compile", "show_iteration_progress", "compiled_prediction")


def _pick(name: str, alias: str, value: bool | None, alias_value: bool | None) -> bool | None:
    if value is not None and alias_value is not None and bool(value) != bool(alias_value):
        raise ConfigError(
            f"configure_progress: {name}={value} and its CANNs alias {alias}={alias_value} "
            f"disagree; pass only one of them."
        )
    chosen = value if value is not None else alias_value
    if chosen is not None and not isinstance(chosen, (bool, int, np.bool_)):
        raise ConfigError(
            f"configure_progress: {name} must be True or False, got {chosen!r} "
            f"({type(chosen).__name__})."
        )
    return None if chosen is None else bool(chosen)


class ProgressMixin:
    """The progress and compilation switches shared by the memory trainers.

    Attributes ``show_progress`` and ``use_compile`` hold the switches; the CANNs spellings
    ``show_iteration_progress`` and ``compiled_prediction`` are properties over them.
    """

    show_progress: bool
    use_compile: bool

    def configure_progress(
        self,
        show_progress: bool | None = None,
        use_compile: bool | None = None,
        *,
        show_iteration_progress: bool | None = None,
        compiled_prediction: bool | None = None,
        **unknown: Any,
    ) -> None:
        """Turn the progress bars and JIT compilation on or off (off: easier debugging).

        A switch left at ``None`` keeps its value. ``show_iteration_progress`` and
        ``compiled_prediction`` (the CANNs names) are aliases of ``show_progress`` and
        ``use_compile``; giving a name and its alias different values is an error.
        """
        if unknown:
            raise ConfigError(
                f"configure_progress: unknown option(s) {sorted(unknown)}; the options are "
                f"{', '.join(_OPTIONS)}."
            )
        show = _pick(
            "show_progress", "show_iteration_progress", show_progress, show_iteration_progress
        )
        comp = _pick("use_compile", "compiled_prediction", use_compile, compiled_prediction)
        if show is not None:
            self.show_progress = show
        if comp is not None and comp != self.use_compile:
            self.use_compile = comp
            self._compile_changed()

    def _compile_changed(self) -> None:
        """Called after ``use_compile`` changes (drop cached compiled functions)."""

    @property
    def show_iteration_progress(self) -> bool:
        """CANNs' name of ``show_progress``."""
        return self.show_progress

    @show_iteration_progress.setter
    def show_iteration_progress(self, value: bool) -> None:
        self.configure_progress(show_progress=value)

    @property
    def compiled_prediction(self) -> bool:
        """CANNs' name of ``use_compile``."""
        return self.use_compile

    @compiled_prediction.setter
    def compiled_prediction(self, value: bool) -> None:
        self.configure_progress(use_compile=value)
