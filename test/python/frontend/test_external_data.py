"""Models whose weights live in external data files (``m.onnx`` + ``m.onnx.data``, as
``torch.onnx.export(..., dynamo=True)`` writes them): loaded memory-mapped from the model's
folder through the API and the CLI, covered by the import cache, and clear errors for a data
file that is missing, truncated or outside the folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from models import FLOAT, encoder_layer, make_model
from onnx import helper, numpy_helper
from onnx.external_data_helper import ExternalDataInfo
from test_errors import assert_user_error, quartet

from quartet import QuartetError
from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs
from quartet.frontend.onnx.loader import MAX_SKELETON_ELEMENTS

DATA = "m.onnx.data"


def save_external(model: onnx.ModelProto, folder: Path, convert_attribute: bool = False) -> Path:
    """``model`` saved as torch.onnx.export's dynamo exporter does: every tensor, however
    small, in one data file beside the model."""
    path = folder / "m.onnx"
    onnx.save_model(
        model,
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=DATA,
        size_threshold=0,
        convert_attribute=convert_attribute,
    )
    return path


def run_checked(path: Path, seed: int = 1) -> tuple[dict, dict]:
    """(Quartet's CPU outputs, onnxruntime's) on the same inputs."""
    model = compile_model(path, target="cpu")
    feeds = model.random_inputs(seed=seed)
    _, expected = reference_outputs(path, feeds, model.outputs)
    return model.run(feeds), expected


def mapped_file(array: np.ndarray) -> Path | None:
    """The file an array's memory is a view of (a memory map somewhere down its bases)."""
    while array is not None:
        if isinstance(array, np.memmap):
            return Path(array.filename)
        array = array.base if isinstance(array.base, np.ndarray) else None
    return None


def rewrite_weights(path: Path, seed: int) -> None:
    """New random values for every float tensor, written in place into the data file."""
    rng = np.random.default_rng(seed)
    with (path.parent / DATA).open("r+b") as data:
        for init in onnx.load(path, load_external_data=False).graph.initializer:
            if init.data_type != onnx.TensorProto.FLOAT:
                continue
            info = ExternalDataInfo(init)
            data.seek(info.offset or 0)
            values = rng.normal(0, 0.2, int(np.prod(init.dims))).astype("<f4").tobytes()
            assert len(values) == info.length
            data.write(values)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_weights_are_memory_mapped_from_the_data_file(tmp_path, cache_dir):
    path = save_external(encoder_layer(dim=32, ffn=64), tmp_path)
    data = tmp_path / DATA
    assert all(
        init.data_location == onnx.TensorProto.EXTERNAL
        for init in onnx.load(path, load_external_data=False).graph.initializer
    )
    model = compile_model(path, target="cpu", cache=False)
    mapped = {name for name, array in model.graph.weights if mapped_file(array) == data}
    large = {
        init.name
        for init in onnx.load(path, load_external_data=False).graph.initializer
        if np.prod(init.dims) > MAX_SKELETON_ELEMENTS  # the rest are read into the model
    }
    assert large and large <= mapped
    actual, expected = run_checked(path)
    np.testing.assert_allclose(actual["y"], expected["y"], rtol=1e-4, atol=1e-5)


def branch_model() -> onnx.ModelProto:
    """y = x * a if sum(x) > 0 else x - b, with ``a`` and ``b`` initializers of the branches
    and a Constant node's value: the tensors that live outside the main graph's initializers."""

    def branch(name: str, op: str, value: float) -> onnx.GraphProto:
        constant = numpy_helper.from_array(np.full((3, 4), value, np.float32), f"{name}_c")
        output = helper.make_tensor_value_info(f"{name}_y", FLOAT, [3, 4])
        node = helper.make_node(op, ["x", f"{name}_c"], [f"{name}_y"])
        return helper.make_graph([node], name, [], [output], [constant])

    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
        helper.make_node(
            "Constant", [], ["zero"], value=numpy_helper.from_array(np.zeros((), np.float32))
        ),
        helper.make_node("Greater", ["s", "zero"], ["positive"]),
        helper.make_node(
            "If",
            ["positive"],
            ["y"],
            then_branch=branch("then", "Mul", 3.0),
            else_branch=branch("else", "Sub", 0.5),
        ),
    ]
    return make_model(nodes, [("x", FLOAT, [3, 4])], [("y", FLOAT, [3, 4])])


def test_external_tensors_in_subgraphs_and_attributes_are_read(tmp_path):
    path = save_external(branch_model(), tmp_path, convert_attribute=True)
    stored = onnx.load(path, load_external_data=False)
    _, constant, _, branches = stored.graph.node
    assert constant.attribute[0].t.data_location == onnx.TensorProto.EXTERNAL
    for attribute in branches.attribute:
        assert attribute.g.initializer[0].data_location == onnx.TensorProto.EXTERNAL
    model = compile_model(path, target="cpu", cache=False)
    for sign in (1, -1):
        x = sign * np.abs(np.random.default_rng(3).normal(size=(3, 4))).astype(np.float32)
        expected = x * 3 if sign > 0 else x - 0.5
        np.testing.assert_allclose(model.run({"x": x})["y"], expected, rtol=1e-6)


def test_the_cli_compiles_and_checks_a_model_with_external_data(tmp_path, cache_dir):
    path = save_external(encoder_layer(dim=32, ffn=64), tmp_path)
    result = quartet("run", str(path), "--target", "cpu", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vs onnxruntime" in result.stdout and "check OK" in result.stdout


def test_a_changed_data_file_misses_the_import_cache(tmp_path, cache_dir):
    """Same model file, new weights in the data file: the cached import is not reused."""
    path = save_external(encoder_layer(dim=32, ffn=64, seed=0), tmp_path)
    first = compile_model(path, target="cpu")
    assert compile_model(path, target="cpu").graph.cached  # unchanged: a hit
    feeds = first.random_inputs(seed=2)
    before = first.run(feeds)["y"]
    rewrite_weights(path, seed=1)  # the model file is untouched
    stat = (tmp_path / DATA).stat()
    os.utime(tmp_path / DATA, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = compile_model(path, target="cpu")
    assert not third.graph.cached
    after = third.run(feeds)["y"]
    _, expected = reference_outputs(path, feeds, third.outputs)
    np.testing.assert_allclose(after, expected["y"], rtol=1e-4, atol=1e-5)
    assert not np.allclose(after, before)


def test_a_missing_data_file_names_the_tensor_and_the_file(tmp_path):
    path = save_external(encoder_layer(dim=32, ffn=64), tmp_path)
    (tmp_path / DATA).unlink()
    with pytest.raises(QuartetError, match=r"tensor '\w+' keeps its data in 'm.onnx.data'.*cannot"):
        compile_model(path, target="cpu", cache=False)
    assert_user_error(quartet("compile", "-q", str(path)), "m.onnx.data", "tensor '")


def test_a_truncated_data_file_names_the_tensor_and_the_file(tmp_path):
    path = save_external(encoder_layer(dim=32, ffn=64), tmp_path)
    data = tmp_path / DATA
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(QuartetError, match=r"tensor '\w+' keeps its data in 'm.onnx.data'.*trunc"):
        compile_model(path, target="cpu", cache=False)
    assert_user_error(quartet("compile", "-q", "--no-cache", str(path)), "truncated", "tensor '")


def test_a_location_outside_the_model_folder_is_refused(tmp_path):
    model = encoder_layer(dim=32, ffn=64)
    folder = tmp_path / "model"
    folder.mkdir()
    path = save_external(model, folder)
    stored = onnx.load(path, load_external_data=False)
    for init in stored.graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                entry.value = f"../{DATA}"
    os.rename(folder / DATA, tmp_path / DATA)
    path.write_bytes(stored.SerializeToString())
    with pytest.raises(QuartetError, match="not a file inside the model's folder"):
        compile_model(path, target="cpu", cache=False)


def test_a_model_proto_without_its_data_asks_for_the_path(tmp_path):
    path = save_external(encoder_layer(dim=32, ffn=64), tmp_path)
    with pytest.raises(QuartetError, match="compile the model from its path"):
        compile_model(onnx.load(path, load_external_data=False), target="cpu", cache=False)
