"""Activations beyond the classic ones: HardSwish, Mish, Swish, Celu, Selu, ThresholdedRelu,
Shrink. Each is one pointwise ``linalg.generic``; the exponentials are arranged so that no
finite input overflows (Mish's softplus is ``max(x, 0) + log1p(exp(-|x|))``).
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, is_float, scalar_type
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import pointwise
from quartet.frontend.onnx.registry import op

# ONNX's Selu defaults (the operator's documentation, float32-exact)
_SELU_ALPHA = 1.67326319217681884765625
_SELU_GAMMA = 1.05070102214813232421875


def _activation(fn, floats_only: bool = True):
    """A handler applying ``fn(ctx, b, x, dtype)`` to input 0."""

    def handler(ctx: NodeContext):
        x = ctx.inputs[0]
        if floats_only and not is_float(x.dtype):
            raise ctx.error(f"element type {np.dtype(x.dtype)} is not supported (floats only)")
        return pointwise(ctx, [x], x.dtype, lambda b, a: fn(ctx, b, a[0], x.dtype))

    return handler


def stable_softplus(b: Body, x: str, dtype) -> str:
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): finite for every finite x."""
    magnitude = b.op(f"math.absf {x} : {scalar_type(dtype)}")
    tail = s.unary_math(b, "log1p", s.exp(b, s.neg(b, magnitude, dtype), dtype), dtype)
    return s.binary(b, "add", s.binary(b, "max", x, b.const(0.0, dtype), dtype), tail, dtype)


def _sigmoid(b: Body, x: str, dtype) -> str:
    one = b.const(1.0, dtype)
    return s.binary(
        b, "div", one, s.binary(b, "add", one, s.exp(b, s.neg(b, x, dtype), dtype), dtype), dtype
    )


def _hard_swish(ctx, b, x, dtype):
    gate = s.binary(
        b, "add", s.binary(b, "mul", x, b.const(1 / 6, dtype), dtype), b.const(0.5, dtype), dtype
    )
    gate = s.binary(
        b, "min", s.binary(b, "max", gate, b.const(0.0, dtype), dtype), b.const(1.0, dtype), dtype
    )
    return s.binary(b, "mul", x, gate, dtype)


def _mish(ctx, b, x, dtype):
    return s.binary(
        b, "mul", x, s.unary_math(b, "tanh", stable_softplus(b, x, dtype), dtype), dtype
    )


def _swish(ctx, b, x, dtype):
    alpha = ctx.attr("alpha", 1.0)
    return s.binary(
        b, "mul", x, _sigmoid(b, s.binary(b, "mul", x, b.const(alpha, dtype), dtype), dtype), dtype
    )


def _celu(ctx, b, x, dtype):
    alpha = ctx.attr("alpha", 1.0)
    scaled = s.binary(b, "div", x, b.const(alpha, dtype), dtype)
    negative = s.binary(
        b, "mul", b.const(alpha, dtype), s.unary_math(b, "expm1", scaled, dtype), dtype
    )
    zero = b.const(0.0, dtype)
    return s.binary(
        b,
        "add",
        s.binary(b, "max", x, zero, dtype),
        s.binary(b, "min", negative, zero, dtype),
        dtype,
    )


def _selu(ctx, b, x, dtype):
    alpha, gamma = ctx.attr("alpha", _SELU_ALPHA), ctx.attr("gamma", _SELU_GAMMA)
    negative = s.binary(b, "mul", b.const(alpha, dtype), s.unary_math(b, "expm1", x, dtype), dtype)
    positive = s.compare(b, "gt", x, b.const(0.0, dtype), dtype)
    return s.binary(b, "mul", b.const(gamma, dtype), b.select(positive, x, negative, dtype), dtype)


def _thresholded_relu(ctx, b, x, dtype):
    above = s.compare(b, "gt", x, b.const(ctx.attr("alpha", 1.0), dtype), dtype)
    return b.select(above, x, b.const(0.0, dtype), dtype)


def _shrink(ctx, b, x, dtype):
    """x + bias below -lambd, x - bias above lambd, else 0 (integer types too)."""
    lambd, bias = ctx.attr("lambd", 0.5), ctx.attr("bias", 0.0)
    if not is_float(dtype):
        lambd, bias = int(lambd), int(bias)
    below = s.compare(b, "lt", x, b.const(-lambd, dtype), dtype)
    above = s.compare(b, "gt", x, b.const(lambd, dtype), dtype)
    bias_value = b.const(bias, dtype)
    inner = b.select(above, s.binary(b, "sub", x, bias_value, dtype), b.const(0, dtype), dtype)
    return b.select(below, s.binary(b, "add", x, bias_value, dtype), inner, dtype)


op("HardSwish")(_activation(_hard_swish))
op("Mish")(_activation(_mish))
op("Swish")(_activation(_swish))
op("Celu")(_activation(_celu))
op("Selu")(_activation(_selu))
op("ThresholdedRelu")(_activation(_thresholded_relu))
op("Shrink")(_activation(_shrink, floats_only=False))
