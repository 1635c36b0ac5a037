"""Seconds per epoch of the FA / TP rules next to backprop, on the same 784-800-800-10 tanh MLP,
optimizer (Adam) and batch size, measured in one process: each rule's compiled training step
(``lax.scan`` over ``STEPS`` minibatches of real MNIST, as the Trainer runs it) is timed in
turn, round after round, so that the load of a shared machine hits every rule alike; the
median over rounds is scaled to one epoch (60000 / batch steps).

Usage: python benchmarks/fa_tp_speed.py [MNIST_DIR] [BATCH] [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import time

import jax
import jax.numpy as jnp
import optax

import plastix as px

STEPS = 50


def main(mnist_dir: str, batch: int, rounds: int) -> None:
    train = px.data.load_dataset("mnist", "train", root=mnist_dir)
    x = jnp.asarray(train.x[: STEPS * batch]).reshape(STEPS, batch, *train.x.shape[1:])
    y = jax.nn.one_hot(jnp.asarray(train.y[: STEPS * batch]), 10).reshape(STEPS, batch, 10)
    net = px.Network.from_example(
        px.models.mlp(10, hidden=(800, 800), activation="tanh"), train.x[:1]
    )
    rules = {
        name: px.config.make_rule(name, cost="cross-entropy")
        for name in ["bp", "fa", "sign-symmetry", "dfa", "drtp", "dtp"]
    }
    rules["ldrl"] = px.config.make_rule("dtp", cost="cross-entropy", feedback_loss="difference")
    opt = optax.adam(1e-4)
    fns, states = {}, {}
    for name, rule in rules.items():
        params, _ = rule.init(net, key=jax.random.key(0))

        def run(p, o, rule=rule):
            def body(c, inp):
                p, o = c
                xb, yb, k = inp
                p, _, o, m = rule.step(net, p, None, o, opt, (xb, yb), key=k)
                return (p, o), m["loss"]

            keys = jax.random.split(jax.random.key(1), STEPS)
            return jax.lax.scan(body, (p, o), (x, y, keys))

        fns[name] = jax.jit(run)
        states[name] = (params, opt.init(params))
        jax.block_until_ready(fns[name](*states[name]))  # compile
    times: dict[str, list[float]] = {n: [] for n in rules}
    for _ in range(rounds):
        for name in rules:
            t0 = time.perf_counter()
            jax.block_until_ready(fns[name](*states[name]))
            times[name].append(time.perf_counter() - t0)
    per_epoch = {n: statistics.median(t) / STEPS * (60000 // batch) for n, t in times.items()}
    print(f"| rule | s/epoch (batch {batch}) | x BP |")
    print("| --- | --- | --- |")
    for n, s in per_epoch.items():
        print(f"| {n} | {s:.2f} | {s / per_epoch['bp']:.2f} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        args[0] if args else "../shared/datasets/mnist",
        int(args[1]) if len(args) > 1 else 64,
        int(args[2]) if len(args) > 2 else 5,
    )
