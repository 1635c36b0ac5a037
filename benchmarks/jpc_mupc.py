"""jpc's μPC MNIST setup, timed: the peer side of ``benchmarks/mupc_vs_jpc.py``.

Runs in jpc's own environment (``benchmarks/setup_jpc_env.sh``), never in plastix's. The
setup is jpc's ``examples/mupc.ipynb`` (the μPC paper's tutorial): ``jpc.make_mlp`` (ReLU,
no biases, ``param_type="mupc"``) with ``jpc.make_skip_model``, activities initialised by
a feedforward pass, ``T = len(model)`` (= H + 1) steps of ``optax.sgd(0.5)`` on the
activities, ``optax.adam(0.1)`` on the weights, batch 64, MSE on one-hot labels. The data
are plastix's: the same standardisation and the same batch order (plastix's
``epoch_permutation``: numpy's generator seeded by ``(seed, epoch)``, written out below), so
the two libraries see the same batches.

``--loop example`` is the notebook's loop (a Python loop of ``T`` calls to the jitted
``jpc.update_pc_activities``, then ``jpc.update_pc_params``); ``--loop jit`` puts the whole
training step in one ``eqx.filter_jit`` with the ``T`` activity updates in a ``lax.scan``
(what a user would write for speed); ``--loop ode`` is jpc's own adaptive training step,
``jpc.make_pc_step`` (Heun, PID controller with rtol = atol = 1e-3, as jpc's defaults) to the
fixed steps' horizon ``max_t1 = T x 0.5``. ``compile_seconds``: the first training step (trace,
compile, run); ``seconds_per_epoch``: the other steps (plus one median step for the first).

``--width 512 --steps 8 --param-lr 0.4`` is the μPC paper's own training script's setup
(``experiments/mupc_paper/train_pcn_no_metrics.py``: width 512, 8 activity steps; the Adam
rate as plastix's ``mupc-paper-mnist`` preset chose it on validation).

Usage: ``.venv-jpc/bin/python benchmarks/jpc_mupc.py --depth 16 --loop jit --json out.json``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jpc
import numpy as np
import optax

from _peer_mnist import DEFAULT_DATA_DIR, read_idx, write_summary

# plastix's MNIST standardisation (plastix.data: from the real train images, population std)
MEAN, STD = 0.1306605, 0.3081078


def load(data_dir: Path) -> tuple[np.ndarray, ...]:
    def images(name: str) -> np.ndarray:
        x = read_idx(data_dir / name).reshape(-1, 784).astype(np.float32) / 255.0
        return ((x - MEAN) / STD).astype(np.float32)

    def onehot(name: str) -> np.ndarray:
        return np.eye(10, dtype=np.float32)[read_idx(data_dir / name)]

    return (
        images("train-images-idx3-ubyte.gz"),
        onehot("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        onehot("t10k-labels-idx1-ubyte.gz"),
    )


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """plastix.data's epoch order (plastix counts epochs from 1)."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch])).permutation(n)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--depth", type=int, default=64, help="hidden layers H (jpc depth H + 1)")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--activity-lr", type=float, default=0.5)
    p.add_argument("--param-lr", type=float, default=0.1)
    p.add_argument("--train-limit", type=int, default=None, help="first N training images")
    p.add_argument(
        "--steps", type=int, default=None, help="activity steps T (default: len(model) = H + 1)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loop", choices=("example", "jit", "ode"), default="jit")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    x_tr, y_tr, x_te, y_te = load(args.data_dir)
    if args.train_limit is not None:
        x_tr, y_tr = x_tr[: args.train_limit], y_tr[: args.train_limit]
    b = args.batch_size
    n_batches = len(x_tr) // b
    order = epoch_permutation(len(x_tr), args.seed, 1)[: n_batches * b].reshape(n_batches, b)

    depth = args.depth + 1
    model = jpc.make_mlp(
        jax.random.PRNGKey(args.seed),
        input_dim=784,
        width=args.width,
        depth=depth,
        output_dim=10,
        act_fn="relu",
        use_bias=False,
        param_type="mupc",
    )
    skip_model = jpc.make_skip_model(depth)
    steps = len(model) if args.steps is None else args.steps
    activity_optim = optax.sgd(args.activity_lr)
    param_optim = optax.adam(args.param_lr)
    opt_state = param_optim.init((eqx.filter(model, eqx.is_array), skip_model))

    def activity_update(model, skip_model, acts, a_state, x, y):
        r = jpc.update_pc_activities(
            params=(model, skip_model),
            activities=acts,
            optim=activity_optim,
            opt_state=a_state,
            output=y,
            input=x,
            param_type="mupc",
        )
        return r["activities"], r["opt_state"]

    def param_update(model, skip_model, opt_state, acts, x, y):
        r = jpc.update_pc_params(
            params=(model, skip_model),
            activities=acts,
            optim=param_optim,
            opt_state=opt_state,
            output=y,
            input=x,
            param_type="mupc",
        )
        return r["model"], r["skip_model"], r["opt_state"]

    def example_step(model, skip_model, opt_state, x, y):
        acts = jpc.init_activities_with_ffwd(
            model=model, input=x, skip_model=skip_model, param_type="mupc"
        )
        a_state = activity_optim.init(acts)
        for _ in range(steps):
            acts, a_state = activity_update(model, skip_model, acts, a_state, x, y)
        return param_update(model, skip_model, opt_state, acts, x, y)

    @eqx.filter_jit
    def jit_step(model, skip_model, opt_state, x, y):
        acts = jpc.init_activities_with_ffwd(
            model=model, input=x, skip_model=skip_model, param_type="mupc"
        )

        def body(carry, _):
            return activity_update(model, skip_model, *carry, x, y), None

        (acts, _), _ = jax.lax.scan(body, (acts, activity_optim.init(acts)), None, length=steps)
        return param_update(model, skip_model, opt_state, acts, x, y)

    @eqx.filter_jit
    def ode_step(model, skip_model, opt_state, x, y):
        r = jpc.make_pc_step(
            model,
            param_optim,
            opt_state,
            y,
            input=x,
            param_type="mupc",
            ode_solver=diffrax.Heun(),
            max_t1=steps * args.activity_lr,  # the fixed steps' horizon
            stepsize_controller=diffrax.PIDController(rtol=1e-3, atol=1e-3),
            skip_model=skip_model,
        )
        return r["model"], r["skip_model"], r["opt_state"]

    step = {"jit": jit_step, "example": example_step, "ode": ode_step}[args.loop]
    times = []
    for i in range(n_batches):
        x, y = jnp.asarray(x_tr[order[i]]), jnp.asarray(y_tr[order[i]])
        t0 = time.perf_counter()
        model, skip_model, opt_state = step(model, skip_model, opt_state, x, y)
        jax.block_until_ready(jax.tree.leaves(eqx.filter((model, opt_state), eqx.is_array)))
        times.append(time.perf_counter() - t0)
    compile_seconds = times[0]
    median = statistics.median(times[1:]) if len(times) > 1 else times[0]
    epoch_seconds = sum(times[1:]) + median

    accs = []
    for i in range(0, len(x_te) - len(x_te) % 1000, 1000):
        _, acc = jpc.test_discriminative_pc(
            model=model,
            output=jnp.asarray(y_te[i : i + 1000]),
            input=jnp.asarray(x_te[i : i + 1000]),
            skip_model=skip_model,
            param_type="mupc",
        )
        accs.append(float(acc) / 100.0)  # jpc reports percent
    summary = {
        "library": "jpc",
        "loop": args.loop,
        "depth": args.depth,
        "width": args.width,
        "steps": n_batches,
        "seconds_per_epoch": round(epoch_seconds, 4),
        "median_step_seconds": round(median, 6),
        "compile_seconds": round(compile_seconds, 4),
        "test_accuracy": round(float(np.mean(accs)), 4),
        "jax": jax.__version__,
        "jpc": getattr(jpc, "__version__", "1.0.0"),
    }
    write_summary(summary, args.json)


if __name__ == "__main__":
    main()
