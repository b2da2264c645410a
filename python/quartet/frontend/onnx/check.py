"""Comparing a compiled model's outputs with an independent ONNX runtime.

onnxruntime when it is installed (optional; graph optimizations off for QDQ models), else
ONNX's own ReferenceEvaluator; a failing onnxruntime is reported before the fallback. Default
tolerances follow each output's dtype: float16 carries 11 significant bits and the reference
rounds every operator to it, so its results are compared about 10x looser than float32's;
integers and booleans must be equal.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx

from quartet.errors import QuartetError

# (rtol, atol) by output dtype when none is given; float64 keeps float32's (the reference
# may compute in either).
TOLERANCES = {
    np.dtype(np.float16): (1e-2, 1e-2),  # the reference rounds every operator to float16
    np.dtype(np.float32): (1e-3, 1e-4),
    np.dtype(np.float64): (1e-3, 1e-4),
}


def tolerances(dtype, rtol: float | None = None, atol: float | None = None):
    """(rtol, atol) for an output of ``dtype``: the given ones, else the dtype's defaults."""
    default_rtol, default_atol = TOLERANCES.get(np.dtype(dtype), (0.0, 0.0))
    return (default_rtol if rtol is None else rtol, default_atol if atol is None else atol)


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


def compare(
    actual: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    rtol: float | None = None,
    atol: float | None = None,
) -> list[tuple[str, bool]]:
    """One line per output with max abs/rel error, and whether it is within tolerance
    (``rtol``/``atol``, or the output dtype's defaults, :func:`tolerances`)."""
    lines = []
    for name, value in actual.items():
        reference = np.asarray(expected[name])
        if value.shape != reference.shape:
            lines.append((f"{name}: shape {value.shape} != {reference.shape}", False))
            continue
        got, want = value.astype(np.float64), reference.astype(np.float64)
        error = np.abs(got - want)
        finite = np.isfinite(want)
        abs_error = float(np.max(error[finite], initial=0.0))
        rel_error = float(
            np.max(error[finite] / np.maximum(np.abs(want[finite]), 1e-30), initial=0.0)
        )
        output_rtol, output_atol = tolerances(value.dtype, rtol, atol)
        good = bool(np.allclose(got, want, rtol=output_rtol, atol=output_atol, equal_nan=True))
        lines.append(
            (f"{name}: max abs error {abs_error:.3g}, max rel error {rel_error:.3g}", good)
        )
    return lines
