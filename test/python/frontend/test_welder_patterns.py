"""The subgraphs Welder must fuse (issue 10's patterns (a)-(h)), each checked three ways: the
CPU form against ONNX's reference evaluator, the PTX in the emulator with every checker on
(races, bounds, barriers), and ptxas with no spills; and each compiled into the kernels it
must be, with no intermediate left in global memory."""

from __future__ import annotations

import numpy as np
import pytest
from fusion_models import PATTERNS, mlp, resnet18, unrolled_greedy_decoder
from onnx.reference import ReferenceEvaluator

from quartet.frontend.onnx import compile_model
from quartet.ptxas import find_ptxas
from quartet.runtime.emulated import EmulatedDevice


@pytest.fixture(scope="module", params=sorted(PATTERNS))
def pattern(request):
    model = PATTERNS[request.param]()
    compiled = compile_model(model, target="sm_90")
    feeds = compiled.random_inputs(seed=1)
    names = [spec.name for spec in compiled.outputs]
    expected = dict(zip(names, ReferenceEvaluator(model).run(None, feeds), strict=True))
    return request.param, compiled, feeds, expected


def _close(actual: dict, expected: dict) -> None:
    for name, want in expected.items():
        np.testing.assert_allclose(actual[name], want, rtol=1e-4, atol=1e-5, err_msg=name)


def test_pattern_runs_on_cpu(pattern):
    _, model, feeds, expected = pattern
    _close(model.run(feeds), expected)


def test_pattern_runs_in_emulator_with_every_checker(pattern):
    _, model, feeds, expected = pattern
    _close(model.emulate(feeds, device=EmulatedDevice(checks=True)), expected)


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
def test_pattern_assembles_without_spills(pattern):
    _, model, _, _ = pattern
    assert model.compiled.ptxas
    for name, info in model.compiled.ptxas.items():
        assert info.spill_stores == info.spill_loads == 0, name


# Per pattern, the operators of its one kernel in program order: the role quartet-welder gave
# each, and the memory level of each of its operands (inputs, then outputs, then values the body
# reads through computed indices). "inline" members (fills, bias broadcasts, paddings) are
# evaluated where they are read; "epilogue" members apply to the phase's registers.
KERNELS = {
    "a_gemm_bias_relu": [
        ("inline", "global global"),  # the bias broadcast into the accumulator's start
        ("phase", "global global reg"),  # the GEMM, accumulating in registers
        ("epilogue", "reg global"),  # ReLU on the accumulator
    ],
    "a_gemm_bias_gelu": [
        ("inline", "global global"),
        ("phase", "global global reg"),
        ("epilogue", "reg global"),  # GELU on the accumulator
    ],
    "b_conv_bn_relu": [
        ("inline", "global global"),  # the padding, read by the window
        ("inline", "global global"),  # the accumulator's zero fill
        ("phase", "reg global reg"),  # the convolution
        ("epilogue", "reg global global global global global"),  # BatchNormalization
        ("epilogue", "reg global"),  # ReLU
    ],
    "c_layernorm": [
        ("inline", "global global"),
        ("phase", "global reg"),  # the row sum
        ("epilogue", "reg global"),  # the mean
        ("inline", "global global"),
        ("phase", "global smem reg"),  # the sum of squares, the mean from shared memory
        ("epilogue", "reg global"),  # the variance
        ("phase", "global smem smem global global global"),  # normalize, scale, shift
    ],
    "d_softmax": [
        ("inline", "global global"),
        ("phase", "global reg"),  # the row maximum
        ("inline", "global global"),
        ("phase", "global smem reg"),  # the sum of exponentials
        ("phase", "global smem smem global"),  # the quotient
    ],
    "e_residual_layernorm": [
        ("phase", "global global global"),  # the residual Add, read from shared memory below
        ("inline", "global global"),
        ("phase", "smem reg"),
        ("epilogue", "reg global"),
        ("inline", "global global"),
        ("phase", "smem smem reg"),
        ("epilogue", "reg global"),
        ("phase", "smem smem smem global global global"),
    ],
    "f_attention": [
        ("inline", "global global"),  # Kᵀ, read where the scores need it
        ("inline", "global global"),
        ("phase", "global reg reg"),  # Q Kᵀ
        ("epilogue", "reg global global"),  # the scale
        ("epilogue", "reg global global"),  # the mask
        ("inline", "global global"),
        ("phase", "smem reg"),  # the row maximum of the scores in shared memory
        ("inline", "global global"),
        ("phase", "smem smem reg"),  # the sum of exponentials
        ("inline", "smem smem smem global"),  # the probabilities, where P V reads them
        ("inline", "global global"),
        ("phase", "reg global reg"),  # P V
    ],
    "g_conv_relu_conv": [
        ("inline", "global global"),
        ("inline", "global global"),
        ("phase", "reg global reg"),  # the first convolution
        ("epilogue", "reg global"),  # ReLU
        ("inline", "global smem"),  # the second padding, reading the ReLU from shared memory
        ("inline", "global global"),
        ("phase", "reg global reg"),  # the second convolution
    ],
    "h_matmul_chain": [
        ("inline", "global global"),
        ("phase", "global global reg"),  # A B
        ("inline", "global global"),
        ("phase", "smem global reg"),  # (A B) C, its row tile of A B in shared memory
    ],
}


def test_pattern_is_one_kernel_with_its_edges_on_chip(pattern):
    """One launch, no intermediate in global memory, and every member in the role and every
    edge at the level Welder should choose (e.g. conv + BN + ReLU: BN and ReLU are register
    epilogues of the convolution, not phases reading a shared buffer)."""
    name, model, _, _ = pattern
    counters = model.compiled.counters
    assert model.compiled.launches == 1
    assert counters.intermediate_global_bytes == 0
    (kernel,) = counters.kernels.values()
    found = [(operator["role"], " ".join(operator["levels"])) for operator in kernel.operators]
    assert found == KERNELS[name]


@pytest.mark.parametrize("name", ["c_layernorm", "f_attention", "h_matmul_chain"])
def test_unfused_build_is_one_kernel_per_operator(name):
    """fusion="none" keeps the operators apart (fills folded): the baseline Welder beats."""
    fused = compile_model(PATTERNS[name](), target="sm_90", schedule="none")
    unfused = compile_model(PATTERNS[name](), target="sm_90", fusion="none", schedule="none")
    assert unfused.compiled.launches > fused.compiled.launches == 1
    assert unfused.compiled.counters.intermediate_global_bytes > 0
    assert unfused.compiled.counters.compulsory_bytes == fused.compiled.counters.compulsory_bytes


def test_mlp_is_at_most_three_kernels():
    """Issue 10's MLP target: 3 Linear + 2 ReLU, batch 1, in at most 3 launches (at this size
    one row of each layer fits shared memory, and the chain becomes one kernel)."""
    model = compile_model(mlp(sizes=(64, 128, 128, 10)), target="sm_90")
    assert model.compiled.launches <= 3
    feeds = model.random_inputs(seed=2)
    (expected,) = ReferenceEvaluator(mlp(sizes=(64, 128, 128, 10))).run(None, feeds)
    np.testing.assert_allclose(model.run(feeds)["y"], expected, rtol=1e-4, atol=1e-5)


def test_resnet18_is_one_kernel_per_convolution():
    """Issue 10's ResNet-18 target (at most 24 launches at 224x224, BatchNormalization not
    folded): every convolution takes its padding (inline), its BatchNormalization and ReLU
    (epilogues) and a residual Add into its own kernel, so what is left is about one kernel
    per convolution (20), the pools and the classifier."""
    model = compile_model(resnet18(), target="sm_90", cache=False)
    assert model.compiled.launches <= 24
    pads = [
        operator
        for kernel in model.compiled.counters.kernels.values()
        if len(kernel.operators) == 1
        for operator in kernel.operators
    ]
    assert not pads, pads  # no kernel is a lone padding or a lone BatchNormalization


def test_a_result_read_through_a_reshape_in_another_kernel_is_stored():
    """Each ArgMax is fused with the Gather that embeds its token, and the Concat after the
    last step reads every token through its Unsqueeze inside its body: the tile-graph's edge
    through that reshape makes each ArgMax store its tokens to global memory (they were kept
    in shared memory only, and the Concat read memory nothing wrote)."""
    model = unrolled_greedy_decoder()
    expected = dict(
        zip(["tokens", "y"], ReferenceEvaluator(model).run(None, {"x": X}), strict=True)
    )
    cpu = compile_model(model, target="cpu")
    np.testing.assert_array_equal(cpu.run({"x": X})["tokens"], expected["tokens"])
    gpu = compile_model(model, target="sm_90")
    got = gpu.emulate({"x": X}, device=EmulatedDevice(checks=True))
    np.testing.assert_array_equal(got["tokens"], expected["tokens"])
    assert len(set(expected["tokens"].ravel())) > 1  # the tokens differ: a real check


X = np.random.default_rng(4).standard_normal((2, 16)).astype(np.float32)
