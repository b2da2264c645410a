"""The entry function's interface in numpy terms: input and output shapes and dtypes.

The specs are plain data that :mod:`quartet.runtime` uses too; only the two readers of IR types
(``TensorSpec.of``, ``Signature.of``) need MLIR, and they import it when called, so the runtime
runs where MLIR is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from quartet.errors import QuartetError

if TYPE_CHECKING:
    from mlir import ir

_DTYPES = {
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
    "i1": np.bool_,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
}


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: np.dtype

    @classmethod
    def of(cls, value_type: ir.Type, where: str) -> TensorSpec:
        from mlir import ir

        if not isinstance(value_type, ir.ShapedType) or not value_type.has_static_shape:
            raise QuartetError(f"error: {where} has type {value_type}: a static shape is required")
        element = str(value_type.element_type)
        if element not in _DTYPES:
            raise QuartetError(f"error: {where} has unsupported element type {element}")
        return cls(tuple(value_type.shape), np.dtype(_DTYPES[element]))

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __str__(self) -> str:
        return f"{'x'.join(map(str, self.shape))}x{self.dtype}"


ALIGNMENT = 64  # bytes; what memref.alloc gives temporaries, and >= the 16 vector loads need


def aligned(array: np.ndarray) -> np.ndarray:
    """``array`` itself when C-contiguous and 64-byte aligned, else an aligned copy.

    Kernels read rows with 128-bit vector loads that assume 16-byte aligned buffers; a
    misaligned view (a slice) would fault on the CPU and be illegal on the GPU.
    """
    if array.flags.c_contiguous and array.ctypes.data % ALIGNMENT == 0:
        return array
    storage = np.empty(array.nbytes + ALIGNMENT, np.uint8)
    offset = -storage.ctypes.data % ALIGNMENT
    copy = storage[offset : offset + array.nbytes].view(array.dtype).reshape(array.shape)
    copy[...] = array
    return copy


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def of(cls, func) -> Signature:
        """From a ``func.func`` on tensors (graph level) or memrefs."""
        from mlir import ir

        name = ir.StringAttr(func.attributes["sym_name"]).value
        function_type = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        inputs = tuple(
            TensorSpec.of(t, f"argument #{i} of @{name}")
            for i, t in enumerate(function_type.inputs)
        )
        outputs = tuple(
            TensorSpec.of(t, f"result #{i} of @{name}") for i, t in enumerate(function_type.results)
        )
        return cls(inputs, outputs)

    def check_inputs(self, arrays: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        """The inputs as C-contiguous arrays; QuartetError naming the first that does not fit."""
        if len(arrays) != len(self.inputs):
            raise QuartetError(f"error: expected {len(self.inputs)} inputs, got {len(arrays)}")
        checked = []
        for index, (array, spec) in enumerate(zip(arrays, self.inputs, strict=True)):
            array = np.asarray(array)
            if array.shape != spec.shape or array.dtype != spec.dtype:
                raise QuartetError(
                    f"error: input #{index} is {array.shape} {array.dtype}, "
                    f"expected {spec.shape} {spec.dtype}"
                )
            checked.append(aligned(array))
        return checked

    def new_outputs(self) -> list[np.ndarray]:
        return [aligned(np.zeros(spec.shape, spec.dtype)) for spec in self.outputs]
