"""Quartet: an MLIR-based multi-level DNN compiler (Rammer, Roller, Welder, Grinder) in Python.

>>> import quartet
>>> model = quartet.compile("mlp.mlir", target="sm_90")   # or "sm_80", "cpu"
>>> model.ptx["mlp_k1"], model.kernels, model.pipeline
>>> y = model.run(x, w1, b1, ...)                         # the same tiled program, on the CPU
"""

from quartet.compiler import CompiledModel, Kernel, compile
from quartet.errors import QuartetError

__all__ = ["CompiledModel", "Kernel", "QuartetError", "compile"]
