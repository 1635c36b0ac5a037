"""Difference target propagation: plastix's step against a hand-written plain-JAX floor.

    python benchmarks/dtp_floor.py --data-dir ../shared/datasets/mnist --reps 5

The recipe is the ``dtp-mnist-mlp`` preset's (Lee et al. 2015 on Nøkland's network):
784-800-800-10 tanh, standardised pixels, cross-entropy, output target
``out - eta dC/dout`` (eta = 0.1), the last hidden layer's target a gradient step through the
output layer, the first's by the difference correction ``h1 + g(t2) - g(h2)`` through the
decoder ``g(h) = tanh(h V + c)``; every layer descends ``|f(h_src) - t|^2 / (2 eta B)``;
each decoder learns to reconstruct its noisy input (``sigma = 0.1``,
``|g(f(h + sigma eps)) - (h + sigma eps)|^2 / (2B)``); Adam, batch 64.

The floor is written the way a JAX user would write it for speed: one forward pass, the
layer losses' gradients in closed form from it (no second pass, no autodiff), the decoders'
gradients by hand. plastix's ``DTP.step`` and the floor run as one jitted 50-step
``lax.scan`` each over the same real MNIST batches with the same per-step keys (so the same
noise), timed alternately (median of ``--reps``); before timing, both run 5 steps from the
same parameters and their parameters are compared (the same algorithm to float rounding).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import optax

import plastix as px
from _floor import arguments, preset_run, report

BATCH = 64


def floor_grads(p, xb, yb, key, *, eta: float, sigma: float):
    """The plain-JAX DTP gradients (the order of ``p``: :func:`floor_run`)."""
    w1, b1, w2, b2, w3, b3, v1, c1, v2, c2 = p
    bsz = xb.shape[0]
    h1 = jnp.tanh(xb @ w1 + b1)
    h2 = jnp.tanh(h1 @ w2 + b2)
    out = h2 @ w3 + b3
    e = jax.nn.softmax(out) - yb  # per-sample dC/dout
    # targets: the output's, the last hidden layer's by a gradient step, the first's by
    # the difference correction through the decoder of edge 1
    t2 = h2 - eta * (e @ w3.T)
    t1 = h1 + jnp.tanh(t2 @ v1 + c1) - jnp.tanh(h2 @ v1 + c1)
    # layer losses |f(h_src) - t|^2 / (2 eta B): closed-form gradients at the forward pass
    d3 = e / bsz  # (out - (out - eta e)) / (eta B)
    d2 = (h2 - t2) * (1 - h2 * h2) / (eta * bsz)
    d1 = (h1 - t1) * (1 - h1 * h1) / (eta * bsz)
    # decoders: reconstruct the noisy input, |g(f(h + s eps)) - (h + s eps)|^2 / (2B)
    k1, _ = jax.random.split(jax.random.fold_in(key, 1))
    k2, _ = jax.random.split(jax.random.fold_in(key, 2))
    hn1 = h1 + sigma * jax.random.normal(k1, h1.shape, h1.dtype)
    f1 = jnp.tanh(hn1 @ w2 + b2)
    r1 = jnp.tanh(f1 @ v1 + c1)
    q1 = (r1 - hn1) * (1 - r1 * r1) / bsz
    hn2 = h2 + sigma * jax.random.normal(k2, h2.shape, h2.dtype)
    f2 = hn2 @ w3 + b3
    r2 = jnp.tanh(f2 @ v2 + c2)
    q2 = (r2 - hn2) * (1 - r2 * r2) / bsz
    return (
        xb.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0),
        f1.T @ q1, q1.sum(0), f2.T @ q2, q2.sum(0),
    )  # fmt: skip


def floor_run(p0, x, y, keys, optimizer, eta: float, sigma: float):
    """Plain-JAX DTP steps on ``p = (W1, b1, W2, b2, W3, b3, V1, c1, V2, c2)``: V1 decodes
    h2 -> h1 (edge 1), V2 decodes out -> h2 (edge 2)."""

    def body(carry, inp):
        p, o = carry
        g = floor_grads(p, *inp, eta=eta, sigma=sigma)
        u, o = optimizer.update(g, o, p)
        return (optax.apply_updates(p, u), o), None

    return jax.lax.scan(body, (p0, optimizer.init(p0)), (x, y, keys))[0]


def to_floor(params):
    f, b = params["forward"], params["feedback"]
    return (
        f[0][1]["w"], f[0][1]["b"], f[1][0]["w"], f[1][0]["b"], f[2]["w"], f[2]["b"],
        b[1]["w"], b[1]["b"], b[2]["w"], b[2]["b"],
    )  # fmt: skip


def main() -> None:
    a = arguments(__doc__, "training steps per timed call")
    run = preset_run("dtp-mnist-mlp")
    rule = run.rule
    train = px.data.load_dataset("mnist", "train", root=a.data_dir, download=False)
    n = a.steps * BATCH
    xi = train.x[:n].reshape(n, -1)
    xi = (xi - train.x.reshape(len(train.x), -1).mean()) / train.x.std()  # standardised
    x = jnp.asarray(xi).reshape(a.steps, BATCH, -1)
    y = jax.nn.one_hot(jnp.asarray(train.y[:n]).reshape(a.steps, BATCH), 10)
    keys = jax.random.split(jax.random.key(0), a.steps)
    net = px.Network.from_example(run.model.edges(10), x[0, :1])
    params, state = rule.init(net, key=jax.random.key(0))
    optimizer = optax.adam(5e-4)

    def plastix_run(params, x, y, keys):
        def body(carry, inp):
            p, o = carry
            xb, yb, key = inp
            p, _, o, _ = rule.step(net, p, state, o, optimizer, (xb, yb), key=key)
            return (p, o), None

        return jax.lax.scan(body, (params, optimizer.init(params)), (x, y, keys))[0]

    f_px = jax.jit(plastix_run)
    f_fl = jax.jit(floor_run, static_argnums=(4, 5, 6))
    args_fl = (optimizer, float(rule.target_lr), float(rule.noise))
    # the first step's gradients, before any optimizer
    g_px, _, _ = jax.jit(lambda p: rule.grads(net, p, state, (x[0], y[0]), key=keys[0]))(params)
    g_fl = jax.jit(lambda p: floor_grads(p, x[0], y[0], keys[0], eta=args_fl[1], sigma=args_fl[2]))(
        to_floor(params)
    )
    names = ["W1", "b1", "W2", "b2", "W3", "b3", "V1", "c1", "V2", "c2"]
    gdiffs = {
        k: float(jnp.max(jnp.abs(g - w)) / jnp.max(jnp.abs(w)))
        for k, g, w in zip(names, to_floor(g_px), g_fl)
    }
    print(
        "relative max |d grad| at the first step: "
        + ", ".join(f"{k} {v:.1e}" for k, v in gdiffs.items())
    )
    check = min(5, a.steps)
    got = to_floor(f_px(params, x[:check], y[:check], keys[:check])[0])
    want = f_fl(to_floor(params), x[:check], y[:check], keys[:check], *args_fl)[0]
    diffs = {
        k: float(jnp.max(jnp.abs(g - w)) / jnp.max(jnp.abs(w))) for k, g, w in zip(names, got, want)
    }
    print(
        f"relative max |d param| after {check} steps: "
        + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
    )
    p_fl = to_floor(params)
    runs = {
        "plastix": lambda: f_px(params, x, y, keys),
        "floor": lambda: f_fl(p_fl, x, y, keys, *args_fl),
    }
    for f in runs.values():
        jax.block_until_ready(f())
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(a.reps):
        for name, f in runs.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            times[name].append((time.perf_counter() - t0) / a.steps * 1e3)
    report(
        times,
        steps_per_epoch=60000 // BATCH,
        json_path=a.json,
        extra={"grad_diffs": gdiffs, "param_diffs": diffs},
    )


if __name__ == "__main__":
    main()
