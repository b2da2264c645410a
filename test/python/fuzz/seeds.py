"""The four small models the fuzzer mutates, built with onnx.helper and seeded weights."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT


def _model(nodes, inputs, outputs, weights, name: str) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, FLOAT, s) for n, s in outputs],
        initializer=[numpy_helper.from_array(v, name=k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _weights(rng: np.random.Generator, **shapes) -> dict[str, np.ndarray]:
    return {name: rng.normal(0, 0.5, shape).astype(np.float32) for name, shape in shapes.items()}


def mlp() -> onnx.ModelProto:
    """x -> MatMul -> Add -> Relu -> Gemm (transB) -> Sigmoid."""
    weights = _weights(np.random.default_rng(0), w1=(16, 32), b1=(32,), w2=(8, 32), b2=(8,))
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["g"], transB=1, alpha=0.5),
        helper.make_node("Sigmoid", ["g"], ["y"]),
    ]
    return _model(nodes, [("x", [4, 16])], [("y", [4, 8])], weights, "mlp")


def conv_block() -> onnx.ModelProto:
    """Conv -> BatchNormalization -> Relu -> MaxPool."""
    rng = np.random.default_rng(1)
    weights = _weights(rng, w=(8, 3, 3, 3), b=(8,), scale=(8,), bias=(8,), mean=(8,))
    weights["var"] = rng.uniform(0.5, 1.5, 8).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"]),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    return _model(nodes, [("x", [1, 3, 12, 12])], [("y", [1, 8, 6, 6])], weights, "conv_block")


def attention() -> onnx.ModelProto:
    """LayerNormalization -> MatMul -> Softmax -> MatMul with the normalized input."""
    rng = np.random.default_rng(2)
    weights = _weights(rng, gamma=(16,), beta=(16,), wq=(16, 16))
    nodes = [
        helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["n"], axis=-1),
        helper.make_node("MatMul", ["n", "wq"], ["q"]),
        helper.make_node("Transpose", ["n"], ["nt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "nt"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "n"], ["y"]),
    ]
    return _model(nodes, [("x", [2, 8, 16])], [("y", [2, 8, 16])], weights, "attention")


def gated() -> onnx.ModelProto:
    """Two residual blocks, each taken only when the mean of its input is positive
    (ReduceMean -> Greater -> If): deallocation tracks at run time what each If allocated."""
    weights = _weights(np.random.default_rng(3), w=(6, 6))
    weights["zero"] = np.zeros((), np.float32)
    nodes, value = [], "x"
    for block in range(2):
        then_graph = helper.make_graph(
            [
                helper.make_node("MatMul", [value, "w"], [f"xw{block}"]),
                helper.make_node("Tanh", [f"xw{block}"], [f"t{block}"]),
                helper.make_node("Add", [value, f"t{block}"], [f"then{block}"]),
            ],
            f"then{block}",
            [],
            [helper.make_tensor_value_info(f"then{block}", FLOAT, [3, 6])],
        )
        else_graph = helper.make_graph(
            [helper.make_node("Identity", [value], [f"else{block}"])],
            f"else{block}",
            [],
            [helper.make_tensor_value_info(f"else{block}", FLOAT, [3, 6])],
        )
        out = "y" if block == 1 else f"h{block}"
        nodes += [
            helper.make_node("ReduceMean", [value], [f"m{block}"], keepdims=0),
            helper.make_node("Greater", [f"m{block}", "zero"], [f"c{block}"]),
            helper.make_node(
                "If", [f"c{block}"], [out], then_branch=then_graph, else_branch=else_graph
            ),
        ]
        value = out
    return _model(nodes, [("x", [3, 6])], [("y", [3, 6])], weights, "gated")


SEEDS = {"mlp": mlp, "conv": conv_block, "attention": attention, "gated": gated}
