"""The GPU benchmark's models in PyTorch, node for node the ONNX graphs of gpu_models.py.

Each function takes the parameters by their ONNX input names (``params``, tensors on the GPU,
the same generated arrays the artifacts are fed) and the input ``x``, and computes what the
ONNX graph computes, in the same dtype: Gemm(transB=1) is ``F.linear``, MatMul + Add is
``x @ W + b`` with W stored [in, out], BatchNormalization uses the running statistics, the
attention scale and the causal mask are constants of the graph's dtype.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _linear(p: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return x @ p[f"{name}.weight"] + p[f"{name}.bias"]


def _layer_norm(p: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],), p[f"{name}.weight"], p[f"{name}.bias"], eps=1e-5)


def _constant(value, like: torch.Tensor) -> torch.Tensor:
    """A graph constant: rounded to the model's dtype as the ONNX initializer was."""
    return torch.as_tensor(np.asarray(value, np.float32), device=like.device).to(like.dtype)


def mlp(p: dict, x: torch.Tensor, batch: int, sizes: tuple[int, ...]) -> torch.Tensor:
    for index in range(len(sizes) - 1):
        x = F.linear(x, p[f"fc{index}.weight"], p[f"fc{index}.bias"])
        if index < len(sizes) - 2:
            x = torch.relu(x)
    return x


def bert_layer(p: dict, x: torch.Tensor, seq: int, dim: int, heads: int, ffn: int):
    head = dim // heads

    def heads_of(name: str, order: tuple[int, ...]) -> torch.Tensor:
        return _linear(p, f"attn.{name}", x).reshape(1, seq, heads, head).permute(*order)

    q, k, v = heads_of("q", (0, 2, 1, 3)), heads_of("k", (0, 2, 3, 1)), heads_of("v", (0, 2, 1, 3))
    probs = torch.softmax((q @ k) * _constant(head**-0.5, x), dim=-1)
    context = (probs @ v).permute(0, 2, 1, 3).reshape(1, seq, dim)
    h = _layer_norm(p, "norm1", x + _linear(p, "attn.out", context))
    f = _linear(p, "mlp.fc2", F.gelu(_linear(p, "mlp.fc1", h)))
    return _layer_norm(p, "norm2", h + f)


def transformer_block(
    p: dict, x: torch.Tensor, seq: int, dim: int, heads: int, hidden: int, causal: bool
):
    head = dim // heads
    qkv = _linear(p, "attn.qkv", _layer_norm(p, "norm1", x))
    q, k, v = qkv.reshape(1, seq, 3, heads, head).permute(2, 0, 3, 1, 4)
    scores = (q @ k.transpose(-1, -2)) * _constant(head**-0.5, x)
    if causal:
        scores = scores + _constant(np.triu(np.full((seq, seq), -1e4, np.float32), k=1), x)
    context = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(1, seq, dim)
    r = x + _linear(p, "attn.proj", context)
    hidden_out = F.gelu(
        _linear(p, "mlp.fc1", _layer_norm(p, "norm2", r)), approximate="tanh" if causal else "none"
    )
    return r + _linear(p, "mlp.fc2", hidden_out)


def resnet18(p: dict, x: torch.Tensor, image: int, width: int, classes: int):
    def conv_bn(name: str, h: torch.Tensor, stride: int) -> torch.Tensor:
        weight = p[f"{name}.weight"]
        h = F.conv2d(h, weight, stride=stride, padding=weight.shape[-1] // 2)
        return F.batch_norm(
            h,
            p[f"{name}.bn.running_mean"],
            p[f"{name}.bn.running_var"],
            p[f"{name}.bn.weight"],
            p[f"{name}.bn.bias"],
            training=False,
            eps=1e-5,
        )

    h = F.max_pool2d(torch.relu(conv_bn("conv1", x, 2)), 3, stride=2, padding=1)
    c_in = width
    for stage, c_out in enumerate((width, 2 * width, 4 * width, 8 * width), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            name = f"layer{stage}.{block}"
            r = conv_bn(f"{name}.conv2", torch.relu(conv_bn(f"{name}.conv1", h, stride)), 1)
            shortcut = h
            if stride != 1 or c_in != c_out:
                shortcut = conv_bn(f"{name}.downsample", h, stride)
            h = torch.relu(r + shortcut)
            c_in = c_out
    flat = torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)
    return F.linear(flat, p["fc.weight"], p["fc.bias"])


MODELS = {
    "mlp": mlp,
    "bert": bert_layer,
    "resnet18": resnet18,
    "vit": transformer_block,
    "gpt": transformer_block,
}
