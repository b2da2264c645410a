"""MatMul (numpy semantics: batch broadcasting, 1-D operands) and Gemm.

A matmul is one reduction generic over (batch..., m, n, k) whose init is the zero fill (MatMul)
or the broadcast ``beta * C`` (Gemm); float16 operands accumulate in float32 (precision.py);
transposed Gemm operands are permuted indexing maps:

    Gemm(A: KxM, B: NxK, transA=1, transB=1)
      -> linalg.generic {indexing_maps = [(d0, d1, d2) -> (d2, d0), (d0, d1, d2) -> (d1, d2),
                         (d0, d1, d2) -> (d0, d1)], iterator_types = [par, par, red]}
"""

from __future__ import annotations

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Operand, Tensor, broadcast_indices, broadcast_shape
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.registry import op


@op("MatMul")
def matmul(ctx: NodeContext):
    return matmul_tensors(ctx, *ctx.inputs)


def matmul_tensors(ctx: NodeContext, a: Tensor, b: Tensor) -> Tensor:
    """numpy's ``a @ b`` (batch broadcasting, 1-D operands) as one contraction."""
    if a.rank == 0 or b.rank == 0:
        raise ctx.error("MatMul operands must have rank >= 1")
    if a.dtype != b.dtype:
        raise ctx.error(f"operands of different element types {a.dtype} and {b.dtype}")
    k = a.shape[-1]
    if (b.shape[-2] if b.rank >= 2 else b.shape[0]) != k:
        raise ctx.error(f"shapes {a.shape} and {b.shape} do not multiply")
    batch = broadcast_shape(a.shape[:-2], b.shape[:-2])
    nb = len(batch)
    m_dims = [a.shape[-2]] if a.rank >= 2 else []
    n_dims = [b.shape[-1]] if b.rank >= 2 else []
    out_shape = (*batch, *m_dims, *n_dims)
    red = f"d{max(len(out_shape), 1)}"
    a_index = broadcast_indices(a.shape[:-2], batch) if a.rank > 2 else []
    b_index = broadcast_indices(b.shape[:-2], batch) if b.rank > 2 else []
    if m_dims:
        a_index.append(f"d{nb}")
    a_index.append(red)
    b_index.append(red)
    if n_dims:
        b_index.append(f"d{nb + len(m_dims)}")
    init = ctx.emit.fill(out_shape, s.accumulator(a.dtype), 0)
    return _contract(ctx, out_shape, Operand(a, a_index), Operand(b, b_index), k, init, 1.0)


@op("Gemm")
def gemm(ctx: NodeContext):
    a, b, c = ctx.inputs[0], ctx.inputs[1], ctx.input(2)
    alpha, beta = ctx.attr("alpha", 1.0), ctx.attr("beta", 1.0)
    trans_a, trans_b = ctx.attr("transA", 0), ctx.attr("transB", 0)
    if a.rank != 2 or b.rank != 2:
        raise ctx.error(f"Gemm operands must be matrices, got {a.shape} and {b.shape}")
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    n = b.shape[0] if trans_b else b.shape[1]
    a_index = ["d2", "d0"] if trans_a else ["d0", "d2"]
    b_index = ["d1", "d2"] if trans_b else ["d2", "d1"]
    if c is None or beta == 0:
        init = ctx.emit.fill((m, n), s.accumulator(a.dtype), 0)
    else:
        init = _broadcast_to(ctx, c, (m, n), beta).ssa
    return _contract(ctx, (m, n), Operand(a, a_index), Operand(b, b_index), k, init, alpha)


def _broadcast_to(ctx: NodeContext, c: Tensor, shape, scale: float) -> Tensor:
    """``scale * c`` broadcast to ``shape`` (the Gemm accumulator's initial value)."""
    broadcast_shape(c.shape, shape)
    operand = Operand(c, broadcast_indices(c.shape, shape))
    if scale == 1.0:
        return ctx.emit.generic(shape, c.dtype, [operand], lambda b, args: args[0])
    return ctx.emit.generic(
        shape,
        c.dtype,
        [operand],
        lambda b, args: s.binary(b, "mul", args[0], b.const(scale, c.dtype), c.dtype),
    )


def _contract(ctx, out_shape, a: Operand, b: Operand, k: int, init: str, alpha: float) -> Tensor:
    """The contraction generic; float16 operands accumulate in float32 (its result type)."""
    dtype = a.tensor.dtype

    def body(builder, args):
        return s.multiply_add(builder, args[2], args[0], args[1], dtype, alpha)

    return ctx.emit.generic(
        out_shape, s.accumulator(dtype), [a, b], body, reductions=[k], init=init
    )
