"""Comparing outputs with reference outputs, with tolerances that follow each output's dtype.

float16 carries 11 significant bits and a reference may round every operator to it, so its
results are compared about 10x looser than float32's; integers and booleans must be equal.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

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
