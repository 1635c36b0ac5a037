"""SoftHebb: plastix's Hebbian step against a hand-written plain-JAX floor of the same recipe.

    python benchmarks/softhebb_floor.py --data-dir ../shared/datasets/mnist --reps 5

The recipe is the ``softhebb-mnist`` preset's unsupervised pass (Journé et al. 2022, their
blocks narrowed to 32-128-512 channels): each block standardises its input with the batch's
statistics (no affine; the running statistics are updated with momentum 0.1), convolves with
reflect padding k // 2 and no bias (kernels 5, 3, 3), and passes on the triangle activation to
the power 0.7, 1.4, 1.0, max-pooled (4x4, stride 2, padding 1) or average-pooled (2x2,
stride 2); every block learns from the same forward pass by the soft winner-take-all update
(inverse temperatures 1.0, 0.65, 0.25; rates 0.08, 0.005, 0.01; the step scaled by its largest
entry and by sqrt(|norm - 1|) per unit). A step takes a batch of 60 images in micro-batches of
10, one plastic update each.

The floor is written the way a JAX user would write it for speed on this CPU: the weights are
kept as (patch, channel) matrices, so a block's weighted input is one product of the input's
patch matrix with them and the Hebbian correlation one product of its transpose with the
post-synaptic signal (XLA:CPU's convolution gradient is much slower than that product). Two
floors are timed, the micro-batches as a ``lax.scan`` and written out (unrolled); the faster is
the floor. Each of the three runs is one jitted call per step (as the preset's trainer runs it,
``train.steps_per_call = 1``), over the same ``--steps`` batches of real MNIST, in turn,
``--reps`` times (median). Before timing, the floor and plastix's ``SoftHebb.step`` are run
side by side from the same weights and their weights compared (the same algorithm: equal to
float rounding).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import optax

import plastix as px
from _floor import arguments, preset_run, report

MICRO = 10
EPS = 1e-5


def floor_block(wm, stats, x, *, k, power, pool, beta, lr, momentum=0.1):
    """One SoftHebb block on a micro-batch ``x`` (NHWC): the new weight matrix ``(k*k*cin,
    cout)`` (input-channel-major patches), the new running statistics and the block's output."""
    axes = (0, 1, 2)
    mean, var = jnp.mean(x, axes), jnp.var(x, axes)
    n = x.shape[0] * x.shape[1] * x.shape[2]
    xn = (x - mean) / jnp.sqrt(var + EPS)
    p = k // 2
    xn = jnp.pad(xn, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
    patches = jax.lax.conv_general_dilated_patches(
        xn, (k, k), (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    b, h, w, f = patches.shape
    a = patches.reshape(b * h * w, f)
    u = a @ wm
    y = jax.nn.softmax(beta * u, axis=-1)
    y = jnp.where(jax.nn.one_hot(jnp.argmax(u, -1), u.shape[-1], dtype=bool), y, -y)
    delta = a.T @ y - jnp.sum(y * u, 0) * wm
    delta = delta / (jnp.max(jnp.abs(delta)) + 1e-30)
    norms = jnp.sqrt(jnp.sum(wm * wm, 0))
    wm = wm + lr * jnp.sqrt(jnp.abs(norms - 1.0) + 1e-10) * delta
    new_stats = (
        (1 - momentum) * stats[0] + momentum * mean,
        (1 - momentum) * stats[1] + momentum * var * n / (n - 1),
    )
    act = jax.nn.relu(u - jnp.mean(u, -1, keepdims=True))
    if power != 1.0:
        act = act**power
    act = act.reshape(b, h, w, -1)
    if pool == "max":
        pad = ((0, 0), (1, 1), (1, 1), (0, 0))
        out = jax.lax.reduce_window(act, -jnp.inf, jax.lax.max, (1, 4, 4, 1), (1, 2, 2, 1), pad)
    else:
        out = jax.lax.reduce_window(act, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        out = out / 4.0
    return wm, new_stats, out


def make_floor(spec, *, unroll: bool):
    """A jitted step ``(weights, stats, x60) -> (weights, stats)``."""

    def micro(carry, xm):
        ws, ss = carry
        new_w, new_s, h = [], [], xm
        for (k, power, pool, beta, lr), w, s in zip(spec, ws, ss):
            w2, s2, h = floor_block(w, s, h, k=k, power=power, pool=pool, beta=beta, lr=lr)
            new_w.append(w2)
            new_s.append(s2)
        return (tuple(new_w), tuple(new_s)), None

    def step(ws, ss, x):
        xs = x.reshape(x.shape[0] // MICRO, MICRO, *x.shape[1:])
        if unroll:
            carry = (ws, ss)
            for i in range(xs.shape[0]):
                carry, _ = micro(carry, xs[i])
            return carry
        return jax.lax.scan(micro, (ws, ss), xs)[0]

    return jax.jit(step, donate_argnums=(0, 1))


def to_matrix(w):
    """HWIO conv weights as the floor's (cin*kh*kw, cout) matrix (input-channel-major, the
    order of ``conv_general_dilated_patches``)."""
    kh, kw, cin, cout = w.shape
    return jnp.transpose(w, (2, 0, 1, 3)).reshape(cin * kh * kw, cout)


def main() -> None:
    a = arguments(__doc__, "steps (batches of 60) per timing")
    run = preset_run("softhebb-mnist")
    batch = run.train.batch_size
    rule = run.rule.bind(steps_per_epoch=10**6)  # every step Hebbian
    train = px.data.load_dataset("mnist", "train", root=a.data_dir, download=False)
    n = a.steps * batch
    xs = jnp.asarray(train.x[:n]).reshape(a.steps, batch, 28, 28, 1)
    y1 = jax.nn.one_hot(jnp.asarray(train.y[:n]).reshape(a.steps, batch), 10)
    net = px.Network.from_example(run.model.edges(10), train.x[:1])
    params, state = rule.init(net, key=jax.random.key(0))
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)
    hebb, _ = rule.blocks(net)
    spec = [
        (k, p, pl, beta, lr)
        for k, p, pl, beta, lr in zip(
            run.model.kernels, run.model.powers, run.model.pools, rule.inverse_temperature, rule.lr
        )
    ]

    def px_step(p, s, o, xb, yb):
        p, s, o, _ = rule.step(net, p, s, o, optimizer, (xb, yb), key=jax.random.key(0))
        return p, s, o

    f_px = jax.jit(px_step, donate_argnums=(0, 1, 2))
    floors = {
        "floor (scan)": make_floor(spec, unroll=False),
        "floor (unrolled)": make_floor(spec, unroll=True),
    }

    def fresh_floor():
        ws = tuple(to_matrix(params["layers"][i]["w"]) for i in hebb)
        ss = tuple((jnp.copy(st["mean"]), jnp.copy(st["var"])) for st in state["stats"])
        return ws, ss

    def fresh_px():
        return jax.tree.map(jnp.copy, (params, state, opt_state))

    # the same algorithm: weights after a few steps from the same start
    check = min(5, a.steps)
    p, s, o = fresh_px()
    for t in range(check):
        p, s, o = f_px(p, s, o, xs[t], y1[t])
    diffs = {}
    for name, f in floors.items():
        ws, ss = fresh_floor()
        for t in range(check):
            ws, ss = f(ws, ss, xs[t])
        diffs[name] = [
            float(jnp.max(jnp.abs(to_matrix(p["layers"][i]["w"]) - w)) / float(jnp.max(jnp.abs(w))))
            for i, w in zip(hebb, ws)
        ] + [float(jnp.max(jnp.abs(st["var"] - sv[1]) / sv[1])) for st, sv in zip(s["stats"], ss)]
        print(
            f"{name}: relative max |dW| per block, then relative max |d running var|, after {check} steps: "
            + ", ".join(f"{d:.1e}" for d in diffs[name])
        )

    def time_px():
        p, s, o = fresh_px()
        jax.block_until_ready(p)
        t0 = time.perf_counter()
        for t in range(a.steps):
            p, s, o = f_px(p, s, o, xs[t], y1[t])
        jax.block_until_ready(p)
        return (time.perf_counter() - t0) / a.steps * 1e3

    def timer(f):
        def go():
            ws, ss = fresh_floor()
            jax.block_until_ready(ws)
            t0 = time.perf_counter()
            for t in range(a.steps):
                ws, ss = f(ws, ss, xs[t])
            jax.block_until_ready(ws)
            return (time.perf_counter() - t0) / a.steps * 1e3

        return go

    runs = {"plastix": time_px, **{k: timer(f) for k, f in floors.items()}}
    for go in runs.values():  # compiled and warm
        go()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(a.reps):
        for name, go in runs.items():
            times[name].append(go())
    report(
        times,
        steps_per_epoch=60000 // batch,
        epoch="Hebbian epoch",
        json_path=a.json,
        extra={"weight_diffs": diffs},
    )


if __name__ == "__main__":
    main()
