"""LpPool: the p-norm of each window, (sum |x|^p)^(1/p), over the zero-padded input (the
window geometry, pads, auto_pad, ceil_mode, strides and dilations are Conv's)."""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, is_float, scalar_type
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import pointwise
from quartet.frontend.onnx.ops.conv import padded_input, pool_operands, pool_window
from quartet.frontend.onnx.registry import op


@op("LpPool")
def lp_pool(ctx: NodeContext):
    x = ctx.inputs[0]
    if not is_float(x.dtype):
        raise ctx.error(f"element type {np.dtype(x.dtype)} is not supported (floats only)")
    p = ctx.attr("p", 2)
    kernel = list(ctx.attr("kernel_shape"))
    outputs, before, extents, strides, dilations = pool_window(ctx, x, kernel)
    padded = padded_input(ctx, x, before, extents, 0)
    dtype, element = x.dtype, scalar_type(x.dtype)
    shape = [*x.shape[:2], *outputs]

    def power(b: Body, value: str) -> str:
        if p == 2:
            return s.binary(b, "mul", value, value, dtype)
        magnitude = b.op(f"math.absf {value} : {element}")
        return magnitude if p == 1 else s.binary(b, "pow", magnitude, b.const(p, dtype), dtype)

    total = ctx.emit.generic(
        shape,
        dtype,
        pool_operands(padded, x, kernel, strides, dilations),
        lambda b, a: s.binary(b, "add", a[2], power(b, a[0]), dtype),
        reductions=kernel,
        init=ctx.emit.fill(shape, dtype, 0),
    )
    if p == 1:
        return total

    def root(b: Body, args: list[str]) -> str:
        if p == 2:
            return s.unary_math(b, "sqrt", args[0], dtype)
        return s.binary(b, "pow", args[0], b.const(1.0 / p, dtype), dtype)

    return pointwise(ctx, [total], dtype, root)
