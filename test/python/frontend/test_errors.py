"""Bad input through the ``quartet`` CLI: exit code 1, one line on stderr, no traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from models import FLOAT, lstm_loop, make_model
from onnx import helper

CLI = [sys.executable, "-c", "import sys; from quartet.tools.cli import main; sys.exit(main())"]


def quartet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def relu_model() -> onnx.ModelProto:
    node = helper.make_node("Relu", ["x"], ["y"])
    return make_model([node], [("x", FLOAT, [2, 3])], [("y", FLOAT, [2, 3])])


def unchecked(nodes, inputs, outputs) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "bad",
        [helper.make_tensor_value_info(n, FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, FLOAT, s) for n, s in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


@pytest.fixture
def save(tmp_path):
    def write(model: onnx.ModelProto | bytes, name: str = "model.onnx") -> str:
        path = tmp_path / name
        data = model if isinstance(model, bytes) else model.SerializeToString()
        path.write_bytes(data)
        return str(path)

    return write


def test_truncated_file(save):
    data = lstm_loop().SerializeToString()
    assert_user_error(quartet("run", "-q", save(data[: len(data) // 2])), "not a valid ONNX model")


def test_not_an_onnx_file(save):
    path = save(b"hello, not a model\n")
    result = quartet("compile", "-q", path)
    assert_user_error(result)
    assert result.stderr == (
        f"error: {path} is not a valid ONNX model (Error parsing message with type "
        "'onnx.ModelProto': Wire format was corrupt)\n"
    )


def test_missing_file(tmp_path):
    assert_user_error(quartet("run", "-q", str(tmp_path / "absent.onnx")), "cannot read")


def test_graph_failing_the_checker(save):
    model = unchecked([helper.make_node("Relu", ["undefined"], ["y"])], [("x", [2])], [("y", [2])])
    assert_user_error(quartet("run", "-q", save(model)), "invalid ONNX model")


def test_unsupported_ops_listed_with_node_names_before_compiling(save):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("MeanVarianceNormalization", ["r"], ["h"], name="first_mvn", axes=[0]),
        helper.make_node("MeanVarianceNormalization", ["h"], ["h2"], name="second_mvn", axes=[0]),
        helper.make_node("Det", ["h2"], ["y"], name="the_det"),
    ]
    model = make_model(nodes, [("x", FLOAT, [3, 3])], [("y", FLOAT, [])])
    assert_user_error(
        quartet("compile", "-q", save(model)),
        "unsupported ONNX operators",
        "Det (node 'the_det')",
        "MeanVarianceNormalization (nodes 'first_mvn', 'second_mvn')",
    )


def test_unknown_op(save):
    model = unchecked(
        [helper.make_node("FrobnicateTensor", ["x"], ["y"])], [("x", [2])], [("y", [2])]
    )
    assert_user_error(quartet("compile", "-q", save(model)), "FrobnicateTensor")


def test_loop_without_body(save):
    loop = helper.make_node("Loop", ["", "", "x"], ["y"], name="bodiless")
    model = unchecked([loop], [("x", [2])], [("y", [2])])
    result = quartet("run", "-q", save(model))
    assert_user_error(result)
    assert result.stderr == "error: invalid ONNX model: Required attribute 'body' is missing.\n"


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((3, 3), np.float32), "input 'x' is [3, 3] float32, the model expects [2, 3]"),
        (np.zeros((2, 3), np.int64), "input 'x' is [2, 3] int64, the model expects [2, 3] float32"),
    ],
)
def test_wrong_input_shape_or_dtype_at_run(save, tmp_path, array, fragment):
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, x=array)
    result = quartet("run", "-q", save(relu_model()), "--target", "cpu", "--inputs", str(inputs))
    assert_user_error(result, fragment)


def test_dynamic_dimension_names_the_input_and_binding_fixes_it(save):
    node = helper.make_node("Relu", ["x"], ["y"])
    model = make_model([node], [("x", FLOAT, ["batch", 3])], [("y", FLOAT, ["batch", 3])])
    path = save(model)
    assert_user_error(quartet("run", "-q", path), "input 'x' has a dynamic dimension 'batch'")
    result = quartet("run", "-q", path, "--input-shape", "x=4,3", "--check")
    assert result.returncode == 0, result.stderr
    assert "check OK" in result.stdout


@pytest.mark.parametrize(
    ("make_target", "fragment"),
    [
        (lambda tmp: tmp / "a_file", "exists and is not a directory"),
        (lambda tmp: tmp / "a_file" / "out", "cannot create the directory (Not a directory)"),
    ],
    ids=["existing-file", "under-a-file"],
)
def test_output_directory_that_cannot_be_used(save, tmp_path, make_target, fragment):
    (tmp_path / "a_file").write_text("not a directory\n")
    target = make_target(tmp_path)
    result = quartet("compile", "-q", save(relu_model()), "--target", "cpu", "-o", str(target))
    assert_user_error(result, f"-o {target}: {fragment}")
    assert (tmp_path / "a_file").read_text() == "not a directory\n"


@pytest.mark.parametrize(
    ("write", "fragment"),
    [
        (lambda p: np.save(p, np.zeros((2, 3), np.float32)), "a single .npy array has no input"),
        (lambda p: p.write_text("x = 1, 2, 3\n"), "not an .npz archive of named arrays"),
        (lambda p: p.write_bytes(b"PK\x03\x04truncated"), "not an .npz archive of named arrays"),
    ],
    ids=["npy", "text", "broken-zip"],
)
def test_inputs_that_are_not_an_npz(save, tmp_path, write, fragment):
    inputs = tmp_path / "inputs.npy"
    write(inputs)
    result = quartet("run", "-q", save(relu_model()), "--inputs", str(inputs))
    assert_user_error(result, f"--inputs {inputs}: {fragment}")


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--seed", "-5", "--seed must be a non-negative integer, got -5"),
        ("--rtol", "-1", "--rtol must be a finite number >= 0, got -1.0"),
        ("--rtol", "nan", "--rtol must be a finite number >= 0, got nan"),
        ("--atol", "-1", "--atol must be a finite number >= 0, got -1.0"),
        ("--atol", "nan", "--atol must be a finite number >= 0, got nan"),
        ("--atol", "inf", "--atol must be a finite number >= 0, got inf"),
    ],
)
def test_bad_run_option_values(save, option, value, fragment):
    result = quartet("run", "-q", save(relu_model()), "--check", f"{option}={value}")
    assert_user_error(result, fragment)


def test_pool_pads_not_smaller_than_the_kernel(save):
    """A pad as large as the window gives windows of padding only (onnxruntime rejects it)."""
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[2, 0, 0, 0])
    model = make_model([node], [("x", FLOAT, [1, 1, 4, 4])], [("y", FLOAT, [1, 1, 5, 3])])
    assert_user_error(
        quartet("run", "-q", save(model)),
        "(MaxPool): pads [2, 0, 0, 0] are not supported with kernel_shape [2, 2]",
    )
