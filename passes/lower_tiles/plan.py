"""What one kernel is, read from the IR before any of it is built: its operators, the region of
each operator one block computes, and how each operator's values reach its consumers.

A kernel is a Welder group (every ``linalg.generic`` sharing one ``tile.group`` in a block) or
a single tiled operator. Everything here comes from attributes earlier passes wrote:
``tile.program`` (the region one block covers, and the register tile), ``tile.plan``,
``tile.levels`` (per operand: "global", "smem" or "reg") and ``tile.group`` (the output
operator and the grid). From them follow, with no further choice:

- the **role** of each operator: a *phase* (built over its region by the block's threads: a
  reduction, or a pointwise operator whose value is needed at a level other than registers),
  an *epilogue* of a phase (a pointwise consumer of a phase's values at the same points,
  computed by the thread that holds them, "reg" level from a reduction), or *inline* (a
  pointwise producer every consumer reads at "reg": evaluated where it is read);
- the **region** of each operator: its origin along each parallel loop, a linear form over the
  output operator's tile origins (propagated back through the consumers' indexing maps, so a
  window gets its halo), and its extents (``tile.program``'s block tile);
- where each result goes: a shared-memory buffer over the region ("smem" consumers) and/or
  its buffer in global memory (a buffer that anything outside the kernel uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir

from quartet.dialects import tile
from quartet.dialects.tile import Group, Plan, RProgram
from quartet.passes.base import PassError
from quartet.passes.iteration_space import IterationSpace, Linear

PHASE, EPILOGUE, INLINE = "phase", "epilogue", "inline"


@dataclass(eq=False)
class Member:
    """One operator of a kernel and everything the builders need to know about it."""

    op: ir.OpView  # the linalg.generic (on buffers)
    space: IterationSpace
    program: RProgram
    plan: Plan
    levels: tuple[str, ...]  # per operand, inputs then outputs
    role: str = PHASE
    anchor: Member | None = None  # the phase an epilogue belongs to
    epilogue: list[Member] = field(default_factory=list)  # a phase's epilogues, in order
    producers: dict[int, Member] = field(default_factory=dict)  # operand -> member writing it
    origin: dict[int, Linear] = field(default_factory=dict)  # parallel loop -> over the grid
    shared_output: bool = False
    global_output: bool = False

    @property
    def inputs(self) -> list[ir.Value]:
        return list(self.op.inputs)

    @property
    def outputs(self) -> list[ir.Value]:
        return list(self.op.outputs)

    @property
    def block_tile(self) -> tuple[int, ...]:
        return self.program.tile("smem").shape

    @property
    def reg_tile(self) -> tuple[int, ...]:
        return self.program.tile("reg").shape

    @property
    def extents(self) -> tuple[int, ...]:
        return self.space.extents

    @property
    def par_loops(self) -> list[int]:
        return self.space.par_loops

    @property
    def red_loops(self) -> list[int]:
        return self.space.red_loops

    def output_loops(self) -> list[int]:
        """The loop that indexes each dimension of the (first) output."""
        return [form.single_loop() for form in self.space.forms[len(self.inputs)]]

    def region_shape(self) -> list[int]:
        """Extents of the region over the output's dimensions (a shared output's buffer)."""
        return [self.block_tile[loop] for loop in self.output_loops()]

    def padded(self, grid: tuple[int, ...], tile_sizes: tuple[int, ...]) -> set[int]:
        """Loops along which some block's region reaches past the operator's extent (its
        points there are computed from clamped reads and never stored)."""
        loops = {loop for loop in self.red_loops if self.extents[loop] % self.block_tile[loop]}
        for loop in self.par_loops:
            last = max_value(self.origin[loop], grid, tile_sizes)
            if last + self.block_tile[loop] > self.extents[loop]:
                loops.add(loop)
        return loops


@dataclass(eq=False)
class KernelPlan:
    """A kernel's members in program order, its output operator and its grid."""

    name: str
    members: list[Member]
    output: Member
    grid: tuple[int, ...]  # blocks along each parallel loop of the output operator
    _padded: dict = field(default_factory=dict, repr=False)

    @property
    def phases(self) -> list[Member]:
        return [member for member in self.members if member.role == PHASE]

    @property
    def tile_sizes(self) -> tuple[int, ...]:
        """The output operator's block tile along each of its parallel loops."""
        return tuple(self.output.block_tile[loop] for loop in self.output.par_loops)

    def padded(self, member: Member) -> set[int]:
        """The loops of ``member`` along which a block's region may leave the operator."""
        if member not in self._padded:
            self._padded[member] = member.padded(self.grid, self.tile_sizes)
        return self._padded[member]

    def max_start(self, member: Member, form: Linear) -> int:
        """The largest value ``form`` (over ``member``'s loops) takes at any block's region
        origin, a reduction loop at its last stage."""
        total = form.constant
        for loop, coeff in form.coeffs:
            if loop in member.origin:
                total += coeff * max_value(member.origin[loop], self.grid, self.tile_sizes)
            else:
                step = member.block_tile[loop]
                total += coeff * (math.ceil(member.extents[loop] / step) - 1) * step
        return total


def kernel_plan(name: str, ops: list[ir.Operation], local_buffers: set[ir.Value]) -> KernelPlan:
    """The plan of the kernel made of ``ops`` (program order). ``local_buffers`` are the
    buffers nothing outside the kernel reads or writes: results in them stay on chip."""
    members = [_member(op) for op in ops]
    output = _output_member(members)
    _connect(members)
    _assign_roles(members, output, local_buffers)
    grid = tuple(
        math.ceil(output.extents[loop] / output.block_tile[loop]) for loop in output.par_loops
    )
    group = _group(output.op.operation)
    if group is not None and group.grid and tuple(group.grid) != grid:
        raise PassError(
            f"tile.group '{group.name}' records grid {list(group.grid)}, but the output "
            f"operator's tile gives {list(grid)}",
            output.op,
        )
    _propagate_regions(members, output)
    return KernelPlan(name, members, output, grid)


def _member(op: ir.Operation) -> Member:
    view = op.opview
    for value in view.outputs:
        if not isinstance(value.type, ir.MemRefType):
            raise PassError("expected buffer semantics (run one-shot-bufferize first)", view)
    for nested in view.regions[0].blocks[0].operations:
        if len(nested.regions) != 0:
            raise PassError("operator bodies with nested regions are not supported", view)
    program = RProgram.from_attr(op.attributes[tile.PROGRAM])
    tiles = {rtile.level: rtile.shape for rtile in program.tiles}
    space = IterationSpace.of(view)
    if set(tiles) != {"smem", "reg"} or len(tiles["smem"]) != len(space.extents):
        raise PassError("expected an rprogram with one 'smem' and one 'reg' rtile per loop", view)
    if tile.PLAN not in op.attributes:
        raise PassError("expected a tile.plan (run a tiling pass first)", view)
    levels = tile.operand_levels(op)
    return Member(view, space, program, Plan.from_attr(op.attributes[tile.PLAN]), levels)


def _group(op: ir.Operation) -> Group | None:
    return Group.from_attr(op.attributes[tile.GROUP]) if tile.GROUP in op.attributes else None


def _output_member(members: list[Member]) -> Member:
    if len(members) == 1:
        return members[0]
    outputs = [m for m in members if (group := _group(m.op.operation)) and group.output]
    if len(outputs) != 1:
        raise PassError(f"a kernel needs one output operator, found {len(outputs)}", members[0].op)
    return outputs[0]


def _connect(members: list[Member]) -> None:
    """Record, for every operand read at "smem" or "reg", the member that writes its buffer."""
    writers: dict[ir.Value, Member] = {}
    for member in members:
        for index, (value, level) in enumerate(zip(member.op.operands, member.levels, strict=True)):
            if level == "global":
                continue
            if value not in writers:
                raise PassError(
                    f"operand #{index} is read at '{level}' but no operator of its kernel "
                    "writes it",
                    member.op,
                )
            member.producers[index] = writers[value]
        for value in member.outputs:
            writers[value] = member


def _assign_roles(members: list[Member], output: Member, local: set[ir.Value]) -> None:
    consumers: dict[Member, list[tuple[Member, str]]] = {m: [] for m in members}
    for member in members:
        for index, producer in member.producers.items():
            consumers[producer].append((member, member.levels[index]))
    for member in members:
        member.global_output = member is output or any(v not in local for v in member.outputs)
        member.shared_output = any(level == "smem" for _, level in consumers[member])
        if member.red_loops:
            member.role = PHASE
            continue
        anchors = [
            producer
            for index, producer in member.producers.items()
            if member.levels[index] == "reg" and producer.role in (PHASE, EPILOGUE)
        ]
        if anchors:
            _make_epilogue(member, anchors)
        elif consumers[member] and not member.global_output and not member.shared_output:
            member.role = INLINE
        else:
            member.role = PHASE


def _make_epilogue(member: Member, anchors: list[Member]) -> None:
    if len({id(anchor.anchor or anchor) for anchor in anchors}) != 1:
        raise PassError("a register-level consumer reads values of two different phases", member.op)
    for index, producer in member.producers.items():
        if producer in anchors and not _aligned(member, index):
            raise PassError(
                f"operand #{index} is read at 'reg' from a reduction but not at the points "
                "its producer computes (a permutation of its loops)",
                member.op,
            )
    member.role = EPILOGUE
    member.anchor = anchors[0].anchor or anchors[0]
    member.anchor.epilogue.append(member)


def _aligned(member: Member, operand: int) -> bool:
    """Whether ``member`` reads ``producer``'s result at exactly the points it computes: every
    loop of ``member`` indexes one dimension, every dimension one loop."""
    loops = [form.single_loop() for form in member.space.forms[operand]]
    return None not in loops and sorted(loops) == list(range(len(member.extents)))


def register_operands(epilogue: Member) -> list[tuple[int, Member]]:
    """The operands ``epilogue`` reads in registers from its anchor chain, with their writers."""
    return [
        (operand, producer)
        for operand, producer in epilogue.producers.items()
        if epilogue.levels[operand] == "reg" and producer.role in (PHASE, EPILOGUE)
    ]


def epilogue_indices(epilogue: Member, indices: dict[Member, dict[int, ir.Value]]):
    """``epilogue``'s loop indices at a point of its anchor chain, from the loop indices
    ``indices`` of the member it reads in registers."""
    operand, producer = register_operands(epilogue)[0]
    dims = producer.output_loops()
    loops = [form.single_loop() for form in epilogue.space.forms[operand]]
    return {loop: indices[producer][dims[dim]] for dim, loop in enumerate(loops)}


def _propagate_regions(members: list[Member], output: Member) -> None:
    """Origins of every member's region: the output tile's, then back through the readers of
    each member (program order is topological, so readers come first in reverse); an epilogue
    nothing in the kernel reads computes its anchor's points. Every epilogue must cover exactly
    the points of the value it reads."""
    output.origin = {loop: Linear(((p, 1),), 0) for p, loop in enumerate(output.par_loops)}
    readers: dict[Member, list[tuple[Member, int]]] = {m: [] for m in members}
    for member in members:
        for index, producer in member.producers.items():
            readers[producer].append((member, index))
    for member in reversed(members):
        if member is not output and readers[member]:
            member.origin = _origin_from_readers(member, readers[member])
    for member in members:
        if member.role != EPILOGUE:
            if not member.origin:
                raise PassError(
                    "an operator of a fused kernel is read by none of its members", member.op
                )
            continue
        source, permuted = _epilogue_region(member)
        if not member.origin:
            member.origin = permuted
        if member.origin != permuted or not _same_extents(member, source):
            raise PassError(
                "a register-level consumer must cover exactly the points its producer "
                "computes (same region)",
                member.op,
            )


def _epilogue_region(epilogue: Member) -> tuple[Member, dict[int, Linear]]:
    """The member whose values ``epilogue`` reads in registers, and its origins permuted to
    the epilogue's loops."""
    operand, producer = register_operands(epilogue)[0]
    dims = producer.output_loops()
    loops = [form.single_loop() for form in epilogue.space.forms[operand]]
    return producer, {loop: producer.origin[dims[d]] for d, loop in enumerate(loops)}


def _same_extents(epilogue: Member, source: Member) -> bool:
    operand = next(i for i, p in epilogue.producers.items() if p is source)
    dims = source.output_loops()
    loops = [form.single_loop() for form in epilogue.space.forms[operand]]
    return all(
        epilogue.block_tile[loop] == source.block_tile[dims[d]] for d, loop in enumerate(loops)
    )


def _origin_from_readers(member: Member, readers: list[tuple[Member, int]]) -> dict[int, Linear]:
    """Each output dimension's origin: the smallest position any reader's region reads."""
    dims = member.output_loops()
    origin: dict[int, Linear] = {}
    for reader, operand in readers:
        if not reader.origin:
            continue  # an epilogue placed by its anchor; its anchor's region already counts
        for dim, form in enumerate(reader.space.forms[operand]):
            start = compose(form, reader.origin)
            loop = dims[dim]
            if loop in origin and start.coeffs != origin[loop].coeffs:
                raise PassError(
                    "two consumers read this operator's result at regions that move "
                    "differently with the block",
                    member.op,
                )
            if loop not in origin or start.constant < origin[loop].constant:
                origin[loop] = start
    return origin


def compose(form: Linear, origins: dict[int, Linear]) -> Linear:
    """``form`` (over a member's loops) at the member's region origin: a linear form over the
    grid. Reduction loops start at 0."""
    coeffs: dict[int, int] = {}
    constant = form.constant
    for loop, coeff in form.coeffs:
        inner = origins.get(loop)
        if inner is None:
            continue
        constant += coeff * inner.constant
        for position, inner_coeff in inner.coeffs:
            coeffs[position] = coeffs.get(position, 0) + coeff * inner_coeff
    return Linear(tuple(sorted(coeffs.items())), constant)


def max_value(form: Linear, grid: tuple[int, ...], tile_sizes: tuple[int, ...]) -> int:
    """The largest value ``form`` (over the output's tile origins) takes over the grid."""
    return form.constant + sum(
        coeff * (grid[position] - 1) * tile_sizes[position] for position, coeff in form.coeffs
    )
