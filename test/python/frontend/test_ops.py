"""Per-operator tests: one small ONNX node, compiled for the CPU, against ONNX's reference."""

from __future__ import annotations

import numpy as np
import pytest
from models import FLOAT, make_model
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from quartet.frontend.onnx import compile_model

INT64, BOOL = TensorProto.INT64, TensorProto.BOOL
RNG = np.random.default_rng(7)


def floats(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def node_model(op, inputs, output_shape, attrs=None, consts=(), output_type=FLOAT, opset=18):
    """One ``op`` node over graph inputs ``{name: array}`` and constant initializers."""
    feeds = dict(inputs)
    names = [*feeds, *(name for name, _ in consts)]
    types = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64, np.dtype(bool): BOOL}
    node = helper.make_node(op, names, ["y"], **(attrs or {}))
    model = make_model(
        [node],
        [(n, types[a.dtype], list(a.shape)) for n, a in feeds.items()],
        [("y", output_type, list(output_shape))],
        list(consts),
        opset=opset,
    )
    return model, feeds


CASES = {
    "add_broadcast": ("Add", {"a": floats(2, 3, 4), "b": floats(4)}, (2, 3, 4)),
    "sub_scalar": ("Sub", {"a": floats(3, 4), "b": floats()}, (3, 4)),
    "mul": ("Mul", {"a": floats(2, 1, 4), "b": floats(3, 1)}, (2, 3, 4)),
    "div": ("Div", {"a": floats(3, 4), "b": floats(3, 4) + 3}, (3, 4)),
    "pow": ("Pow", {"a": np.abs(floats(3, 4)) + 0.1, "b": floats(4)}, (3, 4)),
    "sqrt": ("Sqrt", {"x": np.abs(floats(5, 6))}, (5, 6)),
    "reciprocal": ("Reciprocal", {"x": floats(5) + 5}, (5,)),
    "exp": ("Exp", {"x": floats(4, 4)}, (4, 4)),
    "log": ("Log", {"x": np.abs(floats(4, 4)) + 0.1}, (4, 4)),
    "erf": ("Erf", {"x": floats(64)}, (64,)),
    "tanh": ("Tanh", {"x": floats(8, 8)}, (8, 8)),
    "sigmoid": ("Sigmoid", {"x": floats(8, 8)}, (8, 8)),
    "relu": ("Relu", {"x": floats(8, 8)}, (8, 8)),
    "leaky_relu": ("LeakyRelu", {"x": floats(8, 8)}, (8, 8), {"alpha": 0.2}),
    "gelu": ("Gelu", {"x": floats(32)}, (32,), None, (), FLOAT, 20),
    "gelu_tanh": ("Gelu", {"x": floats(32)}, (32,), {"approximate": "tanh"}, (), FLOAT, 20),
    "neg": ("Neg", {"x": floats(7)}, (7,)),
    "abs": ("Abs", {"x": floats(7)}, (7,)),
    "max": ("Max", {"a": floats(3, 4), "b": floats(4), "c": floats(1)}, (3, 4)),
    "min": ("Min", {"a": floats(3, 4), "b": floats(3, 1)}, (3, 4)),
    "clip": (
        "Clip",
        {"x": floats(3, 4)},
        (3, 4),
        None,
        (("lo", np.float32(-0.5)), ("hi", np.float32(0.5))),
    ),
    "matmul_batched": ("MatMul", {"a": floats(2, 3, 5), "b": floats(5, 4)}, (2, 3, 4)),
    "matmul_vector": ("MatMul", {"a": floats(5), "b": floats(2, 5, 4)}, (2, 4)),
    "gemm_trans": (
        "Gemm",
        {"a": floats(5, 3), "b": floats(4, 5), "c": floats(4)},
        (3, 4),
        {"transA": 1, "transB": 1, "alpha": 0.5, "beta": 2.0},
    ),
    "softmax": ("Softmax", {"x": floats(3, 10)}, (3, 10), {"axis": 1}),
    "log_softmax": ("LogSoftmax", {"x": floats(4, 3, 5)}, (4, 3, 5), {"axis": 1}),
    "reduce_mean_axes_input": (
        "ReduceMean",
        {"x": floats(3, 4, 5)},
        (3, 1, 5),
        None,
        (("axes", np.array([1], np.int64)),),
    ),
    "reduce_sum_all": ("ReduceSum", {"x": floats(3, 4)}, (), {"keepdims": 0}),
    "reduce_max": (
        "ReduceMax",
        {"x": floats(3, 4, 5)},
        (3, 4),
        {"axes": [2], "keepdims": 0},
        (),
        FLOAT,
        13,
    ),
    "conv_pads_strides": (
        "Conv",
        {"x": floats(1, 3, 9, 9), "w": floats(4, 3, 3, 3)},
        (1, 4, 5, 5),
        {"pads": [1, 1, 1, 1], "strides": [2, 2]},
    ),
    "conv_depthwise": (
        "Conv",
        {"x": floats(1, 4, 6, 6), "w": floats(4, 1, 3, 3), "b": floats(4)},
        (1, 4, 6, 6),
        {"group": 4, "auto_pad": "SAME_UPPER"},
    ),
    "conv_dilated": (
        "Conv",
        {"x": floats(2, 2, 8, 8), "w": floats(3, 2, 2, 2)},
        (2, 3, 6, 6),
        {"dilations": [2, 2]},
    ),
    "max_pool_ceil": (
        "MaxPool",
        {"x": floats(1, 2, 8, 8)},
        (1, 2, 4, 4),
        {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    ),
    "average_pool_pads": (
        "AveragePool",
        {"x": floats(1, 2, 6, 6)},
        (1, 2, 6, 6),
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
    ),
    "global_average_pool": ("GlobalAveragePool", {"x": floats(2, 3, 4, 5)}, (2, 3, 1, 1)),
    "batch_norm": (
        "BatchNormalization",
        {
            "x": floats(2, 3, 4),
            "s": floats(3),
            "b": floats(3),
            "m": floats(3),
            "v": np.abs(floats(3)) + 0.5,
        },
        (2, 3, 4),
    ),
    "layer_norm": (
        "LayerNormalization",
        {"x": floats(2, 3, 8), "s": floats(8), "b": floats(8)},
        (2, 3, 8),
    ),
    "transpose": ("Transpose", {"x": floats(2, 3, 4)}, (4, 2, 3), {"perm": [2, 0, 1]}),
    "reshape": (
        "Reshape",
        {"x": floats(2, 3, 4)},
        (4, 6),
        None,
        (("shape", np.array([4, -1], np.int64)),),
    ),
    "flatten": ("Flatten", {"x": floats(2, 3, 4)}, (6, 4), {"axis": 2}),
    "squeeze": (
        "Squeeze",
        {"x": floats(2, 1, 4)},
        (2, 4),
        None,
        (("axes", np.array([1], np.int64)),),
    ),
    "unsqueeze": (
        "Unsqueeze",
        {"x": floats(2, 4)},
        (1, 2, 4),
        None,
        (("axes", np.array([0], np.int64)),),
    ),
    "concat": (
        "Concat",
        {"a": floats(2, 3), "b": floats(2, 5), "c": floats(2, 1)},
        (2, 9),
        {"axis": 1},
    ),
    "slice_negative_step": (
        "Slice",
        {"x": floats(6, 5)},
        (3, 5),
        None,
        (
            ("starts", np.array([5], np.int64)),
            ("ends", np.array([0], np.int64)),
            ("axes", np.array([0], np.int64)),
            ("steps", np.array([-2], np.int64)),
        ),
    ),
    "slice_strided": (
        "Slice",
        {"x": floats(6, 8)},
        (6, 3),
        None,
        (
            ("starts", np.array([1], np.int64)),
            ("ends", np.array([8], np.int64)),
            ("axes", np.array([1], np.int64)),
            ("steps", np.array([3], np.int64)),
        ),
    ),
    "gather": (
        "Gather",
        {"x": floats(5, 4), "i": np.array([[0, 4], [-1, 2]], np.int64)},
        (2, 2, 4),
    ),
    "gather_axis1": (
        "Gather",
        {"x": floats(3, 5)},
        (3,),
        {"axis": 1},
        (("i", np.array(2, np.int64)),),
    ),
    "expand": (
        "Expand",
        {"x": floats(3, 1)},
        (2, 3, 4),
        None,
        (("shape", np.array([2, 1, 4], np.int64)),),
    ),
    "where": ("Where", {"c": RNG.random((3, 4)) > 0.5, "a": floats(3, 4), "b": floats(4)}, (3, 4)),
    "less": ("Less", {"a": floats(3, 4), "b": floats(4)}, (3, 4), None, (), BOOL),
    "equal_int": (
        "Equal",
        {"a": np.array([1, 2, 3], np.int64), "b": np.array([1, 0, 3], np.int64)},
        (3,),
        None,
        (),
        BOOL,
    ),
    "and": ("And", {"a": RNG.random(6) > 0.5, "b": RNG.random(6) > 0.5}, (6,), None, (), BOOL),
    "not": ("Not", {"a": RNG.random(6) > 0.5}, (6,), None, (), BOOL),
    "cast_to_int": ("Cast", {"x": floats(6) * 4}, (6,), {"to": INT64}, (), INT64),
    "pad_reflect": (
        "Pad",
        {"x": floats(3, 4)},
        (5, 8),
        {"mode": "reflect"},
        (("pads", np.array([1, 2, 1, 2], np.int64)),),
    ),
    # the reference LRN loops over the batch where it means channels: N == C keeps it right
    "lrn": ("LRN", {"x": floats(5, 5, 3, 3)}, (5, 5, 3, 3), {"size": 3}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_reference(case):
    given = CASES[case]  # (op, inputs, shape[, attrs[, consts[, output type[, opset]]]])
    defaults = (None, (), FLOAT, 18)
    op, inputs, shape, attrs, consts, output_type, opset = (*given, *defaults[len(given) - 3 :])
    model, feeds = node_model(op, inputs, shape, attrs, consts, output_type, opset)
    compiled = compile_model(model, target="cpu")
    (expected,) = ReferenceEvaluator(model).run(None, feeds)
    actual = compiled.run(feeds)["y"]
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
