"""Small models of the kinds PyTorch exports, built with onnx.helper and random weights (torch is
not a test dependency): a UNet-like network, GRU and LSTM sequence models, a LLaMA-style decoder
block with opset-23 Attention/RMSNormalization/RotaryEmbedding and the same block as the
TorchScript and dynamo exporters spell it, a GPT-2 block, a ViT and a BERT encoder as those
exporters write Hugging Face's models, a greedy decoding head, and int8 QDQ MLP and CNN.
``bench/operator_models.py`` prints their errors; ``test_operator_models.py`` checks them."""

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


def decoder_block_dynamo(batch=1, seq=8, dim=32, heads=4, kv_heads=2, ffn=64, seed=3):
    """:func:`decoder_block` (LLaMA) as the dynamo exporter writes it at opset 20: RMSNorm as
    Pow/ReduceMean/Sqrt/Reciprocal, rotary tables as (1, 1, seq, head) constants and 4-input
    Slices, KV heads repeated by Unsqueeze/Expand/Reshape, K transposed through
    Reshape/Transpose/Reshape, an additive causal mask and a NaN-guarded Softmax, SiLU as
    Sigmoid times its input (same weights: same outputs)."""
    rng, weights = _block_weights(dim, heads, kv_heads, ffn, seq, seed)
    head, repeat = dim // heads, heads // kv_heads
    cos, sin = (
        np.concatenate([weights[n], weights[n]], axis=1)[None, None] for n in ("cos", "sin")
    )
    causal = np.triu(np.full((seq, seq), -np.inf, np.float32), 1).reshape(1, 1, seq, seq)
    inits = [
        *((name, value) for name, value in weights.items() if name not in ("cos", "sin")),
        ("cos_table", cos), ("sin_table", sin), ("two", np.float32(2)), ("eps", np.float32(1e-6)),
        ("last_axis", np.array([-1], np.int64)), ("causal", causal),
        ("q_shape", np.array([batch, seq, heads, head], np.int64)),
        ("kv_shape", np.array([batch, seq, kv_heads, head], np.int64)),
        ("axis2", np.array([2], np.int64)),
        ("kv_expand", np.array([batch, kv_heads, repeat, seq, head], np.int64)),
        ("kv_heads_shape", np.array([batch, heads, seq, head], np.int64)),
        ("k_flat", np.array([batch * heads, seq, head], np.int64)),
        ("k_heads_t", np.array([batch, heads, head, seq], np.int64)),
        ("out_shape", np.array([batch, seq, dim], np.int64)),
        ("zero", np.array([0], np.int64)), ("half", np.array([head // 2], np.int64)),
        ("end", np.array([np.iinfo(np.int64).max], np.int64)), ("step", np.array([1], np.int64)),
        ("axis3", np.array([3], np.int64)),
    ]  # fmt: skip

    def rms(source: str, gain: str, out: str) -> list:
        return [
            node("Pow", [source, "two"], [f"{out}_sq"]),
            node("ReduceMean", [f"{out}_sq", "last_axis"], [f"{out}_ms"], keepdims=1),
            node("Add", [f"{out}_ms", "eps"], [f"{out}_var"]),
            node("Sqrt", [f"{out}_var"], [f"{out}_rms"]),
            node("Reciprocal", [f"{out}_rms"], [f"{out}_inv"]),
            node("Mul", [source, f"{out}_inv"], [f"{out}_unit"]),
            node("Mul", [gain, f"{out}_unit"], [out]),
        ]

    def heads_of(source: str, shape: str, out: str) -> list:
        return [
            node("Reshape", [source, shape], [f"{out}_split"], allowzero=1),
            node("Transpose", [f"{out}_split"], [out], perm=[0, 2, 1, 3]),
        ]

    def rotate(source: str, out: str) -> list:
        return [
            node("Mul", [source, "cos_table"], [f"{out}_c"]),
            node("Slice", [source, "zero", "half", "axis3", "step"], [f"{out}_x1"]),
            node("Slice", [source, "half", "end", "axis3", "step"], [f"{out}_x2"]),
            node("Neg", [f"{out}_x2"], [f"{out}_nx2"]),
            node("Concat", [f"{out}_nx2", f"{out}_x1"], [f"{out}_turned"], axis=-1),
            node("Mul", [f"{out}_turned", "sin_table"], [f"{out}_s"]),
            node("Add", [f"{out}_c", f"{out}_s"], [out]),
        ]

    def repeat_kv(source: str, out: str) -> list:
        return [
            node("Unsqueeze", [source, "axis2"], [f"{out}_5d"]),
            node("Expand", [f"{out}_5d", "kv_expand"], [f"{out}_rep"]),
            node("Reshape", [f"{out}_rep", "kv_heads_shape"], [out], allowzero=1),
        ]

    nodes = [
        *rms("x", "g1", "n1"),
        node("MatMul", ["n1", "Wq"], ["q"]),
        *heads_of("q", "q_shape", "qh"),
        node("MatMul", ["n1", "Wk"], ["k"]),
        *heads_of("k", "kv_shape", "kh"),
        node("MatMul", ["n1", "Wv"], ["v"]),
        *heads_of("v", "kv_shape", "vh"),
        *rotate("qh", "q_rot"),
        *rotate("kh", "k_rot"),
        *repeat_kv("k_rot", "k_all"),
        *repeat_kv("vh", "v_all"),
        node("Reshape", ["k_all", "k_flat"], ["k_flat3"]),
        node("Transpose", ["k_flat3"], ["k_flat_t"], perm=[0, 2, 1]),
        node("Reshape", ["k_flat_t", "k_heads_t"], ["k_t"]),
    ]
    _attention_scores(nodes, inits, "q_rot", "k_t", head, "scores")
    nodes.append(node("Add", ["scores", "causal"], ["masked"]))
    _nan_guarded_softmax(nodes, inits, "masked", "weights")
    nodes += [
        node("MatMul", ["weights", "v_all"], ["mixed"]),
        node("Transpose", ["mixed"], ["mixed_t"], perm=[0, 2, 1, 3]),
        node("Reshape", ["mixed_t", "out_shape"], ["attended"], allowzero=1),
        node("MatMul", ["attended", "Wo"], ["projected"]),
        node("Add", ["x", "projected"], ["h"]),
        *rms("h", "g2", "n2"),
    ]
    _mlp(nodes, "n2")
    model = make_model(
        nodes, [("x", FLOAT, [batch, seq, dim])], [("y", FLOAT, [batch, seq, dim])], inits, opset=20
    )
    return model, {"x": rng.normal(size=(batch, seq, dim)).astype(np.float32)}


def _attention_scores(nodes: list, inits: list, q: str, k_t: str, head: int, out: str) -> None:
    """Scaled dot products as both torch exporters write SDPA: Q and K^T each scaled by
    head^-1/4 before the MatMul."""
    inits.append((f"{out}_scale", np.float32(head**-0.25)))
    nodes += [
        node("Mul", [q, f"{out}_scale"], [f"{out}_q"]),
        node("Mul", [k_t, f"{out}_scale"], [f"{out}_k"]),
        node("MatMul", [f"{out}_q", f"{out}_k"], [out]),
    ]


def _nan_guarded_softmax(nodes: list, inits: list, scores: str, out: str) -> None:
    """Softmax whose NaN rows (every key masked) become 0, as the dynamo exporter writes SDPA."""
    inits.append((f"{out}_zero", np.float32(0)))
    nodes += [
        node("Softmax", [scores], [f"{out}_raw"], axis=-1),
        node("IsNaN", [f"{out}_raw"], [f"{out}_nan"]),
        node("Where", [f"{out}_nan", f"{out}_zero", f"{out}_raw"], [out]),
    ]


def gpt2_block(seq: int = 8, dim: int = 32, heads: int = 2, vocab: int = 50, seed: int = 7):
    """GPT-2 as ``torch.onnx.export(..., dynamo=True)`` writes it (opset 20): token Gather plus
    position embeddings, LayerNorm, Conv1D layers as 2-D Gemm between Reshapes, Split of the
    fused QKV (num_outputs), K transposed through Reshape/Transpose/Reshape, an additive
    causal mask, a NaN-guarded Softmax, the tanh GELU (Pow 3), and the final LayerNorm."""
    rng, w = _weights(seed)
    head = dim // heads
    causal = np.triu(np.full((seq, seq), -np.inf, np.float32), 1).reshape(1, 1, seq, seq)
    inits = [
        ("wte", w(vocab, dim, scale=1.0)), ("wpe", w(1, seq, dim, scale=1.0)),
        ("ln1_g", 1 + w(dim, scale=0.1)), ("ln1_b", w(dim, scale=0.1)),
        ("ln2_g", 1 + w(dim, scale=0.1)), ("ln2_b", w(dim, scale=0.1)),
        ("lnf_g", 1 + w(dim, scale=0.1)), ("lnf_b", w(dim, scale=0.1)),
        ("c_attn", w(dim, 3 * dim)), ("c_attn_b", w(3 * dim, scale=0.1)),
        ("c_proj", w(dim, dim)), ("c_proj_b", w(dim, scale=0.1)),
        ("c_fc", w(dim, 4 * dim)), ("c_fc_b", w(4 * dim, scale=0.1)),
        ("c_out", w(4 * dim, dim)), ("c_out_b", w(dim, scale=0.1)),
        ("rows", np.array([seq, dim], np.int64)), ("rows4", np.array([seq, 4 * dim], np.int64)),
        ("qkv_shape", np.array([1, seq, 3 * dim], np.int64)),
        ("heads_shape", np.array([1, seq, heads, head], np.int64)),
        ("k_flat", np.array([heads, seq, head], np.int64)),
        ("k_heads", np.array([1, heads, head, seq], np.int64)),
        ("out_shape", np.array([1, seq, dim], np.int64)),
        ("fc_shape", np.array([1, seq, 4 * dim], np.int64)), ("causal", causal),
        ("half", np.float32(0.5)), ("three", np.float32(3)), ("one", np.float32(1)),
        ("cubic", np.float32(0.044715)), ("root_2_pi", np.float32(np.sqrt(2 / np.pi))),
    ]  # fmt: skip

    def layer_norm(source: str, gain: str, out: str) -> list:
        return [node("LayerNormalization", [source, gain, gain[:-1] + "b"], [out], epsilon=1e-5)]

    def conv1d(source: str, weight: str, rows: str, out_shape: str, out: str) -> list:
        return [
            node("Reshape", [source, rows], [f"{out}_2d"]),
            node("Gemm", [f"{out}_2d", weight, f"{weight}_b"], [f"{out}_mm"]),
            node("Reshape", [f"{out}_mm", out_shape], [out]),
        ]

    def heads_of(source: str, out: str) -> list:
        return [
            node("Reshape", [source, "heads_shape"], [f"{out}_split"]),
            node("Transpose", [f"{out}_split"], [out], perm=[0, 2, 1, 3]),
        ]

    nodes = [
        node("Gather", ["wte", "input_ids"], ["tokens"]),
        node("Add", ["tokens", "wpe"], ["h0"]),
        *layer_norm("h0", "ln1_g", "n1"),
        *conv1d("n1", "c_attn", "rows", "qkv_shape", "qkv"),
        node("Split", ["qkv"], ["q", "k", "v"], axis=2, num_outputs=3),
        *heads_of("q", "qh"),
        *heads_of("k", "kh"),
        *heads_of("v", "vh"),
        node("Reshape", ["kh", "k_flat"], ["k_flat3"]),
        node("Transpose", ["k_flat3"], ["k_flat_t"], perm=[0, 2, 1]),
        node("Reshape", ["k_flat_t", "k_heads"], ["k_t"]),
    ]
    _attention_scores(nodes, inits, "qh", "k_t", head, "scores")
    nodes.append(node("Add", ["scores", "causal"], ["masked"]))
    _nan_guarded_softmax(nodes, inits, "masked", "weights")
    nodes += [
        node("MatMul", ["weights", "vh"], ["mixed"]),
        node("Transpose", ["mixed"], ["mixed_t"], perm=[0, 2, 1, 3]),
        *conv1d("mixed_t", "c_proj", "rows", "out_shape", "attended"),
        node("Add", ["attended", "h0"], ["h1"]),
        *layer_norm("h1", "ln2_g", "n2"),
        *conv1d("n2", "c_fc", "rows", "fc_shape", "fc"),
        node("Mul", ["fc", "half"], ["fc_half"]),
        node("Pow", ["fc", "three"], ["fc_cubed"]),
        node("Mul", ["fc_cubed", "cubic"], ["fc_cubic"]),
        node("Add", ["fc", "fc_cubic"], ["fc_inner"]),
        node("Mul", ["fc_inner", "root_2_pi"], ["fc_scaled"]),
        node("Tanh", ["fc_scaled"], ["fc_tanh"]),
        node("Add", ["fc_tanh", "one"], ["fc_gate"]),
        node("Mul", ["fc_half", "fc_gate"], ["gelu"]),
        *conv1d("gelu", "c_out", "rows4", "out_shape", "mlp"),
        node("Add", ["h1", "mlp"], ["h2"]),
        *layer_norm("h2", "lnf_g", "y"),
    ]
    model = make_model(
        nodes, [("input_ids", INT64, [1, seq])], [("y", FLOAT, [1, seq, dim])], inits, opset=20
    )
    return model, {"input_ids": rng.integers(0, vocab, (1, seq)).astype(np.int64)}


def vit_encoder(image=16, patch=4, dim=32, heads=2, ffn=64, layers=2, seed=8):
    """A ViT encoder as TorchScript exports it (opset 17): a strided Conv patchifies, flattened
    through Shape/Slice/Concat/Reshape; the class token expanded through the
    ConstantOfShape/Equal/Where spelling of ``expand(batch, -1, -1)``; per layer LayerNorm,
    Q/K/V as MatMul + bias, K transposed by (0, 2, 3, 1), Q and K scaled by head^-1/4, the
    erf GELU (Div/Erf/Add/Mul/Mul), residuals; a final LayerNorm."""
    rng, w = _weights(seed)
    head, tokens = dim // heads, (image // patch) ** 2 + 1
    inits = [
        ("patch_w", w(dim, 3, patch, patch)), ("patch_b", w(dim, scale=0.1)),
        ("cls", w(1, 1, dim, scale=1.0)), ("positions", w(1, tokens, dim, scale=0.5)),
        ("zero", np.array([0], np.int64)), ("two", np.array([2], np.int64)),
        ("minus_one", np.array([-1], np.int64)), ("cls_shape", np.array([1, -1, -1], np.int64)),
        ("three", np.array([3], np.int64)), ("minus", np.array(-1, np.int64)),
        ("heads_shape", np.array([1, tokens, -1, head], np.int64)),
        ("merged_shape", np.array([1, -1, tokens, head], np.int64)),
        ("out_shape", np.array([1, tokens, -1], np.int64)),
        ("scale", np.float32(head**-0.25)), ("root2", np.float32(np.sqrt(2))),
        ("one", np.float32(1)), ("half", np.float32(0.5)),
        ("final_g", 1 + w(dim, scale=0.1)), ("final_b", w(dim, scale=0.1)),
    ]  # fmt: skip
    nodes = [
        node("Conv", ["pixels", "patch_w", "patch_b"], ["patches"], strides=[patch, patch]),
        node("Shape", ["patches"], ["patch_dims"]),
        node("Slice", ["patch_dims", "zero", "two", "zero"], ["batch_channels"]),
        node("Concat", ["batch_channels", "minus_one"], ["flat_shape"], axis=0),
        node("Reshape", ["patches", "flat_shape"], ["flat"]),
        node("Transpose", ["flat"], ["embedded"], perm=[0, 2, 1]),
        node("ConstantOfShape", ["three"], ["ones"], value=helper.make_tensor("", INT64, [1], [1])),
        node("Mul", ["ones", "minus"], ["minus_ones"]),
        node("Equal", ["cls_shape", "minus_ones"], ["keep"]),
        node("Where", ["keep", "ones", "cls_shape"], ["cls_expand"]),
        node("Expand", ["cls", "cls_expand"], ["cls_tokens"]),
        node("Concat", ["cls_tokens", "embedded"], ["sequence"], axis=1),
        node("Add", ["sequence", "positions"], ["h0"]),
    ]
    for layer in range(layers):
        x, p = f"h{layer}", f"l{layer}_"
        inits += [
            (f"{p}ln1_g", 1 + w(dim, scale=0.1)), (f"{p}ln1_b", w(dim, scale=0.1)),
            (f"{p}ln2_g", 1 + w(dim, scale=0.1)), (f"{p}ln2_b", w(dim, scale=0.1)),
            *((f"{p}W{n}", w(dim, dim)) for n in "qkvo"),
            *((f"{p}b{n}", w(dim, scale=0.1)) for n in "qkvo"),
            (f"{p}W1", w(dim, ffn)), (f"{p}b1", w(ffn, scale=0.1)),
            (f"{p}W2", w(ffn, dim)), (f"{p}b2", w(dim, scale=0.1)),
        ]  # fmt: skip
        nodes.append(
            node("LayerNormalization", [x, f"{p}ln1_g", f"{p}ln1_b"], [f"{p}n1"], epsilon=1e-12)
        )
        for n, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            nodes += [
                node("MatMul", [f"{p}n1", f"{p}W{n}"], [f"{p}{n}_mm"]),
                node("Add", [f"{p}b{n}", f"{p}{n}_mm"], [f"{p}{n}"]),
                node("Reshape", [f"{p}{n}", "heads_shape"], [f"{p}{n}_split"]),
                node("Transpose", [f"{p}{n}_split"], [f"{p}{n}h"], perm=perm),
            ]
        nodes += [
            node("Mul", [f"{p}qh", "scale"], [f"{p}q_scaled"]),
            node("Mul", [f"{p}kh", "scale"], [f"{p}k_scaled"]),
            node("MatMul", [f"{p}q_scaled", f"{p}k_scaled"], [f"{p}scores"]),
            node("Softmax", [f"{p}scores"], [f"{p}weights"], axis=-1),
            node("MatMul", [f"{p}weights", f"{p}vh"], [f"{p}mixed"]),
            node("Reshape", [f"{p}mixed", "merged_shape"], [f"{p}merged"]),
            node("Transpose", [f"{p}merged"], [f"{p}merged_t"], perm=[0, 2, 1, 3]),
            node("Reshape", [f"{p}merged_t", "out_shape"], [f"{p}attended"]),
            node("MatMul", [f"{p}attended", f"{p}Wo"], [f"{p}o_mm"]),
            node("Add", [f"{p}bo", f"{p}o_mm"], [f"{p}o"]),
            node("Add", [f"{p}o", x], [f"{p}h"]),
            node(
                "LayerNormalization", [f"{p}h", f"{p}ln2_g", f"{p}ln2_b"], [f"{p}n2"], epsilon=1e-12
            ),
            node("MatMul", [f"{p}n2", f"{p}W1"], [f"{p}fc1_mm"]),
            node("Add", [f"{p}b1", f"{p}fc1_mm"], [f"{p}fc1"]),
            node("Div", [f"{p}fc1", "root2"], [f"{p}scaled"]),
            node("Erf", [f"{p}scaled"], [f"{p}erf"]),
            node("Add", [f"{p}erf", "one"], [f"{p}gate"]),
            node("Mul", [f"{p}fc1", f"{p}gate"], [f"{p}gated"]),
            node("Mul", [f"{p}gated", "half"], [f"{p}gelu"]),
            node("MatMul", [f"{p}gelu", f"{p}W2"], [f"{p}fc2_mm"]),
            node("Add", [f"{p}b2", f"{p}fc2_mm"], [f"{p}fc2"]),
            node("Add", [f"{p}fc2", f"{p}h"], [f"h{layer + 1}"]),
        ]
    nodes.append(
        node("LayerNormalization", [f"h{layers}", "final_g", "final_b"], ["y"], epsilon=1e-12)
    )
    pixels = [1, 3, image, image]
    model = make_model(
        nodes, [("pixels", FLOAT, pixels)], [("y", FLOAT, [1, tokens, dim])], inits, opset=17
    )
    return model, {"pixels": rng.normal(size=pixels).astype(np.float32)}


def bert_token_types(spelling: str, seq: int, max_positions: int, seed: int = 2):
    """(nodes, initializers) of BERT's default ``token_type_ids``: the registered buffer
    expanded and gathered at the position ids (``buffer.expand(batch, -1).gather(1, ids)``),
    as each exporter writes it; the ids come out as ``token_types``. The buffer holds 0s and 1s
    (a real one is all 0s) so that a wrong gather shows; it is longer than 64, which
    onnx.reference's GatherElements could not gather from."""
    rng = np.random.default_rng(seed)
    inits = [
        ("type_buffer", rng.integers(0, 2, (1, max_positions)).astype(np.int64)),
        ("position_ids", (np.arange(seq) + 5).reshape(1, seq).astype(np.int64)),
    ]
    if spelling == "dynamo":  # the buffer expanded at export time: an initializer
        return [
            node("GatherElements", ["type_buffer", "position_ids"], ["token_types"], axis=1)
        ], inits
    inits += [
        ("two", np.array([2], np.int64)), ("expand_to", np.array([1, -1], np.int64)),
        ("minus_one", np.array(-1, np.int64)), ("ids_shape", np.array([1, seq], np.int64)),
    ]  # fmt: skip
    ones = helper.make_tensor("", INT64, [1], [1])
    return [
        node("ConstantOfShape", ["two"], ["ones"], value=ones),
        node("Mul", ["ones", "minus_one"], ["minus_ones"]),
        node("Equal", ["expand_to", "minus_ones"], ["keep"]),
        node("Where", ["keep", "ones", "expand_to"], ["expand_shape"]),
        node("Expand", ["type_buffer", "expand_shape"], ["expanded"]),
        node("GatherElements", ["expanded", "position_ids"], ["gathered"], axis=1),
        node("Expand", ["gathered", "ids_shape"], ["token_types"]),
    ], inits


def bert_encoder(seq=16, dim=32, heads=2, ffn=64, vocab=50, max_positions=128, seed=9):
    """BERT as TorchScript exports it (opset 17): word, token-type (from the buffer, folded at
    compile time) and position embeddings, LayerNorm; an encoder layer whose additive mask comes
    from the ``attention_mask`` input ((1 - mask) * float32 min), K transposed by (0, 2, 3, 1),
    Q and K scaled by head^-1/4, post-LayerNorm residuals and the erf GELU."""
    rng, w = _weights(seed)
    head = dim // heads
    nodes, inits = bert_token_types("torchscript", seq, max_positions)
    inits += [
        ("word", w(vocab, dim, scale=1.0)), ("types", w(2, dim, scale=1.0)),
        ("position_table", w(max_positions, dim, scale=1.0)),
        ("ln0_g", 1 + w(dim, scale=0.1)), ("ln0_b", w(dim, scale=0.1)),
        ("ln1_g", 1 + w(dim, scale=0.1)), ("ln1_b", w(dim, scale=0.1)),
        ("ln2_g", 1 + w(dim, scale=0.1)), ("ln2_b", w(dim, scale=0.1)),
        *((f"W{n}", w(dim, dim)) for n in "qkvo"), *((f"b{n}", w(dim, scale=0.1)) for n in "qkvo"),
        ("W1", w(dim, ffn)), ("b1", w(ffn, scale=0.1)),
        ("W2", w(ffn, dim)), ("b2", w(dim, scale=0.1)),
        ("mask_axes", np.array([1, 2], np.int64)), ("one", np.float32(1)),
        ("lowest", np.float32(np.finfo(np.float32).min)),
        ("heads_shape", np.array([1, seq, -1, head], np.int64)),
        ("out_shape", np.array([1, seq, -1], np.int64)),
        ("scale", np.float32(head**-0.25)), ("root2", np.float32(np.sqrt(2))),
        ("half", np.float32(0.5)),
    ]  # fmt: skip
    nodes += [
        node("Gather", ["word", "input_ids"], ["words"]),
        node("Gather", ["types", "token_types"], ["type_embedding"]),
        node("Add", ["words", "type_embedding"], ["embedded"]),
        node("Gather", ["position_table", "position_ids"], ["position_embedding"]),
        node("Add", ["embedded", "position_embedding"], ["summed"]),
        node("LayerNormalization", ["summed", "ln0_g", "ln0_b"], ["h0"], epsilon=1e-12),
        node("Unsqueeze", ["attention_mask", "mask_axes"], ["mask4"]),
        node("Cast", ["mask4"], ["mask_f"], to=TensorProto.FLOAT),
        node("Sub", ["one", "mask_f"], ["masked_out"]),
        node("Mul", ["masked_out", "lowest"], ["mask_bias"]),
    ]
    for n, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        nodes += [
            node("MatMul", ["h0", f"W{n}"], [f"{n}_mm"]),
            node("Add", [f"b{n}", f"{n}_mm"], [n]),
            node("Reshape", [n, "heads_shape"], [f"{n}_split"]),
            node("Transpose", [f"{n}_split"], [f"{n}h"], perm=perm),
        ]
    nodes += [
        node("Mul", ["qh", "scale"], ["q_scaled"]),
        node("Mul", ["kh", "scale"], ["k_scaled"]),
        node("MatMul", ["q_scaled", "k_scaled"], ["scores"]),
        node("Add", ["scores", "mask_bias"], ["biased"]),
        node("Softmax", ["biased"], ["weights"], axis=-1),
        node("MatMul", ["weights", "vh"], ["mixed"]),
        node("Transpose", ["mixed"], ["mixed_t"], perm=[0, 2, 1, 3]),
        node("Reshape", ["mixed_t", "out_shape"], ["attended"]),
        node("MatMul", ["attended", "Wo"], ["o_mm"]),
        node("Add", ["bo", "o_mm"], ["o"]),
        node("Add", ["o", "h0"], ["h1_sum"]),
        node("LayerNormalization", ["h1_sum", "ln1_g", "ln1_b"], ["h1"], epsilon=1e-12),
        node("MatMul", ["h1", "W1"], ["fc1_mm"]),
        node("Add", ["b1", "fc1_mm"], ["fc1"]),
        node("Div", ["fc1", "root2"], ["fc1_scaled"]),
        node("Erf", ["fc1_scaled"], ["erf"]),
        node("Add", ["erf", "one"], ["gate"]),
        node("Mul", ["fc1", "gate"], ["gated"]),
        node("Mul", ["gated", "half"], ["gelu"]),
        node("MatMul", ["gelu", "W2"], ["fc2_mm"]),
        node("Add", ["b2", "fc2_mm"], ["fc2"]),
        node("Add", ["fc2", "h1"], ["h2_sum"]),
        node("LayerNormalization", ["h2_sum", "ln2_g", "ln2_b"], ["y"], epsilon=1e-12),
    ]
    inputs = [("input_ids", INT64, [1, seq]), ("attention_mask", INT64, [1, seq])]
    model = make_model(nodes, inputs, [("y", FLOAT, [1, seq, dim])], inits, opset=17)
    padded = np.array([[1] * (seq - 4) + [0] * 4], np.int64)
    return model, {
        "input_ids": rng.integers(0, vocab, (1, seq)).astype(np.int64),
        "attention_mask": padded,
    }


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
    "decoder-dynamo": (decoder_block_dynamo, False),
    "gpt2-dynamo": (gpt2_block, False),
    "vit-torchscript": (vit_encoder, False),
    "bert-torchscript": (bert_encoder, False),
    "decoding-head": (decoding_head, False),
    "qdq-mlp": (qdq_mlp, False),
    "qdq-cnn": (qdq_cnn, False),
}
