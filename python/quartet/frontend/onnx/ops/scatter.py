"""Index-driven writes and reads: ScatterElements, ScatterND (reductions none, add, mul, max,
min) and GatherND.

A scatter is written from the output's side: each output element reduces over the updates
that target it, starting from the data (the updates that miss leave it alone):

    ScatterND(data, indices: U x k, updates, reduction=add)
      -> out[p] = data[p] + sum_u (indices[u] == p[:k] ? updates[u, p[k:]] : 0)

That is |out| x |updates rows| work: exact, static and parallel over the output. With
reduction "none" and repeated indices the last update wins (ONNX leaves the order open).
Negative indices count from the end; an index out of range fails the run with the node's
error, as in onnxruntime (``checked_index``), or the compile when the indices are constants.
"""

from __future__ import annotations

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import (
    check_constant_indices,
    checked_index,
    window_operand,
)
from quartet.frontend.onnx.registry import op

_REDUCTIONS = ("none", "add", "mul", "max", "min")


def _reduction(ctx: NodeContext) -> str:
    reduction = ctx.attr("reduction", "none")
    if reduction not in _REDUCTIONS:
        raise ctx.error(f"reduction {reduction!r} is not one of {', '.join(_REDUCTIONS)}")
    return reduction


def _combine(b: Body, reduction: str, acc: str, value: str, dtype) -> str:
    return value if reduction == "none" else s.binary(b, reduction, acc, value, dtype)


def _all(b: Body, checks: list[str]) -> str:
    result = b.op("arith.constant true")
    for check in checks:
        result = b.op(f"arith.andi {result}, {check} : i1")
    return result


@op("ScatterElements", "Scatter")
def scatter_elements(ctx: NodeContext):
    """out[p] combines updates[q] over the q with q == p off the axis and
    indices[q] == p[axis] (a reduction along the axis of ``indices``)."""
    data, indices, updates = ctx.inputs
    axis = ctx.axis(ctx.attr("axis", 0), data.rank)
    reduction = _reduction(ctx)
    if indices.shape != updates.shape or indices.rank != data.rank:
        raise ctx.error(f"indices {indices.shape} and updates {updates.shape} must match in shape")
    if indices.const is not None:
        check_constant_indices(ctx, indices.const, axis, data.shape[axis])
    along = data.rank  # the reduction loop: position along the axis of indices
    for t in (indices, updates):
        ctx.emit.ssa(t)
    dtype = data.dtype

    def body(b: Body, args: list[str]) -> str:
        acc = args[1]
        coords = [b.index(i) for i in range(data.rank)]
        checks, source = [], []
        for i, size in enumerate(indices.shape):
            if i == axis:
                source.append(b.index(along))
                continue
            if size < data.shape[i]:
                checks.append(b.op(f"arith.cmpi slt, {coords[i]}, {b.const_index(size)} : index"))
            source.append(b.clamp_index(coords[i], size))
        value = b.extract(indices, source)
        target = checked_index(ctx, b, value, indices.dtype, axis, data.shape[axis])
        checks.append(b.op(f"arith.cmpi eq, {target}, {coords[axis]} : index"))
        value = b.extract(updates, source)
        return b.select(_all(b, checks), _combine(b, reduction, acc, value, dtype), acc, dtype)

    # linalg takes a loop's extent from an operand: a zero tensor spans the reduction loop
    extent = window_operand([indices.shape[axis]], along, dtype)
    return ctx.emit.generic(
        data.shape,
        dtype,
        [extent],
        body,
        reductions=[indices.shape[axis]],
        init=ctx.emit.ssa(data),
    )


def _index_columns(indices: Tensor, loops: list[str]) -> list[Operand]:
    """One operand per column of ``indices`` (its last dim), read at ``loops``."""
    return [Operand(indices, [*loops, str(column)]) for column in range(indices.shape[-1])]


def _check_constant_columns(ctx: NodeContext, indices: Tensor, first: int, data: Tensor) -> None:
    """Column ``t`` of constant ND ``indices`` addresses axis ``first + t`` of ``data``."""
    if indices.const is None:
        return
    for column in range(indices.shape[-1]):
        axis = first + column
        check_constant_indices(ctx, indices.const[..., column], axis, data.shape[axis])


@op("ScatterND")
def scatter_nd(ctx: NodeContext):
    data, indices, updates = ctx.inputs
    reduction = _reduction(ctx)
    k = indices.shape[-1]
    rows = list(indices.shape[:-1])
    if k > data.rank or tuple(updates.shape) != (*rows, *data.shape[k:]):
        raise ctx.error(
            f"updates {updates.shape} do not fit indices {indices.shape} into {data.shape}"
        )
    _check_constant_columns(ctx, indices, 0, data)
    first = data.rank  # reduction loops over the update rows follow the output loops
    row_loops = [f"d{first + i}" for i in range(len(rows))]
    tail = [f"d{i}" for i in range(k, data.rank)]
    operands = _index_columns(indices, row_loops)
    operands.append(Operand(updates, [*row_loops, *tail] or ["0"]))
    dtype = data.dtype

    def body(b: Body, args: list[str]) -> str:
        columns, value, acc = args[:k], args[k], args[k + 1]
        checks = []
        for t, column in enumerate(columns):
            target = checked_index(ctx, b, column, indices.dtype, t, data.shape[t])
            checks.append(b.op(f"arith.cmpi eq, {target}, {b.index(t)} : index"))
        return b.select(_all(b, checks), _combine(b, reduction, acc, value, dtype), acc, dtype)

    if not rows:  # a single update: no reduction loop
        return ctx.emit.generic(data.shape, dtype, operands, body, init=ctx.emit.ssa(data))
    return ctx.emit.generic(
        data.shape, dtype, operands, body, reductions=rows, init=ctx.emit.ssa(data)
    )


@op("GatherND")
def gather_nd(ctx: NodeContext):
    """out[batch, u, rest] = data[batch, indices[batch, u], rest] (batch_dims leading dims
    shared by data and indices)."""
    data, indices = ctx.inputs
    batch = ctx.attr("batch_dims", 0)
    k = indices.shape[-1]
    if batch + k > data.rank or tuple(indices.shape[:batch]) != tuple(data.shape[:batch]):
        raise ctx.error(f"indices {indices.shape} do not address data {data.shape}")
    _check_constant_columns(ctx, indices, batch, data)
    middle = list(indices.shape[batch:-1])
    shape = [*data.shape[:batch], *middle, *data.shape[batch + k :]]
    row_loops = [f"d{i}" for i in range(batch + len(middle))]
    ctx.emit.ssa(data)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(batch)]
        for t, column in enumerate(args[:k]):
            axis = batch + t
            coords.append(checked_index(ctx, b, column, indices.dtype, axis, data.shape[axis]))
        coords += [b.index(batch + len(middle) + i) for i in range(data.rank - batch - k)]
        return b.extract(data, coords)

    return ctx.emit.generic(shape, data.dtype, _index_columns(indices, row_loops), body)
