"""Arithmetic, logic, comparison, conversion and move instructions.

Semantics follow the PTX ISA for the forms LLVM emits: integer arithmetic wraps at the type's
width; ``.f32`` arithmetic is done in float32 (``.rn``, the default, is numpy's rounding;
directed roundings on arithmetic are rejected rather than approximated); ``fma`` is computed in
float64 and rounded once to float32 (exact product, so one rounding except for rare double-rounding
ties); ``.ftz`` flushes float32 subnormal inputs and results; ``.sat`` clamps floats to [0, 1];
``.approx`` functions use numpy's correctly rounded ones (at least as accurate as the hardware).
Packed ``f16x2``/``bf16x2`` operate on both halves of a 32-bit register.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .operands import type_of
from .ops import SIMPLE, Op, decoder, expect_operands, unsupported
from .parser import Instruction, Vec
from .ptxtypes import TYPES, PTXType, bf16_to_f32, f32_to_bf16, flush_subnormals

_FLOAT_ROUNDING = {"rn", "rz", "rm", "rp"}
_INT_ROUNDING = {"rni", "rzi", "rmi", "rpi"}


def _split(instruction: Instruction) -> tuple[set[str], PTXType]:
    """Modifiers (every part between the opcode and the type) and the instruction type."""
    return set(instruction.opcode[1:-1]), type_of(instruction.opcode[-1], instruction)


# ---------------------------------------------------------------------------------------------
# Value domains: how a type's register bits become numbers to compute with, and back.


def _to_compute(ptx_type: PTXType):
    """(decode, encode) between a type's operand values and the arrays arithmetic runs on."""
    if ptx_type.kind == "bf":
        return bf16_to_f32, f32_to_bf16
    if ptx_type.name == "f16x2":
        return (
            lambda v: np.asarray(v, np.uint32).reshape(-1).view(np.float16),
            lambda r: np.asarray(r, np.float16).view(np.uint32),
        )
    if ptx_type.name == "bf16x2":
        return (
            lambda v: bf16_to_f32(np.asarray(v, np.uint32).reshape(-1).view(np.uint16)),
            lambda r: f32_to_bf16(r).view(np.uint32),
        )
    return None, None


def _float_like(ptx_type: PTXType) -> bool:
    return ptx_type.is_float or ptx_type.kind == "bf" or ptx_type.name in ("f16x2", "bf16x2")


def _elementwise(
    instruction: Instruction,
    machine,
    ptx_type: PTXType,
    nsources: int,
    compute: Callable,
    result_type: PTXType | None = None,
) -> Op:
    """An op ``d = compute(a, b, ...)`` over values of ``ptx_type``."""
    expect_operands(instruction, nsources + 1)
    operands = machine.operands
    sources = [
        operands.read(instruction, operand, ptx_type) for operand in instruction.operands[1:]
    ]
    write = operands.write(instruction, instruction.operands[0], result_type or ptx_type)
    if any(isinstance(operand, Vec) for operand in instruction.operands):
        raise unsupported(instruction, "vector operand")
    decode, encode = _to_compute(ptx_type)
    if decode is not None:
        if result_type not in (None, ptx_type):
            raise unsupported(instruction, "packed or bf16 operands here")
        compute = _in_domain(compute, decode, encode)
    if nsources == 1:
        (first,) = sources
        return Op(SIMPLE, lambda idx: write(idx, compute(first(idx))))
    if nsources == 2:
        first, second = sources
        return Op(SIMPLE, lambda idx: write(idx, compute(first(idx), second(idx))))
    return Op(SIMPLE, lambda idx: write(idx, compute(*(source(idx) for source in sources))))


def _in_domain(compute: Callable, decode: Callable, encode: Callable) -> Callable:
    """Run ``compute`` on decoded values (bf16 as float32, packed pairs as two elements each)
    and encode the result back into the operand type's bits."""

    def wrapped(*values):
        shape = np.broadcast(*values).shape
        decoded = [decode(np.broadcast_to(value, shape)) for value in values]
        return encode(compute(*decoded)).reshape(shape)

    return wrapped


def _float_modifiers(
    instruction: Instruction, modifiers: set[str], ptx_type: PTXType, compute: Callable
) -> Callable:
    """Apply ``.ftz``/``.sat`` around a float computation; reject directed rounding."""
    directed = modifiers & {"rz", "rm", "rp"}
    if directed:
        raise unsupported(instruction, f"rounding .{directed.pop()} on arithmetic")
    if "ftz" in modifiers and ptx_type.name == "f32":
        compute = _flushing(compute)
    if "sat" in modifiers:
        compute = _saturating_float(compute)
    return compute


def _flushing(compute: Callable) -> Callable:
    """``.ftz``: subnormal inputs and results become signed zeros."""
    return lambda *values: flush_subnormals(compute(*(flush_subnormals(v) for v in values)))


def _saturating_float(compute: Callable) -> Callable:
    """``.sat``: clamp to [0, 1], NaN to 0."""

    def saturated(*values):
        result = compute(*values)
        return np.where(np.isnan(result), 0, np.clip(result, 0, 1)).astype(result.dtype)

    return saturated


def _fused(a, b, c):
    """a*b+c with one rounding for float32 (the float64 product of float32s is exact)."""
    dtype = np.result_type(a, b, c)
    if dtype == np.float64:
        return a * b + c
    wide = np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)
    return wide.astype(dtype)


# ---------------------------------------------------------------------------------------------
# Integer helpers


def _mul_high(a, b, ptx_type: PTXType):
    bits = ptx_type.bits
    if bits <= 32:
        wide = np.dtype(f"int{2 * bits}") if ptx_type.is_signed else np.dtype(f"uint{2 * bits}")
        return ((np.asarray(a).astype(wide) * np.asarray(b).astype(wide)) >> bits).astype(
            ptx_type.dtype
        )
    # 64x64 -> high 64 bits, from 32-bit halves (unsigned), corrected for signs.
    ua = np.asarray(a).astype(np.uint64)
    ub = np.asarray(b).astype(np.uint64)
    mask, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    a_lo, a_hi, b_lo, b_hi = ua & mask, ua >> shift, ub & mask, ub >> shift
    low = a_lo * b_lo
    middle1 = a_hi * b_lo + (low >> shift)
    middle2 = a_lo * b_hi + (middle1 & mask)
    high = a_hi * b_hi + (middle1 >> shift) + (middle2 >> shift)
    if ptx_type.is_signed:
        high = high - np.where(np.asarray(a) < 0, ub, 0).astype(np.uint64)
        high = high - np.where(np.asarray(b) < 0, ua, 0).astype(np.uint64)
    return high.astype(ptx_type.dtype)


def _saturating(ptx_type: PTXType, compute: Callable) -> Callable:
    info = np.iinfo(ptx_type.dtype)

    def saturated(*values):
        wide = compute(*(np.asarray(v).astype(np.int64) for v in values))
        return np.clip(wide, info.min, info.max).astype(ptx_type.dtype)

    return saturated


def _div(a, b, ptx_type: PTXType):
    if _float_like(ptx_type):
        return a / b
    safe = np.where(b == 0, 1, b).astype(ptx_type.dtype)
    if ptx_type.is_signed:
        remainder = np.fmod(a, safe)
        quotient = ((a - remainder) // safe).astype(ptx_type.dtype)
    else:
        quotient = (a // safe).astype(ptx_type.dtype)
    return np.where(b == 0, np.array(-1).astype(ptx_type.dtype), quotient)


def _rem(a, b, ptx_type: PTXType):
    safe = np.where(b == 0, 1, b).astype(ptx_type.dtype)
    result = np.fmod(a, safe) if ptx_type.is_signed else a % safe
    return np.where(b == 0, a, result).astype(ptx_type.dtype)


def _low_mask(count):
    """``count`` low bits set (0..64), as uint64."""
    count = np.asarray(count, np.uint64)
    partial = (np.uint64(1) << np.minimum(count, 63)) - np.uint64(1)
    return np.where(count >= 64, ~np.uint64(0), partial).astype(np.uint64)


def _shift_amount(b, bits: int):
    return np.minimum(np.asarray(b).astype(np.uint32), bits)


# ---------------------------------------------------------------------------------------------
# Decoders


@decoder("add", "sub")
def _add_sub(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    if modifiers & {"cc"} or instruction.opcode[0] in ("addc", "subc"):
        raise unsupported(instruction, "carry chains")
    subtract = instruction.opcode[0] == "sub"
    compute = (lambda a, b: a - b) if subtract else (lambda a, b: a + b)
    if _float_like(ptx_type):
        compute = _float_modifiers(instruction, modifiers, ptx_type, compute)
    elif "sat" in modifiers:
        compute = _saturating(ptx_type, compute)
    return _elementwise(instruction, machine, ptx_type, 2, compute)


@decoder("mul")
def _mul(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    if _float_like(ptx_type):
        compute = _float_modifiers(instruction, modifiers, ptx_type, lambda a, b: a * b)
        return _elementwise(instruction, machine, ptx_type, 2, compute)
    if "wide" in modifiers:
        wide = TYPES[f"{ptx_type.kind}{2 * ptx_type.bits}"]
        return _elementwise(
            instruction,
            machine,
            ptx_type,
            2,
            lambda a, b: np.asarray(a).astype(wide.dtype) * b,
            result_type=wide,
        )
    if "hi" in modifiers:
        return _elementwise(
            instruction, machine, ptx_type, 2, lambda a, b: _mul_high(a, b, ptx_type)
        )
    return _elementwise(instruction, machine, ptx_type, 2, lambda a, b: a * b)


@decoder("mad", "fma")
def _mad(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    if _float_like(ptx_type):
        compute = _float_modifiers(instruction, modifiers, ptx_type, _fused)
        return _elementwise(instruction, machine, ptx_type, 3, compute)
    if "wide" in modifiers:
        wide = TYPES[f"{ptx_type.kind}{2 * ptx_type.bits}"]
        expect_operands(instruction, 4)
        operands = machine.operands
        a, b = (operands.read(instruction, o, ptx_type) for o in instruction.operands[1:3])
        c = operands.read(instruction, instruction.operands[3], wide)
        write = operands.write(instruction, instruction.operands[0], wide)
        return Op(
            SIMPLE, lambda idx: write(idx, np.asarray(a(idx)).astype(wide.dtype) * b(idx) + c(idx))
        )
    if "hi" in modifiers:
        return _elementwise(
            instruction, machine, ptx_type, 3, lambda a, b, c: _mul_high(a, b, ptx_type) + c
        )
    return _elementwise(instruction, machine, ptx_type, 3, lambda a, b, c: a * b + c)


@decoder("div")
def _div_op(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    compute = lambda a, b: _div(a, b, ptx_type)  # noqa: E731
    if _float_like(ptx_type):
        compute = _float_modifiers(instruction, modifiers - {"full", "approx"}, ptx_type, compute)
    return _elementwise(instruction, machine, ptx_type, 2, compute)


@decoder("rem")
def _rem_op(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    return _elementwise(instruction, machine, ptx_type, 2, lambda a, b: _rem(a, b, ptx_type))


_UNARY_FLOAT = {
    "rcp": lambda a: np.asarray(1, a.dtype) / a,
    "sqrt": np.sqrt,
    "rsqrt": lambda a: np.asarray(1, a.dtype) / np.sqrt(a),
    "ex2": np.exp2,
    "lg2": np.log2,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
}


@decoder(*_UNARY_FLOAT)
def _unary_float(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    function = _UNARY_FLOAT[instruction.opcode[0]]
    compute = _float_modifiers(
        instruction, modifiers - {"approx", "full"}, ptx_type, lambda a: function(np.asarray(a))
    )
    return _elementwise(instruction, machine, ptx_type, 1, compute)


@decoder("min", "max")
def _min_max(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    is_min = instruction.opcode[0] == "min"
    if _float_like(ptx_type):
        propagate_nan = "NaN" in modifiers
        if propagate_nan:
            function = np.minimum if is_min else np.maximum
        else:
            function = np.fmin if is_min else np.fmax
        compute = _float_modifiers(
            instruction, modifiers - {"NaN", "xorsign", "abs"}, ptx_type, function
        )
    else:
        compute = np.minimum if is_min else np.maximum
    return _elementwise(instruction, machine, ptx_type, 2, compute)


@decoder("neg", "abs")
def _neg_abs(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    function = np.negative if instruction.opcode[0] == "neg" else np.abs
    compute = lambda a: function(np.asarray(a))  # noqa: E731
    if _float_like(ptx_type):
        compute = _float_modifiers(instruction, modifiers, ptx_type, compute)
    return _elementwise(instruction, machine, ptx_type, 1, compute)


@decoder("and", "or", "xor")
def _logic(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    function = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}[
        instruction.opcode[0]
    ]
    return _elementwise(instruction, machine, ptx_type, 2, function)


@decoder("not")
def _not(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    return _elementwise(instruction, machine, ptx_type, 1, np.invert)


@decoder("cnot")
def _cnot(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    return _elementwise(
        instruction, machine, ptx_type, 1, lambda a: (np.asarray(a) == 0).astype(ptx_type.dtype)
    )


@decoder("shl", "shr")
def _shift(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
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
    _, ptx_type = _split(instruction)
    bits = ptx_type.bits
    name = instruction.opcode[0]
    if name == "popc":
        return _elementwise(
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

        return _elementwise(
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

    return _elementwise(instruction, machine, ptx_type, 1, reverse)


@decoder("bfe")
def _bfe(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
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
    _, ptx_type = _split(instruction)
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
    modifiers, ptx_type = _split(instruction)
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


@decoder("copysign")
def _copysign(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    return _elementwise(instruction, machine, ptx_type, 2, lambda a, b: np.copysign(b, a))


_TESTS = {
    "finite": np.isfinite,
    "infinite": np.isinf,
    "number": lambda a: ~np.isnan(a),
    "notanumber": np.isnan,
    "normal": lambda a: np.isfinite(a) & (np.abs(a) >= np.finfo(a.dtype).tiny),
    "subnormal": lambda a: (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny),
}


@decoder("testp")
def _testp(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    test = _TESTS[modifiers.pop()]
    return _elementwise(
        instruction, machine, ptx_type, 1, lambda a: test(np.asarray(a)), result_type=TYPES["pred"]
    )


@decoder("selp")
def _selp(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    expect_operands(instruction, 4)
    operands = machine.operands
    a, b = (operands.read(instruction, o, ptx_type) for o in instruction.operands[1:3])
    condition = operands.read(instruction, instruction.operands[3], TYPES["pred"])
    write = operands.write(instruction, instruction.operands[0], ptx_type)
    dtype = ptx_type.dtype
    return Op(
        SIMPLE, lambda idx: write(idx, np.where(condition(idx), a(idx), b(idx)).astype(dtype))
    )


def _nan_either(a, b):
    return np.isnan(a) | np.isnan(b)


_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: (a != b) & ~_nan_either(a, b),
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lo": lambda a, b: a < b,
    "ls": lambda a, b: a <= b,
    "hi": lambda a, b: a > b,
    "hs": lambda a, b: a >= b,
    "equ": lambda a, b: (a == b) | _nan_either(a, b),
    "neu": lambda a, b: a != b,
    "ltu": lambda a, b: ~(a >= b),
    "leu": lambda a, b: ~(a > b),
    "gtu": lambda a, b: ~(a <= b),
    "geu": lambda a, b: ~(a < b),
    "num": lambda a, b: ~_nan_either(a, b),
    "nan": _nan_either,
}
_INT_COMPARE = dict(_COMPARE, ne=lambda a, b: a != b)
_COMBINE = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}


def _comparison(instruction: Instruction, modifiers: set[str], ptx_type: PTXType):
    table = _COMPARE if _float_like(ptx_type) else _INT_COMPARE
    names = modifiers & set(table)
    if len(names) != 1:
        raise unsupported(instruction, "comparison")
    compare = table[names.pop()]
    decode, _ = _to_compute(ptx_type)
    if decode is not None:
        if ptx_type.name != "bf16":
            raise unsupported(instruction, "packed comparison")
        return lambda a, b: compare(decode(a), decode(b))
    return compare


@decoder("setp")
def _setp(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = _split(instruction)
    compare = _comparison(instruction, modifiers, ptx_type)
    if "ftz" in modifiers and ptx_type.name == "f32":
        inner = compare
        compare = lambda a, b: inner(flush_subnormals(a), flush_subnormals(b))  # noqa: E731
    operands = machine.operands
    expect_operands(instruction, 3, 4)
    a, b = (operands.read(instruction, o, ptx_type) for o in instruction.operands[1:3])
    write = operands.write(instruction, instruction.operands[0], TYPES["pred"])
    combine_names = modifiers & set(_COMBINE)
    if len(instruction.operands) == 4:
        combine = _COMBINE[combine_names.pop()] if combine_names else None
        if combine is None:
            raise unsupported(instruction, "setp with a predicate but no boolean op")
        c = operands.read(instruction, instruction.operands[3], TYPES["pred"])
        return Op(SIMPLE, lambda idx: write(idx, combine(compare(a(idx), b(idx)), c(idx))))
    return Op(SIMPLE, lambda idx: write(idx, np.asarray(compare(a(idx), b(idx)))))


@decoder("set")
def _set(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    dest_type = type_of(parts[-2], instruction)
    source_type = type_of(parts[-1], instruction)
    compare = _comparison(instruction, set(parts[1:-2]), source_type)
    true_value = np.array(1.0 if dest_type.is_float else -1).astype(dest_type.dtype)
    operands = machine.operands
    expect_operands(instruction, 3)
    a, b = (operands.read(instruction, o, source_type) for o in instruction.operands[1:3])
    write = operands.write(instruction, instruction.operands[0], dest_type)
    zero = dest_type.dtype.type(0)
    return Op(SIMPLE, lambda idx: write(idx, np.where(compare(a(idx), b(idx)), true_value, zero)))


# ---------------------------------------------------------------------------------------------
# mov and cvt


@decoder("mov")
def _mov(instruction: Instruction, machine) -> Op:
    _, ptx_type = _split(instruction)
    expect_operands(instruction, 2)
    destination, source = instruction.operands
    operands = machine.operands
    if isinstance(source, Vec) or isinstance(destination, Vec):
        return _pack_unpack(instruction, machine, ptx_type)
    read = operands.read(instruction, source, ptx_type)
    write = operands.write(instruction, destination, ptx_type)
    return Op(SIMPLE, lambda idx: write(idx, read(idx)))


def _pack_unpack(instruction: Instruction, machine, ptx_type: PTXType) -> Op:
    """``mov.b64 %rd, {%r1, %r2}`` packs (first item lowest); the reverse form unpacks."""
    destination, source = instruction.operands
    operands = machine.operands
    vector = source if isinstance(source, Vec) else destination
    part_type = TYPES[f"b{ptx_type.bits // len(vector.items)}"]
    wide = ptx_type.dtype if ptx_type.kind != "f" else np.dtype(f"uint{ptx_type.bits}")
    wide_type = TYPES[f"b{ptx_type.bits}"]
    part_bits = part_type.bits
    if isinstance(source, Vec):
        readers = operands.vector_readers(instruction, source, part_type)
        write = operands.write(instruction, destination, wide_type)

        def pack(idx):
            result = 0
            for position, read in enumerate(readers):
                shift = np.uint64(position * part_bits)
                result = result | (np.asarray(read(idx)).astype(np.uint64) << shift)
            write(idx, np.asarray(result).astype(wide))

        return Op(SIMPLE, pack)
    read = operands.read(instruction, source, wide_type)
    writers = operands.vector_writers(instruction, destination, part_type)
    mask = np.uint64((1 << part_bits) - 1)

    def unpack(idx):
        value = np.asarray(read(idx)).astype(np.uint64)
        for position, write in enumerate(writers):
            write(idx, ((value >> np.uint64(position * part_bits)) & mask).astype(part_type.dtype))

    return Op(SIMPLE, unpack)


def _round_to_integer(values, rounding: str):
    return {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor, "rpi": np.ceil}[rounding](values)


@decoder("cvt")
def _cvt(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    if parts[-2] in ("f16x2", "bf16x2"):
        return _cvt_pack(instruction, machine)
    dest_type = type_of(parts[-2], instruction)
    source_type = type_of(parts[-1], instruction)
    modifiers = set(parts[1:-2])
    expect_operands(instruction, 2)
    convert = _converter(instruction, modifiers, dest_type, source_type)
    read = machine.operands.read(instruction, instruction.operands[1], source_type)
    write = machine.operands.write(instruction, instruction.operands[0], dest_type)
    return Op(SIMPLE, lambda idx: write(idx, convert(np.asarray(read(idx)))))


def _converter(
    instruction: Instruction, modifiers: set[str], dest: PTXType, source: PTXType
) -> Callable:
    """The conversion function of ``cvt.modifiers.dest.source`` (see the PTX ``cvt`` table)."""
    rounding = modifiers & (_FLOAT_ROUNDING | _INT_ROUNDING)
    rounding_name = rounding.pop() if rounding else None
    saturate = "sat" in modifiers
    ftz = "ftz" in modifiers
    source_float = source.is_float or source.kind == "bf"
    dest_float = dest.is_float or dest.kind == "bf"

    def to_float(values):  # source values as a float array
        values = bf16_to_f32(values) if source.kind == "bf" else values
        if ftz and values.dtype == np.float32:
            values = flush_subnormals(values)
        return values

    if source_float and not dest_float:
        if rounding_name not in _INT_ROUNDING:
            raise unsupported(instruction, "float-to-integer conversion without .rni/.rzi/...")
        info = np.iinfo(dest.dtype)

        def float_to_int(values):
            rounded = _round_to_integer(to_float(values).astype(np.float64), rounding_name)
            clipped = np.clip(np.nan_to_num(rounded, nan=0.0), info.min, info.max)
            return clipped.astype(dest.dtype)

        return float_to_int
    if not source_float and not dest_float:
        if saturate:
            info = np.iinfo(dest.dtype)
            return lambda values: np.clip(
                values.astype(np.int64) if source.bits < 64 else values, info.min, info.max
            ).astype(dest.dtype)
        return lambda values: values.astype(dest.dtype)
    if rounding_name in ("rz", "rm", "rp"):
        narrowing = not source_float or dest.bits < source.bits
        if narrowing:
            raise unsupported(instruction, f"directed rounding .{rounding_name}")
    if not source_float:  # integer to float, round to nearest
        compute_type = np.float32 if dest.kind == "bf" else dest.dtype
        finish = _finish_float(dest, saturate, ftz)
        return lambda values: finish(values.astype(compute_type))
    finish = _finish_float(dest, saturate, ftz)
    if rounding_name in _INT_ROUNDING:  # float to integral value in the same format
        return lambda values: finish(_round_to_integer(to_float(values), rounding_name))
    if dest.kind == "bf":
        return lambda values: finish(to_float(values).astype(np.float32))
    return lambda values: finish(to_float(values).astype(dest.dtype))


def _finish_float(dest: PTXType, saturate: bool, ftz: bool) -> Callable:
    def finish(values):
        if saturate:
            values = np.where(np.isnan(values), 0, np.clip(values, 0, 1)).astype(values.dtype)
        if ftz and values.dtype == np.float32:
            values = flush_subnormals(values)
        if dest.kind == "bf":
            return f32_to_bf16(values.astype(np.float32))
        return values.astype(dest.dtype)

    return finish


def _cvt_pack(instruction: Instruction, machine) -> Op:
    """``cvt.rn.f16x2.f32 d, a, b``: a goes to the upper half, b to the lower half."""
    parts = instruction.opcode
    modifiers = set(parts[1:-2])
    if "rn" not in modifiers:
        raise unsupported(instruction, "packed conversion without .rn")
    half = TYPES["f16"] if parts[-2] == "f16x2" else TYPES["bf16"]
    convert = _converter(instruction, modifiers, half, type_of(parts[-1], instruction))
    expect_operands(instruction, 3)
    operands = machine.operands
    source_type = type_of(parts[-1], instruction)
    a, b = (operands.read(instruction, o, source_type) for o in instruction.operands[1:])
    write = operands.write(instruction, instruction.operands[0], TYPES["b32"])

    def pack(idx):
        high = convert(np.asarray(a(idx))).view(np.uint16).astype(np.uint32)
        low = convert(np.asarray(b(idx))).view(np.uint16).astype(np.uint32)
        write(idx, (high << np.uint32(16)) | low)

    return Op(SIMPLE, pack)


@decoder("lop3")
def _lop3(instruction: Instruction, machine) -> Op:
    """``lop3.b32 d, a, b, c, immLut``: bit i of immLut is the result for (a, b, c) = bits of i."""
    _, ptx_type = _split(instruction)
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
