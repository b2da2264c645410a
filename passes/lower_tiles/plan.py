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

import functools
import math
from dataclasses import dataclass, field

from mlir import ir

from quartet.dialects import tile
from quartet.dialects.tile import Group, Plan, RProgram
from quartet.passes.base import PassError
from quartet.passes.iteration_space import IterationSpace, Linear
from quartet.roller import Operator, describe
from quartet.welder.propagate import PropagationError, Read, max_value, propagate

PHASE, EPILOGUE, INLINE = "phase", "epilogue", "inline"


@dataclass(eq=False)
class Member:
    """One operator of a kernel and everything the builders need to know about it."""

    op: ir.OpView  # the linalg.generic (on buffers)
    space: IterationSpace
    operator: Operator  # Roller's view of it (what the cost model reads)
    program: RProgram
    plan: Plan
    levels: tuple[str, ...]  # per operand, inputs then outputs
    group: Group | None  # its tile.group, when it belongs to a fused kernel
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
    def accessed(self) -> list[ir.Value]:
        """What each entry of ``levels`` is read from: the operands (inputs, then outputs),
        then the buffer of each captured read."""
        return [*self.op.operands, *(read.operands[0] for read in self.space.reads)]

    @property
    def written(self) -> list[ir.Value]:
        """The values this member produces: its results on tensors, its out buffers on memrefs
        (what a consumer's operand is when it reads this member)."""
        return list(self.op.results) if len(self.op.results) else self.outputs

    @functools.cached_property
    def block_tile(self) -> tuple[int, ...]:
        return self.program.tile("smem").shape

    @functools.cached_property
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
        """Loops along which some block's region reaches past the operator's extent, or
        starts before it (its points there are computed from clamped reads and never
        stored)."""
        loops = {loop for loop in self.red_loops if self.extents[loop] % self.block_tile[loop]}
        for loop in self.par_loops:
            last = max_value(self.origin[loop], grid, tile_sizes)
            if last + self.block_tile[loop] > self.extents[loop] or self.origin[loop].constant < 0:
                loops.add(loop)  # past the end, or before the start (a padding's halo)
        return loops


@dataclass(eq=False)
class KernelPlan:
    """A kernel's members in program order, its output operator and its grid."""

    name: str
    members: list[Member]
    output: Member
    grid: tuple[int, ...]  # blocks along each parallel loop of the output operator
    _padded: dict = field(default_factory=dict, repr=False)
    _phase_order: list = field(default_factory=list, repr=False)

    @property
    def phases(self) -> list[Member]:
        """The phases in the order they run: each after every phase whose results it or its
        epilogues read (an epilogue reads its other operands when its anchor stores)."""
        return self._phase_order

    def order_phases(self) -> None:
        phases = [member for member in self.members if member.role == PHASE]
        needs = {phase: _phases_read(phase) for phase in phases}
        ordered: list[Member] = []
        while len(ordered) < len(phases):
            ready = [p for p in phases if p not in ordered and needs[p] <= set(ordered)]
            if not ready:
                raise PassError(
                    "an epilogue reads a value computed after its anchor's phase",
                    self.output.op,
                )
            ordered.append(ready[0])
        self._phase_order = ordered

    @property
    def tile_sizes(self) -> tuple[int, ...]:
        """The output operator's block tile along each of its parallel loops."""
        return tuple(self.output.block_tile[loop] for loop in self.output.par_loops)

    def padded(self, member: Member) -> set[int]:
        """The loops of ``member`` along which a block's region may leave the operator."""
        if member not in self._padded:
            self._padded[member] = member.padded(self.grid, self.tile_sizes)
        return self._padded[member]

    def min_start(self, member: Member, form: Linear) -> int:
        """The smallest value ``form`` takes at any block's region origin (the first block's,
        a reduction loop at its first stage): negative where a padding's halo starts."""
        return form.constant + sum(
            coeff * member.origin[loop].constant
            for loop, coeff in form.coeffs
            if loop in member.origin
        )

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


def kernel_plan(name: str, ops: list[ir.Operation]) -> KernelPlan:
    """The plan of the kernel made of ``ops`` (program order), on buffers or on tensors, from
    the decisions their attributes record. A member's result goes to global memory when it is
    the output, or when its ``tile.group`` says it is stored."""
    return plan_members(name, [_member(op) for op in ops])


def plan_members(name: str, members: list[Member]) -> KernelPlan:
    """The plan of the kernel made of ``members`` (program order, roles not yet assigned):
    what :func:`kernel_plan` reads from the IR, or what Welder hands over directly while it
    weighs candidate groups (the same decisions it then writes into the IR)."""
    output = _output_member(members)
    _connect(members)
    _assign_roles(members, output)
    grid = block_grid(output.space, output.block_tile)
    group = output.group
    if group is not None and group.grid and tuple(group.grid) != grid:
        raise PassError(
            f"tile.group '{group.name}' records grid {list(group.grid)}, but the output "
            f"operator's tile gives {list(grid)}",
            output.op,
        )
    _check_captures(members)
    _propagate_regions(members, output)
    kernel = KernelPlan(name, members, output, grid)
    _check_stored_once(kernel)
    _check_stored_cover(kernel)
    _check_clamped_reads(kernel)
    kernel.order_phases()
    return kernel


def block_grid(space: IterationSpace, block_tile: tuple[int, ...]) -> tuple[int, ...]:
    """Blocks along each parallel loop of an output operator (iteration ``space``) whose
    block tile is ``block_tile``: the one place a grid is derived (Welder asks it of its
    candidates before writing the group, the plan of the kernel it lowers)."""
    return tuple(math.ceil(space.extents[loop] / block_tile[loop]) for loop in space.par_loops)


def _check_captures(members: list[Member]) -> None:
    """No member may read another member's result through computed indices (a gather inside
    its body) unless the read is a connected capture (clamped linear indices, read where its
    level says): nothing else bounds what it reads, so no region could hold it."""
    written = {value: member for member in members for value in member.written}
    for member in members:
        first = len(member.op.operands)
        for j, read in enumerate(member.space.reads):
            if read.operands[0] in written and first + j not in member.producers:
                raise PassError(
                    "reads a result of its own kernel through computed indices", member.op
                )


def _check_stored_cover(kernel: KernelPlan) -> None:
    """A result the kernel stores must be stored whole: the blocks' regions must cover every
    point of it (a producer's region is only what the kernel's readers need)."""
    for member in kernel.members:
        if not member.global_output or member is kernel.output:
            continue
        for loop in member.par_loops:
            covered = _covered(member.origin[loop], member.block_tile[loop], kernel)
            if covered < member.extents[loop]:
                raise PassError(
                    f"its result is needed outside the kernel, but the blocks' regions cover "
                    f"{covered} of its {member.extents[loop]} points along loop {loop}",
                    member.op,
                )


def _check_stored_once(kernel: KernelPlan) -> None:
    """A result the kernel stores must be stored by one block per point: a region that does
    not move along an axis of the grid is stored again by every block along it, and regions
    that move by less than their extent (a window's halo) overlap their neighbours'. Either
    stores the same values twice: a write-write race between blocks in the PTX memory model,
    which the emulator's race-global checker reports, and repeated traffic."""
    for member in kernel.members:
        if not member.global_output or member is kernel.output:
            continue
        moving = set()
        for loop in member.par_loops:
            for position, coeff in member.origin[loop].coeffs:
                moving.add(position)
                step = abs(coeff) * kernel.tile_sizes[position]
                if kernel.grid[position] > 1 and step < member.block_tile[loop]:
                    raise PassError(
                        f"its result is needed outside the kernel, but neighbouring blocks' "
                        f"regions overlap along loop {loop} ({member.block_tile[loop]} points "
                        f"every {step}): they would both store the shared points",
                        member.op,
                    )
        for position, blocks in enumerate(kernel.grid):
            if blocks > 1 and position not in moving:
                raise PassError(
                    f"its result is needed outside the kernel, but its region is the same in "
                    f"the {blocks} blocks along grid axis {position}: they would all store it",
                    member.op,
                )


def _check_clamped_reads(kernel: KernelPlan) -> None:
    """A captured read's producer computes the region its unclamped indices span, which
    holds the clamped positions only where that region overlaps the result: at every block,
    along every dimension (a padding's halo straddles the edge, never lies beyond it)."""
    for member in kernel.members:
        first = len(member.op.operands)
        for index in member.producers:
            if index < first:
                continue
            read = member.space.reads[index - first]
            shape = ir.ShapedType(read.operands[0].type).shape
            for form, size in zip(member.space.access(index), shape, strict=True):
                lowest = kernel.min_start(member, form) + form.span(member.block_tile)
                if kernel.max_start(member, form) >= size or lowest <= 0:
                    raise PassError(
                        f"captured read #{index} spans positions outside its result at some "
                        "block, where clamping reads what no block computed",
                        member.op,
                    )


def _covered(origin: Linear, extent: int, kernel: KernelPlan) -> int:
    """How many positions from 0 on the regions ``[origin, origin + extent)`` of all blocks
    cover without a gap (origins over one grid axis at most: a product of ranges)."""
    starts = {origin.constant}
    for position, coeff in origin.coeffs:
        step = coeff * kernel.tile_sizes[position]
        starts = {s + b * step for s in starts for b in range(kernel.grid[position])}
    reach = 0
    for start in sorted(starts):
        if start > reach:
            break
        reach = max(reach, start + extent)
    return reach


def _phases_read(phase: Member) -> set[Member]:
    """The other phases whose results ``phase`` or its epilogues read (through inline
    producers too); ``phase`` itself among them is a cycle."""
    found: set[Member] = set()
    chain = {phase, *phase.epilogue}
    pending = [p for member in chain for p in member.producers.values()]
    while pending:
        producer = pending.pop()
        if producer in chain:
            continue
        if producer.role == INLINE:
            pending.extend(producer.producers.values())
            continue
        source = producer.anchor or producer
        if source is phase:
            raise PassError(
                "an epilogue reads a value its own anchor's phase computes first", phase.op
            )
        found.add(source)
    return found


def _member(op: ir.Operation) -> Member:
    view = op.opview
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
    plan = Plan.from_attr(op.attributes[tile.PLAN])
    group = Group.from_attr(op.attributes[tile.GROUP]) if tile.GROUP in op.attributes else None
    return Member(view, space, describe(view), program, plan, tile.operand_levels(op), group)


def _output_member(members: list[Member]) -> Member:
    if len(members) == 1:
        return members[0]
    outputs = [m for m in members if m.group is not None and m.group.output]
    if len(outputs) != 1:
        raise PassError(f"a kernel needs one output operator, found {len(outputs)}", members[0].op)
    return outputs[0]


def _connect(members: list[Member]) -> None:
    """Record, for every operand read at "smem" or "reg", the member that writes its buffer."""
    writers: dict[ir.Value, Member] = {}
    for member in members:
        for index, (value, level) in enumerate(zip(member.accessed, member.levels, strict=True)):
            if level == "global":
                continue
            if index >= len(member.op.operands) and member.space.access(index) is None:
                raise PassError(
                    f"captured read #{index} is read at '{level}' but its indices are not "
                    "linear in the loops",
                    member.op,
                )
            if value not in writers:
                raise PassError(
                    f"operand #{index} is read at '{level}' but no operator of its kernel "
                    "writes it",
                    member.op,
                )
            member.producers[index] = writers[value]
        for value in member.written:
            writers[value] = member


def _assign_roles(members: list[Member], output: Member) -> None:
    consumers: dict[Member, list[tuple[Member, str]]] = {m: [] for m in members}
    for member in members:
        for index, producer in member.producers.items():
            consumers[producer].append((member, member.levels[index]))
    for member in members:
        group = member.group
        member.global_output = member is output or (group is not None and group.stored)
        member.shared_output = any(level == "smem" for _, level in consumers[member])
        anchors = [
            producer
            for index, producer in member.producers.items()
            if member.levels[index] == "reg" and producer.role in (PHASE, EPILOGUE)
        ]
        if member.red_loops:
            if anchors:
                raise PassError(
                    "a reduction cannot read in registers a value another phase computes "
                    "(its threads hold other points)",
                    member.op,
                )
            member.role = PHASE
            continue
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
    if operand >= len(member.space.forms):
        return False  # a captured read: clamped indices
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
    """Origins of every member's region (``quartet.welder.propagate``, from the output tile back
    through the readers); each member's tile.program must cover exactly its region, and an
    epilogue exactly the points of the value it reads."""
    reads: dict[Member, list[Read]] = {m: [] for m in members}
    for member in members:
        for index, producer in member.producers.items():
            reads[producer].append(Read(member, member.space.access(index)))
    tile = {loop: output.block_tile[loop] for loop in output.par_loops}
    try:
        regions = propagate(
            members, output, tile, reads, lambda m: m.space, lambda m: m.output_loops()
        )
    except PropagationError as error:
        raise PassError(str(error), output.op) from None
    for member in members:
        region = regions[member]
        member.origin = region.origin
        needed = [region.extents[loop] for loop in member.par_loops]
        have = [member.block_tile[loop] for loop in member.par_loops]
        if needed != have:
            raise PassError(
                f"its tile.program covers {have} along its parallel loops, but its readers in "
                f"the kernel read {needed} per block",
                member.op,
            )
    for member in members:
        if member.role == EPILOGUE:
            _, permuted = _epilogue_region(member)
            if member.origin != permuted:
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
