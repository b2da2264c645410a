"""Operator handlers, one module per op family; importing this package registers them all."""

from quartet.frontend.onnx.ops import (  # noqa: F401 - registration side effects
    controlflow,
    conv,
    elementwise,
    indexing,
    matmul,
    reduce,
    shape,
)
