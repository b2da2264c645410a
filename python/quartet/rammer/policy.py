"""Rammer's wavefront policy (OSDI'20, Alg. 1): which vEU runs which tasks of every launch.

The launches are cut into waves, each a frontier of the launch graph; wave by wave, every
task is placed where it can start earliest: once what is already placed there has finished,
and once every launch the task's launch depends on has finished all its tasks (plus
``handoff``, the time a finished launch's signal takes to reach a waiting vEU). Each wave is
placed twice, appended to the plan (its tasks fill the gaps the previous waves leave) and
alone (after every earlier task has finished), and the plan that ends sooner is kept.

Three points differ from the paper's Alg. 1:

- A wave is the BFS frontier *along program order*: the longest run of consecutive launches
  none of which depends on another in the run. Launches are placed in program order, so every
  vEU's queue is in program order, which is the order the vEU program walks its segments in
  (and the order makes the table deadlock-free: the earliest unfinished launch can always
  run). When the host's order lists the graph level by level these are Alg. 1's waves; when it
  goes branch by branch the waves are shorter, and appending still overlaps the branches.
- The vEUs of one SM share it. A task's time (``LaunchNode.task_seconds``) is Welder's time of
  one block with the SM to itself, so the policy times each SM as one server running its
  tasks one after another, and deals the tasks placed on an SM to its vEUs in turn. (Timing
  each vEU as a whole SM would let ``per_sm`` tasks run at full speed on one SM at once.) A
  task that finds an idle SM has it to itself, as in Welder's model of a small kernel.
- The times kept in the table are those the vEU program has when it runs the chosen
  placement (:func:`simulate`): a segment waits only on the launches it depends on, never on
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
    """One implementation of a launch's kernel: its tasks and the time of one (with an SM to
    itself)."""

    tasks: int
    task_seconds: float

    def alone_seconds(self, sms: int) -> float:
        """Its time alone on ``sms`` SMs: rounds of tasks."""
        return math.ceil(self.tasks / sms) * self.task_seconds

    @property
    def work_seconds(self) -> float:
        return self.tasks * self.task_seconds


def rkernels(launch: LaunchNode) -> tuple[RKernel, ...]:
    """The implementations of ``launch`` to choose from (today the one Quartet lowers)."""
    return (RKernel(launch.tasks, launch.task_seconds),)


def select_rkernels(alternatives: Sequence[Sequence[RKernel]], sms: int) -> list[RKernel]:
    """Per launch of a wave, the fastest alternative when those leave some of ``sms`` idle
    SMs idle (fewer tasks together), else the most efficient (least time x tasks)."""
    fastest = [min(choices, key=lambda k: k.alone_seconds(sms)) for choices in alternatives]
    if sum(kernel.tasks for kernel in fastest) < sms:
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
    """Where one launch's tasks went: how many on each SM, and when they finish."""

    counts: tuple[int, ...]  # per SM
    finish: float


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
    state = _State([0.0] * device.sms, [], [])
    chosen_alone = []
    for wave in waves(launches):
        choices = [alternatives(launch) for launch in wave]
        appended = state.placed_wave(wave, choices, handoff, alone=False)
        alone = state.placed_wave(wave, choices, handoff, alone=True)
        better_alone = alone.makespan < appended.makespan
        state = alone if better_alone else appended
        chosen_alone.append(better_alone)
    effective = [
        replace(launch, tasks=kernel.tasks, task_seconds=kernel.task_seconds)
        for launch, kernel in zip(launches, state.kernels, strict=True)
    ]
    counts = deal([placement.counts for placement in state.placed], device)
    table = simulate(effective, counts, device, handoff)
    indices = tuple(tuple(launch.index for launch in wave) for wave in waves(launches))
    return Plan(table, indices, tuple(chosen_alone), tuple(state.kernels))


@dataclass(frozen=True)
class _State:
    """A plan being built: when each SM is free, and every launch placed so far."""

    free: list[float]
    placed: list[Placement]
    kernels: list[RKernel]

    @property
    def makespan(self) -> float:
        return max(self.free)

    def placed_wave(
        self, wave: list[LaunchNode], choices: list[Sequence[RKernel]], handoff: float, alone: bool
    ) -> _State:
        """This plan with ``wave`` placed, appended to it or alone (every SM free only once
        the plan's last task ends). The wave's rKernels are chosen for the SMs it can start
        on: those free when it can first start (alone: all of them)."""
        free = [self.makespan] * len(self.free) if alone else list(self.free)
        readies = [
            _ready([self.placed[d].finish for d in launch.depends], handoff) for launch in wave
        ]
        first = max(min(readies), min(free))
        kernels = select_rkernels(choices, sum(1 for at in free if at <= first))
        placements = [
            _place_launch(kernel, ready, free)
            for kernel, ready in zip(kernels, readies, strict=True)
        ]
        return _State(free, self.placed + placements, self.kernels + kernels)


def _ready(finished: list[float], handoff: float) -> float:
    """When a launch may start: its producers' last finish, plus the handoff (0 without any)."""
    return max(finished) + handoff if finished else 0.0


def _place_launch(kernel: RKernel, ready: float, free: list[float]) -> Placement:
    """Each task on the SM that starts it earliest; among those, the SM freed last (earlier
    gaps stay for later launches), then the lowest index. Updates ``free``."""
    counts = [0] * len(free)
    heap = [(max(at, ready), -at, sm) for sm, at in enumerate(free)]
    heapq.heapify(heap)
    for _ in range(kernel.tasks):
        begin, _, sm = heapq.heappop(heap)
        counts[sm] += 1
        done = begin + kernel.task_seconds
        free[sm] = done
        heapq.heappush(heap, (done, -done, sm))
    finish = max(free[sm] for sm, count in enumerate(counts) if count)
    return Placement(tuple(counts), finish)


def deal(per_sm_counts: Sequence[Sequence[int]], device: VirtualDevice) -> list[list[int]]:
    """Per launch, its tasks per vEU: each SM's tasks dealt to its vEUs in turn (continuing
    from launch to launch, so an SM's vEUs get even shares)."""
    turn = [0] * device.sms
    counts = []
    for row in per_sm_counts:
        per_veu = [0] * device.veus
        for sm, count in enumerate(row):
            for _ in range(count):
                per_veu[turn[sm] * device.sms + sm] += 1
                turn[sm] = (turn[sm] + 1) % device.per_sm
        counts.append(per_veu)
    return counts


def simulate(
    launches: Sequence[LaunchNode],
    counts: Sequence[Sequence[int]],
    device: VirtualDevice,
    handoff: float = 0.0,
) -> VeuTable:
    """The vEU table of a placement (``counts[launch][veu]``) with the times its vEU program
    has: every vEU runs its launches in program order, a launch's tasks on an SM starting once
    the SM has finished the launches before it there and every launch it depends on has
    finished (plus ``handoff``), and taking the SM's task count times the task's time. A
    vEU's start and end of a launch are its SM's."""
    free = [0.0] * device.sms
    finish: list[float] = []
    ranges, starts, ends = [], [], []
    for launch, row in zip(launches, counts, strict=True):
        if len(row) != device.veus or sum(row) != launch.tasks:
            raise ValueError(
                f"launch {launch.index} has {launch.tasks} tasks on {device.veus} vEUs, "
                f"placed {sum(row)} on {len(row)}"
            )
        ready = _ready([finish[d] for d in launch.depends], handoff)
        on_sm = [
            sum(row[slot * device.sms + sm] for slot in range(device.per_sm))
            for sm in range(device.sms)
        ]
        sm_start = [max(free[sm], ready) for sm in range(device.sms)]
        for sm, count in enumerate(on_sm):
            if count:
                free[sm] = sm_start[sm] + count * launch.task_seconds
        finish.append(max(free[sm] for sm, count in enumerate(on_sm) if count))
        veu_sm = [v % device.sms for v in range(device.veus)]
        starts.append(tuple(sm_start[veu_sm[v]] if row[v] else 0.0 for v in range(device.veus)))
        ends.append(tuple(free[veu_sm[v]] if row[v] else 0.0 for v in range(device.veus)))
        ranges.append(_ranges(row))
    makespan = max(finish, default=0.0)
    return VeuTable(device.veus, tuple(ranges), tuple(starts), tuple(ends), makespan)


def pinned(
    launches: Sequence[LaunchNode],
    table: VeuTable,
    device: VirtualDevice,
    pins: Sequence[int],
    veu: int,
    handoff: float = 0.0,
) -> VeuTable:
    """``table`` (of ``launches`` on ``device``) with every task of each launch of ``pins``
    (indices) on vEU ``veu``, the others where they were, timed anew (:func:`simulate`): the
    launches of a loop or branch one CTA runs (quartet-grinder's cta scope)."""
    if not 0 <= veu < device.veus:
        raise ValueError(f"vEU {veu} is not one of the {device.veus} vEUs")
    counts = [list(table.counts(launch.index)) for launch in launches]
    for index in pins:
        counts[index] = [launches[index].tasks if v == veu else 0 for v in range(device.veus)]
    return simulate(launches, counts, device, handoff)


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
