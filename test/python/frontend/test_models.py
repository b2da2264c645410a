"""Whole models through the ONNX frontend: a Transformer encoder layer, an LSTM-style Loop, an
If, and ONNX's own ``light`` model zoo (SqueezeNet here; the larger ones in bench/models.py)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from models import (
    encoder,
    encoder_layer,
    if_model,
    lstm_loop,
    lstm_reference,
    skip_blocks,
    while_loop,
)
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs
from quartet.ptxas import find_ptxas

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")


@pytest.fixture(scope="module")
def encoder_sm90():
    return compile_model(encoder_layer(), target="sm_90")


def test_encoder_layer_matches_reference_on_cpu(encoder_sm90):
    feeds = encoder_sm90.random_inputs(seed=3)
    (expected,) = ReferenceEvaluator(encoder_layer()).run(None, feeds)
    np.testing.assert_allclose(encoder_sm90.run(feeds)["y"], expected, rtol=1e-4, atol=1e-5)


@needs_ptxas
def test_encoder_layer_ptx_assembles(encoder_sm90):
    (kernel,) = encoder_sm90.compiled.kernels  # one persistent kernel: Welder's kernels its tasks
    tasks = re.findall(r"^\.visible \.func ", encoder_sm90.compiled.ptx[kernel.name], re.M)
    assert 1 < len(tasks) <= 16  # Welder's groups (~40 operators unfused)
    infos = encoder_sm90.compiled.ptxas
    assert all(info.spill_stores == info.spill_loads == 0 for info in infos.values())


def test_encoder_layer_in_emulator(encoder_sm90):
    feeds = encoder_sm90.random_inputs(seed=3)
    (expected,) = ReferenceEvaluator(encoder_layer()).run(None, feeds)
    np.testing.assert_allclose(encoder_sm90.emulate(feeds)["y"], expected, rtol=1e-4, atol=1e-5)


def test_repeated_layers_compile_to_the_kernels_of_one_layer():
    """Three encoder layers (different weights, same shapes) give exactly the kernels of one,
    launched three times, when each operator is its own kernel; the CPU library holds each
    kernel function once too. Fused, groups may span two layers, and the layers still share
    their kernels."""
    options = {"target": "sm_90", "cache": False, "schedule": "none"}  # one launch per kernel
    one = compile_model(encoder(1), fusion="none", **options).compiled
    three = compile_model(encoder(3), fusion="none", **options).compiled
    assert three.kernels == one.kernels and three.ptx == one.ptx
    assert three.launches == 3 * one.launches
    fused_one = compile_model(encoder(1), **options).compiled
    fused_three = compile_model(encoder(3), **options).compiled
    assert fused_three.launches <= 3 * fused_one.launches
    assert len(fused_three.kernels) < fused_three.launches  # layers share kernels
    cpu_one, cpu_three = (
        compile_model(
            encoder(n), target="cpu", cache=False, fusion="none", schedule="none"
        ).compiled.final_ir
        for n in (1, 3)
    )
    kernel_function = re.compile(r"llvm\.func (?:internal |private )?@test_graph_k\d+\.func\(")
    assert len(kernel_function.findall(cpu_three)) == len(kernel_function.findall(cpu_one)) > 10


def test_a_deep_encoder_matches_the_reference_on_cpu_and_in_the_emulator():
    from quartet.runtime.emulated import EmulatedDevice

    model = encoder(3)
    compiled = compile_model(model, target="sm_90")
    feeds = compiled.random_inputs(seed=5)
    (expected,) = ReferenceEvaluator(model).run(None, feeds)
    np.testing.assert_allclose(compiled.run(feeds)["y"], expected, rtol=1e-4, atol=1e-5)
    emulated = compiled.emulate(feeds, device=EmulatedDevice(checks=False))["y"]
    np.testing.assert_allclose(emulated, expected, rtol=1e-4, atol=1e-5)


def test_encoder_weights_are_arguments_not_literals():
    model = compile_model(encoder_layer(dim=64, ffn=256), target="cpu")
    assert 'quartet.weight = "W1"' in model.mlir
    assert len(model.mlir) < 40_000  # 64x256 weights would be ~200 kB as literals


def test_lstm_loop_runs_on_cpu():
    model = lstm_loop()
    compiled = compile_model(model, target="cpu")
    feeds = compiled.random_inputs(seed=1)
    expected = lstm_reference(feeds, model)
    for name, value in compiled.run(feeds).items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-4, atol=1e-5)


def test_lstm_loop_imports_as_scf_for_in_controlflow_form():
    from quartet.frontend.onnx import import_model

    text = import_model(lstm_loop()).text
    assert "scf.for" in text and 'controlflow.placement = #controlflow.device<"grid">' in text


def test_loop_with_computed_condition_imports_as_scf_while():
    from quartet.frontend.onnx import import_model

    text = import_model(while_loop()).text
    assert "scf.while" in text and "scf.condition" in text


def test_loop_with_computed_condition_runs_on_cpu():
    model = while_loop()
    compiled = compile_model(model, target="cpu")
    x = np.ones(4, np.float32)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    np.testing.assert_allclose(compiled.run(x=x)["y"], expected)


def test_a_loop_on_a_gpu_target_runs_on_the_device():
    """The Loop runs inside the persistent kernel: one launch, its PTX matches the reference."""
    model = lstm_loop()
    compiled = compile_model(model, target="sm_90")
    assert compiled.compiled.counters.launches == 1
    feeds = compiled.random_inputs(seed=1)
    expected = lstm_reference(feeds, model)
    for name, value in compiled.emulate(feeds).items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-4, atol=1e-5)


def test_if_with_runtime_condition_runs_on_cpu():
    model = if_model()
    compiled = compile_model(model, target="cpu")
    assert "scf.if" in compiled.mlir
    for x in (np.ones((3, 4), np.float32), -np.ones((3, 4), np.float32)):
        (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
        np.testing.assert_allclose(compiled.run(x=x)["y"], expected)


@pytest.mark.parametrize("keepdims", [0, 1])
def test_skip_blocks_run_on_cpu_and_match_reference(keepdims):
    """Two gated residual blocks in a row (the skip-block pattern): deallocation keeps
    ownership flags in i1 buffers, which must lower (they used to abort the process)."""
    model = skip_blocks(keepdims=keepdims)
    compiled = compile_model(model, target="cpu")
    assert compiled.mlir.count("scf.if") == 2
    rng = np.random.default_rng(3)
    for shift in (1.0, -1.0):  # both blocks taken, both skipped
        x = (rng.uniform(-1, 1, (1, 4, 8, 8)) + shift).astype(np.float32)
        (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
        np.testing.assert_allclose(compiled.run(x=x)["y"], expected, rtol=1e-6)


def _stored_output(name: str) -> np.ndarray:
    tensor = onnx.TensorProto()
    tensor.ParseFromString((LIGHT / f"light_{name}_output_0.pb").read_bytes())
    return numpy_helper.to_array(tensor)


def _squeezenet_with_logits() -> onnx.ModelProto:
    """The light SqueezeNet with its logits (the Softmax's input) as a second output."""
    model = onnx.load(str(LIGHT / "light_squeezenet.onnx"))
    (softmax,) = [node for node in model.graph.node if node.op_type == "Softmax"]
    logits = onnx.helper.make_tensor_value_info(softmax.input[0], 1, [1, 1000, 1, 1])
    model.graph.output.append(logits)
    return model


@pytest.fixture(scope="module")
def squeezenet():
    return compile_model(_squeezenet_with_logits(), target="sm_90")


def test_squeezenet_matches_stored_output_on_cpu(squeezenet):
    """Every weight of the light model is 0.02, so its 1000 logits are equal and the stored
    output (their Softmax) is 0.001 whatever the input: it only shows the model runs. The
    logits themselves depend on the input; they must match the reference on two inputs
    whose logits differ."""
    model = _squeezenet_with_logits()
    (probabilities, logits_name) = (spec.name for spec in squeezenet.outputs)
    logits = []
    for seed in (1, 2):
        feeds = squeezenet.random_inputs(seed=seed)
        outputs = squeezenet.run(feeds)
        np.testing.assert_allclose(
            outputs[probabilities], _stored_output("squeezenet"), rtol=1e-3, atol=1e-5
        )
        _, expected = reference_outputs(model, feeds, squeezenet.outputs)
        np.testing.assert_allclose(outputs[logits_name], expected[logits_name], rtol=1e-4)
        logits.append(outputs[logits_name])
    assert abs(logits[0][0, 0, 0, 0] - logits[1][0, 0, 0, 0]) > 1e-3 * abs(logits[0][0, 0, 0, 0])


@needs_ptxas
def test_squeezenet_ptx_assembles_without_spills(squeezenet):
    (kernel,) = squeezenet.compiled.kernels  # one persistent kernel: Welder's kernels its tasks
    assert len(re.findall(r"^\.visible \.func ", squeezenet.compiled.ptx[kernel.name], re.M)) > 10
    infos = squeezenet.compiled.ptxas
    assert all(info.spill_stores == info.spill_loads == 0 for info in infos.values())


def test_large_weights_import_in_seconds_and_stay_out_of_the_ir():
    import time

    from models import make_model
    from onnx import helper

    from quartet.frontend.onnx import import_model

    rng = np.random.default_rng(0)
    weights = [(f"w{i}", rng.standard_normal((1024, 1024), dtype=np.float32)) for i in range(16)]
    names = ["x"] + [f"h{i}" for i in range(len(weights))]
    nodes = [
        helper.make_node("MatMul", [names[i], name], [names[i + 1]])
        for i, (name, _) in enumerate(weights)
    ]
    model = make_model(nodes, [("x", 1, [4, 1024])], [(names[-1], 1, [4, 1024])], weights)
    start = time.perf_counter()
    graph = import_model(model)  # 16.8 M parameters, 67 MB
    assert time.perf_counter() - start < 5
    assert len(graph.weights) == 16 and len(graph.text) < 20_000


def _squeezenet_without_softmax() -> onnx.ModelProto:
    """SqueezeNet up to its logits (the final Softmax needs expf, which the emulator lacks)."""
    model = onnx.load(str(LIGHT / "light_squeezenet.onnx"))
    (softmax,) = [node for node in model.graph.node if node.op_type == "Softmax"]
    model.graph.node.remove(softmax)
    del model.graph.output[:]
    model.graph.output.append(onnx.helper.make_tensor_value_info(softmax.input[0], 1, [1, 1000]))
    return model


@pytest.fixture(scope="module")
def squeezenet_small():
    """SqueezeNet's logits on 64x64 images (fully convolutional; 12x less to emulate)."""
    return compile_model(
        _squeezenet_without_softmax(), target="sm_90", input_shapes={"data_0": [1, 3, 64, 64]}
    )


def test_squeezenet_runs_in_the_emulator(squeezenet_small):
    from quartet.runtime.emulated import EmulatedDevice

    feeds = squeezenet_small.random_inputs(seed=2)
    expected = squeezenet_small.run(feeds)
    emulated = squeezenet_small.emulate(feeds, device=EmulatedDevice(checks=False))
    (logits,) = expected.values()
    np.testing.assert_allclose(next(iter(emulated.values())), logits, rtol=1e-4, atol=1e-6)
    (reference,) = ReferenceEvaluator(_squeezenet_without_softmax()).run(None, feeds)
    np.testing.assert_allclose(logits, reference, rtol=1e-4, atol=1e-6)
