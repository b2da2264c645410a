"""ONNX models for Welder's tests and bench/welder.py, built with onnx.helper in the shapes
PyTorch exports: Linear as Gemm(transB=1) or MatMul + Add, BatchNormalization left unfolded,
attention through Reshape/Transpose, GELU and LayerNormalization as single nodes.

- :data:`PATTERNS`: the eight subgraphs Welder must fuse (issue 10, (a)-(h)), small enough to
  run in the PTX emulator;
- :func:`mlp`, :func:`resnet18`, :func:`vit_block`: whole models for the bench (BERT layers
  are :func:`models.encoder`).
"""

from __future__ import annotations

import numpy as np
import onnx
from models import FLOAT, make_model
from onnx import helper

node = helper.make_node


class Weights:
    """Random initializers, named in order, with fan-in scaling (activations stay O(1))."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.items: list[tuple[str, np.ndarray]] = []

    def add(self, name: str, value) -> str:
        self.items.append((name, np.asarray(value)))
        return name

    def normal(self, name: str, *shape: int, fan_in: int | None = None, scale: float = 1.0) -> str:
        std = scale / np.sqrt(fan_in or shape[-1])
        return self.add(name, self.rng.normal(0, std, shape).astype(np.float32))

    def positive(self, name: str, *shape: int) -> str:
        return self.add(name, self.rng.uniform(0.5, 1.5, shape).astype(np.float32))


def linear(w: Weights, name: str, x: str, y: str, n_in: int, n_out: int) -> list:
    """``y = x @ W^T + b`` as PyTorch exports nn.Linear for a 2-D input: Gemm(transB=1)."""
    weight = w.normal(f"{name}.weight", n_out, n_in)
    bias = w.normal(f"{name}.bias", n_out, scale=0.1)
    return [node("Gemm", [x, weight, bias], [y], transB=1)]


def linear_nd(w: Weights, name: str, x: str, y: str, n_in: int, n_out: int) -> list:
    """nn.Linear on a 3-D input: MatMul by the transposed weight, then Add of the bias."""
    weight = w.normal(f"{name}.weight", n_in, n_out, fan_in=n_in)
    bias = w.normal(f"{name}.bias", n_out, scale=0.1)
    return [node("MatMul", [x, weight], [f"{y}.mm"]), node("Add", [f"{y}.mm", bias], [y])]


def conv_bn(w: Weights, name: str, x: str, y: str, c_in: int, c_out: int, k: int, stride: int):
    """Conv (no bias) then BatchNormalization with running statistics, not folded."""
    weight = w.normal(f"{name}.weight", c_out, c_in, k, k, fan_in=c_in * k * k)
    stats = [
        w.positive(f"{name}.bn.scale", c_out),
        w.normal(f"{name}.bn.bias", c_out, scale=0.1),
        w.normal(f"{name}.bn.mean", c_out, scale=0.1),
        w.positive(f"{name}.bn.var", c_out),
    ]
    pad = k // 2
    return [
        node("Conv", [x, weight], [f"{y}.conv"], strides=[stride] * 2, pads=[pad] * 4),
        node("BatchNormalization", [f"{y}.conv", *stats], [y], epsilon=1e-5),
    ]


def layer_norm(w: Weights, name: str, x: str, y: str, dim: int) -> list:
    gamma, beta = w.positive(f"{name}.weight", dim), w.normal(f"{name}.bias", dim, scale=0.1)
    return [node("LayerNormalization", [x, gamma, beta], [y], axis=-1, epsilon=1e-5)]


def attention(w: Weights, x: str, y: str, batch: int, seq: int, dim: int, heads: int) -> list:
    """Multi-head self-attention as timm's ViT exports it: one qkv Linear, a reshape to
    (batch, seq, 3, heads, head), a permute, Gather of q, k and v, softmax(q kᵀ · scale) v,
    and the output projection."""
    head = dim // heads
    shape5 = w.add("attn.qkv_shape", np.array([batch, seq, 3, heads, head], np.int64))
    shape3 = w.add("attn.out_shape", np.array([batch, seq, dim], np.int64))
    scale = w.add("attn.scale", np.float32(head**-0.5))
    picks = [w.add(f"attn.pick{i}", np.int64(i)) for i in range(3)]
    nodes = linear_nd(w, "attn.qkv", x, "qkv", dim, 3 * dim)
    nodes += [
        node("Reshape", ["qkv", shape5], ["qkv5"]),
        node("Transpose", ["qkv5"], ["qkvT"], perm=[2, 0, 3, 1, 4]),
        *(node("Gather", ["qkvT", p], [t], axis=0) for p, t in zip(picks, "qkv", strict=True)),
        node("Transpose", ["k"], ["kT"], perm=[0, 1, 3, 2]),
        node("MatMul", ["q", "kT"], ["scores0"]),
        node("Mul", ["scores0", scale], ["scores"]),
        node("Softmax", ["scores"], ["probs"], axis=-1),
        node("MatMul", ["probs", "v"], ["context0"]),
        node("Transpose", ["context0"], ["context1"], perm=[0, 2, 1, 3]),
        node("Reshape", ["context1", shape3], ["context"]),
    ]
    return nodes + linear_nd(w, "attn.proj", "context", y, dim, dim)


def vit_block(seq: int = 197, dim: int = 768, heads: int = 12, hidden: int = 3072, seed=0):
    """A ViT-B/16 encoder block (pre-norm): x + attn(LN(x)), then + MLP(LN(.)) with GELU."""
    w = Weights(seed)
    nodes = layer_norm(w, "norm1", "x", "n1", dim)
    nodes += attention(w, "n1", "attn", 1, seq, dim, heads)
    nodes += [node("Add", ["x", "attn"], ["r1"])]
    nodes += layer_norm(w, "norm2", "r1", "n2", dim)
    nodes += linear_nd(w, "mlp.fc1", "n2", "h0", dim, hidden)
    nodes += [node("Gelu", ["h0"], ["h1"])]
    nodes += linear_nd(w, "mlp.fc2", "h1", "h2", hidden, dim)
    nodes += [node("Add", ["r1", "h2"], ["y"])]
    shape = [1, seq, dim]
    return make_model(nodes, [("x", FLOAT, shape)], [("y", FLOAT, shape)], w.items, opset=20)


def mlp(sizes=(512, 1024, 1024, 10), batch: int = 1, seed: int = 0) -> onnx.ModelProto:
    """Linear-ReLU-Linear-ReLU-Linear (the issue's MLP: 3 Linear, 2 ReLU)."""
    w = Weights(seed)
    nodes, x = [], "x"
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        last = i == len(sizes) - 2
        y = "y" if last else f"fc{i}"
        nodes += linear(w, f"fc{i}", x, y, n_in, n_out)
        if not last:
            nodes.append(node("Relu", [y], [f"relu{i}"]))
            x = f"relu{i}"
    inputs, outputs = [("x", FLOAT, [batch, sizes[0]])], [("y", FLOAT, [batch, sizes[-1]])]
    return make_model(nodes, inputs, outputs, w.items)


def basic_block(w: Weights, name: str, x: str, y: str, c_in: int, c_out: int, stride: int):
    """ResNet's BasicBlock: conv-BN-ReLU-conv-BN, plus the identity (or a strided 1x1 conv-BN),
    then ReLU."""
    nodes = conv_bn(w, f"{name}.conv1", x, f"{name}.bn1", c_in, c_out, 3, stride)
    nodes.append(node("Relu", [f"{name}.bn1"], [f"{name}.relu1"]))
    nodes += conv_bn(w, f"{name}.conv2", f"{name}.relu1", f"{name}.bn2", c_out, c_out, 3, 1)
    shortcut = x
    if stride != 1 or c_in != c_out:
        shortcut = f"{name}.down"
        nodes += conv_bn(w, f"{name}.downsample", x, shortcut, c_in, c_out, 1, stride)
    nodes.append(node("Add", [f"{name}.bn2", shortcut], [f"{name}.sum"]))
    nodes.append(node("Relu", [f"{name}.sum"], [y]))
    return nodes


def resnet18(image: int = 224, classes: int = 1000, seed: int = 0) -> onnx.ModelProto:
    """ResNet-18 (batch 1) with every BatchNormalization unfolded, as torchvision's model
    exports in training-style form: stem conv 7x7/2, max pool, four stages of two basic
    blocks, global average pool, Linear."""
    w = Weights(seed)
    nodes = conv_bn(w, "conv1", "x", "bn1", 3, 64, 7, 2)
    nodes.append(node("Relu", ["bn1"], ["relu"]))
    nodes.append(
        node("MaxPool", ["relu"], ["pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    )
    x, c_in = "pool", 64
    for stage, c_out in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            y = f"layer{stage}.{block}"
            nodes += basic_block(w, y, x, y, c_in, c_out, stride)
            x, c_in = y, c_out
    nodes.append(node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(node("Flatten", ["gap"], ["flat"], axis=1))
    nodes += linear(w, "fc", "flat", "y", 512, classes)
    inputs, outputs = [("x", FLOAT, [1, 3, image, image])], [("y", FLOAT, [1, classes])]
    return make_model(nodes, inputs, outputs, w.items)


# -- the eight patterns ---------------------------------------------------------------------


def gemm_bias_act(activation: str = "Relu", m: int = 24, k: int = 40, n: int = 36):
    """(a) Linear + ReLU or GELU."""
    w = Weights(1)
    nodes = linear(w, "fc", "x", "h", k, n) + [node(activation, ["h"], ["y"])]
    return make_model(nodes, [("x", FLOAT, [m, k])], [("y", FLOAT, [m, n])], w.items, opset=20)


def conv_bn_relu(c_in: int = 8, c_out: int = 16, image: int = 10):
    """(b) Conv 3x3 + BatchNormalization (not folded) + ReLU."""
    w = Weights(2)
    nodes = conv_bn(w, "conv", "x", "bn", c_in, c_out, 3, 1) + [node("Relu", ["bn"], ["y"])]
    inputs = [("x", FLOAT, [1, c_in, image, image])]
    return make_model(nodes, inputs, [("y", FLOAT, [1, c_out, image, image])], w.items)


def layernorm(rows: int = 12, dim: int = 80):
    """(c) LayerNormalization over the last axis."""
    w = Weights(3)
    nodes = layer_norm(w, "ln", "x", "y", dim)
    return make_model(nodes, [("x", FLOAT, [rows, dim])], [("y", FLOAT, [rows, dim])], w.items)


def softmax(rows: int = 12, dim: int = 80):
    """(d) Softmax over the last axis."""
    nodes = [node("Softmax", ["x"], ["y"], axis=-1)]
    return make_model(nodes, [("x", FLOAT, [rows, dim])], [("y", FLOAT, [rows, dim])])


def residual_layernorm(rows: int = 12, dim: int = 80):
    """(e) Residual Add, then LayerNormalization."""
    w = Weights(4)
    nodes = [node("Add", ["x", "r"], ["s"])] + layer_norm(w, "ln", "s", "y", dim)
    inputs = [("x", FLOAT, [rows, dim]), ("r", FLOAT, [rows, dim])]
    return make_model(nodes, inputs, [("y", FLOAT, [rows, dim])], w.items)


def attention_head(heads: int = 2, seq: int = 16, head: int = 8):
    """(f) Per head: softmax(Q Kᵀ · scale + mask) · V, the mask causal (additive -1e4)."""
    w = Weights(5)
    mask = np.triu(np.full((seq, seq), -1e4, np.float32), k=1)
    scale = w.add("scale", np.float32(head**-0.5))
    w.add("mask", mask)
    nodes = [
        node("Transpose", ["k"], ["kT"], perm=[0, 2, 1]),
        node("MatMul", ["q", "kT"], ["s0"]),
        node("Mul", ["s0", scale], ["s1"]),
        node("Add", ["s1", "mask"], ["s2"]),
        node("Softmax", ["s2"], ["p"], axis=-1),
        node("MatMul", ["p", "v"], ["y"]),
    ]
    shape = [heads, seq, head]
    inputs = [(n, FLOAT, shape) for n in ("q", "k", "v")]
    return make_model(nodes, inputs, [("y", FLOAT, shape)], w.items)


def conv_relu_conv(channels: int = 8, image: int = 8):
    """(g) A basic block's conv -> ReLU -> conv (3x3, stride 1, BN folded away)."""
    w = Weights(6)
    k1 = w.normal("w1", channels, channels, 3, 3, fan_in=channels * 9)
    k2 = w.normal("w2", channels, channels, 3, 3, fan_in=channels * 9)
    nodes = [
        node("Conv", ["x", k1], ["c1"], pads=[1] * 4),
        node("Relu", ["c1"], ["r1"]),
        node("Conv", ["r1", k2], ["y"], pads=[1] * 4),
    ]
    shape = [1, channels, image, image]
    return make_model(nodes, [("x", FLOAT, shape)], [("y", FLOAT, shape)], w.items)


def matmul_chain(m: int = 32, k: int = 24, n: int = 16, p: int = 20):
    """(h) (A · B) · C, the intermediate row tile kept in shared memory."""
    w = Weights(7)
    b, c = w.normal("b", k, n, fan_in=k), w.normal("c", n, p, fan_in=n)
    nodes = [node("MatMul", ["a", b], ["ab"]), node("MatMul", ["ab", c], ["y"])]
    return make_model(nodes, [("a", FLOAT, [m, k])], [("y", FLOAT, [m, p])], w.items)


def unrolled_greedy_decoder(steps: int = 3, vocabulary: int = 12, dim: int = 16, batch: int = 2):
    """A decoding loop as ``torch.onnx.export`` unrolls it: each step's ArgMax token feeds the
    next step's embedding Gather (fused with it) and, unsqueezed, the Concat of every token
    after the last step (which reads the tokens through their Unsqueezes, in its body)."""
    w = Weights(seed=5)
    project, embed = w.normal("project", dim, vocabulary), w.normal("embed", vocabulary, dim)
    axes = w.add("axes", np.array([1], np.int64))
    nodes, state = [], "x"
    for step in range(steps):
        nodes += [
            node("MatMul", [state, project], [f"logits{step}"]),
            node("ArgMax", [f"logits{step}"], [f"token{step}"], axis=-1, keepdims=0),
            node("Unsqueeze", [f"token{step}", axes], [f"column{step}"]),
            node("Gather", [embed, f"token{step}"], [f"embedded{step}"]),
            node("Add", [f"embedded{step}", state], [f"state{step}"]),
        ]
        state = f"state{step}"
    nodes.append(node("Concat", [f"column{step}" for step in range(steps)], ["tokens"], axis=1))
    nodes.append(node("Identity", [state], ["y"]))
    return make_model(
        nodes,
        [("x", FLOAT, [batch, dim])],
        [("tokens", onnx.TensorProto.INT64, [batch, steps]), ("y", FLOAT, [batch, dim])],
        w.items,
    )


PATTERNS = {
    "a_gemm_bias_relu": lambda: gemm_bias_act("Relu"),
    "a_gemm_bias_gelu": lambda: gemm_bias_act("Gelu"),
    "b_conv_bn_relu": conv_bn_relu,
    "c_layernorm": layernorm,
    "d_softmax": softmax,
    "e_residual_layernorm": residual_layernorm,
    "f_attention": attention_head,
    "g_conv_relu_conv": conv_relu_conv,
    "h_matmul_chain": matmul_chain,
}
