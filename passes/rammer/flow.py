"""The vEU program of a host whose loops and branches quartet-grinder placed on the grid.

The whole host body (its launches, the grid-placed ``scf.for`` / ``scf.while`` / ``scf.if``,
the loads of their predicates and the integer arithmetic around them) moves into one vEU
program; the host keeps its allocations, views and constants, and calls the program once:

    scf.parallel (%veu) = (0) to (V) {schedule.veus, schedule.table, ...} {
      segment(launch 0)                        // tasks dealt over the vEUs by the table
      "schedule.barrier"(%counters, %sync) {scope = "grid"}   // launch 1 reads what 0 wrote
      segment(launch 1)
      scf.for %i = %lo to %hi step %s {        // the same bounds on every vEU
        segment(launch 2)
        "schedule.barrier"(...) {scope = "grid"}    // end of the iteration
      } {controlflow.placement = #controlflow.device<"grid">}
      "schedule.barrier"(...) {scope = "grid"}      // the predicate written, then read by all
      %p = memref.load %flag[%c0]
      scf.if %p { segment(launch 3) ; barrier } else { segment(launch 4) ; barrier }
    }

Grid barriers, not counters, order the launches of such a program (a segment has no waits
and no signal): one goes wherever a launch (or a predicate's load) touches what a launch since
the last barrier wrote, or writes what one read (RAW, WAR, WAW on the buffers' bases), before
a loop, and at the end of every region of a construct that left something pending (so an
iteration's writes are complete before the next one, or the code after the construct, reads
them). A predicate's load reads what every vEU then reads the same: it follows a barrier after
the launch that wrote it, and a barrier separates it from any later launch that overwrites it.
The counters buffer holds the grid barrier's two cells after the launches' counters
(``counters[L]``: arrivals, ``counters[L + 1]``: generation), so the host allocates and
zeroes them once with the counters and never resets them (lowering.py).

A construct quartet-grinder placed on one CTA (``#controlflow.device<"cta">``) runs on vEU
:data:`OWNER_VEU` alone, inside ``scf.if %veu == owner {schedule.owner}``; the vEU table gives
that vEU every task of its launches (quartet-rammer pins their rows). Inside it there is no
grid barrier: each task already ends with a CTA barrier, which orders global memory between
the threads of the one CTA, so the next launch and a predicate's load need nothing more. For
the grid barriers around it, the construct is one access of everything its launches and loads
touch: a barrier before it where that conflicts with what is pending (the owner must see the
other vEUs' writes), and its accesses pending after it (the other vEUs must see the owner's
writes, and must not overwrite what it reads, before they touch them).

    "schedule.barrier"(...) {scope = "grid"}        // the owner reads what launch 0 wrote
    scf.if %veu == 0 {
      scf.while ... { segment(launch 1) ; %go = memref.load %flag ; scf.condition(%go) }
        {controlflow.placement = #controlflow.device<"cta">}
    } {schedule.owner = 0}
    "schedule.barrier"(...) {scope = "grid"}        // launch 2 reads what the owner wrote
    segment(launch 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir
from mlir.dialects import arith, func, memref, scf

from quartet.dialects import schedule
from quartet.dialects.controlflow import PLACEABLE_OPS, PLACEMENT, Device
from quartet.dialects.schedule import Segment
from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.passes.rammer.launches import PASSED_OVER, Launch, base, distinct, launch_of
from quartet.passes.rammer.program import Program

SYNC_CELLS = 2

OWNER_VEU = 0
"""The vEU that runs the constructs placed on one CTA."""

HOST_KEPT = ("memref.alloc", "memref.get_global", "arith.constant", "func.return")
"""Host ops that stay in the host: they define the buffers and constants the program uses."""


def has_grid_constructs(host: ir.Operation) -> bool:
    """Whether ``host`` has a loop or branch quartet-grinder placed on the device (on the grid
    or on one CTA)."""
    return any(_on_grid(op.operation) for op in host.regions[0].blocks[0].operations)


def _on_grid(op: ir.Operation) -> bool:
    return op.name in PLACEABLE_OPS and PLACEMENT in op.attributes


def on_one_cta(op: ir.Operation) -> bool:
    """Whether ``op`` is a loop or branch quartet-grinder placed on one CTA."""
    return _on_grid(op) and Device.from_attr(op.attributes[PLACEMENT]).scope == "cta"


def owned(op: ir.Operation) -> bool:
    """Whether ``op`` runs on the owner vEU alone (it is in a construct on one CTA)."""
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if on_one_cta(parent):
            return True
        parent = parent.parent
    return False


def program_ops(host: ir.Operation, functions) -> list[ir.Operation]:
    """The ops of ``host`` that move into its vEU program, in order; PassError on an op no
    program can run (quartet-grinder leaves no such op beside a grid construct)."""
    moved = []
    for op in host.regions[0].blocks[0].operations:
        op = op.operation
        if op.name in HOST_KEPT or (op.name in PASSED_OVER and not _uses_moved(op, moved)):
            continue
        if op.name in PLACEABLE_OPS and not _on_grid(op):
            raise PassError("a loop or branch left on the host beside a vEU program", op)
        if op.name in ("func.call", *PLACEABLE_OPS, *PASSED_OVER) or _scalar(op):
            moved.append(op)
            continue
        raise PassError(f"'{op.name}' beside a vEU program with loops on the grid", op)
    return moved


def _uses_moved(op: ir.Operation, moved: list[ir.Operation]) -> bool:
    results = {result for earlier in moved for result in earlier.results}
    return any(operand in results for operand in op.operands)


def _scalar(op: ir.Operation) -> bool:
    if op.name == "memref.load":
        return True
    types = [value.type for value in (*op.operands, *op.results)]
    return op.name.startswith("arith.") and all(
        isinstance(t, ir.IntegerType | ir.IndexType) for t in types
    )


def launches_in(ops: list[ir.Operation], functions) -> list[Launch]:
    """Every launch among ``ops`` and in their regions, in program order."""
    found = []
    for op in ops:
        for nested in preorder(op):
            launch = launch_of(nested, functions)
            if launch is not None:
                found.append(launch)
    return found


def outside_values(ops: list[ir.Operation]) -> list[ir.Value]:
    """The values ``ops`` (and their regions) use that none of them defines, in order."""
    defined: set = set()
    used: list[ir.Value] = []
    for op in ops:
        for nested in preorder(op):
            for region in nested.regions:
                for block in region.blocks:
                    defined.update(block.arguments)
            used += [value for value in nested.operands if value not in defined]
            defined.update(nested.results)
    return distinct(value for value in used if value not in defined)


def preorder(op: ir.Operation):
    """``op`` and every op in its regions, in program order."""
    yield op
    for region in op.regions:
        for block in region.blocks:
            for nested in block.operations:
                yield from preorder(nested.operation)


def move_into(ops: list[ir.Operation], anchor: ir.Operation, mapping: dict) -> None:
    """Clone ``ops`` before ``anchor``, every value they use from outside replaced by
    ``mapping``'s (a constant mapping has none cloned before its first user)."""
    for op in ops:
        clone = op.clone(ip=ir.InsertionPoint(anchor))
        for nested in preorder(clone):
            for position, value in enumerate(nested.operands):
                if value in mapping:
                    nested.operands[position] = mapping[value]
                elif _is_constant(value) and _outside(value, clone):
                    mapping[value] = value.owner.clone(ip=ir.InsertionPoint(clone)).result
                    nested.operands[position] = mapping[value]
        for old, new in zip(op.results, clone.results, strict=True):
            mapping[old] = new


def _is_constant(value: ir.Value) -> bool:
    owner = value.owner
    return isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant"


def _outside(value: ir.Value, clone: ir.Operation) -> bool:
    parent = value.owner.operation.parent
    while parent is not None:
        if parent == clone:
            return False
        parent = parent.parent
    return True


@dataclass
class Pending:
    """What the launches and loads since the last grid barrier touched (buffer bases)."""

    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    loads: set = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.reads or self.writes or self.loads)

    def conflicts(self, reads, writes) -> bool:
        return bool(reads & self.writes or writes & (self.writes | self.reads | self.loads))

    def copy(self) -> Pending:
        return Pending(set(self.reads), set(self.writes), set(self.loads))


class Barriers:
    """Places the grid barriers of a vEU program's body (see the module docstring) and turns
    each launch into its segment through ``segment(call, launch)``.

    ``aliases`` maps each of the program's buffer arguments to the host buffer it is a view of
    (its ``base`` in the host): two arguments may view one allocation (a Reshape's view of a
    Transpose's result, passed beside it), and a launch through one conflicts with a launch
    through the other."""

    def __init__(self, functions, sync: ir.Value, segment, aliases: dict | None = None):
        self.functions, self.sync, self.segment = functions, sync, segment
        self.aliases = aliases or {}

    def bases(self, values) -> set:
        """What memory ``values`` are: a program's argument is the host buffer it was passed
        (two views of one buffer are two arguments: ``aliases``)."""
        return {self.aliases.get(value, value) for value in values}

    def block(self, block: ir.Block, pending: Pending) -> Pending:
        for op in list(block.operations):
            op = op.operation
            launch = launch_of(op, self.functions)
            if launch is not None:
                reads, writes = self.bases(launch.reads), self.bases(launch.writes)
                if pending.conflicts(reads, writes):
                    pending = self.barrier(op)
                pending.reads |= reads
                pending.writes |= writes
                self.segment(op, launch)
            elif op.name == "memref.load":
                (buffer,) = self.bases([base(op.operands[0])])
                if buffer in pending.writes:
                    pending = self.barrier(op)
                pending.loads.add(buffer)
            elif op.name in PLACEABLE_OPS:
                pending = self.construct(op, pending)
        return pending

    def construct(self, op: ir.Operation, pending: Pending) -> Pending:
        if on_one_cta(op):
            return self.owned_construct(op, pending)
        if op.name == "scf.if":
            for region in op.regions:
                if region.blocks:
                    self.close(region.blocks[0], self.block(region.blocks[0], pending.copy()))
            # every vEU takes the same side: a side without an else leaves what was pending
            return pending if not op.regions[1].blocks else Pending()
        if pending:
            self.barrier(op)
        first = self.block(op.regions[0].blocks[0], Pending())
        if op.name == "scf.for":
            self.close(op.regions[0].blocks[0], first)
            return Pending()
        self.close(op.regions[1].blocks[0], self.block(op.regions[1].blocks[0], first.copy()))
        return first  # a while loop leaves through its before region

    def owned_construct(self, op: ir.Operation, pending: Pending) -> Pending:
        """A construct on one CTA: its launches made segments with no barrier between them,
        a barrier before it where its accesses conflict with ``pending``; what it touched is
        pending after it (see the module)."""
        inside = Pending()
        for nested in list(preorder(op)):
            launch = launch_of(nested, self.functions)
            if launch is not None:
                inside.reads |= self.bases(launch.reads)
                inside.writes |= self.bases(launch.writes)
                self.segment(nested, launch)
            elif nested.name == "memref.load":
                inside.loads |= self.bases([base(nested.operands[0])])
        if pending.conflicts(inside.reads, inside.writes) or inside.loads & pending.writes:
            pending = self.barrier(op)
        return Pending(
            pending.reads | inside.reads,
            pending.writes | inside.writes,
            pending.loads | inside.loads,
        )

    def close(self, block: ir.Block, pending: Pending) -> None:
        """A barrier before ``block``'s terminator where anything is pending."""
        if pending:
            self.barrier(list(block.operations)[-1].operation)

    def barrier(self, before: ir.Operation) -> Pending:
        with ir.InsertionPoint(before), before.location:
            grid_barrier(self.sync)
        return Pending()


def guard_owned(body: ir.Block, veu: ir.Value) -> None:
    """Every outermost construct on one CTA in ``body`` (a vEU program's, or a region in it)
    moved into ``scf.if %veu == OWNER_VEU {schedule.owner = OWNER_VEU}``."""
    for op in list(body.operations):
        op = op.operation
        if on_one_cta(op):
            _guard(op, veu)
            continue
        for region in op.regions:
            for block in region.blocks:
                guard_owned(block, veu)


def _guard(op: ir.Operation, veu: ir.Value) -> None:
    with ir.InsertionPoint(op), op.location:
        owner = b.const_index(OWNER_VEU)
        guard = scf.IfOp(arith.cmpi(arith.CmpIPredicate.eq, veu, owner))
        guard.attributes[schedule.OWNER] = ir.IntegerAttr.get(ir.IndexType.get(), OWNER_VEU)
        with ir.InsertionPoint(guard.then_block):
            terminator = scf.YieldOp([])
    op.move_before(terminator)


def grid_barrier(sync: ir.Value) -> None:
    """``schedule.barrier {scope = "grid"}`` on the two sync cells ``sync``."""
    ir.Operation.create(
        schedule.BARRIER,
        operands=[sync],
        attributes={"scope": ir.StringAttr.get("grid")},
    )


class FlowProgram(Program):
    """The vEU program of ``ops`` (all of ``host``'s work, grid constructs included) running
    ``run`` (their launches in program order)."""

    signals = False

    def __init__(self, host, run, depends, table, device, arch: str, ops, functions):
        super().__init__(host, run, depends, table, device, arch)
        self.ops, self.functions = ops, functions
        outside = outside_values(ops)
        strays = [v for v in outside if not isinstance(v.type, ir.MemRefType | ir.IndexType)]
        strays += [v for v in outside if isinstance(v.type, ir.IndexType) and not _is_constant(v)]
        if strays:
            raise PassError(f"the vEU program would need the host's value {strays[0]}", host)
        self.buffers = [v for v in outside if isinstance(v.type, ir.MemRefType)]

    @property
    def counters_type(self) -> ir.Type:
        cells = len(self.run) + SYNC_CELLS
        return ir.MemRefType.get([cells], ir.IntegerType.get_signless(32))

    def build(self, name: str, table_name: str, tasks: list[str]) -> None:
        with ir.InsertionPoint(self.host), self.host.location:
            self._table_global(table_name)
            program = self._function(
                name, [value.type for value in self.buffers], self.buffers, None
            )
        entry = program.entry_block
        *values, table, counters, _ = entry.arguments  # no waits: the epoch goes unread
        with ir.InsertionPoint(entry), program.location:
            with b.parallel([self.table.veus]) as (loop, (veu,)):
                self._mark(loop, name, table_name)
                loop.attributes[schedule.GRID_SYNC] = ir.IntegerAttr.get(
                    ir.IndexType.get(), len(self.run)
                )
                sync = memref.subview(counters, [len(self.run)], [SYNC_CELLS], [1])
                anchor = list(loop.region.blocks[0].operations)[-1].operation
            mapping = dict(zip(self.buffers, values, strict=True))
            move_into(self.ops, anchor, mapping)
            func.ReturnOp([])
        numbered = iter(range(len(self.run)))

        def segment(call: ir.Operation, launch: Launch) -> None:
            index = next(numbered)
            described = Segment(index, self.run[index].kernel, launch.launch.blocks, ())
            arguments = list(call.operands)
            with ir.InsertionPoint(call), call.location:
                self._segment(
                    described, veu, table, counters, None, tasks[index], launch, arguments
                )
            call.erase()

        aliases = {value: base(buffer) for buffer, value in zip(self.buffers, values, strict=True)}
        barriers = Barriers(self.functions, sync, segment, aliases)
        barriers.block(loop.region.blocks[0], Pending())
        guard_owned(loop.region.blocks[0], veu)
        self._call_at_last(name, table_name)

    def _call_at_last(self, name: str, table_name: str) -> None:
        """The host's one call of the program where its last moved op was; they go."""
        last = self.ops[-1]
        with ir.InsertionPoint(last), last.location:
            self._state_and_call(name, table_name, self.buffers)
        for op in reversed(self.ops):
            op.erase()
