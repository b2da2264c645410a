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
