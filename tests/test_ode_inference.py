"""Adaptive inference (``ODEInference``): the gradient flow dz/dt = -grad E solved by diffrax.

Checked against the flow's closed form on a quadratic energy (a matrix exponential from an
eigendecomposition), against plain gradient descent (constant Euler steps are SGD), against
linear PC's equilibrium solved as a least-squares problem, and for the cap, the steady-state
stop and a program that does not grow with the number of steps."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import plastix as px
from plastix.inference import ODEInference


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def _quadratic(d=5, batch=3, seed=0):
    """E(z) = sum_i 1/2 (z_i - a_i)^T H (z_i - a_i) with a random SPD H (eigenvalues 0.2-3)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = np.linspace(0.2, 3.0, d)
    h = (q * lam) @ q.T
    a = rng.normal(size=(batch, d))
    z0 = rng.normal(size=(batch, d))

    def grad_fn(z):
        r = z - a
        return 0.5 * jnp.sum((r @ h) * r), r @ h

    return grad_fn, h, a, z0, q, lam


def test_flow_matches_the_matrix_exponential(x64):
    """Run to t1 without the steady-state stop: z(t1) = a + (z0 - a) expm(-H t1)."""
    grad_fn, _, a, z0, q, lam = _quadratic()
    t1 = 0.7
    expm = (q * np.exp(-lam * t1)) @ q.T
    want = a + (z0 - a) @ expm
    for solver, tol in ((diffrax.Heun(), 1e-7), (diffrax.Tsit5(), 1e-9)):
        inf = ODEInference(solver=solver, t1=t1, rtol=tol, atol=tol, steady_state=False)
        z, info = jax.jit(lambda z, inf=inf: inf.run(grad_fn, z))(jnp.asarray(z0))
        np.testing.assert_allclose(z, want, atol=100 * tol)
        assert int(info.steps) > 1 and int(info.not_converged) == 0
        np.testing.assert_allclose(info.residual, np.linalg.norm(grad_fn(z)[1], axis=1))


def test_adaptive_steps_follow_the_tolerance(x64):
    """A tighter tolerance takes more steps and lands closer to the flow's solution."""
    grad_fn, _, a, z0, q, lam = _quadratic()
    want = a + (z0 - a) @ ((q * np.exp(-lam * 2.0)) @ q.T)
    out = []
    for tol in (1e-3, 1e-6):
        inf = ODEInference(t1=2.0, rtol=tol, atol=tol, steady_state=False)
        z, info = inf.run(grad_fn, jnp.asarray(z0))
        out.append((int(info.steps), float(np.max(np.abs(z - want)))))
    (steps_loose, err_loose), (steps_tight, err_tight) = out
    assert steps_tight > 2 * steps_loose
    assert err_tight < err_loose / 10


def test_constant_euler_steps_are_gradient_descent(x64):
    """Euler with a constant step dt for t1 = T dt is T steps of SGD(dt)."""
    grad_fn, *_, z0, _, _ = _quadratic()
    dt, steps = 0.05, 12
    ode = ODEInference(
        solver=diffrax.Euler(), adaptive=False, dt0=dt, t1=dt * steps, steady_state=False
    )
    z_ode, info = ode.run(grad_fn, jnp.asarray(z0))
    z_sgd, _ = px.Inference(steps=steps, optimizer=optax.sgd(dt)).run(grad_fn, jnp.asarray(z0))
    np.testing.assert_allclose(z_ode, z_sgd, rtol=1e-12, atol=1e-12)
    assert int(info.steps) == steps


def test_steady_state_stop(x64):
    """The solve stops at the steady state: every sample's largest gradient entry is below
    atol + rtol max |z|, long before t1, and the distance to the minimum is at most
    |grad| / lambda_min."""
    grad_fn, _, a, z0, _, lam = _quadratic()
    inf = ODEInference(t1=1e4, rtol=1e-6, atol=1e-6)
    z, info = inf.run(grad_fn, jnp.asarray(z0))
    g = np.asarray(grad_fn(z)[1])
    top = lambda v: np.max(np.abs(v), axis=1)  # noqa: E731
    assert np.all(top(g) < 1e-6 + 1e-6 * top(np.asarray(z)))
    assert int(info.not_converged) == 0 and 1 < int(info.steps) < 4096
    dist = np.linalg.norm(np.asarray(z) - a, axis=1)
    assert np.all(dist <= np.linalg.norm(g, axis=1) / lam[0] * (1 + 1e-9))
    # without the stop the solver runs on to t1 = 1e4 and takes more steps
    _, info2 = ODEInference(t1=1e4, rtol=1e-6, atol=1e-6, steady_state=False).run(
        grad_fn, jnp.asarray(z0)
    )
    assert int(info2.steps) > int(info.steps)


def test_one_state_off_equilibrium_is_not_a_steady_state():
    """Only one of 1,000 states is off its minimum (as in PC at the feedforward pass, where
    only the output's neighbours are): its gradient, 0.05, is averaged to 1.6e-3 by a root
    mean square, below the tolerance 1e-2, but the solve must still run until that state
    has settled."""
    a = jnp.zeros((2, 1000)).at[:, 0].set(0.05)
    inf = ODEInference(t1=100.0, rtol=1e-2, atol=1e-2)
    z, info = inf.run(lambda z: (0.5 * jnp.sum((z - a) ** 2), z - a), jnp.zeros((2, 1000)))
    assert int(info.steps) > 0 and int(info.not_converged) == 0
    assert float(jnp.max(jnp.abs(z - a))) < 1e-2 + 1e-2 * 0.05


def test_relative_steady_state_is_scale_free(x64):
    """With steady_decay = d the solve stops once each sample's largest gradient entry fell
    to d times its start, |g| <= d |g(0)|: at a state whose distance to the minimum of
    E = 1/2 lambda |z - a|^2 is at most d times the start's (one direction: |g| = lambda
    |z - a|). Scaling the energy to c E (time scaled by 1/c) stops at the same state; the
    absolute test stops at very different distances for the two. (dt0 is given in the
    scaled time too: diffrax's own first-step guess is not scale-covariant.)"""
    a = jnp.array([[1.0, -2.0], [0.5, 3.0]])
    z0 = jnp.zeros((2, 2))
    ratios, absolute = [], []
    for lam in (1e-3, 1.0, 1e3):
        grad_fn = lambda z, lam=lam: (0.5 * lam * jnp.sum((z - a) ** 2), lam * (z - a))  # noqa: E731
        rel = ODEInference(t1=1e4 / lam, dt0=0.1 / lam, rtol=1e-6, atol=1e-6, steady_decay=1e-2)
        z, info = rel.run(grad_fn, z0)
        ratio = np.max(np.abs(np.asarray(z - a)), axis=1) / np.max(np.abs(np.asarray(a)), axis=1)
        assert np.all(ratio <= 1e-2) and int(info.not_converged) == 0
        ratios.append(ratio)
        za, _ = ODEInference(t1=1e4 / lam, rtol=1e-3, atol=1e-3).run(grad_fn, z0)
        absolute.append(float(jnp.max(jnp.abs(za - a))))
    np.testing.assert_allclose(ratios[0], ratios[1], rtol=1e-3)
    np.testing.assert_allclose(ratios[2], ratios[1], rtol=1e-3)
    assert max(ratios[1]) > 1e-4  # it stopped, not ran to t1 (exp(-1e4) there)
    assert absolute[0] > 100 * absolute[2]  # the absolute test depends on the scale


def test_step_cap_is_reported():
    """Hitting max_steps before the steady state leaves every sample counted as not
    converged (the states are those reached)."""
    grad_fn, _, _, z0, _, _ = _quadratic()
    z0 = jnp.asarray(z0, jnp.float32)
    for steady in (True, False):
        z, info = ODEInference(t1=100.0, max_steps=3, steady_state=steady).run(grad_fn, z0)
        assert int(info.steps) == 3
        assert int(info.not_converged) == z0.shape[0]
        assert np.all(np.isfinite(np.asarray(z)))


def _dense(p):
    (d,) = [q for q in (p if isinstance(p, tuple) else (p,)) if isinstance(q, dict)]
    return np.asarray(d["w"]), np.asarray(d["b"])


def _linear_chain_equilibrium(params, x, y):
    """Linear PC's hidden states at the energy minimum, from least squares: the energy
    sum_n 1/2 |h_n - h_{n-1} W_n - b_n|^2 (h_0 = x, h_L = y) is |A u - c|^2 / 2 in the
    stacked hidden states u of one sample."""
    ws = [_dense(p) for p in params]
    dims = [w.shape[1] for w, _ in ws[:-1]]
    offs = np.concatenate([[0], np.cumsum(dims)])
    out = []
    for xi, yi in zip(np.asarray(x), np.asarray(y)):
        blocks, consts = [], []
        for n, (w, b) in enumerate(ws):  # residual_n = block u + const
            block, const = np.zeros((w.shape[1], offs[-1])), -b
            if n < len(dims):
                block[:, offs[n] : offs[n + 1]] += np.eye(w.shape[1])
            else:
                const = const + yi
            if n == 0:
                const = const - xi @ w
            else:
                block[:, offs[n - 1] : offs[n]] -= w.T
            blocks.append(block)
            consts.append(const)
        u, *_ = np.linalg.lstsq(np.vstack(blocks), -np.concatenate(consts), rcond=None)
        out.append(np.split(u, offs[1:-1]))
    return [np.stack([o[k] for o in out]) for k in range(len(dims))]


def test_pc_relaxes_to_linear_pcs_equilibrium(x64):
    """PC with ODEInference on a linear MLP reaches the minimum of its quadratic energy
    (solved independently by least squares): its weight gradients are those of that
    equilibrium."""
    net = px.Network.from_example(
        px.models.mlp(3, hidden=(6, 5), activation="identity"), jnp.zeros((1, 4), jnp.float64)
    )
    params = jax.tree.map(lambda a: a.astype(jnp.float64), net.init(key=jax.random.key(0)))
    x = jax.random.normal(jax.random.key(1), (4, 4), jnp.float64)
    y = jax.nn.one_hot(jnp.arange(4) % 3, 3, dtype=jnp.float64)
    rule = px.PC(inference=ODEInference(solver=diffrax.Tsit5(), t1=1e4, rtol=1e-10, atol=1e-10))
    want = _linear_chain_equilibrium(params, x, y)
    grads, _, metrics = jax.jit(lambda p: rule.grads(net, p, None, (x, y)))(params)
    assert int(metrics["not_converged"]) == 0 and int(metrics["inference_steps"]) > 1
    # the weight gradients at that equilibrium: dE/dW_n = -h_{n-1}^T r_n / B, dE/db_n = -sum r_n / B
    hs = [np.asarray(x), *want, np.asarray(y)]
    for n, (p, g) in enumerate(zip(params, grads)):
        w, b = _dense(p)
        gw, gb = _dense(g)
        r = hs[n + 1] - hs[n] @ w - b
        np.testing.assert_allclose(gw, -hs[n].T @ r / 4, atol=1e-7)
        np.testing.assert_allclose(gb, -r.sum(0) / 4, atol=1e-7)


def test_program_does_not_grow_with_steps():
    """The solve is one while loop: the traced program is the same for 16 or 4096 steps
    and for any end time."""
    net = px.Network.from_example(px.models.mlp(3, hidden=(8, 8, 8)), jnp.zeros((1, 4)))
    params = net.init(key=jax.random.key(0))
    batch = (jnp.ones((2, 4)), jnp.eye(3)[jnp.array([0, 1])])

    def size(inf):
        rule = px.PC(inference=inf)
        jaxpr = jax.make_jaxpr(lambda p: rule.grads(net, p, None, batch)[0])(params)
        return len(str(jaxpr))

    small = size(ODEInference(t1=1.0, max_steps=16))
    assert size(ODEInference(t1=50.0, max_steps=4096)) == pytest.approx(small, rel=0.01)


def test_bad_options_are_refused():
    with pytest.raises(px.ConfigError, match="please pass a value for dt0"):
        ODEInference(adaptive=False)
    with pytest.raises(px.ConfigError, match="no error estimate"):
        ODEInference(solver=diffrax.Euler())
    with pytest.raises(px.ConfigError, match="t1"):
        ODEInference(t1=0.0)
    with pytest.raises(px.ConfigError, match="rtol"):
        ODEInference(rtol=0.0, atol=0.0)
    with pytest.raises(px.ConfigError, match="steady_decay"):
        ODEInference(steady_decay=1.5)
    with pytest.raises(px.ConfigError, match="use Inference"):
        ODEInference().run(lambda z: (jnp.sum(z), z), jnp.ones((1, 2)), phases=[(1, None, ())])
    with pytest.raises(px.ConfigError, match="complex"):
        ODEInference().run(lambda z: (jnp.sum(z), z), jnp.ones((1, 2), jnp.complex64))


def test_configuration_names_it():
    """`rule.inference.name = "ode"` and the solver by name; both round-trip."""
    rule = px.config.build(px.PC, {"inference": {"name": "ode", "solver": "tsit5", "t1": 2.0}})
    assert isinstance(rule.inference, ODEInference)
    assert isinstance(rule.inference.solver, diffrax.Tsit5) and rule.inference.t1 == 2.0
    again = px.config.build(px.PC, px.config.to_config(rule))
    assert again == rule
    with pytest.raises(px.ConfigError, match="tsit5"):
        px.config.build(px.PC, {"inference": {"name": "ode", "solver": "rk4"}})
    with pytest.raises(px.ConfigError, match="ode"):
        px.config.build(px.PC, {"inference": {"name": "adaptive"}})
    # incremental PC moves its weights at every step: it keeps the fixed steps
    with pytest.raises(px.ConfigError):
        px.config.build(px.IncrementalPC, {"inference": {"name": "ode"}})
