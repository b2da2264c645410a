"""Quartet: an MLIR-based multi-level DNN compiler (Rammer, Roller, Welder, Grinder) in Python."""
