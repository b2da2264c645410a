"""ConvTranspose (N-d, strides, pads, dilations, groups, output_padding, output_shape,
auto_pad) as a zero-inserted input convolved with the flipped kernel.

Output position o receives x[i] * w[k] where o = i * stride + k * dilation - pad_begin. The
input spread out by the stride (zeros between samples) and shifted by
(K - 1) * dilation - pad_begin turns that into an ordinary window over the flipped kernel:

    z[.., j] = x[.., (j - P) / s] where (j - P) is a non-negative multiple of s, else 0
    y[n, g, m, o] = sum_{c, k} z[n, g, c, o + k * d] * w[g, c, m, K - 1 - k]

so Roller tiles it like Conv. A constant kernel is flipped at compile time.
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float
from quartet.frontend.onnx.ops.conv import grouped_contraction
from quartet.frontend.onnx.registry import op


def _geometry(ctx: NodeContext, x: Tensor, kernel: list[int]):
    """(output sizes, pads before, strides, dilations) per spatial dim, as the ONNX spec
    derives them from pads, output_padding, output_shape and auto_pad."""
    spatial = list(x.shape[2:])
    n = len(spatial)
    strides = ctx.attr("strides") or [1] * n
    dilations = ctx.attr("dilations") or [1] * n
    output_padding = ctx.attr("output_padding") or [0] * n
    pads = ctx.attr("pads") or [0] * (2 * n)
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    wanted = ctx.attr("output_shape")
    if any(len(v) != n for v in (strides, dilations, output_padding)) or len(pads) != 2 * n:
        raise ctx.error(f"strides/dilations/output_padding/pads do not match {n} spatial dims")
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    full = [
        st * (size - 1) + extra + span
        for st, size, extra, span in zip(strides, spatial, output_padding, spans, strict=True)
    ]
    if wanted is None and auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        wanted = [size * st for size, st in zip(spatial, strides, strict=True)]
    if wanted is not None:
        wanted = list(wanted)[-n:]
        before = []
        for total_size, out in zip(full, wanted, strict=True):
            total = total_size - out
            small = total // 2
            before.append(small if auto_pad == "SAME_UPPER" else total - small)
        return wanted, before, strides, dilations
    if auto_pad == "VALID":
        pads = [0] * (2 * n)
    outputs = [f - pads[i] - pads[n + i] for i, f in enumerate(full)]
    return outputs, list(pads[:n]), strides, dilations


@op("ConvTranspose")
def conv_transpose(ctx: NodeContext):
    x, w, bias = ctx.inputs[0], ctx.inputs[1], ctx.input(2)
    if x.rank < 3 or w.rank != x.rank:
        raise ctx.error(
            f"expected N x C x spatial input and matching weights, got {x.shape}, {w.shape}"
        )
    if not is_float(x.dtype):
        raise ctx.error(f"element type {x.dtype} is not supported (floats only)")
    groups = ctx.attr("group", 1)
    n_batch, channels = x.shape[:2]
    kernel = list(ctx.attr("kernel_shape") or w.shape[2:])
    if w.shape[0] != channels or channels % groups:
        raise ctx.error(f"weights {w.shape} do not fit {channels} channels in {groups} groups")
    per_group, filters = channels // groups, w.shape[1]
    outputs, before, strides, dilations = _geometry(ctx, x, kernel)
    if any(o <= 0 for o in outputs):
        raise ctx.error(f"the output would have size {outputs}")
    spread = _spread(ctx, x, kernel, outputs, before, strides, dilations)
    flipped = _flipped(ctx, w)
    emit, n = ctx.emit, len(outputs)
    zg = emit.reshape(spread, [n_batch, groups, per_group, *spread.shape[2:]])
    wg = emit.reshape(flipped, [groups, per_group, filters, *kernel])
    out_shape = [n_batch, groups, filters, *outputs]
    c_loop = len(out_shape)  # loops: n g m o... | c k...
    z_index = ["d0", "d1", f"d{c_loop}"] + [
        f"d{3 + i} + d{c_loop + 1 + i} * {dilations[i]}"
        if dilations[i] != 1
        else f"d{3 + i} + d{c_loop + 1 + i}"
        for i in range(n)
    ]
    w_index = ["d1", f"d{c_loop}", "d2"] + [f"d{c_loop + 1 + i}" for i in range(n)]
    operands = [Operand(zg, z_index), Operand(wg, w_index)]
    result = grouped_contraction(ctx, out_shape, operands, [per_group, *kernel], bias)
    return emit.reshape(result, [n_batch, groups * filters, *outputs])


def _spread(ctx, x: Tensor, kernel, outputs, before, strides, dilations) -> Tensor:
    """x with stride - 1 zeros between samples, (K - 1) * d - pad_begin zeros before (a
    negative count crops) and enough after for every output window."""
    lead = [(k - 1) * d - p for k, d, p in zip(kernel, dilations, before, strict=True)]
    lengths = [o + (k - 1) * d for o, k, d in zip(outputs, kernel, dilations, strict=True)]
    shape = [*x.shape[:2], *lengths]
    spatial = x.shape[2:]
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        coords, checks = [b.index(0), b.index(1)], []
        for i, (shift, step, size) in enumerate(zip(lead, strides, spatial, strict=True)):
            offset = b.op(f"arith.subi {b.index(2 + i)}, {b.const_index(shift)} : index")
            checks.append(b.op(f"arith.cmpi sge, {offset}, {b.const_index(0)} : index"))
            if step != 1:
                remainder = b.op(f"arith.remsi {offset}, {b.const_index(step)} : index")
                checks.append(b.op(f"arith.cmpi eq, {remainder}, {b.const_index(0)} : index"))
                offset = b.op(f"arith.divsi {offset}, {b.const_index(step)} : index")
            checks.append(b.op(f"arith.cmpi slt, {offset}, {b.const_index(size)} : index"))
            coords.append(b.clamp_index(offset, size))
        inside = checks[0]
        for check in checks[1:]:
            inside = b.op(f"arith.andi {inside}, {check} : i1")
        return b.select(inside, b.extract(x, coords), b.const(0.0, x.dtype), x.dtype)

    return ctx.emit.generic(shape, x.dtype, [], body)


def _flipped(ctx: NodeContext, w: Tensor) -> Tensor:
    """The kernel reversed along every spatial dim (at compile time when it is constant)."""
    spatial = tuple(range(2, w.rank))
    if w.const is not None:
        return Tensor.constant(np.ascontiguousarray(np.flip(w.const, axis=spatial)))
    ctx.emit.ssa(w)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(0), b.index(1)]
        for axis in spatial:
            last = b.const_index(w.shape[axis] - 1)
            coords.append(b.op(f"arith.subi {last}, {b.index(axis)} : index"))
        return b.extract(w, coords)

    return ctx.emit.generic(w.shape, w.dtype, [], body)
