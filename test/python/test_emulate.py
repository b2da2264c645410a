"""The PTX Quartet emits, executed by the PTX emulator with every checker on."""

from __future__ import annotations

import numpy as np
import pytest
from test_compile import GENERIC

import quartet
from quartet.device import EmulatedDevice
from quartet.examples import mlp


def test_mlp_ptx_matches_numpy_and_the_cpu_form():
    model = quartet.compile(mlp.SOURCE, target="sm_90")
    inputs = mlp.random_inputs(seed=3)
    device = EmulatedDevice(checks=True)
    emulated = model.emulate(*inputs, device=device)
    np.testing.assert_allclose(emulated, mlp.reference(*inputs), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(emulated, model.run(*inputs), rtol=1e-5, atol=1e-6)
    assert device.instructions > 64 * 1024 * 1024  # at least one FMA per multiply of layer 2


def test_irregular_shapes_emulate_within_bounds():
    """Padded tiles (37x70 outputs, 19-deep reductions) must never touch memory outside."""
    model = quartet.compile(GENERIC, target="sm_80")
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 37, 19)).astype(np.float32)
    w = rng.standard_normal((3, 19, 70)).astype(np.float32)
    x = rng.standard_normal((45, 300)).astype(np.float32)
    bmm, row_max = model.emulate(a, w, x)
    np.testing.assert_allclose(bmm, a @ w, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(row_max, x.max(axis=1))


def test_cpu_target_has_nothing_to_emulate():
    model = quartet.compile(GENERIC, target="cpu")
    with pytest.raises(quartet.QuartetError, match="no PTX to emulate"):
        model.emulate()
