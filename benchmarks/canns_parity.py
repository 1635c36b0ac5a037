"""Hopfield memory: plastix against the CANNs library (PyPI ``canns``), on the same patterns.

Each library runs in its own environment on the same data files:

    python benchmarks/canns_parity.py patterns --out DIR           # random ±1 patterns and cues
    .venv-canns/bin/python benchmarks/canns_parity.py canns --data DIR
    .venv/bin/python benchmarks/canns_parity.py plastix --data DIR
    python benchmarks/canns_parity.py table --data DIR             # the Markdown table

(``benchmarks/setup_canns_env.sh`` makes ``.venv-canns``.) Settings: N = 500 and 2000 units,
P = 0.05 N and 0.1 N random ±1 patterns (numpy seed 0), cues with exactly 10 % of the bits
flipped, Hebbian storage with the same options in both (no mean subtraction, divided by P,
zero diagonal), synchronous sign updates, 20 sweeps, threshold 0; so both compute the same
recall and the states are compared bit for bit. Store time: one ``train`` call of all
patterns. ``predict_batch`` time: all cues, after one untimed warm-up call on the same cues
(the median of ``--repeats`` timed calls). Recalled: final overlap >= 0.95. Also the capacity curve at
N = 500 (loads 0.05-0.2, one memory each).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

SETTINGS = [(500, 0.05), (500, 0.1), (2000, 0.05), (2000, 0.1)]
LOADS = [0.05, 0.1, 0.12, 0.14, 0.16, 0.2]
SWEEPS = 20


def _name(n: int, load: float) -> str:
    return f"n{n}-p{round(load * n)}"


def make_patterns(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for n, load in SETTINGS + [(500, a) for a in LOADS]:
        p = round(load * n)
        xi = np.where(rng.random((p, n)) < 0.5, 1.0, -1.0).astype(np.float32)
        cues = xi.copy()
        k = n // 10
        for i in range(p):
            idx = rng.choice(n, k, replace=False)
            cues[i, idx] *= -1
        np.savez(out / f"{_name(n, load)}.npz", patterns=xi, cues=cues)


def _overlaps(states: np.ndarray, xi: np.ndarray) -> np.ndarray:
    return np.abs(np.sum(states * xi, axis=1)) / xi.shape[1]


def _timed(fn, repeats: int = 3) -> tuple[float, object]:
    out = fn()  # warm-up (compilation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _record(
    data: Path, stem: str, lib: str, xi: np.ndarray, store: float, t: float, states: object
) -> dict:
    """Save a library's recalled states and return its row of numbers."""
    states = np.asarray(states)
    np.save(data / f"{stem}-{lib}-states.npy", states)
    m = _overlaps(states, xi)
    row = {
        "store_s": store,
        "predict_batch_s": t,
        "recalled": float((m >= 0.95).mean()),
        "mean_overlap": float(m.mean()),
    }
    print(stem, row, flush=True)
    return row


def _pattern_sets(data: Path):
    """``(name, patterns, cues)`` of every setting ``make_patterns`` wrote, in name order."""
    for f in sorted(data.glob("n*-p*.npz")):
        with np.load(f, allow_pickle=False) as z:
            yield f.stem, z["patterns"], z["cues"]


def run_canns(data: Path, repeats: int) -> dict:
    import canns
    import jax.numpy as jnp
    from canns.models.brain_inspired import AmariHopfieldNetwork
    from canns.trainer import HebbianTrainer

    results = {}
    for stem, xi, cues in _pattern_sets(data):
        n = xi.shape[1]
        model = AmariHopfieldNetwork(num_neurons=n, asyn=False, activation="sign")
        trainer = HebbianTrainer(model, subtract_mean=False, normalize_by_patterns=True)
        t0 = time.perf_counter()
        trainer.train([jnp.asarray(p) for p in xi])
        np.asarray(model.W.value)
        store = time.perf_counter() - t0

        def recall(trainer=trainer, cues=cues):
            out = trainer.predict_batch(
                [jnp.asarray(c) for c in cues], num_iter=SWEEPS, show_sample_progress=False
            )
            return np.stack([np.asarray(o) for o in out])

        results[stem] = _record(data, stem, "canns", xi, store, *_timed(recall, repeats))
    results["version"] = canns.__version__ if hasattr(canns, "__version__") else "?"
    return results


def run_plastix(data: Path, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    import plastix
    from plastix.memory import Hopfield, HopfieldTrainer, Update

    results = {}
    for stem, xi, cues in _pattern_sets(data):
        n = xi.shape[1]
        trainer = HopfieldTrainer(
            Hopfield.create(n),
            update=Update.SYNC,
            steps=SWEEPS,
            normalize_by_patterns=True,
            show_progress=False,
        )
        t0 = time.perf_counter()
        trainer.train(xi)
        jax.block_until_ready(trainer.model.W)
        store = time.perf_counter() - t0

        def recall(trainer=trainer, cues=cues):
            return np.asarray(jax.block_until_ready(trainer.predict_batch(jnp.asarray(cues))))

        results[stem] = _record(data, stem, "plastix", xi, store, *_timed(recall, repeats))
    results["version"] = getattr(plastix, "__version__", "?")
    return results


def table(data: Path) -> str:
    c = json.loads((data / "canns.json").read_text())
    p = json.loads((data / "plastix.json").read_text())
    rows = [
        "| N | P | recalled (CANNs / plastix) | mean overlap (CANNs / plastix) | same states | "
        "store s (CANNs / plastix) | predict_batch s (CANNs / plastix) | CANNs / plastix |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = sorted(
        (k for k in p if k.startswith("n")),
        key=lambda k: (int(k[1:].split("-")[0]), int(k.split("-p")[1])),
    )
    for k in keys:
        a, b = c[k], p[k]
        same = np.array_equal(
            np.load(data / f"{k}-canns-states.npy"), np.load(data / f"{k}-plastix-states.npy")
        )
        n, pp = k[1:].split("-p")
        rows.append(
            f"| {n} | {pp} | {a['recalled']:.3f} / {b['recalled']:.3f} | "
            f"{a['mean_overlap']:.4f} / {b['mean_overlap']:.4f} | {'yes' if same else 'no'} | "
            f"{a['store_s']:.3f} / {b['store_s']:.4f} | "
            f"{a['predict_batch_s']:.3f} / {b['predict_batch_s']:.4f} | "
            f"{a['predict_batch_s'] / b['predict_batch_s']:.0f}x |"
        )
    rows.append("")
    rows.append(f"canns {c['version']}, plastix {p['version']}")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("patterns", "canns", "plastix", "table"))
    ap.add_argument("--data", type=Path, default=Path("/tmp/canns_parity"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=3, help="timed predict_batch calls (median)")
    a = ap.parse_args()
    if a.what == "patterns":
        make_patterns(a.out or a.data)
    elif a.what == "table":
        print(table(a.data))
    else:
        run = run_canns if a.what == "canns" else run_plastix
        res = run(a.data, a.repeats)
        (a.data / f"{a.what}.json").write_text(json.dumps(res, indent=2) + "\n")
        print("wrote", a.data / f"{a.what}.json", file=sys.stderr)


if __name__ == "__main__":
    main()
