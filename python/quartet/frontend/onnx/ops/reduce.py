"""Reductions (ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare), Softmax,
LogSoftmax, LayerNormalization, BatchNormalization (inference), InstanceNormalization, LRN.

A reduction is one generic with "reduction" loops after the output's loops and a ``linalg.fill``
init; ``keepdims`` is a view (``tensor.expand_shape``) of the reduced tensor. Softmax is two
reductions and one pointwise kernel (the exponentials are recomputed instead of stored):

    m = max_k x[.., k, ..]   s = sum_k exp(x - m)   y = exp(x - m) / s
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Operand, Tensor, is_float
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import (
    axes_of,
    axis_indices,
    identity_indices,
    kept_indices,
    pad,
    pointwise,
    reduction,
    window_operand,
)
from quartet.frontend.onnx.registry import op

_REDUCE = {
    "ReduceSum": ("add", None, None),
    "ReduceMean": ("add", None, "mean"),
    "ReduceMax": ("max", None, None),
    "ReduceMin": ("min", None, None),
    "ReduceProd": ("mul", None, None),
    "ReduceL1": ("add", "abs", None),
    "ReduceL2": ("add", "square", "sqrt"),
    "ReduceSumSquare": ("add", "square", None),
    "ReduceLogSum": ("add", None, "log"),
}


def lowest(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 0
    return -np.inf if is_float(dtype) else np.iinfo(dtype).min


def highest(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 1
    return np.inf if is_float(dtype) else np.iinfo(dtype).max


def _identity(kind: str, dtype):
    return {"add": 0, "mul": 1, "max": lowest(dtype), "min": highest(dtype)}[kind]


def reduce_axes(ctx: NodeContext, x: Tensor, axes, kind: str, pre=None) -> Tensor:
    """``x`` reduced over ``axes`` (sorted) without keepdims; ``pre`` maps each element."""
    shape = [d for i, d in enumerate(x.shape) if i not in axes]
    extents = [x.shape[a] for a in axes]
    indices = axis_indices(x.rank, axes)

    def combine(b, args, acc):
        value = pre(b, args[0]) if pre else args[0]
        return s.binary(b, kind, acc, value, x.dtype)

    return reduction(
        ctx, [x], lambda t: indices, shape, extents, _identity(kind, x.dtype), combine, x.dtype
    )


def _reduced_axes(ctx: NodeContext, x: Tensor) -> list[int] | None:
    """The axes a Reduce* node reduces (all when none are given); None for a no-op."""
    axes = axes_of(ctx, x.rank, 1)
    if axes:
        return axes
    return None if ctx.attr("noop_with_empty_axes", 0) else list(range(x.rank))


def _keepdims(ctx: NodeContext, result: Tensor, x: Tensor, axes) -> Tensor:
    if not ctx.attr("keepdims", 1):
        return result
    return ctx.emit.reshape(result, [1 if i in axes else d for i, d in enumerate(x.shape)])


@op(*_REDUCE)
def reduce(ctx: NodeContext):
    x = ctx.inputs[0]
    kind, pre_name, post_name = _REDUCE[ctx.node.op_type]
    axes = _reduced_axes(ctx, x)
    if axes is None:
        return x
    dtype = x.dtype
    pre = {
        None: None,
        "abs": lambda b, v: (
            b.op(f"math.absf {v} : {_t(dtype)}")
            if is_float(dtype)
            else b.op(f"math.absi {v} : {_t(dtype)}")
        ),
        "square": lambda b, v: s.binary(b, "mul", v, v, dtype),
    }[pre_name]
    result = reduce_axes(ctx, x, axes, kind, pre)
    if post_name is not None:
        count = int(np.prod([x.shape[a] for a in axes]))

        def post(b, args):
            if post_name == "mean":
                return s.binary(b, "div", args[0], b.const(count, dtype), dtype)
            return s.unary_math(b, post_name, args[0], dtype)

        result = pointwise(ctx, [result], dtype, post)
    return _keepdims(ctx, result, x, axes)


@op("ReduceLogSumExp")
def reduce_log_sum_exp(ctx: NodeContext):
    """log(sum(e^x)) = m + log(sum(e^(x - m))) with m the maximum: e^x alone overflows."""
    x = ctx.inputs[0]
    axes = _reduced_axes(ctx, x)
    if axes is None:
        return x
    dtype = x.dtype
    maximum, total = exp_sums(ctx, x, axes)

    def body(b, args):
        log_total = s.unary_math(b, "log", args[1], dtype)
        return s.binary(b, "add", finite_shift(b, args[0], dtype), log_total, dtype)

    return _keepdims(ctx, pointwise(ctx, [maximum, total], dtype, body), x, axes)


def exp_sums(ctx: NodeContext, x: Tensor, axes) -> tuple[Tensor, Tensor]:
    """(maximum, sum of e^(x - m)) over ``axes``, both without the reduced dims. The shift m
    is the maximum, or 0 where the maximum is infinite (:func:`finite_shift`): an all -inf
    row then sums to 0 (log-sum-exp -inf), not to NaN."""
    dtype = x.dtype
    maximum = reduce_axes(ctx, x, axes, "max")
    shape = [d for i, d in enumerate(x.shape) if i not in axes]
    total = ctx.emit.generic(
        shape,
        dtype,
        [Operand(x, axis_indices(x.rank, axes)), Operand(maximum, _kept_loops(shape))],
        lambda b, a: s.binary(b, "add", a[2], shifted_exp(b, a[0], a[1], dtype), dtype),
        reductions=[x.shape[a] for a in axes],
        init=ctx.emit.fill(shape, dtype, 0),
    )
    return maximum, total


def finite_shift(b, maximum: str, dtype) -> str:
    """The shift of :func:`exp_sums` from the maximum (recomputed where used: no kernel)."""
    magnitude = b.op(f"math.absf {maximum} : {_t(dtype)}")
    finite = s.compare(b, "ne", magnitude, b.const(np.inf, dtype), dtype)
    return b.select(finite, maximum, b.const(0.0, dtype), dtype)


def shifted_exp(b, value: str, maximum: str, dtype) -> str:
    """e^(value - shift) for the row whose maximum is ``maximum``."""
    return s.exp(b, s.binary(b, "sub", value, finite_shift(b, maximum, dtype), dtype), dtype)


def _t(dtype) -> str:
    from quartet.frontend.onnx.ir import scalar_type

    return scalar_type(dtype)


@op("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx: NodeContext):
    x = ctx.inputs[0]
    axes = list(range(2, x.rank))
    kind = "max" if ctx.node.op_type == "GlobalMaxPool" else "add"
    result = reduce_axes(ctx, x, axes, kind)
    if kind == "add":
        count = int(np.prod([x.shape[a] for a in axes]))
        result = pointwise(
            ctx,
            [result],
            x.dtype,
            lambda b, a: s.binary(b, "div", a[0], b.const(count, x.dtype), x.dtype),
        )
    return ctx.emit.reshape(result, [*x.shape[:2], *([1] * len(axes))])


@op("Softmax", "LogSoftmax")
def softmax(ctx: NodeContext):
    """e^(x - m) / s and (x - m) - log(s), with m and s as in :func:`exp_sums`: no e^x of a
    large x is ever formed."""
    x = ctx.inputs[0]
    axis = ctx.axis(ctx.attr("axis", -1), x.rank)
    dtype = x.dtype
    maximum, total = exp_sums(ctx, x, [axis])
    kept = kept_indices(x.rank, [axis])

    def normalize(b, args):
        value, peak, denominator = args[0], args[1], args[2]
        if ctx.node.op_type == "LogSoftmax":
            shifted = s.binary(b, "sub", value, finite_shift(b, peak, dtype), dtype)
            return s.binary(b, "sub", shifted, s.unary_math(b, "log", denominator, dtype), dtype)
        return s.binary(b, "div", shifted_exp(b, value, peak, dtype), denominator, dtype)

    operands = [Operand(x, identity_indices(x.rank)), Operand(maximum, kept), Operand(total, kept)]
    return ctx.emit.generic(x.shape, dtype, operands, lambda b, a: normalize(b, a[:3]))


def _kept_loops(shape) -> list[str]:
    return [f"d{i}" for i in range(len(shape))] or ["0"]


@op("LayerNormalization")
def layer_norm(ctx: NodeContext):
    x, scale, bias = ctx.inputs[0], ctx.inputs[1], ctx.input(2)
    axis = ctx.axis(ctx.attr("axis", -1), x.rank)
    epsilon = ctx.attr("epsilon", 1e-5)
    dtype = x.dtype
    axes = list(range(axis, x.rank))
    count = int(np.prod(x.shape[axis:]))
    mean, inv_std = _moments(ctx, x, axes, count, epsilon)
    kept = kept_indices(x.rank, axes)
    operands = [Operand(x, identity_indices(x.rank)), Operand(mean, kept), Operand(inv_std, kept)]
    operands.append(Operand(scale, _trailing(scale, x.rank)))
    if bias is not None:
        operands.append(Operand(bias, _trailing(bias, x.rank)))

    def normalize(b, args):
        centered = s.binary(b, "sub", args[0], args[1], dtype)
        value = s.binary(b, "mul", s.binary(b, "mul", centered, args[2], dtype), args[3], dtype)
        return s.binary(b, "add", value, args[4], dtype) if bias is not None else value

    y = ctx.emit.generic(x.shape, dtype, operands, lambda b, a: normalize(b, a[: len(operands)]))
    keep = [1 if i in axes else d for i, d in enumerate(x.shape)]
    return [y, ctx.emit.reshape(mean, keep), ctx.emit.reshape(inv_std, keep)]


def _trailing(t: Tensor, rank: int) -> list[str]:
    """Indices of a tensor broadcast against the trailing dims of a rank-``rank`` loop nest."""
    offset = rank - t.rank
    return ["0" if size == 1 else f"d{offset + i}" for i, size in enumerate(t.shape)] or ["0"]


def _moments(ctx: NodeContext, x: Tensor, axes, count: int, epsilon: float):
    """(mean, 1/sqrt(var + epsilon)) over ``axes``, both without the reduced dims."""
    dtype = x.dtype
    total = reduce_axes(ctx, x, axes, "add")
    mean = pointwise(
        ctx, [total], dtype, lambda b, a: s.binary(b, "div", a[0], b.const(count, dtype), dtype)
    )
    shape = [d for i, d in enumerate(x.shape) if i not in axes]

    def square(b, args, acc):
        centered = s.binary(b, "sub", args[0], args[1], dtype)
        return s.binary(b, "add", acc, s.binary(b, "mul", centered, centered, dtype), dtype)

    indices = axis_indices(x.rank, axes)
    squares = reduction(
        ctx,
        [x, mean],
        lambda t: indices if t is x else _kept_loops(shape),
        shape,
        [x.shape[a] for a in axes],
        0,
        square,
        dtype,
    )

    def inverse_std(b, args):
        variance = s.binary(b, "div", args[0], b.const(count, dtype), dtype)
        shifted = s.binary(b, "add", variance, b.const(epsilon, dtype), dtype)
        return s.unary_math(b, "rsqrt", shifted, dtype)

    return mean, pointwise(ctx, [squares], dtype, inverse_std)


@op("BatchNormalization")
def batch_norm(ctx: NodeContext):
    x, scale, bias, mean, var = ctx.inputs[:5]
    if ctx.attr("training_mode", 0) or len([o for o in ctx.node.output if o]) > 1:
        raise ctx.error("training mode is not supported (inference only)")
    epsilon = ctx.attr("epsilon", 1e-5)
    dtype = x.dtype
    channel = ["d1"] if x.rank > 1 else ["0"]
    operands = [Operand(x, identity_indices(x.rank))]
    operands += [Operand(t, channel) for t in (scale, bias, mean, var)]

    def body(b, args):
        value, gamma, beta, mu, sigma2 = args[:5]
        shifted = s.binary(b, "add", sigma2, b.const(epsilon, dtype), dtype)
        inv = s.unary_math(b, "rsqrt", shifted, dtype)
        centered = s.binary(b, "sub", value, mu, dtype)
        return s.binary(
            b,
            "add",
            s.binary(b, "mul", s.binary(b, "mul", centered, inv, dtype), gamma, dtype),
            beta,
            dtype,
        )

    return ctx.emit.generic(x.shape, dtype, operands, body)


@op("InstanceNormalization")
def instance_norm(ctx: NodeContext):
    x, scale, bias = ctx.inputs[:3]
    dtype = x.dtype
    axes = list(range(2, x.rank))
    count = int(np.prod(x.shape[2:]))
    mean, inv_std = _moments(ctx, x, axes, count, ctx.attr("epsilon", 1e-5))
    kept = kept_indices(x.rank, axes)
    operands = [Operand(x, identity_indices(x.rank)), Operand(mean, kept), Operand(inv_std, kept)]
    operands += [Operand(scale, ["d1"]), Operand(bias, ["d1"])]

    def body(b, args):
        centered = s.binary(b, "sub", args[0], args[1], dtype)
        value = s.binary(b, "mul", s.binary(b, "mul", centered, args[2], dtype), args[3], dtype)
        return s.binary(b, "add", value, args[4], dtype)

    return ctx.emit.generic(x.shape, dtype, operands, lambda b, a: body(b, a[:5]))


@op("LRN")
def lrn(ctx: NodeContext):
    """y = x / (bias + alpha / size * sum of x^2 over a channel window) ^ beta."""
    x = ctx.inputs[0]
    size = ctx.attr("size")
    alpha, beta, bias = ctx.attr("alpha", 1e-4), ctx.attr("beta", 0.75), ctx.attr("bias", 1.0)
    dtype = x.dtype
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    pads = [0] * x.rank
    padded = pad(ctx, x, [0, before, *pads[2:]], [0, after, *pads[2:]])
    window = f"d{x.rank}"
    indices = [f"d{i}" if i != 1 else f"d1 + {window}" for i in range(x.rank)]
    window = window_operand([size], x.rank, dtype)
    squares = ctx.emit.generic(
        x.shape,
        dtype,
        [Operand(padded, indices), window],
        lambda b, a: s.binary(b, "add", a[2], s.binary(b, "mul", a[0], a[0], dtype), dtype),
        reductions=[size],
        init=ctx.emit.fill(x.shape, dtype, 0),
    )

    def body(b, args):
        scaled = s.binary(b, "mul", args[1], b.const(alpha / size, dtype), dtype)
        base = s.binary(b, "add", scaled, b.const(bias, dtype), dtype)
        return s.binary(
            b, "div", args[0], s.binary(b, "pow", base, b.const(beta, dtype), dtype), dtype
        )

    return pointwise(ctx, [x, squares], dtype, body)
