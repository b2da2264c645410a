"""Quartet: an MLIR-based multi-level DNN compiler (Rammer, Roller, Welder, Grinder) in Python.

>>> import quartet
>>> model = quartet.compile("mlp.mlir", target="sm_90")   # or "sm_80", "cpu"
>>> model.ptx["mlp_k1"], model.kernels, model.pipeline
>>> y = model.run(x, w1, b1, ...)                         # the same tiled program, on the CPU
>>> model.save("out/")                                    # an artifact quartet.runtime runs

The compiler is imported on first use of ``compile``, ``CompiledModel`` or ``Kernel``:
``import quartet.runtime`` (which needs numpy, never MLIR) leaves MLIR unimported.
"""

from quartet.errors import QuartetError

__all__ = ["CompiledModel", "Kernel", "QuartetError", "compile"]

_COMPILER = {"CompiledModel", "Kernel", "compile"}


def __getattr__(name: str):
    if name in _COMPILER:
        from quartet import compiler

        return getattr(compiler, name)
    raise AttributeError(f"module 'quartet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
