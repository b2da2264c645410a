"""The models of operator_models.py on the CPU against onnxruntime (QDQ models unoptimized,
as ``--check`` runs them), and their PTX in the emulator where they have no control flow."""

from __future__ import annotations

import numpy as np
import pytest
from models import FLOAT, make_model
from onnx import helper
from operator_models import MODELS, decoder_block, decoder_block_dynamo, decoder_block_torchscript

from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs

pytest.importorskip("onnxruntime", reason="the models are checked against onnxruntime")


def assert_close(actual: dict, expected: dict) -> None:
    for name, want in expected.items():
        want = np.asarray(want)
        scale = max(float(np.abs(want).max()), 1.0)
        np.testing.assert_allclose(actual[name], want, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_on_the_cpu_matches_onnxruntime(name):
    model, feeds = MODELS[name][0]()
    compiled = compile_model(model, target="cpu")
    engine, expected = reference_outputs(model, feeds, compiled.outputs)
    assert engine == "onnxruntime"
    assert_close(compiled.run(feeds), expected)


@pytest.mark.parametrize("name", sorted(n for n, (_, loops) in MODELS.items() if not loops))
def test_model_ptx_in_the_emulator_matches_onnxruntime(name):
    model, feeds = MODELS[name][0]()
    compiled = compile_model(model, target="sm_90")
    assert all(info.spill_stores == 0 for info in compiled.compiled.ptxas.values())
    _, expected = reference_outputs(model, feeds, compiled.outputs)
    assert_close(compiled.emulate(feeds), expected)


@pytest.mark.parametrize("name", sorted(n for n, (_, loops) in MODELS.items() if loops))
def test_recurrent_models_run_on_the_device_in_one_launch(name):
    """Their loops run inside the persistent kernel (Grinder): one launch, no read-back."""
    model, feeds = MODELS[name][0]()
    compiled = compile_model(model, target="sm_90")
    assert compiled.compiled.counters.launches == 1
    assert compiled.compiled.counters.host_round_trips == 0
    _, expected = reference_outputs(model, feeds, compiled.outputs)
    assert_close(compiled.run(feeds), expected)


@pytest.mark.parametrize("spelling", [decoder_block_torchscript, decoder_block_dynamo])
def test_every_spelling_of_the_decoder_block_agrees(spelling):
    """Opset-23 Attention/RMSNormalization/RotaryEmbedding, the TorchScript-style graph
    (Trilu/Where mask, Slice/Neg rotary) and the dynamo-style one (additive mask, NaN-guarded
    Softmax, Reciprocal RMSNorm) compute the same block from the same weights."""
    model, feeds = decoder_block()
    spelled_out, _ = spelling()
    fused = compile_model(model, target="cpu").run(feeds)["y"]
    manual = compile_model(spelled_out, target="cpu").run(feeds)["y"]
    np.testing.assert_allclose(fused, manual, rtol=1e-4, atol=1e-5)


def test_lstm_launches_count_every_step():
    """An ONNX LSTM over 5 steps on the CPU as a host loop: the input projection of every
    step (k0), the zeroed stacked output (k1) and its copy to the model's output (k5) run
    once. The loop runs two steps per iteration (2 iterations) and the fifth step after it:
    the two steps' work (R·h, gates, cell and hidden state: k2) is one launch per iteration,
    and each step writes its row (k3); the fifth step is its own kernel (k4). 3 + 2 x 3 + 1 =
    10 launches, each iteration's bytes counted twice (counted once, this was 7 launches)."""
    steps, batch, features, hidden = 5, 2, 8, 16
    rng = np.random.default_rng(0)
    weights = [
        ("W", rng.normal(0, 0.3, (1, 4 * hidden, features)).astype(np.float32)),
        ("R", rng.normal(0, 0.3, (1, 4 * hidden, hidden)).astype(np.float32)),
        ("B", rng.normal(0, 0.1, (1, 8 * hidden)).astype(np.float32)),
    ]
    lstm = helper.make_node("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=hidden)
    model = make_model(
        [lstm],
        [("x", FLOAT, [steps, batch, features])],
        [("y", FLOAT, [steps, 1, batch, hidden])],
        weights,
        opset=14,
    )
    compiled = compile_model(model, target="cpu", control_flow="host")
    counters = compiled.compiled.counters
    per_kernel = {name: (k.launches, k.loaded, k.stored) for name, k in counters.kernels.items()}
    assert per_kernel == {
        "test_graph_k0": (1, 15680, 2560),
        "test_graph_k1": (1, 0, 640),
        "test_graph_k2": (2, 2 * 9600, 2 * 384),
        "test_graph_k3": (4, 4 * 128, 4 * 128),
        "test_graph_k4": (1, 4992, 128),
        "test_graph_k5": (1, 640, 640),
    }
    (loop,) = counters.loops
    assert loop.trips == 2 and loop.per_iteration.launches == 3
    assert counters.exact and compiled.compiled.launches == counters.launches == 10
    assert counters.global_bytes == sum(
        loaded + stored for _, loaded, stored in per_kernel.values()
    )
    feeds = compiled.random_inputs(seed=1)
    _, expected = reference_outputs(model, feeds, compiled.outputs)
    assert_close(compiled.run(feeds), expected)
