"""Exceptions raised by plastix.

Every error plastix raises on bad input derives from :class:`PlastixError`, so callers can
catch one type. Messages name the problem and say how to fix it.
"""

from __future__ import annotations

import numbers


class PlastixError(Exception):
    """Base class of every error plastix raises on bad input or bad state."""


class GraphError(PlastixError, ValueError):
    """A network graph is malformed: a missing node, an unreachable node, a cycle, ..."""


class ShapeError(PlastixError, ValueError):
    """Arrays have the wrong shape for the network, edge or dataset they are given to."""


class ConfigError(PlastixError, ValueError):
    """An unknown name (rule, model, dataset, option) or an invalid option value."""


class DataError(PlastixError, OSError):
    """A data file is missing, truncated, corrupt or fails its checksum."""


class DivergenceError(PlastixError, FloatingPointError):
    """Training or inference produced non-finite values (NaN or inf)."""


class CheckpointError(PlastixError, OSError):
    """A checkpoint cannot be written or does not match the run it is loaded into."""


def check_seed(seed: object, what: str) -> None:
    """Refuse an integer seed outside ``[0, 2**32)``: ``jax.random.key`` keeps its low 32
    bits, so seed ``2**32 + 1`` would silently draw what seed 1 draws."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        return
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ConfigError(
            f"{what} must lie in [0, 2**32), got {seed}: JAX keeps a seed's low 32 bits, so it "
            f"would silently share the random draws of seed {seed % 2**32}; pass another seed."
        )
