#!/usr/bin/env bash
# Adaptive inference (ODEInference) on real MNIST beside the fixed-step relaxation it
# replaces: PCX's MNIST MLP (3 epochs) and the 16- and 64-hidden-layer μPC residual MLPs (1 epoch).
# Usage: benchmarks/ode_inference_mnist.sh [OUT_DIR] (default benchmarks/results/ode-inference)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-benchmarks/results/ode-inference}"
DATA="${DATA:-../shared/datasets/mnist}"
mkdir -p "$OUT"
P=(.venv/bin/plastix train --data-dir "$DATA" --no-progress)
PCX=(--preset pcx-mnist-mlp --set train.epochs=3)
# the fixed 8 steps of SGD(0.0105, momentum 0.65)
"${P[@]}" "${PCX[@]}" --out "$OUT/pcx-fixed"
# the same time horizon (8 steps ~ t = 0.19 with the momentum's ramp), no steady-state stop
"${P[@]}" "${PCX[@]}" --out "$OUT/pcx-ode-t0.19" --set rule.inference.name=ode \
    --set rule.inference.t1=0.19 --set rule.inference.steady_state=false
# to the steady state (Heun, rtol = atol = 1e-3, t1 = 10 a bound)
"${P[@]}" "${PCX[@]}" --out "$OUT/pcx-ode-steady" --set rule.inference.name=ode \
    --set rule.inference.t1=10.0
M=(--preset mupc-mnist --set model.depth=16)
"${P[@]}" "${M[@]}" --out "$OUT/mupc16-fixed" --set rule.inference.steps=17  # T = H + 1
"${P[@]}" "${M[@]}" --out "$OUT/mupc16-ode-steady" --set rule.inference.name=ode \
    --set rule.inference.t1=10.0
# the fixed runs' horizon, t1 = T x 0.5/64 (T = H + 1), no steady-state stop
"${P[@]}" "${M[@]}" --out "$OUT/mupc16-ode-t0.133" --set rule.inference.name=ode \
    --set rule.inference.t1=0.1328125 --set rule.inference.steady_state=false
"${P[@]}" --preset mupc-mnist --out "$OUT/mupc64-fixed"
"${P[@]}" --preset mupc-mnist --out "$OUT/mupc64-ode-t0.508" --set rule.inference.name=ode \
    --set rule.inference.t1=0.5078125 --set rule.inference.steady_state=false
