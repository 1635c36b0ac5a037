#!/usr/bin/env python
"""Data-parallel throughput from 1 to N devices, and online (batch size 1) samples per second.

    JAX_NUM_CPU_DEVICES=4 python benchmarks/scaling.py --data-dir ../shared/datasets/mnist

Part 1 trains the PCX MNIST MLP (784-128-128-128-10) with BP and PC (T = 8) for one epoch on
the first --samples training images, batch 128, with the batch split over 1, 2, ... devices
(`Trainer(devices=...)`), and prints training samples per second and the speed-up over one
device, each measured after compilation. On a CPU the "devices" share the host's cores, so
the speed-up is bounded by the number of physical cores. Part 2 trains BP, PC and EP with
batch size 1 (online updates, `steps_per_call` updates per compiled call) on one device.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import optax

import plastix as px


def _rate(net, rule, train, batch, devices, epochs=2) -> float:
    t = px.Trainer(
        net, rule, optax.adam(1e-3), train, None, epochs=epochs, batch_size=batch,
        progress=False, devices=devices, steps_per_call=64,
    )  # fmt: skip
    s = t.fit()
    # the median epoch time, compilation excluded
    return t.steps_per_epoch * batch / s["train_seconds_per_epoch"]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/mnist")
    )
    p.add_argument("--samples", type=int, default=16384)
    p.add_argument("--online-samples", type=int, default=2048)
    args = p.parse_args()
    tr = px.data.load_dataset("mnist", "train", root=args.data_dir)
    norm = px.data.Normalize.for_dataset("mnist")
    tr = dataclasses.replace(tr, x=norm(tr.x))
    net = px.Network.from_example(px.models.mlp(10, hidden=(128, 128, 128)), tr.x[:1])
    pc = px.PC(inference=px.Inference(steps=8, optimizer=optax.sgd(0.0105, momentum=0.65)))
    rules = {"bp": px.BP(), "pc": pc}
    counts = [n for n in (1, 2, 4, 8) if n <= jax.device_count()]
    sub = tr.subset(slice(0, args.samples))
    print(f"{jax.device_count()} {jax.default_backend()} devices, {os.cpu_count()} host cores")
    print("| rule | devices | samples/s | speed-up |")
    print("| --- | --- | --- | --- |")
    for name, rule in rules.items():
        base = None
        for n in counts:
            r = _rate(net, rule, sub, 128, jax.devices()[:n])
            base = base or r
            print(f"| {name} | {n} | {r:,.0f} | {r / base:.2f} |", flush=True)
    ep_net = px.Network.from_example(
        px.models.mlp(10, hidden=(500,), activation="identity"), tr.x[:1]
    )
    raw = px.data.load_dataset("mnist", "train", root=args.data_dir).subset(
        slice(0, args.online_samples)
    )
    online = {
        "bp": (net, px.BP(), sub.subset(slice(0, args.online_samples))),
        "pc": (net, pc, sub.subset(slice(0, args.online_samples))),
        "ep": (ep_net, px.EP(), raw),
    }
    print("\n| online (batch 1) | samples/s |")
    print("| --- | --- |")
    for name, (n_, rule, data) in online.items():
        print(f"| {name} | {_rate(n_, rule, data, 1, jax.devices()[:1]):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
