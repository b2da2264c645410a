"""Shape operators: Reshape, Flatten, Squeeze, Unsqueeze (views), Transpose, Expand (copies),
Shape/Size/Constant/ConstantOfShape (compile-time values), Identity and Dropout (inference).

Views are ``tensor.collapse_shape`` to 1-D then ``tensor.expand_shape`` to the new shape, which
expresses any reshape of a contiguous tensor without a kernel:

    Reshape(x: 2x3x4, [4, 6]) -> tensor.collapse_shape [[0, 1, 2]] : 2x3x4 into 24
                                 tensor.expand_shape [[0, 1]] output_shape [4, 6] : 24 into 4x6
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Operand, Tensor, broadcast_indices, broadcast_shape
from quartet.frontend.onnx.ops.common import axes_of
from quartet.frontend.onnx.registry import op


@op("Identity")
def identity(ctx: NodeContext):
    return ctx.inputs[0]


@op("Dropout")
def dropout(ctx: NodeContext):
    """Inference: the input unchanged, and an all-true mask."""
    x = ctx.inputs[0]
    training = ctx.input(2)
    if training is not None and (training.const is None or bool(np.asarray(training.const))):
        raise ctx.error("training_mode must be a compile-time false (inference only)")
    return [x, Tensor.constant(np.ones(x.shape, np.bool_))]


@op("Constant")
def constant(ctx: NodeContext):
    attribute = ctx.node.attribute[0]
    if attribute.name == "value":
        return Tensor.constant(numpy_helper.to_array(attribute.t))
    value = onnx.helper.get_attribute_value(attribute)
    kinds = {
        "value_float": np.float32,
        "value_floats": np.float32,
        "value_int": np.int64,
        "value_ints": np.int64,
    }
    if attribute.name not in kinds:
        raise ctx.error(f"attribute '{attribute.name}' is not supported")
    return Tensor.constant(np.asarray(value, kinds[attribute.name]))


@op("ConstantOfShape")
def constant_of_shape(ctx: NodeContext):
    shape = [int(d) for d in ctx.const_input(0, "the shape")]
    value = ctx.attr("value")
    fill = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    return Tensor.constant(np.full(shape, fill.reshape(-1)[0], fill.dtype))


@op("Shape")
def shape(ctx: NodeContext):
    dims = ctx.inputs[0].shape
    start, end = ctx.attr("start", 0), ctx.attr("end", None)
    return Tensor.constant(np.array(dims[start:end], np.int64))


@op("Size")
def size(ctx: NodeContext):
    return Tensor.constant(np.array(ctx.inputs[0].size, np.int64))


@op("Reshape")
def reshape(ctx: NodeContext):
    x = ctx.inputs[0]
    target = [int(d) for d in ctx.const_input(1, "the target shape")]
    allow_zero = ctx.attr("allowzero", 0)
    shape = [
        x.shape[i] if d == 0 and not allow_zero and i < x.rank else d for i, d in enumerate(target)
    ]
    if shape.count(-1) > 1:
        raise ctx.error(f"target shape {target} has more than one -1")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        shape[shape.index(-1)] = x.size // known if known else 0
    if int(np.prod(shape, dtype=np.int64)) != x.size:
        raise ctx.error(f"cannot reshape {list(x.shape)} to {target}")
    return ctx.emit.reshape(x, shape)


@op("Flatten")
def flatten(ctx: NodeContext):
    x = ctx.inputs[0]
    axis = ctx.attr("axis", 1)
    axis = axis + x.rank if axis < 0 else axis
    if not 0 <= axis <= x.rank:
        raise ctx.error(f"axis {axis} is out of range for rank {x.rank}")
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    return ctx.emit.reshape(x, [outer, x.size // outer if outer else 0])


@op("Squeeze")
def squeeze(ctx: NodeContext):
    x = ctx.inputs[0]
    axes = axes_of(ctx, x.rank, 1)
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    if any(x.shape[a] != 1 for a in axes):
        raise ctx.error(f"cannot squeeze axes {axes} of shape {list(x.shape)}")
    return ctx.emit.reshape(x, [d for i, d in enumerate(x.shape) if i not in axes])


@op("Unsqueeze")
def unsqueeze(ctx: NodeContext):
    x = ctx.inputs[0]
    rank = x.rank + len(_raw_axes(ctx))
    axes = axes_of(ctx, rank, 1)
    dims = iter(x.shape)
    return ctx.emit.reshape(x, [1 if i in axes else next(dims) for i in range(rank)])


def _raw_axes(ctx: NodeContext) -> list[int]:
    axes = ctx.attr("axes")
    if axes is None:
        axes = [int(a) for a in np.asarray(ctx.const_input(1, "the axes")).reshape(-1)]
    return axes


@op("Transpose")
def transpose(ctx: NodeContext):
    x = ctx.inputs[0]
    perm = ctx.attr("perm") or list(reversed(range(x.rank)))
    if sorted(perm) != list(range(x.rank)):
        raise ctx.error(f"perm {perm} is not a permutation of {x.rank} axes")
    position = {axis: out for out, axis in enumerate(perm)}
    indices = [f"d{position[axis]}" for axis in range(x.rank)] or ["0"]
    shape = [x.shape[axis] for axis in perm]
    return ctx.emit.generic(shape, x.dtype, [Operand(x, indices)], lambda b, a: a[0])


@op("Expand")
def expand(ctx: NodeContext):
    x = ctx.inputs[0]
    target = [int(d) for d in ctx.const_input(1, "the target shape")]
    shape = broadcast_shape(x.shape, target)
    operand = Operand(x, broadcast_indices(x.shape, shape))
    return ctx.emit.generic(shape, x.dtype, [operand], lambda b, a: a[0])
