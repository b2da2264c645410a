"""A functional PTX emulator: runs the PTX Quartet emits on numpy arrays, with checkers.

It is an independent oracle: it knows PTX (NVIDIA's ISA), not Quartet, and imports nothing but
numpy and the standard library. See docs/emulator.md for the supported subset and the model.

    stats = launch(ptx, "matmul", grid=(4, 4), block=(16, 16), args=[a, b, c])
"""

from .errors import (
    CheckReport,
    EmulatorCheckError,
    EmulatorError,
    ExecutionError,
    LaunchError,
    PTXSyntaxError,
    PTXUnsupportedError,
)
from .launch import launch
from .machine import LaunchStats
from .parser import parse_ptx

__all__ = [
    "CheckReport",
    "EmulatorCheckError",
    "EmulatorError",
    "ExecutionError",
    "LaunchError",
    "LaunchStats",
    "PTXSyntaxError",
    "PTXUnsupportedError",
    "launch",
    "parse_ptx",
]
