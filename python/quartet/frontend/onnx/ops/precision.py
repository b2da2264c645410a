"""Accumulation types: sums of half-precision products are accumulated in float32 and the
result converted back once, so a long contraction loses no more than one rounding."""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Tensor
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import pointwise

F32 = np.dtype(np.float32)


def accumulator(dtype) -> np.dtype:
    """The type sums of ``dtype`` values accumulate in (float32 for float16)."""
    dtype = np.dtype(dtype)
    return F32 if dtype.kind == "f" and dtype.itemsize < 4 else dtype


def cast_to(ctx: NodeContext, x: Tensor, dtype) -> Tensor:
    """``x`` converted to ``dtype`` (one pointwise kernel; none when it already is)."""
    if x.dtype == np.dtype(dtype):
        return x
    return pointwise(ctx, [x], dtype, lambda b, a: s.cast(b, a[0], x.dtype, dtype))
