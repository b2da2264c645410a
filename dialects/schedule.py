"""Python views of the schedule dialect's attributes (``to_attr`` / ``from_attr``)."""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from .params import build, parameters

VEUS = "schedule.veus"
PLACED_OPS = ("schedule.rtask", "schedule.signal", "schedule.wait")
"""Ops that occupy a slot of the rProgram table (they carry a ``placement``)."""


@dataclass(frozen=True)
class Veus:
    """The virtual device: ``count`` vEUs (persistent CTAs), ``per_sm`` on each SM."""

    count: int
    per_sm: int

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("schedule.veus", str(self.count), str(self.per_sm), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Veus:
        count, per_sm = parameters(attr, "schedule.veus")
        return cls(ir.IntegerAttr(count).value, ir.IntegerAttr(per_sm).value)


@dataclass(frozen=True)
class Placement:
    """A slot of the rProgram table: a vEU and a position in its queue."""

    veu: int
    order: int

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("schedule.placement", str(self.veu), str(self.order), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Placement:
        veu, order = parameters(attr, "schedule.placement")
        return cls(ir.IntegerAttr(veu).value, ir.IntegerAttr(order).value)
