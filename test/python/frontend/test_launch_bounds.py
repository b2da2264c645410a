"""ptxas gives every kernel the registers it needs (quartet-launch-bounds): no spills because
ptxas chased an occupancy Quartet did not ask for."""

from __future__ import annotations

import pytest
from models import FLOAT, make_model
from onnx import TensorProto, helper

from quartet.frontend.onnx import compile_model
from quartet.ptxas import find_ptxas

pytestmark = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")


def windowed_attention() -> object:
    """Grouped-query attention (4 query heads over 2 KV heads) with a causal sliding window,
    a boolean mask, a softcap and a float64 softmax. Its score kernel has 96 threads; given
    only ``.maxntid 96``, ptxas held it to 40 registers and spilled 32 bytes (CUDA 13)."""
    attention = helper.make_node(
        "Attention",
        ["q", "k", "v", "mask"],
        ["y"],
        is_causal=1,
        left_window_size=2,
        softcap=2.0,
        softmax_precision=TensorProto.DOUBLE,
    )
    inputs = [
        ("q", FLOAT, [1, 4, 4, 8]),
        ("k", FLOAT, [1, 2, 6, 8]),
        ("v", FLOAT, [1, 2, 6, 6]),
        ("mask", TensorProto.BOOL, [1, 4, 4, 6]),
    ]
    return make_model([attention], inputs, [("y", FLOAT, [1, 4, 4, 6])], opset=26)


def test_no_kernel_spills_to_reach_an_occupancy_nobody_asked_for():
    """Each kernel launched on its own (schedule none; a persistent kernel's .minnctapersm is
    its planned vEUs per SM, test_rammer.py)."""
    compiled = compile_model(
        windowed_attention(), target="sm_90", schedule="none", cache=False
    ).compiled
    spilled = {name: info.spill_stores for name, info in compiled.ptxas.items()}
    assert len(spilled) > 1 and set(spilled.values()) == {0}, spilled
    for name, ptx in compiled.ptx.items():
        assert ".minnctapersm 1\n" in ptx, name
