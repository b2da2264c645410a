"""Rammer's wavefront policy (OSDI'20, Alg. 1): which vEU runs which tasks of every launch.

The launches are cut into waves, each a frontier of the launch graph; wave by wave, every
task is placed on the vEU that can start it earliest: when the vEU has finished what it
already holds, and when every launch the task's launch depends on has finished all its tasks
(plus ``handoff``, the time a finished launch's signal takes to reach a waiting vEU). Each
wave is placed twice, appended to the plan (its tasks fill the gaps the previous waves leave)
and alone (after every earlier task has finished), and the plan that ends sooner is kept.

Two points differ from the paper's Alg. 1, both because the vEU program walks one table:

- A wave is the BFS frontier *along program order*: the longest run of consecutive launches
  none of which depends on another in the run. Launches are placed in program order, so every
  vEU's queue is in program order, which is the order the vEU program walks its segments in
  (and the order makes the table deadlock-free: the earliest unfinished launch can always
  run). When the host's order lists the graph level by level these are Alg. 1's waves; when it
  goes branch by branch the waves are shorter, and appending still overlaps the branches.
- The times kept in the table are those the vEU program has when it runs the chosen
  placement (:func:`simulate`): a vEU waits only on the launches its task depends on, never on
  a whole wave, so a wave placed "alone" may start earlier than the plan said.

Identical tasks of one launch are counts per vEU, then contiguous ranges in vEU order:

    >>> device = VirtualDevice(sms=2, per_sm=1)
    >>> launches = [LaunchNode(0, "k0", 3, 1.0, ()), LaunchNode(1, "k1", 2, 2.0, (0,))]
    >>> wavefront(launches, device).ranges
    (((0, 2), (2, 3)), ((0, 1), (1, 2)))

rKernels: Rammer picks, per wave, each launch's fastest implementation when the wave cannot
fill the device, else its most efficient (least time x tasks). Quartet lowers one rKernel per
kernel today (:func:`rkernels`), so the choice is made among one.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice


@dataclass(frozen=True)
class RKernel:
    """One implementation of a launch's kernel: its tasks and the time of one."""

    tasks: int
    task_seconds: float

    def alone_seconds(self, veus: int) -> float:
        """Its time alone on ``veus`` vEUs: rounds of tasks."""
        return math.ceil(self.tasks / veus) * self.task_seconds

    @property
    def work_seconds(self) -> float:
        return self.tasks * self.task_seconds


def rkernels(launch: LaunchNode) -> tuple[RKernel, ...]:
    """The implementations of ``launch`` to choose from (today the one Quartet lowers)."""
    return (RKernel(launch.tasks, launch.task_seconds),)


def select_rkernels(alternatives: Sequence[Sequence[RKernel]], veus: int) -> list[RKernel]:
    """Per launch of a wave, the fastest alternative when those fill fewer than ``veus`` vEUs
    together, else the most efficient (least time x tasks)."""
    fastest = [min(choices, key=lambda k: k.alone_seconds(veus)) for choices in alternatives]
    if sum(kernel.tasks for kernel in fastest) < veus:
        return fastest
    return [min(choices, key=lambda k: k.work_seconds) for choices in alternatives]


def waves(launches: Sequence[LaunchNode]) -> list[list[LaunchNode]]:
    """The launches cut into runs of program order in which no launch depends on another."""
    found: list[list[LaunchNode]] = []
    members: set[int] = set()
    for launch in launches:
        if not found or members.intersection(launch.depends):
            found.append([])
            members = set()
        found[-1].append(launch)
        members.add(launch.index)
    return found


@dataclass(frozen=True)
class Placement:
    """Where one launch's tasks went: per vEU the count and the modelled start of the first."""

    counts: tuple[int, ...]
    start: tuple[float, ...]
    end: tuple[float, ...]

    @property
    def finish(self) -> float:
        return max(end for end, count in zip(self.end, self.counts, strict=True) if count)


@dataclass(frozen=True)
class Plan:
    """The policy's result: the vEU table, the waves (program indices), per wave whether it
    was placed alone (after every earlier task) rather than appended, and the rKernel chosen
    for each launch (the table partitions its tasks)."""

    table: VeuTable
    waves: tuple[tuple[int, ...], ...]
    alone: tuple[bool, ...]
    kernels: tuple[RKernel, ...]


Alternatives = Callable[[LaunchNode], Sequence[RKernel]]


def wavefront(
    launches: Sequence[LaunchNode], device: VirtualDevice, handoff: float = 0.0
) -> VeuTable:
    """The vEU table of ``launches`` (program order) on ``device`` (see the module)."""
    return plan(launches, device, handoff).table


def plan(
    launches: Sequence[LaunchNode],
    device: VirtualDevice,
    handoff: float = 0.0,
    alternatives: Alternatives = rkernels,
) -> Plan:
    """:func:`wavefront`, with the waves, the choice made for each and the rKernels chosen
    among ``alternatives`` (per launch)."""
    _check(launches, device)
    state = _State([0.0] * device.veus, [], [])
    chosen_alone = []
    for wave in waves(launches):
        choices = [alternatives(launch) for launch in wave]
        appended = state.placed_wave(wave, choices, device, handoff, alone=False)
        alone = state.placed_wave(wave, choices, device, handoff, alone=True)
        better_alone = alone.makespan < appended.makespan
        state = alone if better_alone else appended
        chosen_alone.append(better_alone)
    effective = [
        replace(launch, tasks=kernel.tasks, task_seconds=kernel.task_seconds)
        for launch, kernel in zip(launches, state.kernels, strict=True)
    ]
    table = simulate(effective, [placement.counts for placement in state.placed], handoff)
    indices = tuple(tuple(launch.index for launch in wave) for wave in waves(launches))
    return Plan(table, indices, tuple(chosen_alone), tuple(state.kernels))


@dataclass(frozen=True)
class _State:
    """A plan being built: when each vEU is free, and every launch placed so far."""

    free: list[float]
    placed: list[Placement]
    kernels: list[RKernel]

    @property
    def makespan(self) -> float:
        return max(self.free)

    def placed_wave(
        self,
        wave: list[LaunchNode],
        choices: list[Sequence[RKernel]],
        device: VirtualDevice,
        handoff: float,
        alone: bool,
    ) -> _State:
        """This plan with ``wave`` placed, appended to it or alone (every vEU free only once
        the plan's last task ends). The wave's rKernels are chosen for the vEUs it can start
        on: those free when it can first start (alone: all of them)."""
        free = [self.makespan] * device.veus if alone else list(self.free)
        readies = [
            _ready([self.placed[d].finish for d in launch.depends], handoff) for launch in wave
        ]
        first = max(min(readies), min(free))
        kernels = select_rkernels(choices, sum(1 for at in free if at <= first))
        placements = [
            _place_launch(kernel, ready, free, device)
            for kernel, ready in zip(kernels, readies, strict=True)
        ]
        return _State(free, self.placed + placements, self.kernels + kernels)


def _ready(finished: list[float], handoff: float) -> float:
    """When a launch may start: its producers' last finish, plus the handoff (0 without any)."""
    return max(finished) + handoff if finished else 0.0


def _place_launch(
    kernel: RKernel, ready: float, free: list[float], device: VirtualDevice
) -> Placement:
    """Each task on the vEU that starts it earliest; among those, the lowest slot (an SM of
    its own while one is idle), then the vEU freed last (earlier gaps stay for later
    launches), then the lowest index. Updates ``free``."""
    veus = len(free)
    counts = [0] * veus
    first = [0.0] * veus
    heap = [(max(at, ready), v // device.sms, -at, v) for v, at in enumerate(free)]
    heapq.heapify(heap)
    for _ in range(kernel.tasks):
        begin, slot, _, v = heapq.heappop(heap)
        if not counts[v]:
            first[v] = begin
        counts[v] += 1
        done = begin + kernel.task_seconds
        free[v] = done
        heapq.heappush(heap, (done, slot, -done, v))
    end = tuple(
        first[v] + counts[v] * kernel.task_seconds if counts[v] else 0.0 for v in range(veus)
    )
    return Placement(tuple(counts), tuple(first), end)


def simulate(
    launches: Sequence[LaunchNode], counts: Sequence[Sequence[int]], handoff: float = 0.0
) -> VeuTable:
    """The vEU table of a placement (``counts[launch][veu]``) with the times its vEU program
    has: every vEU runs its launches in program order, each segment starting once the vEU
    has finished the one before and every launch it depends on has finished (plus
    ``handoff``)."""
    veus = len(counts[0]) if counts else 0
    free = [0.0] * veus
    finish: list[float] = []
    ranges, starts, ends = [], [], []
    for launch, row in zip(launches, counts, strict=True):
        if sum(row) != launch.tasks:
            raise ValueError(f"launch {launch.index} has {launch.tasks} tasks, placed {sum(row)}")
        ready = _ready([finish[d] for d in launch.depends], handoff)
        start = [max(free[v], ready) if row[v] else 0.0 for v in range(veus)]
        end = [start[v] + row[v] * launch.task_seconds if row[v] else 0.0 for v in range(veus)]
        for v in range(veus):
            if row[v]:
                free[v] = end[v]
        finish.append(max(end))
        ranges.append(_ranges(row))
        starts.append(tuple(start))
        ends.append(tuple(end))
    makespan = max(finish, default=0.0)
    return VeuTable(veus, tuple(ranges), tuple(starts), tuple(ends), makespan)


def _ranges(row: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Counts per vEU -> contiguous task ranges [lo, hi) in vEU order."""
    bounds = []
    lo = 0
    for count in row:
        bounds.append((lo, lo + count))
        lo += count
    return tuple(bounds)


def _check(launches: Sequence[LaunchNode], device: VirtualDevice) -> None:
    if device.sms < 1 or device.per_sm < 1:
        raise ValueError(f"a virtual device needs at least one vEU, got {device}")
    for position, launch in enumerate(launches):
        if launch.index != position:
            raise ValueError(f"launch {launch.kernel} has index {launch.index} at {position}")
        if launch.tasks < 1:
            raise ValueError(f"launch {position} ({launch.kernel}) has {launch.tasks} tasks")
        if not (math.isfinite(launch.task_seconds) and launch.task_seconds >= 0):
            raise ValueError(
                f"launch {position} ({launch.kernel}) takes {launch.task_seconds} s per task"
            )
        if any(not 0 <= d < position for d in launch.depends):
            raise ValueError(
                f"launch {position} ({launch.kernel}) depends on {launch.depends}: only "
                "earlier launches can be waited for"
            )
