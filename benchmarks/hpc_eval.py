#!/usr/bin/env python
"""A trained hybrid PC network (`hpc-mnist` run) evaluated as in Tscshantz et al. 2023 (and
jpc's `test_hpc`) on the MNIST test set: the amortiser's pass (fast inference), hybrid
inference (relaxing from it, image clamped: `HybridPC.predict`), the generator alone
(relaxing from a cold start, small Gaussian states: standard generative PC), and how many
steps each test image's relaxation needs to bring its residual (the norm of its states'
gradient) below a tolerance, from the amortiser's guess and from the cold start; plus the
generated digits' quality.

    python benchmarks/hpc_eval.py --checkpoint RUN/checkpoints/epoch-0003.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

import plastix as px
from _trained import DEFAULT_DATA_DIR, load_trained
from plastix.train import generation_quality


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--preset", default="hpc-mnist")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--long-steps", type=int, default=200, help="steps of the long relaxations")
    p.add_argument("--tol", type=float, default=0.1, help="residual tolerance of the step count")
    p.add_argument("--cold-std", type=float, default=0.05, help="std of the cold start")
    args = p.parse_args()
    t = load_trained(args.preset, args.checkpoint, args.data_dir)
    net, rule, params, x, y = (t[k] for k in ("net", "rule", "params", "x", "y"))
    base = rule.inference
    assert isinstance(base, px.Inference), base
    long = dataclasses.replace(base, steps=args.long_steps)
    free = tuple(n for n in range(net.num_nodes) if n != net.input)

    def cold(xb: jax.Array, key: jax.Array) -> tuple[jax.Array, ...]:
        keys = jax.random.split(key, net.num_nodes)
        return tuple(
            xb if n == net.input else args.cold_std * jax.random.normal(k, (len(xb), *s))
            for n, (k, s) in enumerate(zip(keys, net.node_shapes))
        )

    def relax(p, start, inference):
        states, inf_info = rule.relax_nodes(net, p["down"], start, free, inference=inference)
        return states[net.output], inf_info.steps

    def run_all(f) -> tuple[float, float]:
        outs, steps = [], []
        for i in range(0, len(x), 1000):
            o, s = jax.jit(f)(params, x[i : i + 1000], jax.random.key(i))
            outs.append(o)
            steps.append(float(s))
        out = jnp.concatenate(outs)
        return float(jnp.mean(jnp.argmax(out, -1) == y)), sum(steps) / len(steps)

    def amortised(p, xb, k):
        return net(p["up"], xb), jnp.zeros(())

    res = {"amortised_accuracy": run_all(amortised)[0]}
    for name, inference in (("hybrid", base), (f"hybrid_{args.long_steps}", long)):
        res[f"{name}_accuracy"] = run_all(
            lambda p, xb, k, inf=inference: relax(p, net.feedforward(p["up"], xb), inf)
        )[0]
    res[f"generator_only_{args.long_steps}_accuracy"] = run_all(
        lambda p, xb, k: relax(p, cold(xb, k), long)
    )[0]
    # per sample: the first step at which its residual (the norm of its states' gradient) is
    # below tol, over a `long_steps` relaxation with the training inference's optimizer
    sopt = base.optimizer.transform()

    def steps_to_tol(p, start):
        def energy(fs):
            s = list(start)
            for n, z in zip(free, fs):
                s[n] = z
            return rule.energy(net, p["down"], tuple(s))

        def body(carry, _):
            fs, o = carry
            g = jax.grad(energy)(fs)
            r = jnp.sqrt(sum(jnp.sum(jnp.square(a).reshape(len(a), -1), 1) for a in g))
            u, o = sopt.update(g, o, fs)
            return (optax.apply_updates(fs, u), o), r

        fs = tuple(start[n] for n in free)
        _, r = jax.lax.scan(body, (fs, sopt.init(fs)), None, length=args.long_steps)
        below = r <= args.tol  # (steps, batch)
        first = jnp.where(below.any(0), jnp.argmax(below, 0), args.long_steps)
        return first.astype(jnp.float32), energy(fs) / len(first)

    for name, start_of in (
        ("amortiser", lambda p, xb, k: net.feedforward(p["up"], xb)),
        ("cold_start", lambda p, xb, k: cold(xb, k)),
    ):
        f = jax.jit(lambda p, xb, k, start_of=start_of: steps_to_tol(p, start_of(p, xb, k)))
        firsts, energies = [], []
        for i in range(0, len(x), 1000):
            first, e0 = f(params, x[i : i + 1000], jax.random.key(i))
            firsts.append(first)
            energies.append(float(e0))
        first = jnp.concatenate(firsts)
        res[f"steps_to_tol_from_{name}"] = {
            "mean": float(jnp.mean(first)),
            "median": float(jnp.median(first)),
            "never": float(jnp.mean(first >= args.long_steps)),
            "start_energy": sum(energies) / len(energies),
        }
    res["generation"] = generation_quality(rule.generate(net, params, jnp.eye(10)), x, y)
    res["setup"] = {"inference": str(base), "long_steps": args.long_steps, "tol": args.tol}
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
