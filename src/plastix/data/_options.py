"""The data of a run as an option object: which dataset, where, preprocessing, augmentation."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable

import equinox as eqx
import jax

from .._errors import ConfigError
from .._option import option
from ._datasets import DATASETS, ArrayDataset, dataset_info, dataset_size, load_dataset
from ._loader import Shards
from ._transforms import Normalize, RandomCrop, RandomHorizontalFlip

AugmentFn = Callable[..., jax.Array]


class Augment(enum.Enum):
    """Training-time augmentation of the image batches."""

    NONE = "none"
    CROP_FLIP = "crop-flip"  #: random 4-pixel-padded crops and horizontal flips


class DataOptions(eqx.Module):
    """The data of a run (the ``data`` section of a configuration).

    >>> import plastix as px
    >>> train, test, augment = px.data.DataOptions(name="digits", train_limit=100).load()
    >>> len(train), augment is None
    (100, True)
    """

    name: str = option("digits", help=f"dataset: {' | '.join(DATASETS)}")
    dir: str | None = option(
        None, help="folder with the data files (else $PLASTIX_DATA_DIR, else the cache)"
    )
    normalize: bool = option(
        True, help="standardise inputs with the training set's per-channel mean and std"
    )
    augment: Augment = option(
        Augment.NONE, help="none | crop-flip (random 4-pixel-padded crops and horizontal flips)"
    )
    train_limit: int | None = option(None, help="use only the first N training samples (null: all)")
    test_limit: int | None = option(None, help="use only the first N test samples (null: all)")
    validation: int = option(
        0,
        help="hold out the last N training samples and evaluate on them instead of the test "
        "set (choose settings without looking at the test set; 0: off)",
    )

    def __check_init__(self) -> None:
        if self.name not in DATASETS:
            raise ConfigError(f"unknown dataset {self.name!r}; choose one of {list(DATASETS)}.")
        for k in ("train_limit", "test_limit"):
            v = getattr(self, k)
            if v is not None and v < 1:
                raise ConfigError(f"data.{k} must be >= 1 or null, got {v}.")
        if isinstance(self.validation, bool) or not isinstance(self.validation, int):
            raise ConfigError(f"data.validation must be an integer, got {self.validation!r}.")
        if self.validation < 0:
            raise ConfigError(f"data.validation must be >= 0 (0: off), got {self.validation}.")

    def load(
        self, *, part: Shards | None = None
    ) -> tuple[ArrayDataset, ArrayDataset, AugmentFn | None]:
        """The training and evaluation sets (limited and normalised as set) and the
        augmentation (a function ``(x, *, key) -> x``, or ``None``). The evaluation set is the
        test set, or with ``validation=N`` the last N training samples (its ``split`` says
        which), which training then never sees.

        With ``part``, only those shards of the training set (after ``train_limit`` and
        ``validation``) are read from the files (:func:`load_dataset` with ``rows``); the
        result's ``offset`` and ``total`` place them in the training set."""
        if part is None:
            train = load_dataset(self.name, "train", root=self.dir)
            if self.train_limit is not None:
                train = train.subset(slice(0, self.train_limit))
            n = len(train)
        else:
            n = dataset_size(self.name, "train", root=self.dir)
            n = n if self.train_limit is None else min(n, self.train_limit)
        if self.validation and self.validation >= n:
            raise ConfigError(
                f"data.validation is {self.validation} but the training set has "
                f"{n} samples; hold out fewer (e.g. {n // 6})."
            )
        if part is not None:
            used = n - self.validation
            start, stop = part.rows(used)
            train = load_dataset(self.name, "train", root=self.dir, rows=(start, stop))
            train = dataclasses.replace(train, total=used)
            if self.validation:
                held = load_dataset(self.name, "train", root=self.dir, rows=(used, n))
                test = dataclasses.replace(held, split="validation", offset=0, total=None)
        elif self.validation:
            held = train.subset(slice(n - self.validation, None))
            test = dataclasses.replace(held, split="validation")
            train = train.subset(slice(0, n - self.validation))
        if not self.validation:
            test = load_dataset(self.name, "test", root=self.dir)
            if self.test_limit is not None:
                test = test.subset(slice(0, self.test_limit))
        if self.normalize:
            info = dataset_info(self.name)
            norm = Normalize(info.mean, info.std)
            train = dataclasses.replace(train, x=norm(train.x))
            test = dataclasses.replace(test, x=norm(test.x))
        augment = None
        if self.augment is Augment.CROP_FLIP:
            crop, flip = RandomCrop(train.x.shape[1], padding=4), RandomHorizontalFlip()

            def augment(x: jax.Array, *, key: jax.Array) -> jax.Array:
                k1, k2 = jax.random.split(key)
                return flip(crop(x, key=k1), key=k2)

        return train, test, augment
