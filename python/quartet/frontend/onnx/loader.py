"""Reading an ONNX model and making it importable: decode, check, opset, static input shapes.

Every failure here is the user's (a truncated or non-ONNX file, a graph the ONNX checker rejects,
a dynamic dimension nobody bound) and raises :class:`QuartetError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, shape_inference, version_converter

from quartet.errors import QuartetError
from quartet.frontend.onnx.external import ExternalData, inline

MIN_OPSET = 13  # older models are converted up to this opset with onnx.version_converter


MAX_SKELETON_ELEMENTS = 1024  # larger initializers skip the checker and shape inference


def load(source: str | Path | bytes | onnx.ModelProto) -> onnx.ModelProto:
    """A ModelProto from a path, serialized bytes or a ModelProto (never modified)."""
    if isinstance(source, onnx.ModelProto):
        return source
    where = "<bytes>"
    if not isinstance(source, bytes):
        where = str(source)
        try:
            source = Path(source).read_bytes()
        except OSError as error:
            raise QuartetError(f"error: cannot read {where}: {error.strerror}") from None
    try:
        model = onnx.load_model_from_string(source)
    except (DecodeError, RuntimeError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise QuartetError(f"error: {where} is not a valid ONNX model ({first})") from None
    if model.ir_version == 0 or not model.HasField("graph"):
        raise QuartetError(f"error: {where} is not an ONNX model (no IR version or graph)")
    return model


def default_opset(model: onnx.ModelProto) -> int:
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            return opset.version
    raise QuartetError("error: the model imports no version of the default ONNX opset")


def split_weights(
    model: onnx.ModelProto, data: ExternalData
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """(the model without its large initializers, which become typed graph inputs; those
    initializers' values). The checker and shape inference serialize the whole model: on the
    skeleton they take milliseconds whatever the weights' size, and the weights are never
    copied (those in an external data file are memory-mapped, ``data``; the skeleton's few
    external tensors are read into it)."""
    graph = model.graph
    large = {
        init.name: init
        for init in graph.initializer
        if int(np.prod(init.dims, dtype=np.int64)) > MAX_SKELETON_ELEMENTS
    }
    skeleton = onnx.ModelProto()
    _copy_fields(model, skeleton, skip="graph")
    target = skeleton.graph
    _copy_fields(graph, target, skip="initializer")
    target.initializer.extend(i for i in graph.initializer if i.name not in large)
    inline(target, data)
    listed = {value.name for value in graph.input}
    for name, init in large.items():
        if name not in listed:
            target.input.append(helper.make_tensor_value_info(name, init.data_type, init.dims))
    return skeleton, {name: data.array(init) for name, init in large.items()}


def _copy_fields(source, target, skip: str) -> None:
    for descriptor, value in source.ListFields():
        if descriptor.name == skip:
            continue
        if descriptor.is_repeated:
            getattr(target, descriptor.name).extend(value)
        elif descriptor.message_type is not None:
            getattr(target, descriptor.name).CopyFrom(value)
        else:
            setattr(target, descriptor.name, value)


def prepare(
    model: onnx.ModelProto,
    input_shapes: Mapping[str, Sequence[int]] | None,
    data: ExternalData,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Check the model, convert opsets below 13, bind input shapes and infer shapes (all on the
    skeleton of :func:`split_weights`); returns the skeleton and the large initializers'
    values. ``data`` resolves external data (:mod:`quartet.frontend.onnx.external`)."""
    model, large = split_weights(model, data)
    _check(model)
    opset = default_opset(model)
    if opset > onnx.defs.onnx_opset_version():
        raise QuartetError(
            f"error: the model imports opset {opset} of the default ONNX domain; the installed "
            f"onnx {onnx.__version__} (its checker, shape inference and reference evaluator) "
            f"knows opsets up to {onnx.defs.onnx_opset_version()}"
        )
    if opset < MIN_OPSET:
        try:
            model = version_converter.convert_version(model, MIN_OPSET)
        except Exception as error:  # noqa: BLE001 - the converter raises bare RuntimeErrors
            raise QuartetError(
                f"error: cannot convert the model from opset {opset} to {MIN_OPSET}: "
                f"{_first_line(error)}"
            ) from None
    bind_input_shapes(model, input_shapes or {}, set(large))
    try:
        return shape_inference.infer_shapes(model, check_type=True, strict_mode=True), large
    except Exception as error:  # noqa: BLE001 - InferenceError and friends
        raise QuartetError(f"error: ONNX shape inference failed: {_first_line(error)}") from None


def _check(model: onnx.ModelProto) -> None:
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as error:
        raise QuartetError(f"error: invalid ONNX model: {_first_line(error)}") from None


def graph_inputs(model: onnx.ModelProto, weights=frozenset()) -> list[onnx.ValueInfoProto]:
    """The inputs the user feeds (old models also list their initializers as inputs; the
    skeleton lists its large initializers, ``weights``, as inputs)."""
    initializers = {init.name for init in model.graph.initializer} | set(weights)
    return [value for value in model.graph.input if value.name not in initializers]


def bind_input_shapes(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]], weights=frozenset()
) -> None:
    """Write the bound shapes into the graph inputs; error for unknown names or rank changes."""
    inputs = {value.name: value for value in graph_inputs(model, weights)}
    if shapes:  # shapes recorded for the old input shapes would contradict the new ones
        del model.graph.value_info[:]
        for output in model.graph.output:
            output.type.tensor_type.ClearField("shape")
    for name, shape in shapes.items():
        if name not in inputs:
            raise QuartetError(
                f"error: cannot bind the shape of '{name}': the model's inputs are "
                f"{', '.join(inputs) or 'none'}"
            )
        tensor_type = inputs[name].type.tensor_type
        dims = tensor_type.shape.dim
        if tensor_type.HasField("shape") and len(dims) != len(shape):
            raise QuartetError(
                f"error: input '{name}' has rank {len(dims)}, bound shape {list(shape)} has "
                f"rank {len(shape)}"
            )
        tensor_type.shape.Clear()
        for size in shape:
            tensor_type.shape.dim.add().dim_value = int(size)
    for name, value in inputs.items():
        static_shape(value, name)


def static_shape(value: onnx.ValueInfoProto, name: str) -> tuple[int, ...]:
    """The static shape of a graph input; error naming the input and its dynamic dimension."""
    if not value.type.HasField("tensor_type"):
        raise QuartetError(f"error: input '{name}' is not a tensor (sequences/maps unsupported)")
    tensor_type = value.type.tensor_type
    if not tensor_type.HasField("shape"):
        raise QuartetError(
            f"error: input '{name}' has no shape; bind it with input_shapes={{'{name}': [...]}} "
            f"(--input-shape {name}=d0,d1,...)"
        )
    shape = []
    for index, dim in enumerate(tensor_type.shape.dim):
        if not dim.HasField("dim_value") or dim.dim_value < 0:
            label = f"'{dim.dim_param}'" if dim.dim_param else "?"
            raise QuartetError(
                f"error: input '{name}' has a dynamic dimension {label} (dim {index}); bind it "
                f"with input_shapes={{'{name}': [...]}} (--input-shape {name}=d0,d1,...)"
            )
        shape.append(dim.dim_value)
    return tuple(shape)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
