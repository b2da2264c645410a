"""Artifacts the runtime tests share: a small ONNX model, compiled once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

FLOAT = TensorProto.FLOAT
HERE = Path(__file__).parent


def python(code: str, *arguments: str, path=(), flags=()) -> subprocess.CompletedProcess:
    """``code`` (dedented) in a fresh interpreter, this directory and ``path`` importable
    first (PYTHONPATH); ``flags`` go to the interpreter (``-S``: no site-packages)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *map(str, path)])}
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def small_model() -> onnx.ModelProto:
    """Every kind of thing an artifact carries: a weight argument (W), constants in the host
    program (b, zero), reshaped views (the Reshape), a bool input and output (stored as i8),
    a scalar input (stored as one element), and an output known at compile time (x_shape)."""
    node = helper.make_node
    rng = np.random.default_rng(0)
    initializers = [
        ("W", rng.normal(size=(8, 16)).astype(np.float32)),
        ("b", rng.normal(size=16).astype(np.float32)),
        ("zero", np.float32(0)),
        ("shape", np.array([8, 8], np.int64)),
    ]
    nodes = [
        node("MatMul", ["x", "W"], ["h0"]),
        node("Add", ["h0", "b"], ["h1"]),
        node("Relu", ["h1"], ["h2"]),
        node("Mul", ["h2", "scale"], ["h3"]),
        node("Where", ["mask", "h3", "zero"], ["h4"]),
        node("Reshape", ["h4", "shape"], ["y"]),
        node("Not", ["mask"], ["unmasked"]),
        node("Shape", ["x"], ["x_shape"]),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "small",
        [
            value("x", FLOAT, [4, 8]),
            value("mask", TensorProto.BOOL, [4, 16]),
            value("scale", FLOAT, []),
        ],
        [
            value("y", FLOAT, [8, 8]),
            value("unmasked", TensorProto.BOOL, [4, 16]),
            value("x_shape", TensorProto.INT64, [2]),
        ],
        [onnx.numpy_helper.from_array(array, name) for name, array in initializers],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


def small_feeds(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(4, 8)).astype(np.float32),
        "mask": rng.integers(0, 2, (4, 16)).astype(bool),
        "scale": np.float32(1.5),
    }


def small_reference(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in small_model().graph.initializer}
    hidden = np.maximum(feeds["x"] @ weights["W"] + weights["b"], 0) * feeds["scale"]
    return {
        "y": np.where(feeds["mask"], hidden, 0).reshape(8, 8),
        "unmasked": ~feeds["mask"],
        "x_shape": np.array([4, 8], np.int64),
    }


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory):
    from quartet.frontend.onnx import compile_model

    path = tmp_path_factory.mktemp("small") / "small.onnx"
    onnx.save(small_model(), path)
    return compile_model(path, target="sm_90")


@pytest.fixture(scope="session")
def small_artifact(small_onnx, tmp_path_factory):
    """The small model saved for sm_90 with its CPU library."""
    return small_onnx.save(tmp_path_factory.mktemp("artifact"), cpu_library=True)


@pytest.fixture(scope="session")
def small_launches_artifact(tmp_path_factory):
    """The small model as a launch list (schedule none: no persistent kernel), saved for
    sm_90: what an artifact of format 1 or 2 could hold."""
    from quartet.frontend.onnx import compile_model

    path = tmp_path_factory.mktemp("small-launches") / "small.onnx"
    onnx.save(small_model(), path)
    compiled = compile_model(path, target="sm_90", schedule="none")
    return compiled.save(tmp_path_factory.mktemp("launches-artifact"))


@pytest.fixture(scope="session")
def loop_onnx():
    """controlflow_models' early-exit loop (a while loop: read-backs, registers) and a GRU
    (a kernel taking the loop index by value, rows copied into views), compiled as host loops
    for sm_90; their feeds."""
    sys.path.insert(0, str(HERE.parent / "frontend"))
    from controlflow_models import small

    from quartet.frontend.onnx import compile_model

    compiled = {}
    for name in ("early_exit", "gru"):
        model, feeds = small(name)
        compiled[name] = (compile_model(model, target="sm_90", control_flow="host"), feeds)
    return compiled


@pytest.fixture(scope="session")
def loop_artifacts(loop_onnx, tmp_path_factory):
    """Each host-loop model saved with its CPU library: name -> (directory, feeds)."""
    return {
        name: (model.save(tmp_path_factory.mktemp(name), cpu_library=True), feeds)
        for name, (model, feeds) in loop_onnx.items()
    }
