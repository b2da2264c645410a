"""ONNX models built with onnx.helper for the frontend tests (torch is not a test dependency)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT


def make_model(nodes, inputs, outputs, initializers=(), opset: int = 18) -> onnx.ModelProto:
    """A checked model from (name, elem_type, shape) inputs/outputs and numpy initializers."""
    graph = helper.make_graph(
        nodes,
        "test_graph",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), name=k) for k, v in initializers],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def lstm_loop(steps: int = 5, batch: int = 2, features: int = 3, hidden: int = 4, seed: int = 0):
    """An LSTM over a sequence as an ONNX Loop: per step, gates from x_t and h, then (h, c)
    carried and h stacked as a scan output."""
    rng = np.random.default_rng(seed)
    weights = {
        "W": rng.normal(0, 0.5, (features, 4 * hidden)).astype(np.float32),
        "R": rng.normal(0, 0.5, (hidden, 4 * hidden)).astype(np.float32),
        "B": rng.normal(0, 0.1, (4 * hidden,)).astype(np.float32),
    }
    body = helper.make_graph(
        [
            helper.make_node("Gather", ["X", "iter"], ["x_t"], axis=0),
            helper.make_node("MatMul", ["x_t", "W"], ["xw"]),
            helper.make_node("MatMul", ["h_in", "R"], ["hr"]),
            helper.make_node("Add", ["xw", "hr"], ["pre"]),
            helper.make_node("Add", ["pre", "B"], ["gates"]),
            helper.make_node("Split", ["gates"], ["gi", "gf", "gg", "go"], axis=1, num_outputs=4),
            helper.make_node("Sigmoid", ["gi"], ["i"]),
            helper.make_node("Sigmoid", ["gf"], ["f"]),
            helper.make_node("Tanh", ["gg"], ["g"]),
            helper.make_node("Sigmoid", ["go"], ["o"]),
            helper.make_node("Mul", ["f", "c_in"], ["fc"]),
            helper.make_node("Mul", ["i", "g"], ["ig"]),
            helper.make_node("Add", ["fc", "ig"], ["c_out"]),
            helper.make_node("Tanh", ["c_out"], ["tc"]),
            helper.make_node("Mul", ["o", "tc"], ["h_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["h_out"], ["h_scan"]),
        ],
        "lstm_step",
        [
            helper.make_tensor_value_info("iter", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_in", FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("c_in", FLOAT, [batch, hidden]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_out", FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("c_out", FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("h_scan", FLOAT, [batch, hidden]),
        ],
    )
    loop = helper.make_node("Loop", ["M", "", "h0", "c0"], ["h", "c", "hs"], body=body)
    return make_model(
        [loop],
        [("X", FLOAT, [steps, batch, features]), ("h0", FLOAT, [batch, hidden]),
         ("c0", FLOAT, [batch, hidden])],
        [("h", FLOAT, [batch, hidden]), ("c", FLOAT, [batch, hidden]),
         ("hs", FLOAT, [steps, batch, hidden])],
        [*weights.items(), ("M", np.array(steps, np.int64))],
    )
