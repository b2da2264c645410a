"""Quantized inference: QuantizeLinear and DequantizeLinear (per tensor, per axis, blocked;
int8/uint8/int16/uint16/int4/uint4), DynamicQuantizeLinear, MatMulInteger, ConvInteger,
QLinearMatMul and QLinearConv, lowered to integer linalg with ONNX's rounding and saturation:

    QuantizeLinear(x, scale, zp: int8)  ->  y = clamp(roundeven(x / scale) + zp, -128, 127)
    DequantizeLinear(q, scale, zp)      ->  y = (float(q) - zp) * scale
    QLinearMatMul(a, .., b, .., y_scale, y_zp)
        -> acc = sum_k (int32(a) - a_zp) * (int32(b) - b_zp)          (an int32 contraction)
           y = clamp(roundeven(acc * (a_scale * b_scale / y_scale) + y_zp))   (in float64)

The integer contractions are the ordinary MatMul and Conv generics over int32 operands, so
Roller tiles them like any other; zero points are subtracted first (at compile time for
constant weights), so padding with 0 is padding with the zero point.
"""

from __future__ import annotations

import numpy as np
import onnx

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, int_range, is_float
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import identity_indices
from quartet.frontend.onnx.ops.conv import convolution
from quartet.frontend.onnx.ops.matmul import matmul_tensors
from quartet.frontend.onnx.ops.reduce import reduce_axes
from quartet.frontend.onnx.registry import op

INT32 = np.dtype(np.int32)
F64 = np.dtype(np.float64)


def _parameter_reader(ctx: NodeContext, x: Tensor, parameter: Tensor, axis: int, block: int):
    """How a scale or zero point is read per element of ``x``: (operand or None, reader)
    where ``reader(b, args)`` returns the parameter's scalar (per tensor, per axis along
    ``axis``, or blocked: ``block`` elements of ``axis`` per parameter)."""
    if parameter.size == 1:
        return Operand(ctx.emit.reshape(parameter, [1]), ["0"])
    if axis is None:
        raise ctx.error(f"axis {ctx.attr('axis', 1)} is out of range for rank {x.rank}")
    if block:
        if parameter.rank != x.rank or -(-x.shape[axis] // block) != parameter.shape[axis]:
            raise ctx.error(
                f"blocked parameter {parameter.shape} does not fit {x.shape} in blocks of {block}"
            )
        ctx.emit.ssa(parameter)
        return parameter
    if parameter.rank != 1 or parameter.shape[0] != x.shape[axis]:
        raise ctx.error(
            f"parameter {parameter.shape} is neither per tensor nor per axis {axis} of {x.shape}"
        )
    return Operand(parameter, [f"d{axis}"])


def _read(b: Body, reader, arg: str | None, axis: int, block: int, rank: int) -> str:
    """The parameter's value for the current element: a block argument, or an extract at the
    element's block for blocked parameters."""
    if isinstance(reader, Operand):
        return arg
    coords = [b.index(i) for i in range(rank)]
    coords[axis] = b.op(f"arith.divsi {coords[axis]}, {b.const_index(block)} : index")
    return b.extract(reader, coords)


class _Parameters:
    """The scale and zero point of a (de)quantization of ``x``: the operands that carry them
    into the generic (after x) and their scalar values per element."""

    def __init__(self, ctx: NodeContext, x: Tensor, scale: Tensor, zero: Tensor | None):
        self.axis, self.block = _quantization(ctx, x)
        present = [t for t in (scale, zero) if t is not None]
        self.readers = [_parameter_reader(ctx, x, t, self.axis, self.block) for t in present]
        self.operands = [r for r in self.readers if isinstance(r, Operand)]
        self.rank = x.rank

    def values(self, b: Body, args: list[str]) -> list[str]:
        """(scale, zero point) for the element, from the block arguments after x's."""
        arguments = iter(args)
        return [
            _read(
                b,
                r,
                next(arguments) if isinstance(r, Operand) else None,
                self.axis,
                self.block,
                self.rank,
            )
            for r in self.readers
        ]


def _quantization(ctx: NodeContext, x: Tensor) -> tuple[int | None, int]:
    """(the quantization axis, None when out of range for a per-tensor use; block size)."""
    axis = ctx.attr("axis", 1)
    axis = axis % x.rank if -x.rank <= axis < x.rank else None
    return axis, ctx.attr("block_size", 0) or 0


def saturate(b: Body, value: str, source, target) -> str:
    """A float holding an integer, clamped into ``target``'s range (nan -> lowest) and
    converted."""
    low, high = int_range(target)
    above = s.compare(b, "ge", value, b.const(low, source), source)
    value = b.select(above, value, b.const(low, source), source)
    below = s.compare(b, "le", value, b.const(high, source), source)
    value = b.select(below, value, b.const(high, source), source)
    return s.cast(b, s.cast(b, value, source, np.int64), np.int64, target)


@op("QuantizeLinear")
def quantize_linear(ctx: NodeContext):
    x, scale, zero = ctx.inputs[0], ctx.inputs[1], ctx.input(2)
    if not is_float(x.dtype):
        raise ctx.error(f"input element type {x.dtype} is not supported (floats only)")
    code = ctx.attr("output_dtype")
    target = (
        zero.dtype
        if zero is not None
        else (np.dtype(onnx.helper.tensor_dtype_to_np_dtype(code)) if code else np.dtype(np.uint8))
    )
    if is_float(target) or target == np.bool_:
        raise ctx.error(f"quantizing to {target} is not supported (integer types only)")
    precision = ctx.attr("precision")
    wide = (
        np.dtype(onnx.helper.tensor_dtype_to_np_dtype(precision))
        if precision
        else np.promote_types(x.dtype, scale.dtype)
    )
    parameters = _Parameters(ctx, x, scale, zero)
    operands = [Operand(x, identity_indices(x.rank)), *parameters.operands]

    def body(b: Body, args: list[str]) -> str:
        values = parameters.values(b, args[1:])
        quotient = s.binary(
            b,
            "div",
            s.cast(b, args[0], x.dtype, wide),
            s.cast(b, values[0], scale.dtype, wide),
            wide,
        )
        rounded = s.unary_math(b, "roundeven", quotient, wide)
        if zero is not None:
            rounded = s.binary(b, "add", rounded, s.cast(b, values[1], zero.dtype, wide), wide)
        return saturate(b, rounded, wide, target)

    return ctx.emit.generic(x.shape, target, operands, body)


@op("DequantizeLinear")
def dequantize_linear(ctx: NodeContext):
    x, scale, zero = ctx.inputs[0], ctx.inputs[1], ctx.input(2)
    if is_float(x.dtype):
        raise ctx.error(f"input element type {x.dtype} is not supported (integer types only)")
    code = ctx.attr("output_dtype")
    target = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(code)) if code else scale.dtype
    parameters = _Parameters(ctx, x, scale, zero)
    operands = [Operand(x, identity_indices(x.rank)), *parameters.operands]
    f32 = np.dtype(np.float32)
    wide = np.promote_types(f32, scale.dtype)  # ONNX's reference subtracts in float32

    def body(b: Body, args: list[str]) -> str:
        values = parameters.values(b, args[1:])
        shifted = s.cast(b, args[0], x.dtype, f32)
        if zero is not None:
            shifted = s.binary(b, "sub", shifted, s.cast(b, values[1], zero.dtype, f32), f32)
        product = s.binary(
            b, "mul", s.cast(b, shifted, f32, wide), s.cast(b, values[0], scale.dtype, wide), wide
        )
        return s.cast(b, product, wide, target)

    return ctx.emit.generic(x.shape, target, operands, body)


def widened(
    ctx: NodeContext, x: Tensor, zero: Tensor | None, zero_axis: int | None = None
) -> Tensor:
    """int32(x) - zero (``zero`` per tensor, or per index of ``zero_axis``); computed at
    compile time when both are constants."""
    if zero is not None and zero.size > 1 and zero_axis is None:
        raise ctx.error(f"zero point {zero.shape} must be a scalar here")
    if x.const is not None and (zero is None or zero.const is not None):
        value = x.const.astype(np.int64)
        if zero is not None:
            shape = [1] * x.rank
            if zero.size > 1:
                shape[zero_axis] = zero.size
            value = value - zero.const.astype(np.int64).reshape(shape if zero.size > 1 else ())
        return Tensor.constant(value.astype(np.int32))
    operands = [Operand(x, identity_indices(x.rank))]
    if zero is not None:
        read = [f"d{zero_axis}"] if zero.size > 1 else ["0"]
        operands.append(Operand(ctx.emit.reshape(zero, [zero.size]), read))

    def body(b: Body, args: list[str]) -> str:
        value = s.cast(b, args[0], x.dtype, INT32)
        if zero is None:
            return value
        return s.binary(b, "sub", value, s.cast(b, args[1], zero.dtype, INT32), INT32)

    return ctx.emit.generic(x.shape, INT32, operands, body)


def _zero_axis(zero: Tensor | None, size: int, axis: int) -> int | None:
    """``axis`` when ``zero`` holds one value per index of it, else None (per tensor)."""
    return axis if zero is not None and zero.size > 1 and zero.size == size else None


@op("MatMulInteger")
def matmul_integer(ctx: NodeContext):
    a, b, a_zero, b_zero = ctx.inputs[0], ctx.inputs[1], ctx.input(2), ctx.input(3)
    a32 = widened(ctx, a, a_zero, _zero_axis(a_zero, a.shape[-2] if a.rank > 1 else 1, a.rank - 2))
    b32 = widened(ctx, b, b_zero, _zero_axis(b_zero, b.shape[-1], b.rank - 1))
    return matmul_tensors(ctx, a32, b32)


@op("ConvInteger")
def conv_integer(ctx: NodeContext):
    x, w, x_zero, w_zero = ctx.inputs[0], ctx.inputs[1], ctx.input(2), ctx.input(3)
    x32 = widened(ctx, x, x_zero)
    w32 = widened(ctx, w, w_zero, _zero_axis(w_zero, w.shape[0], 0))
    return convolution(ctx, x32, w32, None)


def requantize(
    ctx: NodeContext, acc: Tensor, multiplier: Tensor, zero: Tensor | None, target, channel: int
) -> Tensor:
    """clamp(roundeven(acc * multiplier + zero)) into ``target``, in float64 (ONNX's
    reference adds the zero point before rounding); ``multiplier`` per tensor or per index
    of ``channel``."""
    read = ["0"] if multiplier.size == 1 else [f"d{channel}"]
    operands = [
        Operand(acc, identity_indices(acc.rank)),
        Operand(ctx.emit.reshape(multiplier, [multiplier.size]), read),
    ]
    if zero is not None:
        operands.append(Operand(ctx.emit.reshape(zero, [1]), ["0"]))

    def body(b: Body, args: list[str]) -> str:
        value = s.binary(
            b, "mul", s.cast(b, args[0], INT32, F64), s.cast(b, args[1], multiplier.dtype, F64), F64
        )
        if zero is not None:
            value = s.binary(b, "add", value, s.cast(b, args[2], zero.dtype, F64), F64)
        return saturate(b, s.unary_math(b, "roundeven", value, F64), F64, target)

    return ctx.emit.generic(acc.shape, target, operands, body)


def _multiplier(ctx: NodeContext, scales: list[Tensor], inverse: Tensor) -> Tensor:
    """a_scale * b_scale / y_scale as ONNX's reference computes it (in the scales' type)."""
    dtype = scales[0].dtype
    if all(t.const is not None for t in [*scales, inverse]):
        product = np.asarray(scales[0].const, dtype).reshape(-1) * np.asarray(
            scales[1].const, dtype
        ).reshape(-1)
        return Tensor.constant(
            (product / np.asarray(inverse.const, dtype).reshape(-1)).astype(dtype)
        )
    size = max(t.size for t in scales)
    operands = [
        Operand(ctx.emit.reshape(t, [t.size]), ["0" if t.size == 1 else "d0"])
        for t in [*scales, inverse]
    ]

    def body(b: Body, args: list[str]) -> str:
        product = s.binary(b, "mul", args[0], s.cast(b, args[1], scales[1].dtype, dtype), dtype)
        return s.binary(b, "div", product, s.cast(b, args[2], inverse.dtype, dtype), dtype)

    return ctx.emit.generic([size], dtype, operands, body)


@op("QLinearMatMul")
def qlinear_matmul(ctx: NodeContext):
    a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = (ctx.input(i) for i in range(8))
    if a_scale.size > 1 or y_scale.size > 1 or (a_zero is not None and a_zero.size > 1):
        raise ctx.error("per-row a_scale/a_zero_point and per-tensor y_scale only are supported")
    b32 = widened(ctx, b, b_zero, _zero_axis(b_zero, b.shape[-1], b.rank - 1))
    acc = matmul_tensors(ctx, widened(ctx, a, a_zero), b32)
    multiplier = _multiplier(ctx, [a_scale, b_scale], y_scale)
    target = y_zero.dtype if y_zero is not None else a.dtype
    return requantize(ctx, acc, multiplier, y_zero, target, acc.rank - 1)


@op("QLinearConv")
def qlinear_conv(ctx: NodeContext):
    x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, bias = (ctx.input(i) for i in range(9))
    x32 = widened(ctx, x, x_zero)
    w32 = widened(ctx, w, w_zero, _zero_axis(w_zero, w.shape[0], 0))
    acc = convolution(ctx, x32, w32, bias)
    multiplier = _multiplier(ctx, [x_scale, w_scale], y_scale)
    target = y_zero.dtype if y_zero is not None else x.dtype
    return requantize(ctx, acc, multiplier, y_zero, target, 1)


@op("DynamicQuantizeLinear")
def dynamic_quantize_linear(ctx: NodeContext):
    """uint8 quantization with the scale and zero point taken from the data: the range
    [min(0, min x), max(0, max x)] spread over 0..255 (a scale of 1/255 for an all-zero x)."""
    x = ctx.inputs[0]
    if not is_float(x.dtype):
        raise ctx.error(f"input element type {x.dtype} is not supported (floats only)")
    dtype, target = x.dtype, np.dtype(np.uint8)
    every = list(range(x.rank))
    top, bottom = reduce_axes(ctx, x, every, "max"), reduce_axes(ctx, x, every, "min")

    def scale_of(b: Body, args: list[str]) -> str:
        zero = b.const(0.0, dtype)
        high = s.binary(b, "max", args[0], zero, dtype)
        low = s.binary(b, "min", args[1], zero, dtype)
        span = s.binary(b, "sub", high, low, dtype)
        same = s.compare(b, "eq", high, low, dtype)
        span = b.select(same, b.const(1.0, dtype), span, dtype)
        return s.binary(b, "div", span, b.const(255.0, dtype), dtype)

    extremes = [Operand(top, ["0"]), Operand(bottom, ["0"])]
    scale = ctx.emit.generic((), dtype, extremes, scale_of)

    def zero_of(b: Body, args: list[str]) -> str:
        low = s.binary(b, "min", args[1], b.const(0.0, dtype), dtype)
        shift = s.neg(b, s.binary(b, "div", low, args[0], dtype), dtype)
        clamped = s.binary(
            b,
            "min",
            s.binary(b, "max", shift, b.const(0.0, dtype), dtype),
            b.const(255.0, dtype),
            dtype,
        )
        return saturate(b, s.unary_math(b, "roundeven", clamped, dtype), dtype, target)

    zero = ctx.emit.generic((), target, [Operand(scale, ["0"]), Operand(bottom, ["0"])], zero_of)

    def quantized(b: Body, args: list[str]) -> str:
        value, step, offset = args[:3]
        rounded = s.unary_math(b, "roundeven", s.binary(b, "div", value, step, dtype), dtype)
        return saturate(
            b, s.binary(b, "add", rounded, s.cast(b, offset, target, dtype), dtype), dtype, target
        )

    operands = [Operand(x, identity_indices(x.rank)), Operand(scale, ["0"]), Operand(zero, ["0"])]
    return [ctx.emit.generic(x.shape, target, operands, quantized), scale, zero]
