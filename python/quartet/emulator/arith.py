"""Integer and floating-point arithmetic: ``add sub mul mad fma div rem min max neg abs
copysign`` and the float functions ``rcp sqrt rsqrt ex2 lg2 sin cos tanh``.

Integer arithmetic wraps at the type's width (``.sat`` clamps); ``.f32`` arithmetic is done in
float32 (``.rn``, the default, is numpy's rounding); directed roundings ``.rz/.rm/.rp`` on f32/f64
``add sub mul fma div rcp sqrt`` are exact (see ``rounding``); ``fma``/``mad`` on f32 are exactly
fused; ``.approx`` functions use numpy's correctly rounded ones (at least as accurate as the
hardware). Division by zero gives -1 (integers; the dividend for ``rem``), never a trap.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .elementwise import elementwise, float_modifiers, is_float_like, split_type
from .ops import SIMPLE, Op, decoder, expect_operands
from .parser import Instruction
from .ptxtypes import TYPES, PTXType
from .rounding import DIRECTED, fma_f32, fma_f64_rn


def _fused(a, b, c):
    """a*b+c with one rounding (see ``rounding``)."""
    dtype = np.result_type(a, b, c)
    if dtype == np.float64:
        return fma_f64_rn(a, b, c)
    if dtype == np.float32:
        return fma_f32(a, b, c)
    wide = np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)
    return wide.astype(dtype)


def _directed(name: str, ptx_type: PTXType):
    return DIRECTED.get((name, ptx_type.name))


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
    if is_float_like(ptx_type):
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


@decoder("add", "sub")
def _add_sub(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    if "cc" in modifiers:
        from .carry import carry_chain

        return carry_chain(instruction, machine)
    subtract = instruction.opcode[0] == "sub"
    compute = (lambda a, b: a - b) if subtract else (lambda a, b: a + b)
    if is_float_like(ptx_type):
        rounded = _directed(instruction.opcode[0], ptx_type)
        compute = float_modifiers(instruction, modifiers, ptx_type, compute, rounded)
    elif "sat" in modifiers:
        compute = _saturating(ptx_type, compute)
    return elementwise(instruction, machine, ptx_type, 2, compute)


@decoder("mul")
def _mul(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    if is_float_like(ptx_type):
        compute = float_modifiers(
            instruction, modifiers, ptx_type, lambda a, b: a * b, _directed("mul", ptx_type)
        )
        return elementwise(instruction, machine, ptx_type, 2, compute)
    if "wide" in modifiers:
        wide = TYPES[f"{ptx_type.kind}{2 * ptx_type.bits}"]
        return elementwise(
            instruction,
            machine,
            ptx_type,
            2,
            lambda a, b: np.asarray(a).astype(wide.dtype) * b,
            result_type=wide,
        )
    if "hi" in modifiers:
        return elementwise(
            instruction, machine, ptx_type, 2, lambda a, b: _mul_high(a, b, ptx_type)
        )
    return elementwise(instruction, machine, ptx_type, 2, lambda a, b: a * b)


@decoder("mad", "fma")
def _mad(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    if "cc" in modifiers:
        from .carry import carry_chain

        return carry_chain(instruction, machine)
    if is_float_like(ptx_type):
        compute = float_modifiers(
            instruction, modifiers, ptx_type, _fused, _directed("fma", ptx_type)
        )
        return elementwise(instruction, machine, ptx_type, 3, compute)
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
        return elementwise(
            instruction, machine, ptx_type, 3, lambda a, b, c: _mul_high(a, b, ptx_type) + c
        )
    return elementwise(instruction, machine, ptx_type, 3, lambda a, b, c: a * b + c)


@decoder("div")
def _div_op(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    compute = lambda a, b: _div(a, b, ptx_type)  # noqa: E731
    if is_float_like(ptx_type):
        compute = float_modifiers(
            instruction,
            modifiers - {"full", "approx"},
            ptx_type,
            compute,
            _directed("div", ptx_type),
        )
    return elementwise(instruction, machine, ptx_type, 2, compute)


@decoder("rem")
def _rem_op(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    return elementwise(instruction, machine, ptx_type, 2, lambda a, b: _rem(a, b, ptx_type))


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
    modifiers, ptx_type = split_type(instruction)
    function = _UNARY_FLOAT[instruction.opcode[0]]
    compute = float_modifiers(
        instruction,
        modifiers - {"approx", "full"},
        ptx_type,
        lambda a: function(np.asarray(a)),
        _directed(instruction.opcode[0], ptx_type),
    )
    return elementwise(instruction, machine, ptx_type, 1, compute)


@decoder("min", "max")
def _min_max(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    is_min = instruction.opcode[0] == "min"
    if is_float_like(ptx_type):
        propagate_nan = "NaN" in modifiers
        if propagate_nan:
            function = np.minimum if is_min else np.maximum
        else:
            function = np.fmin if is_min else np.fmax
        compute = float_modifiers(
            instruction, modifiers - {"NaN", "xorsign", "abs"}, ptx_type, function
        )
    else:
        compute = np.minimum if is_min else np.maximum
    return elementwise(instruction, machine, ptx_type, 2, compute)


@decoder("neg", "abs")
def _neg_abs(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
    function = np.negative if instruction.opcode[0] == "neg" else np.abs
    compute = lambda a: function(np.asarray(a))  # noqa: E731
    if is_float_like(ptx_type):
        compute = float_modifiers(instruction, modifiers, ptx_type, compute)
    return elementwise(instruction, machine, ptx_type, 1, compute)


@decoder("copysign")
def _copysign(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
    return elementwise(instruction, machine, ptx_type, 2, lambda a, b: np.copysign(b, a))
