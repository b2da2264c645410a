"""Models with loops and branches on a GPU target with their control flow on the device
(Grinder, the default ``control_flow="device"``): each model of controlflow_models.py, small,
is one launch of the persistent kernel with no host round trip; on the CPU and as PTX in the
emulator with every checker it matches onnxruntime; inference after inference on one loaded
model (the grid barrier is reset-free); and a grid barrier planted away from the PTX of a
device loop is reported by the emulator's cross-CTA race checker."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from controlflow_models import MODELS, assert_close, reference, small

from quartet import pipelines
from quartet.errors import QuartetError
from quartet.frontend.onnx import compile_model
from quartet.pipelines import GRAPH_TO_LOOPS
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.program import Launch, load_program, run_host_program, walk


@pytest.fixture(scope="module", params=list(MODELS))
def compiled(request):
    model, feeds = small(request.param)
    return request.param, model, feeds, compile_model(model, target="sm_90")


def test_one_launch_and_no_round_trip(compiled):
    """Every loop and branch is placed on the grid; the host launches the persistent kernel
    once and reads nothing back, in the counters and in a run of the PTX."""
    _, _, feeds, gpu = compiled
    counters = gpu.compiled.counters
    assert counters.placements
    assert {placement.placement for placement in counters.placements} == {"grid"}
    assert counters.launches == 1
    assert counters.host_round_trips == 0
    if counters.loops:
        assert counters.host_round_trips_per_iteration == 0
        assert counters.grid_barriers_per_iteration >= 1  # at least the iteration's end
    (launch,) = [step for step in walk(gpu.compiled.host.steps) if isinstance(step, Launch)]
    assert launch.cooperative
    _, counts = gpu.emulate_counted(feeds, device=EmulatedDevice(checks=False))
    assert sum(counts.launches.values()) == 1
    assert counts.round_trips == 0


def test_cpu_and_emulated_ptx_match_onnxruntime(compiled):
    _, model, feeds, gpu = compiled
    expected = reference(model, feeds)
    assert_close(compile_model(model, target="cpu").run(feeds), expected)
    assert_close(gpu.run(feeds), expected)
    assert_close(gpu.emulate(feeds), expected)  # every checker on
    assert all(info.spill_stores == info.spill_loads == 0 for info in gpu.compiled.ptxas.values())


def test_the_grid_barrier_is_a_generation_barrier_in_the_ptx(compiled):
    """Thread 0 reads the generation relaxed, arrives with an acq_rel add, the last one
    releases the next generation, the others poll it with acquire loads (inline PTX where
    LLVM would drop the ordering)."""
    _, _, _, gpu = compiled
    (ptx,) = gpu.compiled.ptx.values()
    for instruction in (
        r"ld\.relaxed\.gpu\.global\.b32",
        r"atom\.acq_rel\.gpu\.global\.add\.u32",
        r"red\.release\.gpu\.global\.add\.u32",
        r"ld\.acquire\.gpu\.global\.b32",
        r"nanosleep\.u32",
    ):
        assert re.search(instruction, ptx), instruction


def test_inference_after_inference_on_one_loaded_model():
    """The barrier's cells are zeroed once, when the program is loaded: arrivals come back
    to 0 after every barrier and the generation only grows, so inferences in a row on one
    emulated GPU (every checker on) are each right, the early exit stopping at a different
    iteration each time."""
    model, _ = small("early_exit")
    gpu = compile_model(model, target="sm_90")
    compiled = gpu.compiled
    device = EmulatedDevice(checks=True)
    loaded = load_program(compiled.host, compiled.ptx, device)
    rng = np.random.default_rng(0)
    counts = set()
    for scale in (1.0, 0.3, 3.0):
        feeds = {"x": (scale * rng.uniform(-1, 1, (1, 16))).astype(np.float32)}
        arrays = compiled.signature.check_inputs(gpu._arguments(feeds))
        outputs = compiled.signature.new_outputs()
        read = dict(enumerate(outputs, start=len(arrays)))
        run_host_program(compiled.host, device, loaded, dict(enumerate(arrays)), read)
        expected = reference(model, feeds)
        names = [output.name for output in gpu.outputs]
        got = {n: o.reshape(expected[n].shape) for n, o in zip(names, outputs, strict=True)}
        assert_close(got, expected)
        counts.add(int(expected["count"]))
    cells = np.zeros(compiled.host.buffers[compiled.host.counters].spec.shape, np.int32)
    device.read(loaded.storage[compiled.host.counters], cells)
    arrivals, generation = cells[-2:]
    assert arrivals == 0
    assert generation > 3  # several barriers per iteration, three inferences
    assert len(counts) > 1


def _without_grid_barriers(gpu):
    """``gpu``'s program with a planted bug: every CTA takes itself for the last to arrive at
    each grid barrier (the arrival's atomic replaced by the count of the last one), so no CTA
    waits for the others."""
    ((name, ptx),) = gpu.compiled.ptx.items()
    (launch,) = [step for step in walk(gpu.compiled.host.steps) if isinstance(step, Launch)]
    arrival = r"atom\.acq_rel\.gpu\.global\.add\.u32\s+(%r\d+),\s*\[%rd\d+\],\s*%r\d+;"
    broken, planted = re.subn(arrival, rf"mov.u32 \1, {launch.grid[0] - 1};", ptx)
    assert planted >= 1
    return dataclasses.replace(gpu.compiled, ptx={name: broken})


def _run(gpu, compiled, feeds, checks) -> None:
    arrays = compiled.signature.check_inputs(gpu._arguments(feeds))
    outputs = compiled.signature.new_outputs()
    device = EmulatedDevice(checks=checks)
    loaded = load_program(compiled.host, compiled.ptx, device)
    read = dict(enumerate(outputs, start=len(arrays)))
    run_host_program(compiled.host, device, loaded, dict(enumerate(arrays)), read)


def test_a_grid_barrier_removed_from_a_device_loop_reads_unwritten_state():
    """Planted bug (_without_grid_barriers) on the LSTM's device loop: a CTA reads the
    recurrent state before the CTA that writes it has: the uninitialised-global checker
    names the read; the intact program passes the same checker."""
    model, feeds = small("lstm")
    gpu = compile_model(model, target="sm_90")
    _run(gpu, gpu.compiled, feeds, {"uninit-global"})
    with pytest.raises(QuartetError, match="uninitialized-global: .*no kernel or host copy wrote"):
        _run(gpu, _without_grid_barriers(gpu), feeds, {"uninit-global"})


def test_a_grid_barrier_removed_from_a_device_loop_is_a_cross_cta_race():
    """The same planted bug, caught by the cross-CTA race checker (``race-global``): an
    iteration reads what another CTA wrote with no release/acquire chain between them, which
    the barrier gave; the intact barrier's acq_rel arrival, release and acquire poll order
    every iteration's accesses for the checker."""
    model, feeds = small("lstm")
    gpu = compile_model(model, target="sm_90")
    _run(gpu, gpu.compiled, feeds, {"race-global"})
    with pytest.raises(QuartetError, match="global-race"):
        _run(gpu, _without_grid_barriers(gpu), feeds, {"race-global"})


def test_a_trip_count_fed_at_run_time_bounds_the_device_loop():
    """Loop's M as a graph input: read once on the device before the loop, which then runs
    ``min(M, until converged)`` iterations: none for M = 0, M of them for a small M, on the CPU
    and as PTX in the emulator with every checker, one launch each."""
    model, feeds = small("fed_limit")
    gpu = compile_model(model, target="sm_90")
    assert {placement.placement for placement in gpu.compiled.counters.placements} == {"grid"}
    cpu = compile_model(model, target="cpu")
    for bound in (0, 1, 4):
        fed = {**feeds, "limit": np.array(bound, np.int64)}
        expected = reference(model, fed)
        assert int(expected["count"]) == bound
        assert_close(cpu.run(fed), expected)
        got, counts = gpu.emulate_counted(fed)
        assert_close(got, expected)
        assert sum(counts.launches.values()) == 1


SPECULATE = "quartet-speculate-branches"


def _without_speculation(monkeypatch) -> None:
    """Compile with every step but quartet-speculate-branches (what it changes, compared)."""
    steps = [step for step in GRAPH_TO_LOOPS if not step[0].startswith(SPECULATE)]
    assert len(steps) == len(GRAPH_TO_LOOPS) - 1
    monkeypatch.setattr(pipelines, "GRAPH_TO_LOOPS", steps)


def test_small_operators_leave_the_branch(monkeypatch):
    """quartet-speculate-branches on the gated head: the negation in both branches and the
    sigmoid of the then branch (each a kernel of its own there, Welder's grouping) leave the
    If, marked in the IR and counted in the report; each branch launches one kernel where it
    launched two (the host-loop form counts a branch's launches); the contractions stay. Both
    sides of the If match onnxruntime on the CPU and as PTX with every checker, with the
    control flow on the device and on the host."""
    model, feeds = small("gated_head")
    assert feeds["x"].mean() > 0  # the gate: the then branch runs, and for -x the else
    sides = [feeds, {"x": -feeds["x"]}]
    device = compile_model(model, target="sm_90", cache=False)
    host = compile_model(model, target="sm_90", control_flow="host", cache=False)
    cpu = compile_model(model, target="cpu", cache=False)
    for gpu in (device, host):
        (placement,) = gpu.compiled.counters.placements
        assert placement.speculated == 2
    branches = [region.launches for region in host.compiled.counters.data_dependent]
    assert branches == [1, 1]
    for side in sides:
        expected = reference(model, side)
        assert_close(cpu.run(side), expected)
        for gpu in (device, host):
            assert_close(gpu.emulate(side), expected)  # every checker on
    _without_speculation(monkeypatch)
    before = compile_model(model, target="sm_90", control_flow="host", cache=False)
    assert [region.launches for region in before.compiled.counters.data_dependent] == [2, 2]
    assert before.compiled.counters.placements[0].speculated == 0
