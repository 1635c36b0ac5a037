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
# BiPC on the PCX MLP. PC's T = 8 tiny steps leave the deep errors of order lr^depth, which any
# top-down pull swamps; BiPC relaxes to equilibrium (T = 20, lr 0.1), where its errors are
# first order, and weighs the top-down errors by alpha_b = 1e-4 (the input's 784 pixels).
PRESETS["bipc-mnist-mlp"] = {
    **{k: v for k, v in PRESETS["pcx-mnist-mlp"].items() if not k.startswith("rule.")},
    "rule.name": "bipc",
    "rule.alpha_f": 1.0,
    "rule.alpha_b": 1e-4,
    "rule.steps": 20,
    "rule.state_lr": 0.1,
    "rule.state_momentum": 0.5,
    "train.epochs": 10,
}
# The 4-conv-layer CIFAR-10 network of Laborieux et al. (2021): conv 128-256-512-512 with
# 2x2 max-pooling, a cross-entropy read-out, symmetric nudging beta = 0.5, T1 = 250, T2 = 25,
# SGD with momentum, weight decay, cosine schedule, batch 128, 120 epochs. (The paper's
# per-layer learning rates are replaced by one rate.) Needs a GPU-class machine.
PRESETS["ep-cifar10-conv4"] = {
    "train.steps_per_call": 1,  # no compiled loop: see Trainer (XLA:CPU convs)
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
    "bipc-mnist-mlp": "BiPC on the PCX MNIST MLP (classifies and generates digits), 10 epochs",
    "ep-cifar10-conv4": "EP on Laborieux et al. 2021's 4-conv CIFAR-10 net (CE read-out; GPU-class)",
}
# Forward-Forward, the recipe of the best public port (loeweX/Forward-Forward): 3 x 1000 ReLU,
# un-standardised pixels, label overlay (1 on the label's pixel, 0.1 each for the neutral
# label), RMS normalisation, sum-of-squares goodness with threshold = width, softplus loss,
# peer normalisation 0.03, a linear classifier on layers 2-3 (lr x10, weight decay 3e-3),
# SGD(1e-3, momentum 0.9, weight decay 3e-4), batch 100, 100 epochs. The port keeps the lr
# constant for half the epochs then decays it linearly; here a cosine decay to 0.
PRESETS["ff-mnist"] = {
    "data.name": "mnist",
    "data.normalize": False,
    "model.name": "mlp",
    "model.hidden": [1000, 1000, 1000],
    "model.activation": "relu",
    "rule.name": "ff",
    "rule.label": "overlay",
    "rule.label_value": 1.0,
    "rule.goodness": "sum",
    "rule.loss": "softplus",
    "rule.norm": "rms",
    "rule.prediction": "linear",
    "rule.skip_first": True,
    "rule.peer_weight": 0.03,
    "rule.peer_momentum": 0.9,
    "rule.relu_full_grad": True,
    "rule.classifier_scale": 10.0,
    "rule.classifier_weight_decay": 2.97e-3,
    "optimizer.name": "sgd",
    "optimizer.lr": 1e-3,
    "optimizer.momentum": 0.9,
    "optimizer.weight_decay": 3e-4,
    "optimizer.schedule": "warmup-cosine",
    "optimizer.warmup_fraction": 0.0,
    "optimizer.start_factor": 1.0,
    "optimizer.peak_factor": 1.0,
    "optimizer.end_factor": 0.0,
    "train.epochs": 100,
    "train.batch_size": 100,
}
# The seed's small setup (784-512-512 ReLU): standardised pixels with the label written as the
# image maximum (2.8215), length normalisation, mean-of-squares goodness, threshold 3,
# softplus loss, Adam(0.03), the layers' own (PyTorch-like uniform) init, goodness prediction
# over both layers, greedy: layer 1 then layer 2. The seed trains each layer for 1000
# full-batch steps on 50000 images; here 600 steps (10 epochs) of minibatches of 1000 each.
PRESETS["ff-mnist-seed"] = {
    "data.name": "mnist",
    "data.normalize": True,
    "model.name": "mlp",
    "model.hidden": [512, 512],
    "model.activation": "relu",
    "rule.name": "ff",
    "rule.label": "overlay",
    "rule.label_value": 2.8215,
    "rule.goodness": "mean",
    "rule.threshold": 3.0,
    "rule.loss": "softplus",
    "rule.norm": "length",
    "rule.eps": 1e-4,
    "rule.prediction": "goodness",
    "rule.skip_first": False,
    "rule.relu_full_grad": False,
    "rule.init": "network",
    "rule.greedy_steps": 600,
    "optimizer.name": "adam",
    "optimizer.lr": 0.03,
    "train.epochs": 20,
    "train.batch_size": 1000,
}
PRESET_HELP["ff-mnist"] = (
    "Forward-Forward, the best public port's recipe: 3x1000 ReLU, peer norm, SGD, 100 epochs"
)
PRESET_HELP["ff-mnist-seed"] = "Forward-Forward on the seed's 784-512-512 net (goodness prediction)"
# The feedback alignment and target propagation family on Nøkland (2016)'s 784-800-800-10 tanh
# MLP (standardised pixels, cross-entropy on the logits, Adam with a cosine decay to 0, 20
# epochs). FA and sign symmetry want a smaller step than DFA (their error passes through
# several random matrices); BP baselines on the same network with each batch size.
_FA_NET = {
    "data.name": "mnist",
    "data.normalize": True,
    "model.name": "mlp",
    "model.hidden": [800, 800],
    "model.activation": "tanh",
    "rule.cost": "cross-entropy",
    "optimizer.name": "adam",
    "optimizer.weight_decay": 0.0,
    "optimizer.schedule": "warmup-cosine",
    "optimizer.warmup_fraction": 0.0,
    "optimizer.start_factor": 1.0,
    "optimizer.peak_factor": 1.0,
    "optimizer.end_factor": 0.0,
    "train.epochs": 20,
}
_FA_B64 = {**_FA_NET, "optimizer.lr": 2e-4, "train.batch_size": 64}
_FA_B32 = {**_FA_NET, "optimizer.lr": 1e-3, "train.batch_size": 32}
PRESETS["fa-mnist-mlp"] = {**_FA_B64, "rule.name": "fa"}
PRESETS["sign-symmetry-mnist-mlp"] = {**_FA_B64, "rule.name": "sign-symmetry"}
PRESETS["bp-mnist-2x800-b64"] = {**_FA_B64, "rule.name": "bp"}
PRESETS["dfa-mnist-mlp"] = {**_FA_B32, "rule.name": "dfa"}
PRESETS["drtp-mnist-mlp"] = {**_FA_B32, "rule.name": "drtp"}
PRESETS["bp-mnist-2x800-b32"] = {**_FA_B32, "rule.name": "bp"}
PRESETS["dtp-mnist-mlp"] = {
    **_FA_NET,
    "optimizer.lr": 5e-4,
    "train.batch_size": 64,
    "rule.name": "dtp",
    "rule.target_lr": 0.1,
    "rule.noise": 0.1,
}
PRESETS["ldrl-mnist-mlp"] = {
    **{k: v for k, v in PRESETS["dtp-mnist-mlp"].items() if k != "rule.name"},
    "rule.name": "ldrl",
}
# Plain TP needs a large target step: its hidden targets g(h_hat) carry the decoders'
# reconstruction error, which the 1/eta layer-loss scale weighs down (eta = 0.1, DTP's value,
# leaves TP at chance; 20 trains it, see BENCHMARKS.md).
PRESETS["tp-mnist-mlp"] = {
    **PRESETS["dtp-mnist-mlp"],
    "rule.name": "tp",
    "rule.target_lr": 20.0,
    "rule.top_target": "gradient",
}
# DFA on a conv net (the seed's ConvDemo: two conv layers, then dense), a short run.
PRESETS["dfa-mnist-conv"] = {
    "data.name": "mnist",
    "model.name": "conv-demo",
    "rule.name": "dfa",
    "rule.cost": "cross-entropy",
    "optimizer.name": "adam",
    "optimizer.weight_decay": 0.0,
    "optimizer.lr": 1e-3,
    "train.epochs": 3,
    "train.batch_size": 64,
}
PRESET_HELP.update(
    {
        "fa-mnist-mlp": "feedback alignment, 784-800-800-10 tanh (Nøkland's net), Adam, 20 epochs",
        "sign-symmetry-mnist-mlp": "sign symmetry on the same net as fa-mnist-mlp",
        "bp-mnist-2x800-b64": "backprop on the same net and optimizer as fa-mnist-mlp",
        "dfa-mnist-mlp": "direct feedback alignment, 784-800-800-10 tanh, Adam, 20 epochs",
        "drtp-mnist-mlp": "direct random target projection on the same net as dfa-mnist-mlp",
        "bp-mnist-2x800-b32": "backprop on the same net and optimizer as dfa-mnist-mlp",
        "dtp-mnist-mlp": "difference target propagation (Lee et al. 2015), 784-800-800-10 tanh",
        "ldrl-mnist-mlp": "DTP with L-DRL feedback training (Ernoult et al. 2022), same net",
        "tp-mnist-mlp": "target propagation (no difference correction), same net as dtp-mnist-mlp",
        "dfa-mnist-conv": "DFA on a conv net (the seed's ConvDemo) on MNIST, 3 epochs",
    }
)
# SoftHebb (Journé et al. 2022): Hebbian conv blocks trained in one unsupervised epoch (plastic
# updates on micro-batches of 10, as their code), then a linear read-out on the frozen features
# (batch 60, Adam 1e-3 with a cosine decay, dropout 0.5) for the remaining epochs.
# CIFAR-10: their network (96-384-1536 channels, per-block lr and inverse temperature).
PRESETS["softhebb-cifar10"] = {
    "train.steps_per_call": 1,  # no compiled loop: see Trainer (XLA:CPU convs)
    "data.name": "cifar10",
    "data.normalize": False,  # each block standardises its input (batch norm without affine)
    "model.name": "softhebb-conv",
    "model.channels": [96, 384, 1536],
    "model.kernels": [5, 3, 3],
    "model.powers": [0.7, 1.4, 1.0],
    "model.pools": ["max", "max", "avg"],
    "rule.name": "softhebb",
    "rule.lr": [0.08, 0.005, 0.01],
    "rule.inverse_temperature": [1.0, 0.65, 0.25],
    "rule.hebbian_epochs": 1,
    "rule.hebbian_batch": 10,
    "rule.dropout": 0.5,
    "optimizer.name": "adam",
    "optimizer.lr": 1e-3,
    "optimizer.schedule": "warmup-cosine",
    "optimizer.warmup_fraction": 0.0,
    "optimizer.start_factor": 1.0,
    "optimizer.peak_factor": 1.0,
    "optimizer.end_factor": 0.0,
    "train.epochs": 11,
    "train.batch_size": 60,
}
# MNIST: the same blocks and per-block hyper-parameters, narrower (the CIFAR-10 widths take
# ~25 min per unsupervised epoch on one CPU core here).
PRESETS["softhebb-mnist"] = {
    **PRESETS["softhebb-cifar10"],
    "data.name": "mnist",
    "model.channels": [32, 128, 512],
}
PRESET_HELP.update(
    {
        "softhebb-cifar10": "SoftHebb's CIFAR-10 net (96-384-1536 Hebbian conv, 1 unsupervised epoch)",
        "softhebb-mnist": "SoftHebb conv net (32-128-512) on MNIST: 1 Hebbian epoch, then read-out",
    }
)
# One dense SoftHebb layer (2000 units, Moraitis et al. 2021's width) + read-out, on MNIST.
PRESETS["softhebb-mnist-dense"] = {
    **{k: v for k, v in PRESETS["softhebb-mnist"].items() if not k.startswith("model.")},
    "model.name": "softhebb-mlp",
    "model.hidden": [2000],
    "model.power": 1.0,
    "rule.lr": [0.05],
    "rule.inverse_temperature": [0.5],
    "train.steps_per_call": 64,  # dense: the compiled loop is the faster one here
}
PRESET_HELP["softhebb-mnist-dense"] = "one dense SoftHebb layer (2000 units) + read-out, MNIST"
# The classic local rules on one dense Hebbian layer (2000 units, Krotov & Hopfield's width),
# one unsupervised epoch (batch 100), then the read-out as in softhebb-mnist. The default update
# is Krotov & Hopfield's ranking rule; `--set rule.update=oja|sanger|wta|hebb|bcm` for the others.
PRESETS["hebbian-mnist"] = {
    **{k: v for k, v in PRESETS["softhebb-mnist-dense"].items() if not k.startswith("rule.")},
    "rule.name": "hebbian",
    "rule.update": "krotov-hopfield",
    "rule.lr": [0.02],
    "rule.normalise_step": True,
    "rule.dropout": 0.5,
    "train.batch_size": 100,
    "train.epochs": 6,
}
PRESET_HELP["hebbian-mnist"] = (
    "a classic local rule (default Krotov-Hopfield) on 2000 dense units, then read-out, MNIST"
)

# --- the published CIFAR-10 networks (GPU-class runs; the bench's `cifar10` suite) ----------
# PCX's VGG-5 (Pinchetti et al. 2024, examples/s4_1_discriminative_mode/VGG5, PC-CE): conv
# 128-256-512-512 (3x3, padding 1) each followed by hard tanh and 2x2 max-pool, then a linear
# read-out with a cross-entropy energy; T = 8, states SGD(0.01471, momentum 0.05), weights
# AdamW(2.641e-4, wd 1.211e-5), batch 128, 50 epochs, flips and 4-pixel crops. (The warmup-
# cosine schedule mirrors their MNIST configs.)
_PCX_SCHEDULE = {
    k: v
    for k, v in PRESETS["pcx-mnist-mlp"].items()
    if k == "optimizer.schedule" or k.endswith(("_fraction", "_factor"))
}
PRESETS["pcx-cifar10-vgg5"] = {
    "train.steps_per_call": 1,  # no compiled loop: see Trainer (XLA:CPU convs)
    "data.name": "cifar10",
    "data.augment": "crop-flip",
    "model.name": "conv-pool",
    "model.channels": [128, 256, 512, 512],
    "model.activation": "hard-tanh",
    "rule.name": "pc",
    "rule.mode": "strict",
    "rule.cost": "cross-entropy",
    "rule.steps": 8,
    "rule.state_lr": 0.01471,
    "rule.state_momentum": 0.05,
    "optimizer.name": "adamw",
    "optimizer.lr": 2.641e-4,
    "optimizer.weight_decay": 1.211e-5,
    **_PCX_SCHEDULE,
    "train.epochs": 50,
    "train.batch_size": 128,
}
PRESETS["bp-cifar10-vgg5"] = {
    **{k: v for k, v in PRESETS["pcx-cifar10-vgg5"].items() if not k.startswith("rule.")},
    "rule.name": "bp",
    "rule.cost": "cross-entropy",
}
# Ernoult et al. (2022)'s SimpleVGG for DTP: conv 128-128-256-256-512 (3x3, padding 1) each
# followed by ELU and 2x2 max-pool, linear read-out; decoders are max-unpool -> ELU ->
# transposed conv, trained by L-DRL. Their "parallel" DTP (one feedback step per batch, the
# feedback loss averaged over 10 noise draws, noise 0.4 0.4 0.2 0.2 0.08 bottom to top,
# beta 0.7, Adam 3e-4 with weight decay 1e-4 for both weight sets), batch 128, 90 epochs.
PRESETS["dtp-cifar10-simplevgg"] = {
    "train.steps_per_call": 1,  # no compiled loop: see Trainer (XLA:CPU convs)
    "data.name": "cifar10",
    "data.augment": "crop-flip",
    "model.name": "conv-pool",
    "model.channels": [128, 128, 256, 256, 512],
    "model.activation": "elu",
    "rule.name": "ldrl",
    "rule.target_lr": 0.7,
    "rule.feedback_activation": "elu",
    "rule.layer_noise": [0.4, 0.4, 0.2, 0.2, 0.08],
    "rule.noise_samples": 10,
    "optimizer.name": "adamw",
    "optimizer.lr": 3e-4,
    "optimizer.weight_decay": 1e-4,
    "train.epochs": 90,
    "train.batch_size": 128,
}
PRESETS["bp-cifar10-simplevgg"] = {
    **{k: v for k, v in PRESETS["dtp-cifar10-simplevgg"].items() if not k.startswith("rule.")},
    "rule.name": "bp",
    "rule.cost": "cross-entropy",
}
PRESET_HELP.update(
    {
        "pcx-cifar10-vgg5": "PCX's VGG-5 on CIFAR-10: PC with a cross-entropy energy, T=8, 50 epochs",
        "bp-cifar10-vgg5": "the VGG-5 of pcx-cifar10-vgg5 trained by backprop (the baseline)",
        "dtp-cifar10-simplevgg": "DTP + L-DRL on Ernoult et al. 2022's SimpleVGG (parallel variant)",
        "bp-cifar10-simplevgg": "the SimpleVGG of dtp-cifar10-simplevgg trained by backprop",
    }
)
