"""Helpers shared by the op families: broadcasting pointwise kernels, axis lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, broadcast_indices, broadcast_shape


def pointwise(
    ctx: NodeContext,
    tensors: Sequence[Tensor],
    dtype,
    fn: Callable[[Body, list[str]], str],
) -> Tensor:
    """One kernel applying ``fn`` to the broadcast inputs (ONNX multidirectional broadcasting)."""
    shape = broadcast_shape(*(t.shape for t in tensors))
    operands = [Operand(t, broadcast_indices(t.shape, shape)) for t in tensors]
    count = len(tensors)
    return ctx.emit.generic(shape, np.dtype(dtype), operands, lambda b, a: fn(b, a[:count]))


def identity_indices(rank: int) -> list[str]:
    return [f"d{i}" for i in range(max(rank, 1))]


def axes_of(ctx: NodeContext, rank: int, input_index: int, attribute: str = "axes"):
    """Axes from the attribute (older opsets) or a compile-time input (newer); None if absent."""
    axes = ctx.attr(attribute)
    if axes is None and len(ctx.inputs) > input_index:
        value = ctx.const_input(input_index, "the axes")
        axes = None if value is None else [int(a) for a in np.asarray(value).reshape(-1)]
    if axes is None:
        return None
    return sorted({ctx.axis(int(a), rank) for a in axes})


def reduction(
    ctx: NodeContext,
    inputs: Sequence[Tensor],
    index_of: Callable[[Tensor], list[str]] | None,
    shape: Sequence[int],
    extents: Sequence[int],
    init_value,
    combine: Callable[[Body, list[str], str], str],
    dtype,
) -> Tensor:
    """A reduction kernel: output ``shape`` (loops d0..), reduction loops of ``extents`` after
    them; ``combine(b, input scalars, accumulator)`` gives the new accumulator."""
    init = ctx.emit.fill(shape, dtype, init_value)
    operands = [Operand(t, index_of(t)) for t in inputs]
    count = len(inputs)
    return ctx.emit.generic(
        shape,
        dtype,
        operands,
        lambda b, a: combine(b, a[:count], a[count]),
        reductions=extents,
        init=init,
    )


def axis_indices(rank: int, axes: Sequence[int]) -> list[str]:
    """Indices of a rank-``rank`` operand reduced over ``axes``: kept dims are the output loops
    (in order), reduced dims the reduction loops after them."""
    kept = [i for i in range(rank) if i not in axes]
    first_reduction = max(len(kept), 1)
    result = []
    for i in range(rank):
        if i in axes:
            result.append(f"d{first_reduction + list(axes).index(i)}")
        else:
            result.append(f"d{kept.index(i)}")
    return result or ["0"]


def kept_indices(rank: int, axes: Sequence[int]) -> list[str]:
    """Indices into a tensor of the kept dims of ``rank`` from loops over the full rank."""
    return [f"d{i}" for i in range(rank) if i not in axes] or ["0"]


def pad(
    ctx: NodeContext,
    x: Tensor,
    before: Sequence[int],
    after: Sequence[int],
    value=0,
    mode: str = "constant",
) -> Tensor:
    """A copy of ``x`` with ``before``/``after`` elements added (negative: removed) per dim.

    Out-of-range reads are clamped indices into ``x`` (``tensor.extract``) and a select, so
    no access ever leaves the operand.
    """
    if not any(before) and not any(after):
        return x
    shape = [size + lo + hi for size, lo, hi in zip(x.shape, before, after, strict=True)]
    emit = ctx.emit
    emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        checks, indices = [], []
        for dim, (size, lo) in enumerate(zip(x.shape, before, strict=True)):
            index = b.index(dim)
            if lo == 0 and shape[dim] <= size:
                indices.append(index)
                continue
            source = b.op(f"arith.subi {index}, {b.const_index(lo)} : index")
            if mode == "constant":
                zero, end = b.const_index(0), b.const_index(size)
                checks.append(b.op(f"arith.cmpi sge, {source}, {zero} : index"))
                checks.append(b.op(f"arith.cmpi slt, {source}, {end} : index"))
                indices.append(b.clamp_index(source, size))
            else:
                indices.append(_source_index(b, source, size, mode))
        element = b.extract(x, indices)
        if not checks:
            return element
        inside = checks[0]
        for check in checks[1:]:
            inside = b.op(f"arith.andi {inside}, {check} : i1")
        return b.select(inside, element, b.const(value, x.dtype), x.dtype)

    return emit.generic(shape, x.dtype, [], body)


def _source_index(b: Body, index: str, size: int, mode: str) -> str:
    """The element an edge/reflect/wrap pad reads at ``index`` (any integer)."""
    if mode == "edge":
        return b.clamp_index(index, size)
    n = b.const_index(size)
    if mode == "wrap":
        remainder = b.op(f"arith.remsi {index}, {n} : index")
        shifted = b.op(f"arith.addi {remainder}, {n} : index")
        return b.op(f"arith.remsi {shifted}, {n} : index")
    # reflect: period 2(n-1), fold the second half back
    period = b.const_index(max(2 * (size - 1), 1))
    remainder = b.op(f"arith.remsi {index}, {period} : index")
    positive = b.op(
        f"arith.remsi {b.op(f'arith.addi {remainder}, {period} : index')}, {period} : index"
    )
    mirrored = b.op(f"arith.subi {period}, {positive} : index")
    upper = b.op(f"arith.cmpi sge, {positive}, {n} : index")
    return b.clamp_index(b.select_index(upper, mirrored, positive), size)


def checked_index(ctx: NodeContext, b: Body, value: str, dtype, axis: int, size: int) -> str:
    """An ONNX index (``value`` of ``dtype`` read from the node's indices, input 1; negative
    counts from the end) along ``axis`` of the node's data (input 0, ``size`` elements there)
    as an index into [0, size).

    A run that meets an index outside [-size, size) fails with this node's error, as in
    onnxruntime (``tile.check``); the index is clamped all the same, so that nothing is read out
    of bounds before the run reports it."""
    index = b.to_index(value, dtype)
    zero, n = b.const_index(0), b.const_index(size)
    negative = b.op(f"arith.cmpi slt, {index}, {zero} : index")
    wrapped = b.select_index(negative, b.op(f"arith.addi {index}, {n} : index"), index)
    inside = b.op(f"arith.cmpi ult, {wrapped}, {n} : index")  # a negative one is huge unsigned
    ctx.check(b, inside, f"an index in {_index_range(ctx, axis, size)}")
    return b.clamp_index(wrapped, size)


def check_constant_indices(ctx: NodeContext, indices: np.ndarray, axis: int, size: int) -> None:
    """The compile-time form of :func:`checked_index`: an error for the first index of
    ``indices`` outside [-size, size)."""
    values = np.asarray(indices)
    bad = values[(values < -size) | (values >= size)]
    if bad.size:
        raise ctx.error(f"index {int(bad[0])} in {_index_range(ctx, axis, size)}")


def _index_range(ctx: NodeContext, axis: int, size: int) -> str:
    indices, data = ctx.node.input[1], ctx.node.input[0]
    return (
        f"'{indices}' is out of range for axis {axis} of '{data}' "
        f"({size} elements: valid indices are {-size} to {size - 1})"
    )


def window_operand(kernel, first_loop: int, dtype) -> Operand:
    """A zero tensor shaped like the window, read at the window loops (the body ignores it)."""
    window = Tensor.constant(np.zeros(kernel, dtype))
    return Operand(window, [f"d{first_loop + i}" for i in range(len(kernel))])
