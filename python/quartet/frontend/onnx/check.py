"""Comparing a compiled model's outputs with an independent ONNX runtime.

onnxruntime when it is installed (optional; graph optimizations off for QDQ models), else
ONNX's own ReferenceEvaluator; a failing onnxruntime is reported before the fallback. The
comparison itself (tolerances by dtype) is :func:`quartet.runtime.compare.compare`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx

from quartet.errors import QuartetError


def reference_outputs(
    source: str | Path | onnx.ModelProto,
    feeds: Mapping[str, np.ndarray],
    outputs: Sequence,
    warn: Callable[[str], None] = lambda line: None,
) -> tuple[str, dict[str, np.ndarray]]:
    """(engine name, {output name: array}) from onnxruntime, else the reference evaluator;
    ``warn`` hears why onnxruntime was not used when it is installed."""
    from quartet.frontend.onnx.external import ExternalData, inline
    from quartet.frontend.onnx.loader import load

    model = load(source)
    inline(model.graph, ExternalData.of(source))  # the runtimes get every value in the model
    names = [spec.name for spec in outputs]
    if not names:
        raise QuartetError("error: the model has no outputs: --check has nothing to compare")
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        try:
            session = onnxruntime.InferenceSession(
                model.SerializeToString(),
                _session_options(onnxruntime, model),
                providers=["CPUExecutionProvider"],
            )
            return "onnxruntime", dict(zip(names, session.run(names, dict(feeds)), strict=True))
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            warn(
                f"warning: onnxruntime cannot run the model ({first or type(error).__name__});"
                " comparing with the ONNX reference evaluator instead"
            )
    from quartet.frontend.onnx.reference import evaluator

    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():  # x / 0 and friends
            warnings.simplefilter("ignore")
            results = evaluator(model).run(names, dict(feeds))
    except Exception as error:  # noqa: BLE001 - the reference raises anything
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise QuartetError(
            f"error: the ONNX reference evaluator failed: {first or type(error).__name__}"
        ) from None
    return "onnx reference", dict(zip(names, results, strict=True))


# onnxruntime's graph optimizations fuse QuantizeLinear/DequantizeLinear pairs around MatMul
# and Conv into integer kernels that round differently from the model as written (onnxruntime
# 1.32, an 8x64 by 64x32 int8 MatMul: up to 1e-5 with them, 0 without; issue 8 reported 2.67
# with another setup). QDQ models are therefore run unoptimized.
_QDQ = {"QuantizeLinear", "DequantizeLinear"}


def _session_options(onnxruntime, model: onnx.ModelProto):
    """Session options: graph optimizations off for QDQ models (see ``_QDQ``)."""
    from quartet.frontend.onnx.importer import all_nodes

    options = onnxruntime.SessionOptions()
    if any(node.op_type in _QDQ for node in all_nodes(model.graph)):
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return options
