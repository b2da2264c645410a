"""Models with loops and branches, built with onnx.helper (random weights, nothing committed):
the models of Grinder's issue (17, item 8), for the tests (small shapes) and
``bench/grinder.py`` (the issue's shapes).

- ``lstm``: nn.LSTM as PyTorch exports it (one ONNX LSTM node; issue size 64 steps, hidden
  256, batch 1 or 64);
- ``stacked_lstm``: two LSTM layers, the second on the first's Y;
- ``bilstm``: two bidirectional LSTM layers, the second on a view of the first's transposed Y;
- ``gru``: nn.GRU as PyTorch exports it (``linear_before_reset=1``);
- ``early_exit``: a Loop that iterates a contraction until it has converged (its body
  computes the condition: a data-dependent trip count); ``fed_limit``, the same loop bounded
  by a trip count fed at run time;
- ``skip_block``: a residual block behind an If on the mean of its input;
- ``greedy_decoder``: a Seq2Seq-like decoder, each step's argmax token fed back through an
  embedding into an RNN cell (a Loop with a scan output of tokens);
- ``blockdrop``: a BlockDrop/SkipNet-like network, an If per block on a gate computed from
  the block's input;
- ``gated_head``: an If whose branches hold small operators of a value computed before it
  (quartet-speculate-branches moves them out).

Each builder returns ``(model, feeds)``: feeds that exercise the control flow (the early exit
stops before its bound; some blocks skip, some run).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
BOOL = TensorProto.BOOL
Built = tuple[onnx.ModelProto, dict[str, np.ndarray]]


def model_of(nodes, inputs, outputs, weights, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "controlflow",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), name=k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def _uniform(rng, shape, scale: float) -> np.ndarray:
    return rng.uniform(-scale, scale, shape).astype(np.float32)


def _recurrent_weights(rng, kind: str, prefix: str, features: int, hidden: int) -> dict:
    """W, R, B of one forward layer, scaled as PyTorch initialises them (1 / sqrt(hidden))."""
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind] * hidden
    scale = 1 / np.sqrt(hidden)
    return {
        f"{prefix}W": _uniform(rng, (1, gates, features), scale),
        f"{prefix}R": _uniform(rng, (1, gates, hidden), scale),
        f"{prefix}B": _uniform(rng, (1, 2 * gates), scale),
    }


def lstm(steps: int = 64, batch: int = 1, features: int = 256, hidden: int = 256) -> Built:
    """One LSTM layer over ``steps`` steps: Y (T x 1 x B x H), Y_h and Y_c."""
    rng = np.random.default_rng(1)
    weights = _recurrent_weights(rng, "LSTM", "", features, hidden)
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "y_h", "y_c"], hidden_size=hidden)
    model = model_of(
        [node],
        [("x", FLOAT, [steps, batch, features])],
        [
            ("y", FLOAT, [steps, 1, batch, hidden]),
            ("y_h", FLOAT, [1, batch, hidden]),
            ("y_c", FLOAT, [1, batch, hidden]),
        ],
        weights,
    )
    return model, {"x": _uniform(rng, (steps, batch, features), 1.0)}


def stacked_lstm(
    steps: int = 64,
    batch: int = 1,
    features: int = 256,
    hidden: int = 256,
    layers: int = 2,
    direction: str = "forward",
) -> Built:
    """``layers`` LSTM layers, each on the previous one's Y as nn.LSTM(num_layers=2) exports
    it: one direction squeezed away; both (``direction="bidirectional"``) moved next to the
    hidden axis by a Transpose and merged by a Reshape, so that the next layer reads a view of
    the Transpose's buffer."""
    rng = np.random.default_rng(2)
    directions = 2 if direction == "bidirectional" else 1
    weights, nodes, value = {}, [], "x"
    if directions == 1:
        weights["axes"] = np.array([1], np.int64)
    else:
        weights["merged"] = np.array([steps, batch, directions * hidden], np.int64)
    for layer in range(layers):
        prefix = f"l{layer}_"
        inputs = features if layer == 0 else directions * hidden
        layer_weights = [
            _recurrent_weights(rng, "LSTM", prefix, inputs, hidden) for _ in range(directions)
        ]
        weights.update({k: np.concatenate([w[k] for w in layer_weights]) for k in layer_weights[0]})
        nodes.append(
            helper.make_node(
                "LSTM",
                [value, f"{prefix}W", f"{prefix}R", f"{prefix}B"],
                [f"{prefix}y", f"{prefix}y_h", f"{prefix}y_c"],
                hidden_size=hidden,
                direction=direction,
            )
        )
        if directions == 1:
            nodes.append(helper.make_node("Squeeze", [f"{prefix}y", "axes"], [f"{prefix}seq"]))
        else:
            nodes.append(
                helper.make_node("Transpose", [f"{prefix}y"], [f"{prefix}t"], perm=[0, 2, 1, 3])
            )
            nodes.append(helper.make_node("Reshape", [f"{prefix}t", "merged"], [f"{prefix}seq"]))
        value = f"{prefix}seq"
    nodes.append(helper.make_node("Identity", [value], ["y"]))
    model = model_of(
        nodes,
        [("x", FLOAT, [steps, batch, features])],
        [("y", FLOAT, [steps, batch, directions * hidden])],
        weights,
    )
    return model, {"x": _uniform(rng, (steps, batch, features), 1.0)}


def gru(steps: int = 64, batch: int = 1, features: int = 256, hidden: int = 256) -> Built:
    """One GRU layer as PyTorch exports it (linear_before_reset=1): Y and Y_h."""
    rng = np.random.default_rng(3)
    weights = _recurrent_weights(rng, "GRU", "", features, hidden)
    node = helper.make_node(
        "GRU", ["x", "W", "R", "B"], ["y", "y_h"], hidden_size=hidden, linear_before_reset=1
    )
    model = model_of(
        [node],
        [("x", FLOAT, [steps, batch, features])],
        [("y", FLOAT, [steps, 1, batch, hidden]), ("y_h", FLOAT, [1, batch, hidden])],
        weights,
    )
    return model, {"x": _uniform(rng, (steps, batch, features), 1.0)}


def early_exit(
    width: int = 256, limit: int = 64, tolerance: float = 1e-3, fed_limit: bool = False
) -> Built:
    """x <- tanh(x W + b) / 2 + x / 2 until no element moves by more than ``tolerance`` (at most
    ``limit`` times): a fixed-point iteration whose trip count only the data knows. Outputs
    the fixed point and the iteration count. With ``fed_limit`` the bound is the input
    ``limit`` (Loop's M fed at run time, as a scripted ``for i in range(n)`` exports)."""
    rng = np.random.default_rng(4)
    weights = {
        "W": _uniform(rng, (width, width), 0.5 / np.sqrt(width)),
        "b": _uniform(rng, (width,), 0.1),
        "half": np.float32(0.5),
        "tolerance": np.float32(tolerance),
        "go": np.array(True),
        "zero": np.array(0, np.int64),
        "one": np.array(1, np.int64),
    }
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["x_in", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["pre"]),
            helper.make_node("Tanh", ["pre"], ["act"]),
            helper.make_node("Add", ["act", "x_in"], ["sum"]),
            helper.make_node("Mul", ["sum", "half"], ["x_out"]),
            helper.make_node("Sub", ["x_out", "x_in"], ["delta"]),
            helper.make_node("Abs", ["delta"], ["moved"]),
            helper.make_node("ReduceMax", ["moved"], ["largest"], keepdims=0),
            helper.make_node("Greater", ["largest", "tolerance"], ["cond_out"]),
            helper.make_node("Add", ["count_in", "one"], ["count_out"]),
        ],
        "fixed_point",
        [
            helper.make_tensor_value_info("i", INT64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
            helper.make_tensor_value_info("x_in", FLOAT, [1, width]),
            helper.make_tensor_value_info("count_in", INT64, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, []),
            helper.make_tensor_value_info("x_out", FLOAT, [1, width]),
            helper.make_tensor_value_info("count_out", INT64, []),
        ],
    )
    loop = helper.make_node("Loop", ["limit", "go", "x", "zero"], ["y", "count"], body=body)
    bound = np.array(limit, np.int64)
    inputs, feeds = [("x", FLOAT, [1, width])], {"x": _uniform(rng, (1, width), 1.0)}
    if fed_limit:
        inputs.append(("limit", INT64, []))
        feeds["limit"] = bound
    else:
        weights["limit"] = bound
    outputs = [("y", FLOAT, [1, width]), ("count", INT64, [])]
    return model_of([loop], inputs, outputs, weights), feeds


def _block_graphs(name: str, value: str, width: int) -> tuple[onnx.GraphProto, onnx.GraphProto]:
    """A residual block ``x + relu(x W_name + b_name)`` (then) and the identity (else)."""
    then_graph = helper.make_graph(
        [
            helper.make_node("MatMul", [value, f"{name}_W"], [f"{name}_xw"]),
            helper.make_node("Add", [f"{name}_xw", f"{name}_b"], [f"{name}_pre"]),
            helper.make_node("Relu", [f"{name}_pre"], [f"{name}_act"]),
            helper.make_node("Add", [value, f"{name}_act"], [f"{name}_ran"]),
        ],
        f"{name}_run",
        [],
        [helper.make_tensor_value_info(f"{name}_ran", FLOAT, None)],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Identity", [value], [f"{name}_skipped"])],
        f"{name}_skip",
        [],
        [helper.make_tensor_value_info(f"{name}_skipped", FLOAT, None)],
    )
    return then_graph, else_graph


def _block_weights(rng, name: str, width: int) -> dict:
    return {
        f"{name}_W": _uniform(rng, (width, width), 1 / np.sqrt(width)),
        f"{name}_b": _uniform(rng, (width,), 0.1),
    }


def skip_block(batch: int = 1, width: int = 256) -> Built:
    """``y = x + relu(x W + b) if mean(x) > 0 else x``: the If on a reduced value."""
    rng = np.random.default_rng(5)
    weights = {**_block_weights(rng, "block", width), "zero": np.float32(0)}
    then_graph, else_graph = _block_graphs("block", "x", width)
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], keepdims=0),
        helper.make_node("Greater", ["mean", "zero"], ["gate"]),
        helper.make_node("If", ["gate"], ["y"], then_branch=then_graph, else_branch=else_graph),
    ]
    model = model_of(nodes, [("x", FLOAT, [batch, width])], [("y", FLOAT, [batch, width])], weights)
    x = _uniform(rng, (batch, width), 1.0)
    return model, {"x": x - x.mean() + 0.05}  # the block runs


def blockdrop(blocks: int = 6, batch: int = 1, width: int = 256) -> Built:
    """A BlockDrop/SkipNet-like network: per block, a gate sigmoid(mean(h) * g_k + c_k) > 0.5
    decides whether the residual block runs (an If) or h passes through."""
    rng = np.random.default_rng(6)
    weights = {"half": np.float32(0.5)}
    nodes, value = [], "x"
    for block in range(blocks):
        name = f"block{block}"
        weights.update(_block_weights(rng, name, width))
        weights[f"{name}_g"] = np.float32(rng.uniform(0.5, 2.0))
        weights[f"{name}_c"] = np.float32((-1.0) ** block * 0.3)  # alternate: some run, some skip
        then_graph, else_graph = _block_graphs(name, value, width)
        nodes += [
            helper.make_node("ReduceMean", [value], [f"{name}_mean"], keepdims=0),
            helper.make_node("Mul", [f"{name}_mean", f"{name}_g"], [f"{name}_scaled"]),
            helper.make_node("Add", [f"{name}_scaled", f"{name}_c"], [f"{name}_logit"]),
            helper.make_node("Sigmoid", [f"{name}_logit"], [f"{name}_p"]),
            helper.make_node("Greater", [f"{name}_p", "half"], [f"{name}_gate"]),
            helper.make_node(
                "If",
                [f"{name}_gate"],
                [f"{name}_out"],
                then_branch=then_graph,
                else_branch=else_graph,
            ),
        ]
        value = f"{name}_out"
    nodes.append(helper.make_node("Identity", [value], ["y"]))
    model = model_of(nodes, [("x", FLOAT, [batch, width])], [("y", FLOAT, [batch, width])], weights)
    return model, {"x": _uniform(rng, (batch, width), 0.2)}


def gated_head(batch: int = 1, width: int = 256) -> Built:
    """``h = relu(x W1)``; if mean(x) > 0: ``sigmoid(h) W2 * sigmoid(h) - h`` else
    ``-h W2 * -h``. Each branch reads a small elementwise operator of ``h`` twice, through a
    contraction and an elementwise product, so Welder keeps it a kernel of its own there: the
    negation, in both branches, and the sigmoid, in one, leave the If
    (quartet-speculate-branches); the contractions are each branch's work and stay."""
    rng = np.random.default_rng(7)
    weights = {
        "W1": _uniform(rng, (width, width), 1 / np.sqrt(width)),
        "W2": _uniform(rng, (width, width), 1 / np.sqrt(width)),
        "zero": np.float32(0),
    }
    then_graph = helper.make_graph(
        [
            helper.make_node("Neg", ["h"], ["then_n"]),
            helper.make_node("Sigmoid", ["h"], ["then_s"]),
            helper.make_node("MatMul", ["then_s", "W2"], ["then_t"]),
            helper.make_node("Mul", ["then_t", "then_s"], ["then_u"]),
            helper.make_node("Add", ["then_u", "then_n"], ["then_y"]),
        ],
        "head_then",
        [],
        [helper.make_tensor_value_info("then_y", FLOAT, None)],
    )
    else_graph = helper.make_graph(
        [
            helper.make_node("Neg", ["h"], ["else_n"]),
            helper.make_node("MatMul", ["else_n", "W2"], ["else_t"]),
            helper.make_node("Mul", ["else_t", "else_n"], ["else_y"]),
        ],
        "head_else",
        [],
        [helper.make_tensor_value_info("else_y", FLOAT, None)],
    )
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["xw"]),
        helper.make_node("Relu", ["xw"], ["h"]),
        helper.make_node("ReduceMean", ["x"], ["mean"], keepdims=0),
        helper.make_node("Greater", ["mean", "zero"], ["gate"]),
        helper.make_node("If", ["gate"], ["y"], then_branch=then_graph, else_branch=else_graph),
    ]
    model = model_of(nodes, [("x", FLOAT, [batch, width])], [("y", FLOAT, [batch, width])], weights)
    return model, {"x": _uniform(rng, (batch, width), 1.0) + 0.1}  # the then branch runs


def greedy_decoder(
    steps: int = 32, vocabulary: int = 64, embedding: int = 128, hidden: int = 256
) -> Built:
    """A Seq2Seq-like greedy decoder: from the encoder's state h0 and a start token, each step
    embeds the token, updates h = tanh(e W + h R + b), takes the logits h O and feeds their
    argmax back as the next token; the tokens are the scan output."""
    rng = np.random.default_rng(7)
    weights = {
        "E": _uniform(rng, (vocabulary, embedding), 1.0),
        "W": _uniform(rng, (embedding, hidden), 1 / np.sqrt(embedding)),
        "R": _uniform(rng, (hidden, hidden), 1 / np.sqrt(hidden)),
        "b": _uniform(rng, (hidden,), 0.1),
        "O": _uniform(rng, (hidden, vocabulary), 1 / np.sqrt(hidden)),
        "steps": np.array(steps, np.int64),
        "start": np.array([1], np.int64),
    }
    body = helper.make_graph(
        [
            helper.make_node("Gather", ["E", "token_in"], ["e"], axis=0),
            helper.make_node("MatMul", ["e", "W"], ["ew"]),
            helper.make_node("MatMul", ["h_in", "R"], ["hr"]),
            helper.make_node("Add", ["ew", "hr"], ["sum"]),
            helper.make_node("Add", ["sum", "b"], ["pre"]),
            helper.make_node("Tanh", ["pre"], ["h_out"]),
            helper.make_node("MatMul", ["h_out", "O"], ["logits"]),
            helper.make_node("ArgMax", ["logits"], ["token_out"], axis=1, keepdims=0),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["token_out"], ["token_scan"]),
        ],
        "decode_step",
        [
            helper.make_tensor_value_info("i", INT64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
            helper.make_tensor_value_info("h_in", FLOAT, [1, hidden]),
            helper.make_tensor_value_info("token_in", INT64, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, []),
            helper.make_tensor_value_info("h_out", FLOAT, [1, hidden]),
            helper.make_tensor_value_info("token_out", INT64, [1]),
            helper.make_tensor_value_info("token_scan", INT64, [1]),
        ],
    )
    loop = helper.make_node(
        "Loop", ["steps", "", "h0", "start"], ["h", "last", "tokens"], body=body
    )
    model = model_of(
        [loop],
        [("h0", FLOAT, [1, hidden])],
        [("h", FLOAT, [1, hidden]), ("last", INT64, [1]), ("tokens", INT64, [steps, 1])],
        weights,
    )
    return model, {"h0": _uniform(rng, (1, hidden), 1.0)}


MODELS: dict[str, Callable[..., Built]] = {
    "lstm": lstm,
    "stacked_lstm": stacked_lstm,
    "bilstm": partial(stacked_lstm, direction="bidirectional"),
    "gru": gru,
    "early_exit": early_exit,
    "fed_limit": partial(early_exit, fed_limit=True),
    "skip_block": skip_block,
    "greedy_decoder": greedy_decoder,
    "blockdrop": blockdrop,
    "gated_head": gated_head,
}

# The shapes (bench/grinder.py), and shapes small enough for the emulator in CI.
BENCH = {
    "lstm_b1": ("lstm", {"batch": 1}),
    "lstm_b64": ("lstm", {"batch": 64}),
    "stacked_lstm": ("stacked_lstm", {}),
    "gru": ("gru", {}),
    "early_exit": ("early_exit", {}),
    "skip_block": ("skip_block", {}),
    "greedy_decoder": ("greedy_decoder", {}),
    "blockdrop": ("blockdrop", {}),
}
SMALL = {
    "lstm": {"steps": 5, "batch": 2, "features": 8, "hidden": 8},
    "stacked_lstm": {"steps": 4, "batch": 2, "features": 8, "hidden": 8},
    "bilstm": {"steps": 4, "batch": 2, "features": 8, "hidden": 8},
    "gru": {"steps": 5, "batch": 2, "features": 8, "hidden": 8},
    "early_exit": {"width": 16, "limit": 12, "tolerance": 1e-2},
    "fed_limit": {"width": 16, "limit": 5, "tolerance": 1e-6},
    "skip_block": {"batch": 2, "width": 16},
    "greedy_decoder": {"steps": 4, "vocabulary": 8, "embedding": 8, "hidden": 16},
    "blockdrop": {"blocks": 3, "batch": 2, "width": 16},
    # wide enough that Welder keeps the small operators apart in their branches
    "gated_head": {"batch": 2, "width": 256},
}


def small(name: str) -> Built:
    return MODELS[name](**SMALL[name])


def bench(name: str) -> Built:
    builder, options = BENCH[name]
    return MODELS[builder](**options)


def reference(model: onnx.ModelProto, feeds) -> dict[str, np.ndarray]:
    """onnxruntime's outputs of ``model`` on ``feeds``, by name."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString())
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def assert_close(got: dict, expected: dict) -> None:
    """Every output of ``expected`` in ``got``, same shape, within float32 tolerances."""
    assert got.keys() == expected.keys()
    for name, want in expected.items():
        assert got[name].shape == want.shape, name
        np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-5, err_msg=name)
