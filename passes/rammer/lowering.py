"""How a vEU program's schedule ops become code: sequential on the CPU, spinning on the GPU.

CPU (``quartet-map-to-cpu``): the vEU loop moves inside each segment, so the program runs
launch after launch, every vEU's tasks of a launch in vEU order:

    scf.parallel (%veu) { segment 0 ; segment 1 }
  becomes
    scf.parallel (%veu) { segment 0 }
    scf.parallel (%veu) { segment 1 }

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
  ``red.release.gpu.global.add.u32`` (inline PTX: ``llvm.atomicrmw`` drops its ordering).

Counters count tasks over every inference and wrap at 2^32: a wait compares the signed
difference ``counter - expected x epoch``, which stays within a launch's task count of zero.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, gpu, llvm, memref, nvvm, scf

from quartet.dialects import schedule, tile
from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.passes.error_word import error_word_argument, expand_check
from quartet.passes.rammer.program import SHORT_WAIT


def split_segments(program: ir.Operation) -> None:
    """The vEU loop ``program`` as one plain loop over the vEUs per segment, each holding that
    segment alone (the loads of the other segments' ranges are left dead for canonicalize).
    The copies are no vEU program any more: they lose its attributes."""
    segments = _segments(program)
    for keep in range(len(segments)):
        copy = program.clone(ip=ir.InsertionPoint(program))
        for key in (schedule.VEUS, schedule.TABLE):
            del copy.attributes[key]
        for position, segment in enumerate(_segments(copy)):
            if position != keep:
                segment.erase()
            else:
                del segment.attributes[schedule.SEGMENT]
    program.erase()


def _segments(loop: ir.Operation) -> list[ir.Operation]:
    return [
        op.operation
        for op in loop.regions[0].blocks[0].operations
        if schedule.SEGMENT in op.operation.attributes
    ]


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
    i32 = ir.IntegerType.get_signless(32)
    with ir.InsertionPoint(wait), wait.location:
        first = arith.cmpi(arith.CmpIPredicate.eq, thread, b.const_index(0))
        with b.only_if(first):
            cell = _global_cell(counters, launch)
            poll = scf.WhileOp([i32], [arith.constant(i32, FIRST_SLEEP_NS)])
            before = poll.before.blocks.append(i32)
            with ir.InsertionPoint(before):
                acquire = llvm.AtomicOrdering.acquire
                value = llvm.load(i32, cell, alignment=4, ordering=acquire, syncscope="device")
                true = arith.constant(ir.IntegerType.get_signless(1), 1)
                short = arith.xori(_reached(value, expected, epoch), true)
                scf.ConditionOp(short, [before.arguments[0]])
            after = poll.after.blocks.append(i32)
            with ir.InsertionPoint(after):
                nvvm.nanosleep(after.arguments[0])
                doubled = arith.shli(after.arguments[0], arith.constant(i32, 1))
                scf.YieldOp([arith.minui(doubled, arith.constant(i32, LONGEST_SLEEP_NS))])
        gpu.BarrierOp()
    wait.erase()


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
    """An LLVM pointer, in the global address space, to ``counters[launch]`` (an i32)."""
    i64 = ir.IntegerType.get_signless(64)
    base = memref.extract_aligned_pointer_as_index(counters)
    generic = llvm.inttoptr(ir.Type.parse("!llvm.ptr"), arith.index_cast(i64, base))
    pointer = llvm.addrspacecast(ir.Type.parse("!llvm.ptr<1>"), generic)
    offset = arith.index_cast(i64, launch)
    i32 = ir.IntegerType.get_signless(32)
    dynamic = -(2**31)  # GEP's marker of an index given as a value
    return llvm.getelementptr(ir.Type.parse("!llvm.ptr<1>"), pointer, [offset], [dynamic], i32, 0)


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
