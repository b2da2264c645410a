"""Convolution (N-d, strides, pads incl. auto_pad, dilations, groups incl. depthwise) and
pooling (MaxPool, AveragePool incl. ceil_mode and count_include_pad).

Padding is a copying kernel (``pad``); the window is then a plain affine access, output
position times stride plus window position times dilation:

    Conv(x: NxCxHxW, w: MxCxKHxKW, strides=[2, 2]) -> linalg.generic over
      (n, m, oh, ow | c, kh, kw): x[n, c, oh * 2 + kh, ow * 2 + kw] * w[m, c, kh, kw]

Groups view the channels as (groups, channels per group) with ``tensor.expand_shape``, so a
grouped or depthwise convolution is the same generic with one more parallel loop.
"""

from __future__ import annotations

import math

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Operand, Tensor
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import pad, pointwise, window_operand
from quartet.frontend.onnx.ops.reduce import lowest
from quartet.frontend.onnx.registry import op


def sliding_window(ctx: NodeContext, x: Tensor, kernel: list[int], ceil_mode: bool = False):
    """(output sizes, pads before, padded extents) of a sliding window over x's spatial dims."""
    spatial = list(x.shape[2:])
    n = len(spatial)
    strides = ctx.attr("strides") or [1] * n
    dilations = ctx.attr("dilations") or [1] * n
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    pads = ctx.attr("pads") or [0] * (2 * n)
    if len(kernel) != n or len(strides) != n or len(dilations) != n or len(pads) != 2 * n:
        raise ctx.error(f"kernel/strides/dilations/pads do not match {n} spatial dims")
    before, after = list(pads[:n]), list(pads[n:])
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(n):
            out = math.ceil(spatial[i] / strides[i])
            total = max(0, (out - 1) * strides[i] + spans[i] - spatial[i])
            small = total // 2
            before[i] = small if auto_pad == "SAME_UPPER" else total - small
            after[i] = total - before[i]
    elif auto_pad == "VALID":
        before, after = [0] * n, [0] * n
    outputs = []
    for i in range(n):
        room = spatial[i] + before[i] + after[i] - spans[i]
        if room < 0:
            raise ctx.error(f"window {kernel} is larger than the padded input {spatial}")
        out = (-(-room // strides[i]) if ceil_mode else room // strides[i]) + 1
        if ceil_mode and (out - 1) * strides[i] >= spatial[i] + before[i]:
            out -= 1
        outputs.append(out)
    extents = [(o - 1) * st + sp for o, st, sp in zip(outputs, strides, spans, strict=True)]
    return outputs, before, extents, strides, dilations


def padded_input(ctx, x: Tensor, before, extents, value) -> Tensor:
    """x padded so that its spatial dims are ``extents`` with ``before`` leading elements."""
    spatial = x.shape[2:]
    after = [e - size - lo for e, size, lo in zip(extents, spatial, before, strict=True)]
    return pad(ctx, x, [0, 0, *before], [0, 0, *after], value)


def _window_index(out_loop: int, window_loop: int, stride: int, dilation: int) -> str:
    return f"d{out_loop} * {stride} + d{window_loop} * {dilation}"


@op("Conv")
def conv(ctx: NodeContext):
    return convolution(ctx, ctx.inputs[0], ctx.inputs[1], ctx.input(2))


def convolution(ctx: NodeContext, x: Tensor, w: Tensor, bias: Tensor | None) -> Tensor:
    """``x`` convolved with ``w`` (plus ``bias``) under the node's Conv attributes."""
    if x.rank < 3 or w.rank != x.rank:
        raise ctx.error(
            f"expected N x C x spatial input and matching weights, got {x.shape}, {w.shape}"
        )
    groups = ctx.attr("group", 1)
    kernel = ctx.attr("kernel_shape") or list(w.shape[2:])
    n_batch, channels = x.shape[:2]
    filters, per_group = w.shape[:2]
    if channels != per_group * groups or filters % groups:
        raise ctx.error(f"channels {channels} and weights {w.shape} do not fit group={groups}")
    outputs, before, extents, strides, dilations = sliding_window(ctx, x, list(kernel))
    padded = padded_input(ctx, x, before, extents, 0)
    emit, n = ctx.emit, len(outputs)
    if groups == 1:  # no unit group dim: the result is the conv's own N x M x spatial
        xg, wg, out_shape, lead = padded, w, [n_batch, filters, *outputs], 1
    else:
        xg = emit.reshape(padded, [n_batch, groups, per_group, *padded.shape[2:]])
        wg = emit.reshape(w, [groups, filters // groups, per_group, *w.shape[2:]])
        out_shape, lead = [n_batch, groups, filters // groups, *outputs], 2
    # loops: n (g) m o... | c k...
    rank = len(out_shape)
    c_loop = rank
    group_index = [f"d{i}" for i in range(1, lead)]
    x_index = ["d0", *group_index, f"d{c_loop}"] + [
        _window_index(lead + 1 + i, c_loop + 1 + i, strides[i], dilations[i]) for i in range(n)
    ]
    w_index = [f"d{i}" for i in range(1, lead + 1)] + [f"d{c_loop}"]
    w_index += [f"d{c_loop + 1 + i}" for i in range(n)]
    operands = [Operand(xg, x_index), Operand(wg, w_index)]
    result = grouped_contraction(ctx, out_shape, operands, [per_group, *kernel], bias, lead)
    return emit.reshape(result, [n_batch, filters, *outputs])


def grouped_contraction(
    ctx: NodeContext,
    out_shape,
    operands: list[Operand],
    reductions,
    bias: Tensor | None,
    lead: int = 2,
) -> Tensor:
    """sum over ``reductions`` of the product of the input and weight ``operands`` into an
    N x (groups x filters-per-group: ``lead`` = 2, or filters: 1) x spatial output that starts
    from the bias (or zero)."""
    emit, dtype = ctx.emit, operands[0].tensor.dtype
    wide = s.accumulator(dtype)  # float16 accumulates in float32
    if bias is None:
        init = emit.fill(out_shape, wide, 0)
    else:
        bias_g = emit.reshape(bias, out_shape[1 : 1 + lead])
        init = emit.generic(
            out_shape,
            wide,
            [Operand(bias_g, [f"d{i}" for i in range(1, 1 + lead)])],
            lambda b, a: s.cast(b, a[0], bias.dtype, wide),
        ).ssa
    return emit.generic(
        out_shape,
        wide,
        operands,
        lambda b, a: s.multiply_add(b, a[2], a[0], a[1], dtype),
        reductions=reductions,
        init=init,
    )


def pool_window(ctx: NodeContext, x: Tensor, kernel: list[int]):
    """:func:`_window` for a pooling node, whose pads must each be smaller than the kernel
    (onnxruntime's rule): else a window could hold only padding, and has no value."""
    window = sliding_window(ctx, x, kernel, ctx.attr("ceil_mode", 0))
    pads = ctx.attr("pads") or []
    if any(pad >= kernel[i % len(kernel)] for i, pad in enumerate(pads)):
        raise ctx.error(
            f"pads {list(pads)} are not supported with kernel_shape {kernel}: each pad must be "
            "smaller than the kernel, or a window can hold only padding"
        )
    return window


def pool_operands(padded: Tensor, x: Tensor, kernel, strides, dilations) -> list[Operand]:
    """The padded input at the window positions, and a window-shaped operand indexed by the
    window loops alone (linalg derives every loop's extent from some operand dimension)."""
    n = x.rank - 2
    indices = ["d0", "d1"] + [
        _window_index(2 + i, x.rank + i, strides[i], dilations[i]) for i in range(n)
    ]
    return [Operand(padded, indices), window_operand(kernel, x.rank, x.dtype)]


@op("MaxPool")
def max_pool(ctx: NodeContext):
    x = ctx.inputs[0]
    if len([o for o in ctx.node.output if o]) > 1:
        raise ctx.error("the Indices output is not supported")
    kernel = list(ctx.attr("kernel_shape"))
    outputs, before, extents, strides, dilations = pool_window(ctx, x, kernel)
    padded = padded_input(ctx, x, before, extents, lowest(x.dtype))
    dtype = x.dtype
    return ctx.emit.generic(
        [*x.shape[:2], *outputs],
        dtype,
        pool_operands(padded, x, kernel, strides, dilations),
        lambda b, a: s.binary(b, "max", a[2], a[0], dtype),
        reductions=kernel,
        init=ctx.emit.fill([*x.shape[:2], *outputs], dtype, lowest(dtype)),
    )


@op("AveragePool")
def average_pool(ctx: NodeContext):
    x = ctx.inputs[0]
    kernel = list(ctx.attr("kernel_shape"))
    outputs, before, extents, strides, dilations = pool_window(ctx, x, kernel)
    padded = padded_input(ctx, x, before, extents, 0)
    dtype = x.dtype
    shape = [*x.shape[:2], *outputs]
    total = ctx.emit.generic(
        shape,
        dtype,
        pool_operands(padded, x, kernel, strides, dilations),
        lambda b, a: s.binary(b, "add", a[2], a[0], dtype),
        reductions=kernel,
        init=ctx.emit.fill(shape, dtype, 0),
    )
    include_pad = ctx.attr("count_include_pad", 0)
    spatial = x.shape[2:]
    # the region a window may count: the input, or the input and its explicit pads
    lo = [0 if include_pad else b for b in before]
    hi = [
        (spatial[i] + before[i] + _explicit_after(ctx, i, len(kernel)))
        if include_pad
        else spatial[i] + before[i]
        for i in range(len(kernel))
    ]
    counts = _window_counts(outputs, kernel, strides, dilations, lo, hi)
    weights = Tensor.constant((1.0 / counts).astype(dtype))
    return pointwise(
        ctx,
        [total, _spatial_broadcast(ctx, weights, x.rank)],
        dtype,
        lambda b, a: s.binary(b, "mul", a[0], a[1], dtype),
    )


def _explicit_after(ctx: NodeContext, i: int, n: int) -> int:
    if ctx.attr("auto_pad", "NOTSET") != "NOTSET":
        return 0
    pads = ctx.attr("pads") or [0] * (2 * n)
    return pads[n + i]


def _window_counts(outputs, kernel, strides, dilations, lo, hi) -> np.ndarray:
    """Elements each window counts: positions o*s + k*d inside [lo, hi), per output position."""
    per_dim = []
    for o, k, st, d, low, high in zip(outputs, kernel, strides, dilations, lo, hi, strict=True):
        positions = np.arange(o)[:, None] * st + np.arange(k)[None, :] * d
        per_dim.append(((positions >= low) & (positions < high)).sum(axis=1))
    counts = per_dim[0]
    for more in per_dim[1:]:
        counts = np.multiply.outer(counts, more)
    return np.maximum(counts, 1).astype(np.float64)


def _spatial_broadcast(ctx: NodeContext, weights: Tensor, rank: int) -> Tensor:
    """A spatial-only tensor viewed as 1 x 1 x spatial so it broadcasts against N x C x ..."""
    array = weights.const.reshape((1, 1, *weights.shape))
    if np.all(array == array.reshape(-1)[0]):
        array = array.reshape(-1)[:1].reshape((1,) * rank)
    return Tensor.constant(array)
