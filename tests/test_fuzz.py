"""Hostile input: random and corrupted bytes, random graphs and configs only ever raise the
documented errors (DataError, CheckpointError, GraphError, ShapeError, ConfigError) with a
message, or succeed with a result that is consistent."""

from __future__ import annotations

import io
import json
import string
import tarfile

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plastix as px
from plastix.config import Layer, parse_value, resolve, to_config, unflatten
from plastix.data._formats import (
    parse_cifar_records,
    parse_digits_csv,
    parse_idx,
    read_maybe_gzip,
    read_tar_members,
)
from plastix.train import load_checkpoint, save_checkpoint

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _idx(dims: tuple[int, ...], magic: int) -> bytes:
    head = magic.to_bytes(4, "big")[:3] + bytes([len(dims)])
    return head + b"".join(d.to_bytes(4, "big") for d in dims) + bytes(int(np.prod(dims)))


@FUZZ
@given(
    dims=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    cut=st.integers(0, 200),
    flip=st.tuples(st.integers(0, 40), st.integers(1, 255)),
)
def test_idx_parser_on_truncated_and_corrupted_files(dims, cut, flip):
    magic = 0x0800 + len(dims)  # unsigned-byte IDX with ndim in the last byte
    good = _idx(tuple(dims), magic)
    np.testing.assert_array_equal(parse_idx(good, magic, "f").shape, dims)
    pos, val = flip
    bad = bytearray(good[: min(cut, len(good))] if cut < len(good) else good)
    if pos < len(bad):
        bad[pos] ^= val
    try:
        arr = parse_idx(bytes(bad), magic, "f")
    except px.DataError as err:
        assert str(err).startswith("f:")  # names the file
    else:  # a change the format cannot detect (a pixel byte, or a consistent header)
        assert arr.dtype == np.uint8 and arr.size == len(bad) - 4 - 4 * bad[3]


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_never_parse_as_anything_else(data, tmp_path_factory):
    for parse in (
        lambda: parse_idx(data, 2051, "f"),
        lambda: parse_cifar_records(data, "f"),
        lambda: parse_digits_csv(data, "f"),
    ):
        try:
            parse()
        except px.DataError as err:
            assert "f" in str(err)
    path = tmp_path_factory.mktemp("gz") / "x.gz"
    path.write_bytes(b"\x1f\x8b" + data)  # gzip magic, then garbage
    try:
        read_maybe_gzip(path)
    except px.DataError as err:
        assert "corrupt" in str(err) and str(path) in str(err)


_names = st.sampled_from(
    ["data_batch_1", "cifar-10-batches-bin/data_batch_1", "../evil", "/etc/evil", "a/../../b",
     "C:evil", "ok/file", "cifar-10-batches-bin/../../x"]
)  # fmt: skip


@FUZZ
@given(names=st.lists(_names, min_size=1, max_size=4), payload=st.binary(max_size=64))
def test_tar_reader_refuses_path_traversal(names, payload, tmp_path_factory):
    archive = tmp_path_factory.mktemp("tar") / "c.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for n in names:
            info = tarfile.TarInfo(n)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    archive.write_bytes(buf.getvalue())
    unsafe = any(n.startswith("/") or ".." in n.split("/") or n[1:2] == ":" for n in names)
    try:
        found = read_tar_members(archive, {"data_batch_1"})
    except px.DataError as err:
        assert ("unsafe member path" in str(err)) == unsafe, str(err)
    else:
        assert not unsafe and found["data_batch_1"] == payload
    assert sorted(p.name for p in archive.parent.iterdir()) == ["c.tar.gz"]  # nothing extracted


@FUZZ
@given(data=st.binary(max_size=400), cut=st.integers(0, 2000))
def test_checkpoints_corrupt_or_truncated_raise_checkpoint_error(data, cut, tmp_path_factory):
    d = tmp_path_factory.mktemp("ck")
    tree = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
    save_checkpoint(d / "good.npz", tree, {"epoch": 1})
    good = (d / "good.npz").read_bytes()
    (d / "cut.npz").write_bytes(good[: min(cut, len(good) - 1)])
    (d / "rand.npz").write_bytes(data)
    for name in ("cut.npz", "rand.npz"):
        with pytest.raises(px.CheckpointError, match="cannot read checkpoint|different config"):
            load_checkpoint(d / name, tree)


_keys = st.sampled_from(
    ["rule.name", "rule.inference.steps", "rule.inference.optimizer.lr", "rule.beta",
     "model.hidden", "model.name", "train.epochs", "train.batch_size", "data.name",
     "optimizer.lr", "rule.nope", "bogus", "train.seed", "data.normalize", "rule.inference.tol",
     "rule.nudging.beta", "optimizer.schedule"]
)  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=False, width=32)
    | st.text(string.ascii_lowercase + "-", max_size=8),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)  # fmt: skip


@FUZZ
@given(layer=st.dictionaries(_keys, _json, max_size=5))
def test_config_resolution_accepts_or_names_the_problem(layer):
    try:
        cfg = to_config(resolve([Layer("fuzz", unflatten(layer))]))
    except px.ConfigError as err:
        msg = str(err)
        words = (
            "unknown", "must be of type", "choose one of", "must be a name", "must be >",
            "must be a finite", "must be in", "need", "expected",
        )  # fmt: skip
        assert any(w in msg for w in words), msg
        if "unknown config key" in msg:
            assert "valid keys:" in msg
    else:
        assert set(cfg) >= {"data", "train", "optimizer", "rule", "model"}
        for key, value in layer.items():
            if value is not None and not isinstance(value, (bool, list, str)):
                got = cfg
                for part in key.split("."):
                    got = got[part]
                assert got == pytest.approx(value)


@FUZZ
@given(text=st.text(max_size=30))
def test_set_values_parse_as_json_or_stay_strings(text):
    v = parse_value(text)
    try:
        assert v == json.loads(text) or v != v  # NaN
    except json.JSONDecodeError:
        assert v == text


_edges = st.lists(
    st.tuples(st.integers(0, 4), st.integers(-1, 5), st.integers(1, 6)), min_size=1, max_size=6
)


@settings(max_examples=40, deadline=None)
@given(edges=_edges, in_dim=st.integers(1, 5))
def test_random_graphs_build_or_raise_graph_errors(edges, in_dim):
    layers = [px.edge(px.nn.Linear(width), [src, dst]) for src, dst, width in edges]
    x = jnp.ones((2, in_dim))
    try:
        net = px.Network.from_example(layers, x)
    except (px.GraphError, px.ShapeError) as err:
        assert str(err)
        return
    # a network that builds computes outputs of the shapes it declares
    if net.topological_order is not None:
        out = net(net.init(key=__import__("jax").random.key(0)), x)
        assert out.shape == (2, *net.node_shapes[net.output])
