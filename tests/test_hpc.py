"""Hybrid predictive coding against closed forms: with a linear generator every equilibrium is
a least-squares solution, the generator's update is the gradient of the minimised energy
(envelope theorem), and the amortiser's update is a regression of each layer onto the
equilibrium from its own guesses."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px

B, D_X, D_H, D_Y = 8, 6, 5, 3
LONG = px.Inference(steps=150, optimizer=optax.sgd(0.3), unroll=1)  # to the equilibrium


@pytest.fixture(scope="module", autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


def _problem(activation: str = "identity"):
    x = jax.random.normal(jax.random.key(1), (B, D_X), jnp.float64)
    y = jax.nn.one_hot(jnp.arange(B) % D_Y, D_Y, dtype=jnp.float64)
    net = px.Network.from_example(px.models.mlp(D_Y, hidden=(D_H,), activation=activation), x)
    return net, (x, y)


def _linear_rule(**kw) -> px.HybridPC:
    return px.HybridPC(down_activation=px.nn.Identity(), inference=LONG, **kw)


def _affine(layer, p, d_in):
    """(A, c) with layer(p, z) = z @ A.T + c for the linear generator layers (from the layer
    itself, not its parameter layout)."""
    zero = jnp.zeros((1, d_in), jnp.float64)
    c = layer(p, zero)[0]
    a = jax.jacobian(lambda z: layer(p, z[None])[0])(zero[0])
    return a, c


def _generator(rule, net, down):
    """The linear generator x^ = A1 h + c1, h^ = A2 y + c2."""
    layers = rule.generator_layers(net)
    a1, c1 = _affine(layers[0], down[0], D_H)
    a2, c2 = _affine(layers[1], down[1], D_Y)
    return a1, c1, a2, c2


def _h_star(a1, c1, a2, c2, x, y):
    """argmin_h 1/2|x - A1 h - c1|^2 + 1/2|h - A2 y - c2|^2, per sample (normal equations)."""
    lhs = a1.T @ a1 + jnp.eye(D_H)
    rhs = (x - c1[None]) @ a1 + y @ a2.T + c2[None]
    return jnp.linalg.solve(lhs, rhs.T).T


def test_training_equilibrium_is_least_squares_and_the_generator_learns_the_minimised_energy():
    """Input and label clamped, the hidden equilibrium solves the normal equations; the
    generator's gradient at it is the gradient of min_h E (envelope theorem), computed here
    from the closed form E*(theta), never from the relaxation."""
    net, (x, y) = _problem()
    rule = _linear_rule()
    params, _ = rule.init(net, key=jax.random.key(0))
    states, info = jax.jit(lambda p: rule.relax(net, p, (x, y)))(params)
    h = _h_star(*_generator(rule, net, params["down"]), x, y)
    np.testing.assert_allclose(states[1], h, atol=1e-9)
    np.testing.assert_array_equal(states[2], y)
    assert int(info.steps) == 150 and float(jnp.max(info.residual)) < 1e-9

    def e_star(down):
        a1, c1, a2, c2 = _generator(rule, net, down)
        hs = _h_star(a1, c1, a2, c2, x, y)
        r1, r2 = x - hs @ a1.T - c1[None], hs - y @ a2.T - c2[None]
        return 0.5 * (jnp.sum(r1**2) + jnp.sum(r2**2)) / B

    g, _, m = jax.jit(lambda p: rule.grads(net, p, None, (x, y)))(params)
    expect = jax.grad(e_star)(params["down"])
    for a, b in zip(jax.tree.leaves(g["down"]), jax.tree.leaves(expect), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(m["energy"], e_star(params["down"]), rtol=1e-9)
    assert float(m["start_energy"]) > float(m["energy"])  # the amortiser's guess is not it


def test_amortiser_regresses_each_layer_onto_the_equilibrium_from_its_own_guesses():
    """Edge 0 (x -> h) regresses f0(x) onto h* (closed form); edge 1 (h -> y) regresses
    f1(h^) onto y from the amortiser's own guess h^ = f0(x): its gradient is backprop's for
    the squared error of the feedforward output (the last layer's), and nothing of it leaks
    into edge 0."""
    net, (x, y) = _problem(activation="tanh")
    rule = px.HybridPC(down_activation=px.nn.Identity(), inference=LONG)
    params, _ = rule.init(net, key=jax.random.key(2))
    g, _, m = jax.jit(lambda p: rule.grads(net, p, None, (x, y)))(params)
    # the generator is linear whatever the amortiser's activation
    h = _h_star(*_generator(rule, net, params["down"]), x, y)
    up = params["up"]
    e0 = net.edges[0].layer
    expect0 = jax.grad(lambda p: 0.5 * jnp.sum((h - e0(p, x)) ** 2) / B)(up[0])
    for a, b in zip(jax.tree.leaves(g["up"][0]), jax.tree.leaves(expect0), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    g_bp, _, _ = px.BP(cost=px.rules.SquaredError()).grads(net, up, None, (x, y))
    for a, b in zip(jax.tree.leaves(g["up"][1]), jax.tree.leaves(g_bp[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    ff = net.feedforward(up, x)
    expect_a = 0.5 * (jnp.sum((h - ff[1]) ** 2) + jnp.sum((y - ff[2]) ** 2)) / B
    np.testing.assert_allclose(m["amortiser_loss"], expect_a, rtol=1e-7)


def test_hybrid_classification_is_the_joint_least_squares_solution():
    """Input clamped, label and hidden state free: the minimum of the linear generator's
    energy over (h, y) solves one linear system (positive definite when A1 has full column
    rank); prediction="amortised" is the amortiser's pass."""
    net, (x, _) = _problem()
    rule = _linear_rule(predict_inference=px.Inference(steps=4000, optimizer=optax.sgd(0.2)))
    params, _ = rule.init(net, key=jax.random.key(4))
    a1, c1, a2, c2 = _generator(rule, net, params["down"])
    # E = 1/2|x - c1 - A1 h|^2 + 1/2|h - c2 - A2 y|^2 in u = (h, y): 1/2 u^T H u - b^T u + ...
    hess = jnp.block([[a1.T @ a1 + jnp.eye(D_H), -a2], [-a2.T, a2.T @ a2]])
    rhs = jnp.concatenate([(x - c1[None]) @ a1 + c2[None], -jnp.tile(c2 @ a2, (B, 1))], axis=1)
    assert float(jnp.linalg.eigvalsh(hess)[0]) > 1e-3
    u = jnp.linalg.solve(hess, rhs.T).T
    out = jax.jit(lambda p: rule.predict(net, p, None, x))(params)
    np.testing.assert_allclose(out, u[:, D_H:], atol=1e-7)
    amortised = px.HybridPC(prediction=px.rules.HPCPrediction.AMORTISED)
    np.testing.assert_array_equal(amortised.predict(net, params, None, x), net(params["up"], x))


def test_generation_is_the_generators_top_down_pass():
    net, (x, y) = _problem()
    rule = _linear_rule()
    params, _ = rule.init(net, key=jax.random.key(5))
    a1, c1, a2, c2 = _generator(rule, net, params["down"])
    expect = (y @ a2.T + c2[None]) @ a1.T + c1[None]
    gen = rule.generate(net, params, y)
    assert gen.shape == x.shape
    np.testing.assert_allclose(gen, expect, atol=1e-12)


def test_amortisation_brings_inference_nearer_its_equilibrium():
    """The method's purpose (Tscshantz et al. 2023, Fig. 7B): a learning amortiser starts
    inference nearer the generator's equilibrium, so a tolerance-stopped relaxation needs
    fewer steps. Control: the same run with the amortiser frozen (its gradient zeroed), the
    generator learning alike."""
    data = px.data.load_dataset("digits", "train")
    x = jnp.asarray(data.x[:64], jnp.float32)
    y = jax.nn.one_hot(jnp.asarray(data.y[:64]), 10)  # float64 labels, float32 images
    net = px.Network.from_example(px.models.mlp(10, hidden=(32,), activation="tanh"), x[:1])
    rule = px.HybridPC(inference=px.Inference(steps=300, optimizer=optax.sgd(0.2), tol=1e-3))
    params0, _ = rule.init(net, key=jax.random.key(0))
    opt = optax.adam(3e-3)
    grads = jax.jit(lambda p: rule.grads(net, p, None, (x, y)))

    def train(frozen: bool):
        params, o = params0, opt.init(params0)
        for _ in range(60):
            g, _, _ = grads(params)
            if frozen:
                g = {"up": jax.tree.map(jnp.zeros_like, g["up"]), "down": g["down"]}
            u, o = opt.update(g, o, params)
            params = optax.apply_updates(params, u)
        m = grads(params)[2]
        return float(m["start_energy"] - m["energy"]), int(m["inference_steps"])

    (gap, steps), (gap_frozen, steps_frozen) = train(False), train(True)
    assert gap < 0.5 * gap_frozen, (gap, gap_frozen)
    assert steps < steps_frozen, (steps, steps_frozen)


def test_hpc_bad_input():
    x = jnp.zeros((4, 6))
    skip = px.Network.from_example(px.models.skip_mlp(4), x)
    with pytest.raises(px.GraphError, match="one destination per edge"):
        px.HybridPC().init(skip, key=jax.random.key(0))
    with pytest.raises(px.ConfigError, match="amortised"):
        px.config.build(px.HybridPC, {"prediction": "fast"})
    rule = px.config.build(
        px.HybridPC, {"prediction": "amortised", "inference": {"name": "ode", "t1": 2.0}}
    )
    assert rule.prediction is px.rules.HPCPrediction.AMORTISED
    assert px.config.build(px.HybridPC, px.config.to_config(rule)) == rule


def test_hpc_trains_and_generates_on_digits(tmp_path):
    from plastix.cli import main

    out = tmp_path / "run"
    args = ["train", "--rule", "hpc", "--epochs", "5", "--set", "model.hidden=[64,64]"]
    args += ["--set", "optimizer.lr=0.003", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["test_accuracy"] > 0.85  # 0.9246 when written
    assert (out / "generated.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
