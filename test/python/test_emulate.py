"""The PTX Quartet emits, executed by the PTX emulator with every checker on."""

from __future__ import annotations

import numpy as np
import programs
import pytest

import quartet
from quartet.examples import mlp
from quartet.runtime.emulated import EmulatedDevice


def test_mlp_ptx_matches_numpy_and_the_cpu_form():
    model = quartet.compile(mlp.SOURCE, target="sm_90")
    inputs = mlp.random_inputs(seed=3)
    device = EmulatedDevice(checks=True)
    emulated = model.emulate(*inputs, device=device)
    np.testing.assert_allclose(emulated, mlp.reference(*inputs), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(emulated, model.run(*inputs), rtol=1e-5, atol=1e-6)
    assert device.instructions > 64 * 1024 * 1024  # at least one FMA per multiply of layer 2


@pytest.mark.parametrize(("source", "make_inputs"), programs.tiled_cases(4))
def test_tiled_operators_emulate_cleanly(source, make_inputs):
    """Padded tiles, windows and gathers never touch memory outside their buffers, never race
    and never read unwritten shared memory, and compute what numpy does."""
    inputs, expected = make_inputs()
    results = quartet.compile(source, target="sm_80").emulate(*inputs)
    results = results if isinstance(results, tuple) else (results,)
    for result, reference in zip(results, expected, strict=True):
        np.testing.assert_allclose(result, reference, rtol=1e-4, atol=1e-5)


def test_cpu_target_has_nothing_to_emulate():
    model = quartet.compile(programs.BATCHED_AND_MAX, target="cpu")
    with pytest.raises(quartet.QuartetError, match="no PTX to emulate"):
        model.emulate()


def test_a_checker_finding_is_a_quartet_error_naming_the_kernel():
    """Corrupt one kernel's PTX (drop its barriers): the emulator's race report reaches the user
    as a QuartetError naming the kernel, with the emulator's report as its cause."""
    model = quartet.compile(programs.BATCHED_AND_MAX, target="sm_90")
    kernel = next(name for name, ptx in model.ptx.items() if "bar.sync" in ptx)
    model.ptx[kernel] = model.ptx[kernel].replace("bar.sync \t0;", "")
    inputs, _ = programs.batched_and_max_inputs(6)
    with pytest.raises(quartet.QuartetError, match=f"emulating kernel {kernel}") as caught:
        model.emulate(*inputs)
    assert "shared" in str(caught.value)
    assert caught.value.__cause__.reports
