"""ONNX's backend node tests through Quartet: selection, expected failures, one case's run.

A case is selected when every op in its graph (subgraphs included) is in the importer's table;
inputs that a node needs at compile time (a Reshape's shape, a Slice's starts) are bound to the
test's values, the rest are fed at run time. Outputs are compared with the stored ones
(rtol 1e-3, atol 1e-5 unless ``TOLERANCES`` says otherwise).
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import onnx

from quartet.frontend.onnx import compile_model, supported_ops
from quartet.frontend.onnx.importer import all_nodes
from quartet.frontend.onnx.ir import SUPPORTED_DTYPES
from quartet.frontend.onnx.registry import compile_time_inputs

RTOL, ATOL = 1e-3, 1e-5
TOLERANCES: dict[str, tuple[float, float]] = {}
EXPECTED_FAILURES_FILE = Path(__file__).with_name("expected_failures.txt")


@functools.cache
def all_cases() -> dict[str, object]:
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {case.name: case for case in load_model_tests(kind="node")}


def ops_supported(model: onnx.ModelProto) -> bool:
    supported = set(supported_ops())
    return all(
        node.domain in ("", "ai.onnx") and node.op_type in supported
        for node in all_nodes(model.graph)
    )


def types_supported(model: onnx.ModelProto) -> bool:
    """Every graph input and output is a tensor of an element type Quartet supports."""
    for value in [*model.graph.input, *model.graph.output]:
        if not value.type.HasField("tensor_type"):
            return False
        dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        if dtype not in SUPPORTED_DTYPES:
            return False
    return True


def is_selected(model: onnx.ModelProto) -> bool:
    return ops_supported(model) and types_supported(model)


@functools.cache
def selected_cases() -> list[str]:
    return sorted(name for name, case in all_cases().items() if is_selected(case.model))


@functools.cache
def expected_failures() -> dict[str, str]:
    """``name: reason`` lines (``#`` comments) -> {name: reason}; the reason names the stage
    prefix ``cpu:`` or ``ptx:`` that fails (a ``cpu:`` failure implies the PTX one)."""
    failures = {}
    for line in EXPECTED_FAILURES_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, reason = line.partition(":")
            failures[name.strip()] = reason.strip()
    return failures


def feeds_and_expected(case) -> tuple[dict, dict, dict]:
    """(runtime feeds, compile-time bound inputs, expected outputs) of the case's first data set."""
    model = case.model
    initializers = {init.name for init in model.graph.initializer}
    names = [value.name for value in model.graph.input if value.name not in initializers]
    inputs, outputs = ([_array(v) for v in values] for values in case.data_sets[0])
    values = dict(zip(names, inputs, strict=False))
    static = compile_time_inputs(model.graph)
    bound = {name: value for name, value in values.items() if name in static}
    feeds = {name: value for name, value in values.items() if name not in static}
    expected = {value.name: out for value, out in zip(model.graph.output, outputs, strict=False)}
    return feeds, bound, expected


def _array(value) -> np.ndarray:
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    return np.asarray(value)


def compare(actual: dict, expected: dict, name: str) -> None:
    for output, want in expected.items():
        rtol, atol = TOLERANCES.get(name, (RTOL, ATOL))
        if np.asarray(want).dtype == np.float16:
            rtol, atol = 1e-2, 1e-3  # half precision: one ulp is 1e-3 relative
        got = actual[output]
        assert got.shape == np.asarray(want).shape, (output, got.shape, np.asarray(want).shape)
        np.testing.assert_allclose(
            got.astype(np.float64),
            np.asarray(want).astype(np.float64),
            rtol=rtol,
            atol=atol,
            equal_nan=True,
            err_msg=output,
        )


def run_case(name: str, emulate: bool):
    """Compile for sm_90, run on the CPU (and the PTX in the emulator); raise on mismatch. A
    model with control flow runs it on the device (Grinder's mode, the default)."""
    case = all_cases()[name]
    feeds, bound, expected = feeds_and_expected(case)
    model = compile_model(case.model, target="sm_90", bound_inputs=bound)
    compare(model.run(feeds), expected, name)
    if emulate:
        assert all(info.spill_stores == 0 for info in model.compiled.ptxas.values())
        compare(model.emulate(feeds), expected, name)
    return model
