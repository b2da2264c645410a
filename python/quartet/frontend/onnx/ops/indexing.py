"""Data movement with computed positions: Gather, GatherElements, Slice, Split, Concat, Pad, Tile.

Positive-step slices are affine maps (``d0 * 2 + 1``); everything else reads the source with
``tensor.extract`` at indices computed from ``linalg.index`` (clamped into the source, so even
a select's unused branch never reads out of bounds). A gather's index out of range fails the
run with the node's error (``checked_index``), as in onnxruntime, or the compile when the
indices are constants:

    Concat(a: 2x3, b: 2x5, axis=1) -> linalg.generic over 2x8 {
        j = linalg.index 1; va = extract a[i, min(j, 2)]; vb = extract b[i, max(j - 3, 0)]
        yield select(j < 3, va, vb) }
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float
from quartet.frontend.onnx.ops.common import (
    check_constant_indices,
    checked_index,
    identity_indices,
    pad,
)
from quartet.frontend.onnx.registry import op


@op("Gather")
def gather(ctx: NodeContext):
    data, indices = ctx.inputs
    axis = ctx.axis(ctx.attr("axis", 0), data.rank)
    q = indices.rank
    shape = [*data.shape[:axis], *indices.shape, *data.shape[axis + 1 :]]
    if indices.const is not None:
        check_constant_indices(ctx, indices.const, axis, data.shape[axis])
    if indices.const is not None and q == 0:
        position = int(indices.const) % data.shape[axis]
        source = [f"d{i}" for i in range(axis)] + [str(position)]
        source += [f"d{axis + i}" for i in range(data.rank - axis - 1)]
        return ctx.emit.generic(shape, data.dtype, [Operand(data, source)], lambda b, a: a[0])
    ctx.emit.ssa(data)
    index_operand = Operand(indices, [f"d{axis + i}" for i in range(q)] or ["0"])

    def body(b: Body, args: list[str]) -> str:
        position = checked_index(ctx, b, args[0], indices.dtype, axis, data.shape[axis])
        coords = [b.index(i) for i in range(axis)] + [position]
        coords += [b.index(axis + q + i) for i in range(data.rank - axis - 1)]
        return b.extract(data, coords)

    return ctx.emit.generic(shape, data.dtype, [index_operand], body)


@op("GatherElements")
def gather_elements(ctx: NodeContext):
    data, indices = ctx.inputs
    axis = ctx.axis(ctx.attr("axis", 0), data.rank)
    if indices.const is not None:
        check_constant_indices(ctx, indices.const, axis, data.shape[axis])
    ctx.emit.ssa(data)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(data.rank)]
        coords[axis] = checked_index(ctx, b, args[0], indices.dtype, axis, data.shape[axis])
        return b.extract(data, coords)

    operand = Operand(indices, identity_indices(indices.rank))
    return ctx.emit.generic(indices.shape, data.dtype, [operand], body)


def _slice_params(ctx: NodeContext, x: Tensor):
    """Per dim (start, step, length) of an ONNX Slice (Python slice clamping semantics)."""
    starts = [int(v) for v in ctx.const_input(1, "the starts")]
    ends = [int(v) for v in ctx.const_input(2, "the ends")]
    axes_value = ctx.const_input(3, "the axes")
    steps_value = ctx.const_input(4, "the steps")
    axes = list(range(len(starts))) if axes_value is None else [int(a) for a in axes_value]
    steps = [1] * len(starts) if steps_value is None else [int(v) for v in steps_value]
    params = [(0, 1, size) for size in x.shape]
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis = ctx.axis(axis, x.rank)
        if step == 0:
            raise ctx.error("a slice step of 0")
        first, _, stride = slice(start, end, step).indices(x.shape[axis])
        length = len(range(*slice(start, end, step).indices(x.shape[axis])))
        params[axis] = (first, stride, length)
    return params


def strided_copy(ctx: NodeContext, x: Tensor, params) -> Tensor:
    """out[i] = x[start + i * step] per dim (negative steps through tensor.extract)."""
    shape = [length for _, _, length in params]
    if any(length == 0 for length in shape):
        return Tensor.constant(np.zeros(shape, x.dtype))  # no elements: nothing to compute
    # linalg takes a loop's extent from an operand dimension indexed by that loop alone, so a
    # prefix (start 0, step 1, shorter) cannot be an affine map; it reads through extract
    prefix = any(
        start == 0 and step == 1 and length != size
        for (start, step, length), size in zip(params, x.shape, strict=True)
    )
    if all(step > 0 for _, step, _ in params) and not prefix:
        indices = [_affine(i, start, step) for i, (start, step, _) in enumerate(params)]
        return ctx.emit.generic(shape, x.dtype, [Operand(x, indices or ["0"])], lambda b, a: a[0])
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        coords = []
        for i, (start, step, _) in enumerate(params):
            scaled = b.op(f"arith.muli {b.index(i)}, {b.const_index(step)} : index")
            coords.append(b.op(f"arith.addi {scaled}, {b.const_index(start)} : index"))
        return b.extract(x, coords)

    return ctx.emit.generic(shape, x.dtype, [], body)


def _affine(loop: int, start: int, step: int) -> str:
    term = f"d{loop}" if step == 1 else f"d{loop} * {step}"
    return f"{term} + {start}" if start else term


@op("Slice")
def slice_op(ctx: NodeContext):
    x = ctx.inputs[0]
    return strided_copy(ctx, x, _slice_params(ctx, x))


@op("Split")
def split(ctx: NodeContext):
    x = ctx.inputs[0]
    axis = ctx.axis(ctx.attr("axis", 0), x.rank)
    sizes = ctx.attr("split")
    if sizes is None and ctx.input(1) is not None:
        sizes = [int(v) for v in ctx.const_input(1, "the split sizes")]
    if sizes is None:
        count = ctx.attr("num_outputs") or len(ctx.node.output)
        chunk = -(-x.shape[axis] // count)
        sizes = [min(chunk, x.shape[axis] - chunk * i) for i in range(count)]
    if sum(sizes) != x.shape[axis]:
        raise ctx.error(f"split sizes {sizes} do not add up to {x.shape[axis]}")
    outputs, offset = [], 0
    for size in sizes:
        params = [(0, 1, d) for d in x.shape]
        params[axis] = (offset, 1, size)
        outputs.append(strided_copy(ctx, x, params))
        offset += size
    return outputs


@op("Concat")
def concat(ctx: NodeContext):
    tensors = [t for t in ctx.inputs if t is not None]
    return concat_tensors(ctx, tensors, ctx.axis(ctx.attr("axis"), tensors[0].rank))


def concat_tensors(ctx: NodeContext, tensors: list[Tensor], axis: int) -> Tensor:
    """``tensors`` joined along ``axis`` (one kernel; a single part is copied)."""
    rank = tensors[0].rank
    parts = [t for t in tensors if t.shape[axis] != 0]
    shape = list(tensors[0].shape)
    shape[axis] = sum(t.shape[axis] for t in parts)
    dtype = tensors[0].dtype
    for t in parts:
        ctx.emit.ssa(t)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(rank)]
        pieces, offset = [], 0
        for t in parts:
            local = b.op(f"arith.subi {coords[axis]}, {b.const_index(offset)} : index")
            source = list(coords)
            source[axis] = b.clamp_index(local, t.shape[axis])
            offset += t.shape[axis]
            pieces.append((offset, b.extract(t, source)))
        value = pieces[-1][1]
        for end, element in reversed(pieces[:-1]):
            inside = b.op(f"arith.cmpi slt, {coords[axis]}, {b.const_index(end)} : index")
            value = b.select(inside, element, value, dtype)
        return value

    if len(parts) == 1:
        return ctx.emit.copy(parts[0])
    return ctx.emit.generic(shape, dtype, [], body)


@op("Pad")
def pad_op(ctx: NodeContext):
    x = ctx.inputs[0]
    pads = [int(v) for v in ctx.const_input(1, "the pads")]
    value_input = ctx.input(2)
    value = 0
    if value_input is not None:
        raw = ctx.const_input(2, "the padding value")
        value = raw.reshape(-1)[0] if raw.size else 0
        value = float(value) if is_float(x.dtype) else int(value)
    axes_value = ctx.const_input(3, "the axes")
    axes = (
        list(range(x.rank))
        if axes_value is None
        else [ctx.axis(int(a), x.rank) for a in axes_value]
    )
    before, after = [0] * x.rank, [0] * x.rank
    for i, axis in enumerate(axes):
        before[axis], after[axis] = pads[i], pads[len(axes) + i]
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "edge", "reflect", "wrap"):
        raise ctx.error(f"mode '{mode}' is not supported")
    result = pad(ctx, x, before, after, value, mode)
    return ctx.emit.copy(result) if result is x else result


@op("Tile")
def tile(ctx: NodeContext):
    x = ctx.inputs[0]
    repeats = [int(v) for v in ctx.const_input(1, "the repeats")]
    shape = [d * r for d, r in zip(x.shape, repeats, strict=True)]
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        coords = []
        for i, size in enumerate(x.shape):
            index = b.index(i)
            coords.append(
                index
                if repeats[i] == 1
                else b.op(f"arith.remsi {index}, {b.const_index(size)} : index")
            )
        return b.extract(x, coords)

    return ctx.emit.generic(shape, x.dtype, [], body)


@op("Range")
def range_op(ctx: NodeContext):
    start, limit, delta = (np.asarray(ctx.const_input(i, "the range bounds")) for i in range(3))
    return Tensor.constant(np.arange(start, limit, delta).astype(start.dtype))
