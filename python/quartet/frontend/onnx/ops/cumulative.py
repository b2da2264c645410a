"""Running sums and products along an axis: CumSum and CumProd (exclusive, reverse).

A scan is a reduction whose condition compares the source and target positions:

    CumSum(x, axis=0)  ->  y[i] = sum_j (j <= i ? x[j] : 0)     (j < i exclusive, >= reverse)

That is n^2 work along the axis; a long axis (more than ``DIRECT_LIMIT``) is scanned in
blocks of about sqrt(n): a scan inside each block, the block totals, a strict scan of those
totals across blocks, and one pointwise combine (n * sqrt(n) work, four kernels).
"""

from __future__ import annotations

import math

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import identity_indices, pad
from quartet.frontend.onnx.ops.indexing import strided_copy
from quartet.frontend.onnx.ops.reduce import reduce_axes
from quartet.frontend.onnx.registry import op

DIRECT_LIMIT = 128  # axis length up to which the n^2 scan is used as it is

_KIND = {"CumSum": ("add", 0), "CumProd": ("mul", 1)}


@op("CumSum", "CumProd", compile_time=(1,))
def cumulative(ctx: NodeContext):
    x = ctx.inputs[0]
    axis = int(np.asarray(ctx.const_input(1, "the axis")).reshape(-1)[0])
    axis = ctx.axis(axis, x.rank)
    kind, identity = _KIND[ctx.node.op_type]
    reverse, exclusive = bool(ctx.attr("reverse", 0)), bool(ctx.attr("exclusive", 0))
    if x.shape[axis] <= DIRECT_LIMIT:
        return direct_scan(ctx, x, axis, kind, identity, reverse, exclusive)
    return _blocked_scan(ctx, x, axis, kind, identity, reverse, exclusive)


def direct_scan(
    ctx: NodeContext, x: Tensor, axis: int, kind: str, identity, reverse: bool, exclusive: bool
) -> Tensor:
    """y[i] = combine of x[j] over the j before i (after i when ``reverse``), i itself
    included unless ``exclusive``."""
    source = x.rank  # the reduction loop
    read = [f"d{source}" if i == axis else f"d{i}" for i in range(x.rank)]
    predicate = {
        (False, False): "sle",
        (False, True): "slt",
        (True, False): "sge",
        (True, True): "sgt",
    }[(reverse, exclusive)]

    def body(b: Body, args: list[str]) -> str:
        value, acc = args
        counted = b.op(f"arith.cmpi {predicate}, {b.index(source)}, {b.index(axis)} : index")
        return b.select(counted, s.binary(b, kind, acc, value, x.dtype), acc, x.dtype)

    return ctx.emit.generic(
        x.shape,
        x.dtype,
        [Operand(x, read)],
        body,
        reductions=[x.shape[axis]],
        init=ctx.emit.fill(x.shape, x.dtype, identity),
    )


def _blocked_scan(
    ctx: NodeContext, x: Tensor, axis: int, kind: str, identity, reverse: bool, exclusive: bool
) -> Tensor:
    length = x.shape[axis]
    block = math.isqrt(length - 1) + 1
    blocks = -(-length // block)
    after = [blocks * block - length if i == axis else 0 for i in range(x.rank)]
    padded = pad(ctx, x, [0] * x.rank, after, identity)  # identities change no scan
    split = [*x.shape[:axis], blocks, block, *x.shape[axis + 1 :]]
    view = ctx.emit.reshape(padded, split)
    inner = direct_scan(ctx, view, axis + 1, kind, identity, reverse, exclusive)
    totals = reduce_axes(ctx, view, [axis + 1], kind)
    offsets = direct_scan(ctx, totals, axis, kind, identity, reverse, exclusive=True)
    rank = len(split)
    offset_read = [f"d{i}" for i in range(rank) if i != axis + 1]
    combined = ctx.emit.generic(
        split,
        x.dtype,
        [Operand(inner, identity_indices(rank)), Operand(offsets, offset_read)],
        lambda b, a: s.binary(b, kind, a[1], a[0], x.dtype),
    )
    whole = ctx.emit.reshape(
        combined, [blocks * block if i == axis else d for i, d in enumerate(x.shape)]
    )
    if blocks * block == length:
        return whole
    params = [(0, 1, length if i == axis else d) for i, d in enumerate(x.shape)]
    return strided_copy(ctx, whole, params)
