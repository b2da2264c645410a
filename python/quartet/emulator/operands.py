"""Operand access: turn a parsed operand and an instruction type into a reader or a writer.

Registers hold raw bits, one numpy array per register over all threads of the grid. A reader is
``read(idx) -> values`` where ``idx`` is None (every thread) or an array of thread indices; the
values come out in the instruction type's dtype (a zero-copy view when widths agree). A writer is
``write(idx, values)`` and converts to the register's width (zero- or sign-extending a narrower
value, truncating a wider one), as PTX's relaxed type rules for ``ld``/``st``/``cvt`` allow.
Immediates become numpy scalars of the instruction type, so arithmetic keeps PTX widths.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import PTXUnsupportedError
from .parser import Addr, Imm, Instruction, PredPair, Reg, Sym, Vec, literal_value
from .ptxtypes import TYPES, PTXType, raw_dtype

Reader = Callable[[np.ndarray | None], np.ndarray]
Writer = Callable[[np.ndarray | None, np.ndarray], None]


def _take(array: np.ndarray) -> Reader:
    return lambda idx: array if idx is None else array[idx]


class Operands:
    """Readers and writers over one launch's register file, special registers and symbols."""

    def __init__(
        self, registers: dict[str, np.ndarray], special: dict[str, Reader], symbols: dict[str, int]
    ):
        self.registers = registers
        self.special = special
        self.symbols = symbols

    def _as_register(self, operand):
        """A ``.reg`` name without ``%`` (inline asm: ``.reg .u32 r0;``) is a register."""
        if isinstance(operand, Sym) and operand.name in self.registers:
            return Reg(operand.name)
        return operand

    def read(self, instruction: Instruction, operand, ptx_type: PTXType) -> Reader:
        operand = self._as_register(operand)
        if isinstance(operand, Imm):
            value = literal_value(operand.text, ptx_type, instruction.line)
            if ptx_type.kind == "bf":
                raise PTXUnsupportedError(instruction.line, instruction.text, "bf16 immediate")
            constant = np.array(value, dtype=ptx_type.dtype)[()]
            return lambda idx: constant
        if isinstance(operand, Sym):
            if operand.name not in self.symbols:
                raise PTXUnsupportedError(
                    instruction.line, instruction.text, f"address of symbol '{operand.name}'"
                )
            constant = np.array(self.symbols[operand.name], dtype=ptx_type.dtype)[()]
            return lambda idx: constant
        if isinstance(operand, Reg):
            reader = self._register_reader(instruction, operand.name, ptx_type)
            if operand.negated:
                return lambda idx: ~reader(idx)
            return reader
        raise PTXUnsupportedError(
            instruction.line, instruction.text, f"operand {operand!r} as a {ptx_type.name} source"
        )

    def _register_reader(self, instruction: Instruction, name: str, ptx_type: PTXType) -> Reader:
        if name in self.special:
            special = self.special[name]
            if ptx_type.bits == 32 or ptx_type.kind == "pred":
                return special
            return lambda idx: special(idx).astype(ptx_type.dtype)
        raw = self._raw(instruction, name)
        if ptx_type.kind == "pred" or raw.dtype == np.bool_:
            if ptx_type.kind != "pred" or raw.dtype != np.bool_:
                raise PTXUnsupportedError(
                    instruction.line, instruction.text, f"predicate/non-predicate mix on {name}"
                )
            return _take(raw)
        register_bits = raw.dtype.itemsize * 8
        if register_bits == ptx_type.bits:
            return _take(raw.view(ptx_type.dtype))
        if register_bits > ptx_type.bits:  # low bits of a wider register (little endian)
            return _take(raw.view(ptx_type.dtype)[:: register_bits // ptx_type.bits])
        source = raw.view(np.dtype(f"int{register_bits}")) if ptx_type.is_signed else raw
        return lambda idx: (source if idx is None else source[idx]).astype(ptx_type.dtype)

    def _raw(self, instruction: Instruction, name: str) -> np.ndarray:
        raw = self.registers.get(name)
        if raw is None:
            raise PTXUnsupportedError(
                instruction.line, instruction.text, f"undeclared register {name}"
            )
        return raw

    def write(self, instruction: Instruction, operand, ptx_type: PTXType) -> Writer:
        operand = self._as_register(operand)
        if operand is None:  # the '_' sink
            return lambda idx, values: None
        if isinstance(operand, PredPair):
            first = self.write(instruction, operand.first, ptx_type)
            second = self.write(instruction, operand.second, ptx_type)

            def write_pair(idx, values):
                first(idx, values)
                second(idx, ~values)

            return write_pair
        if not isinstance(operand, Reg) or operand.name in self.special:
            raise PTXUnsupportedError(
                instruction.line, instruction.text, f"destination {operand!r}"
            )
        raw = self._raw(instruction, operand.name)
        register_bits = raw.dtype.itemsize * 8
        if ptx_type.kind == "pred" or raw.dtype == np.bool_:
            return _assign(raw)
        if register_bits == ptx_type.bits:
            return _assign(raw.view(ptx_type.dtype))
        if register_bits < ptx_type.bits:
            target = raw_dtype(register_bits)
            assign = _assign(raw)
            return lambda idx, values: assign(idx, _bits(values, ptx_type).astype(target))
        wide = np.dtype(f"int{register_bits}") if ptx_type.is_signed else raw.dtype
        view = raw.view(wide)
        assign = _assign(view)
        if ptx_type.is_signed:
            return lambda idx, values: assign(idx, np.asarray(values).astype(wide))
        return lambda idx, values: assign(idx, _bits(values, ptx_type).astype(wide))

    def vector_readers(self, instruction: Instruction, operand, ptx_type: PTXType) -> list[Reader]:
        items = operand.items if isinstance(operand, Vec) else (operand,)
        return [self.read(instruction, item, ptx_type) for item in items]

    def vector_writers(self, instruction: Instruction, operand, ptx_type: PTXType) -> list[Writer]:
        items = operand.items if isinstance(operand, Vec) else (operand,)
        return [self.write(instruction, item, ptx_type) for item in items]

    def address(self, instruction: Instruction, operand: Addr) -> Reader:
        """The byte address of ``[base+offset]`` as int64 values."""
        if not isinstance(operand, Addr):
            raise PTXUnsupportedError(instruction.line, instruction.text, "expected [address]")
        if isinstance(operand.base, Sym) and operand.base.name in self.registers:
            operand = Addr(Reg(operand.base.name), operand.offset)
        offset = np.int64(operand.offset)
        if operand.base is None:
            return lambda idx: offset
        if isinstance(operand.base, Sym):
            if operand.base.name not in self.symbols:
                raise PTXUnsupportedError(
                    instruction.line, instruction.text, f"address of symbol '{operand.base.name}'"
                )
            constant = np.int64(self.symbols[operand.base.name]) + offset
            return lambda idx: constant
        raw = self._raw(instruction, operand.base.name)
        signed = raw.view(np.dtype(f"int{raw.dtype.itemsize * 8}"))
        if raw.dtype.itemsize == 8:
            return lambda idx: (signed if idx is None else signed[idx]) + offset
        unsigned = raw  # 32-bit addresses (shared/local windows) are unsigned offsets
        return lambda idx: (unsigned if idx is None else unsigned[idx]).astype(np.int64) + offset


def _assign(view: np.ndarray) -> Writer:
    def assign(idx, values):
        if idx is None:
            view[...] = values
        else:
            view[idx] = values

    return assign


def _bits(values, ptx_type: PTXType) -> np.ndarray:
    """The raw bit pattern of ``values`` (an unsigned integer array of the type's width)."""
    array = np.asarray(values, dtype=ptx_type.dtype)
    return array.view(raw_dtype(ptx_type.bits)) if ptx_type.bits >= 8 else array


def type_of(name: str, instruction: Instruction) -> PTXType:
    ptx_type = TYPES.get(name)
    if ptx_type is None:
        raise PTXUnsupportedError(instruction.line, instruction.text, f"type .{name}")
    return ptx_type
