"""Model frontends: importers from exchange formats to Quartet's graph-level MLIR.

Only ONNX for now (:mod:`quartet.frontend.onnx`). A frontend produces the IR contract of
DESIGN.md's graph level (upstream linalg/tensor/arith/math on static-shape tensors) and never
imports passes.
"""
