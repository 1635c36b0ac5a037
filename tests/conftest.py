"""Test configuration: strict rank promotion, several CPU devices, real MNIST location."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# the CLI's persistent compilation cache is global JAX state: off in the test process (and
# the subprocesses it starts); tests/test_progress.py turns it on in its own subprocesses
os.environ["PLASTIX_COMPILE_CACHE"] = "off"

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_num_cpu_devices", 4)

MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST not found in {MNIST_DIR}")
    return MNIST_DIR
