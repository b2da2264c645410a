"""What the placement policy reads and writes: launches, the virtual device, the vEU table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LaunchNode:
    """One kernel launch of the host program."""

    index: int  # program order
    kernel: str
    tasks: int  # blocks of its grid
    task_seconds: float  # modelled time of one task on a vEU (Welder's model, launch charge out)
    depends: tuple[int, ...]


@dataclass(frozen=True)
class VirtualDevice:
    """``per_sm`` vEUs (persistent CTAs) on each of ``sms`` SMs."""

    sms: int
    per_sm: int

    @property
    def veus(self) -> int:
        return self.sms * self.per_sm


@dataclass(frozen=True)
class VeuTable:
    """Which tasks of each launch each vEU runs, ``ranges[launch][veu] = (lo, hi)``, and the
    modelled start and end of each (for reports and the Gantt chart)."""

    veus: int
    ranges: tuple[tuple[tuple[int, int], ...], ...]
    start: tuple[tuple[float, ...], ...]
    end: tuple[tuple[float, ...], ...]
    makespan: float
