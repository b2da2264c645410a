"""The iteration space of a linalg.generic: loop extents, iterator kinds and operand accesses.

Everything Quartet's tiling reads about an operator, taken from its indexing maps and operand
shapes alone (no per-op templates), on tensors and on buffers alike. Each operand dimension is
accessed at a linear form ``sum(c_l * d_l) + c`` of the loops with non-negative coefficients:
plain dimensions (matmul), constants (broadcast of size-1 dims), strides and offsets (slices) and
sums of loops (convolution windows ``d2 * 2 + d5``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlir import ir

from quartet.dialects.tile import captured_reads
from quartet.passes.base import PassError


@dataclass(frozen=True)
class Linear:
    """``sum(coeff * loop) + constant`` over the loops of an iteration space."""

    coeffs: tuple[tuple[int, int], ...]  # (loop, coefficient > 0), by loop
    constant: int

    @property
    def loops(self) -> list[int]:
        return [loop for loop, _ in self.coeffs]

    def single_loop(self) -> int | None:
        """The loop when the form is exactly one loop (``d_l``), else None."""
        if self.constant == 0 and len(self.coeffs) == 1 and self.coeffs[0][1] == 1:
            return self.coeffs[0][0]
        return None

    def text(self, variable: str = "d") -> str:
        """``2*d1 + 1``, ``d2 - 1``, ``0``: the form with loop ``l`` named ``{variable}{l}``."""
        terms = [f"{c}*{variable}{p}" if c != 1 else f"{variable}{p}" for p, c in self.coeffs]
        if not terms:
            return str(self.constant)
        text = " + ".join(terms)
        if self.constant:
            text += f" {'-' if self.constant < 0 else '+'} {abs(self.constant)}"
        return text

    def span(self, tile: tuple[int, ...] | list[int]) -> int:
        """How many consecutive positions a tile of ``tile`` loop extents touches."""
        return sum(coeff * (tile[loop] - 1) for loop, coeff in self.coeffs) + 1


def linear_form(expr: ir.AffineExpr) -> Linear:
    """``expr`` as a Linear; ValueError for mod, division, symbols or negative coefficients."""
    coeffs: dict[int, int] = {}
    constant = _collect(expr, 1, coeffs)
    if any(coeff < 0 for coeff in coeffs.values()) or constant < 0:
        raise ValueError(f"negative coefficient in {expr}")
    return Linear(tuple(sorted((loop, c) for loop, c in coeffs.items() if c)), constant)


def _collect(expr: ir.AffineExpr, scale: int, coeffs: dict[int, int]) -> int:
    if isinstance(expr, ir.AffineDimExpr):
        coeffs[expr.position] = coeffs.get(expr.position, 0) + scale
        return 0
    if isinstance(expr, ir.AffineConstantExpr):
        return scale * expr.value
    if isinstance(expr, ir.AffineAddExpr):
        return _collect(expr.lhs, scale, coeffs) + _collect(expr.rhs, scale, coeffs)
    if isinstance(expr, ir.AffineMulExpr):
        lhs, rhs = expr.lhs, expr.rhs
        if isinstance(lhs, ir.AffineConstantExpr):
            lhs, rhs = rhs, lhs
        if isinstance(rhs, ir.AffineConstantExpr):
            return _collect(lhs, scale * rhs.value, coeffs)
    raise ValueError(f"{expr} is not a linear function of the loops")


@dataclass(frozen=True)
class IterationSpace:
    extents: tuple[int, ...]
    parallel: tuple[bool, ...]
    maps: tuple[ir.AffineMap, ...]
    forms: tuple[tuple[Linear, ...], ...]  # per operand (inputs then outputs), per dimension
    # per read of an outer value inside the body (see :func:`captured_reads`), its indices as
    # linear forms of the loops (each clamped into the value), or None where one is not
    captures: tuple[tuple[Linear, ...] | None, ...] = ()
    reads: tuple = field(default=(), compare=False)  # the captured read ops, in body order

    @classmethod
    def of(cls, op) -> IterationSpace:
        """Analyse ``op`` (a linalg.generic view); PassError for what tiling cannot handle."""
        maps = tuple(ir.AffineMapAttr(m).value for m in op.indexing_maps)
        parallel = tuple("parallel" in str(it) for it in op.iterator_types)
        operands = [*op.inputs, *op.outputs]
        forms = []
        for index, affine_map in enumerate(maps):
            try:
                forms.append(tuple(linear_form(expr) for expr in affine_map.results))
            except ValueError as error:
                raise PassError(f"indexing map #{index} ({affine_map}): {error}", op) from None
        for index, operand_forms in enumerate(forms[len(op.inputs) :]):
            if any(form.single_loop() is None for form in operand_forms):
                raise PassError(
                    f"output indexing map {maps[len(op.inputs) + index]} must "
                    "index each dimension by one loop",
                    op,
                )
        extents: list[int | None] = [None] * len(parallel)
        for index, (value, operand_forms) in enumerate(zip(operands, forms, strict=True)):
            if not isinstance(value.type, ir.ShapedType):
                continue
            shaped = ir.ShapedType(value.type)
            if not shaped.has_static_shape:
                raise PassError(f"operand #{index} has a dynamic shape ({value.type})", op)
            for form, size in zip(operand_forms, shaped.shape, strict=True):
                if form.single_loop() is not None:
                    extents[form.single_loop()] = size
        if None in extents:
            raise PassError("a loop of the iteration space indexes no operand dimension alone", op)
        reads = tuple(captured_reads(op))
        captures = tuple(_clamped_forms(read) for read in reads)
        return cls(tuple(extents), parallel, maps, tuple(forms), captures, reads)

    def access(self, operand: int) -> tuple[Linear, ...] | None:
        """The forms operand ``operand`` is read at: an operand's indexing map, or past the
        operands (``len(operands) + j``) the ``j``-th captured read's indices."""
        if operand < len(self.forms):
            return self.forms[operand]
        return self.captures[operand - len(self.forms)]

    @property
    def par_loops(self) -> list[int]:
        return [loop for loop, is_par in enumerate(self.parallel) if is_par]

    @property
    def red_loops(self) -> list[int]:
        return [loop for loop, is_par in enumerate(self.parallel) if not is_par]

    def uses_reduction(self, operand: int) -> bool:
        """Whether operand ``operand``'s indexing map reads any reduction loop."""
        return any(not self.parallel[loop] for form in self.forms[operand] for loop in form.loops)


def _clamped_forms(read: ir.Operation) -> tuple[Linear, ...] | None:
    """The indices of ``read`` as linear forms of the loops, each possibly clamped into the
    value it reads (``minsi(maxsi(x, 0), size - 1)``, the importer's padding), or None."""
    shape = ir.ShapedType(read.operands[0].type).shape
    forms = []
    for index, size in zip(list(read.operands)[1:], shape, strict=True):
        form = _index_form(_unclamped(index, size))
        if form is None:
            return None
        forms.append(form)
    return tuple(forms)


def _unclamped(value: ir.Value, size: int) -> ir.Value:
    """``value`` without its clamp into [0, size - 1] (``minsi(maxsi(x, 0), size - 1)``, or
    the two the other way round), or ``value`` itself when it is no such clamp. A clamp into
    any other range is an ordinary computed index: the lowering's checks of a captured read
    (``_check_clamped_reads``) hold only for positions clamped into the whole value."""
    bounds = {"arith.maxsi": 0, "arith.minsi": size - 1}
    for outer, inner in (("arith.minsi", "arith.maxsi"), ("arith.maxsi", "arith.minsi")):
        middle = _bounded(value, outer, bounds[outer])
        clamped = None if middle is None else _bounded(middle, inner, bounds[inner])
        if clamped is not None:
            return clamped
    return value


def _bounded(value: ir.Value, name: str, bound: int) -> ir.Value | None:
    """``x`` when ``value`` is ``name(x, bound)`` (either operand order), else None."""
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.operation.name != name:
        return None
    lhs, rhs = owner.operands
    if constant_int(rhs) == bound:
        return lhs
    if constant_int(lhs) == bound:
        return rhs
    return None


def _index_form(value: ir.Value) -> Linear | None:
    """``value`` (an index computed in a body) as a linear form of the loops, or None."""
    constant = constant_int(value)
    if constant is not None:
        return Linear((), constant)
    owner = value.owner
    if isinstance(owner, ir.Block):
        return None
    name = owner.operation.name
    if name == "linalg.index":
        return Linear(((ir.IntegerAttr(owner.attributes["dim"]).value, 1),), 0)
    if name not in ("arith.addi", "arith.subi", "arith.muli"):
        return None
    lhs, rhs = (_index_form(operand) for operand in owner.operands)
    if lhs is None or rhs is None:
        return None
    if name == "arith.muli":
        if lhs.coeffs and rhs.coeffs:
            return None
        scalar, form = (lhs, rhs) if not lhs.coeffs else (rhs, lhs)
        return _scaled(form, scalar.constant)
    if name == "arith.subi":
        rhs = _scaled(rhs, -1)
    coeffs = dict(lhs.coeffs)
    for loop, coeff in rhs.coeffs:
        coeffs[loop] = coeffs.get(loop, 0) + coeff
    if any(coeff < 0 for coeff in coeffs.values()):
        return None
    kept = tuple(sorted((loop, coeff) for loop, coeff in coeffs.items() if coeff))
    return Linear(kept, lhs.constant + rhs.constant)


def _scaled(form: Linear, factor: int) -> Linear:
    coeffs = tuple((loop, coeff * factor) for loop, coeff in form.coeffs)
    return Linear(coeffs, form.constant * factor)


def constant_int(value: ir.Value) -> int | None:
    """The integer an ``arith.constant`` defines, else None."""
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.operation.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None


def generics(module: ir.Operation) -> list[ir.Operation]:
    """Every linalg.generic in ``module``, in walk order."""
    return ops_named(module, "linalg.generic")


def ops_named(root: ir.Operation, name: str) -> list[ir.Operation]:
    """Every op called ``name`` nested in ``root``, in walk order."""
    return [op for op in nested_ops(root) if op.name == name]


def nested_ops(root: ir.Operation) -> list[ir.Operation]:
    """``root`` and every op nested in it, in walk order (collected first: an exception
    raised inside ``walk`` reaches the caller as a RuntimeError, not as itself)."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found
