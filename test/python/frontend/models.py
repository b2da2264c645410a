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
        [
            ("X", FLOAT, [steps, batch, features]),
            ("h0", FLOAT, [batch, hidden]),
            ("c0", FLOAT, [batch, hidden]),
        ],
        [
            ("h", FLOAT, [batch, hidden]),
            ("c", FLOAT, [batch, hidden]),
            ("hs", FLOAT, [steps, batch, hidden]),
        ],
        [*weights.items(), ("M", np.array(steps, np.int64))],
    )


def if_model() -> onnx.ModelProto:
    """y = x * 2 if sum(x) > 0 else x - 1, the condition computed at run time."""
    then_graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["t"])],
        "then",
        [],
        [helper.make_tensor_value_info("t", FLOAT, [3, 4])],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Sub", ["x", "one"], ["e"])],
        "else",
        [],
        [helper.make_tensor_value_info("e", FLOAT, [3, 4])],
    )
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
        helper.make_node("Greater", ["s", "zero"], ["positive"]),
        helper.make_node("If", ["positive"], ["y"], then_branch=then_graph, else_branch=else_graph),
    ]
    constants = [
        ("two", np.float32(2)),
        ("one", np.float32(1)),
        ("zero", np.float32(0)),
    ]
    return make_model(nodes, [("x", FLOAT, [3, 4])], [("y", FLOAT, [3, 4])], constants)


def skip_blocks(blocks: int = 2, shape=(1, 4, 8, 8), keepdims: int = 0) -> onnx.ModelProto:
    """SkipNet-style gating: per block, ``h = h + relu(h * w) if mean(h) > 0 else h``.

    The taken branch computes on the block's input, the skipped one passes it through, so
    deallocation must track at run time which buffers each ``scf.if`` allocated (flags in i1
    buffers). ``keepdims`` = 1 gives the If a [1, 1, 1, 1] condition (one element, rank 4).
    """
    nodes, value = [], "x"
    for block in range(blocks):
        inner, out = f"h{block}", f"y{block}"
        then_graph = helper.make_graph(
            [
                helper.make_node("Mul", [value, "w"], [f"{inner}_scaled"]),
                helper.make_node("Relu", [f"{inner}_scaled"], [f"{inner}_relu"]),
                helper.make_node("Add", [value, f"{inner}_relu"], [f"{inner}_then"]),
            ],
            f"block{block}_then",
            [],
            [helper.make_tensor_value_info(f"{inner}_then", FLOAT, shape)],
        )
        else_graph = helper.make_graph(
            [helper.make_node("Identity", [value], [f"{inner}_skip"])],
            f"block{block}_else",
            [],
            [helper.make_tensor_value_info(f"{inner}_skip", FLOAT, shape)],
        )
        nodes += [
            helper.make_node("ReduceMean", [value], [f"{inner}_mean"], keepdims=keepdims),
            helper.make_node("Greater", [f"{inner}_mean", "zero"], [f"{inner}_gate"]),
            helper.make_node(
                "If", [f"{inner}_gate"], [out], then_branch=then_graph, else_branch=else_graph
            ),
        ]
        value = out
    nodes.append(helper.make_node("Identity", [value], ["y"]))
    constants = [("w", np.float32(1.5)), ("zero", np.float32(0))]
    return make_model(nodes, [("x", FLOAT, list(shape))], [("y", FLOAT, list(shape))], constants)


def encoder_layer(
    batch: int = 2, seq: int = 8, dim: int = 16, heads: int = 2, ffn: int = 32, seed: int = 0
) -> onnx.ModelProto:
    """A Transformer encoder layer (post-norm): multi-head self-attention, residual,
    LayerNormalization, a GELU feed-forward block, residual, LayerNormalization."""
    return encoder(1, batch=batch, seq=seq, dim=dim, heads=heads, ffn=ffn, seed=seed)


def encoder(
    layers: int,
    batch: int = 2,
    seq: int = 8,
    dim: int = 16,
    heads: int = 2,
    ffn: int = 32,
    seed: int = 0,
) -> onnx.ModelProto:
    """A BERT-style encoder: ``layers`` encoder layers (:func:`encoder_layer`), each with its own
    random weights. ``encoder(12, batch=1, seq=128, dim=768, heads=12, ffn=3072)`` is BERT-base's
    encoder (85 M parameters)."""
    rng = np.random.default_rng(seed)
    head = dim // heads
    weights = {
        "heads_shape": np.array([batch, seq, heads, head], np.int64),
        "model_shape": np.array([batch, seq, dim], np.int64),
        "scale": np.float32(1 / np.sqrt(head)),
    }
    nodes, x = [], "x"
    for layer in range(layers):
        prefix = f"l{layer}_" if layers > 1 else ""
        y = "y" if layer == layers - 1 else f"{prefix}y"
        nodes += _encoder_layer(prefix, x, y, dim, ffn, weights, rng)
        x = y
    shape = [batch, seq, dim]
    return make_model(
        nodes, [("x", FLOAT, shape)], [("y", FLOAT, shape)], list(weights.items()), opset=20
    )


def _encoder_layer(prefix: str, x: str, y: str, dim: int, ffn: int, weights: dict, rng) -> list:
    """The nodes of one post-norm encoder layer from ``x`` to ``y``; its weights are added to
    ``weights`` under ``prefix``."""

    def weight(name, *shape, scale=1.0):
        weights[prefix + name] = rng.normal(0, scale / np.sqrt(shape[0]), shape).astype(np.float32)
        return prefix + name

    def named(name, value):
        weights[prefix + name] = value
        return prefix + name

    def v(name):  # an intermediate value of this layer
        return prefix + name

    node = helper.make_node
    gamma = named("g1", np.ones(dim, np.float32) + rng.normal(0, 0.1, dim).astype(np.float32))
    return [
        node("MatMul", [x, weight("Wq", dim, dim)], [v("q0")]),
        node("MatMul", [x, weight("Wk", dim, dim)], [v("k0")]),
        node("MatMul", [x, weight("Wv", dim, dim)], [v("v0")]),
        node("Reshape", [v("q0"), "heads_shape"], [v("q1")]),
        node("Reshape", [v("k0"), "heads_shape"], [v("k1")]),
        node("Reshape", [v("v0"), "heads_shape"], [v("v1")]),
        node("Transpose", [v("q1")], [v("q")], perm=[0, 2, 1, 3]),
        node("Transpose", [v("k1")], [v("kt")], perm=[0, 2, 3, 1]),
        node("Transpose", [v("v1")], [v("v")], perm=[0, 2, 1, 3]),
        node("MatMul", [v("q"), v("kt")], [v("scores0")]),
        node("Mul", [v("scores0"), "scale"], [v("scores")]),
        node("Softmax", [v("scores")], [v("probs")], axis=-1),
        node("MatMul", [v("probs"), v("v")], [v("context0")]),
        node("Transpose", [v("context0")], [v("context1")], perm=[0, 2, 1, 3]),
        node("Reshape", [v("context1"), "model_shape"], [v("context")]),
        node("MatMul", [v("context"), weight("Wo", dim, dim)], [v("attn0")]),
        node("Add", [v("attn0"), weight("bo", dim, scale=0.1)], [v("attn")]),
        node("Add", [x, v("attn")], [v("res1")]),
        node(
            "LayerNormalization",
            [v("res1"), gamma, weight("be1", dim, scale=0.1)],
            [v("h1")],
            axis=-1,
            epsilon=1e-5,
        ),
        node("MatMul", [v("h1"), weight("W1", dim, ffn)], [v("f0")]),
        node("Add", [v("f0"), weight("b1", ffn, scale=0.1)], [v("f1")]),
        node("Gelu", [v("f1")], [v("f2")]),
        node("MatMul", [v("f2"), weight("W2", ffn, dim)], [v("f3")]),
        node("Add", [v("f3"), weight("b2", dim, scale=0.1)], [v("f4")]),
        node("Add", [v("h1"), v("f4")], [v("res2")]),
        node(
            "LayerNormalization",
            [
                v("res2"),
                named("g2", np.ones(dim, np.float32)),
                named("be2", np.zeros(dim, np.float32)),
            ],
            [y],
            axis=-1,
            epsilon=1e-5,
        ),
    ]


def lstm_reference(model_inputs: dict, model: onnx.ModelProto) -> dict:
    """The LSTM loop of :func:`lstm_loop` in numpy (ONNX's reference evaluator fails on it)."""
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    h, c = model_inputs["h0"].astype(np.float64), model_inputs["c0"].astype(np.float64)

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    stacked = []
    for x_t in model_inputs["X"]:
        gates = x_t @ weights["W"] + h @ weights["R"] + weights["B"]
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        stacked.append(h)
    return {"h": h, "c": c, "hs": np.stack(stacked)}


def while_loop() -> onnx.ModelProto:
    """x doubled until its sum exceeds 100 (at most 10 times): the body computes the exit."""
    body = helper.make_graph(
        [
            helper.make_node("Add", ["x_in", "x_in"], ["x_out"]),
            helper.make_node("ReduceSum", ["x_out"], ["total"], keepdims=0),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        ],
        "double",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x_in", FLOAT, [4]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x_out", FLOAT, [4]),
        ],
    )
    loop = helper.make_node("Loop", ["M", "go", "x"], ["y"], body=body)
    constants = [
        ("M", np.array(10, np.int64)),
        ("go", np.array(True)),
        ("limit", np.float32(100)),
    ]
    return make_model([loop], [("x", FLOAT, [4])], [("y", FLOAT, [4])], constants)
