"""Published setups, as configuration overrides (dotted keys) for ``plastix train --preset``."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # The job `plastix train` runs with no arguments: PC on the embedded UCI digits, < 1 minute.
    "digits-pc": {
        "data.name": "digits",
        "model.name": "mlp",
        "model.hidden": [128, 128],
        "model.activation": "gelu",
        "rule.name": "pc",
        "rule.steps": 20,
        "rule.state_lr": 0.1,
        "rule.state_momentum": 0.5,
        "optimizer.name": "adamw",
        "optimizer.lr": 1e-3,
        "optimizer.weight_decay": 1e-4,
        "train.epochs": 30,
        "train.batch_size": 32,
    },
    # PCX's MNIST benchmark (Pinchetti et al. 2024, examples/.../MLP/mnist/PC_SE):
    # 784-128-128-128-10, gelu, squared-error energy, T=8, states SGD(0.0105, momentum 0.65)
    # re-initialised per batch, AdamW(2.97e-4, wd 3.55e-4) with warmup-cosine, batch 128.
    "pcx-mnist-mlp": {
        "data.name": "mnist",
        "model.name": "mlp",
        "model.hidden": [128, 128, 128],
        "model.activation": "gelu",
        "rule.name": "pc",
        "rule.mode": "strict",
        "rule.cost": "squared-error",
        "rule.steps": 8,
        "rule.state_lr": 0.0105,
        "rule.state_momentum": 0.65,
        "optimizer.name": "adamw",
        "optimizer.lr": 2.97e-4,
        "optimizer.weight_decay": 3.55e-4,
        "optimizer.schedule": "warmup-cosine",
        "optimizer.warmup_fraction": 0.1,
        "optimizer.start_factor": 1.0,
        "optimizer.peak_factor": 1.1,
        "optimizer.end_factor": 0.1,
        "train.epochs": 25,
        "train.batch_size": 128,
    },
}
# The same network and optimizer trained by backprop: the baseline of the PCX benchmark.
PRESETS["bp-mnist-mlp"] = {
    **{k: v for k, v in PRESETS["pcx-mnist-mlp"].items() if not k.startswith("rule.")},
    "rule.name": "bp",
    "rule.cost": "squared-error",
}
# Equilibrium propagation on a 784-500-10 MLP (the network of Scellier & Bengio 2017), with
# symmetric nudging (Laborieux et al. 2021); CHL on the same network.
PRESETS["ep-mnist-mlp"] = {
    "data.name": "mnist",
    "data.normalize": False,  # states live in [0, 1]: so do the inputs (pixels / 255)
    "model.name": "mlp",
    "model.hidden": [500],
    "model.activation": "identity",
    "rule.name": "ep",
    "rule.activation": "hard-sigmoid",
    "rule.beta": 0.5,
    "rule.sign": "centred",
    "rule.free_steps": 30,
    "rule.nudged_steps": 10,
    "rule.state_lr": 0.5,
    "optimizer.name": "adam",
    "optimizer.lr": 1e-3,
    "optimizer.schedule": "warmup-cosine",
    "optimizer.warmup_fraction": 0.02,
    "optimizer.start_factor": 1.0,
    "optimizer.peak_factor": 1.0,
    "optimizer.end_factor": 0.01,
    "train.epochs": 8,
    "train.batch_size": 64,
}
PRESETS["chl-mnist-mlp"] = {
    **{k: v for k, v in PRESETS["ep-mnist-mlp"].items() if k not in ("rule.beta", "rule.sign")},
    "rule.name": "chl",
}
# The 4-conv-layer CIFAR-10 network of Laborieux et al. (2021): conv 128-256-512-512 with
# 2x2 max-pooling, a cross-entropy read-out, symmetric nudging beta = 0.5, T1 = 250, T2 = 25,
# SGD with momentum, weight decay, cosine schedule, batch 128, 120 epochs. (The paper's
# per-layer learning rates are replaced by one rate.) Needs a GPU-class machine.
PRESETS["ep-cifar10-conv4"] = {
    "data.name": "cifar10",
    "data.augment": "crop-flip",
    "model.name": "conv-pool",
    "model.channels": [128, 256, 512, 512],
    "model.activation": "identity",
    "rule.name": "ep",
    "rule.activation": "hard-sigmoid",
    "rule.cost": "cross-entropy",
    "rule.readout": True,
    "rule.beta": 0.5,
    "rule.sign": "centred",
    "rule.free_steps": 250,
    "rule.nudged_steps": 25,
    "rule.state_lr": 0.5,
    "optimizer.name": "sgd",
    "optimizer.lr": 0.1,
    "optimizer.momentum": 0.9,
    "optimizer.weight_decay": 3e-4,
    "optimizer.schedule": "warmup-cosine",
    "optimizer.warmup_fraction": 0.0,
    "optimizer.start_factor": 1.0,
    "optimizer.peak_factor": 1.0,
    "optimizer.end_factor": 0.01,
    "train.epochs": 120,
    "train.batch_size": 128,
}
PRESET_HELP = {
    "digits-pc": "PC on the embedded UCI digits (the default job, under a minute on a laptop CPU)",
    "pcx-mnist-mlp": "PCX's MNIST MLP benchmark: 784-128x3-10 gelu, T=8, AdamW warmup-cosine, 25 epochs",
    "bp-mnist-mlp": "the PCX MNIST MLP trained by backprop (the baseline)",
    "ep-mnist-mlp": "EP, symmetric nudging, 784-500-10 hard-sigmoid MLP (Scellier & Bengio's net)",
    "chl-mnist-mlp": "CHL on the same 784-500-10 network",
    "ep-cifar10-conv4": "EP on Laborieux et al. 2021's 4-conv CIFAR-10 net (CE read-out; GPU-class)",
}
