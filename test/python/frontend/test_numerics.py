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


def _single_node(op, x, output_shape, **attrs):
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    return make_model([node], [("x", elem, list(x.shape))], [("y", elem, list(output_shape))])


def _log_sum_exp(x: np.ndarray, axis) -> np.ndarray:
    """In float64, shifted by the (finite) maximum."""
    x = x.astype(np.float64)
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak


LARGE = np.array(
    [
        [-1000.0, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 88.0],
        [88.8, 89.0, 100.0, 1000.0, 3.0e38, -3.0e38, 1e-3, -1e-3],
        [1000.0, 1001.0, 999.0, 1000.0, -1000.0, 1000.5, 998.0, 1000.0],
        [-np.inf, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf],
    ],
    np.float32,
)


def test_softplus_of_large_inputs_is_the_input():
    """log(1 + e^x): e^x overflows f32 past 88.7, where the answer is x (onnxruntime's)."""
    x = LARGE[:3]
    actual = compile_model(_single_node("Softplus", x, x.shape), target="cpu").run(x=x)["y"]
    expected = np.logaddexp(0, x.astype(np.float64))
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-30)
    assert actual[1, 3] == 1000.0 and actual[1, 4] == np.float32(3.0e38)


def test_reduce_log_sum_exp_subtracts_the_maximum():
    x = LARGE
    node = helper.make_node("ReduceLogSumExp", ["x", "axes"], ["y"], keepdims=1)
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    axes = [("axes", np.array([1], np.int64))]
    model = make_model([node], [("x", elem, [4, 8])], [("y", elem, [4, 1])], axes)
    actual = compile_model(model, target="cpu").run(x=x)["y"]
    expected = _log_sum_exp(x, 1)
    assert np.isneginf(actual[3, 0])  # all -inf: log(0), not NaN
    np.testing.assert_allclose(actual[:3], expected[:3], rtol=1e-6)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_of_large_magnitudes(op):
    x = LARGE[:3]
    actual = compile_model(_single_node(op, x, x.shape, axis=1), target="cpu").run(x=x)["y"]
    log_p = x.astype(np.float64) - _log_sum_exp(x, 1)
    expected = (log_p if op == "LogSoftmax" else np.exp(log_p)).astype(np.float32)
    assert np.isfinite(actual).sum() == np.isfinite(expected).sum() >= 23  # -6e38 is -inf
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-30)
