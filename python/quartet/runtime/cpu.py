"""The CPU form of a compiled model: its shared library, called through ctypes.

The library's entry ``_mlir_ciface_<entry>`` (the C interface MLIR generates) takes one pointer
per entry argument, inputs then outputs, each to a ranked memref descriptor::

    struct { T *allocated; T *aligned; int64_t offset; int64_t sizes[rank]; int64_t strides[rank]; }

(MLIR's "Ranked MemRef Types" calling convention). The descriptors are built here from numpy
arrays, so running the library needs neither MLIR nor its Python runtime helpers.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from quartet.errors import QuartetError


@functools.cache
def descriptor_type(rank: int) -> type[ctypes.Structure]:
    """The ctypes struct of a rank-``rank`` memref descriptor (no sizes or strides at rank 0)."""
    fields = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
    ]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRefDescriptor{rank}", (ctypes.Structure,), {"_fields_": fields})


def descriptor(array: np.ndarray) -> ctypes.Structure:
    """The memref descriptor of a C-contiguous ``array`` (strides counted in elements)."""
    if not array.flags.c_contiguous:
        raise QuartetError("error: the CPU library takes C-contiguous arrays only")
    built = descriptor_type(array.ndim)()
    built.allocated = built.aligned = array.ctypes.data
    built.offset = 0
    if array.ndim:
        built.sizes[:] = array.shape
        built.strides[:] = [stride // array.itemsize for stride in array.strides]
    return built


class CpuLibrary:
    """A model's CPU library, loaded once: ``call(arrays)`` runs its entry ``symbol`` on
    ``arrays`` (inputs then outputs, outputs written in place). ``preload`` lists libraries it
    links against that the loader would not find by itself (loaded first, globally)."""

    def __init__(self, path: Path, symbol: str, preload: Sequence[Path] = ()):
        self.path, self.symbol = Path(path), symbol
        try:
            for library in preload:
                ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            self._function = getattr(ctypes.CDLL(str(path)), symbol)
        except (OSError, AttributeError) as error:
            raise QuartetError(f"error: cannot load the CPU library {path}: {error}") from None
        self._function.restype = None

    def call(self, arrays: Sequence[np.ndarray]) -> None:
        descriptors = [descriptor(array) for array in arrays]
        self._function(*[ctypes.byref(built) for built in descriptors])
