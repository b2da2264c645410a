"""The ``quartet`` CLI on ONNX models: compile writes PTX and a report, run --check compares."""

from __future__ import annotations

import json

import numpy as np
import pytest
from models import encoder_layer
from test_errors import quartet

from quartet.ptxas import find_ptxas


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
def test_compile_writes_ptx_final_ir_and_report(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    out = tmp_path / "out"
    result = quartet("compile", str(model), "--target", "sm_90", "-o", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["pipeline"].startswith("builtin.module(")
    assert {"import", "graph-to-loops", "loops-to-ptx"} <= set(report["stage_seconds"])
    assert len(list(out.glob("*.ptx"))) == len(report["kernels"]) > 0
    assert (out / "final.mlir").exists() and (out / "graph.mlir").exists()
    assert "importing" in result.stderr and "compiled:" in result.stderr  # progress display
    assert "kernel" in result.stdout and "regs" in result.stdout


def test_run_check_against_reference(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, x=np.random.default_rng(0).normal(size=(2, 8, 16)).astype(np.float32))
    result = quartet("run", str(model), "--target", "cpu", "--inputs", str(inputs), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "max abs error" in result.stdout and "check OK" in result.stdout


def test_emulate_runs_the_ptx_and_checks_it(tmp_path):
    """`quartet emulate` compiles to sm_90 PTX and executes it in the emulator (checkers on)."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(1).normal(size=(16, 24)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Relu", ["h"], ["y"]),
        ],
        "gemm_relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 24])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = tmp_path / "gemm_relu.onnx"
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.write_bytes(onnx_model.SerializeToString())
    result = quartet("emulate", str(model), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PTX emulator (sm_90)" in result.stdout and "check OK" in result.stdout
