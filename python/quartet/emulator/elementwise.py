"""Shared machinery of the arithmetic-style decoders: instruction type and modifiers, the value
domain an operand type computes in (bf16 as float32, packed pairs as two elements), and the
``d = f(a, b, ...)`` op builder with ``.ftz``/``.sat`` wrappers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .operands import type_of
from .ops import SIMPLE, Op, expect_operands, unsupported
from .parser import Instruction, Vec
from .ptxtypes import PTXType, bf16_to_f32, f32_to_bf16, flush_subnormals


def split_type(instruction: Instruction) -> tuple[set[str], PTXType]:
    """Modifiers (every part between the opcode and the type) and the instruction type."""
    return set(instruction.opcode[1:-1]), type_of(instruction.opcode[-1], instruction)


def value_domain(ptx_type: PTXType):
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


def is_float_like(ptx_type: PTXType) -> bool:
    return ptx_type.is_float or ptx_type.kind == "bf" or ptx_type.name in ("f16x2", "bf16x2")


def elementwise(
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
    decode, encode = value_domain(ptx_type)
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


def float_modifiers(
    instruction: Instruction,
    modifiers: set[str],
    ptx_type: PTXType,
    compute: Callable,
    rounded: Callable | None = None,
) -> Callable:
    """Apply ``.ftz``/``.sat`` around a float computation. A directed rounding ``.rz/.rm/.rp``
    needs ``rounded`` (f32/f64 ``add sub mul fma``: ``rounded(a, b, ..., mode)``)."""
    directed = modifiers & {"rz", "rm", "rp"}
    if directed:
        mode = directed.pop()
        if rounded is None or ptx_type.name not in ("f32", "f64"):
            raise unsupported(instruction, f"rounding .{mode} on this arithmetic")
        compute = lambda *values: rounded(*values, mode)  # noqa: E731
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
