"""What Roller reads about an operator: loop extents, iterator kinds and each operand's access.

Built from a ``linalg.generic``'s indexing maps and operand types alone (``describe``), so one
construction serves matmul, batched matmul, convolution windows, elementwise ops and reductions.
Accesses are linear forms ``sum(c * d) + c0`` per operand dimension (``IterationSpace``'s
``Linear``); the rest of Roller is plain Python over these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from mlir import ir

from quartet.passes.iteration_space import IterationSpace

HALF_TYPES = ("f16", "bf16")


class LinearForm(Protocol):
    coeffs: tuple[tuple[int, int], ...]
    constant: int

    def span(self, tile) -> int: ...


@dataclass(frozen=True)
class Access:
    """One operand: its per-dimension linear forms, static shape and element type."""

    forms: tuple[LinearForm, ...]
    shape: tuple[int, ...]
    element: str  # "f32", "f16", ...
    element_bytes: int

    @cached_property
    def loops(self) -> frozenset[int]:
        return frozenset(loop for form in self.forms for loop, _ in form.coeffs)

    @cached_property
    def innermost_loops(self) -> tuple[int, ...]:
        """Loops that walk the contiguous (last) dimension with unit stride."""
        if not self.forms:
            return ()
        return tuple(loop for loop, coeff in self.forms[-1].coeffs if coeff == 1)

    def buffer_shape(self, tile) -> list[int]:
        """Extents of the region a tile of ``tile`` loop extents touches (its staging buffer)."""
        return [sum(c * (tile[loop] - 1) for loop, c in coeffs) + 1 for coeffs, _ in self._terms]

    def footprint(self, tile) -> int:
        """Elements of this operand a tile touches, clipped to the operand's shape (memoized:
        construction asks for the same tiles many times)."""
        tile = tuple(tile)
        found = self._footprints.get(tile)
        if found is None:
            found = 1
            for coeffs, size in self._terms:
                found *= min(sum(c * (tile[loop] - 1) for loop, c in coeffs) + 1, size)
            self._footprints[tile] = found
        return found

    @cached_property
    def _terms(self) -> tuple:
        return tuple((form.coeffs, size) for form, size in zip(self.forms, self.shape, strict=True))

    @cached_property
    def _footprints(self) -> dict:
        return {}

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Operator:
    """An operator's iteration space and operand accesses (``None`` for scalar inputs)."""

    extents: tuple[int, ...]
    parallel: tuple[bool, ...]
    inputs: tuple[Access | None, ...]
    outputs: tuple[Access, ...]
    flops_per_point: int = 2
    multiply_add: bool = False  # the body is out + ext(a) * ext(b), a contraction's step
    name: str = field(default="", compare=False)

    @property
    def summary(self) -> str:
        """What the operator is and its loop extents: ``contraction 64x128x256``."""
        kind = "elementwise"
        if self.red_loops:
            kind = "contraction" if self.multiply_add else "reduction"
        return f"{kind} {'x'.join(map(str, self.extents)) or 'scalar'}"

    @cached_property
    def par_loops(self) -> list[int]:
        return [loop for loop, is_par in enumerate(self.parallel) if is_par]

    @cached_property
    def red_loops(self) -> list[int]:
        return [loop for loop, is_par in enumerate(self.parallel) if not is_par]

    @cached_property
    def staged(self) -> list[int]:
        """Inputs copied to shared memory per reduction stage (as quartet-lower-tiles does)."""
        if not self.red_loops:
            return []
        reductions = set(self.red_loops)
        return [i for i, a in enumerate(self.inputs) if a is not None and a.loops & reductions]

    @property
    def accesses(self) -> list[Access]:
        return [a for a in (*self.inputs, *self.outputs) if a is not None]

    @cached_property
    def element_bytes(self) -> int:
        return max(a.element_bytes for a in self.accesses)

    @property
    def points(self) -> int:
        return math.prod(self.extents)

    @cached_property
    def memo(self) -> dict:
        """Memoized per-tile quantities (construction asks for the same tiles many times)."""
        return {}

    @cached_property
    def contraction_roles(self) -> tuple[int, int, int] | None:
        """(m, n, k) loops when two staged half-precision inputs contract: tensor-core shaped."""
        if len(self.staged) != 2:
            return None
        a, b = (self.inputs[i] for i in self.staged)
        if a.element not in HALF_TYPES or b.element not in HALF_TYPES:
            return None
        m = [loop for loop in self.par_loops if loop in a.loops and loop not in b.loops]
        n = [loop for loop in self.par_loops if loop in b.loops and loop not in a.loops]
        if not m or not n:
            return None
        return m[-1], n[-1], self.red_loops[-1]


def describe(generic, name: str = "") -> Operator:
    """The Operator of a ``linalg.generic`` view (PassError from IterationSpace if untileable)."""
    space = IterationSpace.of(generic)
    operands = [*generic.inputs, *generic.outputs]
    accesses = [
        _access(value, forms) if isinstance(value.type, ir.ShapedType) else None
        for value, forms in zip(operands, space.forms, strict=True)
    ]
    count = len(generic.inputs)
    return Operator(
        extents=space.extents,
        parallel=space.parallel,
        inputs=tuple(accesses[:count]),
        outputs=tuple(accesses[count:]),
        flops_per_point=_body_flops(generic),
        multiply_add=_is_multiply_add(generic),
        name=name,
    )


def _access(value: ir.Value, forms) -> Access:
    shaped = ir.ShapedType(value.type)
    element = shaped.element_type
    width = getattr(element, "width", 32)
    return Access(tuple(forms), tuple(shaped.shape), str(element), max(1, width // 8))


def _body_flops(generic) -> int:
    body = generic.regions[0].blocks[0]
    return max(1, sum(1 for op in body.operations if op.operation.name != "linalg.yield"))


def _is_multiply_add(generic) -> bool:
    """Whether the body is ``out + ext(a) * ext(b)`` over the two inputs (in either order)."""
    body = generic.regions[0].blocks[0]
    if len(body.arguments) != 3:
        return False
    a, b, out = body.arguments
    ops = list(body.operations)
    if len(ops) != 5 or ops[-1].name != "linalg.yield":
        return False
    total = ops[-1].operands[0].owner
    if (
        not isinstance(total, ir.OpView)
        or total.name != "arith.addf"
        or out not in list(total.operands)
    ):
        return False
    product = next(v for v in total.operands if v != out).owner
    if not isinstance(product, ir.OpView) or product.name != "arith.mulf":
        return False
    sources = set()
    for value in product.operands:
        owner = value.owner
        if not isinstance(owner, ir.OpView) or owner.name != "arith.extf":
            return False
        sources.add(owner.operands[0])
    return sources == {a, b}
