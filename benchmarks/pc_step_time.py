"""Time one training step of PCX's MNIST MLP under strict PC (784-128x3-10 gelu, T = 8,
states SGD(0.0105, momentum 0.65), AdamW, batch 128): 50 steps per compiled call (a
``lax.scan``, as the Trainer runs them), median of 7 calls, per step.

For an A/B of two versions of plastix, put a ``git worktree`` of the other commit first on
the path and alternate the two runs:

    git worktree add /tmp/prev HEAD~1
    for i in 1 2 3; do
        PYTHONPATH=/tmp/prev/src python benchmarks/pc_step_time.py; python benchmarks/pc_step_time.py
    done
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import plastix as px


def main() -> None:
    p = argparse.ArgumentParser(description="Time PC's training step on PCX's MNIST MLP.")
    p.add_argument("--steps", type=int, default=8, help="inference steps T (default 8)")
    args = p.parse_args()
    net = px.Network.from_example(px.models.mlp(10, hidden=(128, 128, 128)), jnp.zeros((1, 784)))
    params = net.init(key=jax.random.key(0))
    rule = px.PC(
        inference=px.Inference(steps=args.steps, optimizer=px.inference.SGD(0.0105, momentum=0.65))
    )
    x = jax.random.normal(jax.random.key(1), (128, 784))
    y = jax.nn.one_hot(jnp.arange(128) % 10, 10)
    opt = optax.adamw(3e-4)

    def step(p, o):
        g, _, _ = rule.grads(net, p, None, (x, y))
        u, o = opt.update(g, o, p)
        return optax.apply_updates(p, u), o

    def fifty(p, o):
        return jax.lax.scan(lambda c, _: (step(*c), None), (p, o), None, length=50)[0]

    o = opt.init(params)
    t = time.perf_counter()
    compiled = jax.jit(fifty).lower(params, o).compile()
    compile_s = time.perf_counter() - t
    jax.block_until_ready(compiled(params, o))
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        jax.block_until_ready(compiled(params, o))
        runs.append((time.perf_counter() - t) / 50)
    print(
        f"{px.__file__}: T = {args.steps}, compile {compile_s:.2f} s, per step median "
        f"{1000 * statistics.median(runs):.2f} ms, min {1000 * min(runs):.2f} ms"
    )


if __name__ == "__main__":
    main()
