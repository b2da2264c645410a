"""Logic and bit manipulation: ``and or xor not cnot lop3 shl shr popc clz brev bfe bfi prmt``.

Shift counts are clamped (a shift by the width or more gives 0, or the sign for ``shr`` on signed
types), as the ISA specifies; ``bfe``/``bfi`` follow its pseudocode for positions and lengths
past the operand width.
"""

from __future__ import annotations

import numpy as np

from .elementwise import elementwise, split_type
from .ops import SIMPLE, Op, decoder, expect_operands, unsupported
from .parser import Instruction
from .ptxtypes import TYPES


def _low_mask(count):
    """``count`` low bits set (0..64), as uint64."""
    count = np.asarray(count, np.uint64)
    partial = (np.uint64(1) << np.minimum(count, 63)) - np.uint64(1)
    return np.where(count >= 64, ~np.uint64(0), partial).astype(np.uint64)


def _shift_amount(b, bits: int):
    return np.minimum(np.asarray(b).astype(np.uint32), bits)


@decoder("and", "or", "xor")
def _logic(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    function = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}[
        instruction.opcode[0]
    ]
    return elementwise(instruction, machine, ptx_type, 2, function)


@decoder("not")
def _not(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    return elementwise(instruction, machine, ptx_type, 1, np.invert)


@decoder("cnot")
def _cnot(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    return elementwise(
        instruction, machine, ptx_type, 1, lambda a: (np.asarray(a) == 0).astype(ptx_type.dtype)
    )


@decoder("shl", "shr")
def _shift(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    expect_operands(instruction, 3)
    operands = machine.operands
    a = operands.read(instruction, instruction.operands[1], ptx_type)
    b = operands.read(instruction, instruction.operands[2], TYPES["u32"])
    write = operands.write(instruction, instruction.operands[0], ptx_type)
    bits = ptx_type.bits
    dtype = ptx_type.dtype
    if instruction.opcode[0] == "shl":

        def compute(x, n):
            n = _shift_amount(n, bits)
            return np.where(n >= bits, 0, x << np.minimum(n, bits - 1).astype(dtype)).astype(dtype)
    else:

        def compute(x, n):  # arithmetic for signed types, logical otherwise
            n = _shift_amount(n, bits)
            shifted = x >> np.minimum(n, bits - 1).astype(dtype)
            if ptx_type.is_signed:
                return shifted.astype(dtype)
            return np.where(n >= bits, 0, shifted).astype(dtype)

    return Op(SIMPLE, lambda idx: write(idx, compute(np.asarray(a(idx)), b(idx))))


@decoder("popc", "clz", "brev")
def _bit_count(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    bits = ptx_type.bits
    name = instruction.opcode[0]
    if name == "popc":
        return elementwise(
            instruction,
            machine,
            ptx_type,
            1,
            lambda a: np.bitwise_count(a).astype(np.uint32),
            result_type=TYPES["u32"],
        )
    if name == "clz":

        def leading_zeros(a):
            smeared = np.asarray(a).copy()
            shift = 1
            while shift < bits:
                smeared |= smeared >> ptx_type.dtype.type(shift)
                shift *= 2
            return (bits - np.bitwise_count(smeared)).astype(np.uint32)

        return elementwise(
            instruction, machine, ptx_type, 1, leading_zeros, result_type=TYPES["u32"]
        )

    def reverse(a):
        as_bytes = np.asarray(a, ptx_type.dtype).reshape(-1, 1).view(np.uint8)
        flipped = np.unpackbits(as_bytes, axis=1, bitorder="little")[:, ::-1]
        return (
            np.packbits(flipped, axis=1, bitorder="little")
            .view(ptx_type.dtype)
            .reshape(np.shape(a))
        )

    return elementwise(instruction, machine, ptx_type, 1, reverse)


@decoder("bfe")
def _bfe(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    expect_operands(instruction, 4)
    operands = machine.operands
    a = operands.read(instruction, instruction.operands[1], ptx_type)
    position = operands.read(instruction, instruction.operands[2], TYPES["u32"])
    length = operands.read(instruction, instruction.operands[3], TYPES["u32"])
    write = operands.write(instruction, instruction.operands[0], ptx_type)
    bits = ptx_type.bits
    unsigned = np.dtype(f"uint{bits}")

    def compute(x, pos, count):
        pos = np.minimum(np.asarray(pos) & 0xFF, bits).astype(np.uint64)
        count = np.minimum(np.asarray(count) & 0xFF, bits).astype(np.uint64)
        raw = np.asarray(x).astype(unsigned).astype(np.uint64)
        available = np.minimum(count, np.uint64(bits) - pos)  # field bits inside the source
        field = (raw >> np.minimum(pos, 63)) & _low_mask(available)
        if ptx_type.is_signed:
            top = np.minimum(pos + count, bits) - np.uint64(1)
            sign = (count > 0) & (((raw >> np.minimum(top, 63)) & np.uint64(1)) == 1)
            field = np.where(sign, field | ~_low_mask(available), field)
        return np.asarray(field).astype(unsigned).view(ptx_type.dtype)

    return Op(SIMPLE, lambda idx: write(idx, compute(a(idx), position(idx), length(idx))))


@decoder("bfi")
def _bfi(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    expect_operands(instruction, 5)
    operands = machine.operands
    source, base = (operands.read(instruction, o, ptx_type) for o in instruction.operands[1:3])
    position = operands.read(instruction, instruction.operands[3], TYPES["u32"])
    length = operands.read(instruction, instruction.operands[4], TYPES["u32"])
    write = operands.write(instruction, instruction.operands[0], ptx_type)
    bits = ptx_type.bits

    def compute(f, b, pos, count):
        pos = np.minimum(np.asarray(pos) & 0xFF, bits).astype(np.uint64)
        count = np.minimum(np.asarray(count) & 0xFF, bits).astype(np.uint64)
        mask = _low_mask(np.minimum(pos + count, bits)) & ~_low_mask(pos)
        shifted = np.asarray(f).astype(np.uint64) << np.minimum(pos, 63)
        result = (np.asarray(b).astype(np.uint64) & ~mask) | (shifted & mask)
        return result.astype(ptx_type.dtype)

    return Op(
        SIMPLE, lambda idx: write(idx, compute(source(idx), base(idx), position(idx), length(idx)))
    )


@decoder("prmt")
def _prmt(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    if modifiers:
        raise unsupported(instruction, "prmt mode")
    expect_operands(instruction, 4)
    operands = machine.operands
    a, b, selector = (operands.read(instruction, o, TYPES["b32"]) for o in instruction.operands[1:])
    write = operands.write(instruction, instruction.operands[0], TYPES["b32"])

    def compute(x, y, c):
        shape = np.broadcast(x, y, c).shape
        pool = np.stack([np.broadcast_to(x, shape), np.broadcast_to(y, shape)], -1)
        pool_bytes = pool.astype(np.uint32).view(np.uint8).reshape(*shape, 8)
        result = np.zeros(shape, np.uint32)
        control = np.broadcast_to(np.asarray(c, np.uint32), shape)
        for byte in range(4):
            nibble = (control >> np.uint32(4 * byte)) & np.uint32(0xF)
            chosen = np.take_along_axis(pool_bytes, (nibble & 7).astype(np.int64)[..., None], -1)[
                ..., 0
            ].astype(np.uint32)
            replicate = np.where(chosen & 0x80, 0xFF, 0).astype(np.uint32)
            value = np.where(nibble & 8, replicate, chosen)
            result |= value << np.uint32(8 * byte)
        return result

    return Op(SIMPLE, lambda idx: write(idx, compute(a(idx), b(idx), selector(idx))))


@decoder("lop3")
def _lop3(instruction: Instruction, machine) -> Op:
    """``lop3.b32 d, a, b, c, immLut``: bit i of immLut is the result for (a, b, c) = bits of i."""
    _, ptx_type = split_type(instruction)
    expect_operands(instruction, 5)
    operands = machine.operands
    a, b, c = (operands.read(instruction, o, ptx_type) for o in instruction.operands[1:4])
    table = int(operands.read(instruction, instruction.operands[4], TYPES["u32"])(None))
    write = operands.write(instruction, instruction.operands[0], ptx_type)

    def compute(x, y, z):
        result = np.zeros(np.broadcast(x, y, z).shape, ptx_type.dtype)
        for minterm in range(8):
            if table >> minterm & 1:
                result |= (
                    (x if minterm & 4 else ~x)
                    & (y if minterm & 2 else ~y)
                    & (z if minterm & 1 else ~z)
                )
        return result

    return Op(SIMPLE, lambda idx: write(idx, compute(a(idx), b(idx), c(idx))))


@decoder("shf")
def _funnel_shift(instruction: Instruction, machine) -> Op:
    """``shf.{l,r}.{wrap,clamp}.b32 d, a, b, c``: shift the 64-bit ``b:a`` (b high) by ``c``
    (``.wrap``: c mod 32, ``.clamp``: min(c, 32)); ``.l`` keeps the high word, ``.r`` the low."""
    parts = instruction.opcode
    if len(parts) != 4 or parts[1] not in ("l", "r") or parts[2] not in ("wrap", "clamp"):
        raise unsupported(instruction, "funnel shift form")
    if parts[3] not in ("b32", "u32", "s32"):
        raise unsupported(instruction, "funnel shift type")
    expect_operands(instruction, 4)
    operands = machine.operands
    u32 = TYPES["u32"]
    a, b, c = (operands.read(instruction, o, u32) for o in instruction.operands[1:])
    write = operands.write(instruction, instruction.operands[0], u32)
    left, wrap = parts[1] == "l", parts[2] == "wrap"

    def compute(low, high, count):
        count = np.asarray(count, np.uint64)
        count = count & np.uint64(31) if wrap else np.minimum(count, np.uint64(32))
        joined = (np.asarray(high, np.uint64) << np.uint64(32)) | np.asarray(low, np.uint64)
        if left:
            return ((joined << count) >> np.uint64(32)).astype(np.uint32)
        return (joined >> count).astype(np.uint32)

    return Op(SIMPLE, lambda idx: write(idx, compute(a(idx), b(idx), c(idx))))
