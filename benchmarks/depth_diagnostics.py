"""Why standard PC fails at depth: the residual ReLU MLP at initialisation, standard vs μPC.

For depths H in --depths (width --width), on a batch of real MNIST images, this measures at
initialisation (plastix's own diagnostics, ``plastix.rules``):

- the activity Hessian's condition number (exact up to EXACT_MAX_DIM free dimensions, Lanczos
  above), the quantity that sets how fast inference can converge;
- the RMS of the last hidden activity (the forward pass's scale);
- after T = H + 1 inference steps of plain gradient descent (the mupc-mnist preset's state
  step), the energy of each hidden node relative to the output's: how far back the error
  reaches.

    python benchmarks/depth_diagnostics.py --data-dir ../shared/datasets/mnist \
        --out benchmarks/results/depth-diagnostics

writes ``depth_diagnostics.json`` and ``depth_diagnostics.png`` there (the docs page
``docs/deep_pc.md`` shows the figure).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import plastix as px


def measure(param: px.models.AbstractParametrisation, depth: int, width: int, batch) -> dict:
    x, y = batch
    net = px.Network.from_example(
        px.models.residual_mlp(10, width=width, depth=depth, parametrisation=param), x[:1]
    )
    params = net.init(key=jax.random.key(0))
    h = px.rules.hessian_extremes(px.PC(), net, params, (x[:1], y[:1]), lanczos_steps=80)
    acts = net.feedforward(params, x)
    rule = px.PC(inference=px.Inference(steps=depth + 1, optimizer=px.inference.SGD(0.5 / 64)))
    d = jax.jit(lambda p: px.rules.diagnose(rule, net, p, (x, y), hessian=False))(params)
    energies = [float(e) for e in d["energy_per_node"]]
    return {
        "depth": depth,
        "condition": float(h["condition"]),
        "lambda_min": float(h["lambda_min"]),
        "lambda_max": float(h["lambda_max"]),
        "hessian_exact": bool(h["exact"]),
        "last_hidden_rms": float(jnp.sqrt(jnp.mean(acts[depth] ** 2))),
        "energy_per_node": energies,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default="benchmarks/results/depth-diagnostics")
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    train, _, _ = px.data.DataOptions(
        name="mnist", dir=args.data_dir, train_limit=args.batch
    ).load()
    batch = (jnp.asarray(train.x), jax.nn.one_hot(jnp.asarray(train.y), 10))
    rows = {}
    for name, param in (("standard", px.models.Standard()), ("mupc", px.models.MuPC())):
        rows[name] = []
        for depth in args.depths:
            r = measure(param, depth, args.width, batch)
            print(
                f"{name:8s} H={depth:3d} condition {r['condition']:.3g} "
                f"(exact {r['hessian_exact']}) last hidden RMS {r['last_hidden_rms']:.3g}",
                flush=True,
            )
            rows[name].append(r)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "depth_diagnostics.json").write_text(
        json.dumps({"width": args.width, "batch": args.batch, "rows": rows}, indent=1) + "\n"
    )
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, style in (("standard", "o-"), ("mupc", "s-")):
        ds = [r["depth"] for r in rows[name]]
        axes[0].plot(ds, [r["condition"] for r in rows[name]], style, label=name)
        axes[1].plot(ds, [r["last_hidden_rms"] for r in rows[name]], style, label=name)
    deepest = rows["mupc"][-1]
    for name, style in (("standard", "o-"), ("mupc", "s-")):
        r = rows[name][-1]
        e = r["energy_per_node"]
        rel = [v / e[-1] if v and v > 0 else float("nan") for v in e[1:-1]]
        axes[2].plot(range(1, len(e) - 1), rel, style, ms=2, label=name)
    for ax, title in zip(
        axes,
        (
            "activity-Hessian condition number at init",
            "RMS of the last hidden activity at init",
            f"hidden energy / output energy after T = H + 1 steps (H = {deepest['depth']})",
        ),
    ):
        ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_xscale("log", base=2)
    axes[1].set_xscale("log", base=2)
    axes[0].set_xlabel("hidden layers H")
    axes[1].set_xlabel("hidden layers H")
    axes[2].set_xlabel("hidden node")
    fig.suptitle(f"residual ReLU MLP, width {args.width}, MNIST batch of {args.batch}")
    fig.tight_layout()
    fig.savefig(out / "depth_diagnostics.png", dpi=110)
    print(f"wrote {out}/depth_diagnostics.json and .png")


if __name__ == "__main__":
    main()
