"""Rammer's wavefront policy, its dependencies and its cost model, on graphs computed by hand."""

from __future__ import annotations

import math
import random

import pytest

from quartet.rammer.cost import (
    LAUNCH_SECONDS,
    figures,
    handoff_seconds,
    launch_charge,
    sequence_seconds,
    task_seconds,
    utilisation,
)
from quartet.rammer.dependencies import dependencies
from quartet.rammer.policy import RKernel, pinned, plan, select_rkernels, wavefront, waves
from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice

FOUR = VirtualDevice(sms=4, per_sm=1)


def node(index, tasks, seconds, *depends, kernel=None) -> LaunchNode:
    return LaunchNode(index, kernel or f"k{index}", tasks, seconds, tuple(depends))


def test_chain_runs_one_launch_after_another_with_a_handoff_between():
    """4 tasks of 1 s fill the 4 vEUs once, 2 tasks of 2 s half of them, 8 tasks of 1 s
    twice: 1 + 2 + 2 s, and two handoffs of 0.5 s."""
    chain = [node(0, 4, 1.0), node(1, 2, 2.0, 0), node(2, 8, 1.0, 1)]
    assert wavefront(chain, FOUR).makespan == pytest.approx(5.0)
    table = wavefront(chain, FOUR, handoff=0.5)
    assert table.makespan == pytest.approx(6.0)
    assert table.start[2][0] == pytest.approx(3.5 + 0.5)


def test_diamond_runs_its_branches_side_by_side():
    """A (4 x 1 s) -> B (2 x 1 s), C (2 x 2 s) -> D (1 x 1 s): B and C share the 4 vEUs from
    1 s; D waits for C, the longer, until 3 s."""
    diamond = [node(0, 4, 1.0), node(1, 2, 1.0, 0), node(2, 2, 2.0, 0), node(3, 1, 1.0, 1, 2)]
    table = wavefront(diamond, FOUR)
    assert table.makespan == pytest.approx(4.0)
    assert [table.start[1][v] for v in range(4) if table.counts(1)[v]] == [1.0, 1.0]
    assert [table.start[2][v] for v in range(4) if table.counts(2)[v]] == [1.0, 1.0]
    assert table.start[3][table.counts(3).index(1)] == pytest.approx(3.0)
    assert sequence_seconds(diamond, 4, launch_seconds=0.0) == pytest.approx(5.0)


def test_pinned_launches_run_every_task_on_one_veu():
    """A chain whose middle launch (2 x 2 s) one CTA runs: both its tasks on vEU 0, one
    after the other (4 s instead of 2 s), the other launches where the policy put them."""
    chain = [node(0, 4, 1.0), node(1, 2, 2.0, 0), node(2, 4, 1.0, 1)]
    table = wavefront(chain, FOUR)
    owned = pinned(chain, table, FOUR, [1], 0)
    assert owned.counts(1) == (2, 0, 0, 0)
    assert owned.ranges[1] == ((0, 2), (2, 2), (2, 2), (2, 2))
    assert owned.counts(0) == table.counts(0) and owned.counts(2) == table.counts(2)
    assert owned.end[1][0] == pytest.approx(1.0 + 4.0)
    assert owned.makespan == pytest.approx(6.0)
    with pytest.raises(ValueError, match="vEU 4 is not one of the 4 vEUs"):
        pinned(chain, table, FOUR, [1], 4)


def test_independent_branches_of_small_kernels_share_the_device():
    """Two branches of two 2-task kernels, listed branch by branch: the second branch runs on
    the vEUs the first leaves idle, so both end at 2 s (the sequence: 4 s and 4 launches);
    every vEU is busy the whole time."""
    branches = [node(0, 2, 1.0), node(1, 2, 1.0, 0), node(2, 2, 1.0), node(3, 2, 1.0, 2)]
    table = wavefront(branches, FOUR)
    assert table.makespan == pytest.approx(2.0)
    assert [table.start[2][v] for v in _veus(table, 2)] == [0.0, 0.0]
    assert set(_veus(table, 0)) == set(_veus(table, 1))  # a branch stays on its vEUs
    assert set(_veus(table, 0)).isdisjoint(_veus(table, 2))
    assert utilisation(table, branches, FOUR) == pytest.approx(1.0)
    sequence = sequence_seconds(branches, 4)
    assert sequence == pytest.approx(4.0 + 4 * LAUNCH_SECONDS)


def test_a_wave_that_overfills_the_device_runs_in_rounds():
    """10 tasks of 1 s on 4 vEUs: 3, 3, 2 and 2 tasks, in contiguous ranges, 3 s; with an
    independent 6-task launch beside it, the 16 tasks fill 4 rounds exactly."""
    table = wavefront([node(0, 10, 1.0)], FOUR)
    assert table.ranges[0] == ((0, 3), (3, 6), (6, 8), (8, 10))
    assert table.makespan == pytest.approx(3.0)
    assert utilisation(table, [node(0, 10, 1.0)], FOUR) == pytest.approx(10 / 12)
    both = [node(0, 10, 1.0), node(1, 6, 1.0)]
    table = wavefront(both, FOUR)
    assert table.makespan == pytest.approx(4.0)
    assert utilisation(table, both, FOUR) == pytest.approx(1.0)


def test_the_vEUs_of_an_SM_share_it():
    """2 SMs x 2 vEUs. 6 tasks of 1 s: 3 per SM, one after another (3 s, not 2), dealt to the
    SM's vEUs in turn (vEU v on SM v % 2). A later 2-task launch finds both SMs free at 3 s and
    runs 1 s, each task with an SM to itself, on the vEUs whose turn it is."""
    device = VirtualDevice(sms=2, per_sm=2)
    launches = [node(0, 6, 1.0), node(1, 2, 1.0, 0)]
    table = wavefront(launches, device)
    assert table.counts(0) == (2, 2, 1, 1)
    assert table.ranges[0] == ((0, 2), (2, 4), (4, 5), (5, 6))
    assert table.end[0] == (3.0, 3.0, 3.0, 3.0)
    assert table.counts(1) == (0, 0, 1, 1)
    assert table.makespan == pytest.approx(4.0)
    assert utilisation(table, launches, device) == pytest.approx(8 / 8)
    assert sequence_seconds(launches, device.sms, 0.0) == pytest.approx(4.0)


def test_a_wave_is_placed_alone_when_that_ends_sooner():
    """Wave 0: A keeps 3 vEUs busy 5 s, B one vEU 1 s. Wave 1: C (after B) has a slow
    efficient rKernel (1 task x 12 s) and a fast one (3 tasks x 4.5 s). Appended, C is ready
    at 1 s with one idle vEU: the wave fills it, so the efficient rKernel runs there until
    13 s. Alone, C starts at 5 s on 4 idle vEUs: its fast rKernel does not fill them and
    ends at 9.5 s, sooner. Wave 2 (D, one 1 s task after C) is appended (alone would end
    at the same time: a tie keeps the appended plan)."""
    launches = [node(0, 3, 5.0), node(1, 1, 1.0), node(2, 1, 12.0, 1), node(3, 1, 1.0, 2)]
    options = {2: (RKernel(1, 12.0), RKernel(3, 4.5))}

    def alternatives(launch):
        return options.get(launch.index, (RKernel(launch.tasks, launch.task_seconds),))

    result = plan(launches, FOUR, alternatives=alternatives)
    assert result.waves == ((0, 1), (2,), (3,))
    assert result.alone == (False, True, False)
    assert result.kernels[2] == RKernel(3, 4.5)
    assert result.table.counts(2) == (1, 1, 1, 0)  # A's vEUs, from 5 s
    assert [result.table.start[2][v] for v in range(3)] == [5.0, 5.0, 5.0]
    assert result.table.makespan == pytest.approx(9.5 + 1.0)


def test_rkernels_fastest_while_the_wave_leaves_SMs_idle_else_most_efficient():
    """Fast: 16 tasks of 1 s; efficient: 2 tasks of 4 s (8 s of work, not 16)."""
    fast, efficient = RKernel(16, 1.0), RKernel(2, 4.0)
    assert select_rkernels([(fast, efficient)], sms=17) == [fast]
    assert select_rkernels([(fast, efficient)] * 2, sms=33) == [fast, fast]
    assert select_rkernels([(fast, efficient)] * 2, sms=32) == [efficient, efficient]
    # On one SM the efficient one is also the fastest (8 s against 16 s).
    assert select_rkernels([(efficient, fast)], sms=1) == [efficient]


def test_waves_are_runs_of_program_order_without_a_dependence_inside():
    launches = [
        node(0, 1, 1.0),
        node(1, 1, 1.0),
        node(2, 1, 1.0, 0),
        node(3, 1, 1.0),
        node(4, 1, 1.0, 3),
    ]
    assert [[launch.index for launch in wave] for wave in waves(launches)] == [[0, 1], [2, 3], [4]]


def random_graph(seed: int) -> tuple[list[LaunchNode], VirtualDevice]:
    rng = random.Random(seed)
    launches = []
    for index in range(rng.randint(1, 14)):
        depends = sorted(rng.sample(range(index), rng.randint(0, min(index, 3))))
        launches.append(node(index, rng.randint(1, 40), rng.uniform(0.5, 3.0), *depends))
    return launches, VirtualDevice(rng.randint(1, 5), rng.randint(1, 3))


@pytest.mark.parametrize("seed", range(40))
def test_tables_partition_tasks_in_program_order_after_their_producers(seed):
    launches, device = random_graph(seed)
    handoff = 0.25
    table = wavefront(launches, device, handoff)
    assert table.veus == device.veus and len(table.ranges) == len(launches)
    for launch in launches:
        # contiguous ranges in vEU order, covering [0, tasks)
        bounds = table.ranges[launch.index]
        assert bounds[0][0] == 0 and bounds[-1][1] == launch.tasks
        assert all(hi >= lo for lo, hi in bounds)
        assert all(bounds[v][1] == bounds[v + 1][0] for v in range(len(bounds) - 1))
        # no task starts before its producers have all finished (and the handoff)
        finished = max((_finish(table, d) for d in launch.depends), default=-handoff)
        for v in _veus(table, launch.index):
            assert table.start[launch.index][v] >= finished + handoff - 1e-12
            # the vEU's SM runs all its tasks of the launch, one after another
            on_sm = sum(
                table.counts(launch.index)[u] for u in range(v % device.sms, table.veus, device.sms)
            )
            busy = on_sm * launch.task_seconds
            assert table.end[launch.index][v] == pytest.approx(table.start[launch.index][v] + busy)
    for veu in range(table.veus):
        # every vEU runs its launches in program order, one after the other
        queue = table.segments(veu)
        assert queue == sorted(queue)
        for before, after in zip(queue, queue[1:], strict=False):
            assert table.start[after][veu] >= table.end[before][veu] - 1e-12
    assert table.makespan == pytest.approx(max(_finish(table, i) for i in range(len(launches))))
    assert 0 < utilisation(table, launches, device) <= 1 + 1e-12


def test_figures_count_tasks_dependencies_and_waits():
    diamond = [node(0, 4, 1.0), node(1, 2, 1.0, 0), node(2, 2, 2.0, 0), node(3, 1, 1.0, 1, 2)]
    table = wavefront(diamond, FOUR)
    result = figures(diamond, table, FOUR, launch_seconds=0.5)
    assert (result.veus, result.launches, result.tasks) == (4, 4, 9)
    assert (result.dependencies, result.waits) == (4, 2 + 2 + 2)
    assert result.sequence_seconds == pytest.approx(5.0 + 4 * 0.5)
    assert result.makespan_seconds == pytest.approx(4.0)
    assert result.ratio == pytest.approx(4.0 / 7.0)
    assert result.utilisation == pytest.approx((4 + 2 + 4 + 1) / 16)


def test_dependencies_from_reads_and_writes():
    """RAW through a shared buffer, WAR and WAW on a reused temporary (the WAW implied by
    the WAR's reader, so reduced away), an in-place update, and an unrelated launch."""
    reads = [{10}, {1}, set(), {1}, {5}, {1}]
    writes = [{1}, {2}, {1}, {3}, {5}, {1}]
    assert dependencies(reads, writes) == ((), (0,), (1,), (2,), (), (3,))


def test_dependencies_are_transitively_reduced():
    reads = [set(), {0}, {0, 1}, {0, 1, 2}]
    writes = [{0}, {1}, {2}, {3}]
    assert dependencies(reads, writes) == ((), (0,), (1,), (2,))
    with pytest.raises(ValueError, match="2 read sets but 1 write sets"):
        dependencies([set(), set()], [set()])


def test_task_seconds_give_back_welders_time_on_the_SMs():
    """9 us with a 3 us launch charge, 6 tasks on 4 SMs: 2 rounds of 3 us."""
    seconds = task_seconds(9e-6, 3e-6, tasks=6, sms=4)
    assert seconds == pytest.approx(3e-6)
    assert sequence_seconds([node(0, 6, seconds)], 4, 0.0) == pytest.approx(6e-6)
    with pytest.raises(ValueError, match="does not include a charge"):
        task_seconds(1e-6, 3e-6, tasks=1, sms=4)
    with pytest.raises(ValueError, match="does not include a charge"):
        task_seconds(math.inf, 3e-6, tasks=1, sms=4)


def test_launch_charge_is_a_launch_without_rammer_and_a_handoff_with_it():
    assert launch_charge("none", 1.98e9) == LAUNCH_SECONDS
    assert launch_charge("rammer", 1.98e9) == handoff_seconds(1.98e9)
    assert handoff_seconds(1.98e9) < LAUNCH_SECONDS / 10
    with pytest.raises(ValueError, match="unknown schedule 'eager'"):
        launch_charge("eager", 1.98e9)


def test_bad_launches_are_refused():
    with pytest.raises(ValueError, match="only earlier launches"):
        wavefront([node(0, 1, 1.0, 0)], FOUR)
    with pytest.raises(ValueError, match="has 0 tasks"):
        wavefront([node(0, 0, 1.0)], FOUR)
    with pytest.raises(ValueError, match="index 1 at 0"):
        wavefront([node(1, 1, 1.0)], FOUR)


def test_gantt_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from quartet.rammer.gantt import gantt

    diamond = [node(0, 4, 1e-6), node(1, 2, 1e-6, 0), node(2, 2, 2e-6, 0), node(3, 1, 1e-6, 1, 2)]
    path = gantt(wavefront(diamond, FOUR), diamond, FOUR, tmp_path / "gantt.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _veus(table: VeuTable, launch: int) -> list[int]:
    return [v for v, count in enumerate(table.counts(launch)) if count]


def _finish(table: VeuTable, launch: int) -> float:
    return max(table.end[launch][v] for v in _veus(table, launch))
