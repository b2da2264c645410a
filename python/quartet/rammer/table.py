"""The data Rammer's policy reads and writes: launches, the virtual device, the vEU table.

Plain frozen dataclasses, no MLIR: ``quartet-rammer`` builds the :class:`LaunchNode`s from the
loop-level host function, the policy (:mod:`quartet.rammer.policy`) turns them into a
:class:`VeuTable`, and the pass writes that table into the IR as a constant global. (The
"vEU table" is Rammer's schedule; Roller's ``#tile.rprogram`` is a different thing.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LaunchNode:
    """One kernel launch of the host program: ``tasks`` identical tasks (the blocks of its
    grid), each taking ``task_seconds`` on a vEU, after every launch in ``depends`` (program
    indices, all below ``index``) has finished all its tasks."""

    index: int  # program order
    kernel: str
    tasks: int  # blocks of its grid
    task_seconds: float  # modelled time of one task on a vEU (Welder's model, launch charge out)
    # (with its SM to itself: the vEUs of an SM share it, see quartet.rammer.policy)
    depends: tuple[int, ...]

    @property
    def work_seconds(self) -> float:
        """The launch's busy time summed over its tasks."""
        return self.tasks * self.task_seconds


@dataclass(frozen=True)
class VirtualDevice:
    """The persistent kernel's thread blocks: ``per_sm`` co-resident on each of ``sms`` SMs.
    vEU ``v`` is taken to sit on SM ``v % sms`` (slot ``v // sms``): the first ``sms`` vEUs
    are one per SM. (Where the hardware puts each block is its choice; the placement only
    counts on an SM's vEUs sharing its throughput.)"""

    sms: int
    per_sm: int

    @property
    def veus(self) -> int:
        return self.sms * self.per_sm


@dataclass(frozen=True)
class VeuTable:
    """Which tasks each vEU runs, per launch: ``ranges[launch][veu] = (lo, hi)``, the tasks
    ``lo .. hi - 1`` of that launch (``lo == hi``: none). The ranges of a launch partition its
    tasks in vEU order; every vEU runs its launches in program order. ``start`` and ``end``
    are the modelled times (seconds from the start of the inference) when the vEU's SM starts
    the launch's tasks and finishes them (the SM's vEUs share it; both 0.0 for an empty
    range); ``makespan`` is the latest end."""

    veus: int
    ranges: tuple[tuple[tuple[int, int], ...], ...]  # [launch][veu] -> (lo, hi)
    start: tuple[tuple[float, ...], ...]  # [launch][veu], modelled seconds
    end: tuple[tuple[float, ...], ...]
    makespan: float

    @property
    def launches(self) -> int:
        return len(self.ranges)

    def counts(self, launch: int) -> tuple[int, ...]:
        """Tasks of ``launch`` per vEU."""
        return tuple(hi - lo for lo, hi in self.ranges[launch])

    def segments(self, veu: int) -> list[int]:
        """The launches ``veu`` runs tasks of, in its queue order (program order)."""
        return [launch for launch, row in enumerate(self.ranges) if row[veu][0] < row[veu][1]]
