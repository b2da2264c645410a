"""Positions of extremes: ArgMax, ArgMin, Hardmax and TopK, as reductions over the axis.

ArgMax is two reductions, the extreme and then the first (or last) position that holds it;
both combine with min/max, so a split reduction gives the same answer:

    m = max_k x[.., k, ..]     i = min_k (x[.., k, ..] == m ? k : n - 1)

TopK ranks every element against every other along the axis (ties: the lower index first,
as ONNX specifies), then reads the element of each rank below K:

    rank[i] = sum_j beats(x[j], j, x[i], i)     values[r] = x[i] where rank[i] == r

which is n^2 work per row: exact and static, meant for the axis lengths of classifier and
decoding heads.
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import axis_indices, identity_indices, kept_indices, reduction
from quartet.frontend.onnx.ops.reduce import reduce_axes
from quartet.frontend.onnx.registry import op

INDEX = np.dtype(np.int64)


def _loop_index(b: Body, loop: int) -> str:
    return b.op(f"arith.index_cast {b.index(loop)} : index to i64")


def arg_extreme(ctx: NodeContext, x: Tensor, axis: int, kind: str, last: bool) -> Tensor:
    """The int64 position of the max (``kind="max"``) or min along ``axis`` (removed); the
    first such position, or the last when ``last``."""
    if x.shape[axis] == 0:
        raise ctx.error(f"cannot take the arg{kind} of an empty axis {axis}")
    extreme = reduce_axes(ctx, x, [axis], kind)
    shape = [d for i, d in enumerate(x.shape) if i != axis]
    read_x = axis_indices(x.rank, [axis])
    read_extreme = [f"d{i}" for i in range(len(shape))] or ["0"]
    reduction_loop = max(len(shape), 1)

    def combine(b: Body, args: list[str], acc: str) -> str:
        match = s.compare(b, "eq", args[0], args[1], x.dtype)
        position = _loop_index(b, reduction_loop)
        better = s.binary(b, "max" if last else "min", acc, position, INDEX)
        return b.select(match, better, acc, INDEX)

    return reduction(
        ctx,
        [x, extreme],
        lambda t: read_x if t is x else read_extreme,
        shape,
        [x.shape[axis]],
        0 if last else x.shape[axis] - 1,
        combine,
        INDEX,
    )


@op("ArgMax", "ArgMin")
def arg_max(ctx: NodeContext):
    x = ctx.inputs[0]
    axis = ctx.axis(ctx.attr("axis", 0), x.rank)
    kind = "max" if ctx.node.op_type == "ArgMax" else "min"
    result = arg_extreme(ctx, x, axis, kind, bool(ctx.attr("select_last_index", 0)))
    if ctx.attr("keepdims", 1):
        result = ctx.emit.reshape(result, [1 if i == axis else d for i, d in enumerate(x.shape)])
    return result


@op("Hardmax")
def hardmax(ctx: NodeContext):
    """1 at the first maximum along the axis, 0 elsewhere."""
    x = ctx.inputs[0]
    axis = ctx.axis(ctx.attr("axis", -1), x.rank)
    position = arg_extreme(ctx, x, axis, "max", last=False)

    def body(b: Body, args: list[str]) -> str:
        here = s.compare(b, "eq", _loop_index(b, axis), args[0], INDEX)
        return b.select(here, b.const(1, x.dtype), b.const(0, x.dtype), x.dtype)

    operand = Operand(position, kept_indices(x.rank, [axis]))
    return ctx.emit.generic(x.shape, x.dtype, [operand], body)


@op("TopK", compile_time=(1,))
def top_k(ctx: NodeContext):
    x = ctx.inputs[0]
    axis = ctx.axis(ctx.attr("axis", -1), x.rank)
    k = int(np.asarray(ctx.const_input(1, "K")).reshape(-1)[0])
    if not 0 <= k <= x.shape[axis]:
        raise ctx.error(f"K = {k} is outside [0, {x.shape[axis]}] (axis {axis})")
    ranks = _ranks(ctx, x, axis, largest=bool(ctx.attr("largest", 1)))
    shape = [k if i == axis else d for i, d in enumerate(x.shape)]
    source = x.rank  # the reduction loop: the element whose rank is compared
    along = [f"d{source}" if i == axis else f"d{i}" for i in range(x.rank)]

    def of_rank(value, dtype):
        """combine: the accumulator becomes ``value`` where the element's rank is this
        output position (exactly one element has each rank)."""

        def combine(b: Body, args: list[str], acc: str) -> str:
            match = s.compare(b, "eq", args[0], _loop_index(b, axis), INDEX)
            return b.select(match, value(b, args), acc, dtype)

        return combine

    def read(tensors):
        return [Operand(t, along) for t in tensors]

    emit, extent = ctx.emit, [x.shape[axis]]
    values = emit.generic(
        shape,
        x.dtype,
        read([ranks, x]),
        lambda b, a: of_rank(lambda b, v: v[1], x.dtype)(b, a[:2], a[2]),
        reductions=extent,
        init=emit.fill(shape, x.dtype, 0),
    )
    indices = emit.generic(
        shape,
        INDEX,
        read([ranks]),
        lambda b, a: of_rank(lambda b, v: _loop_index(b, source), INDEX)(b, a[:1], a[1]),
        reductions=extent,
        init=emit.fill(shape, INDEX, 0),
    )
    return [values, indices]


def _ranks(ctx: NodeContext, x: Tensor, axis: int, largest: bool) -> Tensor:
    """The int64 rank of every element along ``axis``: how many elements come before it
    (larger ones, or smaller ones when not ``largest``; equal ones at a lower index)."""
    other = x.rank  # the reduction loop: the element compared against
    read_other = [f"d{other}" if i == axis else f"d{i}" for i in range(x.rank)]
    order = "gt" if largest else "lt"

    def body(b: Body, args: list[str]) -> str:
        mine, theirs, acc = args
        ahead = s.compare(b, order, theirs, mine, x.dtype)
        tie = s.compare(b, "eq", theirs, mine, x.dtype)
        earlier = b.op(f"arith.cmpi slt, {b.index(other)}, {b.index(axis)} : index")
        before = b.op(f"arith.ori {ahead}, {b.op(f'arith.andi {tie}, {earlier} : i1')} : i1")
        return b.select(before, s.binary(b, "add", acc, b.const(1, INDEX), INDEX), acc, INDEX)

    operands = [Operand(x, identity_indices(x.rank)), Operand(x, read_other)]
    return ctx.emit.generic(
        x.shape,
        INDEX,
        operands,
        body,
        reductions=[x.shape[axis]],
        init=ctx.emit.fill(x.shape, INDEX, 0),
    )
