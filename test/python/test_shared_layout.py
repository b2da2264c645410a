"""The best-fit placement of a kernel's shared buffers over their lifetimes
(``quartet.passes.lower_tiles.shared``), and that what the lowering allocates is what ptxas
reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mlir import ir

from quartet.dialects import create_context
from quartet.passes.lower_tiles.shared import ALIGNMENT, Buffer, _best_gap, place
from quartet.ptxas import find_ptxas

sys.path.insert(0, str(Path(__file__).parent / "frontend"))


@pytest.fixture
def f32():
    with create_context():
        yield ir.F32Type.get()


def _buffer(name, words, first, last, element):
    return Buffer((name,), (words,), element, first, last)


def _overlap(a: Buffer, b: Buffer, offsets) -> bool:
    return offsets[a.key] < offsets[b.key] + b.bytes and offsets[b.key] < offsets[a.key] + a.bytes


def test_buffers_alive_in_different_phases_share_bytes(f32):
    first, second = _buffer("a", 100, 0, 0, f32), _buffer("b", 60, 1, 1, f32)
    placed = place([first, second])
    assert placed.offsets == {("a",): 0, ("b",): 0}
    assert placed.total == 416  # 400 bytes, the allocation rounded up to whole 32 bytes


def test_buffers_alive_together_never_overlap_and_are_aligned(f32):
    buffers = [
        _buffer("a", 10, 0, 2, f32),
        _buffer("b", 33, 1, 1, f32),
        _buffer("c", 7, 0, 0, f32),
        _buffer("d", 50, 2, 3, f32),
    ]
    placed = place(buffers)
    for a in buffers:
        assert placed.offsets[a.key] % ALIGNMENT == 0
        for b in buffers:
            alive = a.first <= b.last and b.first <= a.last
            if a is not b and alive:
                assert not _overlap(a, b, placed.offsets), (a.key, b.key)
    end = max(placed.offsets[b.key] + b.bytes for b in buffers)
    assert end == 264 and placed.total == 288  # rounded up: aligned vectors stay inside


def test_best_fit_takes_the_smallest_gap_that_holds_the_buffer():
    taken = [(0, 100), (300, 400), (480, 600)]  # gaps at 128 (172 B) and at 416 (64 B)
    assert _best_gap(taken, 64) == 416
    assert _best_gap(taken, 100) == 128
    assert _best_gap(taken, 200) == 608  # no gap holds it: after them all, aligned


def test_a_buffer_alive_across_phases_keeps_its_bytes(f32):
    """The second phase's buffer reuses the first's bytes, never the long-lived one's."""
    buffers = [
        _buffer("result", 64, 0, 1, f32),
        _buffer("stage0", 48, 0, 0, f32),
        _buffer("stage1", 48, 1, 1, f32),
    ]
    placed = place(buffers)
    assert placed.offsets[("stage0",)] == placed.offsets[("stage1",)] == 256
    assert placed.total == 448


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
def test_fused_conv_relu_conv_allocates_its_best_fit_bytes():
    """ptxas reports the one shared allocation the lowering emits: conv -> ReLU -> conv's
    staging buffers reuse each other's bytes (7552 B where the buffers add up to 13056)."""
    from fusion_models import PATTERNS

    from quartet.frontend.onnx import compile_model

    model = compile_model(PATTERNS["g_conv_relu_conv"](), target="sm_90").compiled
    (kernel,) = model.kernels
    assert kernel.shared_bytes == model.ptxas[kernel.name].shared_bytes == 7552
