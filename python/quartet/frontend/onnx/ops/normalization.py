"""Norm-based scaling: RMSNormalization and LpNormalization.

Both are one reduction (the sum of squares, or of magnitudes) and one pointwise kernel:

    RMSNormalization(x, scale, axis=-1) ->  r = sum_k x[.., k]^2
                                            y = x * rsqrt(r / n + epsilon) * scale

Half-precision inputs accumulate and normalize in float32 (``stash_type`` 1, the default).
"""

from __future__ import annotations

import numpy as np
import onnx

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float, scalar_type
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import axis_indices, identity_indices, kept_indices, reduction
from quartet.frontend.onnx.registry import op


def _floats_only(ctx: NodeContext, x: Tensor) -> None:
    if not is_float(x.dtype):
        raise ctx.error(f"element type {np.dtype(x.dtype)} is not supported (floats only)")


def sum_of(ctx: NodeContext, x: Tensor, axes: list[int], term, dtype) -> Tensor:
    """sum over ``axes`` of ``term(b, element)`` accumulated in ``dtype`` (axes removed)."""
    shape = [d for i, d in enumerate(x.shape) if i not in axes]
    indices = axis_indices(x.rank, axes)

    def combine(b: Body, args: list[str], acc: str) -> str:
        value = s.cast(b, args[0], x.dtype, dtype)
        return s.binary(b, "add", acc, term(b, value), dtype)

    return reduction(
        ctx, [x], lambda t: indices, shape, [x.shape[a] for a in axes], 0, combine, dtype
    )


def _trailing(t: Tensor, rank: int) -> list[str]:
    """Indices of ``t`` broadcast against the trailing dims of a rank-``rank`` loop nest."""
    offset = rank - t.rank
    return ["0" if size == 1 else f"d{offset + i}" for i, size in enumerate(t.shape)] or ["0"]


@op("RMSNormalization")
def rms_normalization(ctx: NodeContext):
    x, scale = ctx.inputs[0], ctx.inputs[1]
    _floats_only(ctx, x)
    axis = ctx.axis(ctx.attr("axis", -1), x.rank)
    epsilon = ctx.attr("epsilon", 1e-5)
    stash = ctx.attr("stash_type", 1)
    compute = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(stash)) if stash else x.dtype
    compute = np.promote_types(compute, x.dtype)
    axes = list(range(axis, x.rank))
    count = int(np.prod(x.shape[axis:]))
    squares = sum_of(ctx, x, axes, lambda b, v: s.binary(b, "mul", v, v, compute), compute)

    def body(b: Body, args: list[str]) -> str:
        value, total, gain = args[:3]
        mean = s.binary(b, "div", total, b.const(count, compute), compute)
        inverse = s.unary_math(
            b, "rsqrt", s.binary(b, "add", mean, b.const(epsilon, compute), compute), compute
        )
        normalized = s.binary(b, "mul", s.cast(b, value, x.dtype, compute), inverse, compute)
        scaled = s.binary(b, "mul", normalized, s.cast(b, gain, scale.dtype, compute), compute)
        return s.cast(b, scaled, compute, x.dtype)

    operands = [
        Operand(x, identity_indices(x.rank)),
        Operand(squares, kept_indices(x.rank, axes)),
        Operand(scale, _trailing(scale, x.rank)),
    ]
    return ctx.emit.generic(x.shape, x.dtype, operands, body)


@op("LpNormalization")
def lp_normalization(ctx: NodeContext):
    """x / ||x||_p along the axis (p = 1 or 2); a zero norm gives 0, as onnxruntime does."""
    x = ctx.inputs[0]
    _floats_only(ctx, x)
    axis = ctx.axis(ctx.attr("axis", -1), x.rank)
    p = ctx.attr("p", 2)
    if p not in (1, 2):
        raise ctx.error(f"p must be 1 or 2, not {p}")
    dtype, element = x.dtype, scalar_type(x.dtype)

    def term(b: Body, v: str) -> str:
        return s.binary(b, "mul", v, v, dtype) if p == 2 else b.op(f"math.absf {v} : {element}")

    total = sum_of(ctx, x, [axis], term, dtype)

    def body(b: Body, args: list[str]) -> str:
        value, norm = args[:2]
        if p == 2:
            norm = s.unary_math(b, "sqrt", norm, dtype)
        zero = b.const(0.0, dtype)
        is_zero = s.compare(b, "eq", norm, zero, dtype)
        return b.select(is_zero, zero, s.binary(b, "div", value, norm, dtype), dtype)

    operands = [Operand(x, identity_indices(x.rank)), Operand(total, kept_indices(x.rank, [axis]))]
    return ctx.emit.generic(x.shape, dtype, operands, body)
