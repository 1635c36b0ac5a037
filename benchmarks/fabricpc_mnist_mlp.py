#!/usr/bin/env python
"""Baseline benchmark: the FabricPC predictive-coding library (PyPI ``fabricpc`` 0.6.0) on real MNIST.

A second external reference beside PCX (``benchmarks/pcx_mnist_mlp.py``): the same network,
data handling, timing conventions and JSON keys, written with FabricPC's own API
(github trueagi-io/FabricPC). It does not import plastix; run it in the FabricPC
virtualenv created by ``benchmarks/setup_fabricpc_env.sh``:

    .venv-fabricpc/bin/python benchmarks/fabricpc_mnist_mlp.py --epochs 3
    .venv-fabricpc/bin/python benchmarks/fabricpc_mnist_mlp.py --epochs 1 --json /tmp/fpc.json

(The script pins JAX to the CPU itself unless JAX_PLATFORMS is set.)

What is replicated
------------------
PCX's MLP-on-MNIST "PC_SE" setting, exactly as ``pcx_mnist_mlp.py`` runs it, built the
way FabricPC's examples build a classifier (``examples/mnist_demo.py``):

* graph ``pixels -> h1 -> h2 -> h3 -> out`` (784-128-128-128-10) with
  ``fabricpc.graph_assembly.graph``: the input is an ``IdentityNode`` clamped to the image
  (``TaskMap(x=pixels, y=out)``), the three hidden layers are ``Linear`` nodes with
  ``GeluActivation`` (``jax.nn.gelu``, tanh approximation, as ``jax.nn.gelu`` in PCX), the
  output is a ``Linear`` node with the identity activation.  Every ``Linear`` node keeps
  FabricPC's default ``GaussianEnergy()`` (precision 1): E = 0.5 * ||z - mu||^2 per node,
  summed over units -- the same scaling as PCX's ``se_energy``.  As in PCX, a node's value
  is the post-activation output of its layer (mu = act(W z_prev + b)).
* training (``algorithm="pc"``): the output node is clamped to the one-hot label and the
  states are initialised by a forward pass (FabricPC's default ``FeedforwardStateInit``,
  = PCX's ``STATUS.INIT`` forward); T = 8 inference steps with ``InferenceSGD(eta_infer=
  0.0105, infer_steps=8)`` on the three hidden nodes; then the local weight gradients are
  evaluated at the relaxed states (a (T+1)-th forward pass, as in PCX) and applied with
  AdamW.
* energy reduction: each sample's states follow the gradient of that sample's own energy
  (FabricPC sums per-sample energies over the batch before differentiating), and FabricPC's
  trainer divides the batch-summed weight gradients by the batch size
  (``pc_weight_gradients`` / ``grad_denominator``), so the weights follow the batch-MEAN
  energy -- the same reduction as PCX's ``psum`` + ``scale_by=1/B``.
* weight optimiser: ``optax.adamw`` (lr 2.97e-4, weight decay 3.55e-4) driven by PCX's
  schedule ``optax.warmup_cosine_decay_schedule(init_value=lr, peak_value=1.1*lr,
  warmup_steps=round(0.1*total_steps), decay_steps=total_steps, end_value=0.1*lr)``;
  FabricPC takes any optax ``GradientTransformation``, so this is passed unchanged.
* weight initialisation: PCX's layers are equinox Linears, W ~ U(-1/sqrt(fan_in),
  +1/sqrt(fan_in)); here every Linear node gets FabricPC's ``UniformInitializer`` with that
  bound (FabricPC's default would be Kaiming-normal).
* batch 128, shuffled every epoch (numpy, seeded with ``--seed``), last incomplete batch
  dropped (468 steps/epoch); inputs normalised (x/255 - 0.1307)/0.3081; the data come from
  the local gzipped IDX files (``--data-dir``) read with numpy/gzip and are held in memory.
  FabricPC's ``MnistLoader`` needs tensorflow-datasets, so the script gives FabricPC a small
  loader of its own (``ArrayLoader``: ``len()`` + iteration yielding ``(x, one_hot_y)``
  numpy batches, the format ``MnistLoader`` yields and ``fabricpc.training.convert_batch``
  accepts; it also works as ``train``'s ``train_loader``).
* evaluation: ``fabricpc.evaluate`` (its default ``accuracy`` metric, argmax of the output
  node's prediction) on the whole 10 000-image test set, after every epoch; its last batch
  holds 16 images (FabricPC's metrics are weighted per sample, so nothing is padded).
  ``evaluate`` clamps only the input, initialises the states by the forward pass and runs
  the T = 8 inference steps with the output free; from a forward-initialised state every
  prediction error is zero, so the states do not move and the prediction is the plain
  forward pass, as in PCX's evaluation.

Deviations from the PCX setting
-------------------------------
* **No momentum on the states**: FabricPC 0.6.0's inference algorithms (``InferenceSGD``,
  ``InferenceSGDNormClip``, ``EPCInference``) have no momentum, so the states take plain
  SGD steps z -= 0.0105 * dE/dz (PCX: SGD lr 0.0105 with momentum 0.65, re-initialised per
  batch).  With the same 8 steps the states therefore move less far than in PCX.
* biases start at zero (FabricPC's ``Linear`` has no bias initialiser; PCX/equinox draws
  them from U(-1/sqrt(fan_in), +1/sqrt(fan_in))).
* the input is a clamped ``IdentityNode``: FabricPC also computes (and discards) the energy
  gradient with respect to the clamped pixels at every inference step, work PCX does not do
  (its input is not a vode).  This is FabricPC's cost, kept as a user would get it.
* per-batch latent-initialisation keys are derived as in ``fabricpc.train``
  (``fold_in(fold_in(key, epoch), batch)``); they are drawn before each epoch's clock
  starts.  (With ``FeedforwardStateInit`` the random draws are overwritten by the forward
  pass, so they do not change the result.)
* evaluation runs FabricPC's T inference steps (which leave the states unchanged, see
  above) instead of a bare forward pass; it is not timed.
As for PCX, PCX's own scripts used the (x - 0.5)/0.5 normalisation and a torchvision
DataLoader.

Training loop: ``make_train_step`` in a Python loop, not ``train``
-------------------------------------------------------------------
``fabricpc.train`` runs all epochs in one call and builds a fresh ``jax.jit`` of its step
on every call (so calling it once per epoch would recompile every epoch).  For per-epoch
timing the script therefore does what FabricPC offers for custom loops:
``step = fabricpc.training.make_train_step(structure, optimizer)`` (one jitted function:
feedforward init + T inference steps + local weight gradients + optax update), called once
per batch from a Python loop with the batch converted by ``convert_batch`` -- the same
per-batch work as ``train``'s inner loop.  Differences from ``train``'s internal step:
``make_train_step`` does not donate the params/optimiser buffers and also returns the
settled graph state; the metrics (energy) are left on the device and not summed.

Timing
------
* ``compile_seconds``: wall time of the very first ``step`` call (trace + compile + one
  step on batch 0 of epoch 1), measured with ``jax.block_until_ready``.  That call is a
  real training step (it is not thrown away).
* ``seconds_per_epoch[e]``: wall time of the Python loop over the epoch's batches, ended by
  ``jax.block_until_ready`` on the params and the optimiser state.  For epoch 1 the first
  (compiling) call is excluded, so epoch 1 times 467 steps and the others 468; the epoch's
  shuffle (one permuted copy of the training array) and the per-batch keys are prepared
  before the clock starts, and evaluation happens after it stops.
  ``median_seconds_per_epoch`` is their median.
* ``n_train_traces``: the number of compiled versions of ``step`` after the run (its jit
  cache size); more than 1 would mean a recompile inside a timed epoch.
"""

from __future__ import annotations

import os

# Pin JAX to the CPU before jax is imported (respect an explicit user setting).
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import platform
import sys
import time
from importlib import metadata

import jax
import numpy as np
import optax
from fabricpc import evaluate, initialize_params
from fabricpc.core.activations import GeluActivation, IdentityActivation
from fabricpc.core.energy import GaussianEnergy
from fabricpc.core.inference import InferenceSGD
from fabricpc.core.initializers import UniformInitializer
from fabricpc.core.topology import Edge
from fabricpc.graph_assembly import TaskMap, graph
from fabricpc.nodes import IdentityNode, Linear
from fabricpc.training import convert_batch, make_train_step

# Hyper-parameters of PCX's MLP / MNIST / PC-SE configuration.
from _peer_mnist import (
    BATCH_SIZE,
    DEFAULT_DATA_DIR,
    HIDDEN,
    NM_LAYERS,
    T_INFERENCE,
    W_WD,
    X_LR,
    load_mnist,
    parse_args,
    timing_fields,
    warmup_cosine,
    write_summary,
)

X_MOMENTUM = 0.0  # FabricPC's InferenceSGD has no momentum (PCX: 0.65)


class ArrayLoader:
    """In-memory stand-in for FabricPC's ``MnistLoader``.

    ``len()`` is the number of batches; iterating yields ``(x, one_hot_y)`` float32 numpy
    batches.  With ``shuffle=True`` every pass is a fresh permutation; ``prepare_epoch()``
    draws that permutation (and copies the data into it) ahead of time, so that a timed
    loop over the loader measures only the training steps.  ``drop_last`` drops the last
    incomplete batch.
    """

    def __init__(self, x, y_onehot, batch_size, *, shuffle, drop_last, seed=0):
        self.x, self.y = x, y_onehot
        self.batch_size = batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.rng = np.random.default_rng(seed)
        self._epoch = None  # (xs, ys) prepared for the next pass

    def __len__(self) -> int:
        n = self.x.shape[0]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def prepare_epoch(self) -> None:
        if self.shuffle:
            perm = self.rng.permutation(self.x.shape[0])
            self._epoch = (
                np.ascontiguousarray(self.x[perm]),
                np.ascontiguousarray(self.y[perm]),
            )
        else:
            self._epoch = (self.x, self.y)

    def __iter__(self):
        if self._epoch is None:
            self.prepare_epoch()
        xs, ys = self._epoch
        self._epoch = None
        for b in range(len(self)):
            sl = slice(b * self.batch_size, (b + 1) * self.batch_size)
            yield xs[sl], ys[sl]


# ----------------------------------------------------------------------------------------
# Model (FabricPC object API, as in FabricPC's examples).
# ----------------------------------------------------------------------------------------


def _eqx_uniform(fan_in: int) -> UniformInitializer:
    """equinox/PCX Linear weight init: U(-1/sqrt(fan_in), +1/sqrt(fan_in))."""
    bound = 1.0 / float(np.sqrt(fan_in))
    return UniformInitializer(min_val=-bound, max_val=bound)


def build_structure():
    dims = [784] + [HIDDEN] * (NM_LAYERS - 1) + [10]
    pixels = IdentityNode(shape=(dims[0],), name="pixels")
    hidden = [
        Linear(
            shape=(dims[i + 1],),
            name=f"h{i + 1}",
            activation=GeluActivation(),
            energy=GaussianEnergy(),
            weight_init=_eqx_uniform(dims[i]),
        )
        for i in range(NM_LAYERS - 1)
    ]
    out = Linear(
        shape=(dims[-1],),
        name="out",
        activation=IdentityActivation(),
        energy=GaussianEnergy(),
        weight_init=_eqx_uniform(dims[-2]),
    )
    chain = [pixels, *hidden, out]
    return graph(
        nodes=chain,
        edges=[Edge(source=a, target=b.slot("in")) for a, b in zip(chain[:-1], chain[1:])],
        task_map=TaskMap(x=pixels, y=out),
        inference=InferenceSGD(eta_infer=X_LR, infer_steps=T_INFERENCE),
    )


# ----------------------------------------------------------------------------------------
# Benchmark.
# ----------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    args = parse_args(__doc__.split("\n")[0], DEFAULT_DATA_DIR, argv)

    x_tr, y_tr, x_te, y_te = load_mnist(args.data_dir)
    eye = np.eye(10, dtype=np.float32)
    train_loader = ArrayLoader(
        x_tr, eye[y_tr], BATCH_SIZE, shuffle=True, drop_last=True, seed=args.seed
    )
    test_loader = ArrayLoader(x_te, eye[y_te], BATCH_SIZE, shuffle=False, drop_last=False)
    n_batches = len(train_loader)  # drop last
    total_steps = n_batches * args.epochs

    structure = build_structure()
    param_key, train_key, eval_key = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    params = initialize_params(structure, param_key)

    schedule = warmup_cosine(optax, total_steps)
    optimizer = optax.adamw(schedule, weight_decay=W_WD)
    opt_state = optimizer.init(params)
    step = make_train_step(structure, optimizer, algorithm="pc")
    eval_config = {"num_epochs": args.epochs}

    seconds_per_epoch: list[float] = []
    test_accuracy: list[float] = []
    compile_seconds = None

    for epoch in range(args.epochs):
        train_loader.prepare_epoch()
        epoch_key = jax.random.fold_in(train_key, epoch)
        batch_keys = [jax.random.fold_in(epoch_key, b) for b in range(n_batches)]
        batches = iter(train_loader)
        jax.block_until_ready((params, opt_state, batch_keys))

        start = 0
        if compile_seconds is None:
            t0 = time.perf_counter()
            params, opt_state, _, _ = step(
                params, opt_state, convert_batch(next(batches)), batch_keys[0]
            )
            jax.block_until_ready((params, opt_state))
            compile_seconds = time.perf_counter() - t0
            start = 1

        t0 = time.perf_counter()
        for b, batch_data in enumerate(batches, start=start):
            params, opt_state, _, _ = step(
                params, opt_state, convert_batch(batch_data), batch_keys[b]
            )
        jax.block_until_ready((params, opt_state))
        dt = time.perf_counter() - t0
        seconds_per_epoch.append(dt)

        metrics = evaluate(params, structure, test_loader, eval_config, eval_key, algorithm="pc")
        acc = float(metrics["accuracy"])
        test_accuracy.append(acc)
        print(
            f"epoch {epoch + 1}/{args.epochs}: {dt:.3f} s ({n_batches - start} steps, "
            f"{1e3 * dt / (n_batches - start):.2f} ms/step), test accuracy {acc:.4f}",
            file=sys.stderr,
            flush=True,
        )

    cache_size = getattr(step, "_cache_size", None)
    n_train_traces = cache_size() if callable(cache_size) else None
    summary = {
        "library": "fabricpc",
        "version": metadata.version("fabricpc"),
        "jax": jax.__version__,
        "jaxlib": metadata.version("jaxlib"),
        "optax": optax.__version__,
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "model": "784-128-128-128-10 gelu, gaussian energy, output clamped",
        "T": T_INFERENCE,
        "state_lr": X_LR,
        "state_momentum": X_MOMENTUM,
        "batch_size": BATCH_SIZE,
        "steps_per_epoch": n_batches,
        "seed": args.seed,
        "epochs": args.epochs,
        "train_loop": "make_train_step in a Python loop",
        **timing_fields(seconds_per_epoch, compile_seconds, test_accuracy),
        "n_train_traces": n_train_traces,
    }
    if n_train_traces is not None and n_train_traces != 1:
        print(f"WARNING: the train step was compiled {n_train_traces} times", file=sys.stderr)
    return write_summary(summary, args.json)


if __name__ == "__main__":
    main()
