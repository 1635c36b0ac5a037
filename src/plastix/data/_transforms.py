"""Small, composable transforms for image batches (N, H, W, C) and label vectors.

Deterministic transforms work on numpy or JAX arrays and return the same kind. Random
augmentations take a keyword-only ``key`` (a ``jax.random`` key), act on a whole batch with
independent draws per sample, are vectorised and can be used inside ``jax.jit``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from .._errors import ConfigError, ShapeError
from ._datasets import dataset_info

Array = Any  # numpy or JAX array


def _is_numpy(x: Array) -> bool:
    return isinstance(x, np.ndarray | np.generic)


def _check_batch(x: Array, who: str) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{who} expects a batch of images (N, H, W, C), got shape {x.shape}")


@dataclass(frozen=True)
class Normalize:
    """``(x - mean) / std`` per channel (the last axis); numpy in, numpy out; JAX in, JAX out."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        mean_t = tuple(float(m) for m in np.atleast_1d(mean))
        std_t = tuple(float(s) for s in np.atleast_1d(std))
        if len(mean_t) != len(std_t):
            raise ConfigError(f"Normalize: {len(mean_t)} means but {len(std_t)} stds")
        if not all(s > 0 for s in std_t):
            raise ConfigError(f"Normalize: std must be positive, got {std_t}")
        object.__setattr__(self, "mean", mean_t)
        object.__setattr__(self, "std", std_t)

    @classmethod
    def for_dataset(cls, name: str) -> Normalize:
        """The train-split normalisation of a named dataset (see ``dataset_info``)."""
        info = dataset_info(name)
        return cls(info.mean, info.std)

    def __call__(self, x: Array) -> Array:
        channels = x.shape[-1] if x.ndim else 0
        if len(self.mean) != 1 and channels != len(self.mean):
            raise ShapeError(
                f"Normalize has {len(self.mean)} channels but the input's last axis has "
                f"{channels} (shape {x.shape}); arrays must be channels-last"
            )
        if _is_numpy(x):
            # one channel: scalars (broadcasting an axis of length 1 runs numpy's inner loop
            # one element at a time: 0.4 s for MNIST's training set instead of 0.05)
            one = len(self.mean) == 1
            mean = np.float32(self.mean[0]) if one else np.asarray(self.mean, np.float32)
            std = np.float32(self.std[0]) if one else np.asarray(self.std, np.float32)
            out = np.array(x, np.float32)  # a copy: the input is left as it was
            out -= mean
            out /= std
            return out
        x = jnp.asarray(x)  # type: ignore[assignment]
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        shape = (1,) * (x.ndim - 1) + (-1,)
        mean = jnp.asarray(self.mean, x.dtype).reshape(shape)  # type: ignore[assignment]
        return (x - mean) / jnp.asarray(self.std, x.dtype).reshape(shape)


@dataclass(frozen=True)
class Flatten:
    """Flatten every axis after the leading batch axis: ``(N, ...) -> (N, prod(...))``."""

    def __call__(self, x: Array) -> Array:
        return x.reshape(x.shape[0], -1)


@dataclass(frozen=True)
class OneHot:
    """Integer labels ``(N,)`` to float32 one-hot ``(N, num_classes)``; out-of-range -> zeros."""

    num_classes: int

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ConfigError(f"OneHot: num_classes must be >= 1, got {self.num_classes}")

    def __call__(self, y: Array) -> Array:
        if _is_numpy(y):
            return (np.asarray(y)[..., None] == np.arange(self.num_classes)).astype(np.float32)
        return jax.nn.one_hot(y, self.num_classes, dtype=jnp.float32)


@dataclass(frozen=True)
class RandomCrop:
    """Zero-pad each side by ``padding`` then crop a random ``size x size`` window per sample."""

    size: int
    padding: int = 0
    needs_key: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.size < 1 or self.padding < 0:
            raise ConfigError(
                f"RandomCrop: need size >= 1 and padding >= 0, got {self.size}, {self.padding}"
            )

    def __call__(self, x: Array, *, key: jax.Array) -> jax.Array:
        _check_batch(x, "RandomCrop")
        n, h, w, c = x.shape
        ph, pw = h + 2 * self.padding, w + 2 * self.padding
        if self.size > ph or self.size > pw:
            raise ShapeError(
                f"RandomCrop: crop size {self.size} is larger than the padded image {ph}x{pw}"
            )
        p = self.padding
        padded = jnp.pad(jnp.asarray(x), ((0, 0), (p, p), (p, p), (0, 0)))
        key_y, key_x = jax.random.split(key)
        top = jax.random.randint(key_y, (n,), 0, ph - self.size + 1)
        left = jax.random.randint(key_x, (n,), 0, pw - self.size + 1)

        def crop(image: jax.Array, t: jax.Array, left_: jax.Array) -> jax.Array:
            zero = jnp.zeros((), t.dtype)
            return jax.lax.dynamic_slice(image, (t, left_, zero), (self.size, self.size, c))

        return jax.vmap(crop)(padded, top, left)


@dataclass(frozen=True)
class RandomHorizontalFlip:
    """Mirror each image left-right independently with probability ``p``."""

    p: float = 0.5
    needs_key: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ConfigError(f"RandomHorizontalFlip: p must lie in [0, 1], got {self.p}")

    def __call__(self, x: Array, *, key: jax.Array) -> jax.Array:
        _check_batch(x, "RandomHorizontalFlip")
        x = jnp.asarray(x)
        flip = jax.random.bernoulli(key, self.p, (x.shape[0],))
        return jnp.where(flip[:, None, None, None], x[:, :, ::-1, :], x)


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order; random ones (``needs_key``) each get their own subkey."""

    transforms: Sequence[Callable[..., Array]] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))

    @property
    def needs_key(self) -> bool:
        return any(getattr(t, "needs_key", False) for t in self.transforms)

    def __call__(self, x: Array, *, key: jax.Array | None = None) -> Array:
        if key is None and self.needs_key:
            raise ConfigError("Compose holds random transforms: pass key=jax.random.key(...)")
        keys = jax.random.split(key, len(self.transforms)) if key is not None else None
        for i, transform in enumerate(self.transforms):
            if getattr(transform, "needs_key", False):
                assert keys is not None
                x = transform(x, key=keys[i])
            else:
                x = transform(x)
        return x
