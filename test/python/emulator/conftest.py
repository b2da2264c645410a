"""Fixtures of the emulator tests (helpers live in emulator_harness.py)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from emulator_harness import PTX_DIR, assemble, elementwise_ptx, lower_to_ptx

from quartet.emulator import launch


@pytest.fixture
def ptxas(tmp_path):
    if shutil.which("ptxas") is None:
        pytest.skip("ptxas not on PATH")
    return lambda ptx: assemble(ptx, tmp_path)


@pytest.fixture
def ptx_file():
    return lambda name: (PTX_DIR / name).read_text()


@pytest.fixture(scope="session")
def to_ptx():
    pytest.importorskip("mlir.ir")
    return lower_to_ptx


@pytest.fixture
def elementwise():
    """``elementwise(body, out_dtype, *inputs)``: run ``body`` per element, return the output."""

    def run(body: str, out_dtype, *inputs):
        arrays = [np.ascontiguousarray(x) for x in inputs]
        count = len(arrays[0])
        out = np.zeros(count, out_dtype)
        ptx = elementwise_ptx(body, [a.itemsize for a in arrays], out.itemsize)
        launch(ptx, "elementwise", 1, count, [*arrays, out])
        return out

    return run
