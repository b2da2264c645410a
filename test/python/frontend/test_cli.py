"""The ``quartet`` CLI on ONNX models: compile writes PTX and a report, run --check compares."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
from models import FLOAT, encoder_layer, make_model, while_loop
from onnx import helper
from test_errors import assert_user_error, quartet, relu_model

from quartet.ptxas import find_ptxas


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
def test_compile_writes_ptx_final_ir_and_report(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    out = tmp_path / "out"
    # no cache: another test compiling the same layer would leave no compile stages to time
    result = quartet("compile", str(model), "--target", "sm_90", "--no-cache", "-o", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["pipeline"].startswith("builtin.module(")
    assert {"import", "graph-to-loops", "loops-to-ptx"} <= set(report["stage_seconds"])
    assert len(list(out.glob("*.ptx"))) == len(report["kernels"]) > 0
    assert (out / "final.mlir").exists() and (out / "graph.mlir").exists()
    assert "importing" in result.stderr and "compiled:" in result.stderr  # progress display
    assert "kernel" in result.stdout and "regs" in result.stdout


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
def test_compile_reports_rammers_co_schedule_and_draws_it(tmp_path):
    """By default one launch per inference: report.json and the summary give the persistent
    kernel's vEUs, tasks, waits, modelled makespan against one launch per kernel (a launch
    charged 3 us) and utilisation, and gantt.png draws its vEUs; --schedule none launches
    each kernel and has no co-schedule to report."""
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    out, plain = tmp_path / "out", tmp_path / "plain"
    result = quartet("compile", str(model), "--target", "sm_90", "-o", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    (veu,) = report["rammer"]
    assert report["launches"] == 1 and veu["kernel"] == report["kernels"][0]["name"]
    assert veu["veus"] == veu["sms"] * veu["veus_per_sm"] == report["kernels"][0]["grid"][0]
    assert veu["launches"] > 1 and veu["tasks"] >= veu["veus"] and veu["waits"] > 0
    assert veu["launch_seconds"] == 3e-6 and 0 < veu["utilisation"] <= 1
    assert veu["ratio"] == pytest.approx(veu["makespan_seconds"] / veu["sequence_seconds"])
    assert veu["sequence_seconds"] >= veu["launches"] * veu["launch_seconds"]
    assert f"rammer {veu['kernel']}: {veu['veus']} vEUs" in result.stdout
    assert (out / "gantt.png").read_bytes().startswith(b"\x89PNG")
    result = quartet(
        "compile", str(model), "--target", "sm_90", "--schedule", "none", "-o", str(plain)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((plain / "report.json").read_text())
    assert report["launches"] > 1 and report["rammer"] == []
    assert not (plain / "gantt.png").exists() and "vEUs" not in result.stdout


def test_report_of_a_data_dependent_loop_gives_no_total(tmp_path):
    """A Loop whose body computes its exit (an scf.while) as a host loop: report.json gives no
    total launches or bytes (null), the figures outside the loop apart, and what one iteration
    launches."""
    model = tmp_path / "while.onnx"
    model.write_bytes(while_loop().SerializeToString())
    out = tmp_path / "out"
    options = ("--target", "cpu", "--control-flow", "host", "-o", str(out), "-q")
    result = quartet("compile", str(model), *options)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["launches"] is report["global_bytes"] is None
    assert report["outside_data_dependent_regions"]["launches"] == 1  # the result's copy out
    (region,) = report["data_dependent_regions"]
    assert region["region"].startswith("body of scf.while at ")
    # one iteration: the doubling with its sum and test, and the copy of x into the carried
    # buffer, which the doubling's kernel cannot take (it reads x's old contents)
    assert (region["reached"], region["within"], region["per_run"]["launches"]) == (1, None, 2)
    assert "1 launches + data-dependent regions" in result.stdout
    assert "data-dependent #0: body of scf.while" in result.stdout


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
def test_compile_reports_a_loop_on_one_cta(tmp_path):
    """A small while loop on the device: the cost model puts it on one CTA, and report.json
    and the summary say so, with the modelled iteration in each place and no grid barrier per
    iteration; --control-flow grid keeps it on the grid."""
    model = tmp_path / "while.onnx"
    model.write_bytes(while_loop().SerializeToString())
    out = tmp_path / "out"
    result = quartet("compile", str(model), "--target", "sm_90", "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    (placement,) = report["placements"]
    assert placement["placement"] == "cta" and placement["reason"] is None
    assert 0 < placement["cta_seconds"] < placement["device_seconds"]
    (loop,) = report["loops"]
    assert loop["placement"] == "cta" and loop["per_iteration"]["grid_barriers"] == 0
    assert report["grid_barriers_per_iteration"] == 0 and report["launches"] == 1
    assert "runs on one CTA (vEU 0 of the persistent kernel, CTA barriers only)" in result.stdout
    options = ("--target", "sm_90", "--control-flow", "grid", "-o", str(out), "-q")
    result = quartet("compile", str(model), *options)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert [p["placement"] for p in report["placements"]] == ["grid"]
    assert report["grid_barriers_per_iteration"] > 0


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


def _saved(tmp_path, model: onnx.ModelProto) -> str:
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return str(path)


def _f16_chain():
    """MatMul, Tanh, MatMul in float16: rounding differs from the reference's by f16 ulps."""
    half = helper.np_dtype_to_tensor_dtype(np.dtype(np.float16))
    w = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float16)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("MatMul", ["t", "w"], ["y"]),
    ]
    return make_model(nodes, [("x", half, [16, 64])], [("y", half, [16, 64])], [("w", w)])


def test_check_tolerances_follow_the_dtype_unless_given(tmp_path):
    """A correct f16 model passes with f16's default tolerances; f32's, given explicitly,
    still apply (they fail it: exit 2)."""
    path = _saved(tmp_path, _f16_chain())
    result = quartet("run", "-q", path, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check OK" in result.stdout
    strict = quartet("run", "-q", path, "--check", "--rtol", "1e-3", "--atol", "1e-4")
    assert strict.returncode == 2 and "check FAILED" in strict.stdout


def test_check_of_a_model_without_outputs_is_refused(tmp_path):
    graph = helper.make_graph([], "empty", [helper.make_tensor_value_info("x", FLOAT, [2])], [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    result = quartet("run", "-q", _saved(tmp_path, model), "--check")
    assert_user_error(result, "the model has no outputs")


@pytest.mark.parametrize("opset", [30, 99])
def test_an_opset_newer_than_onnx_knows_is_an_error(tmp_path, opset):
    model = relu_model()
    model.opset_import[0].version = opset
    path = _saved(tmp_path, model)
    for command in ("compile", "run"):
        assert_user_error(
            quartet(command, "-q", path, "--target", "cpu"),
            f"imports opset {opset} of the default ONNX domain",
            f"knows opsets up to {onnx.defs.onnx_opset_version()}",
        )


def test_check_feeds_the_reference_an_input_without_elements(tmp_path):
    """A [0]-shaped input is a compile-time value, but the reference still needs it."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Concat", ["r", "empty"], ["y"], axis=0),
    ]
    model = make_model(nodes, [("x", FLOAT, [2]), ("empty", FLOAT, [0])], [("y", FLOAT, [2])])
    result = quartet("run", "-q", _saved(tmp_path, model), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check OK" in result.stdout


def test_a_failing_onnxruntime_is_named_before_the_fallback(monkeypatch):
    import types

    from quartet.frontend.onnx.check import reference_outputs
    from quartet.frontend.onnx.importer import Spec

    def refuse(*args, **kwargs):
        raise RuntimeError("Opset 99 is under development\nmore")

    fake = types.SimpleNamespace(
        InferenceSession=refuse,
        SessionOptions=types.SimpleNamespace,
        GraphOptimizationLevel=types.SimpleNamespace(ORT_DISABLE_ALL=0),
    )
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    warnings = []
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 3
    specs = [Spec("y", (2, 3), np.dtype(np.float32))]
    engine, outputs = reference_outputs(relu_model(), {"x": x}, specs, warnings.append)
    assert engine == "onnx reference"
    np.testing.assert_array_equal(outputs["y"], np.maximum(x, 0))
    assert warnings == [
        "warning: onnxruntime cannot run the model (Opset 99 is under development); "
        "comparing with the ONNX reference evaluator instead"
    ]


def test_check_of_an_opset_9_batch_normalization(tmp_path):
    """onnx.reference's BatchNormalization-9 uses batch statistics by default; --check uses
    the running ones (inference), as the model means and Quartet computes."""
    rng = np.random.default_rng(0)
    stats = {n: rng.uniform(0.5, 1.5, 4).astype(np.float32) for n in ("s", "b", "m", "v")}
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])
    model = make_model(
        [node], [("x", FLOAT, [2, 4, 3])], [("y", FLOAT, [2, 4, 3])], stats.items(), opset=9
    )
    result = quartet("run", "-q", _saved(tmp_path, model), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check OK" in result.stdout
