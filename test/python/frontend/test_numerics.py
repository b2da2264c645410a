"""Numerics the ONNX spec leaves open or that naive formulas get wrong: integer division by
zero and overflow, large-magnitude inputs of exp-based operators, f16/bf16 accumulation."""

from __future__ import annotations

import numpy as np
import pytest
from models import make_model
from onnx import helper
from onnx.reference import ReferenceEvaluator
from test_errors import quartet

from quartet.frontend.onnx import compile_model


def _division_model(dtype):
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node("Div", ["a", "b"], ["y"])
    return make_model([node], [("a", elem, [8]), ("b", elem, [8])], [("y", elem, [8])])


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_integer_division_by_zero_and_overflow_is_defined(dtype):
    """x / 0 = 0 and MIN / -1 = MIN (numpy's answers; ONNX is silent), other quotients
    truncated toward zero, on the CPU and in the PTX emulator: nothing traps."""
    smallest, largest = np.iinfo(dtype).min, np.iinfo(dtype).max
    a = np.array([7, -7, 7, -7, smallest, smallest, 5, largest], dtype)
    b = np.array([2, 2, 0, 0, -1, 1, -5, -1], dtype)
    expected = np.array([3, -3, 0, 0, smallest, smallest, -1, -largest], dtype)
    model = _division_model(dtype)
    with np.errstate(divide="ignore", over="ignore"):
        (reference,) = ReferenceEvaluator(model).run(None, {"a": a, "b": b})
    np.testing.assert_array_equal(reference, expected)
    compiled = compile_model(model, target="sm_90")
    np.testing.assert_array_equal(compiled.run(a=a, b=b)["y"], expected)
    np.testing.assert_array_equal(compiled.emulate(a=a, b=b)["y"], expected)


def test_integer_division_under_the_cli_default_inputs(tmp_path):
    """The CLI's random integer inputs are in [0, 4): zero divisors (this was a SIGFPE)."""
    path = tmp_path / "div.onnx"
    path.write_bytes(_division_model(np.int32).SerializeToString())
    for target in ("cpu", "sm_90"):
        result = quartet("run", "-q", str(path), "--target", target, "--check")
        assert result.returncode == 0, result.stderr
        assert "check OK" in result.stdout
