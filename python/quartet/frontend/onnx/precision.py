"""Float16 models compute in float32 between the operators that need float16 values.

ONNX gives every float16 operator a float16 result. Rounding there, operator by operator,
loses accuracy along chains and overflows past 65504: an attention score scaled by -1e4
became +-inf before its Softmax, which then gave NaN where onnxruntime (whose CPU kernels
compute float16 operators in float32 and round only where a float16 consumer needs it) is
finite. Quartet follows that rule at import time:

- arithmetic operators (elementwise, reductions, Softmax, normalizations, pooling) whose float
  inputs are all float16 read them as float32, and their float16 results are *wide*: float32
  tensors standing for float16 values (``Tensor.half``);
- layout operators (Reshape, Transpose, Slice, Gather, Concat, Where, ...) pass wide values
  through, so a score stays float32 from its MatMul to its Softmax;
- contractions (MatMul, Gemm, Conv) read float16 operands and accumulate in float32, the
  form the tensor-core lowering takes (f16 inputs, f32 accumulator); their result is wide;
- every other reader (Cast, control flow, graph outputs, operators not listed) gets float16:
  a wide value is rounded by one conversion kernel that all such readers in a region share.

Widening a compile-time value converts the array; widening a computed float16 value is one
conversion kernel, shared likewise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from quartet.frontend.onnx.ir import Emitter, Operand, Tensor
from quartet.frontend.onnx.ops import scalar as s

HALF = np.dtype(np.float16)
WIDE = np.dtype(np.float32)

# fmt: off
ARITHMETIC = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
    "Sigmoid", "Relu", "LeakyRelu", "Elu", "HardSigmoid", "Softplus", "Softsign", "Clip", "Gelu",
    "PRelu", "Neg", "Abs", "Sign", "Floor", "Ceil", "Sin", "Cos", "Max", "Min", "Sum", "Mean",
    "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "GlobalAveragePool", "GlobalMaxPool",
    "Softmax", "LogSoftmax", "LayerNormalization", "BatchNormalization",
    "InstanceNormalization", "LRN", "MaxPool", "AveragePool",
})
LAYOUT = frozenset({
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Expand", "Identity", "Dropout",
    "Slice", "Gather", "GatherElements", "Split", "Concat", "Pad", "Tile", "Where", "Shape", "Size",
})
# fmt: on
CONTRACTIONS = {"MatMul": 2, "Gemm": 2, "Conv": 2}  # leading operands read as float16


def value_types(graph: onnx.GraphProto) -> dict[str, np.dtype]:
    """The element type of every tensor ONNX shape inference typed, subgraphs included."""
    types: dict[str, np.dtype] = {}
    for value in [*graph.input, *graph.output, *graph.value_info]:
        elem_type = value.type.tensor_type.elem_type
        if elem_type:
            types[value.name] = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    for node in graph.node:
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs]:
                types.update(value_types(subgraph))
    return types


def is_half(tensor: Tensor | None) -> bool:
    return tensor is not None and tensor.dtype == HALF


def is_wide(tensor: Tensor | None) -> bool:
    return tensor is not None and tensor.half is not None


class Precision:
    """The rule above for one import: which inputs a node reads widened or rounded, and which
    of its results are wide. Conversions are shared within a region (``enter``/``leave``)."""

    def __init__(self, emit: Emitter, types: dict[str, np.dtype], names: dict[int, str]):
        self.emit = emit
        self.types = types
        self.names = names  # weight names by id(array): a converted weight keeps its name
        self.regions: list[dict] = [{}]

    def enter(self) -> None:
        self.regions.append({})

    def leave(self) -> None:
        self.regions.pop()

    def inputs(self, node: onnx.NodeProto, inputs: list[Tensor | None]) -> list[Tensor | None]:
        """The inputs ``node``'s handler gets."""
        op_type = node.op_type
        if op_type in CONTRACTIONS:
            operands = CONTRACTIONS[op_type]
            return [self.narrow(t) if i < operands else self.widen(t) for i, t in enumerate(inputs)]
        floats = [t for t in inputs if t is not None and t.dtype.kind == "f"]
        all_half = floats and all(is_half(t) or is_wide(t) for t in floats)
        if all_half and (
            op_type in ARITHMETIC or (op_type in LAYOUT and any(map(is_wide, floats)))
        ):
            return [self.widen(t) for t in inputs]
        return [self.narrow(t) for t in inputs]

    def results(self, names: Sequence[str], outputs: list[Tensor]) -> list[Tensor]:
        """Mark the float32 results that ONNX types float16 as wide."""
        for name, tensor in zip(names, outputs, strict=False):
            if tensor.dtype == WIDE and self.types.get(name) == HALF:
                tensor.half = HALF
        return outputs

    def widen(self, tensor: Tensor | None) -> Tensor | None:
        if not is_half(tensor):
            return tensor
        return self._converted(tensor, WIDE, lambda b, a: s.cast(b, a[0], HALF, WIDE))

    def narrow(self, tensor: Tensor | None) -> Tensor | None:
        if not is_wide(tensor):
            return tensor
        return self._converted(tensor, HALF, lambda b, a: s.cast(b, a[0], WIDE, HALF))

    def _converted(self, tensor: Tensor, dtype: np.dtype, body) -> Tensor:
        key = ("const", id(tensor.const)) if tensor.const is not None else ("ssa", tensor.ssa)
        for region in reversed(self.regions):
            if key in region:
                return region[key][1]
        if tensor.const is not None:
            array = tensor.const.astype(dtype)
            if id(tensor.const) in self.names:
                self.names[id(array)] = self.names[id(tensor.const)]
            converted = Tensor.constant(array)
        else:
            indices = [f"d{i}" for i in range(len(tensor.ir_shape))]
            converted = self.emit.generic(tensor.shape, dtype, [Operand(tensor, indices)], body)
        if dtype == WIDE:
            converted.half = HALF
        self.regions[-1][key] = (tensor, converted)  # the source kept alive: ids stay unique
        return converted
