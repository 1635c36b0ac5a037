#!/usr/bin/env bash
# Forward-Forward on real MNIST: supervised FF with the best public port's recipe, the seed's
# small setup, unsupervised FF with a linear read-out, and seconds per epoch next to BP on
# the same 3x1000 network. Each FF run is then evaluated both ways (linear classifier and
# goodness) by benchmarks/ff_eval.py, which also writes ff_layers.png (per-layer goodness
# histograms and accuracies).
# Usage: benchmarks/ff_mnist.sh [MNIST_DIR] [OUT_DIR]
#   EPOCHS (default 100: the port's budget), SEED_EPOCHS (20), UNSUP_EPOCHS (5) set the budgets.
set -euo pipefail
M="${1:-../shared/datasets/mnist}"
O="${2:-runs/ff-mnist}"
P="${PLASTIX:-plastix}"
PY="${PYTHON:-python}"
EPOCHS="${EPOCHS:-100}"
mkdir -p "$O"
run() { local name=$1; shift; "$P" train --data-dir "$M" --out "$O/$name" --no-progress "$@" > "$O/$name.log" 2>&1; tail -1 "$O/$name.log"; }
# supervised FF, 3 x 1000 ReLU (linear classifier by default; ff_eval adds goodness prediction)
run ff-mnist --preset ff-mnist --epochs "$EPOCHS"
"$PY" benchmarks/ff_eval.py "$O/ff-mnist"
# the seed's network 784-512-512, its loss, threshold, normalisation and optimizer
run ff-mnist-seed --preset ff-mnist-seed --epochs "${SEED_EPOCHS:-20}"
"$PY" benchmarks/ff_eval.py "$O/ff-mnist-seed"
# unsupervised FF (hybrid-image negatives) + linear read-out, same network and optimizer
run ff-mnist-unsup --preset ff-mnist --set rule.supervision=unsupervised --epochs "${UNSUP_EPOCHS:-5}"
"$PY" benchmarks/ff_eval.py "$O/ff-mnist-unsup"
# speed side by side on the same 3 x 1000 network, optimizer and batch (2 epochs of the first
# 12000 training images = 120 steps each; x 5 for a full 60000-image epoch)
run speed-bp --preset ff-mnist --rule bp --set rule.cost=cross-entropy --set data.train_limit=12000 --epochs 2
run speed-ff --preset ff-mnist --set data.train_limit=12000 --epochs 2
