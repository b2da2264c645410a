"""Attention (opset 23-25) and RotaryEmbedding, written as the generics they are made of.

Heads are viewed as (kv head, query heads per kv head), so grouped-query attention needs no
repeated keys: Q is B x G x R x S x D (a view), K and V are B x G x T x D, and every map is
affine. Attention is then

    scores[b, g, r, i, j] = sum_d (q * sqrt(scale)) * (k * sqrt(scale))   (softcap: c tanh(s/c))
    bias[b, g, r, i, j]   = mask, causal frontier j <= i + offset, window, kv padding (0/-inf)
    p = softmax_j(scores + bias), 0 on rows that the bias masks entirely
    y[b, g, r, i, e]      = sum_j p * v[b, g, j, e]

with ``offset`` the past length (internal cache) or ``nonpad_kv_seqlen - S`` (external cache),
as ONNX's reference defines. Half-precision inputs accumulate in float32.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import identity_indices, pointwise
from quartet.frontend.onnx.ops.indexing import concat_tensors
from quartet.frontend.onnx.ops.layout import permuted
from quartet.frontend.onnx.ops.precision import accumulator, cast_to
from quartet.frontend.onnx.ops.reduce import reduce_axes
from quartet.frontend.onnx.registry import op


def contract(
    ctx: NodeContext, shape, operands: list[Operand], extent: int, dtype, scale=None
) -> Tensor:
    """sum over one reduction loop of the product of two operands, accumulated in
    :func:`accumulator` and returned in ``dtype``; ``scale`` multiplies each operand first
    (in its own type, as ONNX's reference scales Q and K)."""
    wide = accumulator(dtype)

    def body(b: Body, args: list[str]) -> str:
        factors = []
        for operand, value in zip(operands, args[:2], strict=True):
            if scale is not None:
                value = s.binary(
                    b, "mul", value, b.const(scale, operand.tensor.dtype), operand.tensor.dtype
                )
            factors.append(s.cast(b, value, operand.tensor.dtype, wide))
        return s.binary(b, "add", args[2], s.binary(b, "mul", factors[0], factors[1], wide), wide)

    total = ctx.emit.generic(
        shape, wide, operands, body, reductions=[extent], init=ctx.emit.fill(shape, wide, 0)
    )
    return cast_to(ctx, total, dtype)


class _Heads:
    """Q, K, V in the grouped layout, and the facts every kernel needs."""

    def __init__(self, ctx: NodeContext):
        q, k, v = ctx.inputs[:3]
        emit = ctx.emit
        self.three_d = q.rank == 3
        if q.rank not in (3, 4) or k.rank != q.rank or v.rank != q.rank:
            raise ctx.error(
                f"Q, K and V must all be 3-D or 4-D, got {q.shape}, {k.shape}, {v.shape}"
            )
        if self.three_d:
            heads, kv_heads = ctx.attr("q_num_heads"), ctx.attr("kv_num_heads")
            if not heads or not kv_heads:
                raise ctx.error("3-D inputs need the q_num_heads and kv_num_heads attributes")
            batch, self.sq, hidden = q.shape
            self.d = hidden // heads
            self.g, self.r = kv_heads, heads // kv_heads
            self.q = emit.reshape(q, [batch, self.sq, self.g, self.r, self.d])
            k = permuted(
                ctx,
                emit.reshape(k, [batch, k.shape[1], kv_heads, k.shape[2] // kv_heads]),
                [0, 2, 1, 3],
            )
            v = permuted(
                ctx,
                emit.reshape(v, [batch, v.shape[1], kv_heads, v.shape[2] // kv_heads]),
                [0, 2, 1, 3],
            )
        else:
            batch, heads, self.sq, self.d = q.shape
            self.g = k.shape[1]
            self.r = heads // self.g
            self.q = emit.reshape(q, [batch, self.g, self.r, self.sq, self.d])
        if heads % self.g:
            raise ctx.error(f"{heads} query heads do not group over {self.g} key/value heads")
        self.batch, self.heads = batch, heads
        past_key, past_value = ctx.input(4), ctx.input(5)
        if (past_key is None) != (past_value is None):
            raise ctx.error("past_key and past_value must be given together")
        self.past = 0 if past_key is None else past_key.shape[2]
        self.k = k if past_key is None else concat_tensors(ctx, [past_key, k], 2)
        self.v = v if past_value is None else concat_tensors(ctx, [past_value, v], 2)
        self.t = self.k.shape[2]
        self.dv = self.v.shape[3]

    def q_indices(self, loops: list[str]) -> list[str]:
        """Q read at (b, g, r, i, d) loops."""
        b, g, r, i, d = loops
        return [b, i, g, r, d] if self.three_d else [b, g, r, i, d]


@op("Attention")
def attention(ctx: NodeContext):
    q = ctx.inputs[0]
    if not is_float(q.dtype):
        raise ctx.error(f"element type {q.dtype} is not supported (floats only)")
    heads = _Heads(ctx)
    dtype = q.dtype
    scale = ctx.attr("scale")
    scale = 1 / math.sqrt(heads.d) if scale is None else scale
    root = float(np.asarray(math.sqrt(scale), dtype))  # sqrt(scale) in the input type
    grid = [heads.batch, heads.g, heads.r, heads.sq, heads.t]
    loops = [f"d{i}" for i in range(5)]
    scores = contract(
        ctx,
        grid,
        [
            Operand(heads.q, heads.q_indices([*loops[:4], "d5"])),
            Operand(heads.k, ["d0", "d1", "d4", "d5"]),
        ],
        heads.d,
        accumulator(dtype),
        scale=root,
    )
    raw = scores
    softcap = ctx.attr("softcap", 0.0)
    if softcap > 0:
        scores = pointwise(
            ctx, [scores], scores.dtype, lambda b, a: _softcap(b, a[0], softcap, scores.dtype)
        )
    precision = ctx.attr("softmax_precision")
    wide = accumulator(dtype)
    if precision is not None:
        wide = np.promote_types(wide, np.dtype(onnx.helper.tensor_dtype_to_np_dtype(precision)))
    bias = _bias(ctx, heads, grid, wide)
    logits = (
        scores
        if bias is None
        else pointwise(
            ctx,
            [scores, bias],
            wide,
            lambda b, a: s.binary(b, "add", s.cast(b, a[0], scores.dtype, wide), a[1], wide),
        )
    )
    probabilities = _softmax(ctx, logits, bias)
    y_probabilities = cast_to(ctx, probabilities, dtype)
    y = _weighted_values(ctx, heads, y_probabilities)
    outputs = [y, heads.k, heads.v]
    if len(ctx.node.output) > 3 and ctx.node.output[3]:
        mode = ctx.attr("qk_matmul_output_mode", 0)
        chosen = {0: raw, 1: scores, 2: logits, 3: probabilities}.get(mode)
        if chosen is None:
            raise ctx.error(f"qk_matmul_output_mode {mode} is not one of 0, 1, 2, 3")
        out = cast_to(ctx, chosen, dtype)
        outputs.append(ctx.emit.reshape(out, [heads.batch, heads.heads, heads.sq, heads.t]))
    return outputs


def _softcap(b: Body, x: str, cap: float, dtype) -> str:
    inner = s.unary_math(b, "tanh", s.binary(b, "div", x, b.const(cap, dtype), dtype), dtype)
    return s.binary(b, "mul", inner, b.const(cap, dtype), dtype)


def _bias(ctx: NodeContext, heads: _Heads, grid: list[int], dtype) -> Tensor | None:
    """0 where query i may attend key j, -inf elsewhere, plus a float mask; None when
    nothing masks."""
    mask, nonpad = ctx.input(3), ctx.input(6)
    causal = bool(ctx.attr("is_causal", 0))
    left, right = ctx.attr("left_window_size", -1), ctx.attr("right_window_size", -1)
    if mask is None and nonpad is None and not causal and left < 0 and right < 0:
        return None
    if nonpad is not None and heads.past:
        raise ctx.error("nonpad_kv_seqlen cannot be combined with past_key/past_value")
    mask5 = None if mask is None else _mask_view(ctx, mask, heads)
    operands = [] if nonpad is None else [Operand(nonpad, ["d0"])]
    if mask5 is not None:
        ctx.emit.ssa(mask5)

    def body(b: Body, args: list[str]) -> str:
        i, j = b.index(3), b.index(4)
        checks = []
        offset = b.const_index(heads.past)
        if nonpad is not None:
            valid = b.to_index(args[0], nonpad.dtype)
            checks.append(b.op(f"arith.cmpi slt, {j}, {valid} : index"))
            offset = b.op(f"arith.subi {valid}, {b.const_index(heads.sq)} : index")
        position = b.op(f"arith.addi {i}, {offset} : index")  # the query's absolute position
        if causal:
            checks.append(b.op(f"arith.cmpi sle, {j}, {position} : index"))
        if left >= 0:
            earliest = b.op(f"arith.subi {position}, {b.const_index(left)} : index")
            checks.append(b.op(f"arith.cmpi sge, {j}, {earliest} : index"))
        if right >= 0:
            latest = b.op(f"arith.addi {position}, {b.const_index(right)} : index")
            checks.append(b.op(f"arith.cmpi sle, {j}, {latest} : index"))
        additive = b.const(0.0, dtype)
        if mask5 is not None:
            value, inside = _mask_element(b, mask5, j)
            checks.append(inside)
            if mask5.dtype == np.bool_:
                checks.append(b.to_bool(value))
            else:
                additive = s.cast(b, value, mask5.dtype, dtype)
        allowed = b.op("arith.constant true")
        for check in checks:
            allowed = b.op(f"arith.andi {allowed}, {check} : i1")
        return b.select(allowed, additive, b.const(-np.inf, dtype), dtype)

    return ctx.emit.generic(grid, dtype, operands, body)


def _mask_view(ctx: NodeContext, mask: Tensor, heads: _Heads) -> Tensor:
    """The mask as a rank-5 (b, g, r, i, j) view (broadcast dims of size 1)."""
    if mask.rank > 4 or mask.rank < 1:
        raise ctx.error(f"attn_mask must have rank 1 to 4, not {mask.rank}")
    shape = [1] * (4 - mask.rank) + list(mask.shape)
    mb, mh, mq, ml = shape
    if mh not in (1, heads.heads) or mb not in (1, heads.batch) or mq not in (1, heads.sq):
        raise ctx.error(f"attn_mask {list(mask.shape)} does not broadcast to the scores")
    if ml > heads.t:
        raise ctx.error(f"attn_mask has {ml} keys, more than the {heads.t} there are")
    groups, per_group = (heads.g, heads.r) if mh > 1 else (1, 1)
    return ctx.emit.reshape(mask, [mb, groups, per_group, mq, ml])


def _mask_element(b: Body, mask: Tensor, j: str) -> tuple[str, str]:
    """(mask[b, g, r, i, j] with broadcasting, whether j is inside the mask: a shorter mask
    is padded with -inf / false)."""
    coords = [b.index(n) if size > 1 else b.const_index(0) for n, size in enumerate(mask.shape[:4])]
    length = mask.shape[4]
    coords.append(b.clamp_index(j, length))
    inside = b.op(f"arith.cmpi slt, {j}, {b.const_index(length)} : index")
    return b.extract(mask, coords), inside


def _softmax(ctx: NodeContext, logits: Tensor, bias: Tensor | None) -> Tensor:
    """softmax over the last axis as ONNX's reference computes it: a row whose max is -inf
    shifts by 0, a zero sum divides by 1, and a row the bias masks entirely is 0."""
    dtype, rank = logits.dtype, logits.rank
    peak = reduce_axes(ctx, logits, [rank - 1], "max")
    kept = [f"d{i}" for i in range(rank - 1)]

    def shifted_exp(b: Body, value: str, top: str) -> str:
        neg_inf = s.compare(b, "eq", top, b.const(-np.inf, dtype), dtype)
        safe = b.select(neg_inf, b.const(0.0, dtype), top, dtype)
        return s.exp(b, s.binary(b, "sub", value, safe, dtype), dtype)

    total = ctx.emit.generic(
        logits.shape[:-1],
        dtype,
        [Operand(logits, [*kept, f"d{rank - 1}"]), Operand(peak, kept)],
        lambda b, a: s.binary(b, "add", a[2], shifted_exp(b, a[0], a[1]), dtype),
        reductions=[logits.shape[-1]],
        init=ctx.emit.fill(logits.shape[:-1], dtype, 0),
    )
    operands = [Operand(logits, identity_indices(rank)), Operand(peak, kept), Operand(total, kept)]
    if bias is not None:
        operands.append(Operand(reduce_axes(ctx, bias, [rank - 1], "max"), kept))

    def normalize(b: Body, args: list[str]) -> str:
        value, top, denominator = args[:3]
        zero = b.const(0.0, dtype)
        empty = s.compare(b, "eq", denominator, zero, dtype)
        denominator = b.select(empty, b.const(1.0, dtype), denominator, dtype)
        p = s.binary(b, "div", shifted_exp(b, value, top), denominator, dtype)
        if bias is None:
            return p
        masked = s.compare(b, "eq", args[3], b.const(-np.inf, dtype), dtype)
        return b.select(masked, zero, p, dtype)

    return ctx.emit.generic(logits.shape, dtype, operands, normalize)


def _weighted_values(ctx: NodeContext, heads: _Heads, probabilities: Tensor) -> Tensor:
    """y = p . v, laid out as the inputs were (B x H x S x Dv, or B x S x H*Dv for 3-D)."""
    dtype = probabilities.dtype
    if heads.three_d:  # loops (b, i, g, r, e | j)
        shape = [heads.batch, heads.sq, heads.g, heads.r, heads.dv]
        p_read, v_read = ["d0", "d2", "d3", "d1", "d5"], ["d0", "d2", "d5", "d4"]
        final = [heads.batch, heads.sq, heads.heads * heads.dv]
    else:  # loops (b, g, r, i, e | j)
        shape = [heads.batch, heads.g, heads.r, heads.sq, heads.dv]
        p_read, v_read = ["d0", "d1", "d2", "d3", "d5"], ["d0", "d1", "d5", "d4"]
        final = [heads.batch, heads.heads, heads.sq, heads.dv]
    y = contract(
        ctx, shape, [Operand(probabilities, p_read), Operand(heads.v, v_read)], heads.t, dtype
    )
    return ctx.emit.reshape(y, final)


@op("RotaryEmbedding")
def rotary_embedding(ctx: NodeContext):
    """Rotates pairs of features by position-dependent angles: the halves of the rotated part
    (or its even/odd features when interleaved) are (x1, x2) -> (c x1 - s x2, s x1 + c x2)."""
    x, cos, sin, positions = ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], ctx.input(3)
    if not is_float(x.dtype):
        raise ctx.error(f"element type {x.dtype} is not supported (floats only)")
    if x.rank == 4:
        head = x.shape[3]
        time, head_of = 2, None
    elif x.rank == 3:
        count = ctx.attr("num_heads")
        if not count:
            raise ctx.error("a 3-D input needs the num_heads attribute")
        head = x.shape[2] // count
        time, head_of = 1, head
    else:
        raise ctx.error(f"the input must be 3-D or 4-D, not rank {x.rank}")
    rotary = ctx.attr("rotary_embedding_dim", 0) or head
    if rotary % 2 or rotary > head:
        raise ctx.error(f"rotary_embedding_dim {rotary} must be even and at most {head}")
    interleaved = bool(ctx.attr("interleaved", 0))
    for t in (x, cos, sin) + (() if positions is None else (positions,)):
        ctx.emit.ssa(t)
    dtype = x.dtype
    half = rotary // 2

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(x.rank)]
        feature = coords[-1]
        if head_of is not None:  # 3-D: the feature within its head
            feature = b.op(f"arith.remsi {feature}, {b.const_index(head_of)} : index")
        start = b.op(f"arith.subi {coords[-1]}, {feature} : index")  # the head's first feature
        rotated = b.op(f"arith.cmpi slt, {feature}, {b.const_index(rotary)} : index")
        if interleaved:
            pair = b.op(f"arith.divsi {feature}, {b.const_index(2)} : index")
            second = b.op(f"arith.remsi {feature}, {b.const_index(2)} : index")
            first_at = b.op(f"arith.muli {pair}, {b.const_index(2)} : index")
            partner_at = b.op(f"arith.addi {first_at}, {b.const_index(1)} : index")
            is_second = b.op(f"arith.cmpi ne, {second}, {b.const_index(0)} : index")
        else:
            is_second = b.op(f"arith.cmpi sge, {feature}, {b.const_index(half)} : index")
            pair = b.select_index(
                is_second, b.op(f"arith.subi {feature}, {b.const_index(half)} : index"), feature
            )
            first_at = pair
            partner_at = b.op(f"arith.addi {pair}, {b.const_index(half)} : index")
        pair = b.clamp_index(pair, half)

        def read(at: str) -> str:
            where = list(coords)
            where[-1] = b.clamp_index(b.op(f"arith.addi {start}, {at} : index"), x.shape[-1])
            return b.extract(x, where)

        x1, x2 = read(first_at), read(partner_at)
        batch, step = coords[0], coords[time]
        if positions is None:
            angle_at = [batch, step, pair]
        else:
            position = b.extract(positions, [batch, step])
            angle_at = [b.clamp_index(b.to_index(position, positions.dtype), cos.shape[0]), pair]
        c, sn = b.extract(cos, angle_at), b.extract(sin, angle_at)
        real = s.binary(
            b, "sub", s.binary(b, "mul", c, x1, dtype), s.binary(b, "mul", sn, x2, dtype), dtype
        )
        imaginary = s.binary(
            b, "add", s.binary(b, "mul", sn, x1, dtype), s.binary(b, "mul", c, x2, dtype), dtype
        )
        value = b.select(is_second, imaginary, real, dtype)
        return b.select(rotated, value, args[0], dtype)

    return ctx.emit.generic(x.shape, dtype, [Operand(x, identity_indices(x.rank))], body)
