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


HALF = helper.np_dtype_to_tensor_dtype(np.dtype(np.float16))


def _relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    error = np.abs(actual.astype(np.float64) - expected)
    return float(np.max(error) / np.max(np.abs(expected)))


@pytest.mark.parametrize(
    ("trans_a", "trans_b"), [(0, 0), (0, 1), (1, 0)], ids=["A.B", "A.Bt", "At.B"]
)
def test_f16_gemm_accumulates_in_f32_on_tensor_cores(trans_a, trans_b):
    """f16 operands, f32 accumulator (the tensor-core form): the error against a float64
    reference is float16's rounding of the result (2.6e-4 here, as onnxruntime), not the
    3.9e-3 of accumulating 256 products in float16. An operand stored transposed (PyTorch's
    Linear is Gemm transB=1) takes the same mma.sync path, its staged tile read through a
    transposed view; fragments whose rows are 16-byte aligned load with ldmatrix."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 64) if trans_a else (64, 256)).astype(np.float16)
    w = rng.standard_normal((64, 256) if trans_b else (256, 64)).astype(np.float16)
    c = rng.standard_normal(64).astype(np.float16)
    node = helper.make_node("Gemm", ["a", "w", "c"], ["y"], transA=trans_a, transB=trans_b)
    model = make_model(
        [node], [("a", HALF, list(a.shape))], [("y", HALF, [64, 64])], [("w", w), ("c", c)]
    )
    lhs = (a.T if trans_a else a).astype(np.float64)
    expected = lhs @ (w.T if trans_b else w).astype(np.float64) + c
    compiled = compile_model(model, target="sm_90")
    (ptx,) = compiled.compiled.ptx.values()
    assert ptx.count("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32") > 0
    assert "ldmatrix.sync.aligned.m8n8.x4" in ptx  # A's fragments (.trans when stored [k, m])
    assert all(info.spill_stores == 0 for info in compiled.compiled.ptxas.values())
    for actual in (compiled.run(a=a)["y"], compiled.emulate(a=a)["y"]):
        assert actual.dtype == np.float16
        assert _relative_error(actual, expected) < 5e-4


@pytest.mark.parametrize("transposed", [False, True], ids=["Q.K", "Q.Kt"])
def test_f16_batched_matmul_runs_on_tensor_cores(transposed):
    """Attention's scores as ONNX exports them (batch x heads x 128 x 64 by 64 x 128, or by
    the key's Transpose): one batch element per block, its staged tiles viewed as matrices,
    on mma.sync with ldmatrix fragments; float16 rounding against float64."""
    rng = np.random.default_rng(4)
    q = rng.standard_normal((1, 2, 128, 64)).astype(np.float16)
    k = rng.standard_normal((1, 2, 128, 64) if transposed else (1, 2, 64, 128)).astype(np.float16)
    nodes = [helper.make_node("MatMul", ["q", "kt" if transposed else "k"], ["y"])]
    if transposed:
        nodes.insert(0, helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]))
    model = make_model(
        nodes,
        [("q", HALF, list(q.shape)), ("k", HALF, list(k.shape))],
        [("y", HALF, [1, 2, 128, 128])],
    )
    key = np.swapaxes(k, -1, -2) if transposed else k
    expected = q.astype(np.float64) @ key.astype(np.float64)
    compiled = compile_model(model, target="sm_90")
    (ptx,) = compiled.compiled.ptx.values()
    assert "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32" in ptx
    assert "ldmatrix.sync.aligned.m8n8" in ptx
    for actual in (compiled.run(q=q, k=k)["y"], compiled.emulate(q=q, k=k)["y"]):
        assert _relative_error(actual, expected) < 5e-4


def _attention(scale: float, tokens: int = 16, width: int = 64):
    """softmax(Q K^T * scale) V, all float16 (scale a float16 constant)."""
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], perm=[1, 0]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"]),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ]
    inputs = [(name, HALF, [tokens, width]) for name in "qkv"]
    scale_value = [("scale", np.array(scale, np.float16))]
    return make_model(nodes, inputs, [("y", HALF, [tokens, width])], scale_value)


@pytest.mark.parametrize("scale", [-0.125, -20000.0])
def test_f16_attention_with_a_large_negative_scale_is_finite(scale):
    """Scores times -2e4 exceed float16's 65504: rounded to float16 between Mul and Softmax
    they were +-inf and 1024 of 1024 outputs NaN. Kept in float32 between the two (as
    onnxruntime's CPU kernels do) the result is softmax's: finite and accurate."""
    rng = np.random.default_rng(0)
    feeds = {name: rng.standard_normal((16, 64)).astype(np.float16) for name in "qkv"}
    q, k, v = (feeds[name].astype(np.float64) for name in "qkv")
    scores = q @ k.T * float(np.float16(scale))
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected = (p / p.sum(axis=1, keepdims=True)) @ v
    compiled = compile_model(_attention(scale), target="sm_90")
    for actual in (compiled.run(feeds)["y"], compiled.emulate(feeds)["y"]):
        assert np.isfinite(actual).all()
        np.testing.assert_allclose(actual, expected, rtol=0, atol=2e-3)


def test_f16_reductions_and_normalizations_accumulate_in_f32():
    """4096 ones sum to 2048 in float16 (2048 + 1 rounds back to 2048), and the variance of
    values near 1000 overflows it (1000^2 > 65504): both are computed in float32."""
    ones = np.ones((2, 4096), np.float16)
    x = (np.float16(1000) + np.linspace(-1, 1, 2 * 4096).reshape(2, 4096)).astype(np.float16)
    nodes = [
        helper.make_node("ReduceSum", ["ones", "axes"], ["total"], keepdims=0),
        helper.make_node("LayerNormalization", ["x", "gamma"], ["normal"], axis=-1),
    ]
    model = make_model(
        nodes,
        [("ones", HALF, [2, 4096]), ("x", HALF, [2, 4096])],
        [("total", HALF, [2]), ("normal", HALF, [2, 4096])],
        [("axes", np.array([1], np.int64)), ("gamma", np.ones(4096, np.float16))],
    )
    outputs = compile_model(model, target="cpu").run(ones=ones, x=x)
    np.testing.assert_array_equal(outputs["total"], [4096, 4096])
    wide = x.astype(np.float64)
    centered = wide - wide.mean(axis=1, keepdims=True)
    expected = centered / np.sqrt((centered**2).mean(axis=1, keepdims=True) + 1e-5)
    assert outputs["normal"].dtype == np.float16
    np.testing.assert_allclose(outputs["normal"], expected, rtol=0, atol=2e-2)
