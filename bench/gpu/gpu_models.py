"""The GPU benchmark's models as ONNX graphs, in the shapes PyTorch exports them.

Every weight is a graph *input* (not an initializer): an artifact then carries no weights
(weights never travel to the GPU machine), and both machines feed the same generated arrays
(:mod:`weights`). Only compile-time constants stay initializers (reshape shapes, gather
indices, the attention scale, the causal mask), so the compiled program is the same as for a
model with stored weights. torch_models.py builds the same graphs in torch, from
the same names.

:data:`MODELS` maps a name to its builder and its two sizes: ``full`` (what the benchmark
measures) and ``small`` (what CI compiles and checks on the CPU in seconds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DTYPES = {"f32": np.float32, "f16": np.float16}
_ELEMENT = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16}


@dataclass(frozen=True)
class Input:
    """A graph input and how :func:`weights.generate` fills it."""

    name: str
    shape: tuple[int, ...]
    scale_log2: int = 0
    offset: float = 0.0


@dataclass
class Graph:
    """An ONNX graph under construction in one float dtype."""

    dtype: type
    nodes: list = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    constants: list = field(default_factory=list)

    def input(self, name: str, *shape: int, fan_in: int = 0, offset: float = 0.0, spread=0):
        """A generated input: weights scaled so their std is about 1/sqrt(fan_in) (uniform in
        +-2**-s with 2**-s ~ sqrt(3 / fan_in)); ``spread`` sets s directly."""
        scale = spread or (round(math.log2(math.sqrt(fan_in / 3))) if fan_in else 0)
        self.inputs.append(Input(name, tuple(shape), scale, offset))
        return name

    def weight(self, name: str, *shape: int, fan_in: int) -> str:
        return self.input(name, *shape, fan_in=fan_in)

    def bias(self, name: str, size: int) -> str:
        return self.input(name, size, spread=4)

    def const(self, name: str, value) -> str:
        array = np.asarray(value)
        array = array.astype(self.dtype) if array.dtype.kind == "f" else array
        self.constants.append(numpy_helper.from_array(array, name))
        return name

    def add(self, op: str, inputs: list[str], output: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def model(self, output: str, shape: tuple[int, ...]) -> onnx.ModelProto:
        element = _ELEMENT[self.dtype]
        graph = helper.make_graph(
            self.nodes,
            "bench",
            [helper.make_tensor_value_info(i.name, element, i.shape) for i in self.inputs],
            [helper.make_tensor_value_info(output, element, shape)],
            self.constants,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        model.ir_version = 9
        onnx.checker.check_model(model)
        return model


# -- layers -----------------------------------------------------------------------------------


def linear_t(g: Graph, name: str, x: str, n_in: int, n_out: int) -> str:
    """nn.Linear on a 2-D input as PyTorch exports it: Gemm(transB=1), weight [out, in]."""
    weight, bias = (
        g.weight(f"{name}.weight", n_out, n_in, fan_in=n_in),
        g.bias(f"{name}.bias", n_out),
    )
    return g.add("Gemm", [x, weight, bias], name, transB=1)


def linear(g: Graph, name: str, x: str, n_in: int, n_out: int) -> str:
    """nn.Linear on a 3-D input: MatMul by the [in, out] weight, then Add of the bias."""
    weight = g.weight(f"{name}.weight", n_in, n_out, fan_in=n_in)
    product = g.add("MatMul", [x, weight], f"{name}.mm")
    return g.add("Add", [product, g.bias(f"{name}.bias", n_out)], name)


def layer_norm(g: Graph, name: str, x: str, dim: int) -> str:
    gamma = g.input(f"{name}.weight", dim, offset=1.0, spread=3)
    beta = g.bias(f"{name}.bias", dim)
    return g.add("LayerNormalization", [x, gamma, beta], name, axis=-1, epsilon=1e-5)


def attention(g: Graph, x: str, seq: int, dim: int, heads: int, causal: bool) -> str:
    """Self-attention with one qkv projection, as timm's ViT and GPT-2 export it: reshape to
    (1, seq, 3, heads, head), permute, Gather q, k, v, softmax(q kᵀ · scale [+ mask]) v."""
    head = dim // heads
    qkv = linear(g, "attn.qkv", x, dim, 3 * dim)
    split = g.add("Reshape", [qkv, g.const("qkv_shape", [1, seq, 3, heads, head])], "qkv5")
    permuted = g.add("Transpose", [split], "qkvT", perm=[2, 0, 3, 1, 4])
    q, k, v = (
        g.add("Gather", [permuted, g.const(f"pick_{t}", np.int64(i))], t, axis=0)
        for i, t in enumerate("qkv")
    )
    keys = g.add("Transpose", [k], "kT", perm=[0, 1, 3, 2])
    scores = g.add("MatMul", [q, keys], "scores0")
    scores = g.add("Mul", [scores, g.const("scale", head**-0.5)], "scores1")
    if causal:
        mask = np.triu(np.full((seq, seq), -1e4, np.float32), k=1)
        scores = g.add("Add", [scores, g.const("causal_mask", mask)], "scores2")
    probs = g.add("Softmax", [scores], "probs", axis=-1)
    context = g.add("MatMul", [probs, v], "context0")
    context = g.add("Transpose", [context], "context1", perm=[0, 2, 1, 3])
    context = g.add("Reshape", [context, g.const("merge_shape", [1, seq, dim])], "context")
    return linear(g, "attn.proj", context, dim, dim)


def mlp_block(g: Graph, x: str, dim: int, hidden: int, approximate: str) -> str:
    h = linear(g, "mlp.fc1", x, dim, hidden)
    h = g.add("Gelu", [h], "mlp.gelu", approximate=approximate)
    return linear(g, "mlp.fc2", h, hidden, dim)


def conv_bn(g: Graph, name: str, x: str, c_in: int, c_out: int, k: int, stride: int) -> str:
    """Conv (no bias), then BatchNormalization with running statistics, unfolded."""
    weight = g.weight(f"{name}.weight", c_out, c_in, k, k, fan_in=c_in * k * k)
    stats = [
        g.input(f"{name}.bn.weight", c_out, offset=1.0, spread=3),
        g.bias(f"{name}.bn.bias", c_out),
        g.bias(f"{name}.bn.running_mean", c_out),
        g.input(f"{name}.bn.running_var", c_out, offset=1.5, spread=1),
    ]
    pad = k // 2
    conv = g.add("Conv", [x, weight], f"{name}.conv", strides=[stride] * 2, pads=[pad] * 4)
    return g.add("BatchNormalization", [conv, *stats], f"{name}.bn", epsilon=1e-5)


# -- models -----------------------------------------------------------------------------------


def mlp(dtype, batch: int, sizes: tuple[int, ...]) -> tuple[onnx.ModelProto, list[Input]]:
    """Linear-ReLU-Linear-ReLU-Linear."""
    g = Graph(dtype)
    x = g.input("x", batch, sizes[0])
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        x = linear_t(g, f"fc{index}", x, n_in, n_out)
        if index < len(sizes) - 2:
            x = g.add("Relu", [x], f"relu{index}")
    return g.model(x, (batch, sizes[-1])), g.inputs


def bert_layer(dtype, seq: int, dim: int, heads: int, ffn: int):
    """A BERT encoder layer (post-norm): attention with separate q, k, v projections, residual,
    LayerNorm, GELU feed-forward, residual, LayerNorm."""
    g = Graph(dtype)
    x = g.input("x", 1, seq, dim)
    head = dim // heads
    split_shape = g.const("heads_shape", [1, seq, heads, head])
    projected = {}
    for t, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        h = linear(g, f"attn.{t}", x, dim, dim)
        h = g.add("Reshape", [h, split_shape], f"{t}.heads")
        projected[t] = g.add("Transpose", [h], f"{t}.T", perm=perm)
    scores = g.add("MatMul", [projected["q"], projected["k"]], "scores0")
    scores = g.add("Mul", [scores, g.const("scale", head**-0.5)], "scores")
    probs = g.add("Softmax", [scores], "probs", axis=-1)
    context = g.add("MatMul", [probs, projected["v"]], "context0")
    context = g.add("Transpose", [context], "context1", perm=[0, 2, 1, 3])
    context = g.add("Reshape", [context, g.const("merge_shape", [1, seq, dim])], "context")
    attended = linear(g, "attn.out", context, dim, dim)
    h = layer_norm(g, "norm1", g.add("Add", [x, attended], "res1"), dim)
    h2 = mlp_block(g, h, dim, ffn, "none")
    y = layer_norm(g, "norm2", g.add("Add", [h, h2], "res2"), dim)
    return g.model(y, (1, seq, dim)), g.inputs


def transformer_block(dtype, seq: int, dim: int, heads: int, hidden: int, causal: bool):
    """A pre-norm block: x + attn(LN(x)), then + MLP(LN(.)). ViT-B/16's (GELU, no mask) or
    GPT-2's (causal mask, tanh GELU)."""
    g = Graph(dtype)
    x = g.input("x", 1, seq, dim)
    attended = attention(g, layer_norm(g, "norm1", x, dim), seq, dim, heads, causal)
    r = g.add("Add", [x, attended], "res1")
    mlp_out = mlp_block(
        g, layer_norm(g, "norm2", r, dim), dim, hidden, "tanh" if causal else "none"
    )
    return g.model(g.add("Add", [r, mlp_out], "y"), (1, seq, dim)), g.inputs


def resnet18(dtype, image: int, width: int, classes: int):
    """ResNet-18's shape with BatchNormalization unfolded: stem conv 7x7/2, max pool, four
    stages of two basic blocks (width, 2, 4, 8 x width channels), global average pool, Linear."""
    g = Graph(dtype)
    x = g.input("x", 1, 3, image, image)
    h = g.add("Relu", [conv_bn(g, "conv1", x, 3, width, 7, 2)], "relu")
    h = g.add("MaxPool", [h], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    c_in = width
    for stage, c_out in enumerate((width, 2 * width, 4 * width, 8 * width), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            name = f"layer{stage}.{block}"
            r = g.add(
                "Relu", [conv_bn(g, f"{name}.conv1", h, c_in, c_out, 3, stride)], f"{name}.relu1"
            )
            r = conv_bn(g, f"{name}.conv2", r, c_out, c_out, 3, 1)
            shortcut = h
            if stride != 1 or c_in != c_out:
                shortcut = conv_bn(g, f"{name}.downsample", h, c_in, c_out, 1, stride)
            h = g.add("Relu", [g.add("Add", [r, shortcut], f"{name}.sum")], name)
            c_in = c_out
    h = g.add("Flatten", [g.add("GlobalAveragePool", [h], "gap")], "flat", axis=1)
    return g.model(linear_t(g, "fc", h, c_in, classes), (1, classes)), g.inputs


@dataclass(frozen=True)
class BenchModel:
    build: Callable
    full: dict
    small: dict


MODELS = {
    "mlp": BenchModel(
        mlp, {"batch": 64, "sizes": (512, 1024, 1024, 10)}, {"batch": 8, "sizes": (64, 128, 10)}
    ),
    "bert": BenchModel(
        bert_layer,
        {"seq": 128, "dim": 768, "heads": 12, "ffn": 3072},
        {"seq": 16, "dim": 64, "heads": 2, "ffn": 128},
    ),
    "resnet18": BenchModel(
        resnet18,
        {"image": 224, "width": 64, "classes": 1000},
        {"image": 32, "width": 8, "classes": 10},
    ),
    "vit": BenchModel(
        transformer_block,
        {"seq": 197, "dim": 768, "heads": 12, "hidden": 3072, "causal": False},
        {"seq": 17, "dim": 64, "heads": 2, "hidden": 128, "causal": False},
    ),
    "gpt": BenchModel(
        transformer_block,
        {"seq": 128, "dim": 768, "heads": 12, "hidden": 3072, "causal": True},
        {"seq": 16, "dim": 64, "heads": 2, "hidden": 128, "causal": True},
    ),
}


def build(name: str, dtype: str, small: bool = False) -> tuple[onnx.ModelProto, list[Input]]:
    """The ONNX model ``name`` in ``dtype`` ("f32"/"f16") and its generated inputs."""
    entry = MODELS[name]
    return entry.build(DTYPES[dtype], **(entry.small if small else entry.full))
