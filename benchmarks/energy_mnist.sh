#!/usr/bin/env bash
# EP / CHL / BiPC on real MNIST: accuracy runs, symmetric vs one-sided nudging, BiPC vs PC on
# the same network, and seconds per epoch of EP and CHL next to BP on the same network.
# Usage: benchmarks/energy_mnist.sh [MNIST_DIR] [OUT_DIR]   (results: OUT_DIR/*/summary.json)
set -euo pipefail
M="${1:-../shared/datasets/mnist}"
O="${2:-runs/energy-mnist}"
P="${PLASTIX:-plastix}"
mkdir -p "$O"
run() { local name=$1; shift; "$P" train --data-dir "$M" --out "$O/$name" --no-progress "$@" > "$O/$name.log" 2>&1; tail -1 "$O/$name.log"; }
# accuracy (8 epochs each)
if [ "${SKIP_ACCURACY:-0}" != 1 ]; then
run ep-centred --preset ep-mnist-mlp
run ep-positive --preset ep-mnist-mlp --set rule.sign=positive
run chl --preset chl-mnist-mlp
fi
# symmetric vs one-sided at a larger beta, with the gradient check logged every epoch
run ep-centred-b1 --preset ep-mnist-mlp --set rule.beta=1.0 --set train.gradient_check=256
run ep-positive-b1 --preset ep-mnist-mlp --set rule.beta=1.0 --set rule.sign=positive --set train.gradient_check=256
# BiPC vs PC on the PCX MLP, same budget (10 epochs)
run pc-10 --preset pcx-mnist-mlp --epochs 10
run bipc-10 --preset bipc-mnist-mlp
run pc-t20-10 --preset pcx-mnist-mlp --epochs 10 --set rule.inference.steps=20 --set rule.inference.optimizer.lr=0.1 --set rule.inference.optimizer.momentum=0.5
run bipc-1e-3-10 --preset bipc-mnist-mlp --set rule.alpha_b=1e-3
# speed side by side on the 784-500-10 network (2 epochs each)
run speed-bp --preset ep-mnist-mlp --rule bp --set model.activation=hard-sigmoid --epochs 2
run speed-ep --preset ep-mnist-mlp --epochs 2
run speed-chl --preset chl-mnist-mlp --epochs 2
