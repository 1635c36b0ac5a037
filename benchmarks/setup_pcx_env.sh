#!/usr/bin/env bash
# Create the virtualenv used by benchmarks/pcx_mnist_mlp.py (the PCX baseline).
#
# PCX 0.6.3 requires jax<0.5, which is too old for plastix, so the baseline lives in its
# own environment.  The pins below are the full `pip freeze` of the environment the
# baseline numbers were measured in (Python 3.11).
#
# Usage:
#   benchmarks/setup_pcx_env.sh [VENV_DIR]        # default: <repo root>/.venv-pcx
#   PYTHON=python3.11 benchmarks/setup_pcx_env.sh  # choose the interpreter (needs >= 3.11)
# Then:
#   JAX_PLATFORMS=cpu <VENV_DIR>/bin/python benchmarks/pcx_mnist_mlp.py --epochs 3
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-$REPO_ROOT/.venv-pcx}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" - <<'EOF'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup_pcx_env.sh: Python >= 3.11 needed for the pinned numpy/scipy, got {sys.version.split()[0]}")
EOF

"$PYTHON" -m venv "$VENV_DIR"
"$VENV_DIR/bin/python" -m pip install --upgrade pip
"$VENV_DIR/bin/python" -m pip install \
    "pcx==0.6.3" \
    "jax==0.4.38" \
    "jaxlib==0.4.38" \
    "equinox==0.11.12" \
    "optax==0.2.5" \
    "numpy==2.4.6" \
    "scipy==1.17.1" \
    "ml_dtypes==0.6.0" \
    "opt_einsum==3.4.0" \
    "chex==0.1.90" \
    "absl-py==2.5.1" \
    "toolz==1.2.0" \
    "jaxtyping==0.3.11" \
    "wadler_lindig==0.1.8" \
    "typing_extensions==4.16.0"

"$VENV_DIR/bin/python" - <<'EOF'
from importlib import metadata
for pkg in ("pcx", "jax", "jaxlib", "equinox", "optax", "numpy"):
    print(f"{pkg}=={metadata.version(pkg)}")
EOF
echo "PCX baseline environment ready: $VENV_DIR"
