"""Python views of the schedule dialect's attributes (``to_attr`` / ``from_attr``) and the
names of what a vEU program carries.

A vEU program (docs/dialects.md) is a persistent kernel's block loop, one iteration per vEU,
marked ``schedule.veus``; it names its vEU table (``schedule.table``: a constant global of
``launches x vEUs x 2`` i32, ``[launch][veu] = [lo, hi)``) and holds one segment per launch
(an ``scf.if`` marked ``schedule.segment``) with the launch's waits, task loop and signal.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from .params import build, integers, parameters, quoted

VEUS = "schedule.veus"
TABLE = "schedule.table"
SEGMENT = "schedule.segment"
COUNTERS = "schedule.counters"
"""On the host's ``memref.alloc`` of a vEU program's counters (one i32 per launch; a program
with ``schedule.grid_sync`` has more cells after them)."""
EPOCH = "schedule.epoch"
"""On the host's ``memref.alloc`` of the inference number (one i32) waits scale by."""
GRID_SYNC = "schedule.grid_sync"
"""On a vEU program whose loops and branches run on the grid (quartet-grinder's): the index of
the first of the two counters cells its grid barriers use (arrivals, then generation), after
which come the entry numbers of its blocks that hold launches; its waits' epochs are their
producers' run numbers (from those), and a wait may stand outside a segment, before a
predicate's load or a loop (passes/rammer/flow.py)."""
OWNER = "schedule.owner"
"""On the ``scf.if %veu == owner`` around a loop or branch quartet-grinder placed on one CTA
(``#controlflow.device<"cta">``) in a vEU program: the vEU (an index) that runs it alone, every
task of its launches in the vEU table; inside it no segment waits or signals, and grid
barriers order it against the rest of the program (passes/rammer/flow.py)."""
PER_SM = "schedule.per_sm"
"""On the gpu.module of a persistent kernel (quartet-map-to-gpu): the vEUs per SM it was
planned for, which its PTX requires resident (``.minnctapersm``, quartet-launch-bounds)."""
WAIT, SIGNAL, BARRIER = "schedule.wait", "schedule.signal", "schedule.barrier"
SCOPES = ("cta", "grid")


@dataclass(frozen=True)
class Veus:
    """The virtual device: ``count`` vEUs (persistent CTAs), ``per_sm`` on each SM of
    ``arch``."""

    count: int
    per_sm: int
    arch: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        fields = (str(self.count), str(self.per_sm), quoted(self.arch))
        return build("schedule.veus", *fields, context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Veus:
        count, per_sm, arch = parameters(attr, "schedule.veus")
        values = (ir.IntegerAttr(count).value, ir.IntegerAttr(per_sm).value)
        return cls(*values, ir.StringAttr(arch).value)


@dataclass(frozen=True)
class Segment:
    """One launch inside a vEU program: its program-order position, its kernel, its tasks
    (blocks of its grid) and the launches it waits for."""

    launch: int
    kernel: str
    tasks: int
    waits: tuple[int, ...] = ()

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        fields = (str(self.launch), quoted(self.kernel), str(self.tasks), integers(self.waits))
        return build("schedule.segment", *fields, context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Segment:
        launch, kernel, tasks, waits = parameters(attr, "schedule.segment")
        if not isinstance(waits, ir.DenseI64ArrayAttr):
            raise ValueError("segment waits must be an array<i64>")
        values = (ir.IntegerAttr(launch).value, ir.StringAttr(kernel).value)
        return cls(*values, ir.IntegerAttr(tasks).value, tuple(waits))
