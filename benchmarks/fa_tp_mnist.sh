#!/usr/bin/env bash
# Feedback alignment (FA, sign symmetry, DFA, DRTP) and target propagation (DTP, L-DRL, TP) on
# real MNIST, each next to backprop on the same 784-800-800-10 tanh network, optimizer and batch
# size; the per-layer angle between each rule's update and backprop's gradient is logged every
# epoch (train.gradient_check=1000) and plotted (each run's alignment.png, and
# OUT_DIR/alignment.png for all rules together). Three chains run side by side; the speed-*
# runs (2 epochs each, one after the other within a chain) give indicative seconds per epoch;
# benchmarks/fa_tp_speed.py (last) times every rule's step in one process, in turn.
# Usage: benchmarks/fa_tp_mnist.sh [MNIST_DIR] [OUT_DIR]   (results: OUT_DIR/*/summary.json)
set -euo pipefail
M="${1:-../shared/datasets/mnist}"
O="${2:-runs/fa-tp-mnist}"
P="${PLASTIX:-plastix}"
PY="${PYTHON:-python}"
mkdir -p "$O"
run() { local name=$1; shift; "$P" train --data-dir "$M" --out "$O/$name" --no-progress "$@" > "$O/$name.log" 2>&1; tail -1 "$O/$name.log"; }
GC=(--set train.gradient_check=1000)
(  # batch 64, Adam 2e-4
run fa --preset fa-mnist-mlp "${GC[@]}"
run speed-bp-b64 --preset bp-mnist-2x800-b64 --epochs 2
run speed-fa --preset fa-mnist-mlp --epochs 2
run sign-symmetry-5 --preset sign-symmetry-mnist-mlp --epochs 5 "${GC[@]}"
) &
(  # batch 32, Adam 1e-3
run dfa --preset dfa-mnist-mlp "${GC[@]}"
run speed-bp-b32 --preset bp-mnist-2x800-b32 --epochs 2
run speed-dfa --preset dfa-mnist-mlp --epochs 2
run speed-drtp --preset drtp-mnist-mlp --epochs 2
) &
(  # batch 64, Adam 5e-4
run dtp-12 --preset dtp-mnist-mlp --epochs 12 "${GC[@]}"
run speed-bp-b64-lr5e-4 --preset dtp-mnist-mlp --rule bp --epochs 2
run speed-dtp --preset dtp-mnist-mlp --epochs 2
run dfa-conv --preset dfa-mnist-conv "${GC[@]}"
run tp-3 --preset tp-mnist-mlp --epochs 3 "${GC[@]}"
) &
(  # the full-length DRTP and L-DRL runs
run drtp --preset drtp-mnist-mlp "${GC[@]}"
run ldrl-12 --preset ldrl-mnist-mlp --epochs 12 "${GC[@]}"
run sign-symmetry --preset sign-symmetry-mnist-mlp "${GC[@]}"
) &
wait
"$PY" benchmarks/fa_alignment_plot.py "$O" fa sign-symmetry dfa drtp dtp-12 ldrl-12
# seconds per epoch side by side, one process, interleaved rounds (see the script)
"$PY" benchmarks/fa_tp_speed.py "$M" 64 7 | tee "$O/speed.md"
