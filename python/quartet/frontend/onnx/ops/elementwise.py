"""Pointwise operators: arithmetic, activations, comparisons, logic, Cast, Where.

Each becomes one ``linalg.generic`` whose indexing maps implement ONNX broadcasting (a size-1
dimension against a larger one is read at the constant index 0):

    Add(x: 2x3, b: 3)  ->  linalg.generic {indexing_maps = [(d0, d1) -> (d0, d1),
                                            (d0, d1) -> (d1), (d0, d1) -> (d0, d1)]} { addf }
"""

from __future__ import annotations

import math

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import is_bool, is_float, scalar_type
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.common import pointwise
from quartet.frontend.onnx.registry import op

_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow"}
_VARIADIC = {"Max": "max", "Min": "min", "Sum": "add"}
_COMPARE = {
    "Equal": "eq",
    "Less": "lt",
    "Greater": "gt",
    "LessOrEqual": "le",
    "GreaterOrEqual": "ge",
}
_LOGIC = {"And": "andi", "Or": "ori", "Xor": "xori"}


@op(*_BINARY)
def binary(ctx: NodeContext):
    x, y = ctx.inputs[0], ctx.inputs[1]
    kind = _BINARY[ctx.node.op_type]
    if kind == "pow" and is_float(x.dtype):
        return pointwise(
            ctx,
            [x, y],
            x.dtype,
            lambda b, a: s.binary(b, "pow", a[0], s.cast(b, a[1], y.dtype, x.dtype), x.dtype),
        )
    if kind == "pow":
        return pointwise(
            ctx,
            [x, y],
            x.dtype,
            lambda b, a: s.int_pow(b, a[0], s.cast(b, a[1], y.dtype, x.dtype), x.dtype),
        )
    _same_types(ctx)
    return pointwise(ctx, [x, y], x.dtype, lambda b, a: s.binary(b, kind, a[0], a[1], x.dtype))


@op(*_VARIADIC, "Mean")
def variadic(ctx: NodeContext):
    _same_types(ctx)
    dtype = ctx.inputs[0].dtype
    kind = _VARIADIC.get(ctx.node.op_type, "add")
    count = len(ctx.inputs)

    def body(b, args):
        value = args[0]
        for arg in args[1:]:
            value = s.binary(b, kind, value, arg, dtype)
        if ctx.node.op_type == "Mean":
            value = s.binary(b, "div", value, b.const(count, dtype), dtype)
        return value

    return pointwise(ctx, ctx.inputs, dtype, body)


@op(*_COMPARE)
def comparison(ctx: NodeContext):
    _same_types(ctx)
    dtype = ctx.inputs[0].dtype
    kind = _COMPARE[ctx.node.op_type]
    return pointwise(
        ctx, ctx.inputs, np.bool_, lambda b, a: b.from_bool(s.compare(b, kind, a[0], a[1], dtype))
    )


@op(*_LOGIC)
def logic(ctx: NodeContext):
    name = _LOGIC[ctx.node.op_type]

    def body(b, args):
        return b.from_bool(b.op(f"arith.{name} {b.to_bool(args[0])}, {b.to_bool(args[1])} : i1"))

    return pointwise(ctx, ctx.inputs, np.bool_, body)


@op("Not")
def logical_not(ctx: NodeContext):
    def body(b, args):
        true = b.op("arith.constant true")
        return b.from_bool(b.op(f"arith.xori {b.to_bool(args[0])}, {true} : i1"))

    return pointwise(ctx, ctx.inputs[:1], np.bool_, body)


def _unary(fn):
    """Register-free helper: a handler applying ``fn(b, x, dtype)`` to input 0."""

    def handler(ctx: NodeContext):
        x = ctx.inputs[0]
        return pointwise(ctx, [x], x.dtype, lambda b, a: fn(ctx, b, a[0], x.dtype))

    return handler


def _float_only(ctx: NodeContext, dtype) -> None:
    if not is_float(dtype):
        raise ctx.error(f"element type {np.dtype(dtype)} is not supported (floats only)")


def _math(name: str):
    def fn(ctx, b, x, dtype):
        _float_only(ctx, dtype)
        return s.unary_math(b, name, x, dtype)

    return fn


for _op_type, _name in {
    "Sqrt": "sqrt",
    "Exp": "exp",
    "Log": "log",
    "Tanh": "tanh",
    "Floor": "floor",
    "Ceil": "ceil",
    "Sin": "sin",
    "Cos": "cos",
}.items():
    op(_op_type)(_unary(_math(_name)))


@op("Erf")
def erf(ctx: NodeContext):
    _float_only(ctx, ctx.inputs[0].dtype)
    return _unary(lambda c, b, x, d: s.erf(b, x, d))(ctx)


@op("Neg")
def negate(ctx: NodeContext):
    return _unary(lambda c, b, x, d: s.neg(b, x, d))(ctx)


@op("Abs")
def absolute(ctx: NodeContext):
    def fn(c, b, x, d):
        name = "math.absf" if is_float(d) else "math.absi"
        return b.op(f"{name} {x} : {scalar_type(d)}")

    return _unary(fn)(ctx)


@op("Reciprocal")
def reciprocal(ctx: NodeContext):
    return _unary(lambda c, b, x, d: s.binary(b, "div", b.const(1.0, d), x, d))(ctx)


@op("Sigmoid")
def sigmoid(ctx: NodeContext):
    def fn(c, b, x, d):
        _float_only(c, d)
        one = b.const(1.0, d)
        return s.binary(b, "div", one, s.binary(b, "add", one, s.exp(b, s.neg(b, x, d), d), d), d)

    return _unary(fn)(ctx)


@op("Relu")
def relu(ctx: NodeContext):
    return _unary(lambda c, b, x, d: s.binary(b, "max", x, b.const(0, d), d))(ctx)


@op("LeakyRelu")
def leaky_relu(ctx: NodeContext):
    alpha = ctx.attr("alpha", 0.01)

    def fn(c, b, x, d):
        negative = s.compare(b, "lt", x, b.const(0.0, d), d)
        return b.select(negative, s.binary(b, "mul", x, b.const(alpha, d), d), x, d)

    return _unary(fn)(ctx)


@op("Elu")
def elu(ctx: NodeContext):
    alpha = ctx.attr("alpha", 1.0)

    def fn(c, b, x, d):
        negative = s.compare(b, "lt", x, b.const(0.0, d), d)
        expm1 = s.binary(b, "sub", s.exp(b, x, d), b.const(1.0, d), d)
        return b.select(negative, s.binary(b, "mul", expm1, b.const(alpha, d), d), x, d)

    return _unary(fn)(ctx)


@op("HardSigmoid")
def hard_sigmoid(ctx: NodeContext):
    alpha, beta = ctx.attr("alpha", 0.2), ctx.attr("beta", 0.5)

    def fn(c, b, x, d):
        y = s.binary(b, "add", s.binary(b, "mul", x, b.const(alpha, d), d), b.const(beta, d), d)
        return s.binary(b, "min", s.binary(b, "max", y, b.const(0.0, d), d), b.const(1.0, d), d)

    return _unary(fn)(ctx)


@op("Softplus")
def softplus(ctx: NodeContext):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): e^x overflows past 88.7 (f32) where the
    answer is x; e^-|x| never does."""

    def fn(c, b, x, d):
        _float_only(c, d)
        magnitude = b.op(f"math.absf {x} : {scalar_type(d)}")
        tail = s.log1p(b, s.exp(b, s.neg(b, magnitude, d), d), d)
        return s.binary(b, "add", s.binary(b, "max", x, b.const(0.0, d), d), tail, d)

    return _unary(fn)(ctx)


@op("Softsign")
def softsign(ctx: NodeContext):
    def fn(c, b, x, d):
        one = b.const(1.0, d)
        magnitude = b.op(f"math.absf {x} : {scalar_type(d)}")
        return s.binary(b, "div", x, s.binary(b, "add", one, magnitude, d), d)

    return _unary(fn)(ctx)


@op("Gelu")
def gelu(ctx: NodeContext):
    approximate = ctx.attr("approximate", "none")

    def fn(c, b, x, d):
        _float_only(c, d)
        half, one = b.const(0.5, d), b.const(1.0, d)
        if approximate == "tanh":
            cube = s.binary(b, "mul", s.binary(b, "mul", x, x, d), x, d)
            inner = s.binary(b, "add", x, s.binary(b, "mul", b.const(0.044715, d), cube, d), d)
            scaled = s.binary(b, "mul", b.const(math.sqrt(2 / math.pi), d), inner, d)
            core = s.unary_math(b, "tanh", scaled, d)
        else:
            core = s.erf(b, s.binary(b, "mul", x, b.const(1 / math.sqrt(2), d), d), d)
        return s.binary(
            b, "mul", s.binary(b, "mul", half, x, d), s.binary(b, "add", one, core, d), d
        )

    return _unary(fn)(ctx)


@op("Clip")
def clip(ctx: NodeContext):
    x = ctx.inputs[0]
    bounds = [
        (kind, t) for kind, t in (("max", ctx.input(1)), ("min", ctx.input(2))) if t is not None
    ]

    def body(b, args):
        value = args[0]
        for (kind, _), bound in zip(bounds, args[1:], strict=True):
            value = s.binary(b, kind, value, bound, x.dtype)
        return value

    return pointwise(ctx, [x, *(t for _, t in bounds)], x.dtype, body)


@op("PRelu")
def prelu(ctx: NodeContext):
    x, slope = ctx.inputs[0], ctx.inputs[1]

    def body(b, args):
        negative = s.compare(b, "lt", args[0], b.const(0, x.dtype), x.dtype)
        scaled = s.binary(b, "mul", args[0], args[1], x.dtype)
        return b.select(negative, scaled, args[0], x.dtype)

    return pointwise(ctx, [x, slope], x.dtype, body)


@op("Sign")
def sign(ctx: NodeContext):
    def fn(c, b, x, d):
        zero, one = b.const(0, d), b.const(1, d)
        positive = b.select(s.compare(b, "gt", x, zero, d), one, zero, d)
        return b.select(s.compare(b, "lt", x, zero, d), b.const(-1, d), positive, d)

    return _unary(fn)(ctx)


@op("Cast")
def cast(ctx: NodeContext):
    import onnx

    x = ctx.inputs[0]
    target = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(ctx.attr("to")))
    if target == x.dtype:
        return x
    return pointwise(ctx, [x], target, lambda b, a: s.cast(b, a[0], x.dtype, target))


@op("CastLike")
def cast_like(ctx: NodeContext):
    x, like = ctx.inputs[0], ctx.inputs[1]
    if like.dtype == x.dtype:
        return x
    return pointwise(ctx, [x], like.dtype, lambda b, a: s.cast(b, a[0], x.dtype, like.dtype))


@op("Where")
def where(ctx: NodeContext):
    condition, x, y = ctx.inputs

    def body(b, args):
        return b.select(b.to_bool(args[0]), args[1], args[2], x.dtype)

    return pointwise(ctx, [condition, x, y], x.dtype, body)


def _same_types(ctx: NodeContext) -> None:
    dtypes = {t.dtype for t in ctx.inputs if t is not None}
    if len(dtypes) > 1:
        raise ctx.error(f"inputs of different element types: {sorted(map(str, dtypes))}")
    (dtype,) = dtypes
    if is_bool(dtype) and ctx.node.op_type not in ("Equal",):
        raise ctx.error("boolean inputs are not supported")
