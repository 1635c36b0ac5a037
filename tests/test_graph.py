"""Tests of plastix.graph: the seed's adjacency notation, building and validating networks,
shape inference, initialisation, the feedforward pass and predictions (against hand-written
numpy forwards), and every structural error with its message."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import plastix as px
from plastix import GraphError, ShapeError, nn

ATOL = 1e-5


def _rand(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _dense(p, h):
    """x @ w + b in float64."""
    return np.asarray(h, np.float64) @ np.asarray(p["w"], np.float64) + np.asarray(
        p["b"], np.float64
    )


def _chain(widths=(4, 3)):
    """0 -> 1 -> 2 dense chain."""
    return [px.edge(nn.Linear(widths[0]), [0, 1]), px.edge(nn.Linear(widths[1]), [1, 2])]


# --------------------------------------------------------------------------- adjacency notation


def test_edge_single_pair():
    e = px.edge(nn.Linear(3), [0, 1])
    assert e.src == 0 and e.dst == (1,)
    assert repr(e) == "Linear 0 -> 1"
    e2 = px.edge(nn.Linear(3), (np.int64(2), np.int64(5)))
    assert e2.src == 2 and e2.dst == (5,)


def test_edge_one_source_several_destinations():
    e = px.edge(nn.Linear(10), [[1, 2], [1, 3]])
    assert e.src == 1 and e.dst == (2, 3)
    assert repr(e) == "Linear 1 -> [2, 3]"
    assert px.edge(nn.Tanh(), [[4, 7]]).dst == (7,)


def test_edge_with_two_sources_is_an_error():
    with pytest.raises(GraphError, match=r"several source nodes \[0, 1\]"):
        px.edge(nn.Linear(3), [[0, 2], [1, 2]])


@pytest.mark.parametrize("adj", [[0, 1, 2], [], [[0, 1, 2]], "01"])
def test_edge_bad_adjacency(adj):
    with pytest.raises(GraphError, match="bad adjacency"):
        px.edge(nn.Linear(3), adj)


def test_edge_duplicate_destination():
    with pytest.raises(GraphError, match="destination twice"):
        px.edge(nn.Linear(3), [[1, 2], [1, 2]])


def test_edge_feeding_two_nodes_adds_its_single_output_to_both():
    # node 2 = f1(z1); node 3 = f1(z1) + z2 = 2 f1(z1): one layer, one set of parameters
    edges = [
        px.edge(nn.Linear(3), [0, 1]),
        px.edge(nn.Linear(2), [[1, 2], [1, 3]]),
        px.edge(nn.Identity(), [2, 3]),
    ]
    net = px.Network.from_example(edges, jnp.zeros((1, 4)))
    assert net.node_shapes == ((4,), (3,), (2,), (2,))
    assert net.output == 3
    assert net.incoming == ((), (0,), (1,), (1, 2))
    params = net.init(key=jax.random.key(0))
    assert len(params) == 3 and params[2] is None
    x = _rand(0, (5, 4))
    z1 = _dense(params[0], x)
    f1 = _dense(params[1], z1)
    acts = net.feedforward(params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(acts[1]), z1, atol=ATOL)
    np.testing.assert_allclose(np.asarray(acts[2]), f1, atol=ATOL)
    np.testing.assert_allclose(np.asarray(acts[3]), 2 * f1, atol=ATOL)


def test_network_accepts_layer_adjacency_tuples():
    net = px.Network([(nn.Linear(3), [0, 1]), (jnp.tanh, [1, 2])], input_shape=(2,))
    assert net.node_shapes == ((2,), (3,), (3,))
    assert isinstance(net.edges[1].layer, nn.Lambda)
    params = net.init(key=jax.random.key(0))
    x = _rand(1, (4, 2))
    np.testing.assert_allclose(
        np.asarray(net(params, jnp.asarray(x))), np.tanh(_dense(params[0], x)), atol=ATOL
    )


# --------------------------------------------------------------------------- the seed's models


def test_skip_mlp_feedforward_matches_hand_written_forward():
    net = px.Network.from_example(px.models.skip_mlp(10), jnp.zeros((2, 8, 8, 1)))
    assert net.num_nodes == 5 and net.input == 0 and net.output == 4
    assert net.node_shapes == ((8, 8, 1), (256,), (128,), (128,), (10,))
    assert net.incoming[3] == (1, 2)
    params = net.init(key=jax.random.key(1))
    x = _rand(2, (3, 8, 8, 1))
    z1 = np.tanh(_dense(params[0][1], x.reshape(3, -1)))
    f2 = np.tanh(_dense(params[1][0], z1))  # edge 1: node 1 -> nodes 2 and 3
    z2 = f2
    f3 = np.tanh(_dense(params[2][0], z2))  # edge 2: node 2 -> node 3
    z3 = f2 + f3
    z4 = _dense(params[3], z3)
    acts = net.feedforward(params, jnp.asarray(x))
    assert len(acts) == 5
    np.testing.assert_array_equal(np.asarray(acts[0]), x)
    for got, want in zip(acts[1:], (z1, z2, z3, z4)):
        np.testing.assert_allclose(np.asarray(got), want, atol=ATOL, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(net(params, jnp.asarray(x))), z4, atol=ATOL, rtol=1e-5)


def test_predictions_sum_incoming_edges_from_given_states():
    net = px.Network.from_example(px.models.skip_mlp(4, activation="relu"), jnp.zeros((1, 2, 3, 1)))
    params = net.init(key=jax.random.key(2))
    b = 3
    states = [jnp.asarray(_rand(10 + n, (b, *s))) for n, s in enumerate(net.node_shapes)]
    mus = net.predictions(params, states)
    assert len(mus) == 5 and mus[0] is None
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    s = [np.asarray(v, np.float64) for v in states]
    want = {
        1: relu(_dense(params[0][1], s[0].reshape(b, -1))),
        2: relu(_dense(params[1][0], s[1])),
        3: relu(_dense(params[1][0], s[1])) + relu(_dense(params[2][0], s[2])),
        4: _dense(params[3], s[3]),
    }
    for n, w in want.items():
        np.testing.assert_allclose(np.asarray(mus[n]), w, atol=ATOL, rtol=1e-5)
    # cached input-edge outputs are used instead of recomputing
    cache = net.input_edge_outputs(params, states[0])
    assert set(cache) == {0}
    np.testing.assert_allclose(np.asarray(cache[0]), want[1], atol=ATOL, rtol=1e-5)
    fake = {0: jnp.full((b, 256), 7.0)}
    mus2 = net.predictions(params, states, cache=fake)
    np.testing.assert_array_equal(np.asarray(mus2[1]), np.full((b, 256), 7.0, np.float32))
    np.testing.assert_allclose(np.asarray(mus2[3]), want[3], atol=ATOL, rtol=1e-5)


def test_parallel_edges_into_one_node_are_summed():
    edges = [px.edge(nn.Linear(2), [0, 1]), px.edge(nn.Linear(2), [0, 1])]
    net = px.Network.from_example(edges, jnp.zeros((1, 3)))
    params = net.init(key=jax.random.key(0))
    # init gives each edge its own key
    assert not np.array_equal(np.asarray(params[0]["w"]), np.asarray(params[1]["w"]))
    x = _rand(3, (4, 3))
    want = _dense(params[0], x) + _dense(params[1], x)
    np.testing.assert_allclose(np.asarray(net(params, jnp.asarray(x))), want, atol=ATOL)
    # the same inside jit (the network is static, its parameters a pytree argument)
    jitted = jax.jit(lambda p, v: net(p, v))(params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(jitted), want, atol=ATOL)


def test_conv_demo_node_shapes_on_cifar_sized_example():
    net = px.Network.from_example(px.models.conv_demo(10), jnp.zeros((2, 32, 32, 3)))
    # conv 3x3 valid: 30x30x10; maxpool window 2 stride 1: 29x29x10; conv 3x3: 27x27x5 = 3645
    assert net.node_shapes == ((32, 32, 3), (29, 29, 10), (27 * 27 * 5,), (50,), (30,), (10,))
    assert 27 * 27 * 5 == 3645
    assert net.input_shape == (32, 32, 3)
    assert (net.input, net.output, net.num_nodes, len(net.edges)) == (0, 5, 6, 5)
    params = jax.eval_shape(lambda k: net.init(key=k), jax.random.key(0))
    assert params[0][0]["w"].shape == (3, 3, 3, 10)
    assert params[1][0]["w"].shape == (3, 3, 10, 5)
    assert params[2][0]["w"].shape == (3645, 50)
    assert params[4]["w"].shape == (30, 10)


def test_shape_inference_from_an_example_batch():
    net = px.Network.from_example(px.models.mlp(7, hidden=(5, 6)), np.zeros((9, 4, 3, 2)))
    assert net.input_shape == (4, 3, 2)
    assert net.node_shapes == ((4, 3, 2), (5,), (6,), (7,))
    same = px.Network(px.models.mlp(7, hidden=(5, 6)), input_shape=(4, 3, 2))
    assert same.node_shapes == net.node_shapes


def test_from_example_needs_a_batch_axis():
    with pytest.raises(ShapeError, match=r"must be a batch.*\(5,\)"):
        px.Network.from_example(_chain(), jnp.zeros((5,)))


def test_topological_order():
    net = px.Network.from_example(px.models.skip_mlp(3), jnp.zeros((1, 4)))
    order = net.topological_order
    assert net.is_dag and sorted(order) == [0, 1, 2, 3, 4]
    pos = {n: i for i, n in enumerate(order)}
    for e in net.edges:
        for d in e.dst:
            assert pos[e.src] < pos[d]


def test_non_zero_input_node():
    # node 2 holds the data: 2 -> 0 -> 1
    edges = [px.edge(nn.Linear(3), [2, 0]), px.edge(nn.Linear(2), [0, 1])]
    net = px.Network(edges, input_shape=(4,), input=2)
    assert net.node_shapes == ((3,), (2,), (4,)) and net.output == 1
    params = net.init(key=jax.random.key(0))
    x = _rand(4, (5, 4))
    np.testing.assert_allclose(
        np.asarray(net(params, jnp.asarray(x))), _dense(params[1], _dense(params[0], x)), atol=ATOL
    )
    states = net.feedforward(params, jnp.asarray(x))
    mus = net.predictions(params, states)
    assert mus[2] is None and mus[0] is not None and mus[1] is not None


# --------------------------------------------------------------------------- init


def test_init_one_pytree_per_edge_and_deterministic_per_key():
    edges = [
        px.edge(nn.Linear(4), [0, 1]),
        px.edge(nn.Tanh(), [1, 2]),
        px.edge(nn.Sequential([nn.Linear(4), nn.ReLU()]), [2, 3]),
        px.edge(nn.Linear(2, use_bias=False), [3, 4]),
    ]
    net = px.Network.from_example(edges, jnp.zeros((1, 3)))
    p1 = net.init(key=jax.random.key(5))
    assert isinstance(p1, tuple) and len(p1) == 4
    assert p1[0]["w"].shape == (3, 4) and p1[0]["b"].shape == (4,)
    assert p1[1] is None
    assert isinstance(p1[2], tuple) and p1[2][0]["w"].shape == (4, 4) and p1[2][1] is None
    assert set(p1[3]) == {"w"} and p1[3]["w"].shape == (4, 2)
    p2 = net.init(key=jax.random.key(5))
    p3 = net.init(key=jax.random.key(6))
    l1, l2, l3 = (jax.tree.leaves(p) for p in (p1, p2, p3))
    assert len(l1) == len(l2) == 5  # w, b; w, b; w
    for a, b in zip(l1, l2):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, c in zip(l1, l3):
        assert not np.array_equal(np.asarray(a), np.asarray(c))


# --------------------------------------------------------------------------- errors


def test_no_edges():
    with pytest.raises(GraphError, match="at least one edge"):
        px.Network([], input_shape=(3,))


def test_node_not_reached_by_any_edge():
    edges = [px.edge(nn.Linear(3), [0, 1]), px.edge(nn.Linear(3), [1, 3])]
    with pytest.raises(GraphError, match=r"node 2 is not reached by any edge"):
        px.Network(edges, input_shape=(2,))


def test_extra_node_from_num_nodes_is_not_reached():
    with pytest.raises(GraphError, match=r"node 3 is not reached by any edge"):
        px.Network(_chain(), input_shape=(2,), num_nodes=4)


def test_edge_naming_a_missing_node():
    with pytest.raises(GraphError, match=r"edge 1 \(Linear 1 -> 2\) names node 2.*nodes 0\.\.1"):
        px.Network(_chain(), input_shape=(2,), num_nodes=2)


def test_edges_into_the_input_node():
    edges = [
        px.edge(nn.Linear(3), [0, 1]),
        px.edge(nn.Linear(2), [1, 0]),
        px.edge(nn.Linear(2), [1, 2]),
    ]
    with pytest.raises(GraphError, match=r"input node 0 has incoming edges \[1\]"):
        px.Network(edges, input_shape=(2,))


def test_input_node_out_of_range():
    with pytest.raises(GraphError, match=r"input node 5"):
        px.Network(_chain(), input_shape=(2,), input=5)


def test_shape_mismatch_between_two_edges_into_one_node():
    edges = [
        px.edge(nn.Linear(4), [0, 1]),
        px.edge(nn.Linear(5), [0, 2]),
        px.edge(nn.Linear(3), [1, 3]),
        px.edge(nn.Linear(2), [2, 3]),
    ]
    with pytest.raises(ShapeError, match="node 3 receives edges of different shapes") as info:
        px.Network(edges, input_shape=(6,))
    msg = str(info.value)
    for part in ("edge 2", "Linear 1 -> 3", "(3,)", "edge 3", "Linear 2 -> 3", "(2,)"):
        assert part in msg, (part, msg)


def test_edge_that_cannot_take_its_input():
    edges = [px.edge(lambda v: v @ jnp.ones((3, 2)), [0, 1])]
    with pytest.raises(ShapeError, match=r"edge 0 \(Lambda 0 -> 1\) cannot be applied.*\(5,\)"):
        px.Network(edges, input_shape=(5,))


def test_edge_returning_a_tuple():
    edges = [px.edge(lambda v: (v, v), [0, 1])]
    with pytest.raises(ShapeError, match="must return one array, got tuple"):
        px.Network(edges, input_shape=(5,))


def test_wrong_input_shape_at_call():
    net = px.Network.from_example(_chain(), jnp.zeros((2, 5)))
    params = net.init(key=jax.random.key(0))
    net.check_input(jnp.zeros((7, 5)))  # any batch size is fine
    expected = re.escape("(batch, 5)")
    with pytest.raises(ShapeError, match=expected + r".*got \(3, 6\)"):
        net.check_input(jnp.zeros((3, 6)))
    with pytest.raises(ShapeError, match=expected + r".*got \(3, 6\)"):
        net(params, jnp.zeros((3, 6)))
    with pytest.raises(ShapeError, match=expected + r".*got \(5,\)"):
        net(params, jnp.zeros((5,)))  # a single sample without its batch axis
    with pytest.raises(ShapeError, match=expected + r".*got \(2, 1, 5\)"):
        net.check_input(jnp.zeros((2, 1, 5)))


def test_wrong_image_input_shape_at_call():
    net = px.Network.from_example(px.models.mlp(3, hidden=(4,)), jnp.zeros((2, 8, 8, 1)))
    with pytest.raises(ShapeError, match=re.escape("(batch, 8, 8, 1)") + r".*got \(8, 8, 1\)"):
        net.check_input(np.zeros((8, 8, 1)))


def _cyclic_net():
    # 0 -> 1 -> 2 -> 1: node 2 has an outgoing edge, so the output must be named
    edges = [
        px.edge(nn.Linear(4), [0, 1]),
        px.edge(nn.Sequential([nn.Linear(4), nn.Tanh()]), [1, 2]),
        px.edge(nn.Linear(4), [2, 1]),
    ]
    return edges, px.Network(edges, input_shape=(3,), output=2)


_CYCLE = r"cycle (1 -> 2 -> 1|2 -> 1 -> 2)"


def test_cyclic_network_builds_with_explicit_output():
    _, net = _cyclic_net()
    assert net.output == 2
    assert net.node_shapes == ((3,), (4,), (4,))
    assert not net.is_dag and net.topological_order is None
    assert net.incoming[1] == (0, 2)


def test_cycle_without_output_cannot_tell_the_output():
    edges, _ = _cyclic_net()
    with pytest.raises(GraphError, match=r"cannot tell the output node.*pass output="):
        px.Network(edges, input_shape=(3,))


def test_require_dag_names_the_cycle():
    _, net = _cyclic_net()
    with pytest.raises(GraphError, match=r"BP needs an acyclic graph.*" + _CYCLE):
        net.require_dag("BP")
    with pytest.raises(GraphError, match=r"BP needs an acyclic graph.*" + _CYCLE):
        px.BP().check(net)


def test_bp_grads_on_cyclic_net_names_the_cycle():
    _, net = _cyclic_net()
    params = net.init(key=jax.random.key(0))
    x = jnp.ones((2, 3))
    y = jnp.zeros((2, 4)).at[:, 0].set(1.0)
    with pytest.raises(GraphError, match=r"acyclic.*" + _CYCLE):
        px.BP().grads(net, params, None, (x, y))
    with pytest.raises(GraphError, match=_CYCLE):
        net(params, x)


def test_self_loop_is_a_cycle():
    edges = [
        px.edge(nn.Linear(3), [0, 1]),
        px.edge(nn.Linear(3), [1, 1]),
        px.edge(nn.Linear(2), [1, 2]),
    ]
    net = px.Network(edges, input_shape=(2,))
    assert net.output == 2 and not net.is_dag
    with pytest.raises(GraphError, match=r"cycle 1 -> 1"):
        net.require_dag("BP")


def test_node_that_does_not_lead_to_the_output():
    edges = [
        px.edge(nn.Linear(3), [0, 1]),
        px.edge(nn.Linear(3), [0, 2]),
        px.edge(nn.Linear(2), [1, 3]),
    ]
    with pytest.raises(GraphError, match=r"node 2 does not lead to the output node 3"):
        px.Network(edges, input_shape=(2,), output=3)


def test_two_sinks_without_output_is_ambiguous():
    edges = [
        px.edge(nn.Linear(3), [0, 1]),
        px.edge(nn.Linear(3), [0, 2]),
        px.edge(nn.Linear(2), [1, 3]),
    ]
    with pytest.raises(
        GraphError, match=r"cannot tell the output node: nodes \[2, 3\].*pass output="
    ):
        px.Network(edges, input_shape=(2,))


def test_node_not_reachable_from_the_input():
    # node 2 only feeds itself and node 1: it has an incoming edge but no path from the input
    edges = [
        px.edge(nn.Linear(3), [0, 1]),
        px.edge(nn.Linear(3), [2, 2]),
        px.edge(nn.Linear(3), [2, 1]),
    ]
    with pytest.raises(GraphError, match=r"node 2 cannot be reached from the input node 0"):
        px.Network(edges, input_shape=(3,))


def test_output_cannot_be_the_input():
    with pytest.raises(GraphError, match=r"output node 0"):
        px.Network(_chain(), input_shape=(2,), output=0)


def test_chain_walks_a_chain_and_names_the_node_that_branches():
    x = jnp.zeros((1, 20))
    chain = px.Network.from_example(px.models.mlp(3, hidden=(4, 4)), x)
    assert chain.chain("X") == (0, 1, 2)  # input -> 1 -> 2 -> output, edge by edge
    skip = px.Network.from_example(px.models.skip_mlp(3), x)  # node 3 sums two edges
    with pytest.raises(
        px.GraphError,
        match=r"TP needs a chain of layers .* node 3 has 2 incoming and 1 outgoing edges; fix it",
    ):
        skip.chain("TP", "fix it")
