#!/usr/bin/env bash
# Create the virtualenv used by benchmarks/fabricpc_mnist_mlp.py (the FabricPC baseline).
#
# FabricPC (PyPI `fabricpc`, github trueagi-io/FabricPC) is a predictive-coding library on
# JAX. It is benchmarked beside plastix and PCX but never imported by plastix, so it lives
# in its own environment. Core install only: `fabricpc==0.6.0` plus CPU jax (no `tfds`,
# `viz` or `experiments` extras, so no tensorflow; the benchmark reads MNIST itself). The
# pins below are the full `pip freeze` of the environment the baseline numbers were
# measured in (Python 3.11, x86_64 Linux), i.e. exactly what pip resolved for
# `pip install fabricpc==0.6.0 "jax[cpu]"`.
#
# Usage:
#   benchmarks/setup_fabricpc_env.sh [VENV_DIR]        # default: <repo root>/.venv-fabricpc
#   PYTHON=python3.11 benchmarks/setup_fabricpc_env.sh  # choose the interpreter (needs >= 3.11)
# Then:
#   <VENV_DIR>/bin/python benchmarks/fabricpc_mnist_mlp.py --epochs 3
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-$REPO_ROOT/.venv-fabricpc}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" - <<'PYEOF'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup_fabricpc_env.sh: Python >= 3.11 needed (fabricpc 0.6.0, numpy 2.4), got {sys.version.split()[0]}")
PYEOF

"$PYTHON" -m venv "$VENV_DIR"
"$VENV_DIR/bin/python" -m pip install --upgrade pip
"$VENV_DIR/bin/python" -m pip install \
    "fabricpc==0.6.0" \
    "jax==0.10.2" \
    "jaxlib==0.10.2" \
    "optax==0.2.8" \
    "chex==0.1.92" \
    "orbax-checkpoint==0.12.8" \
    "jaxtyping==0.3.11" \
    "numpy==2.4.6" \
    "scipy==1.17.1" \
    "ml_dtypes==0.7.0" \
    "opt_einsum==3.4.0" \
    "tqdm==4.70.1" \
    "absl-py==2.5.1" \
    "toolz==1.2.0" \
    "typing_extensions==4.16.0" \
    "wadler_lindig==0.1.8" \
    "aiofiles==25.1.0" \
    "etils==1.15.0" \
    "fsspec==2026.9.0" \
    "humanize==4.17.0" \
    "msgpack==1.2.4" \
    "prometheus_client==0.26.0" \
    "protobuf==7.36.2" \
    "psutil==7.2.2" \
    "PyYAML==6.0.4" \
    "simplejson==4.3.0" \
    "tensorstore==0.1.86" \
    "uvloop==0.23.0" \
    "zipp==4.1.2"

"$VENV_DIR/bin/python" - <<'PYEOF'
from importlib import metadata
for pkg in ("fabricpc", "jax", "jaxlib", "optax", "numpy"):
    print(f"{pkg}=={metadata.version(pkg)}")
PYEOF
echo "FabricPC baseline environment ready: $VENV_DIR"
