"""Comparing a compiled model's outputs with an independent ONNX runtime.

onnxruntime when it is installed (optional), else ONNX's own ReferenceEvaluator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx

from quartet.errors import QuartetError


def reference_outputs(
    source: str | Path | onnx.ModelProto, feeds: Mapping[str, np.ndarray], outputs: Sequence
) -> tuple[str, dict[str, np.ndarray]]:
    """(engine name, {output name: array}) from onnxruntime, else the reference evaluator."""
    from quartet.frontend.onnx.loader import load

    model = load(source)
    names = [spec.name for spec in outputs]
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        try:
            session = onnxruntime.InferenceSession(
                model.SerializeToString(), providers=["CPUExecutionProvider"]
            )
            return "onnxruntime", dict(zip(names, session.run(names, dict(feeds)), strict=True))
        except Exception:  # noqa: BLE001, S110 - fall back to the reference evaluator
            pass
    from onnx.reference import ReferenceEvaluator

    try:
        results = ReferenceEvaluator(model).run(names, dict(feeds))
    except Exception as error:  # noqa: BLE001 - the reference raises anything
        raise QuartetError(f"error: the ONNX reference evaluator failed: {error}") from None
    return "onnx reference", dict(zip(names, results, strict=True))


def compare(
    actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], rtol: float, atol: float
) -> list[tuple[str, bool]]:
    """One line per output with max abs/rel error, and whether it is within tolerance."""
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
        good = bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))
        lines.append(
            (f"{name}: max abs error {abs_error:.3g}, max rel error {rel_error:.3g}", good)
        )
    return lines
