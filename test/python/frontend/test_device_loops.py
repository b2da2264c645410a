"""Models with loops and branches on a GPU target with their control flow on the device
(Grinder, the default ``control_flow="device"``): each model of controlflow_models.py, small,
is one launch of the persistent kernel with no host round trip, its constructs on the grid
(``control_flow="grid"``) or where the cost model puts them (one CTA: these bodies have a
task or two per launch); on the CPU and as PTX in the emulator with every checker it matches
onnxruntime; inference after inference on one loaded model (the grid barrier is reset-free);
a grid barrier planted away from the PTX of a device loop is reported by the emulator's
cross-CTA race checker, and so are a construct on one CTA run by every vEU and one whose
writes are read without the grid barrier after it."""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pytest
from controlflow_models import MODELS, assert_close, bench, reference, small

from quartet import pipelines
from quartet.errors import QuartetError
from quartet.frontend.onnx import compile_model
from quartet.passes.rammer import flow
from quartet.pipelines import GRAPH_TO_LOOPS
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.program import Launch, load_program, run_host_program, walk

SCOPES = {"grid": "grid", "device": "cta"}
"""control_flow -> where the small loop models' constructs go: forced on the grid, or the cost
model's choice (one CTA; the gated head's branches stay on the grid, its contractions being
cheaper spread over the vEUs)."""


@functools.cache
def _compiled(name: str, control_flow: str):
    return compile_model(small(name)[0], target="sm_90", control_flow=control_flow)


@pytest.fixture(scope="module", params=[(m, c) for m in MODELS for c in SCOPES], ids=str)
def compiled(request):
    name, control_flow = request.param
    model, feeds = small(name)
    return control_flow, model, feeds, _compiled(name, control_flow)


@pytest.fixture(scope="module", params=list(MODELS))
def on_grid(request):
    return _compiled(request.param, "grid")


def test_one_launch_and_no_round_trip(compiled):
    """Every loop and branch is placed on the device, on the grid or (the cost model's
    choice for these small bodies) on one CTA, which passes no grid barrier per iteration;
    the host launches the persistent kernel once and reads nothing back, in the counters and
    in a run of the PTX."""
    control_flow, _, feeds, gpu = compiled
    counters = gpu.compiled.counters
    assert counters.placements
    scopes = {placement.placement for placement in counters.placements}
    if control_flow == "grid":
        assert scopes == {"grid"}
    else:  # one CTA, unless the model says the grid is cheaper (the gated head's contractions)
        assert scopes <= {"grid", "cta"}
        grid = [p for p in counters.placements if p.placement == "grid"]
        assert all(p.device_seconds <= p.cta_seconds for p in grid)
    assert counters.launches == 1
    assert counters.host_round_trips == 0
    if counters.loops:
        assert counters.host_round_trips_per_iteration == 0
        if scopes == {"grid"}:
            assert counters.grid_barriers_per_iteration >= 1  # at least the iteration's end
        else:
            assert counters.grid_barriers_per_iteration == 0
    (launch,) = [step for step in walk(gpu.compiled.host.steps) if isinstance(step, Launch)]
    assert launch.cooperative
    _, counts = gpu.emulate_counted(feeds, device=EmulatedDevice(checks=False))
    assert sum(counts.launches.values()) == 1
    assert counts.round_trips == 0


def test_cpu_and_emulated_ptx_match_onnxruntime(compiled):
    control_flow, model, feeds, gpu = compiled
    expected = reference(model, feeds)
    cpu = compile_model(model, target="cpu", control_flow=control_flow)
    assert_close(cpu.run(feeds), expected)
    assert_close(gpu.run(feeds), expected)
    assert_close(gpu.emulate(feeds), expected)  # every checker on
    assert all(info.spill_stores == info.spill_loads == 0 for info in gpu.compiled.ptxas.values())


def test_the_grid_barrier_is_a_generation_barrier_in_the_ptx(on_grid):
    """Thread 0 reads the generation relaxed, arrives with an acq_rel add, the last one
    releases the next generation, the others poll it with acquire loads (inline PTX where
    LLVM would drop the ordering)."""
    (ptx,) = on_grid.compiled.ptx.values()
    for instruction in (
        r"ld\.relaxed\.gpu\.global\.b32",
        r"atom\.acq_rel\.gpu\.global\.add\.u32",
        r"red\.release\.gpu\.global\.add\.u32",
        r"ld\.acquire\.gpu\.global\.b32",
        r"nanosleep\.u32",
    ):
        assert re.search(instruction, ptx), instruction


@pytest.mark.parametrize("control_flow", list(SCOPES))
def test_inference_after_inference_on_one_loaded_model(control_flow):
    """The barrier's cells are zeroed once, when the program is loaded: arrivals come back
    to 0 after every barrier and the generation only grows, so inferences in a row on one
    emulated GPU (every checker on) are each right, the early exit stopping at a different
    iteration each time, on the grid and on one CTA (whose loop passes no grid barrier: the
    generation grows by the same barriers around it every inference)."""
    model, _ = small("early_exit")
    gpu = compile_model(model, target="sm_90", control_flow=control_flow)
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
    if control_flow == "grid":
        assert generation > 3  # several barriers per iteration, three inferences
    else:
        assert compiled.counters.grid_barriers >= 1  # the owner reads what others copied
        assert generation == 3 * compiled.counters.grid_barriers
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
    """Planted bug (_without_grid_barriers) on the LSTM's grid loop: a CTA reads the
    recurrent state before the CTA that writes it has: the uninitialised-global checker
    names the read; the intact program passes the same checker."""
    model, feeds = small("lstm")
    gpu = compile_model(model, target="sm_90", control_flow="grid")
    _run(gpu, gpu.compiled, feeds, {"uninit-global"})
    with pytest.raises(QuartetError, match="uninitialized-global: .*no kernel or host copy wrote"):
        _run(gpu, _without_grid_barriers(gpu), feeds, {"uninit-global"})


def test_a_grid_barrier_removed_from_a_device_loop_is_a_cross_cta_race():
    """The same planted bug, caught by the cross-CTA race checker (``race-global``): an
    iteration reads what another CTA wrote with no release/acquire chain between them, which
    the barrier gave; the intact barrier's acq_rel arrival, release and acquire poll order
    every iteration's accesses for the checker."""
    model, feeds = small("lstm")
    gpu = compile_model(model, target="sm_90", control_flow="grid")
    _run(gpu, gpu.compiled, feeds, {"race-global"})
    with pytest.raises(QuartetError, match="global-race"):
        _run(gpu, _without_grid_barriers(gpu), feeds, {"race-global"})


def test_a_trip_count_fed_at_run_time_bounds_the_device_loop():
    """Loop's M as a graph input: read once on the device before the loop, which then runs
    ``min(M, until converged)`` iterations: none for M = 0, M of them for a small M, on the CPU
    and as PTX in the emulator with every checker, one launch each, on the grid and on one
    CTA."""
    model, feeds = small("fed_limit")
    cpu = compile_model(model, target="cpu")
    for control_flow, scope in SCOPES.items():
        gpu = _compiled("fed_limit", control_flow)
        assert {placement.placement for placement in gpu.compiled.counters.placements} == {scope}
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


def test_the_cost_model_puts_a_small_body_on_one_cta_and_a_large_lstm_on_the_grid():
    """quartet-grinder's decision and its modelled reason, read from the IR: the small early
    exit's while loop (one or two tasks per launch) is cheaper on one CTA than with grid
    barriers; the issue's LSTM at hidden 256 and batch 64 has too many tasks per step for one
    CTA and stays on the grid."""
    placed = re.compile(
        r'controlflow\.placement = #controlflow\.device<"(\w+)">, grinder\.modelled = '
        r"\{cta_seconds = ([-+.\dE]+) : f64, device_seconds = ([-+.\dE]+) : f64"
    )
    tiny = compile_model(small("early_exit")[0], target="sm_90", control_flow="device")
    ((scope, cta, grid),) = placed.findall(tiny.compiled.loops_ir)
    assert scope == "cta" and float(cta) < float(grid)
    large = compile_model(bench("lstm_b64")[0], target="sm_90", control_flow="device")
    ((scope, cta, grid),) = placed.findall(large.compiled.loops_ir)
    assert scope == "grid" and float(cta) > 10 * float(grid)
    assert large.compiled.counters.grid_barriers_per_iteration >= 1


def _cta_compiled(monkeypatch, **broken):
    """The small early exit, its while loop on one CTA, compiled anew with ``broken``'s
    functions of passes/rammer/flow.py (a planted bug)."""
    for name, replacement in broken.items():
        monkeypatch.setattr(flow, name, replacement)
    model, feeds = small("early_exit")
    gpu = compile_model(model, target="sm_90", control_flow="device", cache=False)
    assert {p.placement for p in gpu.compiled.counters.placements} == {"cta"}
    return gpu, feeds


def test_a_construct_on_one_cta_run_by_every_veu_is_a_cross_cta_race(monkeypatch):
    """Planted bug: no owner guard, so every vEU runs the while loop on one CTA (its segments
    empty on all but the owner): the others read the loop's condition while the owner writes
    it, with no release/acquire between them (race-global); the intact program passes."""
    gpu, feeds = _cta_compiled(monkeypatch)
    _run(gpu, gpu.compiled, feeds, {"race-global"})
    broken, _ = _cta_compiled(monkeypatch, guard_owned=lambda body, veu: None)
    with pytest.raises(QuartetError, match="global-race"):
        _run(broken, broken.compiled, feeds, {"race-global"})


def test_a_construct_on_one_cta_without_the_grid_barrier_after_it_is_a_race(monkeypatch):
    """Planted bug: the construct on one CTA leaves nothing pending, so no grid barrier
    follows it and the launches after it (on other vEUs) read the fixed point the owner wrote
    without an acquire of its release (race-global)."""
    owned_construct = flow.Barriers.owned_construct

    def forgetful(self, op, pending):
        owned_construct(self, op, pending)
        return flow.Pending()

    gpu, feeds = _cta_compiled(monkeypatch)
    _run(gpu, gpu.compiled, feeds, {"race-global"})
    monkeypatch.setattr(flow.Barriers, "owned_construct", forgetful)
    broken, _ = _cta_compiled(monkeypatch)
    with pytest.raises(QuartetError, match="global-race"):
        _run(broken, broken.compiled, feeds, {"race-global"})
