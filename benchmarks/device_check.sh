#!/usr/bin/env bash
# The device check of issue 15 (at most 8 minutes on a machine with an accelerator):
#   benchmarks/device_check.sh [MNIST_DIR] [OUT_JSON]
# Times the mnist-mlp PC / BP / EP rows at batch 128 and 1024 and one epoch of 3 steps of every
# cifar10-suite entry at full width, with the peak device memory of each
# (benchmarks/device_check.py has the details). Changes no device setting.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
DATA="${1:-$ROOT/../shared/datasets/mnist}"
OUT="${2:-device_check.json}"
exec timeout 480 "$PY" "$ROOT/benchmarks/device_check.py" --data-dir "$DATA" --budget 440 --out "$OUT"
