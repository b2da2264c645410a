"""The vEU program of a host whose loops and branches quartet-grinder placed on the grid.

The whole host body (its launches, the grid-placed ``scf.for`` / ``scf.while`` / ``scf.if``,
the loads of their predicates and the integer arithmetic around them) moves into one vEU
program; the host keeps its allocations, views and constants, and calls the program once:

    scf.parallel (%veu) = (0) to (V) {schedule.veus, schedule.table, ...} {
      %runs = memref.alloca() : memref<L x i32>        // run numbers, from counters[L + 2 + l]
      segment(launch 0)                                // tasks dealt over the vEUs by the table
      %runs[0] += 1
      scf.for %i = %lo to %hi step %s {                // the same bounds on every vEU
        segment(launch 1) {                            // reads what 0 wrote, and what 2 wrote
          wait(%counters, 0, tasks_0, %runs[0])        //   in the previous iteration
          wait(%counters, 2, tasks_2, %runs[2]) ... signal(%counters, 1, ...) }
        %runs[1] += 1
        segment(launch 2) { wait(%counters, 1, tasks_1, %runs[1]) ... }
        %runs[2] += 1
      } {controlflow.placement = #controlflow.device<"grid">}
      "schedule.wait"(%counters, 2, tasks_2, %runs[2])   // the predicate's writer, then
      %p = memref.load %flag[%c0]                         // every vEU reads it
      scf.if %p { segment(launch 3) ; %runs[3] += 1 }
      "schedule.barrier"(%counters, %sync) {scope = "grid"}   // every vEU has its runs
      scf.if (%veu == 0) { counters[L + 2 + l] = %runs[l] ... }  // for the next inference
    }

Counters, as in a Rammer program, order the launches: every segment signals its launch's
counter; a wait's epoch operand is its producer's run number (:class:`RunNumbers`), so that
inside a loop the expected count grows with the iteration. Which launch waits for which, and
where a grid barrier remains (before a launch overwriting what every vEU loaded as a predicate
or condition), is order.py's. The counters buffer holds, after the launches' counters, the
grid barrier's two cells (``counters[L]``: arrivals, ``counters[L + 1]``: generation) and the
run numbers at the end of the last inference (``counters[L + 2 + l]``), so the host allocates
and zeroes them once with the counters and never resets them (lowering.py).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, memref

from quartet.dialects import schedule
from quartet.dialects.controlflow import PLACEABLE_OPS, PLACEMENT
from quartet.dialects.schedule import Segment
from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.passes.rammer.launches import PASSED_OVER, Launch, distinct, launch_of
from quartet.passes.rammer.order import order
from quartet.passes.rammer.program import Program

SYNC_CELLS = 2

HOST_KEPT = ("memref.alloc", "memref.get_global", "arith.constant", "func.return")
"""Host ops that stay in the host: they define the buffers and constants the program uses."""


def has_grid_constructs(host: ir.Operation) -> bool:
    """Whether ``host`` has a loop or branch quartet-grinder placed on the grid."""
    return any(_on_grid(op.operation) for op in host.regions[0].blocks[0].operations)


def _on_grid(op: ir.Operation) -> bool:
    return op.name in PLACEABLE_OPS and PLACEMENT in op.attributes


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


def move_into(ops: list[ir.Operation], anchor: ir.Operation, mapping: dict) -> list[ir.Operation]:
    """Clone ``ops`` before ``anchor``, every value they use from outside replaced by
    ``mapping``'s (a constant mapping has none cloned before its first user); the clones."""
    clones = []
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
        clones.append(clone)
    return clones


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


def grid_barrier(sync: ir.Value) -> None:
    """``schedule.barrier {scope = "grid"}`` on the two sync cells ``sync``."""
    ir.Operation.create(
        schedule.BARRIER,
        operands=[sync],
        attributes={"scope": ir.StringAttr.get("grid")},
    )


class RunNumbers:
    """Each launch's run number on one vEU (the times control passed its segment since the
    model was loaded; every vEU passes the same segments), in a ``memref.alloca`` of one i32
    per launch made at the top of the vEU body (constant indices: LLVM keeps the cells in
    registers). The counters hold each launch's run number at the end of the last inference
    after the grid barrier's cells (``counters[L + 2 + launch]``): every vEU starts from them,
    and vEU 0 stores its own back at the end (:meth:`publish`, after a grid barrier: every vEU
    has loaded them by then)."""

    def __init__(self, counters: ir.Value, launches: int):
        """At the insertion point: the cells, each loaded from its counters cell."""
        self.counters, self.first = counters, launches + SYNC_CELLS
        i32 = ir.IntegerType.get_signless(32)
        self.cells = [memref.alloca(ir.MemRefType.get([], i32), [], []) for _ in range(launches)]
        for launch, cell in enumerate(self.cells):
            memref.store(memref.load(counters, [b.const_index(self.first + launch)]), cell, [])

    def current(self, launch: int) -> ir.Value:
        """At the insertion point: ``launch``'s run number."""
        return memref.load(self.cells[launch], [])

    def passed(self, launch: int) -> None:
        """At the insertion point (right after ``launch``'s segment): one run more."""
        run = self.current(launch)
        one = arith.constant(ir.IntegerType.get_signless(32), 1)
        memref.store(arith.addi(run, one), self.cells[launch], [])

    def publish(self, veu: ir.Value, launches: int) -> None:
        """At the insertion point: vEU 0 stores every run number into the counters."""
        with b.only_if(arith.cmpi(arith.CmpIPredicate.eq, veu, b.const_index(0))):
            for launch in range(launches):
                cell = [b.const_index(self.first + launch)]
                memref.store(self.current(launch), self.counters, cell)


class FlowProgram(Program):
    """The vEU program of ``ops`` (all of ``host``'s work, grid constructs included) running
    ``run`` (their launches in program order), ordered by their counters (order.py)."""

    def __init__(self, host, run, depends, table, device, arch: str, ops, functions):
        super().__init__(host, run, depends, table, device, arch)
        self.ops, self.functions = ops, functions
        outside = outside_values(ops)
        strays = [v for v in outside if not isinstance(v.type, ir.MemRefType | ir.IndexType)]
        strays += [v for v in outside if isinstance(v.type, ir.IndexType) and not _is_constant(v)]
        if strays:
            raise PassError(f"the vEU program would need the host's value {strays[0]}", host)
        self.buffers = [v for v in outside if isinstance(v.type, ir.MemRefType)]
        self.order = order(ops, self._accesses)

    def _accesses(self, op: ir.Operation):
        launch = launch_of(op, self.functions)
        return None if launch is None else (launch.reads, launch.writes)

    @property
    def counters_type(self) -> ir.Type:
        """The launches' counters, the grid barrier's cells, the launches' run numbers."""
        cells = len(self.run) + SYNC_CELLS + len(self.run)
        return ir.MemRefType.get([cells], ir.IntegerType.get_signless(32))

    def build(self, name: str, table_name: str, tasks: list[str]) -> None:
        with ir.InsertionPoint(self.host), self.host.location:
            self._table_global(table_name)
        word = self._error_word() if any(self.order.waits.values()) else None
        arguments = [*self.buffers] + (
            [word] if word is not None and word not in self.buffers else []
        )
        with ir.InsertionPoint(self.host), self.host.location:
            program = self._function(name, [value.type for value in arguments], arguments, word)
        entry = program.entry_block
        *values, table, counters, _ = entry.arguments  # run numbers stand for the epoch
        launches = len(self.run)
        with ir.InsertionPoint(entry), program.location:
            with b.parallel([self.table.veus]) as (loop, (veu,)):
                self._mark(loop, name, table_name)
                loop.attributes[schedule.GRID_SYNC] = ir.IntegerAttr.get(
                    ir.IndexType.get(), launches
                )
                sync = memref.subview(counters, [launches], [SYNC_CELLS], [1])
                runs = RunNumbers(counters, launches)
                anchor = list(loop.region.blocks[0].operations)[-1].operation
            mapping = dict(zip(arguments, values, strict=True))
            clones = move_into(self.ops, anchor, mapping)
            func.ReturnOp([])
        with ir.InsertionPoint(anchor), anchor.location:
            grid_barrier(sync)
            runs.publish(veu, launches)
        ordered = _Ordered(self, veu, table, counters, sync, runs, tasks)
        originals = [nested for op in self.ops for nested in preorder(op)]
        for original, clone in zip(
            originals, [n for c in clones for n in preorder(c)], strict=True
        ):
            ordered.place(original, clone)
        self._call_at_last(name, table_name, arguments)

    def _call_at_last(self, name: str, table_name: str, arguments: list[ir.Value]) -> None:
        """The host's one call of the program where its last moved op was; they go."""
        last = self.ops[-1]
        with ir.InsertionPoint(last), last.location:
            self._state_and_call(name, table_name, arguments)
        for op in reversed(self.ops):
            op.erase()


class _Ordered:
    """Places, in a flow program's body, what its :class:`~order.Order` decided: a grid
    barrier before an op, a launch's segment with its waits (then its run number counted),
    the waits of a load every vEU makes."""

    def __init__(self, program: FlowProgram, veu, table, counters, sync, runs, tasks):
        self.program, self.veu, self.table, self.counters = program, veu, table, counters
        self.sync, self.runs, self.tasks = sync, runs, tasks
        self.numbered = iter(range(len(program.run)))

    def place(self, original: ir.Operation, clone: ir.Operation) -> None:
        decided = self.program.order
        with ir.InsertionPoint(clone), clone.location:
            if original in decided.barriers:
                grid_barrier(self.sync)
            waits = decided.waits.get(original, ())
            if launch_of(original, self.program.functions) is not None:
                self.segment(clone, next(self.numbered), waits)
                return
            for dependency in waits:
                self.program._wait(self.counters, dependency, self.runs.current(dependency))

    def segment(self, call: ir.Operation, index: int, waits: tuple[int, ...]) -> None:
        """At the insertion point, for ``call``: its segment, then its run counted."""
        program = self.program
        launch = program.run[index]
        described = Segment(index, launch.kernel, launch.launch.blocks, waits)
        program._segment(
            described,
            self.veu,
            self.table,
            self.counters,
            self.runs.current,
            self.tasks[index],
            launch,
            list(call.operands),
        )
        self.runs.passed(index)
        call.erase()
