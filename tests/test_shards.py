"""Sharded sampling and reading a part of a split (each process of a many-process run reads
only its own shards). Expectations come from the definitions: a part read from disk equals the
same rows of the whole split; a sharded epoch takes batch_size/S rows of each shard per batch,
never repeats a sample, and depends only on (seed, epoch, S). The two-process run itself is in
test_distributed.py."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import optax
import pytest

import plastix as px
from plastix import ConfigError, DataError
from plastix.data import DataLoader, Shards, load_dataset, shard_bounds
from test_data import MNIST_DIR, cifar_bytes, idx_bytes, needs_mnist, random_cifar


def indexed(n: int) -> px.data.ArrayDataset:
    x = np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1)
    return px.data.ArrayDataset(x, np.arange(n) % 10, 10, "indexed")


# --------------------------------------------------------------------------- sharded sampling


@pytest.mark.parametrize(("n", "shards", "batch"), [(100, 2, 10), (103, 4, 8), (50, 5, 5)])
def test_sharded_epoch_draws_equal_parts_of_every_shard(n, shards, batch):
    loader = DataLoader(indexed(n), batch, seed=3, shards=shards)
    bounds = shard_bounds(n, shards)
    assert bounds[0] == 0 and bounds[-1] == n and np.all(np.diff(bounds) >= n // shards)
    part = batch // shards
    steps = int(np.diff(bounds).min()) // part
    assert len(loader) == steps
    idx = loader.batch_indices(1)
    assert idx.shape == (steps, batch)
    for k in range(shards):  # columns k*part..(k+1)*part come from shard k only
        cols = idx[:, k * part : (k + 1) * part]
        assert cols.min() >= bounds[k] and cols.max() < bounds[k + 1]
    assert len(np.unique(idx)) == idx.size  # no sample twice in an epoch
    order = loader.order(1)  # a permutation: the batches first, each shard's leftovers last
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    np.testing.assert_array_equal(order[: idx.size], idx.ravel())
    # the iterator gives the same batches
    got = np.concatenate([np.asarray(x).ravel() for x, _ in loader.epoch(1)]).astype(int)
    np.testing.assert_array_equal(got, idx.ravel())


def test_sharded_order_depends_on_seed_epoch_and_shards_only():
    a = DataLoader(indexed(100), 10, seed=1, shards=2)
    np.testing.assert_array_equal(a.batch_indices(2), DataLoader(indexed(100), 10, seed=1, shards=2).batch_indices(2))  # fmt: skip
    assert not np.array_equal(a.batch_indices(1), a.batch_indices(2))
    assert not np.array_equal(
        a.batch_indices(1), DataLoader(indexed(100), 10, seed=2, shards=2).batch_indices(1)
    )
    # one shard is the global shuffle of every earlier run
    one = DataLoader(indexed(100), 10, seed=1, shards=1)
    np.testing.assert_array_equal(one.order(4), px.data.epoch_permutation(100, 1, 4))


def test_shard_errors_say_what_to_do():
    with pytest.raises(ConfigError, match="multiple of 3"):
        DataLoader(indexed(100), 10, shards=3)
    with pytest.raises(ConfigError, match="drop_last"):
        DataLoader(indexed(100), 10, shards=2, drop_last=False)
    with pytest.raises(ConfigError, match="first < stop"):
        Shards(2, first=2)


def test_shards_rows_and_local_shards_in_one_process():
    assert Shards(4, 1, 3).rows(60_000) == (15_000, 45_000)
    assert Shards(3).rows(10) == (0, 10)
    assert [Shards(3, k, k + 1).rows(10) for k in range(3)] == [(0, 3), (3, 6), (6, 10)]
    # one process holds every row of every batch, whatever the shard count
    assert px.train.local_shards(64, 4) == Shards(4, 0, 4)
    with pytest.raises(ConfigError, match="multiple of"):
        px.train.local_shards(30, 4)


# --------------------------------------------------------------------------- reading a part


@needs_mnist
@pytest.mark.parametrize("rows", [(0, 1), (4321, 5000), (9990, 10000)])
def test_mnist_rows_equal_the_whole_splits_rows(rows):
    whole = load_dataset("mnist", "test", root=MNIST_DIR, download=False)
    part = load_dataset("mnist", "test", root=MNIST_DIR, download=False, rows=rows)
    a, b = rows
    assert (part.offset, part.total, len(part), part.whole) == (a, 10_000, b - a, False)
    np.testing.assert_array_equal(part.x, whole.x[a:b])
    np.testing.assert_array_equal(part.y, whole.y[a:b])
    assert px.data.dataset_size("mnist", "train", root=MNIST_DIR, download=False) == 60_000


@needs_mnist
def test_a_part_is_checked_like_the_whole(tmp_path):
    labels = gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-images-idx3-ubyte.gz").symlink_to(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    modified = bytearray(labels)
    modified[-1] = (modified[-1] + 1) % 10  # outside the rows read: only the checksum tells
    target.write_bytes(gzip.compress(bytes(modified)))
    with pytest.raises(DataError, match="SHA256 mismatch"):
        load_dataset("mnist", "test", root=tmp_path, download=False, rows=(0, 10))
    target.write_bytes(gzip.compress(labels[:-5]))
    with pytest.raises(DataError, match="truncated"):
        load_dataset("mnist", "test", root=tmp_path, download=False, rows=(0, 10))
    packed = gzip.compress(labels)
    target.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip"):
        load_dataset("mnist", "test", root=tmp_path, download=False, rows=(0, 10))
    target.write_bytes(gzip.compress(labels))
    with pytest.raises(ConfigError, match="0 <= start < stop <= 10000"):
        load_dataset("mnist", "test", root=tmp_path, download=False, rows=(5, 10_001))


def test_idx_part_of_an_uncompressed_file(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (37, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 37, dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images, 2051))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 2049))
    part = load_dataset("fashion-mnist", "test", root=tmp_path, download=False, rows=(5, 30))
    np.testing.assert_array_equal(part.x[..., 0], images[5:30] / np.float32(255))
    np.testing.assert_array_equal(part.y, labels[5:30])


def test_cifar_part_seeks_across_batch_files(tmp_path):
    rng = np.random.default_rng(1)
    arrays = [random_cifar(rng, 4) for _ in range(5)]
    for i, (im, lab) in enumerate(arrays, start=1):
        (tmp_path / f"data_batch_{i}.bin").write_bytes(cifar_bytes(im, lab))
    whole = load_dataset("cifar10", "train", root=tmp_path, download=False)
    part = load_dataset("cifar10", "train", root=tmp_path, download=False, rows=(3, 14))
    assert (part.offset, part.total) == (3, 20)
    np.testing.assert_array_equal(part.x, whole.x[3:14])
    np.testing.assert_array_equal(part.y, whole.y[3:14])
    assert px.data.dataset_size("cifar10", "train", root=tmp_path, download=False) == 20


def test_data_options_part_matches_the_whole_load():
    opts = px.data.DataOptions(name="digits", train_limit=1000, validation=200)
    train, val, _ = opts.load()
    part, val2, _ = opts.load(part=Shards(4, 1, 3))
    assert (part.offset, part.total, len(part)) == (200, 800, 400)
    np.testing.assert_array_equal(part.x, train.x[200:600])
    np.testing.assert_array_equal(part.y, train.y[200:600])
    assert val2.split == "validation" and val2.whole
    np.testing.assert_array_equal(val2.x, val.x)


def test_a_part_is_not_a_subset_nor_iterable():
    part = load_dataset("digits", "test", rows=(10, 20))
    with pytest.raises(ConfigError, match="part of its split"):
        part.subset(slice(0, 5))
    with pytest.raises(ConfigError, match="whole split"):
        next(iter(DataLoader(part, 5)))


# --------------------------------------------------------------------------- the Trainer


def _trainer(train, out=None, **kw):
    norm = px.data.Normalize.for_dataset("digits")
    train = dataclasses.replace(train, x=norm(train.x))
    net = px.Network.from_example(px.models.mlp(10, hidden=(16,)), train.x[:1])
    return px.Trainer(
        net, px.BP(), optax.sgd(0.1), train, epochs=1, batch_size=32, progress=False,
        out_dir=out, **kw,
    )  # fmt: skip


def test_trainer_refuses_a_part_in_one_process():
    part = load_dataset("digits", "train", rows=(0, 600))
    with pytest.raises(ConfigError, match="only a run of many processes"):
        _trainer(part)


def test_trainer_draws_sharded_batches_and_resume_keeps_the_shard_count(tmp_path):
    train = load_dataset("digits", "train")
    t = _trainer(train, tmp_path / "run", shards=2)
    assert t.steps_per_epoch == len(DataLoader(train, 32, shards=2)) == 673 // 16
    summary = t.fit()
    assert summary["environment"]["shards"] == 2
    assert summary["environment"]["train_rows_read"] == [0, len(train)]
    again = _trainer(train, tmp_path / "run", shards=1)
    again.epochs = 2
    with pytest.raises(ConfigError, match="train.shards=2"):
        again.fit(resume=True)


def test_many_process_refusals(monkeypatch):
    """What only a run of many processes reaches, with ``jax.process_count`` reporting 2 (the
    four test devices all stay this process's): a part that lacks rows this process feeds, a
    gradient check on a part, persistent states (which need every example's index)."""
    import jax

    monkeypatch.setattr(jax, "process_count", lambda: 2)
    whole = load_dataset("digits", "train")
    part = load_dataset("digits", "train", rows=(0, 673))
    # all four devices are local, so this process feeds both shards: rows 0..1346
    with pytest.raises(ConfigError, match=r"feeds training rows 0\.\.1346 .* holds rows 0\.\.673"):
        _trainer(part)
    with pytest.raises(ConfigError, match="gradient_check"):
        _trainer(part, gradient_check=8)
    norm = px.data.Normalize.for_dataset("digits")
    train = dataclasses.replace(whole, x=norm(whole.x))
    edges = px.models.mlp(10, hidden=(16,), activation="identity")
    net = px.Network.from_example(edges, train.x[:1])
    with pytest.raises(ConfigError, match="drop\n?.*--num-processes"):
        px.Trainer(net, px.EP(persistent=True), optax.sgd(0.1), train, batch_size=32)
