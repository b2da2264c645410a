"""Integer and floating-point arithmetic beyond the basic four: Mod, the bitwise operators,
BitShift, Round, IsInf, IsNaN and the inverse/hyperbolic trigonometric functions.

Each is one pointwise ``linalg.generic`` (see :func:`~quartet.frontend.onnx.ops.common.pointwise`).
Integer operations never trap: a divisor that would fault (0, or -1 against the lowest value)
is replaced before ``remsi``/``remui`` and the result defined as numpy defines it:

    Mod(x, y: int32, fmod=0) -> generic { safe = scalar.safe_divisor(x, y)  (1 where it faults)
                                          r = remsi(x, safe); r + y where r != 0 and
                                          sign(r) != sign(y) }   (x mod 0 = 0, as numpy)

Shifts by the element width or more (the shift count is read unsigned, so a negative count is
a huge one) give 0, or -1 for an arithmetic right shift of a negative value, as the ONNX tests
expect; LLVM's shifts would be poison there.
"""

from __future__ import annotations

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, is_float, is_unsigned, scalar_type
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import pointwise
from quartet.frontend.onnx.registry import op


def _integers_only(ctx: NodeContext, dtype) -> None:
    dtype = np.dtype(dtype)
    if is_float(dtype) or dtype == np.bool_:
        raise ctx.error(f"element type {dtype} is not supported (integers only)")


def _floats_only(ctx: NodeContext, dtype) -> None:
    if not is_float(dtype):
        raise ctx.error(f"element type {np.dtype(dtype)} is not supported (floats only)")


def _same_dtype(ctx: NodeContext):
    dtypes = {t.dtype for t in ctx.inputs if t is not None}
    if len(dtypes) != 1:
        raise ctx.error(f"inputs of different element types: {sorted(map(str, dtypes))}")
    return next(iter(dtypes))


@op("Mod")
def mod(ctx: NodeContext):
    dtype = _same_dtype(ctx)
    fmod = ctx.attr("fmod", 0)
    if is_float(dtype):
        return pointwise(ctx, ctx.inputs, dtype, lambda b, a: float_mod(b, a[0], a[1], dtype, fmod))
    _integers_only(ctx, dtype)
    return pointwise(ctx, ctx.inputs, dtype, lambda b, a: int_mod(b, a[0], a[1], dtype, fmod))


def float_mod(b: Body, x: str, y: str, dtype, fmod: int) -> str:
    """C ``fmod`` (fmod=1), or Python's ``%`` (fmod=0: the sign of the divisor; an exact zero
    takes the divisor's sign, inf and nan as Python gives them)."""
    element = scalar_type(dtype)
    remainder = b.op(f"arith.remf {x}, {y} : {element}")
    if fmod:
        return remainder
    zero = b.const(0.0, dtype)
    nonzero = b.op(f"arith.cmpf une, {remainder}, {zero} : {element}")  # nan counts
    signs_differ = b.op(
        f"arith.xori {s.compare(b, 'lt', y, zero, dtype)}, "
        f"{s.compare(b, 'lt', remainder, zero, dtype)} : i1"
    )
    shifted = b.select(signs_differ, s.binary(b, "add", remainder, y, dtype), remainder, dtype)
    signed_zero = b.op(f"math.copysign {zero}, {y} : {element}")
    return b.select(nonzero, shifted, signed_zero, dtype)


def int_mod(b: Body, x: str, y: str, dtype, fmod: int) -> str:
    """Integer remainder that never traps: 0 for a zero divisor (numpy's answer) and for -1
    (always 0, and INT_MIN % -1 would fault); fmod=0 takes the divisor's sign."""
    element = scalar_type(dtype)
    zero = b.const(0, dtype)
    divisor, _ = s.safe_divisor(b, x, y, dtype)  # remainder by 1 is 0: numpy's x % 0
    kind = "remui" if is_unsigned(dtype) else "remsi"
    remainder = b.op(f"arith.{kind} {x}, {divisor} : {element}")
    if fmod or is_unsigned(dtype):
        return remainder
    nonzero = s.compare(b, "ne", remainder, zero, dtype)
    signs_differ = b.op(
        f"arith.xori {s.compare(b, 'lt', y, zero, dtype)}, "
        f"{s.compare(b, 'lt', remainder, zero, dtype)} : i1"
    )
    adjust = b.op(f"arith.andi {nonzero}, {signs_differ} : i1")
    return b.select(adjust, s.binary(b, "add", remainder, y, dtype), remainder, dtype)


_BITWISE = {"BitwiseAnd": "andi", "BitwiseOr": "ori", "BitwiseXor": "xori"}


@op(*_BITWISE)
def bitwise(ctx: NodeContext):
    dtype = _same_dtype(ctx)
    _integers_only(ctx, dtype)
    name = _BITWISE[ctx.node.op_type]
    return pointwise(
        ctx,
        ctx.inputs,
        dtype,
        lambda b, a: b.op(f"arith.{name} {a[0]}, {a[1]} : {scalar_type(dtype)}"),
    )


@op("BitwiseNot")
def bitwise_not(ctx: NodeContext):
    x = ctx.inputs[0]
    _integers_only(ctx, x.dtype)

    def body(b: Body, args: list[str]) -> str:
        ones = b.const(-1, x.dtype)
        return b.op(f"arith.xori {args[0]}, {ones} : {scalar_type(x.dtype)}")

    return pointwise(ctx, [x], x.dtype, body)


@op("BitShift")
def bit_shift(ctx: NodeContext):
    dtype = _same_dtype(ctx)
    _integers_only(ctx, dtype)
    direction = ctx.attr("direction")
    if direction not in ("LEFT", "RIGHT"):
        raise ctx.error(f"direction must be LEFT or RIGHT, not {direction!r}")
    return pointwise(ctx, ctx.inputs, dtype, lambda b, a: _shift(b, a[0], a[1], dtype, direction))


def _shift(b: Body, x: str, count: str, dtype, direction: str) -> str:
    element = scalar_type(dtype)
    width = int(element[1:])
    too_far = b.op(f"arith.cmpi uge, {count}, {b.const(width, dtype)} : {element}")
    safe = b.select(too_far, b.const(0, dtype), count, dtype)
    if direction == "LEFT":
        return b.select(
            too_far, b.const(0, dtype), b.op(f"arith.shli {x}, {safe} : {element}"), dtype
        )
    if is_unsigned(dtype):
        return b.select(
            too_far, b.const(0, dtype), b.op(f"arith.shrui {x}, {safe} : {element}"), dtype
        )
    # arithmetic: shifting everything out leaves the sign
    sign = b.op(f"arith.shrsi {x}, {b.const(width - 1, dtype)} : {element}")
    return b.select(too_far, sign, b.op(f"arith.shrsi {x}, {safe} : {element}"), dtype)


@op("Round")
def round_op(ctx: NodeContext):
    """Round half to even (``math.roundeven``)."""
    x = ctx.inputs[0]
    _floats_only(ctx, x.dtype)
    return pointwise(ctx, [x], x.dtype, lambda b, a: s.unary_math(b, "roundeven", a[0], x.dtype))


@op("IsNaN")
def is_nan(ctx: NodeContext):
    x = ctx.inputs[0]
    _floats_only(ctx, x.dtype)
    element = scalar_type(x.dtype)
    return pointwise(
        ctx,
        [x],
        np.bool_,
        lambda b, a: b.from_bool(b.op(f"arith.cmpf uno, {a[0]}, {a[0]} : {element}")),
    )


@op("IsInf")
def is_inf(ctx: NodeContext):
    x = ctx.inputs[0]
    _floats_only(ctx, x.dtype)
    positive, negative = ctx.attr("detect_positive", 1), ctx.attr("detect_negative", 1)
    dtype = x.dtype

    def body(b: Body, args: list[str]) -> str:
        found = b.op("arith.constant false")
        for wanted, infinity in ((positive, np.inf), (negative, -np.inf)):
            if wanted:
                equal = s.compare(b, "eq", args[0], b.const(infinity, dtype), dtype)
                found = b.op(f"arith.ori {found}, {equal} : i1")
        return b.from_bool(found)

    return pointwise(ctx, [x], np.bool_, body)


# math ops with a lowering on both targets (MLIR 22: libm on the CPU, libdevice on NVPTX)
_MATH = {
    "Tan": "tan",
    "Asin": "asin",
    "Acos": "acos",
    "Atan": "atan",
    "Sinh": "sinh",
    "Cosh": "cosh",
}


def _math_handler(name: str):
    def handler(ctx: NodeContext):
        x = ctx.inputs[0]
        _floats_only(ctx, x.dtype)
        return pointwise(ctx, [x], x.dtype, lambda b, a: s.unary_math(b, name, a[0], x.dtype))

    return handler


for _op_type, _name in _MATH.items():
    op(_op_type)(_math_handler(_name))


@op("Asinh", "Acosh", "Atanh")
def inverse_hyperbolic(ctx: NodeContext):
    """From logarithms (``math.asinh`` and friends have no lowering in MLIR 22):
    asinh x = sign(x) log(|x| + sqrt(x^2 + 1)), acosh x = log(x + sqrt(x^2 - 1)),
    atanh x = log1p(2x / (1 - x)) / 2."""
    x = ctx.inputs[0]
    _floats_only(ctx, x.dtype)
    dtype, kind = x.dtype, ctx.node.op_type

    def body(b: Body, args: list[str]) -> str:
        value, one = args[0], b.const(1.0, dtype)
        if kind == "Atanh":
            ratio = s.binary(
                b,
                "div",
                s.binary(b, "add", value, value, dtype),
                s.binary(b, "sub", one, value, dtype),
                dtype,
            )
            return s.binary(
                b, "mul", s.unary_math(b, "log1p", ratio, dtype), b.const(0.5, dtype), dtype
            )
        magnitude = b.op(f"math.absf {value} : {scalar_type(dtype)}") if kind == "Asinh" else value
        square = s.binary(b, "mul", magnitude, magnitude, dtype)
        root = s.unary_math(
            b, "sqrt", s.binary(b, "add" if kind == "Asinh" else "sub", square, one, dtype), dtype
        )
        result = s.unary_math(b, "log", s.binary(b, "add", magnitude, root, dtype), dtype)
        if kind == "Acosh":
            return result
        return b.op(f"math.copysign {result}, {value} : {scalar_type(dtype)}")

    return pointwise(ctx, [x], dtype, body)
