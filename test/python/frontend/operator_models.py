"""Small models of the kinds PyTorch exports, built with onnx.helper and random weights (torch is
not a test dependency): a UNet-like network, GRU and LSTM sequence models, a decoder block with
opset-23 Attention/RMSNormalization/RotaryEmbedding and the same block as a TorchScript-style
graph, a greedy decoding head, and int8 QDQ MLP and CNN. ``bench/operator_models.py`` prints
their errors; ``test_operator_models.py`` checks them."""

from __future__ import annotations

import numpy as np
from models import make_model
from onnx import TensorProto, helper

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64
node = helper.make_node


def _weights(seed: int):
    rng = np.random.default_rng(seed)

    def weight(*shape, scale=None):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        return rng.normal(0, scale or 1 / np.sqrt(fan_in), shape).astype(np.float32)

    return rng, weight


def unet(size: int = 16, seed: int = 0):
    """Conv/ReLU encoder with a MaxPool, a ConvTranspose decoder with a skip Concat, a
    bilinear Resize to twice the size and a 1x1 Conv head."""
    rng, w = _weights(seed)
    inits = [
        ("w1", w(8, 3, 3, 3)), ("b1", w(8, scale=0.1)),
        ("w2", w(16, 8, 3, 3)), ("b2", w(16, scale=0.1)),
        ("wt", w(16, 8, 2, 2)), ("bt", w(8, scale=0.1)),
        ("w3", w(8, 16, 3, 3)), ("w4", w(2, 8, 1, 1)),
        ("roi", np.zeros(0, np.float32)), ("scales", np.array([1, 1, 2, 2], np.float32)),
    ]  # fmt: skip
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        node("Relu", ["c1"], ["e1"]),
        node("MaxPool", ["e1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        node("Relu", ["c2"], ["e2"]),
        node("ConvTranspose", ["e2", "wt", "bt"], ["u1"], strides=[2, 2]),
        node("Concat", ["u1", "e1"], ["cat"], axis=1),
        node("Conv", ["cat", "w3"], ["c3"], pads=[1, 1, 1, 1]),
        node("Relu", ["c3"], ["e3"]),
        node("Resize", ["e3", "roi", "scales"], ["up"], mode="linear"),
        node("Conv", ["up", "w4"], ["y"]),
    ]
    model = make_model(
        nodes, [("x", FLOAT, [1, 3, size, size])], [("y", FLOAT, [1, 2, 2 * size, 2 * size])], inits
    )
    return model, {"x": rng.normal(size=(1, 3, size, size)).astype(np.float32)}


def gru_classifier(
    steps: int = 32, batch: int = 2, features: int = 8, hidden: int = 16, seed: int = 1
):
    """A GRU over ``steps`` steps, its last hidden state through a Linear layer."""
    rng, w = _weights(seed)
    inits = [
        ("W", w(1, 3 * hidden, features)), ("R", w(1, 3 * hidden, hidden)),
        ("B", w(1, 6 * hidden, scale=0.1)), ("axes", np.array([0], np.int64)),
        ("Wl", w(hidden, 4)), ("bl", w(4, scale=0.1)),
    ]  # fmt: skip
    nodes = [
        node("GRU", ["x", "W", "R", "B"], ["", "h"], hidden_size=hidden, linear_before_reset=1),
        node("Squeeze", ["h", "axes"], ["last"]),
        node("MatMul", ["last", "Wl"], ["lin"]),
        node("Add", ["lin", "bl"], ["y"]),
    ]
    model = make_model(
        nodes, [("x", FLOAT, [steps, batch, features])], [("y", FLOAT, [batch, 4])], inits, opset=14
    )
    return model, {"x": rng.normal(size=(steps, batch, features)).astype(np.float32)}


def lstm_tagger(
    steps: int = 12, batch: int = 2, features: int = 8, hidden: int = 16, seed: int = 2
):
    """A bidirectional LSTM whose per-step outputs (both directions) go through a Linear layer."""
    rng, w = _weights(seed)
    inits = [
        ("W", w(2, 4 * hidden, features)), ("R", w(2, 4 * hidden, hidden)),
        ("B", w(2, 8 * hidden, scale=0.1)), ("Wl", w(2 * hidden, 5)),
        ("shape", np.array([steps, batch, 2 * hidden], np.int64)),
    ]  # fmt: skip
    nodes = [
        node(
            "LSTM", ["x", "W", "R", "B"], ["y_all"], hidden_size=hidden, direction="bidirectional"
        ),
        node("Transpose", ["y_all"], ["per_step"], perm=[0, 2, 1, 3]),
        node("Reshape", ["per_step", "shape"], ["joined"]),
        node("MatMul", ["joined", "Wl"], ["y"]),
    ]
    model = make_model(
        nodes,
        [("x", FLOAT, [steps, batch, features])],
        [("y", FLOAT, [steps, batch, 5])],
        inits,
        opset=14,
    )
    return model, {"x": rng.normal(size=(steps, batch, features)).astype(np.float32)}


def _block_weights(dim: int, heads: int, kv_heads: int, ffn: int, seq: int, seed: int):
    """Shared by both spellings of the decoder block (same numbers, same outputs)."""
    rng, w = _weights(seed)
    head = dim // heads
    inverse = 1.0 / (10000 ** (np.arange(0, head, 2) / head))
    angles = np.arange(seq)[:, None] * inverse[None, :]
    weights = {
        "g1": (1 + w(dim, scale=0.1)), "g2": (1 + w(dim, scale=0.1)),
        "Wq": w(dim, dim), "Wk": w(dim, kv_heads * head), "Wv": w(dim, kv_heads * head),
        "Wo": w(dim, dim), "Wg": w(dim, ffn), "Wu": w(dim, ffn), "Wd": w(ffn, dim),
        "cos": np.cos(angles).astype(np.float32), "sin": np.sin(angles).astype(np.float32),
    }  # fmt: skip
    return rng, weights


def _mlp(nodes: list, source: str) -> None:
    """The SiLU-gated MLP and its residual: y = h + W_d (silu(W_g n) * W_u n), n = source."""
    nodes += [
        node("MatMul", [source, "Wg"], ["gate"]),
        node("Sigmoid", ["gate"], ["gate_sigmoid"]),
        node("Mul", ["gate", "gate_sigmoid"], ["silu"]),
        node("MatMul", [source, "Wu"], ["up"]),
        node("Mul", ["silu", "up"], ["gated"]),
        node("MatMul", ["gated", "Wd"], ["down"]),
        node("Add", ["h", "down"], ["y"]),
    ]


def decoder_block(batch=1, seq=8, dim=32, heads=4, kv_heads=2, ffn=64, seed=3):
    """RMSNormalization, rotary Q/K (RotaryEmbedding on 3-D inputs), causal grouped-query
    Attention (opset 23), residual, RMSNormalization, SiLU-gated MLP, residual."""
    rng, weights = _block_weights(dim, heads, kv_heads, ffn, seq, seed)
    inits = [*weights.items(), ("positions", np.tile(np.arange(seq, dtype=np.int64), (batch, 1)))]
    nodes = [
        node("RMSNormalization", ["x", "g1"], ["n1"], epsilon=1e-6),
        node("MatMul", ["n1", "Wq"], ["q"]),
        node("MatMul", ["n1", "Wk"], ["k"]),
        node("MatMul", ["n1", "Wv"], ["v"]),
        node("RotaryEmbedding", ["q", "cos", "sin", "positions"], ["q_rot"], num_heads=heads),
        node("RotaryEmbedding", ["k", "cos", "sin", "positions"], ["k_rot"], num_heads=kv_heads),
        node(
            "Attention",
            ["q_rot", "k_rot", "v"],
            ["attended"],
            is_causal=1,
            q_num_heads=heads,
            kv_num_heads=kv_heads,
        ),
        node("MatMul", ["attended", "Wo"], ["projected"]),
        node("Add", ["x", "projected"], ["h"]),
        node("RMSNormalization", ["h", "g2"], ["n2"], epsilon=1e-6),
    ]
    _mlp(nodes, "n2")
    model = make_model(
        nodes, [("x", FLOAT, [batch, seq, dim])], [("y", FLOAT, [batch, seq, dim])], inits, opset=23
    )
    return model, {"x": rng.normal(size=(batch, seq, dim)).astype(np.float32)}


def decoder_block_torchscript(batch=1, seq=8, dim=32, heads=4, kv_heads=2, ffn=64, seed=3):
    """:func:`decoder_block` as TorchScript exports it at opset 17: RMSNorm from Pow/ReduceMean,
    rotary from Slice/Neg/Concat, repeated KV heads, a Trilu/Where causal mask, MatMul/Softmax
    attention (same weights: same outputs)."""
    rng, weights = _block_weights(dim, heads, kv_heads, ffn, seq, seed)
    head, repeat = dim // heads, heads // kv_heads
    cos, sin = (np.concatenate([weights[n], weights[n]], axis=1) for n in ("cos", "sin"))
    inits = [
        *((name, value) for name, value in weights.items() if name not in ("cos", "sin")),
        ("cos_full", cos), ("sin_full", sin), ("two", np.float32(2)), ("eps", np.float32(1e-6)),
        ("q_shape", np.array([batch, seq, heads, head], np.int64)),
        ("kv_shape", np.array([batch, seq, kv_heads, head], np.int64)),
        ("kv_expand", np.array([batch, kv_heads, repeat, seq, head], np.int64)),
        ("kv_heads_shape", np.array([batch, heads, seq, head], np.int64)),
        ("out_shape", np.array([batch, seq, dim], np.int64)),
        ("half", np.array([head // 2], np.int64)), ("end", np.array([head], np.int64)),
        ("start", np.array([0], np.int64)), ("last", np.array([-1], np.int64)),
        ("axis2", np.array([2], np.int64)), ("ones", np.ones((seq, seq), np.float32)),
        ("one", np.array(1, np.int64)), ("scale", np.float32(1 / np.sqrt(head))),
        ("neg_inf", np.float32(-np.inf)),
    ]  # fmt: skip

    def rms(source: str, gain: str, out: str) -> list:
        return [
            node("Pow", [source, "two"], [f"{out}_sq"]),
            node("ReduceMean", [f"{out}_sq"], [f"{out}_ms"], axes=[-1], keepdims=1),
            node("Add", [f"{out}_ms", "eps"], [f"{out}_var"]),
            node("Sqrt", [f"{out}_var"], [f"{out}_rms"]),
            node("Div", [source, f"{out}_rms"], [f"{out}_unit"]),
            node("Mul", [f"{out}_unit", gain], [out]),
        ]

    def heads_of(source: str, shape: str, out: str) -> list:
        return [
            node("Reshape", [source, shape], [f"{out}_split"]),
            node("Transpose", [f"{out}_split"], [out], perm=[0, 2, 1, 3]),
        ]

    def rotate(source: str, out: str) -> list:
        return [
            node("Slice", [source, "start", "half", "last"], [f"{out}_x1"]),
            node("Slice", [source, "half", "end", "last"], [f"{out}_x2"]),
            node("Neg", [f"{out}_x2"], [f"{out}_nx2"]),
            node("Concat", [f"{out}_nx2", f"{out}_x1"], [f"{out}_turned"], axis=-1),
            node("Mul", [source, "cos_full"], [f"{out}_c"]),
            node("Mul", [f"{out}_turned", "sin_full"], [f"{out}_s"]),
            node("Add", [f"{out}_c", f"{out}_s"], [out]),
        ]

    def repeat_kv(source: str, out: str) -> list:
        return [
            node("Unsqueeze", [source, "axis2"], [f"{out}_5d"]),
            node("Expand", [f"{out}_5d", "kv_expand"], [f"{out}_rep"]),
            node("Reshape", [f"{out}_rep", "kv_heads_shape"], [out]),
        ]

    nodes = [
        *rms("x", "g1", "n1"),
        node("MatMul", ["n1", "Wq"], ["q"]),
        node("MatMul", ["n1", "Wk"], ["k"]),
        node("MatMul", ["n1", "Wv"], ["v"]),
        *heads_of("q", "q_shape", "qh"),
        *heads_of("k", "kv_shape", "kh"),
        *heads_of("v", "kv_shape", "vh"),
        *rotate("qh", "q_rot"),
        *rotate("kh", "k_rot"),
        *repeat_kv("k_rot", "k_all"),
        *repeat_kv("vh", "v_all"),
        node("Transpose", ["k_all"], ["k_t"], perm=[0, 1, 3, 2]),
        node("MatMul", ["q_rot", "k_t"], ["raw"]),
        node("Mul", ["raw", "scale"], ["scores"]),
        node("Trilu", ["ones", "one"], ["future"], upper=1),
        node("Cast", ["future"], ["masked"], to=TensorProto.BOOL),
        node("Where", ["masked", "neg_inf", "scores"], ["causal"]),
        node("Softmax", ["causal"], ["weights"], axis=-1),
        node("MatMul", ["weights", "v_all"], ["mixed"]),
        node("Transpose", ["mixed"], ["mixed_t"], perm=[0, 2, 1, 3]),
        node("Reshape", ["mixed_t", "out_shape"], ["attended"]),
        node("MatMul", ["attended", "Wo"], ["projected"]),
        node("Add", ["x", "projected"], ["h"]),
        *rms("h", "g2", "n2"),
    ]
    _mlp(nodes, "n2")
    model = make_model(
        nodes, [("x", FLOAT, [batch, seq, dim])], [("y", FLOAT, [batch, seq, dim])], inits, opset=17
    )
    return model, {"x": rng.normal(size=(batch, seq, dim)).astype(np.float32)}


def decoding_head(batch: int = 2, dim: int = 32, vocab: int = 200, k: int = 5, seed: int = 4):
    """Logits, the greedy next token (ArgMax), the top-k probabilities and tokens (TopK), and
    the cumulative softmax (CumSum, as top-p sampling uses)."""
    rng, w = _weights(seed)
    inits = [
        ("W", w(dim, vocab, scale=1.0)),
        ("b", w(vocab, scale=0.1)),
        ("k", np.array([k], np.int64)),
        ("axis", np.array(-1, np.int64)),
    ]
    nodes = [
        node("MatMul", ["h", "W"], ["scaled"]),
        node("Add", ["scaled", "b"], ["logits"]),
        node("ArgMax", ["logits"], ["next"], axis=-1, keepdims=0),
        node("Softmax", ["logits"], ["probs"], axis=-1),
        node("TopK", ["probs", "k"], ["top_p", "top_i"], axis=-1),
        node("CumSum", ["probs", "axis"], ["cumulative"]),
    ]
    outputs = [
        ("next", INT64, [batch]),
        ("top_p", FLOAT, [batch, k]),
        ("top_i", INT64, [batch, k]),
        ("cumulative", FLOAT, [batch, vocab]),
    ]
    model = make_model(nodes, [("h", FLOAT, [batch, dim])], outputs, inits)
    return model, {"h": rng.normal(size=(batch, dim)).astype(np.float32)}


def _quantized(weight: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(int8 values, per-channel float scales) of a symmetric per-axis quantization."""
    moved = np.moveaxis(weight, axis, 0)
    scale = (np.abs(moved).reshape(moved.shape[0], -1).max(axis=1) / 127).astype(np.float32)
    shape = [1] * weight.ndim
    shape[axis] = -1
    values = np.clip(np.rint(weight / scale.reshape(shape)), -127, 127).astype(np.int8)
    return values, scale


def _qdq(nodes: list, inits: list, source: str, out: str, scale: float, zero: int) -> None:
    """A QuantizeLinear/DequantizeLinear pair on an activation (uint8, as ORT's quantizer)."""
    inits += [(f"{out}_scale", np.float32(scale)), (f"{out}_zero", np.uint8(zero))]
    nodes += [
        node("QuantizeLinear", [source, f"{out}_scale", f"{out}_zero"], [f"{out}_q"]),
        node("DequantizeLinear", [f"{out}_q", f"{out}_scale", f"{out}_zero"], [out]),
    ]


def _dequantized_weight(nodes: list, inits: list, name: str, weight: np.ndarray, axis: int) -> None:
    values, scale = _quantized(weight, axis)
    inits += [
        (f"{name}_q", values),
        (f"{name}_scale", scale),
        (f"{name}_zero", np.zeros_like(scale, np.int8)),
    ]
    nodes.append(
        node("DequantizeLinear", [f"{name}_q", f"{name}_scale", f"{name}_zero"], [name], axis=axis)
    )


def qdq_mlp(batch: int = 8, features: int = 64, hidden: int = 32, classes: int = 10, seed: int = 5):
    """int8 weights (per output channel) and uint8 activations in QDQ form around two MatMuls."""
    rng, w = _weights(seed)
    nodes, inits = [], [("b1", w(hidden, scale=0.1)), ("b2", w(classes, scale=0.1))]
    _qdq(nodes, inits, "x", "x_dq", 8 / 255, 128)
    _dequantized_weight(nodes, inits, "W1", w(features, hidden), axis=1)
    nodes += [
        node("MatMul", ["x_dq", "W1"], ["m1"]),
        node("Add", ["m1", "b1"], ["a1"]),
        node("Relu", ["a1"], ["r1"]),
    ]
    _qdq(nodes, inits, "r1", "r1_dq", 4 / 255, 0)
    _dequantized_weight(nodes, inits, "W2", w(hidden, classes), axis=1)
    nodes += [node("MatMul", ["r1_dq", "W2"], ["m2"]), node("Add", ["m2", "b2"], ["y"])]
    model = make_model(
        nodes, [("x", FLOAT, [batch, features])], [("y", FLOAT, [batch, classes])], inits, opset=21
    )
    return model, {"x": rng.normal(size=(batch, features)).astype(np.float32)}


def qdq_cnn(size: int = 16, seed: int = 6):
    """int8 per-channel Conv weights and uint8 activations in QDQ form: Conv, ReLU, Conv,
    global average pooling."""
    rng, w = _weights(seed)
    nodes, inits = [], [("b1", w(8, scale=0.1)), ("b2", w(4, scale=0.1))]
    _qdq(nodes, inits, "x", "x_dq", 8 / 255, 128)
    _dequantized_weight(nodes, inits, "w1", w(8, 3, 3, 3), axis=0)
    nodes += [
        node("Conv", ["x_dq", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        node("Relu", ["c1"], ["r1"]),
    ]
    _qdq(nodes, inits, "r1", "r1_dq", 4 / 255, 0)
    _dequantized_weight(nodes, inits, "w2", w(4, 8, 3, 3), axis=0)
    nodes += [
        node("Conv", ["r1_dq", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        node("GlobalAveragePool", ["c2"], ["y"]),
    ]
    model = make_model(
        nodes, [("x", FLOAT, [1, 3, size, size])], [("y", FLOAT, [1, 4, 1, 1])], inits, opset=21
    )
    return model, {"x": rng.normal(size=(1, 3, size, size)).astype(np.float32)}


# name -> (builder, has control flow: the PTX is not emulated)
MODELS = {
    "unet": (unet, False),
    "gru": (gru_classifier, True),
    "lstm": (lstm_tagger, True),
    "decoder-opset23": (decoder_block, False),
    "decoder-torchscript": (decoder_block_torchscript, False),
    "decoding-head": (decoding_head, False),
    "qdq-mlp": (qdq_mlp, False),
    "qdq-cnn": (qdq_cnn, False),
}
