"""Python views of the tile dialect's attributes: build them with ``to_attr``, read them back
with ``from_attr`` (which raises ValueError on an attribute of another kind or shape).

    RProgram((RTile("smem", (64, 64, 16)), RTile("reg", (4, 4, 16))), (0, 4)).to_attr()
    == #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>,
                       #tile.rtile<"reg", array<i64: 4, 4, 16>>], array<i64: 0, 4>>
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from mlir import ir

from .params import boolean, build, integers, is_attr, parameters, quoted

LEVELS = ("global", "smem", "reg")
"""Memory levels, outermost first."""

PROGRAM = "tile.program"
PLAN = "tile.plan"
GROUP = "tile.group"
OPERAND_LEVELS = "tile.levels"
KERNEL = "tile.kernel"
LAUNCH = "tile.launch"
CANDIDATES = "tile.candidates"
CHECK = "tile.check"
ERRORS = "tile.errors"
ERROR_WORD = "tile.error_word"
ERROR_WORD_TYPE = "memref<1xi32>"
"""The type of an error word: one i32 that a failing ``tile.check`` sets (0: no error)."""


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
class TensorCores:
    """An operator's m16n8k16 tensor-core plan: which loops are m, n and k, the warp grid over
    the block tile, and the 16x8 accumulator tiles each warp holds."""

    m: int
    n: int
    k: int
    warps_m: int
    warps_n: int
    tiles_m: int
    tiles_n: int

    @property
    def warps(self) -> int:
        return self.warps_m * self.warps_n


@dataclass(frozen=True)
class Plan:
    """How quartet-lower-tiles builds one operator: threads per loop (1 on reduction loops),
    the inputs staged in shared memory, double buffering, and the tensor-core plan if any."""

    threads: tuple[int, ...]
    staged: tuple[int, ...] = ()
    double_buffer: bool = False
    mma: TensorCores | None = None

    @property
    def thread_count(self) -> int:
        return math.prod(self.threads)

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        mma = () if self.mma is None else dataclasses.astuple(self.mma)
        fields = (integers(self.threads), integers(self.staged), boolean(self.double_buffer))
        return build("tile.plan", *fields, integers(mma), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Plan:
        threads, staged, double, mma = parameters(attr, "tile.plan")
        arrays = (threads, staged, mma)
        if not all(isinstance(array, ir.DenseI64ArrayAttr) for array in arrays):
            raise ValueError("plan threads, staged and mma must be array<i64>")
        if len(mma) not in (0, 7):
            raise ValueError(f"plan mma must be empty or have 7 entries, got {len(mma)}")
        cores = TensorCores(*mma) if len(mma) else None
        return cls(tuple(threads), tuple(staged), bool(ir.IntegerAttr(double).value), cores)


@dataclass(frozen=True)
class Group:
    """The fused kernel an operator belongs to: its name, the blocks along each parallel loop
    of the output operator (the grid every member shares), whether this is the output, and
    whether its result is written to global memory (read outside the group)."""

    name: str
    grid: tuple[int, ...] = ()
    output: bool = True
    stored: bool = True

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        fields = (quoted(self.name), integers(self.grid), boolean(self.output))
        return build("tile.group", *fields, boolean(self.stored), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Group:
        name, grid, output, stored = parameters(attr, "tile.group")
        if not isinstance(grid, ir.DenseI64ArrayAttr):
            raise ValueError("group grid must be an array<i64>")
        flags = (bool(ir.IntegerAttr(flag).value) for flag in (output, stored))
        return cls(ir.StringAttr(name).value, tuple(grid), *flags)


@dataclass(frozen=True)
class Kernel:
    """The kernel an operator, or the block loop it became, is compiled into."""

    name: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("tile.kernel", quoted(self.name), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Kernel:
        (name,) = parameters(attr, "tile.kernel")
        return cls(ir.StringAttr(name).value)


@dataclass(frozen=True)
class Launch:
    """How a kernel launches: blocks along each parallel loop of its output operator, threads
    per block and bytes of shared memory per block (``tile.launch``)."""

    grid: tuple[int, ...]
    threads: int
    shared: int

    @property
    def blocks(self) -> int:
        return math.prod(self.grid)

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        fields = (integers(self.grid), str(self.threads), str(self.shared))
        return build("tile.launch", *fields, context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Launch:
        grid, threads, shared = parameters(attr, "tile.launch")
        if not isinstance(grid, ir.DenseI64ArrayAttr):
            raise ValueError("launch grid must be an array<i64>")
        return cls(tuple(grid), ir.IntegerAttr(threads).value, ir.IntegerAttr(shared).value)


@dataclass(frozen=True)
class Candidates:
    """Roller's runners-up rPrograms, best first."""

    programs: tuple[RProgram, ...]

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        programs = ", ".join(str(program.to_attr(context)) for program in self.programs)
        return build("tile.candidates", f"[{programs}]", context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Candidates:
        (programs,) = parameters(attr, "tile.candidates")
        return cls(tuple(RProgram.from_attr(program) for program in ir.ArrayAttr(programs)))


@dataclass(frozen=True)
class Edge:
    """The memory level one operand of a consumer is read from (one entry of ``tile.levels``)."""

    level: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("tile.edge", quoted(self.level), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Edge:
        (level,) = parameters(attr, "tile.edge")
        return cls(ir.StringAttr(level).value)


@dataclass(frozen=True)
class ErrorCode:
    """One error a run can fail with (an entry of a function's ``tile.errors``): the code a
    failing ``tile.check`` writes into the error word, and the message raised for it."""

    code: int
    message: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("tile.error", f"{self.code} : i32", quoted(self.message), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> ErrorCode:
        code, message = parameters(attr, "tile.error")
        return cls(ir.IntegerAttr(code).value, ir.StringAttr(message).value)


def errors_from_attr(attr: ir.Attribute) -> tuple[ErrorCode, ...]:
    """The entries of a ``tile.errors`` table; ValueError if it holds anything else."""
    if not isinstance(attr, ir.ArrayAttr):
        raise ValueError("tile.errors must be an array of #tile.error attributes")
    return tuple(ErrorCode.from_attr(error) for error in attr)


def levels_to_attr(levels: tuple[str, ...] | list[str]) -> ir.Attribute:
    """``tile.levels``: one #tile.edge per operand (inputs, then outputs), then one per read
    of an outer value inside the body (:func:`captured_reads`)."""
    return ir.ArrayAttr.get([Edge(level).to_attr() for level in levels])


def levels_from_attr(attr: ir.Attribute) -> tuple[str, ...]:
    """The levels of a ``tile.levels`` array; ValueError if it holds anything else."""
    if not isinstance(attr, ir.ArrayAttr):
        raise ValueError("tile.levels must be an array of #tile.edge attributes")
    return tuple(Edge.from_attr(edge).level for edge in attr)


def operand_levels(op: ir.Operation) -> tuple[str, ...]:
    """The level each operand of ``op``, then each of its captured reads, is read from
    ("global" where nothing says otherwise)."""
    if OPERAND_LEVELS in op.attributes:
        return levels_from_attr(op.attributes[OPERAND_LEVELS])
    return ("global",) * (len(op.operands) + len(captured_reads(op)))


def captured_reads(op) -> list[ir.Operation]:
    """The reads of values defined outside ``op`` inside its body (``tensor.extract`` on
    tensors, ``memref.load`` on buffers: a gather, a padding's clamped read), in body order.
    They are numbered after the operands wherever an access is named by number."""
    if not len(op.regions) or not len(op.regions[0].blocks):
        return []
    body = op.regions[0].blocks[0]
    return [
        nested
        for nested in body.operations
        if nested.name in ("tensor.extract", "memref.load")
        and not _defined_in(nested.operands[0], body)
    ]


def _defined_in(value: ir.Value, body: ir.Block) -> bool:
    owner = value.owner
    if isinstance(owner, ir.Block):
        return owner == body
    return owner.operation.block == body
