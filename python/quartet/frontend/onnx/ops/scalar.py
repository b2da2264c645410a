"""Scalar arithmetic inside generic bodies, chosen by element type (float, signed or unsigned
int, bool: MLIR integers are signless, so the ONNX dtype picks ``divsi`` or ``divui``)."""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.ir import (
    INT4,
    UINT4,
    Body,
    int_range,
    is_bool,
    is_float,
    is_unsigned,
    scalar_type,
)

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7 (erf has no CPU lowering in MLIR 22).
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)

_FLOAT_CMP = {"eq": "oeq", "lt": "olt", "gt": "ogt", "le": "ole", "ge": "oge", "ne": "une"}
_INT_CMP = {"eq": "eq", "lt": "slt", "gt": "sgt", "le": "sle", "ge": "sge", "ne": "ne"}
_UINT_CMP = {"eq": "eq", "lt": "ult", "gt": "ugt", "le": "ule", "ge": "uge", "ne": "ne"}


def binary(b: Body, kind: str, x: str, y: str, dtype) -> str:
    """``kind`` in add/sub/mul/div/max/min/pow on two scalars of ``dtype``."""
    element = scalar_type(dtype)
    if is_float(dtype):
        name = {
            "add": "arith.addf",
            "sub": "arith.subf",
            "mul": "arith.mulf",
            "div": "arith.divf",
            "max": "arith.maximumf",
            "min": "arith.minimumf",
            "pow": "math.powf",
        }[kind]
        return b.op(f"{name} {x}, {y} : {element}")
    if kind == "pow":
        return int_pow(b, x, y, dtype)
    if kind == "div":
        return int_divide(b, x, y, dtype)
    sign = "u" if is_unsigned(dtype) else "s"
    name = {
        "add": "arith.addi",
        "sub": "arith.subi",
        "mul": "arith.muli",
        "max": f"arith.max{sign}i",
        "min": f"arith.min{sign}i",
    }[kind]
    return b.op(f"{name} {x}, {y} : {element}")


def int_divide(b: Body, x: str, y: str, dtype) -> str:
    """``x / y`` truncated toward zero (ONNX, C) that never traps: ``x / 0`` is 0 and
    ``MIN / -1`` is MIN (what numpy's integer division, and so ONNX's reference, give)."""
    divisor, by_zero = safe_divisor(b, x, y, dtype)
    sign = "u" if is_unsigned(dtype) else "s"
    quotient = b.op(f"arith.div{sign}i {x}, {divisor} : {scalar_type(dtype)}")
    return b.select(by_zero, b.const(0, dtype), quotient, dtype)


def safe_divisor(b: Body, x: str, y: str, dtype) -> tuple[str, str]:
    """(a divisor that cannot trap, whether ``y`` is 0): ``y`` itself, or 1 where ``y`` is 0
    or ``x / y`` overflows (MIN / -1). With 1, ``arith.divsi`` gives MIN for MIN / -1 (two's
    complement wrap-around) and ``arith.remsi`` gives 0 for both, as numpy does."""
    by_zero = compare(b, "eq", y, b.const(0, dtype), dtype)
    if is_unsigned(dtype):  # no unsigned quotient overflows
        return b.select(by_zero, b.const(1, dtype), y, dtype), by_zero
    smallest = b.const(int(np.iinfo(dtype).min), dtype)
    overflow = b.op(
        f"arith.andi {compare(b, 'eq', x, smallest, dtype)}, "
        f"{compare(b, 'eq', y, b.const(-1, dtype), dtype)} : i1"
    )
    unsafe = b.op(f"arith.ori {by_zero}, {overflow} : i1")
    return b.select(unsafe, b.const(1, dtype), y, dtype), by_zero


def accumulator(dtype) -> np.dtype:
    """The type sums over ``dtype`` values accumulate in: float32 for float16, else dtype."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float16 else np.dtype(dtype)


def multiply_add(b: Body, acc: str, x: str, y: str, dtype, scale: float = 1.0) -> str:
    """``acc + ext(x) * ext(y) [* scale]`` in the accumulator type of ``dtype`` (ext: the
    widening the tensor-core lowering recognises on float16 operands)."""
    wide = accumulator(dtype)
    product = binary(b, "mul", cast(b, x, dtype, wide), cast(b, y, dtype, wide), wide)
    if scale != 1.0:
        product = binary(b, "mul", product, b.const(scale, wide), wide)
    return binary(b, "add", acc, product, wide)


def int_pow(b: Body, x: str, y: str, dtype) -> str:
    """Integer power through f64 (exact for results below 2**53)."""
    fx, fy = cast(b, x, dtype, np.float64), cast(b, y, dtype, np.float64)
    return cast(b, b.op(f"math.powf {fx}, {fy} : f64"), np.float64, dtype)


def compare(b: Body, kind: str, x: str, y: str, dtype) -> str:
    """An i1 comparison."""
    element = scalar_type(dtype)
    if is_float(dtype):
        return b.op(f"arith.cmpf {_FLOAT_CMP[kind]}, {x}, {y} : {element}")
    table = _UINT_CMP if is_unsigned(dtype) else _INT_CMP
    return b.op(f"arith.cmpi {table[kind]}, {x}, {y} : {element}")


def unary_math(b: Body, name: str, x: str, dtype) -> str:
    return b.op(f"math.{name} {x} : {scalar_type(dtype)}")


def neg(b: Body, x: str, dtype) -> str:
    if is_float(dtype):
        return b.op(f"arith.negf {x} : {scalar_type(dtype)}")
    return binary(b, "sub", b.const(0, dtype), x, dtype)


def exp(b: Body, x: str, dtype) -> str:
    return unary_math(b, "exp", x, dtype)


def log1p(b: Body, u: str, dtype) -> str:
    """log(1 + u) accurate for small u (MLIR lowers ``math.log1p`` as log(1 + u), which is 0
    for |u| below the epsilon): w = 1 + u; u where w == 1, else log(w) * u / (w - 1)
    (Goldberg, "What every computer scientist should know about floating-point", thm. 4).
    For finite u > -1."""
    one = b.const(1.0, dtype)
    w = binary(b, "add", one, u, dtype)
    ratio = binary(b, "div", u, binary(b, "sub", w, one, dtype), dtype)
    corrected = binary(b, "mul", unary_math(b, "log", w, dtype), ratio, dtype)
    return b.select(compare(b, "eq", w, one, dtype), u, corrected, dtype)


def erf(b: Body, x: str, dtype) -> str:
    """erf(x) = sign(x) * (1 - poly(t) * exp(-x^2)), t = 1 / (1 + p|x|)."""
    element = scalar_type(dtype)
    one = b.const(1.0, dtype)
    ax = b.op(f"math.absf {x} : {element}")
    denominator = binary(b, "add", one, binary(b, "mul", b.const(_ERF_P, dtype), ax, dtype), dtype)
    t = binary(b, "div", one, denominator, dtype)
    poly = b.const(_ERF_A[-1], dtype)
    for coefficient in reversed(_ERF_A[:-1]):
        poly = binary(
            b, "add", binary(b, "mul", poly, t, dtype), b.const(coefficient, dtype), dtype
        )
    poly = binary(b, "mul", poly, t, dtype)
    gauss = exp(b, neg(b, binary(b, "mul", ax, ax, dtype), dtype), dtype)
    magnitude = binary(b, "sub", one, binary(b, "mul", poly, gauss, dtype), dtype)
    return b.op(f"math.copysign {magnitude}, {x} : {element}")


def to_i1(b: Body, x: str, dtype) -> str:
    """Truth value of a scalar (bool storage i8, numbers != 0)."""
    if is_bool(dtype):
        return b.to_bool(x)
    zero = b.const(0, dtype)
    return compare(b, "ne", x, zero, dtype)


def cast(b: Body, x: str, source, target) -> str:
    """ONNX Cast between float, signed/unsigned int and bool types (numpy ``astype``
    semantics; a value outside a 4-bit type's range becomes 0, as ONNX's tests expect)."""
    source, target = np.dtype(source), np.dtype(target)
    src, dst = scalar_type(source), scalar_type(target)
    if source == target:
        return x
    if is_bool(target):
        return b.from_bool(to_i1(b, x, source))
    if target in (INT4, UINT4):
        return _to_nibble(b, x, source, target)
    unsigned = is_bool(source) or is_unsigned(source)
    if is_float(source) and is_float(target):
        op = "arith.extf" if source.itemsize < target.itemsize else "arith.truncf"
        return b.op(f"{op} {x} : {src} to {dst}")
    if is_float(source):
        op = "arith.fptoui" if is_unsigned(target) else "arith.fptosi"
        return b.op(f"{op} {x} : {src} to {dst}")
    if is_float(target):
        return b.op(f"arith.{'uitofp' if unsigned else 'sitofp'} {x} : {src} to {dst}")
    return _resize(b, x, src, dst, "arith.extui" if unsigned else "arith.extsi")


def _to_nibble(b: Body, x: str, source, target) -> str:
    """A value of ``source`` as a 4-bit integer in its byte: truncated toward zero, 0 where it
    is out of range (floats are range-checked before the conversion, which truncates)."""
    low, high = int_range(target)
    wide = np.dtype(np.float64) if is_float(source) else np.dtype(np.int64)
    value = cast(b, x, source, wide)
    if is_float(source):  # (low - 1, high + 1) exclusive: what truncates into [low, high]
        above = compare(b, "gt", value, b.const(low - 1, wide), wide)
        below = compare(b, "lt", value, b.const(high + 1, wide), wide)
    else:
        above = compare(b, "ge", value, b.const(low, wide), wide)
        below = compare(b, "le", value, b.const(high, wide), wide)
    inside = b.op(f"arith.andi {above}, {below} : i1")
    value = b.select(inside, value, b.const(0, wide), wide)
    return cast(b, value, wide, np.int8)


def _resize(b: Body, x: str, src: str, dst: str, extend: str) -> str:
    width_src, width_dst = int(src[1:]), int(dst[1:])
    if width_src == width_dst:
        return x
    op = extend if width_src < width_dst else "arith.trunci"
    return b.op(f"{op} {x} : {src} to {dst}")
