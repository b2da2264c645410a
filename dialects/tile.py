"""Python views of the tile dialect's attributes: build them with ``to_attr``, read them back
with ``from_attr`` (which raises ValueError on an attribute of another kind or shape).

    RProgram((RTile("smem", (64, 64, 16)), RTile("reg", (4, 4, 16))), (0, 4)).to_attr()
    == #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>,
                       #tile.rtile<"reg", array<i64: 4, 4, 16>>], array<i64: 0, 4>>
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from .params import build, integers, is_attr, parameters, quoted

LEVELS = ("global", "smem", "reg")
"""Memory levels, outermost first."""

PROGRAM = "tile.program"
GROUP = "tile.group"
EDGE = "tile.edge"


@dataclass(frozen=True)
class RTile:
    """One tile shape at one memory level, one extent per loop of the operator."""

    level: str
    shape: tuple[int, ...]

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("tile.rtile", quoted(self.level), integers(self.shape), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> RTile:
        level, shape = parameters(attr, "tile.rtile")
        if not isinstance(shape, ir.DenseI64ArrayAttr):
            raise ValueError("rtile shape must be an array<i64>")
        return cls(ir.StringAttr(level).value, tuple(shape))


@dataclass(frozen=True)
class RProgram:
    """One rTile per memory level (outermost first) and the smem padding of each input."""

    tiles: tuple[RTile, ...]
    smem_pad: tuple[int, ...]

    def tile(self, level: str) -> RTile | None:
        """The tile at ``level``, if the program has one."""
        return next((rtile for rtile in self.tiles if rtile.level == level), None)

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        tiles = ", ".join(str(rtile.to_attr(context)) for rtile in self.tiles)
        return build("tile.rprogram", f"[{tiles}]", integers(self.smem_pad), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> RProgram:
        tiles, smem_pad = parameters(attr, "tile.rprogram")
        if not all(is_attr(tile, "tile.rtile") for tile in ir.ArrayAttr(tiles)):
            raise ValueError("rprogram tiles must be #tile.rtile attributes")
        if not isinstance(smem_pad, ir.DenseI64ArrayAttr):
            raise ValueError("rprogram smem_pad must be an array<i64>")
        return cls(tuple(RTile.from_attr(tile) for tile in ir.ArrayAttr(tiles)), tuple(smem_pad))


@dataclass(frozen=True)
class Group:
    """The fused kernel an operator belongs to."""

    name: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("tile.group", quoted(self.name), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Group:
        (name,) = parameters(attr, "tile.group")
        return cls(ir.StringAttr(name).value)


@dataclass(frozen=True)
class Edge:
    """The memory level where a producer's result lives for consumers in its group."""

    level: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("tile.edge", quoted(self.level), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Edge:
        (level,) = parameters(attr, "tile.edge")
        return cls(ir.StringAttr(level).value)
