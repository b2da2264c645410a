"""Weights and inputs of the GPU benchmark, generated from a seed with integer arithmetic only.

Weights never travel to the GPU machine: both sides call :func:`generate` with the same
(seed, name, shape) and get the same bits. The generator is counter-based, so an array does not
depend on which others were generated before it:

- the stream of a tensor is ``key = fnv1a32(name) ^ (seed * 0x9E3779B9)`` (32-bit);
- element ``i`` is ``mix32(i * 0x9E3779B9 + key)``, all arithmetic modulo 2**32;
- its top 11 bits give an integer ``k`` in [-1024, 1024), and the value is
  ``offset + k * 2**-(10 + scale_log2)``: exact in float32 (k has 11 bits), so every machine
  computes the same float32 array; a float16 array is that array rounded to nearest-even by
  numpy's IEEE conversion, the same everywhere too.

Only numpy; no random generator of a library whose algorithm could change between versions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

GOLDEN = 0x9E3779B9  # 2**32 / golden ratio: Knuth's multiplicative hashing constant (TAOCP 6.4)
# FNV-1a, 32-bit: offset basis and prime of the Fowler-Noll-Vo hash (IETF draft-eastlake-fnv).
FNV_OFFSET, FNV_PRIME = 2166136261, 16777619
# "lowbias32" multipliers, from Chris Wellons' hash-prospector search of 32-bit integer
# hash functions (xorshift-multiply, 2 rounds).
MIX = (0x7FEB352D, 0x846CA68B)


def fnv1a32(text: str) -> int:
    value = FNV_OFFSET
    for byte in text.encode():
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return value


def mix32(x: np.ndarray) -> np.ndarray:
    """A bijective 32-bit integer hash (uint32 in, uint32 out, wrapping arithmetic)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(MIX[0])
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(MIX[1])
    return x ^ (x >> np.uint32(16))


def generate(
    name: str,
    shape: Sequence[int],
    dtype,
    seed: int,
    scale_log2: int = 0,
    offset: float = 0.0,
) -> np.ndarray:
    """The tensor ``name`` of the model seeded ``seed``: values ``offset + k * 2**-(10 +
    scale_log2)`` for integers k in [-1024, 1024), so in ``offset`` +- ``2**-scale_log2``."""
    count = int(np.prod(shape, dtype=np.int64))
    key = np.uint32(fnv1a32(name) ^ ((seed * GOLDEN) & 0xFFFFFFFF))
    index = np.arange(count, dtype=np.uint32)
    hashed = mix32(index * np.uint32(GOLDEN) + key)
    k = (hashed >> np.uint32(21)).astype(np.int32) - 1024
    values = np.float32(offset) + k.astype(np.float32) * np.float32(2.0 ** -(10 + scale_log2))
    return values.reshape(tuple(shape)).astype(dtype)


def fingerprint(arrays: dict[str, np.ndarray]) -> str:
    """A SHA-256 over the arrays' names, dtypes, shapes and bytes: what both machines compare
    to know they generated the same feeds."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}:".encode() + array.tobytes())
    return digest.hexdigest()


def feeds(inputs: Sequence[dict], dtype, seed: int) -> dict[str, np.ndarray]:
    """Every graph input of a benchmark model, as bench.json lists them (name, shape,
    scale_log2, offset)."""
    return {
        spec["name"]: generate(
            spec["name"], spec["shape"], dtype, seed, spec["scale_log2"], spec["offset"]
        )
        for spec in inputs
    }
