"""Moves and conversions: ``mov`` (including ``{a, b}`` pack/unpack) and ``cvt``.

``cvt`` follows the ISA's conversion table: integer to integer truncates or sign/zero-extends
(``.sat`` clamps); float to integer needs ``.rni/.rzi/.rmi/.rpi`` and saturates, NaN giving 0;
integer to float and float narrowing round to nearest even (directed roundings are exact for
f64 to f32 and integers to f32/f64, rejected on other narrowing conversions); ``.rni`` etc. on
float to float round to an integral value; bf16 goes through float32 with bit tricks;
``cvt.rn.f16x2.f32 d, a, b`` puts ``a`` in the upper half.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .elementwise import split_type
from .operands import type_of
from .ops import SIMPLE, Op, decoder, expect_operands, unsupported
from .parser import Instruction, Vec
from .ptxtypes import TYPES, PTXType, bf16_to_f32, f32_to_bf16, flush_subnormals
from .rounding import int_to_float, narrow_f64_to_f32

_FLOAT_ROUNDING = {"rn", "rz", "rm", "rp"}
_INT_ROUNDING = {"rni", "rzi", "rmi", "rpi"}


@decoder("mov")
def _mov(instruction: Instruction, machine) -> Op:
    _, ptx_type = split_type(instruction)
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
        if not source_float and dest.name in ("f32", "f64"):  # integer to float
            finish = _finish_float(dest, saturate, ftz)
            return lambda values: finish(int_to_float(values, dest.dtype, rounding_name))
        if narrowing and not (source.name == "f64" and dest.name == "f32"):
            raise unsupported(instruction, f"directed rounding .{rounding_name}")
        if narrowing:
            finish = _finish_float(dest, saturate, ftz)
            return lambda values: finish(narrow_f64_to_f32(values, rounding_name))
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
