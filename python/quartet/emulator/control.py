"""Control flow and synchronization: ``bra``, ``ret``, ``exit``, ``trap``, barriers, fences.

``bar.sync``/``barrier.sync`` (barrier 0, optionally with the CTA's full thread count) become
CTA rendezvous handled by the scheduler; ``bar.warp.sync`` is a warp rendezvous over its member
mask. The memory is sequentially consistent, so ``membar``/``fence`` only tell the cross-CTA
race checker (``global_races.py``) what they order; ``nanosleep`` does nothing.
"""

from __future__ import annotations

import numpy as np

from .errors import ExecutionError
from .ops import BARRIER, BRANCH, EXIT, RET, SIMPLE, WARP, Op, decoder, unsupported
from .ordering import fence_ordering
from .parser import Imm, Instruction, Sym, parse_int
from .ptxtypes import TYPES


@decoder("bra")
def _branch(instruction: Instruction, machine) -> Op:
    if len(instruction.operands) != 1 or not isinstance(instruction.operands[0], Sym):
        raise unsupported(instruction, "indirect branch")
    return Op(BRANCH, target=machine.label(instruction, instruction.operands[0].name))


@decoder("ret", "exit")
def _exit(instruction: Instruction, machine) -> Op:
    if instruction.opcode[0] == "ret" and machine.in_function():
        return Op(RET)
    return Op(EXIT)


@decoder("trap")
def _trap(instruction: Instruction, machine) -> Op:
    def run(idx):
        thread, block = machine.coords(int(machine.threads(idx)[0]))
        raise ExecutionError(
            f"{machine.kernel.name}: line {instruction.line}: trap executed by "
            f"thread {thread} block {block}"
        )

    return Op(SIMPLE, run)


@decoder("bar", "barrier")
def _barrier(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    if parts[1:3] == ("warp", "sync"):
        mask = machine.operands.read(instruction, instruction.operands[0], TYPES["b32"])
        threads = machine.threads
        return Op(
            WARP,
            run=lambda idx: None,
            member_mask=lambda idx: np.broadcast_to(mask(idx), (len(threads(idx)),)),
        )
    if parts[1] not in ("sync", "cta") or (parts[1] == "cta" and parts[2] != "sync"):
        raise unsupported(instruction, f"barrier form .{'.'.join(parts[1:])}")
    operands = instruction.operands
    if (
        not operands
        or not isinstance(operands[0], Imm)
        or parse_int(operands[0].text, instruction.line) != 0
    ):
        raise unsupported(instruction, "barrier other than a literal barrier 0")
    if len(operands) == 2:
        count = operands[1]
        if not isinstance(count, Imm) or parse_int(count.text, instruction.line) != (
            machine.threads_per_cta
        ):
            raise unsupported(instruction, "barrier with a partial thread count")
    return Op(BARRIER)


@decoder("membar", "fence")
def _fence(instruction: Instruction, machine) -> Op:
    order = fence_ordering(instruction.opcode)
    races = machine.memory.global_races
    if order is None or not order.strong or races is None:
        return Op(SIMPLE, lambda idx: None)
    return Op(SIMPLE, lambda idx: races.fence(machine.threads(idx), order))


@decoder("nanosleep", "prefetch", "prefetchu")
def _no_op(instruction: Instruction, machine) -> Op:
    return Op(SIMPLE, lambda idx: None)
