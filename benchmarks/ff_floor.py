"""Forward-Forward: plastix's step against a hand-written plain-JAX floor of the same recipe.

    python benchmarks/ff_floor.py --data-dir ../shared/datasets/mnist --reps 5

The recipe is the ``ff-mnist`` preset's (the best public port's): 784-1000-1000-1000 ReLU,
label overlay on the first 10 pixels (1 on the label, 0.1 each for the neutral label), RMS
normalisation of each layer's input, sum-of-squares goodness with threshold = width,
softplus loss, peer normalisation 0.03 (momentum 0.9), the ReLU's gradient passed straight
through, a linear classifier on layers 2-3 of the neutral-label input (gradient x10, L2
3e-3), SGD(1e-3, momentum 0.9, weight decay 3e-4), batch 100. The floor is written the way a
JAX user would write it for speed: positive and negative inputs go through each layer as one
batch of 200 rows, the neutral-label input through the gradient-stopped weights (no
backward). Both run as one jitted ``lax.scan`` over the same ``--steps`` batches of real MNIST
with the same per-step keys (so the same wrong labels), timed alternately (median of
``--reps``); after 10 steps both hold the same parameters to float rounding (checked and
printed), so the floor is the same algorithm.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

import plastix as px

ROOT = Path(__file__).resolve().parents[1]
BATCH, C = 100, 10


def floor_run(params0, peer0, x, y, keys, optimizer):
    """The plain-JAX FF steps: params ``[(W, b)] * 3 + [C]``, running means ``peer0``."""

    def rms(h):
        return h / (jnp.sqrt(jnp.mean(h**2, -1, keepdims=True)) + 1e-8)

    def loss(p, peer, xb, yb, key):
        wrong = (yb + jax.random.randint(key, yb.shape, 1, C)) % C
        pos = xb.at[:, :C].set(jax.nn.one_hot(yb, C))
        neg = xb.at[:, :C].set(jax.nn.one_hot(wrong, C))
        h = jnp.concatenate([pos, neg])  # one pass of 200 rows
        h0 = xb.at[:, :C].set(1.0 / C)  # the neutral label: features only, no gradient
        total, feats, running_new = 0.0, [], []
        for l, (w, b) in enumerate(p[:3]):
            pre = rms(h) @ w + b
            a = pre + jax.lax.stop_gradient(jax.nn.relu(pre) - pre)
            ap, an = a[:BATCH], a[BATCH:]
            gp, gn, th = jnp.sum(ap**2, -1), jnp.sum(an**2, -1), float(w.shape[1])
            total += 0.5 * (jnp.mean(jax.nn.softplus(th - gp)) + jnp.mean(jax.nn.softplus(gn - th)))
            running = 0.9 * peer[l] + 0.1 * jnp.mean(ap, 0)
            total += 0.03 * jnp.mean((jnp.mean(running) - running) ** 2)
            running_new.append(jax.lax.stop_gradient(running))
            h = jax.lax.stop_gradient(a)
            h0 = jax.nn.relu(rms(h0) @ jax.lax.stop_gradient(w) + jax.lax.stop_gradient(b))
            if l >= 1:
                feats.append(rms(h0))
        logits = jnp.concatenate(feats, -1) @ p[3]
        total += jnp.mean(-jnp.sum(jax.nn.one_hot(yb, C) * jax.nn.log_softmax(logits), -1))
        return total, tuple(running_new)

    def body(carry, inp):
        p, peer, o = carry
        xb, yb, key = inp
        g, peer = jax.grad(loss, has_aux=True)(p, peer, xb, yb, key)
        g = [*g[:3], 10.0 * (g[3] + 3e-3 * p[3])]
        u, o = optimizer.update(g, o, p)
        return (optax.apply_updates(p, u), peer, o), None

    return jax.lax.scan(body, (params0, peer0, optimizer.init(params0)), (x, y, keys))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50, help="training steps per timed call")
    a = ap.parse_args()
    STEPS = a.steps
    from plastix import config as cfg

    run = cfg.resolve([cfg.Layer("preset", cfg.load_preset("ff-mnist"), preset=True)])
    rule = run.rule
    train = px.data.load_dataset("mnist", "train", root=a.data_dir, download=False)
    x = jnp.asarray(train.x[: STEPS * BATCH].reshape(STEPS, BATCH, -1))
    yi = jnp.asarray(train.y[: STEPS * BATCH].reshape(STEPS, BATCH))
    y1 = jax.nn.one_hot(yi, C)
    keys = jax.random.split(jax.random.key(0), STEPS)
    net = px.Network.from_example(run.model.edges(C), train.x[:1])
    params, state = rule.init(net, key=jax.random.key(0))
    optimizer = optax.chain(optax.add_decayed_weights(3e-4), optax.sgd(1e-3, momentum=0.9))

    def plastix_run(params, state, x, y1, keys):
        def body(carry, inp):
            p, s, o = carry
            xb, yb, key = inp
            p, s, o, _ = rule.step(net, p, s, o, optimizer, (xb, yb), key=key)
            return (p, s, o), None

        return jax.lax.scan(body, (params, state, optimizer.init(params)), (x, y1, keys))[0]

    chain = rule.chain(net)[:-1]

    def linear(i: int, p=params) -> dict:  # the Linear's parameters in edge i's Sequential
        return next(q for q in p["layers"][i] if q is not None)

    fparams = [(linear(i)["w"], linear(i)["b"]) for i in chain] + [params["classifier"]["w"]]
    fpeer = tuple(state["peer"])
    xs = x.reshape(STEPS, BATCH, 28, 28, 1)
    f_px = jax.jit(plastix_run)
    f_fl = jax.jit(floor_run, static_argnums=(5,))
    # the same algorithm: equal parameters after the first steps (float rounding, in the
    # different order of the floor's 300-row products, grows over many steps: FF's goodness
    # sums 1000 squares against a threshold)
    n = min(10, STEPS)
    out_px = f_px(params, state, xs[:n], y1[:n], keys[:n])
    out_fl = f_fl(fparams, fpeer, x[:n], yi[:n], keys[:n], optimizer)
    diffs = [
        float(jnp.max(jnp.abs(linear(i, out_px[0])["w"] - out_fl[0][l][0])))
        for l, i in enumerate(chain)
    ] + [float(jnp.max(jnp.abs(out_px[0]["classifier"]["w"] - out_fl[0][3])))]
    print(f"max |dW| after {n} steps, per layer and classifier: {diffs}")
    jax.block_until_ready(f_px(params, state, xs, y1, keys))  # compile the timed calls
    jax.block_until_ready(f_fl(fparams, fpeer, x, yi, keys, optimizer))
    times: dict[str, list[float]] = {"plastix": [], "floor": []}
    for _ in range(a.reps):
        for name, f in (
            ("plastix", lambda: f_px(params, state, xs, y1, keys)),
            ("floor", lambda: f_fl(fparams, fpeer, x, yi, keys, optimizer)),
        ):
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            times[name].append((time.perf_counter() - t0) / STEPS * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"ms/step (median of {a.reps}): plastix {med['plastix']:.2f}, floor {med['floor']:.2f}")
    print(f"plastix / floor = {med['plastix'] / med['floor']:.3f}")
    print(
        f"implied s/epoch (600 steps): plastix {med['plastix'] * 0.6:.1f}, floor {med['floor'] * 0.6:.1f}"
    )


if __name__ == "__main__":
    main()
