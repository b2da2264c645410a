"""PTX fundamental types and how they map onto numpy.

Registers hold raw bits (``uint8``..``uint64``, or ``bool`` for predicates); an instruction's type
suffix decides how it reads them (``.s32`` as ``int32``, ``.f32`` as ``float32``, ...). bf16 has no
numpy dtype: it is carried as its ``uint16`` bits and converted with bit tricks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PTXType:
    """One fundamental type: ``kind`` is ``u``, ``s``, ``b``, ``f``, ``bf`` or ``pred``."""

    name: str
    kind: str
    bits: int

    @property
    def nbytes(self) -> int:
        return max(self.bits // 8, 1)

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype values of this type are computed in."""
        if self.kind == "pred":
            return np.dtype(np.bool_)
        if self.kind == "f":
            return np.dtype(f"float{self.bits}")
        if self.kind == "s":
            return np.dtype(f"int{self.bits}")
        return np.dtype(f"uint{self.bits}")

    @property
    def is_float(self) -> bool:
        return self.kind == "f"

    @property
    def is_signed(self) -> bool:
        return self.kind == "s"


def _make_types() -> dict[str, PTXType]:
    types = {"pred": PTXType("pred", "pred", 1)}
    for bits in (8, 16, 32, 64):
        for kind in ("u", "s", "b"):
            types[f"{kind}{bits}"] = PTXType(f"{kind}{bits}", kind, bits)
    for bits in (16, 32, 64):
        types[f"f{bits}"] = PTXType(f"f{bits}", "f", bits)
    types["bf16"] = PTXType("bf16", "bf", 16)
    # Packed pairs are moved as their 32-bit container.
    types["f16x2"] = PTXType("f16x2", "b", 32)
    types["bf16x2"] = PTXType("bf16x2", "b", 32)
    return types


TYPES: dict[str, PTXType] = _make_types()


def raw_dtype(bits: int) -> np.dtype:
    """The unsigned dtype that stores ``bits`` raw bits (a register or a memory element)."""
    return np.dtype(f"uint{bits}")


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """Widen bf16 bit patterns to float32 exactly."""
    return (np.asarray(bits, np.uint32) << np.uint32(16)).view(np.float32)


def f32_to_bf16(values: np.ndarray) -> np.ndarray:
    """Round float32 to bf16 bit patterns, nearest-even, keeping NaNs quiet NaNs."""
    bits = np.asarray(values, np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = np.isnan(np.asarray(values, np.float32))
    return np.where(nan, np.uint32(0x7FC0), rounded).astype(np.uint16)


def flush_subnormals(values: np.ndarray) -> np.ndarray:
    """``.ftz``: float32 subnormal inputs and results become zero of the same sign."""
    tiny = np.abs(values) < np.float32(1.1754944e-38)
    if not np.any(tiny):
        return values
    return np.where(tiny, np.copysign(np.float32(0), values), values)
