"""Bidirectional predictive coding, checked against its limiting cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px


@pytest.fixture(scope="module")
def problem():
    x = jax.random.normal(jax.random.key(1), (8, 6))
    y = jax.nn.one_hot(jnp.arange(8) % 4, 4)
    net = px.Network.from_example(px.models.mlp(4, hidden=(12, 10)), x)
    return net, (x, y)


INF = px.Inference(steps=30, optimizer=optax.sgd(0.1, momentum=0.5), unroll=1)  # quick compile


def test_without_top_down_errors_bipc_is_pc(problem):
    """alpha_b = 0 leaves PC's energy (output clamped, squared error): same bottom-up
    gradients as PC, zero top-down gradients."""
    net, batch = problem
    rule = px.BiPC(alpha_b=0.0, inference=INF)
    params, _ = rule.init(net, key=jax.random.key(0))
    g, _, _ = jax.jit(lambda p: rule.grads(net, p, None, batch))(params)
    g_pc, _, _ = jax.jit(lambda p: px.PC(inference=INF).grads(net, p, None, batch))(params["up"])
    for a, b in zip(jax.tree.leaves(g["up"]), jax.tree.leaves(g_pc), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert all(float(jnp.max(jnp.abs(l))) == 0.0 for l in jax.tree.leaves(g["down"]))
    # and classification by inference is the feedforward pass (all errors can vanish)
    out = jax.jit(lambda p: rule.predict(net, p, None, batch[0]))(params)
    np.testing.assert_allclose(out, net(params["up"], batch[0]), atol=1e-5)


def test_gradient_check_compares_the_bottom_up_weights(problem):
    """The gradient check of BiPC is that of its bottom-up weights: with alpha_b = 0 (PC's
    energy, see above) it equals PC's check on ``params["up"]``, edge by edge."""
    net, batch = problem
    rule = px.BiPC(alpha_b=0.0, inference=INF)
    params, _ = rule.init(net, key=jax.random.key(0))
    c = jax.jit(lambda p: px.rules.gradient_check(rule, net, p, batch))(params)
    c_pc = jax.jit(lambda p: px.rules.gradient_check(px.PC(inference=INF), net, p, batch))(
        params["up"]
    )
    assert len(c["cosine_per_edge"]) == len(net.edges)
    np.testing.assert_allclose(c["cosine_per_edge"], c_pc["cosine_per_edge"], rtol=1e-4)
    np.testing.assert_allclose(c["cosine"], c_pc["cosine"], rtol=1e-4)
    assert 0.5 < float(c["cosine"]) <= 1.0 + 1e-6


def test_top_down_gradient_of_the_input_layer_is_a_regression(problem):
    """With one edge 0 -> 1 and both ends clamped, the top-down energy is
    alpha_b/2 ||x - (y V + c)||^2: its gradient is the least-squares one."""
    _, (x, y) = problem
    net = px.Network.from_example([px.edge(px.nn.Linear(4), [0, 1])], x)
    rule = px.BiPC(alpha_f=1.0, alpha_b=0.5, inference=INF)
    params, _ = rule.init(net, key=jax.random.key(0))
    g, _, _ = rule.grads(net, params, None, (x, y))
    v, c = params["down"][0][1]["w"], params["down"][0][1]["b"]
    r = x - (y @ v + c[None, :])
    np.testing.assert_allclose(g["down"][0][1]["w"], -0.5 * y.T @ r / 8, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g["down"][0][1]["b"], -0.5 * r.sum(0) / 8, rtol=1e-5, atol=1e-7)


def test_generation_without_bottom_up_errors_is_the_top_down_pass(problem):
    net, (x, y) = problem
    rule = px.BiPC(alpha_f=0.0, alpha_b=1.0, inference=INF)
    params, _ = rule.init(net, key=jax.random.key(3))
    gen = jax.jit(lambda p: rule.generate(net, p, y))(params)
    downs = rule.down_layers(net)
    z2 = downs[2](params["down"][2], y)
    z1 = downs[1](params["down"][1], z2)
    z0 = downs[0](params["down"][0], z1)
    assert gen.shape == x.shape
    np.testing.assert_allclose(gen, z0, atol=1e-5)


def test_bipc_trains_and_generates_on_digits(tmp_path):
    from plastix.cli import main

    out = tmp_path / "run"
    assert (
        main(["train", "--rule", "bipc", "--epochs", "5", "--out", str(out), "--no-progress"]) == 0
    )
    import json

    s = json.loads((out / "summary.json").read_text())
    assert s["test_accuracy"] > 0.9
    assert (out / "generated.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bipc_bad_input(problem):
    _, (x, _) = problem
    with pytest.raises(px.ConfigError, match="not both 0"):
        px.BiPC(alpha_f=0.0, alpha_b=0.0)
    skip = px.Network.from_example(px.models.skip_mlp(4), x)
    with pytest.raises(px.GraphError, match="one destination per edge"):
        px.BiPC().init(skip, key=jax.random.key(0))


def test_generation_quality_from_its_definition():
    """Class means score RMSE 0 and all classes right; the means handed to the wrong labels
    (a cyclic shift) score no class right; mismatched shapes are refused."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 3, 3, 1)) * 3
    y = np.repeat(np.arange(4), 25)
    x = centres[y] + rng.normal(size=(100, 3, 3, 1)) * 0.1
    means = np.stack([x[y == c].mean(0) for c in range(4)])
    q = px.train.generation_quality(means, x, y)
    assert q["rmse_to_class_mean"] == pytest.approx(0.0, abs=1e-12)
    assert q["nearest_mean_accuracy"] == 1.0
    assert q["reference_rmse"] == pytest.approx(0.1, rel=0.2)  # the noise's standard deviation
    shifted = px.train.generation_quality(np.roll(means, 1, axis=0), x, y)
    assert shifted["nearest_mean_accuracy"] == 0.0
    assert shifted["rmse_to_class_mean"] > 1.0
    with pytest.raises(px.ShapeError, match="transformed"):
        px.train.generation_quality(means[:, :2], x, y)
    with pytest.raises(px.ShapeError, match=r"class\(es\) \[3\]"):
        px.train.generation_quality(means, x[y < 3], y[y < 3])


def test_fused_relaxation_is_the_plain_one(problem):
    """The relaxation that does the clamped input's work once (its bottom-up outputs cached,
    its top-down error as a quadratic form) follows the plain energy's relaxation: the same
    states and energy, up to rounding, in training (hidden free) and classification (all but
    the input free)."""
    net, (x, y) = problem
    rule = px.BiPC(alpha_f=1.0, alpha_b=0.5, inference=INF)
    params, _ = rule.init(net, key=jax.random.key(6))
    states = list(net.feedforward(params["up"], x))
    states[net.output] = y
    for free in ((1, 2), (1, 2, 3)):
        out = {}
        for fused in (True, False):
            out[fused] = jax.jit(
                lambda p, fused=fused, free=free: rule.relax_nodes(
                    net, p, tuple(states), free, fused=fused
                )
            )(params)
        (s1, i1), (s0, i0) = out[True], out[False]
        assert float(jnp.max(jnp.abs(s0[1] - states[1]))) > 1e-2  # the states moved
        for a, b in zip(s1, s0, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(i1.energy, i0.energy, rtol=1e-5)


def test_the_relaxation_reports_its_steps_and_residual(problem):
    """``inference_steps``: the cap without a tolerance; with one, fewer, stopped once every
    sample's residual is below it."""
    net, batch = problem
    params, _ = px.BiPC().init(net, key=jax.random.key(0))
    m = px.BiPC(inference=INF).grads(net, params, None, batch)[2]
    assert int(m["inference_steps"]) == 30
    tol = px.Inference(steps=3000, optimizer=optax.sgd(0.1, momentum=0.5), tol=1e-3)
    m = px.BiPC(inference=tol).grads(net, params, None, batch)[2]
    assert 1 < int(m["inference_steps"]) < 3000 and float(m["residual"]) <= 1e-3
