#!/usr/bin/env python
"""Baseline benchmark: the PCX predictive-coding library (PyPI ``pcx`` 0.6.3) on real MNIST.

This is the reference that ``plastix`` has to beat.  It does not import plastix (plastix
needs a newer JAX than the ``jax<0.5`` that pcx 0.6.3 pins); run it in the pcx virtualenv
created by ``benchmarks/setup_pcx_env.sh``:

    JAX_PLATFORMS=cpu .venv-pcx/bin/python benchmarks/pcx_mnist_mlp.py --epochs 3

(The script pins JAX to the CPU itself, so setting JAX_PLATFORMS is optional.)

What is replicated
------------------
The MLP-on-MNIST "PC_SE" setting of PCX's paper experiments (pcx repository, branch
``publish``: ``examples/s4_1_discriminative_mode/MLP/mnist/L_PC_SE_mnist.yaml`` with
``PC_SE.py``, and the wall-clock version in
``examples/s6_computational_resources/time_benchmarking/MLP/mnist/``), written with the
pcx 0.6 API in the style of pcx's own tutorial (``examples/0_two_moons.ipynb``):

* network 784-128-128-128-10: four ``pxnn.Linear`` layers, gelu after the three hidden
  layers, linear output; one ``pxc.Vode`` after every layer, all with pcx's default
  squared-error energy ``se_energy`` (E = 0.5 * ||h - u||^2 per vode, summed over units);
* the output vode is marked ``frozen`` and its value ``h`` is clamped to the one-hot label
  during the forward initialisation of every training batch; the three hidden vodes are
  the free states.  (The input is not a vode.)
* ``train_on_batch`` (one ``pxf.jit`` call per mini-batch, called from a Python loop):
    1. forward initialisation under ``pxu.step(model, STATUS.INIT)``: every vode gets
       h = u, then the output vode's h is overwritten with the label;
    2. the state optimiser (SGD lr 0.0105, momentum 0.65) is re-initialised for the batch;
    3. T = 8 inference steps; each computes the energy and its gradient w.r.t. the
       non-frozen vode values only (``pxf.value_and_grad`` with a ``M_hasnot(frozen)`` mask)
       and applies one SGD step to the states;
    4. after the T-th state update the energy is evaluated once more (a (T+1)-th forward
       pass) and its gradient w.r.t. the weights (``pxnn.LayerParam``) is applied with
       AdamW (lr 2.97e-4, weight decay 3.55e-4).
* energy reduction: the energy is SUMMED over the batch (``jax.lax.psum`` over the vmapped
  batch axis, as in the pcx tutorial), so each sample's states see the gradient of their
  own energy; the weight gradient is scaled by 1/batch_size (``scale_by=1/B``), i.e. the
  weights follow the batch-MEAN energy.  This is exactly equivalent to the paper script's
  ``pmean`` energy + ``scale_by_batch_size=True`` state step + unscaled weight step.
* weight learning-rate schedule, as in PCX's script:
  ``optax.warmup_cosine_decay_schedule(init_value=lr, peak_value=1.1*lr,
  warmup_steps=0.1*total_steps, decay_steps=total_steps, end_value=0.1*lr)`` with
  ``total_steps = batches_per_epoch * epochs`` -- i.e. the warm-up lasts 10% of the whole
  run (0.3 epoch for the default 3 epochs), and the schedule is stretched over
  ``--epochs``.  (PCX passes the float 0.1*total; here it is rounded to an int.)
* batch size 128, shuffled every epoch, last incomplete batch dropped (468 steps/epoch).
* evaluation: a forward pass (STATUS.INIT, no label) and argmax of the output, on the whole
  10 000-image test set (the last test batch is zero-padded to 128 so that every jitted
  call sees the same shapes; padded rows are ignored).

Deviations from PCX's scripts: inputs are normalised with MNIST's mean/std
(x/255 - 0.1307)/0.3081 instead of PCX's (x - 0.5)/0.5, and the data come from the local
gzipped IDX files via numpy instead of a torchvision DataLoader (the data are held in
memory as float32 and one-hot labels are precomputed, so the timings measure pcx, not a
data pipeline).  PCX's paper runs used T=8 for 25 epochs (accuracy) and T=5 for timing;
this benchmark uses T=8.

Timing
------
* ``compile_seconds``: wall time of the very first ``train_on_batch`` call (trace +
  compile + one step on batch 0 of epoch 1), measured with ``jax.block_until_ready``.
  That call is a real training step (it is not thrown away).
* ``seconds_per_epoch[e]``: wall time of the Python loop over the epoch's batches, ended by
  ``jax.block_until_ready`` on the weights and the optimiser state.  For epoch 1 the first
  (compiling) call is excluded, so epoch 1 times 467 steps and the others 468; the epoch's
  shuffle (one permuted copy of the training array) happens before the clock starts, and
  evaluation happens after it stops.  ``median_seconds_per_epoch`` is their median.
* The script checks that ``train_on_batch`` is traced exactly once (a recompile inside a
  timed epoch would be reported as ``n_train_traces`` > 1).
"""

from __future__ import annotations

import os

# Pin JAX to the CPU before jax is imported (respect an explicit user setting).
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata

import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
import pcx as px
import pcx.functional as pxf
import pcx.nn as pxnn
import pcx.predictive_coding as pxc
import pcx.utils as pxu

# Hyper-parameters of PCX's MLP / MNIST / PC-SE configuration.
from _peer_mnist import (
    BATCH_SIZE,
    DEFAULT_DATA_DIR,
    HIDDEN,
    NM_LAYERS,
    T_INFERENCE,
    W_WD,
    X_LR,
    X_MOMENTUM,
    load_mnist,
    parse_args,
    timing_fields,
    warmup_cosine,
    write_summary,
)

# ----------------------------------------------------------------------------------------
# Model (pcx API, as in pcx's examples).
# ----------------------------------------------------------------------------------------


class MLP(pxc.EnergyModule):
    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        nm_layers: int,
        act_fn: Callable[[jax.Array], jax.Array],
    ) -> None:
        super().__init__()
        self.act_fn = px.static(act_fn)
        dims = [input_dim] + [hidden_dim] * (nm_layers - 1) + [output_dim]
        self.layers = [pxnn.Linear(i, o) for i, o in zip(dims[:-1], dims[1:])]
        # One value node per layer; all use the default squared-error energy.
        self.vodes = [pxc.Vode() for _ in range(nm_layers)]
        # The output vode is clamped to the label: it is never optimised during inference.
        self.vodes[-1].h.frozen = True

    def __call__(self, x, y):
        for vode, layer in zip(self.vodes[:-1], self.layers[:-1]):
            x = vode(self.act_fn(layer(x)))
        self.vodes[-1](self.layers[-1](x))  # linear output
        if y is not None:
            self.vodes[-1].set("h", y)
        return self.vodes[-1].get("u")


_VODE_BATCHED = pxu.M(pxc.VodeParam | pxc.VodeParam.Cache).to((None, 0))


@pxf.vmap(_VODE_BATCHED, in_axes=(0, 0), out_axes=0)
def forward(x, y, *, model: MLP):
    return model(x, y)


@pxf.vmap(_VODE_BATCHED, in_axes=(0,), out_axes=(None, 0), axis_name="batch")
def energy(x, *, model: MLP):
    y_ = model(x, None)
    return jax.lax.psum(model.energy(), "batch"), y_


TRACE_COUNT = {"train_on_batch": 0, "eval_on_batch": 0}


@pxf.jit(static_argnums=0)
def train_on_batch(
    T: int, x: jax.Array, y: jax.Array, *, model: MLP, optim_w: pxu.Optim, optim_h: pxu.Optim
):
    TRACE_COUNT["train_on_batch"] += 1  # Python side effect: runs only while tracing
    model.train()

    # Forward initialisation of all states; the output vode is clamped to the label.
    with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
        forward(x, y, model=model)

    # Fresh state-optimiser (momentum) for this batch, over the non-frozen vodes only.
    optim_h.init(pxu.M_hasnot(pxc.VodeParam, frozen=True)(model))

    # Inference: T gradient steps on the hidden states.
    for _ in range(T):
        with pxu.step(model, clear_params=pxc.VodeParam.Cache):
            _, g = pxf.value_and_grad(
                pxu.M_hasnot(pxc.VodeParam, frozen=True).to([False, True]), has_aux=True
            )(energy)(x, model=model)
        optim_h.step(model, g["model"])
    optim_h.clear()

    # Learning: weight gradient of the energy at the relaxed states (batch mean).
    with pxu.step(model, clear_params=pxc.VodeParam.Cache):
        _, g = pxf.value_and_grad(pxu.M(pxnn.LayerParam).to([False, True]), has_aux=True)(energy)(
            x, model=model
        )
    optim_w.step(model, g["model"], scale_by=1.0 / x.shape[0])


@pxf.jit()
def eval_on_batch(x: jax.Array, *, model: MLP):
    TRACE_COUNT["eval_on_batch"] += 1
    model.eval()
    with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
        y_ = forward(x, None, model=model).argmax(axis=-1)
    return y_


def _arrays(*trees):
    return [leaf for leaf in jtu.tree_leaves(trees) if isinstance(leaf, jax.Array)]


def evaluate(x_te: np.ndarray, y_te: np.ndarray, *, model: MLP) -> float:
    n = x_te.shape[0]
    n_pad = (-n) % BATCH_SIZE
    x_pad = np.concatenate([x_te, np.zeros((n_pad, x_te.shape[1]), x_te.dtype)]) if n_pad else x_te
    preds = [
        eval_on_batch(x_pad[i : i + BATCH_SIZE], model=model)
        for i in range(0, x_pad.shape[0], BATCH_SIZE)
    ]
    preds = np.concatenate([np.asarray(p) for p in preds])[:n]
    return float((preds == y_te).mean())


# ----------------------------------------------------------------------------------------
# Benchmark.
# ----------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    args = parse_args(__doc__.split("\n")[0], DEFAULT_DATA_DIR, argv)

    x_tr, y_tr, x_te, y_te = load_mnist(args.data_dir)
    y_tr_onehot = np.eye(10, dtype=np.float32)[y_tr]
    n_batches = x_tr.shape[0] // BATCH_SIZE  # drop last
    total_steps = n_batches * args.epochs

    px.RKG.seed(args.seed)  # weight initialisation
    rng = np.random.default_rng(args.seed)  # shuffling

    model = MLP(784, HIDDEN, 10, NM_LAYERS, jax.nn.gelu)

    # Create the vode values (shapes) once with a forward pass, then build the optimisers.
    with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
        forward(jnp.zeros((BATCH_SIZE, 784), jnp.float32), None, model=model)

    schedule = warmup_cosine(optax, total_steps)
    optim_w = pxu.Optim(
        lambda: optax.adamw(schedule, weight_decay=W_WD), pxu.M(pxnn.LayerParam)(model)
    )
    # The state optimiser is (re-)initialised inside train_on_batch for every batch.
    optim_h = pxu.Optim(lambda: optax.sgd(X_LR, momentum=X_MOMENTUM))

    seconds_per_epoch: list[float] = []
    test_accuracy: list[float] = []
    compile_seconds = None

    for epoch in range(args.epochs):
        perm = rng.permutation(x_tr.shape[0])[: n_batches * BATCH_SIZE]
        xs = np.ascontiguousarray(x_tr[perm])
        ys = np.ascontiguousarray(y_tr_onehot[perm])
        model.train()  # eval_on_batch left the (static) mode flag on EVAL; keep the jit cache key stable
        jax.block_until_ready(_arrays(model, optim_w))

        start = 0
        if compile_seconds is None:
            t0 = time.perf_counter()
            train_on_batch(
                T_INFERENCE,
                xs[0:BATCH_SIZE],
                ys[0:BATCH_SIZE],
                model=model,
                optim_w=optim_w,
                optim_h=optim_h,
            )
            jax.block_until_ready(_arrays(model, optim_w))
            compile_seconds = time.perf_counter() - t0
            start = 1

        t0 = time.perf_counter()
        for b in range(start, n_batches):
            sl = slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE)
            train_on_batch(
                T_INFERENCE, xs[sl], ys[sl], model=model, optim_w=optim_w, optim_h=optim_h
            )
        jax.block_until_ready(_arrays(model, optim_w))
        dt = time.perf_counter() - t0
        seconds_per_epoch.append(dt)

        acc = evaluate(x_te, y_te, model=model)
        test_accuracy.append(acc)
        print(
            f"epoch {epoch + 1}/{args.epochs}: {dt:.3f} s ({n_batches - start} steps, "
            f"{1e3 * dt / (n_batches - start):.2f} ms/step), test accuracy {acc:.4f}",
            file=sys.stderr,
            flush=True,
        )

    summary = {
        "library": "pcx",
        "version": metadata.version("pcx"),
        "jax": jax.__version__,
        "jaxlib": metadata.version("jaxlib"),
        "equinox": metadata.version("equinox"),
        "optax": optax.__version__,
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "model": "784-128-128-128-10 gelu, se energy, output clamped",
        "T": T_INFERENCE,
        "batch_size": BATCH_SIZE,
        "steps_per_epoch": n_batches,
        "seed": args.seed,
        "epochs": args.epochs,
        **timing_fields(seconds_per_epoch, compile_seconds, test_accuracy),
        "n_train_traces": TRACE_COUNT["train_on_batch"],
        "n_eval_traces": TRACE_COUNT["eval_on_batch"],
    }
    if TRACE_COUNT["train_on_batch"] != 1:
        print(
            f"WARNING: train_on_batch was traced {TRACE_COUNT['train_on_batch']} times",
            file=sys.stderr,
        )
    return write_summary(summary, args.json)


if __name__ == "__main__":
    main()
