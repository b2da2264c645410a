"""Models with loops and branches on a GPU target as host loops (``control_flow="host"``): the
host program runs the loops around the kernels and reads conditions back. Each model of
controlflow_models.py, small, on the CPU and as PTX in the emulator with every checker, against
onnxruntime; what the loops cost per iteration (test_device_loops.py: the same models with
their control flow on the device)."""

from __future__ import annotations

import numpy as np
import pytest
from controlflow_models import MODELS, assert_close, model_of, reference, small
from onnx import TensorProto, helper

from quartet.frontend.onnx import compile_model
from quartet.runtime.program import Launch, Loop, While, walk


@pytest.fixture(scope="module", params=list(MODELS))
def compiled(request):
    model, feeds = small(request.param)
    gpu = compile_model(model, target="sm_90", control_flow="host")
    return request.param, model, feeds, gpu


def test_cpu_and_emulated_ptx_match_onnxruntime(compiled):
    name, model, feeds, gpu = compiled
    expected = reference(model, feeds)
    assert_close(compile_model(model, target="cpu").run(feeds), expected)
    assert_close(gpu.run(feeds), expected)
    assert_close(gpu.emulate(feeds), expected)  # every checker on
    assert all(info.spill_stores == info.spill_loads == 0 for info in gpu.compiled.ptxas.values())


def test_the_host_program_holds_the_loops(compiled):
    """Every loop of the model is a Loop or While step of the host program, whose body
    launches kernels; a kernel that takes the loop's index gets the index register."""
    name, _, _, gpu = compiled
    steps = walk(gpu.compiled.host.steps)
    loops = [step for step in steps if isinstance(step, Loop | While)]
    assert len(loops) == len(gpu.compiled.counters.loops)
    for loop in (step for step in loops if isinstance(step, Loop)):
        inner = [s for s in walk(loop.body) if isinstance(s, Launch)]
        assert inner
        indexed = [s for s in inner if loop.index in dict(s.scalars).values()]
        if name in ("lstm", "stacked_lstm", "gru"):  # the step reads xw at its time index
            assert indexed


def test_early_exit_reads_its_condition_back_once_per_check():
    """The while loop's condition is read back before each iteration and once more to stop:
    iterations + 1 round trips, one per iteration in the counters."""
    model, feeds = small("early_exit")
    gpu = compile_model(model, target="sm_90", control_flow="host")
    outputs, counts = gpu.emulate_counted(feeds)
    iterations = int(outputs["count"])
    assert 1 < iterations < 12  # stops before its bound: the trip count is the data's
    assert counts.round_trips == iterations + 1
    assert gpu.compiled.counters.host_round_trips_per_iteration == 1
    (loop,) = gpu.compiled.counters.loops
    assert loop.trips is None
    kernels_per_iteration = loop.per_iteration.launches
    assert sum(counts.launches.values()) == gpu.compiled.counters.launches + (
        iterations * kernels_per_iteration
    )


def test_blockdrop_runs_some_blocks_and_skips_others():
    """Each If reads its gate back (one round trip per block); the taken branches launch
    the block's kernel, the skipped ones only copy the input through."""
    model, feeds = small("blockdrop")
    gpu = compile_model(model, target="sm_90", control_flow="host")
    outputs, counts = gpu.emulate_counted(feeds)
    assert_close(outputs, reference(model, feeds))
    assert counts.round_trips == 3
    regions = gpu.compiled.counters.data_dependent
    then_kernels = {k for r in regions if r.region.startswith("then") for k in r.kernels}
    else_kernels = {k for r in regions if r.region.startswith("else") for k in r.kernels}
    ran = sum(counts.launches[k] for k in then_kernels - else_kernels)
    skipped = sum(counts.launches[k] for k in else_kernels - then_kernels)
    assert ran > 0 and skipped > 0


def test_a_recurrent_step_is_two_kernels_and_rows_are_copies():
    """Double buffering: two steps per iteration, each a recurrence and a cell kernel, the
    carried values' copies fused into them (no copy kernel); Y's rows are copies into a view
    (O(T): the bytes of an iteration do not grow with the sequence)."""
    per_iteration = []
    for steps in (4, 8):
        model, _ = MODELS["lstm"](steps=steps, batch=2, features=8, hidden=8)
        counters = compile_model(model, target="sm_90", control_flow="host").compiled.counters
        (loop,) = counters.loops
        assert loop.trips == steps // 2
        assert loop.per_iteration.launches <= 4  # two steps
        assert loop.per_iteration.copies == 2  # a row per step
        assert loop.per_iteration.copy_bytes == 2 * 2 * (2 * 8 * 4)  # rows of 2 x 8 floats
        per_iteration.append(loop.per_iteration.global_bytes)
    assert per_iteration[0] == per_iteration[1]


def test_an_odd_trip_count_runs_its_last_step_after_the_loop():
    model, feeds = MODELS["gru"](steps=5, batch=1, features=4, hidden=4)
    gpu = compile_model(model, target="sm_90", control_flow="host")
    (loop,) = gpu.compiled.counters.loops
    assert loop.trips == 2
    assert_close(gpu.emulate(feeds), reference(model, feeds))


def _loop_with_transpose(steps: int = 6, width: int = 8):
    """h <- tanh(h W^T): the transpose of W (an input, so not folded at import) is the same in
    every iteration."""
    rng = np.random.default_rng(0)
    body = helper.make_graph(
        [
            helper.make_node("Transpose", ["W"], ["wt"], perm=[1, 0]),
            helper.make_node("MatMul", ["h_in", "wt"], ["hw"]),
            helper.make_node("Tanh", ["hw"], ["h_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, width]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, width]),
        ],
    )
    model = model_of(
        [helper.make_node("Loop", ["M", "", "h"], ["y"], body=body)],
        [("h", TensorProto.FLOAT, [1, width]), ("W", TensorProto.FLOAT, [width, width])],
        [("y", TensorProto.FLOAT, [1, width])],
        {"M": np.array(steps, np.int64)},
    )
    feeds = {
        "h": rng.uniform(-1, 1, (1, width)).astype(np.float32),
        "W": rng.uniform(-0.5, 0.5, (width, width)).astype(np.float32),
    }
    return model, feeds


def test_a_weight_transpose_in_a_loop_body_runs_once():
    model, feeds = _loop_with_transpose()
    gpu = compile_model(model, target="sm_90", control_flow="host")
    counters = gpu.compiled.counters
    transposes = [
        traffic.launches
        for traffic in counters.kernels.values()
        if [o["operator"] for o in traffic.operators] == ["elementwise 8x8"]
    ]
    assert transposes == [1]  # before the loop, not once per step
    (loop,) = counters.loops
    assert loop.per_iteration.launches == 2  # two steps in one kernel, and the carried copy
    assert_close(gpu.emulate(feeds), reference(model, feeds))


def test_an_input_projection_in_a_loop_body_is_one_matmul_before_the_loop():
    """An LSTM written as a Loop gathers x_t = X[i] and multiplies it by W in its body: the
    product for all steps is one contraction before the loop, the body reads its row."""
    from models import lstm_loop, lstm_reference

    model = lstm_loop(steps=8)
    gpu = compile_model(model, target="sm_90", control_flow="host")
    projections = [
        traffic.launches
        for traffic in gpu.compiled.counters.kernels.values()
        if any(o["operator"] == "reduction 8x2x16x3" for o in traffic.operators)
    ]
    assert projections == [1]  # 8 steps x 2 rows x 16 gates, summed over 3 features
    feeds = gpu.random_inputs(seed=3)
    expected = lstm_reference(feeds, model)
    for name, value in gpu.emulate(feeds).items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-4, atol=1e-5)
