"""Rearrangements: DepthToSpace and SpaceToDepth (a view, one transposing copy, a view),
ReverseSequence (reads at computed positions) and CenterCropPad (one pad kernel).

    DepthToSpace(x: NxCxHxW, b, DCR) -> view N x b x b x C/b^2 x H x W,
        copy with perm (0, 3, 4, 1, 5, 2), view N x C/b^2 x H*b x W*b
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor
from quartet.frontend.onnx.ops.common import pad
from quartet.frontend.onnx.registry import op


def permuted(ctx: NodeContext, x: Tensor, perm: list[int]) -> Tensor:
    """A copy of ``x`` with its dimensions in the order ``perm`` (Transpose semantics)."""
    position = {axis: out for out, axis in enumerate(perm)}
    indices = [f"d{position[axis]}" for axis in range(x.rank)]
    return ctx.emit.generic(
        [x.shape[a] for a in perm], x.dtype, [Operand(x, indices)], lambda b, a: a[0]
    )


def _block_and_mode(ctx: NodeContext, x: Tensor) -> tuple[int, str]:
    if x.rank != 4:
        raise ctx.error(f"the input must be N x C x H x W, not rank {x.rank}")
    block = ctx.attr("blocksize")
    mode = ctx.attr("mode", "DCR")
    if not block or block < 1:
        raise ctx.error("blocksize must be a positive integer")
    if mode not in ("DCR", "CRD"):
        raise ctx.error(f"mode must be DCR or CRD, not {mode!r}")
    return block, mode


@op("DepthToSpace")
def depth_to_space(ctx: NodeContext):
    x = ctx.inputs[0]
    block, mode = _block_and_mode(ctx, x)
    n, c, h, w = x.shape
    if c % (block * block):
        raise ctx.error(f"{c} channels do not divide into blocks of {block}x{block}")
    depth = c // (block * block)
    if mode == "DCR":
        split, perm = [n, block, block, depth, h, w], [0, 3, 4, 1, 5, 2]
    else:
        split, perm = [n, depth, block, block, h, w], [0, 1, 4, 2, 5, 3]
    moved = permuted(ctx, ctx.emit.reshape(x, split), perm)
    return ctx.emit.reshape(moved, [n, depth, h * block, w * block])


@op("SpaceToDepth")
def space_to_depth(ctx: NodeContext):
    x = ctx.inputs[0]
    block, mode = _block_and_mode(ctx, x)
    n, c, h, w = x.shape
    if h % block or w % block:
        raise ctx.error(f"spatial size {h}x{w} does not divide into blocks of {block}")
    split = [n, c, h // block, block, w // block, block]
    perm = [0, 3, 5, 1, 2, 4] if mode == "DCR" else [0, 1, 3, 5, 2, 4]
    moved = permuted(ctx, ctx.emit.reshape(x, split), perm)
    return ctx.emit.reshape(moved, [n, c * block * block, h // block, w // block])


@op("ReverseSequence")
def reverse_sequence(ctx: NodeContext):
    """out[b, t] = x[b, len[b] - 1 - t] for t < len[b], x[b, t] after (per batch element)."""
    x, lengths = ctx.inputs
    batch_axis, time_axis = ctx.attr("batch_axis", 1), ctx.attr("time_axis", 0)
    if sorted((batch_axis, time_axis)) != [0, 1] or x.rank < 2:
        raise ctx.error("batch_axis and time_axis must be 0 and 1 (in either order)")
    ctx.emit.ssa(x)
    steps = x.shape[time_axis]

    def body(b: Body, args: list[str]) -> str:
        length = b.clamp_index(b.to_index(args[0], lengths.dtype), steps + 1)
        coords = [b.index(i) for i in range(x.rank)]
        t = coords[time_axis]
        inside = b.op(f"arith.cmpi slt, {t}, {length} : index")
        last = b.op(f"arith.subi {length}, {b.const_index(1)} : index")
        mirrored = b.clamp_index(b.op(f"arith.subi {last}, {t} : index"), steps)
        coords[time_axis] = b.select_index(inside, mirrored, t)
        return b.extract(x, coords)

    operand = Operand(lengths, [f"d{batch_axis}"])
    return ctx.emit.generic(x.shape, x.dtype, [operand], body)


@op("CenterCropPad", compile_time=(1,))
def center_crop_pad(ctx: NodeContext):
    """Each listed axis cropped to, or zero-padded to, the target length around its center
    (the odd element goes to the end); one copy kernel."""
    x = ctx.inputs[0]
    target = [int(v) for v in np.asarray(ctx.const_input(1, "the shape")).reshape(-1)]
    axes = [ctx.axis(a, x.rank) for a in (ctx.attr("axes") or range(x.rank))]
    if len(axes) != len(target):
        raise ctx.error(f"shape {target} does not match axes {axes}")
    before, after = [0] * x.rank, [0] * x.rank
    for axis, length in zip(axes, target, strict=True):
        size = x.shape[axis]
        before[axis] = -((size - length) // 2) if length < size else (length - size) // 2
        after[axis] = length - size - before[axis]
    result = pad(ctx, x, before, after)
    return ctx.emit.copy(result) if result is x else result
