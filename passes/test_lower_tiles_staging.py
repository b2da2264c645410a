"""test-lower-tiles-staging: annotate each staged phase with the copies ``quartet-lower-tiles``
builds into shared memory.

Test-only; exposes the staging step (``passes/lower_tiles/staging.py``) so lit can check it
alone, on graph-level IR after tiling. Every phase of every kernel that stages inputs gets,
per staged input (in the plan's order),

- ``staging.inputs``: the staged input indices;
- ``staging.footprints``: the extents one stage touches, per dimension;
- ``staging.buffers``: its shared buffer's shape (the innermost dimension padded against bank
  conflicts, two halves in front when the stages are double-buffered);
- ``staging.vectors``: elements per copy (4 x f32 or 8 x f16 where a row and every origin
  start 16-byte aligned, else 1).

    linalg.generic {tile.program = ...}  (a 64x64x16-tiled f32 matmul)
  becomes
    linalg.generic {staging.buffers = [array<i64: 2, 64, 20>, ...], staging.vectors = ...}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass
from quartet.passes.lower_tiles.shared import stage_shape
from quartet.passes.lower_tiles.staging import footprint, vector_width
from quartet.passes.test_lower_tiles_plan import kernel_plans


@dataclass(frozen=True)
class TestLowerTilesStaging(ModulePass):
    """Annotate each staged phase with its footprints, shared buffers and copy widths."""

    name = "test-lower-tiles-staging"

    def apply(self, module: ir.Operation) -> None:
        for _, kernel in kernel_plans(module):
            for phase in kernel.phases:
                staged = list(phase.plan.staged) if phase.red_loops else []
                if staged:
                    _annotate(kernel, phase, staged)


def _annotate(kernel, phase, staged: list[int]) -> None:
    attributes = phase.op.operation.attributes
    attributes["staging.inputs"] = ir.DenseI64ArrayAttr.get(staged)
    attributes["staging.footprints"] = _arrays([footprint(phase, i) for i in staged])
    attributes["staging.buffers"] = _arrays([stage_shape(phase, i) for i in staged])
    attributes["staging.vectors"] = ir.DenseI64ArrayAttr.get(
        [vector_width(kernel, phase, i) for i in staged]
    )


def _arrays(shapes) -> ir.Attribute:
    return ir.ArrayAttr.get([ir.DenseI64ArrayAttr.get(list(shape)) for shape in shapes])
