# placeholder until the rammer-policy branch lands
"""A minimal earliest-start list scheduler with the wavefront policy's interface: every
launch in program order, each of its tasks on the vEU that can start it earliest (once the
launches it depends on are complete), counted per vEU into contiguous ranges in vEU order."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice


def wavefront(launches: Sequence[LaunchNode], device: VirtualDevice) -> VeuTable:
    """The vEU table of ``launches`` on ``device``."""
    veus = device.veus
    free = [0.0] * veus  # when each vEU has finished its queue so far
    done: list[float] = []  # when each launch is complete
    ranges, starts, ends = [], [], []
    for launch in launches:
        ready = max((done[d] for d in launch.depends), default=0.0)
        counts, first, last = _place(launch, ready, free)
        lo, row = 0, []
        for veu in range(veus):
            row.append((lo, lo + counts[veu]))
            lo += counts[veu]
        ranges.append(tuple(row))
        starts.append(tuple(first))
        ends.append(tuple(last))
        done.append(max(last))
    return VeuTable(veus, tuple(ranges), tuple(starts), tuple(ends), max(free, default=0.0))


def _place(launch: LaunchNode, ready: float, free: list[float]):
    """Each task of ``launch`` on the vEU that starts it earliest; per vEU its task count and
    the start and end of its range (both its free time where it runs none). Updates ``free``."""
    heap = [(max(at, ready), veu) for veu, at in enumerate(free)]
    heapq.heapify(heap)
    counts = [0] * len(free)
    first = [max(at, ready) for at in free]
    for _ in range(launch.tasks):
        start, veu = heapq.heappop(heap)
        counts[veu] += 1
        heapq.heappush(heap, (start + launch.task_seconds, veu))
    last = list(first)
    for veu, count in enumerate(counts):
        if count:
            free[veu] = last[veu] = first[veu] + count * launch.task_seconds
        else:
            first[veu] = last[veu] = free[veu]
    return counts, first, last
