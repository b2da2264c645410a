"""How a vEU program's schedule ops become code: sequential on the CPU, spinning on the GPU.

CPU (``quartet-map-to-cpu``): the vEU loop moves inside each segment, so the program runs
launch after launch, every vEU's tasks of a launch in vEU order; through the loops and
branches Grinder placed on the device, which run once with the vEU loop pushed into their
regions (:func:`split_program`), grid barriers dropped, the owner's guard around a construct
on one CTA dropped too (its segments find every task on the owner):

    scf.parallel (%veu) { segment 0 ; scf.for { segment 1 ; grid barrier } }
  becomes
    scf.parallel (%veu) { segment 0 }
    scf.for { scf.parallel (%veu) { segment 1 } }

In that order every wait must already be satisfied; a wait becomes a check that the counter
reached ``expected x epoch`` (else the run fails with the program's SHORT_WAIT error, through
the error word), a signal a plain add. The host zeroes the counters and sets the epoch to 1
where it allocates them (a CPU run allocates them anew each time).

GPU (``quartet-map-to-gpu``), with the orderings LLVM's NVPTX backend keeps (PLATFORM.md,
"Cross-CTA synchronisation"):

- wait: thread 0 polls ``ld.acquire.gpu.global`` (``llvm.load atomic syncscope("device")
  acquire``), sleeping between polls (``nanosleep``, doubling from 32 ns to 1 us), until the
  counter reached ``expected x epoch``; then a CTA barrier, so every thread's later reads
  happen after the acquire;
- signal: a CTA barrier (every thread's writes of the segment done), then thread 0 adds with
  ``red.release.gpu.global.add.u32`` (inline PTX: ``llvm.atomicrmw`` drops its ordering);
- grid barrier: a generation barrier on its two cells (:func:`expand_grid_barrier_on_gpu`).

Counters count tasks over every inference and wrap at 2^32: a wait compares the signed
difference ``counter - expected x epoch``, which stays within a launch's task count of zero.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, gpu, llvm, memref, nvvm, scf

from quartet.dialects import schedule, tile
from quartet.dialects.controlflow import PLACEABLE_OPS
from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.passes.error_word import error_word_argument, expand_check
from quartet.passes.rammer.launches import preorder
from quartet.passes.rammer.program import SHORT_WAIT


def expand_wait_on_cpu(wait: ir.Operation) -> None:
    """``wait`` as a check that its counter reached ``expected x epoch``."""
    counters, launch, expected, epoch = wait.operands
    function = _function_of(wait)
    position = error_word_argument(function)
    if position is None:
        raise PassError("a vEU program that waits needs an error word (run quartet-rammer)", wait)
    word = function.regions[0].blocks[0].arguments[position]
    with ir.InsertionPoint(wait), wait.location:
        ok = _reached(memref.load(counters, [launch]), expected, epoch)
        i32 = ir.IntegerType.get_signless(32)
        check = ir.Operation.create(
            tile.CHECK,
            operands=[ok, word],
            attributes={"code": ir.IntegerAttr.get(i32, SHORT_WAIT)},
        )
    wait.erase()
    expand_check(check)


def expand_signal_on_cpu(signal: ir.Operation) -> None:
    """``signal`` as a plain add to its counter."""
    counters, launch, amount = signal.operands
    with ir.InsertionPoint(signal), signal.location:
        memref.atomic_rmw(arith.AtomicRMWKind.addi, amount, counters, [launch])
    signal.erase()


def _reached(counter: ir.Value, expected: ir.Value, epoch: ir.Value) -> ir.Value:
    """``counter >= expected x epoch`` as an i1, wrapping like the counters do."""
    behind = arith.subi(counter, arith.muli(expected, epoch))
    zero = arith.constant(ir.IntegerType.get_signless(32), 0)
    return arith.cmpi(arith.CmpIPredicate.sge, behind, zero)


FIRST_SLEEP_NS, LONGEST_SLEEP_NS = 32, 1024
"""Backoff of a polling thread: a first sleep of 32 ns, doubled after each poll up to 1 us
(CUDA C++ Programming Guide, "__nanosleep": the sleep is approximately the given duration,
at most about 1 millisecond)."""


def expand_wait_on_gpu(wait: ir.Operation, thread: ir.Value) -> None:
    """``wait`` as thread 0 polling its counter with acquire loads and a backoff, then a CTA
    barrier."""
    counters, launch, expected, epoch = wait.operands
    with ir.InsertionPoint(wait), wait.location:
        first = arith.cmpi(arith.CmpIPredicate.eq, thread, b.const_index(0))
        with b.only_if(first):
            cell = _global_cell(counters, launch)
            true = arith.constant(ir.IntegerType.get_signless(1), 1)
            _poll(cell, lambda value: arith.xori(_reached(value, expected, epoch), true))
        gpu.BarrierOp()
    wait.erase()


def _poll(cell: ir.Value, short) -> None:
    """Poll the i32 at ``cell`` with acquire loads while ``short(value)`` (an i1) holds,
    sleeping between polls with the backoff above."""
    i32 = ir.IntegerType.get_signless(32)
    poll = scf.WhileOp([i32], [arith.constant(i32, FIRST_SLEEP_NS)])
    before = poll.before.blocks.append(i32)
    with ir.InsertionPoint(before):
        acquire = llvm.AtomicOrdering.acquire
        value = llvm.load(i32, cell, alignment=4, ordering=acquire, syncscope="device")
        scf.ConditionOp(short(value), [before.arguments[0]])
    after = poll.after.blocks.append(i32)
    with ir.InsertionPoint(after):
        nvvm.nanosleep(after.arguments[0])
        doubled = arith.shli(after.arguments[0], arith.constant(i32, 1))
        scf.YieldOp([arith.minui(doubled, arith.constant(i32, LONGEST_SLEEP_NS))])


def expand_signal_on_gpu(signal: ir.Operation, thread: ir.Value) -> None:
    """``signal`` as a CTA barrier, then thread 0's release add."""
    counters, launch, amount = signal.operands
    with ir.InsertionPoint(signal), signal.location:
        gpu.BarrierOp()
        first = arith.cmpi(arith.CmpIPredicate.eq, thread, b.const_index(0))
        with b.only_if(first):
            cell = _global_cell(counters, launch)
            llvm.inline_asm(
                None,
                [cell, amount],
                "red.release.gpu.global.add.u32 [$0], $1;",
                "l,r",
                has_side_effects=True,
            )
    signal.erase()


def _global_cell(counters: ir.Value, launch: ir.Value) -> ir.Value:
    """An LLVM pointer, in the global address space, to ``counters[launch]`` (an i32). A
    view of the counters at a static offset (a grid barrier's cells) is reached through the
    buffer it views (the bare-pointer kernel ABI passes buffers, not views)."""
    _, offset = ir.MemRefType(counters.type).get_strides_and_offset()
    owner = counters.owner
    if isinstance(owner, ir.OpView) and owner.operation.name == "memref.subview":
        counters = owner.operands[0]
    i64 = ir.IntegerType.get_signless(64)
    base = memref.extract_aligned_pointer_as_index(counters)
    generic = llvm.inttoptr(ir.Type.parse("!llvm.ptr"), arith.index_cast(i64, base))
    pointer = llvm.addrspacecast(ir.Type.parse("!llvm.ptr<1>"), generic)
    position = arith.index_cast(i64, b.add(launch, offset) if offset else launch)
    i32 = ir.IntegerType.get_signless(32)
    dynamic = -(2**31)  # GEP's marker of an index given as a value
    return llvm.getelementptr(ir.Type.parse("!llvm.ptr<1>"), pointer, [position], [dynamic], i32, 0)


def initialize_on_cpu(alloc: ir.Operation) -> None:
    """After the host's allocation of a vEU program's counters: zeros; of its epoch: 1."""
    buffer = alloc.results[0]
    value = 1 if schedule.EPOCH in alloc.attributes else 0
    size = ir.MemRefType(buffer.type).shape[0]
    with ir.InsertionPoint.after(alloc), alloc.location:
        constant = arith.constant(ir.IntegerType.get_signless(32), value)
        with b.for_loop(0, size, 1) as index:
            memref.store(constant, buffer, [index])


def _function_of(op: ir.Operation) -> ir.Operation:
    parent = op.parent
    while parent.name != "func.func":
        parent = parent.parent
    return parent


def split_program(program: ir.Operation) -> None:
    """The vEU loop ``program`` pushed inward through its loops and branches: each segment
    its own loop over the vEUs, at the place it had; each loop and branch kept once, outside
    any vEU loop (its bounds and predicate are uniform: every vEU has the same), the vEU loop
    pushed into its regions; grid barriers gone (the CPU runs one vEU loop after the other).
    The values a segment uses from the program's body (the table's ranges, the epoch,
    constants) are cloned into its loop; those a loop or branch uses, before it. What touches
    memory outside segments (:data:`EFFECTS`: the run numbers, a predicate's load and its
    waits) is uniform too and runs once, in place; a branch on the vEU (vEU 0 storing the run
    numbers) runs in a vEU loop of its own, like a segment."""
    Distribution(program).run()


class Distribution:
    """One vEU program being pushed inward (:func:`split_program`)."""

    def __init__(self, program: ir.Operation):
        self.program = program
        self.body = program.regions[0].blocks[0]
        self.veu = self.body.arguments[0]
        self.per_veu = _depending_on(program, self.veu)

    def run(self) -> None:
        self.block(list(self.body.operations)[:-1], top=True)
        for op in reversed(self.per_veu):
            if op.parent != self.program:
                op.erase()
        self.program.erase()

    def block(self, ops: list[ir.Operation], top: bool) -> None:
        for op in ops:
            op = op.operation if isinstance(op, ir.OpView) else op
            if op in self.per_veu:
                continue
            if schedule.OWNER in op.attributes:  # on a vEU, but the CPU runs it once
                self.block(_unguarded(op), top)
            elif schedule.SEGMENT in op.attributes or self.per_veu_regions(op):
                self.segment(op, top)
            elif op.name == schedule.BARRIER:
                op.erase()
            elif top and op.name in EFFECTS:
                op.move_before(self.program)
                self.uniform(op, {})
            elif op.name in PLACEABLE_OPS:
                if top:
                    op.move_before(self.program)
                self.uniform(op, {})
                for region in op.regions:
                    for block in region.blocks:
                        self.block(list(block.operations), top=False)
            elif not top:
                self.uniform(op, {})

    def segment(self, segment: ir.Operation, top: bool) -> None:
        anchor = self.program if top else segment
        veus = ir.IntegerAttr(_bound(self.program)).value
        with ir.InsertionPoint(anchor), segment.location, b.parallel([veus]) as (loop, (veu,)):
            for name in self.program.attributes:
                if "." in name and name not in DROPPED:
                    loop.attributes[name] = self.program.attributes[name]
            terminator = list(loop.region.blocks[0].operations)[-1].operation
        segment.move_before(terminator)
        if schedule.SEGMENT in segment.attributes:
            del segment.attributes[schedule.SEGMENT]
        cache = {self.veu: veu}
        for nested in preorder(segment):
            self.fix(nested, segment, cache)

    def per_veu_regions(self, op: ir.Operation) -> bool:
        """Whether ``op`` has regions and an operand that differs per vEU (what vEU 0 alone
        does): it runs in a vEU loop of its own, like a segment."""
        return bool(op.regions) and any(
            value == self.veu
            or (isinstance(value.owner, ir.OpView) and value.owner.operation in self.per_veu)
            for value in op.operands
        )

    def uniform(self, op: ir.Operation, cache: dict) -> None:
        """``op``'s operands from the program's body, made before it (none may be per-vEU)."""
        self.fix(op, op, cache)

    def fix(self, op: ir.Operation, anchor: ir.Operation, cache: dict) -> None:
        for position, value in enumerate(op.operands):
            if self.needs_copy(value):
                op.operands[position] = self.materialize(value, anchor, cache)

    def needs_copy(self, value: ir.Value) -> bool:
        if value == self.veu:
            return True
        owner = value.owner
        if not isinstance(owner, ir.OpView):
            return False
        return owner.operation.parent == self.program or owner.operation in self.per_veu

    def materialize(self, value: ir.Value, anchor: ir.Operation, cache: dict) -> ir.Value:
        if value in cache:
            return cache[value]
        if value == self.veu:
            raise PassError("a loop or branch of a vEU program depends on the vEU", anchor)
        owner = value.owner.operation
        copy = owner.clone(ip=ir.InsertionPoint(anchor))
        for position, operand in enumerate(copy.operands):
            if self.needs_copy(operand):
                copy.operands[position] = self.materialize(operand, copy, cache)
        for old, new in zip(owner.results, copy.results, strict=True):
            cache[old] = new
        return cache[value]


DROPPED = (schedule.VEUS, schedule.TABLE, schedule.GRID_SYNC)

EFFECTS = ("memref.alloca", "memref.load", "memref.store", schedule.WAIT)
"""Ops of the program's body, outside any segment, that touch memory (the run numbers, their
cells in the counters, a predicate, a wait before its load): every vEU does the same, so the
CPU does each once, in place (before the program), rather than where its value is used."""


def _unguarded(guard: ir.Operation) -> list[ir.Operation]:
    """The ops of ``guard`` (the ``scf.if %veu == owner`` around a construct on one CTA)
    moved before it, the guard gone: the CPU runs the construct once, its segments' vEU loops
    finding every task on the owner."""
    ops = [op.operation for op in guard.regions[0].blocks[0].operations][:-1]
    for op in ops:
        op.move_before(guard)
    guard.erase()
    return ops


def _bound(program: ir.Operation) -> ir.Attribute:
    return program.opview.upperBound[0].owner.attributes["value"]


def _depending_on(program: ir.Operation, veu: ir.Value) -> list[ir.Operation]:
    """The ops of ``program`` (outside segments) whose value depends on the vEU, in order."""
    found: list[ir.Operation] = []
    tainted = {veu}

    def visit(op: ir.Operation) -> None:
        for region in op.regions:
            for block in region.blocks:
                for nested in block.operations:
                    nested = nested.operation
                    if schedule.SEGMENT in nested.attributes:
                        continue
                    if not nested.regions and any(v in tainted for v in nested.operands):
                        found.append(nested)
                        tainted.update(nested.results)
                    visit(nested)

    visit(program)
    return found


def expand_grid_barrier_on_gpu(barrier: ir.Operation, thread: ir.Value, ctas: int) -> None:
    """``barrier`` (scope "grid") as a generation barrier of ``ctas`` CTAs on its two cells
    (arrivals, generation): a CTA barrier; thread 0 reads the generation (relaxed, before
    arriving), arrives with an acq_rel add; the last to arrive zeroes the arrivals and
    releases the next generation, the others poll it with acquire loads and a backoff; a CTA
    barrier. Nothing is ever reset from outside: the arrivals return to 0 and the generation
    only grows (compared with !=, so it may wrap)."""
    (sync,) = barrier.operands
    i32 = ir.IntegerType.get_signless(32)
    device = "device"
    with ir.InsertionPoint(barrier), barrier.location:
        gpu.BarrierOp()
        first = arith.cmpi(arith.CmpIPredicate.eq, thread, b.const_index(0))
        with b.only_if(first):
            arrivals = _global_cell(sync, b.const_index(0))
            generation = _global_cell(sync, b.const_index(1))
            monotonic = llvm.AtomicOrdering.monotonic
            seen = llvm.load(i32, generation, alignment=4, ordering=monotonic, syncscope=device)
            one = arith.constant(i32, 1)
            old = llvm.inline_asm(
                i32,
                [arrivals, one],
                "atom.acq_rel.gpu.global.add.u32 $0, [$1], $2;",
                "=r,l,r",
                has_side_effects=True,
            )
            last = arith.cmpi(arith.CmpIPredicate.eq, old, arith.constant(i32, ctas - 1))
            branch = scf.IfOp(last, has_else=True)
            with ir.InsertionPoint(branch.then_block):
                zero = arith.constant(i32, 0)
                llvm.store(zero, arrivals, alignment=4, ordering=monotonic, syncscope=device)
                llvm.inline_asm(
                    None,
                    [generation, one],
                    "red.release.gpu.global.add.u32 [$0], $1;",
                    "l,r",
                    has_side_effects=True,
                )
                scf.YieldOp([])
            with ir.InsertionPoint(branch.else_block):
                _poll(generation, lambda value: arith.cmpi(arith.CmpIPredicate.eq, value, seen))
                scf.YieldOp([])
        gpu.BarrierOp()
    barrier.erase()
