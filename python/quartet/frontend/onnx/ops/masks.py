"""Tensors selected by position: Trilu, OneHot, EyeLike and Compress.

Trilu keeps the elements on one side of a diagonal, a comparison of the loop indices:

    Trilu(x: ..xMxN, k, upper=1)  ->  generic { keep = (j - i >= k); select(keep, x, 0) }

OneHot compares each index with the position along the new axis; EyeLike depends only on
its input's shape, so it is a compile-time constant. Compress needs its condition at compile
time (the output's length is the number of true values) and is then a gather.
"""

from __future__ import annotations

import numpy as np
import onnx

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import identity_indices
from quartet.frontend.onnx.registry import op


@op("Trilu", compile_time=(1,))
def trilu(ctx: NodeContext):
    x = ctx.inputs[0]
    if x.rank < 2:
        raise ctx.error(f"the input must have rank >= 2, not {x.rank}")
    k_value = ctx.const_input(1, "the diagonal offset k")
    k = 0 if k_value is None else int(np.asarray(k_value).reshape(-1)[0])
    upper = bool(ctx.attr("upper", 1))
    row, column = x.rank - 2, x.rank - 1

    def body(b: Body, args: list[str]) -> str:
        offset = b.op(f"arith.subi {b.index(column)}, {b.index(row)} : index")
        keep = b.op(f"arith.cmpi {'sge' if upper else 'sle'}, {offset}, {b.const_index(k)} : index")
        return b.select(keep, args[0], b.const(0, x.dtype), x.dtype)

    return ctx.emit.generic(x.shape, x.dtype, [Operand(x, identity_indices(x.rank))], body)


@op("OneHot", compile_time=(1,))
def one_hot(ctx: NodeContext):
    """values[1] where the index (negative: from the end) equals the position along the new
    axis, values[0] elsewhere (also for an index outside [-depth, depth))."""
    indices, values = ctx.inputs[0], ctx.inputs[2]
    depth = int(np.asarray(ctx.const_input(1, "the depth")).reshape(-1)[0])
    if depth <= 0:
        raise ctx.error(f"depth must be positive, not {depth}")
    if values.size != 2:
        raise ctx.error(f"values must hold [off, on], got shape {list(values.shape)}")
    rank = indices.rank + 1
    axis = ctx.axis(ctx.attr("axis", -1), rank)
    shape = [*indices.shape[:axis], depth, *indices.shape[axis:]]
    read = [f"d{i}" for i in range(rank) if i != axis] or ["0"]
    pair = ctx.emit.reshape(values, [2])
    ctx.emit.ssa(pair)
    wide = np.dtype(np.float64) if is_float(indices.dtype) else np.dtype(np.int64)

    def body(b: Body, args: list[str]) -> str:
        index = s.cast(b, args[0], indices.dtype, wide)
        if is_float(wide):  # fractional indices truncate, as a cast to int would
            index = b.op(f"arith.fptosi {index} : f64 to i64")
        negative = s.compare(b, "lt", index, b.const(0, np.int64), np.int64)
        wrapped = b.select(
            negative, s.binary(b, "add", index, b.const(depth, np.int64), np.int64), index, np.int64
        )
        position = b.op(f"arith.index_cast {b.index(axis)} : index to i64")
        hit = s.compare(b, "eq", wrapped, position, np.int64)
        off = b.extract(pair, [b.const_index(0)])
        on = b.extract(pair, [b.const_index(1)])
        return b.select(hit, on, off, values.dtype)

    return ctx.emit.generic(shape, values.dtype, [Operand(indices, read)], body)


@op("EyeLike")
def eye_like(ctx: NodeContext):
    x = ctx.inputs[0]
    if x.rank != 2:
        raise ctx.error(f"the input must be a matrix, not rank {x.rank}")
    dtype_code = ctx.attr("dtype")
    dtype = (
        x.dtype
        if dtype_code is None
        else np.dtype(onnx.helper.tensor_dtype_to_np_dtype(dtype_code))
    )
    return Tensor.constant(np.eye(*x.shape, k=ctx.attr("k", 0), dtype=dtype))


@op("Compress", compile_time=(1,))
def compress(ctx: NodeContext):
    """The slices of x along the axis (of flattened x without one) where the condition is
    true; the condition must be known at compile time."""
    x = ctx.inputs[0]
    condition = np.asarray(ctx.const_input(1, "the condition")).reshape(-1).astype(bool)
    axis = ctx.attr("axis")
    if axis is None:
        x, axis = ctx.emit.reshape(x, [x.size]), 0
    axis = ctx.axis(axis, x.rank)
    kept = np.nonzero(condition[: x.shape[axis]])[0].astype(np.int64)
    shape = [len(kept) if i == axis else d for i, d in enumerate(x.shape)]
    if not len(kept):
        return Tensor.constant(np.zeros(shape, x.dtype))
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(x.rank)]
        coords[axis] = b.to_index(args[0], np.int64)
        return b.extract(x, coords)

    return ctx.emit.generic(shape, x.dtype, [Operand(Tensor.constant(kept), [f"d{axis}"])], body)
