"""The golden harness of the redesign: every preset, trained 2 steps on the embedded digits.

For each preset this records the resolved configuration and rule (for the reader of a diff)
and a fingerprint of every array the run ends with (parameters and, once the rules keep it
apart, their non-learned state): shape, dtype, a SHA-256 of the bytes, the float64 sum and sum
of squares and 8 entries spread over the array. ``tests/test_golden.py`` rebuilds each preset
through the public configuration path and compares: bitwise (the hashes) on a machine like the
one that wrote the file (same JAX, same CPU model), allclose elsewhere (XLA:CPU may order
reductions differently on another CPU).

Each preset runs as written except for what a 2-step run on 8x8 digits needs (``OVERRIDES``):
the digits, 20 training and 20 test images, batch 20 on one device, 2 epochs of one step each
(so SoftHebb's Hebbian epoch and its read-out epoch both run, and schedules see 2 steps); the
conv-pool nets keep their first three conv blocks (a fourth 2x2 pooling of an 8x8 image leaves
nothing) and a per-decoder list is cut to match.

Regenerate (only when a change of the numbers is intended, and say why in the commit):
``python tests/_golden.py --write``; a new preset gets its golden run with ``--add`` (the
others untouched).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

GOLDEN = Path(__file__).resolve().parent / "golden" / "presets.json"
BATCH = 20
SAMPLES = 8


def overrides(preset: dict[str, Any]) -> dict[str, Any]:
    """What the 2-step digits run changes in ``preset`` (nested settings, as a preset's)."""
    o: dict[str, Any] = {
        "data": {"name": "digits", "dir": None, "train_limit": BATCH, "test_limit": BATCH},
        "train": {
            "epochs": 2,
            "batch_size": BATCH,
            "devices": 1,
            "seed": 0,
            "gradient_check": 0,
        },
    }
    model = preset.get("model", {})
    if model.get("name") == "conv-pool":
        channels = list(model.get("channels", [128, 256, 512, 512]))
        if len(channels) > 3:
            o["model"] = {"channels": channels[:3]}
            noise = preset.get("rule", {}).get("layer_noise")
            if noise:
                # one per decoder (edge above the first): keep the bottom two and the top one
                o["rule"] = {"layer_noise": list(noise)[:2] + list(noise)[-1:]}
    return o


def cpu_model() -> str:
    """The CPU as XLA:CPU's code generation sees it: its name, family and model, and whether
    it has AVX-512 (a virtual machine may name two generations alike, "AMD EPYC", whose
    kernels round differently)."""
    try:
        info: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
        if "model name" in info:
            isa = "avx512" if "avx512f" in info.get("flags", "").split() else "no avx512"
            family, model = info.get("cpu family", "?"), info.get("model", "?")
            return f"{info['model name']} (family {family}, model {model}, {isa})"
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment() -> dict[str, str]:
    return {"jax": jax.__version__, "machine": platform.machine(), "cpu": cpu_model()}


def fingerprint(a: Any) -> dict[str, Any]:
    a = np.asarray(a)
    flat = a.reshape(-1)
    idx = np.unique(np.linspace(0, max(flat.size - 1, 0), SAMPLES).astype(np.int64))
    f64 = flat.astype(np.float64) if flat.size else np.zeros(0)
    return {
        "shape": list(a.shape),
        "dtype": str(a.dtype),
        "sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
        "sum": float(f64.sum()),
        "sumsq": float((f64 * f64).sum()),
        "samples": [float(v) for v in f64[idx]] if flat.size else [],
    }


def leaves_of(tree: Any) -> list[tuple[str, Any]]:
    return [(jax.tree_util.keystr(k), v) for k, v in jax.tree_util.tree_leaves_with_path(tree)]


def run_preset(name: str) -> dict[str, Any]:
    """Resolve preset ``name`` with :func:`overrides`, train 2 steps, fingerprint the result."""
    from plastix import config
    from plastix.cli._main import build_trainer

    settings = config.load_preset(name)
    extra = overrides(settings)
    run = config.resolve([config.Layer(name, settings, preset=True), config.Layer("golden", extra)])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = build_trainer(run, out=str(Path(tmp) / "run"), progress=False)
        summary = trainer.fit()
    state = getattr(trainer, "state", None)
    arrays = (
        {"params": trainer.params} if state is None else {"params": trainer.params, "state": state}
    )
    last = summary["history"][-1]
    return {
        "overrides": extra,
        "config": config.to_config(run),
        "rule": repr(trainer.rule),
        "metrics": {k: last[k] for k in ("train_loss", "train_accuracy", "test_accuracy")},
        "leaves": [
            {"path": f"{part}{path}", **fingerprint(v)}
            for part, tree in arrays.items()
            for path, v in leaves_of(tree)
        ],
    }


def generate() -> dict[str, Any]:
    from plastix.config import preset_names

    out: dict[str, Any] = {"environment": environment(), "presets": {}}
    for name in preset_names():
        t0 = time.perf_counter()
        out["presets"][name] = run_preset(name)
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return out


if __name__ == "__main__":
    import os

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    jax.config.update("jax_numpy_rank_promotion", "raise")
    jax.config.update("jax_num_cpu_devices", 4)
    if "--write" in sys.argv:  # every preset anew
        data = generate()
    elif "--add" in sys.argv:  # presets new since the file was written; the others untouched
        from plastix.config import preset_names

        data = json.loads(GOLDEN.read_text())
        for name in preset_names():
            if name not in data["presets"]:
                print(f"adding {name}", file=sys.stderr)
                data["presets"][name] = run_preset(name)
    elif "--update" in sys.argv:  # presets whose recipe was changed on purpose, named
        names = sys.argv[sys.argv.index("--update") + 1 :]
        data = json.loads(GOLDEN.read_text())
        for name in names:
            if name not in data["presets"]:
                sys.exit(f"{name} has no golden run to update (use --add)")
            print(f"updating {name}", file=sys.stderr)
            data["presets"][name] = run_preset(name)
    else:
        sys.exit(
            "usage: python tests/_golden.py --write | --add | --update NAME...   (rewrite "
            "tests/golden/presets.json, add the presets it lacks, or rerun the presets named "
            "after a deliberate change of their recipe)"
        )
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
