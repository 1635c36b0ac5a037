"""Datasets, transforms and batching for plastix.

- :func:`load_dataset` loads ``"digits"`` (embedded, offline), ``"mnist"``, ``"fashion-mnist"``
  or ``"cifar10"`` as an :class:`ArrayDataset` (float32 NHWC in [0, 1], int32 labels).
- :func:`dataset_info` gives class counts, input shapes and normalisation statistics.
- :class:`DataLoader` yields reproducible per-epoch minibatches (optionally drawn from
  :class:`Shards`, each process of a many-process run reading only its own).
- Transforms: :class:`Normalize`, :class:`Flatten`, :class:`OneHot`, :class:`RandomCrop`,
  :class:`RandomHorizontalFlip`, :class:`Compose`.

Data files are looked for in ``root``, else ``$PLASTIX_DATA_DIR``, else
``$XDG_CACHE_HOME/plastix`` (``~/.cache/plastix``), directly and in a ``<name>/`` subfolder.
"""

from ._datasets import DATASETS as DATASETS
from ._datasets import SPLITS as SPLITS
from ._datasets import ArrayDataset as ArrayDataset
from ._datasets import DatasetInfo as DatasetInfo
from ._datasets import dataset_info as dataset_info
from ._datasets import dataset_size as dataset_size
from ._datasets import download_dataset as download_dataset
from ._datasets import load_dataset as load_dataset
from ._download import DATA_DIR_ENV as DATA_DIR_ENV
from ._download import default_cache_dir as default_cache_dir
from ._download import resolve_data_root as resolve_data_root
from ._loader import DataLoader as DataLoader
from ._loader import Shards as Shards
from ._loader import epoch_permutation as epoch_permutation
from ._loader import shard_bounds as shard_bounds
from ._options import Augment as Augment
from ._options import DataOptions as DataOptions
from ._transforms import Compose as Compose
from ._transforms import Flatten as Flatten
from ._transforms import Normalize as Normalize
from ._transforms import OneHot as OneHot
from ._transforms import RandomCrop as RandomCrop
from ._transforms import RandomHorizontalFlip as RandomHorizontalFlip
