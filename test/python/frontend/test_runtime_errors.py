"""Index errors are errors: a gather or scatter meeting an index outside [-d, d) fails the run
with an error naming the node, as onnxruntime does, on the CPU and in the PTX (the emulator),
fused by Welder or not; indices in range, negative ones included, still match onnxruntime.
Compile-time indices out of range, and shapes known only at run time, fail the compile."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from models import make_model
from onnx import TensorProto, helper

from quartet import QuartetError
from quartet.frontend.onnx import compile_model

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference for index errors")

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64
RNG = np.random.default_rng(5)


def _indexed(op, data_shape, idx_shape, out_shape, attrs=None, updates_shape=None):
    """x -> Relu -> ``op``(data, idx[, updates]) named 'the_node' -> Add(itself) -> y: the
    indexing node between a producer and a consumer Welder can fuse it with."""
    operands = ["data", "idx"] + (["updates"] if updates_shape else [])
    nodes = [
        helper.make_node("Relu", ["x"], ["data"]),
        helper.make_node(op, operands, ["picked"], name="the_node", **(attrs or {})),
        helper.make_node("Add", ["picked", "picked"], ["y"]),
    ]
    inputs = [("x", FLOAT, data_shape), ("idx", INT64, idx_shape)]
    inputs += [("updates", FLOAT, updates_shape)] if updates_shape else []
    return make_model(nodes, inputs, [("y", FLOAT, out_shape)])


# op -> (model, in-range indices with negatives, the size of the axis they index)
CASES = {
    "Gather": (
        _indexed("Gather", [4, 5], [2, 3], [4, 2, 3], {"axis": 1}),
        np.array([[0, -1, 4], [-5, 2, 3]]),
        5,
    ),
    "GatherElements": (
        _indexed("GatherElements", [4, 5], [4, 3], [4, 3], {"axis": 1}),
        np.array([[0, -1, 4], [-5, 2, 3], [1, 1, -2], [4, 0, -3]]),
        5,
    ),
    "GatherND": (
        _indexed("GatherND", [4, 4, 3], [3, 2], [3, 3]),
        np.array([[0, -1], [-4, 2], [3, 0]]),
        4,
    ),
    "ScatterND": (
        _indexed("ScatterND", [4, 5], [3, 1], [4, 5], updates_shape=[3, 5]),
        np.array([[0], [-1], [2]]),
        4,
    ),
    "ScatterElements": (
        _indexed("ScatterElements", [4, 5], [4, 2], [4, 5], {"axis": 1}, updates_shape=[4, 2]),
        np.array([[0, -1], [-5, 2], [1, 3], [4, -2]]),
        5,
    ),
}


@cache
def compiled(op: str, fusion: str):
    return compile_model(CASES[op][0], target="sm_90", fusion=fusion)


def feeds(op: str, indices: np.ndarray) -> dict[str, np.ndarray]:
    model = CASES[op][0]
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input
    }
    values = {"idx": indices.astype(np.int64)}
    for name in ("x", "updates"):
        if name in shapes:
            values[name] = RNG.uniform(-1, 1, shapes[name]).astype(np.float32)
    return values


def onnxruntime(op: str, values: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(
        CASES[op][0].SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(["y"], values)[0]


def out_of_range(op: str, where: str) -> np.ndarray:
    """The in-range indices with one element replaced by the first index past the end of the
    axis (``"past_the_end"``) or the first before its start (``"before_the_start"``)."""
    _, indices, size = CASES[op]
    bad = indices.copy()
    bad.flat[bad.size // 2] = size if where == "past_the_end" else -size - 1
    return bad


@pytest.mark.parametrize("fusion", ["welder", "none"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_indices_in_range_match_onnxruntime(op, fusion):
    values = feeds(op, CASES[op][1])
    expected = onnxruntime(op, values)
    model = compiled(op, fusion)
    np.testing.assert_allclose(model.run(values)["y"], expected, rtol=1e-6)
    np.testing.assert_allclose(model.emulate(values)["y"], expected, rtol=1e-6)


@pytest.mark.parametrize("where", ["past_the_end", "before_the_start"])
@pytest.mark.parametrize("fusion", ["welder", "none"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_an_index_out_of_range_fails_the_run_naming_the_node(op, fusion, where):
    """On the CPU and in the emulator, like onnxruntime; the next run, in range, is right
    again (the error word is zeroed before each run)."""
    values = feeds(op, out_of_range(op, where))
    with pytest.raises(Exception, match="Name:'the_node'"):  # onnxruntime fails this node
        onnxruntime(op, values)
    model = compiled(op, fusion)
    size = CASES[op][2]
    message = (
        rf"^error: node 'the_node' \({op}\): an index in 'idx' is out of range for axis \d "
        rf"of 'data' \({size} elements: valid indices are -{size} to {size - 1}\)$"
    )
    with pytest.raises(QuartetError, match=message):
        model.run(values)
    with pytest.raises(QuartetError, match=message):
        model.emulate(values)
    good = feeds(op, CASES[op][1])
    np.testing.assert_allclose(model.emulate(good)["y"], onnxruntime(op, good), rtol=1e-6)


def test_welder_fuses_the_checking_gather_with_its_neighbours():
    """The checks above run inside fused kernels too: Welder puts the gather and the add that
    reads it into one kernel (counted in launches of one kernel each)."""
    fused, unfused = (
        compile_model(CASES["Gather"][0], target="sm_90", fusion=fusion, schedule="none")
        for fusion in ("welder", "none")
    )
    assert fused.compiled.launches < unfused.compiled.launches


@pytest.mark.parametrize(
    "op, indices, bad, out",
    [
        ("Gather", np.array(5), 5, [4]),  # a scalar index: read at a constant position
        ("Gather", np.array([0, -6]), -6, [4, 2]),
        ("GatherElements", np.array([[0], [5], [0], [0]]), 5, [4, 1]),
    ],
)
def test_constant_indices_out_of_range_fail_the_compile(op, indices, bad, out):
    node = helper.make_node(op, ["x", "idx"], ["y"], name="the_node", axis=1)
    model = make_model([node], [("x", FLOAT, [4, 5])], [("y", FLOAT, out)], [("idx", indices)])
    with pytest.raises(
        QuartetError, match=rf"node 'the_node' \({op}\): index {bad} in 'idx' is out of range"
    ):
        compile_model(model, target="cpu")


@pytest.mark.parametrize("op, out", [("Reshape", [3, 2]), ("Expand", [2, 3])])
def test_a_shape_known_only_at_run_time_fails_the_compile(op, out):
    """Shapes are static in Quartet: a Reshape or Expand whose shape is a graph input is refused
    when compiling, so no kernel ever meets a shape that disagrees at run time."""
    node = helper.make_node(op, ["x", "shape"], ["y"], name="the_node")
    model = make_model([node], [("x", FLOAT, [2, 3]), ("shape", INT64, [2])], [("y", FLOAT, out)])
    with pytest.raises(
        QuartetError,
        match=rf"node 'the_node' \({op}\): the target shape \(input 'shape'\) must be known at "
        "compile time",
    ):
        compile_model(model, target="cpu")


def test_an_artifact_raises_the_same_error_on_every_device(tmp_path):
    """The error word and its messages travel in the artifact: quartet.runtime raises the
    node's error on the CPU library and on the emulated GPU, and runs in range after it."""
    from quartet import runtime

    model = compiled("Gather", "welder")
    loaded = runtime.load(model.save(tmp_path / "gather", cpu_library=True))
    bad, good = (
        feeds("Gather", out_of_range("Gather", "past_the_end")),
        feeds("Gather", CASES["Gather"][1]),
    )
    for device in ("cpu", "emulator"):
        with pytest.raises(QuartetError, match=r"^error: node 'the_node' \(Gather\): an index"):
            loaded.run(bad, device=device)
        got = loaded.run(good, device=device)["y"]
        np.testing.assert_allclose(got, onnxruntime("Gather", good), rtol=1e-6)
