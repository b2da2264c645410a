"""The iteration space of a linalg.generic: loop extents, iterator kinds and indexing maps.

Everything Quartet's tiling reads about an operator, taken from its indexing maps and operand
shapes alone (no per-op templates), on tensors and on buffers alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import PassError


@dataclass(frozen=True)
class IterationSpace:
    extents: tuple[int, ...]
    parallel: tuple[bool, ...]
    maps: tuple[ir.AffineMap, ...]

    @classmethod
    def of(cls, op) -> IterationSpace:
        """Analyse ``op`` (a linalg.generic view); PassError for what tiling cannot handle."""
        maps = tuple(ir.AffineMapAttr(m).value for m in op.indexing_maps)
        parallel = tuple("parallel" in str(it) for it in op.iterator_types)
        extents: list[int | None] = [None] * len(parallel)
        for index, (value, affine_map) in enumerate(
            zip([*op.inputs, *op.outputs], maps, strict=True)
        ):
            for expr in affine_map.results:
                if not (isinstance(expr, (ir.AffineDimExpr, ir.AffineConstantExpr))):
                    raise PassError(
                        f"indexing map #{index} ({affine_map}) is not a projected permutation", op
                    )
            if not isinstance(value.type, ir.ShapedType):
                continue
            shaped = ir.ShapedType(value.type)
            if not shaped.has_static_shape:
                raise PassError(f"operand #{index} has a dynamic shape ({value.type})", op)
            for expr, size in zip(affine_map.results, shaped.shape, strict=True):
                if isinstance(expr, ir.AffineDimExpr):
                    extents[expr.position] = size
        if None in extents:
            raise PassError("a loop of the iteration space indexes no operand", op)
        return cls(tuple(extents), parallel, maps)

    @property
    def par_loops(self) -> list[int]:
        return [loop for loop, is_par in enumerate(self.parallel) if is_par]

    @property
    def red_loops(self) -> list[int]:
        return [loop for loop, is_par in enumerate(self.parallel) if not is_par]

    def uses_reduction(self, operand: int) -> bool:
        """Whether operand ``operand``'s indexing map reads any reduction loop."""
        return any(
            isinstance(expr, ir.AffineDimExpr) and not self.parallel[expr.position]
            for expr in self.maps[operand].results
        )
