"""The host program's integer arithmetic: what the host computes between launches.

A host loop needs a little arithmetic on the host: its index, a trip count, an iteration
counter, a predicate read back from the device and compared. These are MLIR's signless
integers (``index`` is 64 bits, ``i1`` one), held as Python ints in ``[0, 2**bits)``; each
operation is the ``arith`` op it comes from, wrapping at the result's width as ``arith`` does.
Plain Python, no MLIR: the runtime evaluates them, the compiler (``quartet.host``) names them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from quartet.errors import QuartetError


def wrap(value: int, bits: int) -> int:
    """``value`` as the ``bits``-wide signless integer (two's complement, kept unsigned)."""
    return value & ((1 << bits) - 1)


def signed(value: int, bits: int) -> int:
    """The signed reading of a ``bits``-wide signless integer (i1's true is -1, as in MLIR)."""
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def _divide(signed_operands: bool, remainder: bool) -> Callable[[int, int, int], int]:
    """arith.divsi/divui/remsi/remui: rounding toward zero; division by zero is an error
    (undefined behaviour in MLIR, a clear error here)."""

    def apply(a: int, b: int, bits: int) -> int:
        x, y = (signed(a, bits), signed(b, bits)) if signed_operands else (a, b)
        if y == 0:
            raise QuartetError("error: the host program divides by zero")
        quotient = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        return x - quotient * y if remainder else quotient

    return apply


def _shift(kind: str) -> Callable[[int, int, int], int]:
    def apply(a: int, b: int, bits: int) -> int:
        if b >= bits:
            return 0 if kind != "shrsi" else (-1 if signed(a, bits) < 0 else 0)
        if kind == "shli":
            return a << b
        return (signed(a, bits) if kind == "shrsi" else a) >> b

    return apply


def _signed(function: Callable[[int, int], int]) -> Callable[[int, int, int], int]:
    return lambda a, b, bits: function(signed(a, bits), signed(b, bits))


def _unsigned(function: Callable[[int, int], int]) -> Callable[[int, int, int], int]:
    return lambda a, b, bits: function(a, b)


# arith op -> f(a, b, bits of the operands): a result to wrap at the result's width
BINARY: dict[str, Callable[[int, int, int], int]] = {
    "addi": _unsigned(operator.add),
    "subi": _unsigned(operator.sub),
    "muli": _unsigned(operator.mul),
    "andi": _unsigned(operator.and_),
    "ori": _unsigned(operator.or_),
    "xori": _unsigned(operator.xor),
    "divsi": _divide(True, False),
    "divui": _divide(False, False),
    "remsi": _divide(True, True),
    "remui": _divide(False, True),
    "maxsi": _signed(max),
    "minsi": _signed(min),
    "maxui": _unsigned(max),
    "minui": _unsigned(min),
    "shli": _shift("shli"),
    "shrsi": _shift("shrsi"),
    "shrui": _shift("shrui"),
    "cmpi.eq": _unsigned(operator.eq),
    "cmpi.ne": _unsigned(operator.ne),
    "cmpi.slt": _signed(operator.lt),
    "cmpi.sle": _signed(operator.le),
    "cmpi.sgt": _signed(operator.gt),
    "cmpi.sge": _signed(operator.ge),
    "cmpi.ult": _unsigned(operator.lt),
    "cmpi.ule": _unsigned(operator.le),
    "cmpi.ugt": _unsigned(operator.gt),
    "cmpi.uge": _unsigned(operator.ge),
}
# width changes: f(a, bits of the operand)
CASTS: dict[str, Callable[[int, int], int]] = {
    "trunci": lambda a, bits: a,
    "extui": lambda a, bits: a,
    "extsi": signed,
}
OPERATIONS = (*BINARY, *CASTS, "select")


def evaluate(op: str, operands: list[int], operand_bits: int, result_bits: int) -> int:
    """``op`` (one of OPERATIONS) on ``operands`` of ``operand_bits`` (a select's: of its
    values), wrapped to ``result_bits``."""
    if op == "select":
        condition, if_true, if_false = operands
        return if_true if condition else if_false
    if op in CASTS:
        return wrap(CASTS[op](operands[0], operand_bits), result_bits)
    return wrap(int(BINARY[op](operands[0], operands[1], operand_bits)), result_bits)
