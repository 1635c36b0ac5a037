"""Oja, Sanger, BCM and STDP trainers: plastix against the CANNs library, same data, same start.

Each library runs in its own environment on the same files:

    .venv/bin/python benchmarks/canns_trainers.py data --out DIR     # inputs, W0, visiting order
    .venv-canns/bin/python benchmarks/canns_trainers.py canns --data DIR
    .venv/bin/python benchmarks/canns_trainers.py plastix --data DIR
    python benchmarks/canns_trainers.py table --data DIR             # the Markdown table

(``benchmarks/setup_canns_env.sh`` makes ``.venv-canns``.) The trainers are mapped as in
docs/hebbian.md ("CANNs trainer API"): one sample per update, CANNs' ``W`` is plastix's
``w.T``, the same initial weights. plastix's ``LocalTrainer`` shuffles each epoch with its
key; the data step writes the inputs in that order for CANNs, so both visit the same samples
in the same order and the final weights are compared (max |dW|). Data: the 10,000 real MNIST
test images (784 pixels in [0, 1]; centred for Oja and Sanger), 16 output units; STDP: one
trial of 20,000 steps of Poisson spikes (200 inputs at rate 0.02, the first 20 correlated),
20 LIF neurons. Times: ``train`` of all the data, the first call (tracing and compilation
included) and the median of ``--repeats`` later calls on the same trainer (CANNs re-traces its
``scan`` at every call; plastix reuses the compiled epoch).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
OUT, LR = 16, {"oja": 1e-3, "sanger": 1e-3, "bcm": 1e-5}
TAU_BCM = 100.0
STDP_PRE, STDP_POST, STDP_T = 200, 20, 20_000
SPIKING = {"threshold": 1.0, "v_reset": 0.0, "leak": 0.9, "trace_decay": 0.95, "dt": 1.0}
STDP_OPTS = {"learning_rate": 1.0, "A_plus": 0.005, "A_minus": 0.00525, "w_min": 0.0, "w_max": 1.0}


def make_data(out: Path) -> None:
    """Inputs, initial weights, and plastix's visiting order (so CANNs gets the same)."""
    import jax

    import plastix as px

    out.mkdir(parents=True, exist_ok=True)
    test = px.data.load_dataset("mnist", "test", root=MNIST, download=False)
    x = test.x.reshape(len(test), -1)
    rng = np.random.default_rng(0)
    w0 = (rng.standard_normal((OUT, x.shape[1])) * 0.01).astype(np.float32)
    # LocalTrainer(key=k): epoch 1 splits k and permutes with the second half
    key = jax.random.key(0)
    _, k = jax.random.split(key)
    order = np.asarray(jax.random.permutation(k, len(x)))
    rates = np.full(STDP_PRE, 0.02)
    common = rng.random(STDP_T) < 0.02  # the first 20 inputs share a spike train
    spikes = (rng.random((STDP_T, STDP_PRE)) < rates).astype(np.float32)
    spikes[:, :20] = np.maximum(spikes[:, :20], common[:, None] * (rng.random((STDP_T, 20)) < 0.5))
    w0_stdp = rng.uniform(0.0, 0.3, (STDP_POST, STDP_PRE)).astype(np.float32)
    np.savez(
        out / "data.npz",
        x=x.astype(np.float32),
        order=order,
        w0=w0,
        spikes=spikes,
        w0_stdp=w0_stdp,
    )
    print(f"wrote {out / 'data.npz'}: x {x.shape}, spikes {spikes.shape}")


def _inputs(d: dict, rule: str) -> np.ndarray:
    x = d["x"]
    return x - x.mean(axis=0, keepdims=True) if rule in ("oja", "sanger") else x


def _time(train, repeats: int) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    result = train()
    first = time.perf_counter() - t0
    later = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        train()
        later.append(time.perf_counter() - t0)
    return first, statistics.median(later), result


def run_canns(data: Path, repeats: int) -> None:
    import brainpy.math as bm
    import canns
    from canns.models.brain_inspired import LinearLayer, SpikingLayer
    from canns.trainer import BCMTrainer, OjaTrainer, SangerTrainer, STDPTrainer

    d = dict(np.load(data / "data.npz"))
    out = {"library": f"canns {canns.__version__}", "rules": {}}
    for rule, cls in (("oja", OjaTrainer), ("sanger", SangerTrainer), ("bcm", BCMTrainer)):
        x = _inputs(d, rule)[d["order"]]  # plastix's visiting order
        model = LinearLayer(x.shape[1], OUT, use_bcm_threshold=rule == "bcm", threshold_tau=TAU_BCM)
        kw = {} if rule == "bcm" else {"normalize_weights": True}
        trainer = cls(model, learning_rate=LR[rule], **kw)

        def train(model=model, trainer=trainer, x=x, rule=rule):
            model.W.value = bm.asarray(d["w0"])
            if rule == "bcm":
                model.theta.value = bm.ones(OUT) * 0.1
            trainer.train(x)
            return np.asarray(model.W.value).T  # (in, out), plastix's layout

        first, later, w = _time(train, repeats)
        np.save(data / f"canns-{rule}.npy", w)
        out["rules"][rule] = {"first_s": first, "later_s": later, "samples": len(x)}
        print(rule, out["rules"][rule], flush=True)
    layer = SpikingLayer(STDP_PRE, STDP_POST, **SPIKING)
    trainer = STDPTrainer(layer, **STDP_OPTS)

    def train_stdp():
        layer.W.value = bm.asarray(d["w0_stdp"])
        layer.trace_pre.value = bm.zeros(STDP_PRE)
        layer.trace_post.value = bm.zeros(STDP_POST)
        layer.v.value = bm.zeros(STDP_POST)
        trainer.train(d["spikes"])
        return np.asarray(layer.W.value).T

    first, later, w = _time(train_stdp, repeats)
    np.save(data / "canns-stdp.npy", w)
    out["rules"]["stdp"] = {"first_s": first, "later_s": later, "samples": STDP_T}
    print("stdp", out["rules"]["stdp"], flush=True)
    (data / "canns.json").write_text(json.dumps(out, indent=2) + "\n")


def run_plastix(data: Path, repeats: int) -> None:
    import jax
    import jax.numpy as jnp
    import optax

    import plastix as px
    from plastix.local import bcm, normalise_columns, oja, sanger
    from plastix.memory import LIF, STDP, LocalTrainer, STDPTrainer

    d = dict(np.load(data / "data.npz"))
    out = {"library": f"plastix {px.__version__}", "rules": {}}
    rules = {
        "oja": (oja, None, normalise_columns),
        "sanger": (sanger, None, normalise_columns),
        "bcm": (
            lambda w, x, th: bcm(w, th, x, tau=TAU_BCM, rectify=False),
            jnp.full(OUT, 0.1),
            lambda w: jnp.clip(w, -10.0, 10.0),
        ),
    }
    for rule, (fn, state, post) in rules.items():
        x = _inputs(d, rule)
        trainer = LocalTrainer(
            fn, jnp.asarray(d["w0"].T), state=state, optimizer=optax.sgd(LR[rule]),
            batch_size=1, post=post, key=jax.random.key(0), show_progress=False,
        )  # fmt: skip

        def train(trainer=trainer, x=x, state=state):
            trainer.w = jnp.asarray(d["w0"].T)
            trainer.opt_state = trainer.optimizer.init(trainer.w)
            trainer.state = state
            trainer.key = jax.random.key(0)  # the same order at every call
            return np.asarray(jax.block_until_ready(trainer.train(x)))

        first, later, w = _time(train, repeats)
        np.save(data / f"plastix-{rule}.npy", w)
        out["rules"][rule] = {"first_s": first, "later_s": later, "samples": len(x)}
        print(rule, out["rules"][rule], flush=True)
    s = SPIKING
    tau = -s["dt"] / math.log(s["trace_decay"])
    o = STDP_OPTS
    stdp = STDP(
        a_plus=o["learning_rate"] * o["A_plus"], a_minus=o["learning_rate"] * o["A_minus"],
        tau_plus=tau, tau_minus=tau, w_min=o["w_min"], w_max=o["w_max"],
    )  # fmt: skip
    lif = LIF(
        v_th=s["threshold"], v_reset=s["v_reset"], tau_m=s["dt"] / (1 - s["leak"]), dt=s["dt"]
    )
    trainer = STDPTrainer(jnp.asarray(d["w0_stdp"].T), rule=stdp, lif=lif, show_progress=False)

    def train_stdp():
        trainer.w = jnp.asarray(d["w0_stdp"].T)
        return np.asarray(jax.block_until_ready(trainer.train(d["spikes"])))

    first, later, w = _time(train_stdp, repeats)
    np.save(data / "plastix-stdp.npy", w)
    out["rules"]["stdp"] = {"first_s": first, "later_s": later, "samples": STDP_T}
    print("stdp", out["rules"]["stdp"], flush=True)
    (data / "plastix.json").write_text(json.dumps(out, indent=2) + "\n")


def stdp_numpy(w0: np.ndarray, spikes: np.ndarray, same_step_ltd: bool) -> np.ndarray:
    """CANNs' compiled STDP step written out in numpy (float64), weights ``(pre, post)``:
    ``v = leak v + x W``, spike at threshold, reset; traces ``t = decay t + s``; LTP
    ``A+ t_pre s_post``; LTD ``A- t_post x``, where ``t_post`` counts this step's post spike
    (CANNs, ``same_step_ltd``) or not (plastix: a pre and a post spike in the same step are
    pre-before-post)."""
    s, o = SPIKING, STDP_OPTS
    a_plus, a_minus = o["learning_rate"] * o["A_plus"], o["learning_rate"] * o["A_minus"]
    w = w0.astype(np.float64).copy()
    t_pre, t_post, v = np.zeros(w.shape[0]), np.zeros(w.shape[1]), np.zeros(w.shape[1])
    for x in spikes.astype(np.float64):
        t_pre = s["trace_decay"] * t_pre + x
        v = s["leak"] * v + x @ w
        post = (v >= s["threshold"]).astype(np.float64)
        v = np.where(post > 0, s["v_reset"], v)
        new_post = s["trace_decay"] * t_post + post
        ltd_trace = new_post if same_step_ltd else s["trace_decay"] * t_post
        w = np.clip(
            w + a_plus * np.outer(t_pre, post) - a_minus * np.outer(x, ltd_trace),
            o["w_min"],
            o["w_max"],
        )
        t_post = new_post
    return w


def table(data: Path) -> str:
    c = json.loads((data / "canns.json").read_text())
    p = json.loads((data / "plastix.json").read_text())
    lines = [
        f"| trainer | samples | {c['library']} first call (s) | later calls (s) | "
        f"{p['library']} first call (s) | later calls (s) | speed-up, later | max abs dW | max abs W |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rule in ("oja", "sanger", "bcm", "stdp"):
        cr, pr = c["rules"][rule], p["rules"][rule]
        wc, wp = np.load(data / f"canns-{rule}.npy"), np.load(data / f"plastix-{rule}.npy")
        lines.append(
            f"| {rule} | {pr['samples']} | {cr['first_s']:.2f} | {cr['later_s']:.3f} | "
            f"{pr['first_s']:.2f} | {pr['later_s']:.3f} | {cr['later_s'] / pr['later_s']:.1f}x | "
            f"{np.abs(wc - wp).max():.2e} | {np.abs(wc).max():.3f} |"
        )
    d = np.load(data / "data.npz")
    w0, spikes = d["w0_stdp"].T, d["spikes"]
    canns_ref, plastix_ref = stdp_numpy(w0, spikes, True), stdp_numpy(w0, spikes, False)
    wc, wp = np.load(data / "canns-stdp.npy"), np.load(data / "plastix-stdp.npy")
    lines += [
        "",
        "STDP against numpy (float64) writings of CANNs' step: max |dW| of CANNs to the version "
        f"with same-step LTD {np.abs(wc - canns_ref).max():.1e}, of plastix to the version "
        f"without it {np.abs(wp - plastix_ref).max():.1e}. Mean weight of the 20 correlated "
        f"inputs / of the others: start {w0[:20].mean():.3f} / {w0[20:].mean():.3f}, CANNs "
        f"{wc[:20].mean():.3f} / {wc[20:].mean():.3f}, plastix {wp[:20].mean():.3f} / "
        f"{wp[20:].mean():.3f}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("data", "canns", "plastix", "table"))
    ap.add_argument("--data", "--out", dest="data", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    if a.what == "data":
        make_data(a.data)
    elif a.what == "canns":
        run_canns(a.data, a.repeats)
    elif a.what == "plastix":
        run_plastix(a.data, a.repeats)
    else:
        print(table(a.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
