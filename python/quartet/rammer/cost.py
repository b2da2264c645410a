"""What a launch costs, with and without Rammer: the figures the policy and the reports use.

- A task's time comes from Welder's latency model (``passes/welder/model.py``), which gives
  each kernel ``waves x (a wave's time) + charge``: its blocks in waves over the SMs, plus the
  per-launch charge it was given. Take the charge out and divide by the rounds the kernel's
  tasks take one per SM, and the kernel alone takes exactly what Welder modelled, one task
  per SM at a time, each with the SM to itself (:func:`task_seconds`; the policy deals an
  SM's tasks to its vEUs, which share it).
- Without Rammer, every kernel is its own launch, one after the other, and every launch costs
  :data:`LAUNCH_SECONDS` (:func:`sequence_seconds`). With Rammer there is one launch, and a
  dependency between two launches costs :func:`handoff_seconds`: a signal reaching the
  waiting vEU through L2.
- Welder's charge per kernel (``quartet-welder{launch-seconds=...}``) is
  :func:`launch_charge`: a launch without Rammer, a handoff with it, so that Welder does not
  fuse to save launches that Rammer no longer pays for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice

LAUNCH_SECONDS = 3e-6
"""One kernel launch: NVIDIA's "Getting Started with CUDA Graphs" (developer blog, 2019)
measures about 3 us per launch of a short kernel issued back to back from a stream."""

L2_HIT_CYCLES = 193
"""Latency of a global load that hits in L2: Jia et al., "Dissecting the NVIDIA Volta GPU
Architecture via Microbenchmarking" (arXiv:1804.06826, 2018), measured on V100 (the same
paper whose L2 bandwidth ``hardware/specs.py`` cites as [JIA18])."""

HANDOFF_L2_TRIPS = 2
"""A dependency between two launches of the vEU program: the producer's release add reaches
L2, and the consumer's acquire poll reads it back from L2 (the CTA barriers around them are
a few tens of cycles and the poll's backoff is not modelled)."""

SCHEDULES = ("none", "rammer")


def handoff_seconds(clock_hz: float) -> float:
    """The time a finished launch's signal takes to release a vEU waiting on it."""
    return HANDOFF_L2_TRIPS * L2_HIT_CYCLES / clock_hz


def launch_charge(schedule: str, clock_hz: float) -> float:
    """What Welder charges each kernel under ``schedule``: a launch ("none"), or a handoff
    between launches of the vEU program ("rammer"); ValueError for another schedule."""
    if schedule == "none":
        return LAUNCH_SECONDS
    if schedule == "rammer":
        return handoff_seconds(clock_hz)
    raise ValueError(f"unknown schedule '{schedule}' (expected one of: {', '.join(SCHEDULES)})")


def task_seconds(kernel_seconds: float, charged_seconds: float, tasks: int, sms: int) -> float:
    """One task's time with an SM to itself, from Welder's modelled ``kernel_seconds`` of a
    kernel of ``tasks`` blocks that includes ``charged_seconds`` for its launch: the rest over
    the rounds its tasks take one per SM on ``sms`` SMs. ValueError for figures that are not
    a time."""
    if tasks < 1 or sms < 1:
        raise ValueError(f"a kernel of {tasks} tasks on {sms} SMs")
    work = kernel_seconds - charged_seconds
    if not math.isfinite(work) or work < 0:
        raise ValueError(
            f"a modelled time of {kernel_seconds} s does not include a charge of "
            f"{charged_seconds} s"
        )
    return work / math.ceil(tasks / sms)


def sequence_seconds(
    launches: Sequence[LaunchNode], sms: int, launch_seconds: float = LAUNCH_SECONDS
) -> float:
    """The one-launch-per-kernel program: each kernel alone on the ``sms`` SMs, in its rounds
    of tasks, one after the other, each paying a launch."""
    return sum(
        math.ceil(launch.tasks / sms) * launch.task_seconds + launch_seconds for launch in launches
    )


def utilisation(table: VeuTable, launches: Sequence[LaunchNode], device: VirtualDevice) -> float:
    """Busy time over the vEUs' time: a task keeps its vEU busy ``per_sm`` times its time (the
    vEUs of an SM share it), so sum of task times x per_sm / (vEUs x makespan), which is
    also the share of the SMs' time spent on tasks."""
    if table.makespan <= 0:
        return 0.0
    busy = sum(launch.tasks * launch.task_seconds for launch in launches) * device.per_sm
    return busy / (device.veus * table.makespan)


@dataclass(frozen=True)
class Figures:
    """The co-schedule in numbers, for report.json, the compile summary and the bench."""

    veus: int
    launches: int
    tasks: int
    dependencies: int  # edges of the launch graph (transitively reduced)
    waits: int  # waits the vEUs execute: one per dependency, on every vEU that runs the launch
    sequence_seconds: float  # one launch per kernel, launches included
    makespan_seconds: float  # the vEU program
    utilisation: float

    @property
    def ratio(self) -> float:
        """The vEU program's makespan over the sequence's."""
        return self.makespan_seconds / self.sequence_seconds if self.sequence_seconds else 1.0


def figures(
    launches: Sequence[LaunchNode],
    table: VeuTable,
    device: VirtualDevice,
    launch_seconds: float = LAUNCH_SECONDS,
) -> Figures:
    """:class:`Figures` of ``table``, the vEU table of ``launches`` on ``device``."""
    waits = sum(
        len(launch.depends) * sum(1 for lo, hi in table.ranges[launch.index] if hi > lo)
        for launch in launches
    )
    return Figures(
        veus=table.veus,
        launches=len(launches),
        tasks=sum(launch.tasks for launch in launches),
        dependencies=sum(len(launch.depends) for launch in launches),
        waits=waits,
        sequence_seconds=sequence_seconds(launches, device.sms, launch_seconds),
        makespan_seconds=table.makespan,
        utilisation=utilisation(table, launches, device),
    )
