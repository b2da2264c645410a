"""Comparisons and selection: ``setp`` (with ``.and/.or/.xor`` and ``%p|%q``), ``set``,
``selp``, ``testp``.

Float comparisons follow IEEE: the ordered ones (``eq lt ...``, and ``ne``) are false when an
operand is NaN, the unordered ones (``equ neu ltu ...``) true; ``num``/``nan`` test for NaN.
"""

from __future__ import annotations

import numpy as np

from .elementwise import elementwise, is_float_like, split_type, value_domain
from .operands import type_of
from .ops import SIMPLE, Op, decoder, expect_operands, unsupported
from .parser import Instruction
from .ptxtypes import TYPES, PTXType, flush_subnormals

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
    modifiers, ptx_type = split_type(instruction)
    test = _TESTS[modifiers.pop()]
    return elementwise(
        instruction, machine, ptx_type, 1, lambda a: test(np.asarray(a)), result_type=TYPES["pred"]
    )


@decoder("selp")
def _selp(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
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
    table = _COMPARE if is_float_like(ptx_type) else _INT_COMPARE
    names = modifiers & set(table)
    if len(names) != 1:
        raise unsupported(instruction, "comparison")
    compare = table[names.pop()]
    decode, _ = value_domain(ptx_type)
    if decode is not None:
        if ptx_type.name != "bf16":
            raise unsupported(instruction, "packed comparison")
        return lambda a, b: compare(decode(a), decode(b))
    return compare


@decoder("setp")
def _setp(instruction: Instruction, machine) -> Op:
    modifiers, ptx_type = split_type(instruction)
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
