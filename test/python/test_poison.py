"""The CPU form's poison (QUARTET_POISON=1, which the test suite sets): temporaries and outputs
start as NaN bytes, so a kernel that never ran shows in the result instead of reading zeros."""

from __future__ import annotations

import re

import numpy as np
import pytest

import quartet
import quartet.runtime
from quartet.runtime.program import HostProgram

# exp then a row sum: with fusion "none", two kernels with a temporary between them.
EXP_SUM = """
func.func @f(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4x8xf32>
  %e = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e0 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = math.exp %a : f32
    linalg.yield %y : f32
  } -> tensor<4x8xf32>
  %s0 = tensor.empty() : tensor<4xf32>
  %s1 = linalg.fill ins(%zero : f32) outs(%s0 : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%e : tensor<4x8xf32>) outs(%s1 : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %y = arith.addf %acc, %a : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %s : tensor<4xf32>
}
"""


def compile_without_call(kernel: int):
    """EXP_SUM for sm_90 whose CPU form (built from the loop-level IR) skips kernel ``kernel``."""
    model = quartet.compile(EXP_SUM, target="sm_90", fusion="none", schedule="none", cache=False)
    calls = re.findall(r"^ *call @f_k\d+\.func\(.*$", model.loops_ir, re.MULTILINE)
    assert len(calls) == 2
    model.loops_ir = model.loops_ir.replace(calls[kernel], "")
    return model


def test_the_flag_adds_the_poison_step_and_changes_the_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTET_CACHE_DIR", str(tmp_path))
    models = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("QUARTET_POISON", flag)
        models[flag] = quartet.compile(EXP_SUM, target="sm_90")
    assert "quartet-poison-buffers" in models["1"].cpu_pipeline and models["1"].poison
    assert "quartet-poison-buffers" not in models["0"].cpu_pipeline and not models["0"].poison
    assert models["0"].pipeline == models["1"].pipeline  # the PTX is the same
    assert models["0"].cache_entry != models["1"].cache_entry
    cpu = quartet.compile(EXP_SUM, target="cpu")
    assert "quartet-map-to-cpu,quartet-poison-buffers,canonicalize" in cpu.pipeline


def test_a_temporary_nothing_wrote_reads_as_nan():
    x = np.zeros((4, 8), np.float32)
    poisoned = compile_without_call(0).run(x)
    assert np.isnan(poisoned).all()
    intact = quartet.compile(EXP_SUM, target="sm_90", fusion="none", cache=False)
    np.testing.assert_allclose(intact.run(x), np.full(4, 8.0, np.float32))


def test_an_output_nothing_wrote_holds_poison():
    outputs = compile_without_call(1).run(np.zeros((4, 8), np.float32))
    assert (outputs.view(np.uint32) == 0xFFFF_FFFF).all()


def without_launch(kernel: int):
    """EXP_SUM for sm_90 whose host program leaves out the launch of kernel ``kernel``."""
    model = quartet.compile(EXP_SUM, target="sm_90", fusion="none", schedule="none", cache=False)
    skipped = f"f_k{kernel}"
    steps = tuple(s for s in model.host.steps if getattr(s, "kernel", None) != skipped)
    assert len(steps) == len(model.host.steps) - 1
    model.host = HostProgram(model.host.buffers, steps)
    return model


# What the emulator reports with each launch left out: the kernel that reads the temporary
# nothing wrote, or the output (the entry's argument #1) the host reads back unwritten.
MISSING = {
    0: "uninitialized-global: f_k1",
    1: r"argument #1 \(4xfloat32\), read back after the run: 16 of its 16 bytes were never written",
}


@pytest.mark.parametrize("kernel", [0, 1])
def test_the_emulator_reports_the_same_bugs(kernel):
    with pytest.raises(quartet.QuartetError, match=MISSING[kernel]):
        without_launch(kernel).emulate(np.zeros((4, 8), np.float32))


@pytest.mark.parametrize("kernel", [0, 1])
def test_the_runtime_emulator_poisons_and_checks_too(kernel, tmp_path):
    """An artifact run on quartet.runtime's emulator device goes through the same device."""
    loaded = quartet.runtime.load(without_launch(kernel).save(tmp_path))
    with pytest.raises(quartet.QuartetError, match=MISSING[kernel]):
        loaded.run({"arg0": np.zeros((4, 8), np.float32)}, device="emulator")
