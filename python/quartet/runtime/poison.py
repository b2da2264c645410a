"""Poison: what memory nothing has written yet holds when a run is meant to expose it.

A GPU's fresh allocations hold whatever was there before, so a kernel that reads a buffer before
anything wrote it, or leaves part of an output unwritten, computes garbage there and often
correct-looking zeros in a test. Quartet's test runs fill such memory with a pattern no
computation produces by accident instead: every byte 0xFF. That is a NaN in every float type
(f16, bf16, f32, f64: sign, exponent and mantissa all ones), -1 in every signed integer type,
the largest value of an unsigned one, and a byte that is neither False (0) nor canonical True (1)
in a bool (the CPU build stores its i1 temporaries as bytes of 0 or 1: there, poison is True).

- The emulated GPU (``quartet.runtime.emulated.EmulatedDevice``) always poisons temporaries and
  outputs; its ``uninit-global`` checker also reports the loads that reach them.
- The CPU build poisons its temporaries (``quartet-poison-buffers``) and the CPU run its outputs
  when ``QUARTET_POISON=1`` is set at compile time (the test suite sets it): the flag is part of
  the pipeline, hence of the compile cache key.
"""

from __future__ import annotations

import os

import numpy as np

POISON_BYTE = 0xFF
ENVIRONMENT = "QUARTET_POISON"


def requested() -> bool:
    """Whether ``QUARTET_POISON`` asks for poisoned CPU builds."""
    return os.environ.get(ENVIRONMENT, "0").lower() not in ("0", "", "false", "no", "off")


def poison(array: np.ndarray) -> np.ndarray:
    """Fill ``array`` (C-contiguous) with the poison pattern in place; return it."""
    array.reshape(-1).view(np.uint8).fill(POISON_BYTE)
    return array


def poisoned(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` holding only poison."""
    return poison(np.empty(shape, dtype))
