"""Small IR-building helpers shared by the lowering passes (index arithmetic, loops, guards).

The MLIR Python bindings build one op at a time; these wrap the few shapes Quartet's loop
generators need so the passes read as the loop nests they produce. Everything builds at the
current insertion point and location.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from mlir import ir
from mlir.dialects import arith, scf


def const_index(value: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), value).result


def zero_of(value_type: ir.Type) -> ir.Value:
    """The constant 0 of a float or integer type, or of a vector of them."""
    if isinstance(value_type, ir.VectorType):
        element = value_type.element_type
        scalar = (
            ir.FloatAttr.get(element, 0.0)
            if isinstance(element, ir.FloatType)
            else ir.IntegerAttr.get(element, 0)
        )
        return arith.ConstantOp(value_type, ir.DenseElementsAttr.get_splat(value_type, scalar))
    if isinstance(value_type, ir.FloatType):
        return arith.ConstantOp(value_type, ir.FloatAttr.get(value_type, 0.0)).result
    return arith.ConstantOp(value_type, ir.IntegerAttr.get(value_type, 0)).result


def add(lhs: ir.Value, rhs: int | ir.Value) -> ir.Value:
    if isinstance(rhs, int):
        if rhs == 0:
            return lhs
        rhs = const_index(rhs)
    return arith.addi(lhs, rhs)


def mul(lhs: ir.Value, factor: int) -> ir.Value:
    return lhs if factor == 1 else arith.muli(lhs, const_index(factor))


def div(lhs: ir.Value, divisor: int) -> ir.Value:
    return lhs if divisor == 1 else arith.divui(lhs, const_index(divisor))


def rem(lhs: ir.Value, divisor: int) -> ir.Value:
    return const_index(0) if divisor == 1 else arith.remui(lhs, const_index(divisor))


def delinearize(linear: ir.Value, extents: Sequence[int]) -> list[ir.Value]:
    """Split a row-major linear index over ``extents`` (last fastest) into one index per extent.

    The outermost index needs no remainder: ``linear`` is below the product of the extents.
    """
    indices, stride = [], 1
    for position, extent in enumerate(reversed(extents)):
        outermost = position == len(extents) - 1
        indices.append(div(linear, stride) if outermost else rem(div(linear, stride), extent))
        stride *= extent
    return indices[::-1]


def clamp(value: ir.Value, size: int) -> ir.Value:
    """``value`` (a signed index) clamped into [0, size): a position before the start reads
    element 0, one past the end element ``size - 1``."""
    return arith.minsi(arith.maxsi(value, const_index(0)), const_index(size - 1))


def all_less_than(pairs: Sequence[tuple[ir.Value, int]]) -> ir.Value | None:
    """``i0 < n0 && i1 < n1 ...`` as an i1, or None when there is nothing to check."""
    condition = None
    for value, bound in pairs:
        check = arith.cmpi(arith.CmpIPredicate.ult, value, const_index(bound))
        condition = check if condition is None else arith.andi(condition, check)
    return condition


@contextmanager
def parallel(upper_bounds: Sequence[int]) -> Iterator[tuple[scf.ParallelOp, list[ir.Value]]]:
    """``scf.parallel`` from 0 to each bound, step 1; yields (op, induction variables)."""
    zeros = [const_index(0) for _ in upper_bounds]
    ones = [const_index(1) for _ in upper_bounds]
    bounds = [const_index(b) for b in upper_bounds]
    op = scf.ParallelOp([], zeros, bounds, ones, [])
    block = op.region.blocks.append(*[ir.IndexType.get()] * len(upper_bounds))
    with ir.InsertionPoint(block):
        scf.ReduceOp([], 0)
    with ir.InsertionPoint.at_block_terminator(block):
        yield op, list(block.arguments)


@contextmanager
def for_loop(
    lower: int | ir.Value, upper: int | ir.Value, step: int | ir.Value
) -> Iterator[ir.Value]:
    """``scf.for`` without iter_args; yields the induction variable."""
    lower, upper, step = (const_index(v) if isinstance(v, int) else v for v in (lower, upper, step))
    loop = scf.ForOp(lower, upper, step)
    with ir.InsertionPoint(loop.body):
        yield loop.induction_variable
        scf.YieldOp([])


@contextmanager
def only_if(condition: ir.Value | None) -> Iterator[None]:
    """Build the body under ``scf.if condition`` (or unguarded when condition is None)."""
    if condition is None:
        yield
        return
    branch = scf.IfOp(condition)
    with ir.InsertionPoint(branch.then_block):
        yield
        scf.YieldOp([])


def select_or(
    condition: ir.Value | None, build_value, fallback: ir.Value, result_type: ir.Type
) -> ir.Value:
    """``condition ? build_value() : fallback`` with the value built only on the taken branch."""
    if condition is None:
        return build_value()
    branch = scf.IfOp(condition, [result_type], has_else=True)
    with ir.InsertionPoint(branch.then_block):
        scf.YieldOp([build_value()])
    with ir.InsertionPoint(branch.else_block):
        scf.YieldOp([fallback])
    return branch.results[0]


def cta_barrier() -> None:
    """A ``schedule.barrier`` of the thread block, between two thread phases."""
    ir.Operation.create("schedule.barrier", attributes={"scope": ir.StringAttr.get("cta")})
