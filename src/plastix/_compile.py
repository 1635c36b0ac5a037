"""Programs that run once (initial parameters, fixed random matrices, an epoch's keys, probes
made while a step is traced): compiled as one program each, for compile time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax

ONCE: dict[str, str | bool] = {
    "xla_backend_optimization_level": "1",
    "xla_cpu_use_fusion_emitters": False,
}
"""XLA options for a program that runs once: LLVM's -O1 and XLA:CPU's elemental emitter
compile PCX's MLP's initial parameters and optimizer state in 0.4 s instead of 1.1 s and an
epoch's keys in 0.07 s instead of 0.19, to the same bits (random bits are integer arithmetic;
the golden tests check every preset's initial parameters through its trained ones)."""


def run_once(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` computed now as one compiled program (with :data:`ONCE`), also while
    another function is being traced; ``args`` must be concrete. Run op by op, each
    operation compiled a program of its own (e.g. 18 for the initial parameters of PCX's
    MLP: 1.3 s of a run's start). Leaves that are not arrays come back as ``fn`` made them."""
    rest: list[Any] = []

    def arrays(*a: Any) -> Any:
        dynamic, static = eqx.partition(fn(*a), eqx.is_array)
        rest.append(static)
        return dynamic

    dynamic = jax.jit(arrays).lower(*args).compile(ONCE)(*args)
    return eqx.combine(dynamic, rest[0])
