"""Compile time and step time of strict PC against depth: the mupc-mnist network (residual
ReLU MLP, width 128, μPC) with H hidden layers relaxed for T = H + 1 steps, batch 64.

For each depth: seconds to trace and to compile ``jax.jit(rule.grads)`` (cold: the persistent
compilation cache is not used here), and the median of 10 calls (ms), state PC and ePC.

    python benchmarks/pc_depth_compile.py --depths 16 32 64 128 \
        --out benchmarks/results/pc-depth-compile/pc_depth_compile.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp

import plastix as px


def measure(depth: int, width: int, variables: px.PCVariables) -> dict:
    net = px.Network.from_example(
        px.models.residual_mlp(10, width=width, depth=depth), jnp.zeros((1, 784))
    )
    params = net.init(key=jax.random.key(0))
    rule = px.PC(
        variables=variables,
        inference=px.Inference(steps=depth + 1, optimizer=px.inference.SGD(0.5 / 64)),
    )
    x = jax.random.normal(jax.random.key(1), (64, 784))
    y = jax.nn.one_hot(jnp.arange(64) % 10, 10)
    f = jax.jit(lambda p, b: rule.grads(net, p, None, b))
    t0 = time.perf_counter()
    lowered = f.lower(params, (x, y))
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    jax.block_until_ready(compiled(params, (x, y)))
    runs = []
    for _ in range(10):
        t = time.perf_counter()
        jax.block_until_ready(compiled(params, (x, y)))
        runs.append(time.perf_counter() - t)
    return {
        "depth": depth,
        "variables": variables.value,
        "trace_s": t1 - t0,
        "compile_s": t2 - t1,
        "step_ms": 1000 * statistics.median(runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depths", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--out", default="benchmarks/results/pc-depth-compile/pc_depth_compile.json")
    args = ap.parse_args()
    jax.config.update("jax_enable_compilation_cache", False)
    rows = []
    for depth in args.depths:
        for variables in (px.PCVariables.STATES, px.PCVariables.ERRORS):
            r = measure(depth, args.width, variables)
            rows.append(r)
            print(
                f"H={depth:4d} {r['variables']:6s} trace {r['trace_s']:.2f} s, compile "
                f"{r['compile_s']:.2f} s, step {r['step_ms']:.1f} ms",
                flush=True,
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"width": args.width, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
