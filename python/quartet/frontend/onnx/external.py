"""External data: tensors whose bytes an ONNX file keeps in files beside it.

``torch.onnx.export(..., dynamo=True)`` saves every model as ``m.onnx`` plus ``m.onnx.data``.
Such a tensor has no values in the protobuf, only ``external_data`` entries: a ``location``
relative to the model's folder, an ``offset`` and a ``length`` in bytes (ONNX's
docs/ExternalData.md). Reading it needs the folder, which only a model given as a path has.

Weights become read-only ``numpy.memmap`` views of the file at the tensor's offset, so importing
a model reads none of its weights (the page cache serves them when a kernel argument is bound).
Small tensors, and tensors in subgraphs or attributes, are read into the model instead: the
checker and shape inference see them there. A missing, truncated or misdescribed data file is
a :class:`QuartetError` naming the tensor and the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.external_data_helper import ExternalDataInfo

from quartet.cache import file_identity
from quartet.errors import QuartetError

# Element types whose raw data is one little-endian numpy element per value (ONNX's
# TensorProto.raw_data), so a memory map of the bytes is the array; packed and exotic types
# (4-bit, float8, bfloat16) go through onnx.numpy_helper.
_PLAIN = {
    onnx.TensorProto.FLOAT,
    onnx.TensorProto.DOUBLE,
    onnx.TensorProto.FLOAT16,
    onnx.TensorProto.INT8,
    onnx.TensorProto.INT16,
    onnx.TensorProto.INT32,
    onnx.TensorProto.INT64,
    onnx.TensorProto.UINT8,
    onnx.TensorProto.UINT16,
    onnx.TensorProto.UINT32,
    onnx.TensorProto.UINT64,
    onnx.TensorProto.BOOL,
}


def is_external(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location == onnx.TensorProto.EXTERNAL


@dataclass(frozen=True)
class ExternalData:
    """Where a model's external data locations are relative to: the folder of the model file,
    or None for a model given as bytes or a ModelProto."""

    folder: Path | None

    @classmethod
    def of(cls, source) -> ExternalData:
        return cls(Path(source).parent if isinstance(source, str | Path) else None)

    def array(self, tensor: onnx.TensorProto) -> np.ndarray:
        """The tensor's values: a read-only memory map of its bytes when stored externally."""
        if not is_external(tensor):
            return numpy_helper.to_array(tensor)
        if tensor.data_type not in _PLAIN:
            return numpy_helper.to_array(self.inlined(tensor))
        path, offset, length = self.span(tensor)
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).newbyteorder("<")
        shape = tuple(tensor.dims)
        if length != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise QuartetError(
                f"error: tensor '{tensor.name}': its external data in {path} is {length} bytes, "
                f"its shape {list(shape)} of {dtype.name} needs "
                f"{int(np.prod(shape, dtype=np.int64)) * dtype.itemsize}"
            )
        if length == 0:  # a memory map cannot be empty
            return np.empty(shape, dtype)
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)

    def inlined(self, tensor: onnx.TensorProto) -> onnx.TensorProto:
        """A copy of the tensor with its external bytes read into ``raw_data``."""
        if not is_external(tensor):
            return tensor
        path, offset, length = self.span(tensor)
        with path.open("rb") as file:
            file.seek(offset)
            data = file.read(length)
        copy = onnx.TensorProto()
        copy.CopyFrom(tensor)
        del copy.external_data[:]
        copy.data_location = onnx.TensorProto.DEFAULT
        copy.raw_data = data
        return copy

    def span(self, tensor: onnx.TensorProto) -> tuple[Path, int, int]:
        """(file, offset, length) of an external tensor, checked against the file."""
        try:
            info = ExternalDataInfo(tensor)
        except ValueError as error:
            raise QuartetError(f"error: tensor '{tensor.name}': {error}") from None
        where = f"error: tensor '{tensor.name}' keeps its data in '{info.location}'"
        if self.folder is None:
            raise QuartetError(
                f"{where}, relative to the model's folder: compile the model from its path"
            )
        relative = Path(os.path.normpath(info.location or "."))
        if relative.is_absolute() or relative.parts[:1] == ("..",) or relative == Path("."):
            raise QuartetError(f"{where}, which is not a file inside the model's folder")
        path = self.folder / relative
        try:
            size = path.stat().st_size
        except OSError as error:
            raise QuartetError(f"{where}: cannot read {path}: {error.strerror}") from None
        if not path.is_file():
            raise QuartetError(f"{where}: {path} is not a regular file")
        offset = info.offset or 0
        length = size - offset if info.length is None else info.length
        if offset + length > size or length < 0:
            raise QuartetError(
                f"{where}: {path} has {size} bytes, the tensor's data is bytes "
                f"{offset} to {offset + max(length, 0)} (a truncated data file?)"
            )
        return path, offset, length


def inline(graph: onnx.GraphProto, data: ExternalData) -> None:
    """Read every externally stored tensor of ``graph`` into it, in place: its initializers,
    its nodes' tensor attributes, and their subgraphs."""
    for tensor in _tensors(graph):
        if is_external(tensor):
            tensor.CopyFrom(data.inlined(tensor))


def data_files(graph: onnx.GraphProto, data: ExternalData) -> dict[str, str]:
    """{path: identity (:func:`quartet.cache.file_identity`)} of each file that holds the
    graph's external data, subgraphs and attributes included, for the import cache to check."""
    files = {data.span(tensor)[0] for tensor in _tensors(graph) if is_external(tensor)}
    return {str(path): file_identity(path) or "" for path in sorted(files)}


def _tensors(graph: onnx.GraphProto):
    """Every TensorProto of the graph (the messages themselves, so callers can rewrite them)."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)
