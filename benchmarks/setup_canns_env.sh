#!/usr/bin/env bash
# Create the virtualenv of the CANNs library (PyPI `canns`), used by benchmarks/canns_parity.py
# to measure CANNs' Hopfield memory and trainers beside plastix's. CANNs pulls in brainpy,
# numba and its own JAX, so it lives in its own environment, never in plastix's dependencies.
#
# Usage:
#   benchmarks/setup_canns_env.sh [VENV_DIR]        # default: <repo root>/.venv-canns
# Then:
#   JAX_PLATFORMS=cpu <VENV_DIR>/bin/python benchmarks/canns_parity.py canns --out DIR
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-$REPO_ROOT/.venv-canns}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m venv "$VENV_DIR"
"$VENV_DIR/bin/python" -m pip install --upgrade pip
"$VENV_DIR/bin/python" -m pip install "canns==1.5.0"
"$VENV_DIR/bin/python" -m pip freeze > "$VENV_DIR/freeze.txt"
echo "CANNs environment ready in $VENV_DIR (pip freeze in $VENV_DIR/freeze.txt)"
