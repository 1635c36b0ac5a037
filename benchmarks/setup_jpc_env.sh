#!/usr/bin/env bash
# Create the virtualenv used by benchmarks/jpc_mupc.py (the jpc baseline of the μPC setup).
#
# jpc (github thebuckleylab/jpc, "Flexible Inference for Predictive Coding Networks in JAX")
# needs jax <= 0.5.2, too old for plastix, so it lives in its own environment and plastix
# never imports it. jpc 1.0.0 is installed from PyPI, or, where the package index has no
# jpc (this project's machines), from a source tree of the repository: JPC_SRC=<dir>. The
# numbers in BENCHMARKS.md used the source at commit 7d6cc05742d2 (jpc 1.0.0). jaxlib 0.5.2
# is not on every index; 0.5.1 satisfies jpc's pin. The other pins are the full `pip freeze`
# of the environment the baseline numbers were measured in (Python 3.11, x86_64 Linux).
#
# Usage:
#   benchmarks/setup_jpc_env.sh [VENV_DIR]                 # default: <repo root>/.venv-jpc
#   JPC_SRC=/path/to/jpc benchmarks/setup_jpc_env.sh       # install jpc from a source tree
# Then:
#   .venv/bin/python benchmarks/mupc_vs_jpc.py --depths 16 64
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-$REPO_ROOT/.venv-jpc}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m venv "$VENV_DIR"
"$VENV_DIR/bin/python" -m pip install -q --upgrade pip
"$VENV_DIR/bin/python" -m pip install -q \
    "jax==0.5.1" \
    "jaxlib==0.5.1" \
    "equinox==0.11.12" \
    "diffrax==0.6.2" \
    "optax==0.2.4" \
    "jaxtyping==0.3.11" \
    "numpy==2.4.6" \
    "scipy==1.17.1" \
    "lineax==0.0.8" \
    "optimistix==0.1.0" \
    "ml_dtypes==0.7.0" \
    "opt_einsum==3.4.0" \
    "chex==0.1.90" \
    "absl-py==2.5.1" \
    "etils==1.15.0" \
    "toolz==1.2.0" \
    "typeguard==2.13.3" \
    "typing_extensions==4.16.0" \
    "wadler_lindig==0.1.8"
if [ -n "${JPC_SRC:-}" ]; then
    "$VENV_DIR/bin/python" -m pip install -q --no-deps "$JPC_SRC"
else
    "$VENV_DIR/bin/python" -m pip install -q --no-deps "jpc==1.0.0"
fi

"$VENV_DIR/bin/python" - <<'PY'
from importlib import metadata
for pkg in ("jpc", "jax", "jaxlib", "equinox", "diffrax", "optax", "numpy"):
    print(f"{pkg}=={metadata.version(pkg)}")
PY
echo "jpc baseline environment ready: $VENV_DIR"
