"""Models with loops and branches on a GPU target with their control flow on the device
(Grinder, the default ``control_flow="device"``): each model of controlflow_models.py, small,
is one launch of the persistent kernel with no host round trip, its constructs on the grid
(``control_flow="grid"``) or where the cost model puts them (one CTA: these bodies have a
task or two per launch); on the CPU and as PTX in the emulator with every checker it matches
onnxruntime; inference after inference on one loaded model (the grid barrier and the
counters are reset-free: the run numbers carry over); the launches inside a device loop on
the grid wait on their producers' counters, epoch their run numbers, not on grid barriers;
and planted bugs are reported by the emulator's checkers: on the grid, a grid barrier, a
wait, a run number's increment or its store for the next inference taken away; on one CTA,
the owner's guard or the grid barrier after the construct taken away."""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pytest
from controlflow_models import MODELS, assert_close, bench, reference, small
from mlir import ir

from quartet import pipelines
from quartet.dialects import create_context
from quartet.dialects.controlflow import PLACEMENT
from quartet.errors import QuartetError
from quartet.frontend.onnx import compile_model
from quartet.passes.rammer import flow
from quartet.passes.rammer import order as ordering
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
    for loop in counters.loops:
        if loop.placement == "grid":
            assert loop.per_iteration.waits >= 1  # an iteration's launches wait on counters
        else:  # one CTA: neither a wait nor a grid barrier inside
            assert loop.per_iteration.waits == loop.per_iteration.grid_barriers == 0
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
    for info in gpu.compiled.ptxas.values():  # the run numbers in registers
        assert info.spill_stores == info.spill_loads == info.stack_frame == 0, info


GRID_BARRIERS_PER_ITERATION = {
    "lstm": 0,
    "stacked_lstm": 0,
    "bilstm": 0,
    "gru": 0,
    "greedy_decoder": 0,
    "early_exit": 1,  # the next iteration's condition overwrites what every vEU loaded
    "fed_limit": 1,
    "skip_block": None,  # no loop
    "blockdrop": None,
    "gated_head": None,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_device_loops_wait_on_counters_not_grid_barriers(name):
    """A loop's launches are ordered by counter waits; a grid barrier remains only before a
    launch that overwrites a condition every vEU loaded (the early exit's while loop): the
    counters say so and the IR has exactly that many grid barriers in the loop body (Grinder
    before counters: 3 per iteration on each of these loops)."""
    gpu = _compiled(name, "grid")
    counters = gpu.compiled.counters
    assert counters.grid_barriers_per_iteration == GRID_BARRIERS_PER_ITERATION[name]
    if not counters.loops:
        return
    body = _loop_body(gpu.compiled.loops_ir)
    assert body.count('{scope = "grid"}') == GRID_BARRIERS_PER_ITERATION[name]
    assert body.count('"schedule.wait"') >= 1


def _loop_body(text: str) -> str:
    """The text of the first loop quartet-grinder placed on the grid in the module ``text``."""
    with create_context():
        module = ir.Module.parse(text)
        found = []

        def visit(op):
            if op.name in ("scf.for", "scf.while") and PLACEMENT in op.attributes:
                found.append(str(op))
                return ir.WalkResult.INTERRUPT
            return ir.WalkResult.ADVANCE

        module.operation.walk(visit)
    assert found
    return found[0]


def test_a_wait_in_a_device_loop_takes_its_producers_run_number():
    """Inside the LSTM's device loop, a wait's epoch operand is its producer's run number: the
    loop body's entry number (a vEU's i32 cell, +1 where each iteration starts), less one
    for a producer later in the body (its run of the previous iteration), so the expected
    count grows with the iteration."""
    model, _ = small("lstm")
    body = _loop_body(compile_model(model, target="sm_90", control_flow="grid").compiled.loops_ir)
    entered = re.match(
        r"scf\.for .*\{\n\s*(%\w+) = memref\.load (%\w+)\[\] : memref<i32>\n"
        r"\s*(%c1_i32\w*) = arith\.constant 1 : i32\n\s*(%\w+) = arith\.addi \1, \3 : i32\n"
        r"\s*memref\.store \4, \2\[\]",
        body,
    )
    assert entered is not None, body[:400]
    cell = entered.group(2)
    this = re.findall(
        rf"(%\w+) = memref\.load {cell}\[\] : memref<i32>\n(?:.*\n){{0,2}}?"
        r'\s*"schedule\.wait"\(%\w+, %\w+, %\w+, \1\)',
        body,
    )
    previous = re.findall(
        rf"(%\w+) = memref\.load {cell}\[\] : memref<i32>\n.*\n\s*(%\w+) = arith\.subi \1, "
        r'.*\n(?:.*\n){0,2}?\s*"schedule\.wait"\(%\w+, %\w+, %\w+, \2\)',
        body,
    )
    assert this and previous


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
    """The counters buffer is zeroed once, when the program is loaded: the barrier's arrivals
    come back to 0 after every barrier and its generation only grows, and each block's
    entry number (its launches' run number) carries over to the next inference, so
    inferences in a row on one emulated GPU (every checker on) are each right, the early exit
    stopping at a different iteration each time, on the grid and on one CTA. At the end
    each launch's counter is its tasks times its run number; on one CTA, the loop's blocks
    have no entry cell and its launches signal nothing (their counters stay 0), and the
    generation grows by the same grid barriers around the loop every inference."""
    model, _ = small("early_exit")
    gpu = compile_model(model, target="sm_90", control_flow=control_flow)
    device = EmulatedDevice(checks=True)
    loaded = load_program(gpu.compiled.host, gpu.compiled.ptx, device)
    rng = np.random.default_rng(0)
    counts = set()
    for scale in (1.0, 0.3, 3.0):
        feeds = {"x": (scale * rng.uniform(-1, 1, (1, 16))).astype(np.float32)}
        _infer(gpu, gpu.compiled, model, device, loaded, feeds)
        counts.add(int(reference(model, feeds)["count"]))
    assert len(counts) > 1
    launches, tasks = _segments(gpu.compiled.loops_ir)
    cells = np.zeros(gpu.compiled.host.buffers[gpu.compiled.host.counters].spec.shape, np.int32)
    device.read(loaded.storage[gpu.compiled.host.counters], cells)
    arrivals, generation = cells[launches : launches + 2]
    entries = [int(number) for number in cells[launches + 2 :]]
    assert arrivals == 0
    assert entries[0] == 3  # the program's body: once per inference
    pairs = list(zip(cells[:launches], tasks, strict=True))
    assert all(counter % count == 0 for counter, count in pairs)
    runs = [int(counter) // count for counter, count in pairs]  # tasks x runs each
    if control_flow == "grid":
        assert generation > 3  # a barrier per iteration and one at the end, three inferences
        assert min(entries[1:]) > 3  # the loop's condition and body: once per iteration
        assert set(runs) <= set(entries)  # tasks x runs each
        return
    assert gpu.compiled.counters.grid_barriers >= 2  # after the owner's loop, and at the end
    assert generation == 3 * gpu.compiled.counters.grid_barriers
    assert entries == [3]  # the loop on one CTA counts no entries
    assert 0 in runs and set(runs) <= {0, 3}  # the owner's launches signal nothing


def _segments(text: str) -> tuple[int, list[int]]:
    """The launches of the vEU program in ``text`` and each one's tasks."""
    launches = int(re.search(r"schedule\.grid_sync = (\d+)", text).group(1))
    found = re.findall(r'#schedule\.segment<(\d+) : i64, "[^"]*", (\d+) : i64', text)
    tasks = dict((int(launch), int(count)) for launch, count in found)
    assert sorted(tasks) == list(range(launches))
    return launches, [tasks[launch] for launch in range(launches)]


def _infer(gpu, compiled, model, device, loaded, feeds) -> None:
    """One inference of ``compiled`` (``gpu``'s, or a planted variant of it) on a program
    ``loaded`` on ``device``, its outputs checked against onnxruntime's of ``model``."""
    arrays = compiled.signature.check_inputs(gpu._arguments(feeds))
    outputs = compiled.signature.new_outputs()
    read = dict(enumerate(outputs, start=len(arrays)))
    run_host_program(compiled.host, device, loaded, dict(enumerate(arrays)), read)
    expected = reference(model, feeds)
    names = [output.name for output in gpu.outputs]
    got = {n: o.reshape(expected[n].shape) for n, o in zip(names, outputs, strict=True)}
    assert_close(got, expected)


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


def test_a_grid_barrier_removed_from_a_device_loop_is_a_cross_cta_race():
    """Planted bug (_without_grid_barriers) on the early exit's device loop, whose next
    iteration overwrites the condition every CTA loads, a grid barrier between them: caught
    by the cross-CTA race checker (``race-global``: the overwrite and a slower CTA's load
    with no release/acquire chain between them, which the barrier gave); the intact
    barrier's acq_rel arrival, release and acquire poll order them for the checker."""
    model, feeds = small("early_exit")
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
    exit's while loop (one or two tasks per launch) is cheaper on one CTA than with its waits
    and grid barrier; the issue's LSTM at hidden 256 and batch 64 has too many tasks per step
    for one CTA: the model puts it on the grid (whose persistent kernel then spills and falls
    back to the host loop, docs/grinder.md, so its figures are read from the modelled costs)."""
    placed = re.compile(
        r'controlflow\.placement = #controlflow\.device<"(\w+)">, grinder\.modelled = '
        r"\{cta_seconds = ([-+.\dE]+) : f64, device_seconds = ([-+.\dE]+) : f64"
    )
    tiny = compile_model(small("early_exit")[0], target="sm_90", control_flow="device")
    ((scope, cta, grid),) = placed.findall(tiny.compiled.loops_ir)
    assert scope == "cta" and float(cta) < float(grid)
    large = compile_model(bench("lstm_b64")[0], target="sm_90", control_flow="device")
    modelled = (
        r"grinder\.modelled = \{cta_seconds = ([-+.\dE]+) : f64, device_seconds = ([-+.\dE]+)"
    )
    ((cta, grid),) = re.findall(modelled, large.compiled.loops_ir)
    assert float(cta) > 10 * float(grid)


def _cta_compiled(monkeypatch, **broken):
    """The small early exit, its while loop on one CTA, compiled anew with ``broken``'s
    functions of passes/rammer/flow.py (a planted bug)."""
    for name, replacement in broken.items():
        monkeypatch.setattr(flow, name, replacement)
    model, feeds = small("early_exit")
    gpu = compile_model(model, target="sm_90", control_flow="device", cache=False)
    assert {p.placement for p in gpu.compiled.counters.placements} == {"cta"}
    return gpu, feeds


def test_a_construct_on_one_cta_run_by_every_veu_is_rejected(monkeypatch):
    """Planted bug: no owner guard, so every vEU would run the while loop on one CTA (its
    segments empty on all but the owner, reading the loop's condition while the owner writes
    it): its segments, which signal nothing, are then outside an owner's guard, and the vEU
    program's verifier rejects them; the intact program passes race-global."""
    gpu, feeds = _cta_compiled(monkeypatch)
    _run(gpu, gpu.compiled, feeds, {"race-global"})
    with pytest.raises(QuartetError, match="0 schedule.signal ops, expected 1"):
        _cta_compiled(monkeypatch, guard_owned=lambda body, veu: None)


def test_a_construct_on_one_cta_without_the_grid_barrier_after_it_is_a_race(monkeypatch):
    """Planted bug: the construct on one CTA leaves nothing pending (order.py), so no grid
    barrier follows it and the launches after it (on other vEUs) read the fixed point the
    owner wrote without an acquire of its release (race-global)."""
    unit = ordering._Walk.unit

    def forgetful(self, op, state):
        unit(self, op, state)
        return state

    gpu, feeds = _cta_compiled(monkeypatch)
    assert gpu.compiled.counters.grid_barriers >= 2  # after the construct, at the end
    _run(gpu, gpu.compiled, feeds, {"race-global"})
    monkeypatch.setattr(ordering._Walk, "unit", forgetful)
    broken, _ = _cta_compiled(monkeypatch)
    with pytest.raises(QuartetError, match="global-race"):
        _run(broken, broken.compiled, feeds, {"race-global"})


def _planted(monkeypatch, name: str, target, attribute: str, replacement):
    """Model ``name`` compiled with its constructs on the grid and ``target.attribute``
    replaced (a planted bug), uncached."""
    model, feeds = small(name)
    with monkeypatch.context() as patch:
        patch.setattr(target, attribute, replacement)
        gpu = compile_model(model, target="sm_90", control_flow="grid", cache=False)
    return model, feeds, gpu


def test_a_run_number_left_as_it_was_is_a_cross_cta_race(monkeypatch):
    """Planted bug: the LSTM's loop body does not count its entries, so its launches' run
    numbers do not grow (each wait's expected count stuck at the last inference's), and a
    wait in the loop holds before its producer's run of this iteration is done: race-global
    reports the unordered accesses."""
    model, feeds, gpu = _planted(monkeypatch, "lstm", flow.RunNumbers, "entered", _nothing)
    with pytest.raises(QuartetError, match="global-race"):
        _run(gpu, gpu.compiled, feeds, {"race-global"})


def _nothing(*_):
    return None


def test_a_wait_removed_inside_a_device_loop_is_a_cross_cta_race(monkeypatch):
    """Planted bug: the first launch inside the LSTM's device loop that waits loses its waits
    (on the previous iteration's launches and those before the loop): race-global reports
    it, where the intact program (test_cpu_and_emulated_ptx_match_onnxruntime) passes."""

    def without_a_wait(ops, accesses):
        decided = ordering.order(ops, accesses)
        first = next(
            op
            for op, waits in decided.waits.items()
            if waits and accesses(op) is not None and PLACEMENT in op.parent.attributes
        )
        decided.waits[first] = ()
        return decided

    model, feeds, gpu = _planted(monkeypatch, "lstm", flow, "order", without_a_wait)
    with pytest.raises(QuartetError, match="global-race"):
        _run(gpu, gpu.compiled, feeds, {"race-global"})


def test_run_numbers_not_stored_for_the_next_inference_fail_it(monkeypatch):
    """Planted bug: vEU 0 does not store the entry numbers at the end, so the second
    inference on the loaded LSTM starts its run numbers at 0 while the counters hold the
    first one's tasks: its waits hold at once, which race-global reports; the first inference
    is right."""
    model, feeds, gpu = _planted(monkeypatch, "lstm", flow.RunNumbers, "publish", _nothing)
    device = EmulatedDevice(checks={"race-global"})
    loaded = load_program(gpu.compiled.host, gpu.compiled.ptx, device)
    _infer(gpu, gpu.compiled, model, device, loaded, feeds)
    with pytest.raises(QuartetError, match="global-race"):
        _infer(gpu, gpu.compiled, model, device, loaded, feeds)
