"""Extended-precision integer carry chains: ``add.cc addc sub.cc subc mad.cc madc``.

Each thread has one carry flag, ``CC.CF`` (``machine.carry``, 0 or 1). ``add.cc`` writes the
carry out of an unsigned addition of the operand bits; ``addc`` adds the flag in (and ``.cc``
writes the new carry). Subtraction follows the PTX ISA: ``sub.cc`` writes the borrow out,
``subc`` computes ``a - (b + CF)``. ``mad{c}.lo/.hi{.cc}`` add ``c`` (and the flag) to the low or
high half of ``a * b`` the same way. Signed types (``.s32``/``.s64``) chain on the same bits.
"""

from __future__ import annotations

import numpy as np

from .arith import _mul_high
from .elementwise import split_type
from .ops import SIMPLE, Op, decoder, expect_operands, unsupported
from .parser import Instruction
from .ptxtypes import TYPES


def _wide_add(x, y, carry_in):
    """Unsigned ``x + y + carry_in`` at the dtype's width: (sum, carry out)."""
    total = x + y
    carry = total < x
    with_carry = total + carry_in.astype(total.dtype)
    carry = carry | (with_carry < total)
    return with_carry, carry


def _wide_sub(x, y, borrow_in):
    """Unsigned ``x - (y + borrow_in)``: (difference, borrow out)."""
    difference = x - y
    borrow = x < y
    with_borrow = difference - borrow_in.astype(difference.dtype)
    borrow = borrow | (difference < borrow_in.astype(difference.dtype))
    return with_borrow, borrow


@decoder("addc", "subc", "madc")
def carry_chain(instruction: Instruction, machine) -> Op:
    name = instruction.opcode[0]
    modifiers, ptx_type = split_type(instruction)
    if ptx_type.kind not in ("u", "s", "b") or ptx_type.bits not in (32, 64):
        raise unsupported(instruction, "carry-chain type")
    uses_carry = name.endswith("c")
    base = name.rstrip("c") if uses_carry else name
    writes_carry = "cc" in modifiers
    if (modifiers - {"cc", "lo", "hi"}) or (base == "mad") != bool(modifiers & {"lo", "hi"}):
        raise unsupported(instruction, "carry-chain modifiers")
    nsources = 3 if base == "mad" else 2
    expect_operands(instruction, nsources + 1)
    operands = machine.operands
    sources = [operands.read(instruction, o, ptx_type) for o in instruction.operands[1:]]
    unsigned = TYPES[f"u{ptx_type.bits}"]
    write = operands.write(instruction, instruction.operands[0], unsigned)
    flag = machine.carry
    high = "hi" in modifiers

    def run(idx):
        values = [np.asarray(source(idx)) for source in sources]
        count = len(machine.threads(idx))
        carry_in = (flag if idx is None else flag[idx]) if uses_carry else np.zeros(count, np.uint8)
        if base == "mad":
            a, b, c = values
            product = _mul_high(a, b, ptx_type) if high else a * b
            x = np.asarray(product).astype(ptx_type.dtype).view(unsigned.dtype)
            y = c.astype(ptx_type.dtype).view(unsigned.dtype)
        else:
            x, y = (v.astype(ptx_type.dtype).view(unsigned.dtype) for v in values)
        x = np.broadcast_to(x, (count,))
        y = np.broadcast_to(y, (count,))
        combine = _wide_sub if base == "sub" else _wide_add
        result, carry_out = combine(x, y, carry_in)
        write(idx, result)
        if writes_carry:
            if idx is None:
                flag[...] = carry_out
            else:
                flag[idx] = carry_out

    return Op(SIMPLE, run)
