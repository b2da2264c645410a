"""The vEU program of a host whose loops and branches quartet-grinder placed on the device.

The whole host body (its launches, the grid-placed ``scf.for`` / ``scf.while`` / ``scf.if``,
the loads of their predicates and the integer arithmetic around them) moves into one vEU
program; the host keeps its allocations, views and constants, and calls the program once:

    scf.parallel (%veu) = (0) to (V) {schedule.veus, schedule.table, ...} {
      %body = memref.alloca() : memref<i32>   // the loop body's entries, from counters[L + 2 + 1]
      segment(launch 0)                       // tasks dealt over the vEUs by the table
      scf.for %i = %lo to %hi step %s {       // the same bounds on every vEU
        %body += 1
        segment(launch 1) {                   // reads what 0 wrote, and what 2 wrote in the
          wait(%counters, 0, tasks_0, %e)     //   previous iteration (%e: the inference's
          wait(%counters, 2, tasks_2, %body - 1) ... signal(%counters, 1, ...) }  // number)
        segment(launch 2) { wait(%counters, 1, tasks_1, %body) ... }
      } {controlflow.placement = #controlflow.device<"grid">}
      "schedule.wait"(%counters, 2, tasks_2, %body)   // the predicate's writer, then
      %p = memref.load %flag[%c0]                     // every vEU reads it
      scf.if %p { %then += 1 ; segment(launch 3) }
      "schedule.barrier"(%counters, %sync) {scope = "grid"}   // every vEU has loaded them
      scf.if (%veu == 0) { counters[L + 2 + b] = entries of b ... }  // for the next inference
    }

Counters, as in a Rammer program, order the launches: every segment signals its launch's
counter; a wait's epoch operand is its producer's run number, so that inside a loop the
expected count grows with the iteration. Every entry of a block runs each launch it holds
once, so a launch's run number is its block's entry number (:class:`RunNumbers`, less one
where control is in the block's current entry before the launch): one cell per block that
holds launches, not per launch, keeps the registers they take few. Which launch waits for
which, and where a grid barrier remains (before a launch overwriting what every vEU loaded as
a predicate or condition), is order.py's. The counters buffer holds, after the launches'
counters, the grid barrier's two cells (``counters[L]``: arrivals, ``counters[L + 1]``:
generation) and the blocks' entry numbers at the end of the last inference
(``counters[L + 2 + b]``), so the host allocates and zeroes them once with the counters and
never resets them (lowering.py).

A construct quartet-grinder placed on one CTA (``#controlflow.device<"cta">``) runs on vEU
:data:`OWNER_VEU` alone, inside ``scf.if %veu == owner {schedule.owner}``; the vEU table gives
that vEU every task of its launches (quartet-rammer pins their rows). Inside it nothing waits
or signals, and no grid barrier stands: each task already ends with a CTA barrier, which
orders global memory between the threads of the one CTA, so the next launch and a
predicate's load need nothing more. The other vEUs cannot know its launches' run numbers (a
while loop's trip count is the owner's), so order.py takes the construct as one unit: every
vEU waits before it for the launches it depends on, and a grid barrier follows it before
the first op that touches what it wrote or overwrites what it read (none waits for its
launches). Its blocks have no run-number cells: nothing waits on their launches.

    "schedule.wait"(%counters, 0, tasks_0, %e)      // the owner reads what launch 0 wrote
    scf.if %veu == 0 {
      scf.while ... { segment(launch 1) ; %go = memref.load %flag ; scf.condition(%go) }
        {controlflow.placement = #controlflow.device<"cta">}
    } {schedule.owner = 0}
    "schedule.barrier"(...) {scope = "grid"}        // launch 2 reads what the owner wrote
    segment(launch 2)
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, memref, scf

from quartet.dialects import schedule
from quartet.dialects.controlflow import PLACEABLE_OPS, PLACEMENT
from quartet.dialects.schedule import Segment
from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.passes.rammer.launches import PASSED_OVER, Launch, distinct, launch_of, preorder
from quartet.passes.rammer.order import on_one_cta, order, owned
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


class Places:
    """Where the ops of a program are: per op, its (block, position) in each block from the
    program's body (block 0) in, blocks numbered in program order; per launch, its block.
    Every run of a block runs each launch it holds once, so a launch's run number is its
    block's *entry number*, less one where control is in that block's current entry before
    the launch."""

    def __init__(self, ops: list[ir.Operation], functions):
        self.functions = functions
        self.places: dict = {}
        self.blocks: list[int] = []  # per launch, in program order
        self.owned: set[int] = set()  # blocks in a construct on one CTA
        self.count = 0
        self._walk(ops, (), False)

    def _walk(self, ops: list[ir.Operation], outer: tuple, owned: bool) -> None:
        block = self.count
        self.count += 1
        if owned:
            self.owned.add(block)
        for position, op in enumerate(ops):
            self.places[op] = (*outer, (block, position))
            if launch_of(op, self.functions) is not None:
                self.blocks.append(block)
            for region in op.regions:
                for inner in region.blocks:
                    nested = [nested.operation for nested in inner.operations]
                    self._walk(nested, self.places[op], owned or on_one_cta(op))

    def counted(self) -> list[int]:
        """The blocks that hold launches, in program order, but those in a construct on one
        CTA: no wait waits for their launches (order.py), so their entries need no cell."""
        return sorted(set(self.blocks) - self.owned)

    def before(self, site: ir.Operation, launch: ir.Operation) -> bool:
        """Whether ``site`` is in the current entry of ``launch``'s block, at or before it."""
        block, position = self.places[launch][-1]
        return any(b == block and p <= position for b, p in self.places[site])


class RunNumbers:
    """Each launch's run number on one vEU (the times control passed its segment since the
    model was loaded; every vEU passes the same segments) from its block's entry number
    (:class:`Places`): one i32 ``memref.alloca`` per block that holds launches, made at the
    top of the vEU body, +1 where control enters the block (a scalar with constant uses:
    LLVM keeps it in a register); the program's body, entered once per inference, needs no
    cell. The counters hold each such block's entry number at the end of the last inference
    after the grid barrier's cells (``counters[L + 2 + b]``): every vEU starts from them, and
    vEU 0 stores its own back at the end (:meth:`publish`, after a grid barrier: every vEU
    has loaded them by then)."""

    def __init__(self, counters: ir.Value, launches: int, places: Places):
        """At the insertion point (the top of the vEU body): the cells, each loaded from its
        counters cell; the body's own entered."""
        self.counters, self.first, self.places = counters, launches + SYNC_CELLS, places
        i32 = ir.IntegerType.get_signless(32)
        self.numbers = {block: number for number, block in enumerate(places.counted())}
        self.cells = {
            block: memref.alloca(ir.MemRefType.get([], i32), [], [])
            for block in self.numbers
            if block != 0
        }
        for block, cell in self.cells.items():
            memref.store(self._last(block), cell, [])

    def _last(self, block: int) -> ir.Value:
        """At the insertion point: ``block``'s entries in all earlier inferences."""
        return memref.load(self.counters, [b.const_index(self.first + self.numbers[block])])

    def entries(self, block: int) -> ir.Value:
        """At the insertion point: ``block``'s entry number. The program's body is entered
        once per inference: its number is the stored one plus one, loaded where it is needed
        (nobody writes it during the run) rather than kept in a register all along."""
        if block != 0:
            return memref.load(self.cells[block], [])
        return arith.addi(self._last(0), arith.constant(ir.IntegerType.get_signless(32), 1))

    def current(self, launch: int, launch_op: ir.Operation, site: ir.Operation) -> ir.Value:
        """At the insertion point, for a wait at ``site`` (an op of the original program):
        ``launch``'s run number."""
        entries = self.entries(self.places.blocks[launch])
        if not self.places.before(site, launch_op):
            return entries
        return arith.subi(entries, arith.constant(ir.IntegerType.get_signless(32), 1))

    def entered(self, block: int) -> None:
        """At the insertion point (where control enters ``block``): one entry more."""
        entries = memref.load(self.cells[block], [])
        one = arith.constant(ir.IntegerType.get_signless(32), 1)
        memref.store(arith.addi(entries, one), self.cells[block], [])

    def enter_blocks(self, ops: list[ir.Operation]) -> None:
        """An entry at the start of every block among the regions of ``ops`` (clones of the
        program's ops, numbered as :class:`Places` numbered theirs) that holds launches."""
        count = [1]

        def walk(ops):
            for op in ops:
                for region in op.regions:
                    for inner in region.blocks:
                        block = count[0]
                        count[0] += 1
                        nested = [o.operation for o in inner.operations]
                        if block in self.cells:
                            with ir.InsertionPoint.at_block_begin(inner), op.location:
                                self.entered(block)
                        walk(nested)

        walk(ops)

    def publish(self, veu: ir.Value) -> None:
        """At the insertion point: vEU 0 stores every entry number into the counters."""
        with b.only_if(arith.cmpi(arith.CmpIPredicate.eq, veu, b.const_index(0))):
            for block, number in self.numbers.items():
                cell = [b.const_index(self.first + number)]
                memref.store(self.entries(block), self.counters, cell)


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
        self.places = Places(ops, functions)

    def _accesses(self, op: ir.Operation):
        launch = launch_of(op, self.functions)
        return None if launch is None else (launch.reads, launch.writes)

    @property
    def counters_type(self) -> ir.Type:
        """The launches' counters, the grid barrier's cells, the entry numbers of the blocks
        that hold launches."""
        cells = len(self.run) + SYNC_CELLS + len(self.places.counted())
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
                runs = RunNumbers(counters, launches, self.places)
                anchor = list(loop.region.blocks[0].operations)[-1].operation
            mapping = dict(zip(arguments, values, strict=True))
            clones = move_into(self.ops, anchor, mapping)
            func.ReturnOp([])
        pairs = zip(
            [nested for op in self.ops for nested in preorder(op)],
            [nested for clone in clones for nested in preorder(clone)],
            strict=True,
        )
        pairs = list(pairs)  # before the entries below add ops to the clones
        runs.enter_blocks(clones)
        with ir.InsertionPoint(anchor), anchor.location:
            grid_barrier(sync)
            runs.publish(veu)
        ordered = _Ordered(self, veu, table, counters, sync, runs, tasks)
        for original, clone in pairs:
            ordered.place(original, clone)
        guard_owned(loop.region.blocks[0], veu)
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
    barrier before an op, a launch's segment with its waits, the waits every vEU makes before
    a load or a loop."""

    def __init__(self, program: FlowProgram, veu, table, counters, sync, runs, tasks):
        self.program, self.veu, self.table, self.counters = program, veu, table, counters
        self.sync, self.runs, self.tasks = sync, runs, tasks
        self.numbered = iter(range(len(program.run)))
        self.launch_ops = [launch.call for launch in program.run]

    def place(self, original: ir.Operation, clone: ir.Operation) -> None:
        decided = self.program.order
        with ir.InsertionPoint(clone), clone.location:
            if original in decided.barriers:
                grid_barrier(self.sync)
            waits = decided.waits.get(original, ())
            if launch_of(original, self.program.functions) is not None:
                self.segment(clone, next(self.numbered), waits, original)
                return
            for dependency in waits:
                self.program._wait(self.counters, dependency, self.epoch(dependency, original))

    def epoch(self, dependency: int, site: ir.Operation) -> ir.Value:
        """At the insertion point: the run number of launch ``dependency`` seen at ``site``."""
        return self.runs.current(dependency, self.launch_ops[dependency], site)

    def segment(self, call: ir.Operation, index: int, waits: tuple[int, ...], original) -> None:
        """At the insertion point, for ``call`` (``original``'s clone): its segment."""
        program = self.program
        launch = program.run[index]
        described = Segment(index, launch.kernel, launch.launch.blocks, waits)
        program._segment(
            described,
            self.veu,
            self.table,
            self.counters,
            lambda dependency: self.epoch(dependency, original),
            self.tasks[index],
            launch,
            list(call.operands),
            signals=not owned(original),
        )
        call.erase()
