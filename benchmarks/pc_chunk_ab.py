"""Trace, compile and step time of the Trainer's compiled chunk for ``pcx-mnist-mlp`` (strict
PC, 784-128x3-10 gelu, T = 8, batch 128, 52 steps per call on real MNIST), in three variants,
each in a fresh process, alternating, ``--rounds`` times:

- ``base``: plastix as it is;
- ``no-wavefront``: strict PC without the wavefront (the first inference steps then compute
  every edge, as later steps do): what the wavefront costs in compile time and saves per step;
- ``xnnpack``: XLA:CPU's XNNPACK dots (``--xla_cpu_use_xnnpack=true``);
- ``o1``, ``elemental``, ``once``, ``cheap-llvm``: the chunk compiled with XLA options
  (LLVM's -O1; XLA:CPU's elemental emitter instead of its fusion emitters; both, which is
  :data:`plastix._compile.ONCE`; LLVM's expensive passes off): what each saves in compile
  time and costs per step.

Per process: trace + lower and XLA compile of the chunk (cold; the persistent cache off), 3
times, then the median of 9 calls (ms per training step).

    python benchmarks/pc_chunk_ab.py --data-dir ../shared/datasets/mnist --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

VARIANTS = ("base", "no-wavefront", "xnnpack", "o1", "elemental", "once", "cheap-llvm")
OPTIONS: dict[str, dict] = {
    "o1": {"xla_backend_optimization_level": "1"},
    "elemental": {"xla_cpu_use_fusion_emitters": False},
    "once": {"xla_backend_optimization_level": "1", "xla_cpu_use_fusion_emitters": False},
    "cheap-llvm": {"xla_llvm_disable_expensive_passes": True},
}


def measure(variant: str, data_dir: str) -> dict:
    if variant == "xnnpack":
        os.environ["XLA_FLAGS"] = "--xla_cpu_use_xnnpack=true"
    import jax
    import jax.numpy as jnp

    import plastix as px
    from plastix.cli._main import build_trainer
    from plastix.rules import _pc

    jax.config.update("jax_enable_compilation_cache", False)
    if variant == "no-wavefront":  # an A/B switch for this benchmark, not an option
        _pc.AbstractPC._wavefront = _pc.PC._wavefront = lambda self, net, free0: ({}, {}, 0)
    cfg = px.config.from_preset("pcx-mnist-mlp", {"data.dir": data_dir, "train.epochs": 1})
    tr = build_trainer(cfg, out=None, progress=False)
    carry = tr.init()
    xs, ys = jnp.asarray(tr.train.x), jnp.asarray(tr.train.y)
    a, b = tr._chunks()[0]
    idx = jnp.zeros((b - a, tr.batch_size), jnp.int32)
    keys = tr._keys(0)[a:b]
    trace, comp = [], []
    for _ in range(3):
        f = jax.jit(tr._run_chunk, donate_argnums=(0,))
        t0 = time.perf_counter()
        lowered = f.lower(carry, xs, ys, idx, keys)
        t1 = time.perf_counter()
        compiled = lowered.compile(OPTIONS.get(variant))
        t2 = time.perf_counter()
        trace.append(t1 - t0)
        comp.append(t2 - t1)
    jax.block_until_ready(compiled(tr.init(), xs, ys, idx, keys))
    runs = []
    for _ in range(9):
        c = tr.init()
        t = time.perf_counter()
        jax.block_until_ready(compiled(c, xs, ys, idx, keys))
        runs.append(time.perf_counter() - t)
    kernels = compiled.as_text().count("fusion(")
    return {
        "variant": variant,
        "steps_per_call": b - a,
        "first_trace_s": trace[0],
        "trace_s": statistics.median(trace[1:]),
        "compile_s": statistics.median(comp),
        "kernels": kernels,
        "step_ms": 1000 * statistics.median(runs) / (b - a),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--variants", default=",".join(VARIANTS[:3]), help="comma-separated")
    ap.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(measure(a.one, a.data_dir)))
        return
    rows = []
    for r in range(a.rounds):
        for v in a.variants.split(","):
            cmd = [sys.executable, __file__, "--data-dir", a.data_dir, "--one", v]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            row = {"round": r, **json.loads(out.strip().splitlines()[-1])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("variant       step ms (median over rounds)  compile s  trace s  kernels")
    for v in a.variants.split(","):
        mine = [x for x in rows if x["variant"] == v]
        med = lambda k: statistics.median(x[k] for x in mine)  # noqa: E731
        print(
            f"{v:13s} {med('step_ms'):8.3f}  {med('compile_s'):26.3f}  {med('trace_s'):7.3f}"
            f"  {mine[0]['kernels']:7d}"
        )
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
