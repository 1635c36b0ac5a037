"""Minibatch iteration over an :class:`ArrayDataset` with reproducible per-epoch shuffles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ConfigError
from ._datasets import ArrayDataset

Batch = tuple[Any, Any]


@jax.jit
def _take(array: jax.Array, index: jax.Array) -> jax.Array:
    return jnp.take(array, index, axis=0)


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of ``epoch``: a permutation of ``range(n)`` fixed by ``(seed, epoch)``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, epoch]))
    return rng.permutation(n)


def shard_bounds(n: int, count: int) -> np.ndarray:
    """The boundaries of ``count`` contiguous shards of ``range(n)``: shard ``k`` is rows
    ``b[k] .. b[k + 1]`` with ``b[k] = k * n // count`` (sizes differ by at most one)."""
    return np.arange(count + 1, dtype=np.int64) * n // count


@dataclass(frozen=True)
class Shards:
    """Shards ``first .. stop - 1`` of a split cut into ``count`` contiguous shards
    (:func:`shard_bounds`): the part of the training set one process of a many-process run
    reads (:func:`plastix.train.local_shards` says which).

    >>> import plastix as px
    >>> px.data.Shards(count=4, first=1, stop=3).rows(60_000)
    (15000, 45000)
    """

    count: int
    first: int = 0
    stop: int | None = None
    """One past the last shard (``None``: ``count``)."""

    def __post_init__(self) -> None:
        stop = self.count if self.stop is None else self.stop
        if not 0 <= self.first < stop <= self.count:
            raise ConfigError(
                f"Shards(count={self.count}, first={self.first}, stop={self.stop}): need "
                "0 <= first < stop <= count."
            )

    def rows(self, n: int) -> tuple[int, int]:
        """The rows ``(start, stop)`` these shards span in a split of ``n`` samples."""
        b = shard_bounds(n, self.count)
        return int(b[self.first]), int(b[self.count if self.stop is None else self.stop])


class DataLoader:
    """Batches ``(x, y)`` of a dataset, epoch by epoch.

    ``epoch(i)`` yields the batches of epoch ``i`` in an order that depends only on
    ``(seed, i)`` (through ``np.random.SeedSequence([seed, i])``), so a run can resume at any
    epoch. Iterating the loader walks the epochs in turn: the first ``for batch in loader``
    is epoch 0, the next epoch 1, ... (``next_epoch`` is the one the next iteration gives;
    set it to resume), so the usual loop reshuffles every epoch.
    ``len(loader)`` is the number of batches per epoch. With ``drop_last`` the final incomplete
    batch is dropped; otherwise it is yielded, smaller. With ``device_resident`` the arrays are
    put on the default device once and batches are JAX arrays gathered there; otherwise
    batches are numpy arrays. ``transform`` is applied to every input batch (any shape change,
    e.g. ``Flatten``; a random one, ``needs_key``, gets a key fixed by seed, epoch and batch).

    With ``shards=S > 1`` the dataset is cut into S contiguous shards (:func:`shard_bounds`),
    each shuffled on its own (by ``(seed, epoch, S, k)``), and every batch takes
    ``batch_size / S`` rows from each shard, shard 0's first: in a run of S processes each
    process then needs only its own shard (the Trainer's per-process reading).
    ``len(loader)`` is then the smallest shard's number of batch parts.
    """

    def __init__(
        self,
        dataset: ArrayDataset,
        batch_size: int,
        *,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
        device_resident: bool = False,
        transform: Callable[..., Any] | None = None,
        shards: int = 1,
    ) -> None:
        n = dataset.total if dataset.total is not None else len(dataset)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ConfigError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size <= 0:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        if n == 0:
            raise ConfigError(f"dataset {dataset.name!r} is empty; nothing to batch")
        if drop_last and batch_size > n:
            raise ConfigError(
                f"batch_size {batch_size} is larger than dataset {dataset.name!r} ({n} samples): "
                f"with drop_last=True no batch would be produced; lower batch_size or pass "
                f"drop_last=False"
            )
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
        if isinstance(shards, bool) or not isinstance(shards, int | np.integer) or shards < 1:
            raise ConfigError(f"shards must be an int >= 1, got {shards!r}")
        if shards > 1:
            if batch_size % shards:
                raise ConfigError(
                    f"batch_size {batch_size} does not split into {shards} shards' equal parts; "
                    f"use a multiple of {shards} (or fewer shards)."
                )
            if not drop_last:
                raise ConfigError("shards > 1 needs drop_last=True (every batch is whole).")
            # n >= batch_size (checked above), so every shard holds >= batch_size / shards rows
        self.shards = int(shards)
        self._n = int(n)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = int(seed)
        self.device_resident = device_resident
        self.next_epoch = 0
        self.transform = transform
        self._arrays: tuple[Any, Any] = (dataset.x, dataset.y)
        if device_resident:
            self._arrays = (jax.device_put(dataset.x), jax.device_put(dataset.y))

    def __len__(self) -> int:
        n, bs = self._n, self.batch_size
        if self.shards > 1:
            return int(np.diff(shard_bounds(n, self.shards)).min()) // (bs // self.shards)
        return n // bs if self.drop_last else -(-n // bs)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, seed={self.seed}, "
            f"device_resident={self.device_resident}"
            + (f", shards={self.shards})" if self.shards > 1 else ")")
        )

    def order(self, epoch: int) -> np.ndarray:
        """All sample indices of ``epoch`` in visiting order (before dropping the remainder;
        with shards, the rows left over in each shard come last)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer) or epoch < 0:
            raise ConfigError(f"epoch must be a non-negative int, got {epoch!r}")
        n = self._n
        if self.shards == 1:
            return epoch_permutation(n, self.seed, int(epoch)) if self.shuffle else np.arange(n)
        bounds, part, steps = (
            shard_bounds(n, self.shards),
            self.batch_size // self.shards,
            len(self),
        )
        used, rest = [], []
        for k in range(self.shards):
            size = int(bounds[k + 1] - bounds[k])
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, self.shards, k]))
            local = (rng.permutation(size) if self.shuffle else np.arange(size)) + bounds[k]
            used.append(local[: steps * part].reshape(steps, part))
            rest.append(local[steps * part :])
        return np.concatenate([np.concatenate(used, axis=1).ravel(), *rest])

    def batch_indices(self, epoch: int) -> np.ndarray:
        """Indices of every full batch of ``epoch``, shape ``(len(self), batch_size)``.

        Requires ``drop_last=True`` (a partial batch does not fit the array); with
        ``drop_last=False`` use :meth:`epoch`, which yields the partial batch last.
        """
        if not self.drop_last:
            raise ConfigError(
                "batch_indices needs drop_last=True (batches must all have batch_size rows); "
                "use epoch(i) to iterate with a final partial batch"
            )
        num = len(self)
        return self.order(epoch)[: num * self.batch_size].reshape(num, self.batch_size)

    def epoch(self, epoch: int) -> Iterator[Batch]:
        """Iterator over the ``(x, y)`` batches of ``epoch`` (order fixed by seed and epoch)."""
        if not self.dataset.whole:
            raise ConfigError(
                f"{self.dataset!r} is a part of its split: iterating needs the whole split "
                "(batch_indices gives every batch's indices into the split)."
            )
        order = self.order(epoch)
        bounds = range(0, len(self) * self.batch_size, self.batch_size)
        return self._batches(order, bounds, int(epoch))

    def _batches(self, order: np.ndarray, starts: range, epoch: int) -> Iterator[Batch]:
        x, y = self._arrays
        for i, start in enumerate(starts):
            index = order[start : start + self.batch_size]
            if self.device_resident:
                device_index = jnp.asarray(index)
                xb, yb = _take(x, device_index), _take(y, device_index)
            else:
                xb, yb = x[index], y[index]
            if self.transform is not None:
                xb = self._apply(xb, epoch, i)
            yield xb, yb

    def _apply(self, x: Any, epoch: int, i: int) -> Any:
        """The batch transform; a random one gets a key fixed by ``(seed, epoch, batch)``."""
        assert self.transform is not None
        if not getattr(self.transform, "needs_key", False):
            return self.transform(x)
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(self.seed), epoch), i)
        return self.transform(x, key=key)

    def __iter__(self) -> Iterator[Batch]:
        """The batches of epoch ``next_epoch``, which then advances by one.

        >>> import numpy as np, plastix as px
        >>> data = px.data.ArrayDataset(np.zeros((4, 1, 1, 1)), np.arange(4), 4)
        >>> loader = px.data.DataLoader(data, 4, seed=0)
        >>> first = [y.tolist() for _, y in loader]
        >>> second = [y.tolist() for _, y in loader]
        >>> first == [loader.order(0).tolist()] and second == [loader.order(1).tolist()]
        True
        """
        epoch = self.next_epoch
        self.next_epoch += 1
        return self.epoch(epoch)
