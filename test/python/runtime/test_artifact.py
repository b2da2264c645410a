"""The artifact: what save() writes, what load() reads back, and how a bad one is refused."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from conftest import small_feeds, small_reference

import quartet
import quartet.runtime
from quartet.runtime import FORMAT_VERSION, ArtifactError
from quartet.runtime.artifact import ALIGNMENT
from quartet.runtime.emulated import EmulatedDevice


def test_an_onnx_artifact_runs_on_the_cpu_and_the_emulator_with_onnx_names(small_artifact):
    model = quartet.runtime.load(small_artifact)
    assert model.devices == ("cpu", "emulator", "cuda")
    assert [(n.name, n.spec.shape, str(n.spec.dtype)) for n in model.inputs] == [
        ("x", (4, 8), "float32"),
        ("mask", (4, 16), "bool"),
        ("scale", (), "float32"),
    ]
    feeds = small_feeds()
    expected = small_reference(feeds)
    for device in ("cpu", "emulator"):
        outputs = model.run(feeds, device=device)
        assert list(outputs) == ["y", "unmasked", "x_shape"]
        np.testing.assert_allclose(outputs["y"], expected["y"], rtol=1e-5, atol=1e-6)
        assert outputs["unmasked"].dtype == np.bool_
        np.testing.assert_array_equal(outputs["unmasked"], expected["unmasked"])
        np.testing.assert_array_equal(outputs["x_shape"], expected["x_shape"])


def test_the_manifest_holds_the_host_program_and_the_weights(small_artifact, small_onnx):
    manifest = json.loads((small_artifact / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["target"] == "sm_90" and manifest["quartet_version"]
    weight = next(a for a in manifest["arguments"] if a["role"] == "weight")
    assert weight["name"] == "W" and weight["data"]["offset"] % ALIGNMENT == 0
    blob = (small_artifact / "weights.bin").read_bytes()
    start = weight["data"]["offset"]
    stored = np.frombuffer(blob[start : start + weight["data"]["nbytes"]], "<f4").reshape(8, 16)
    np.testing.assert_array_equal(stored, small_onnx.graph.weights[0][1])
    constant = next(o for o in manifest["outputs"] if o["name"] == "x_shape")["value"]
    assert np.frombuffer(blob[constant["offset"] :][:16], "<i8").tolist() == [4, 8]
    for kernel in manifest["kernels"]:
        assert (small_artifact / kernel["ptx"]).read_text().startswith("//")
        assert kernel["ptxas"] is None or kernel["ptxas"]["registers"] > 0
    host = quartet.runtime.load(small_artifact).artifact.host
    compiled = small_onnx.compiled.host
    assert host.steps == compiled.steps
    for read, written in zip(host.buffers, compiled.buffers, strict=True):
        assert (read.spec, read.argument, read.view_of) == (
            written.spec,
            written.argument,
            written.view_of,
        )
        assert (read.constant is None) == (written.constant is None)
        if read.constant is not None:
            np.testing.assert_array_equal(read.constant, written.constant)


def test_inputs_are_checked_by_name_shape_and_dtype(small_artifact):
    model = quartet.runtime.load(small_artifact)
    feeds = small_feeds()
    with pytest.raises(quartet.QuartetError, match="no input 'z'"):
        model.run({**feeds, "z": feeds["x"]}, device="cpu")
    with pytest.raises(quartet.QuartetError, match="missing input 'scale'"):
        model.run({"x": feeds["x"], "mask": feeds["mask"]}, device="cpu")
    with pytest.raises(quartet.QuartetError, match=r"input 'x' is \[4, 8\] float64"):
        model.run({**feeds, "x": feeds["x"].astype(np.float64)}, device="cpu")
    with pytest.raises(quartet.QuartetError, match="unknown device 'tpu'"):
        model.run(feeds, device="tpu")


def test_a_gpu_artifact_without_its_cpu_form_refuses_the_cpu(small_onnx, tmp_path):
    model = quartet.runtime.load(small_onnx.save(tmp_path))
    assert model.devices == ("emulator", "cuda")
    assert not (tmp_path / "model.so").exists()
    with pytest.raises(quartet.QuartetError, match="cannot run on 'cpu'.*emulator, cuda"):
        model.run(small_feeds(), device="cpu")
    outputs = model.run(small_feeds(), device=EmulatedDevice(checks=True))
    np.testing.assert_allclose(outputs["y"], small_reference(small_feeds())["y"], rtol=1e-5)


def test_a_model_from_mlir_names_its_arguments_by_position(tmp_path):
    from quartet.examples import mlp

    model = quartet.compile(mlp.SOURCE, target="cpu")
    loaded = quartet.runtime.load(model.save(tmp_path))
    assert [named.name for named in loaded.inputs] == [f"arg{i}" for i in range(7)]
    assert loaded.devices == ("cpu",)
    inputs = mlp.random_inputs(seed=2)
    outputs = loaded.run({f"arg{i}": a for i, a in enumerate(inputs)}, device="cpu")
    np.testing.assert_allclose(outputs["result0"], mlp.reference(*inputs), rtol=1e-4, atol=1e-5)


def _edit(manifest: dict, path: str, value) -> None:
    """Set ``manifest`` at ``path`` ("a.b.0.c"); a value of ``...`` deletes the key."""
    *parents, last = path.split(".")
    node = manifest
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value


MALFORMED = [
    ("format_version", 4, "artifact format version 4 is newer than this runtime reads"),
    ("inputs.0.dtype", ..., "inputs[0]: no field 'dtype'"),
    ("inputs.0.dtype", "complex64", "inputs[0].dtype: expected one of bool"),
    ("inputs.0.shape", [4, -8], "inputs[0].shape: expected a list of any number of integers"),
    ("host_program.steps.0.grid", [2, 1], "host_program.steps[0].grid: expected a list of 3"),
    ("host_program.steps.0.kind", "goto", "steps[0].kind: step kind 'goto' is unknown"),
    ("host_program.steps.0.scalars", ..., "host_program.steps[0]: no field 'scalars'"),
    ("host_program.steps.0.scalars", [[0]], "steps[0].scalars: expected a list of [parameter"),
    ("host_program.steps.0.scalars", [[0, 5]], "step #0 uses register 5 of 0"),
    ("host_program.scalars", ..., "host_program: no field 'scalars'"),
    ("host_program.scalars", [{"bits": 7, "value": 0}], "scalars[0].bits: expected one of 1"),
    ("host_program.steps.0.buffers.0", 99, "step #0 uses buffer 99 of 15"),
    ("host_program.steps.0.buffers", [1], "1 parameters to small_rammer, whose PTX takes 13"),
    ("host_program.steps.0.cooperative", False, "a launch that takes the counters is not coop"),
    ("host_program.epoch", 13, "the epoch buffer #13 holds 3xint32, not one i32"),
    ("host_program.epoch", 12, "the epoch buffer #12 is no i32 buffer of its own"),
    ("host_program.counters", None, "(an epoch without counters)"),
    ("host_program.counters", 99, "the counters are buffer 99 of 15"),
    ("host_program.counters", "no", "host_program.counters: expected a buffer index or null"),
    ("host_program.buffers.0.shape", [4, 9], "buffer #0 (4x9xfloat32) is argument #0"),
    ("host_program.buffers.9.view_of", 10, "buffer #9 views #10, which is no earlier buffer"),
    ("kernels.0.ptx", "../k.ptx", "kernels[0].ptx: expected a file name"),
    ("kernels.0.ptx", "absent.ptx", "kernels[0].ptx: no file absent.ptx"),
    ("arguments.3.data.offset", 1 << 20, "arguments[3].data.offset: expected a multiple of 64"),
    ("arguments.3.data.nbytes", 4, "arguments[3].data.nbytes: expected 512 (8x16xfloat32)"),
    ("arguments.4.name", "why", "argument #4 is the output 'why', which is unknown"),
    ("outputs.0.name", "y2", "output 'y2' fills 0 arguments, not 1"),
    ("cpu_library.file", "absent.so", "cpu_library.file: no file absent.so"),
    ("weights", [], "weights: expected an object, got []"),
]


@pytest.mark.parametrize(("path", "value", "message"), MALFORMED)
def test_a_malformed_manifest_is_refused_naming_the_field(
    small_artifact, tmp_path, path, value, message
):
    copy = shutil.copytree(small_artifact, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    _edit(manifest, path, value)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError) as caught:
        quartet.runtime.load(copy)
    assert message in str(caught.value)
    assert str(copy / "manifest.json") in str(caught.value)


def test_a_format_1_manifest_still_runs(small_launches_artifact, tmp_path):
    """Version 1 had no registers, no scalar parameters and no persistent kernel's counters
    and epoch: it reads as it was written."""
    copy = shutil.copytree(small_launches_artifact, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 1
    for key in ("scalars", "counters", "epoch"):
        del manifest["host_program"][key]
    for step in manifest["host_program"]["steps"]:
        step.pop("scalars", None)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    outputs = quartet.runtime.load(copy).run(small_feeds(), device="emulator")
    np.testing.assert_allclose(outputs["y"], small_reference(small_feeds())["y"], rtol=1e-5)
    manifest["host_program"]["steps"][0]["kind"] = "loop"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        ArtifactError, match="step kind 'loop' is unknown .*version 1: launch, copy"
    ):
        quartet.runtime.load(copy)


def test_missing_or_damaged_files_are_refused(small_artifact, tmp_path):
    copy = shutil.copytree(small_artifact, tmp_path / "copy")
    (copy / "weights.bin").write_bytes((copy / "weights.bin").read_bytes()[:-1])
    with pytest.raises(ArtifactError, match="weights.bin: .* bytes, the manifest says"):
        quartet.runtime.load(copy)
    (copy / "manifest.json").write_text("{ not json")
    with pytest.raises(ArtifactError, match="manifest.json: not JSON"):
        quartet.runtime.load(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="not a Quartet artifact"):
        quartet.runtime.load(copy)


@pytest.mark.parametrize("name", ["early_exit", "gru"])
def test_a_host_loop_artifact_runs_as_its_cpu_form_does(loop_artifacts, name):
    directory, feeds = loop_artifacts[name]
    model = quartet.runtime.load(directory)
    host = model.artifact.host
    assert any(step.scalars for step in host.launches) == (name == "gru")
    emulated, cpu = model.run(feeds, device="emulator"), model.run(feeds, device="cpu")
    for output, value in cpu.items():
        np.testing.assert_allclose(emulated[output], value, rtol=1e-5, atol=1e-6)


def _step_path(manifest: dict, kind: str) -> str:
    """The manifest path of the first host step of ``kind`` (nested steps searched)."""

    def search(steps: list, path: str):
        for index, step in enumerate(steps):
            here = f"{path}.{index}"
            if step["kind"] == kind:
                return here
            for key in ("body", "before", "then", "else"):
                found = search(step.get(key, []), f"{here}.{key}")
                if found:
                    return found
        return None

    return search(manifest["host_program"]["steps"], "host_program.steps")


LOOP_MALFORMED = [
    ("while", "condition", 999, "uses register 999 of"),
    ("while", "before", 3, "].before: expected a list, got 3"),
    ("read", "kind", "goto", ".kind: step kind 'goto' is unknown to this runtime"),
    ("compute", "op", "powi", ".op: expected an operation of the host program"),
    ("compute", "operands", [0], "gives"),
    ("assign", "targets", [], "assigns"),
    ("read", "buffer", 0, "reads back a float32 (integers only)"),
]


@pytest.mark.parametrize(("kind", "key", "value", "message"), LOOP_MALFORMED)
def test_a_malformed_host_loop_is_refused_naming_the_field(
    loop_artifacts, tmp_path, kind, key, value, message
):
    directory, _ = loop_artifacts["early_exit"]
    copy = shutil.copytree(directory, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    path = _step_path(manifest, kind)
    assert path is not None, f"the early-exit loop has no {kind} step"
    _edit(manifest, f"{path}.{key}", value)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=re.escape(message)):
        quartet.runtime.load(copy)
