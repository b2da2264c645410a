"""ONNX frontend: ONNX models -> Quartet's graph-level MLIR, compiled and runnable.

>>> from quartet.frontend.onnx import compile_model
>>> model = compile_model("resnet.onnx", target="sm_90", input_shapes={"x": [1, 3, 224, 224]})
>>> outputs = model.run({"x": x})          # CPU run of the tiled program: {name: array}
>>> model.compiled.ptx, model.compiled.kernels

See docs/frontend.md for the operator coverage and the IR each family produces.
"""

from quartet.frontend.onnx.importer import ImportedGraph, Spec
from quartet.frontend.onnx.model import OnnxModel, compile_model, import_model
from quartet.frontend.onnx.registry import supported_ops

__all__ = ["ImportedGraph", "OnnxModel", "Spec", "compile_model", "import_model", "supported_ops"]
