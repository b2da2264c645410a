"""ONNX's reference evaluator as Quartet runs it: for constant folding (the importer evaluates
every node whose inputs are known at compile time) and for ``--check`` without onnxruntime.

``onnx.reference`` (1.23) gets three operators wrong for models Quartet imports; Quartet's own
implementations replace them (``new_ops``), so folding and checking follow the ONNX spec:

- **GatherElements** gathers with ``np.choose``, which takes at most 64 choices (numpy 2; 32
  before), and falls back to a loop that is right only for one row of indices: gathering along
  an axis longer than 64 fails or is wrong. It also requires the indices to match the data in
  every other dimension, where ONNX allows them to be smaller (``output[i][j] =
  data[i][indices[i][j]]`` only reads the data at the indices' positions; onnxruntime and
  ``torch.gather`` agree), and wraps out-of-range indices instead of refusing them. BERT's
  default ``token_type_ids`` gathers 16 positions of a buffer as long as the model's maximum
  sequence, and both exporters' graphs failed to fold.
- **Pad** hands negative pads to ``np.pad``, which refuses them; ONNX removes that many
  elements. As onnxruntime, the input is cropped first, then padded (which matters for
  ``wrap`` only).
- **BatchNormalization** of opset 9 (used up to opset 13) computes batch statistics whenever
  ``momentum`` is set, and the schema's default sets it; Quartet imports inference only.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun
from onnx.reference.ops import op_batch_normalization


def evaluator(proto: onnx.ModelProto | onnx.NodeProto, opset: int | None = None):
    """A ReferenceEvaluator of ``proto`` (a node needs the model's ``opset``) with Quartet's
    operators in place of the reference's wrong ones."""
    opsets = None if opset is None else {"": opset}
    corrected = [GatherElements, Pad, BatchNormalization]
    return ReferenceEvaluator(proto, opsets=opsets, new_ops=corrected)


def gather_elements(data: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    """ONNX GatherElements: ``output[i][j][k] = data[i][indices[i][j][k]][k]`` for axis 1 (and
    likewise for any axis); the output has the indices' shape, which may be smaller than the
    data's in every dimension but ``axis``. An index in [-size, -1] counts from the end; one
    outside [-size, size-1] is an error (as in onnxruntime)."""
    if indices.ndim != data.ndim:
        raise ValueError(f"the indices have rank {indices.ndim}, the data rank {data.ndim}")
    axis = axis + data.ndim if axis < 0 else axis
    for dim, (index_size, data_size) in enumerate(zip(indices.shape, data.shape, strict=True)):
        if dim != axis and index_size > data_size:
            raise ValueError(
                f"the indices' dimension {dim} is {index_size}, larger than the data's {data_size}"
            )
    size = data.shape[axis]
    indices = indices.astype(np.int64)
    outside = (indices < -size) | (indices >= size)
    if outside.any():
        raise ValueError(
            f"index {indices[outside].flat[0]} is out of range for axis {axis} of size {size}"
        )
    window = tuple(
        slice(None) if dim == axis else slice(0, extent) for dim, extent in enumerate(indices.shape)
    )
    return np.take_along_axis(data[window], np.where(indices < 0, indices + size, indices), axis)


class GatherElements(OpRun):
    op_domain = ""

    def _run(self, data, indices, axis=None):
        return (gather_elements(data, indices, axis or 0),)


def pad(data: np.ndarray, pads, mode: str, value, axes=None) -> np.ndarray:
    """ONNX Pad: ``pads`` holds every listed axis's begin counts, then its end counts; a
    negative count removes elements (cropped before anything is added)."""
    axes = range(data.ndim) if axes is None else [a + data.ndim if a < 0 else a for a in axes]
    begins, ends = [0] * data.ndim, [0] * data.ndim
    for index, axis in enumerate(axes):
        begins[axis], ends[axis] = int(pads[index]), int(pads[len(axes) + index])
    window = tuple(
        slice(max(-begin, 0), size - max(-end, 0))
        for begin, end, size in zip(begins, ends, data.shape, strict=True)
    )
    widths = [(max(begin, 0), max(end, 0)) for begin, end in zip(begins, ends, strict=True)]
    if mode == "constant":
        return np.pad(data[window], widths, mode="constant", constant_values=value)
    return np.pad(data[window], widths, mode=mode)


class Pad(OpRun):
    op_domain = ""

    def _run(self, data, pads, constant_value=None, axes=None, mode=None):
        value = 0 if constant_value is None else constant_value
        return (pad(data, pads, mode or "constant", value, axes).astype(data.dtype),)


class BatchNormalization(OpRun):
    """Inference (running statistics) whatever the opset: the only mode Quartet imports."""

    op_domain = ""

    def _run(self, x, scale, bias, mean, var, epsilon=None, momentum=None, **modes):
        if len(self.onnx_node.output) > 1 or modes.get("training_mode"):
            raise ValueError("training mode (Quartet imports inference only)")
        return (op_batch_normalization._batchnorm_test_mode(x, scale, bias, mean, var, epsilon),)
