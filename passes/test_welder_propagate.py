"""test-welder-propagate: print the regions and footprints Welder propagates from an output tile.

For each function, the last tiled ``linalg.generic`` of its body is the output; every tiled
operator that reaches it through affine edges (indexing maps, and reshapes that stay affine)
is a producer. The output's tile (the function's ``welder.tile``, one extent per parallel
loop; default the output's ``tile.program`` block tile) is propagated back, and every member
gets

- ``welder.region``: the extents one block covers per loop (reduction loops whole);
- ``welder.origin``: per parallel loop, the region's origin over the output's tile origins
  ``t0, t1, ...`` (``2*t1 + 1``: a stride-2 window one element in);
- ``welder.footprint``: per operand, then per captured read (a padding's clamped
  ``tensor.extract``; empty where its indices are not linear), the extents of the box one
  block reads of it.

    linalg.generic ... ins(%x : tensor<1x3x18x18xf32>, ...) -> tensor<1x8x8x8xf32>
  becomes (tile 1,8,4,4)
    linalg.generic {welder.region = array<i64: 1, 8, 4, 4, 3, 3, 3>,
                    welder.footprint = [array<i64: 1, 3, 9, 9>, ...], ...}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass, PassError
from quartet.welder.graph import tile_graph
from quartet.welder.propagate import PropagationError, Read, propagate


@dataclass(frozen=True)
class TestWelderPropagate(ModulePass):
    """Annotate each operator with the region and footprints propagated from the output tile."""

    name = "test-welder-propagate"

    def apply(self, module: ir.Operation) -> None:
        for func in module.regions[0].blocks[0].operations:
            if func.operation.name == "func.func" and len(func.regions[0].blocks):
                self._annotate(func.regions[0].blocks[0], _tile_of(func))

    def _annotate(self, block: ir.Block, tile: tuple[int, ...]) -> None:
        graph = tile_graph(block)
        if not graph.nodes:
            return
        output = graph.nodes[-1]
        members = _reaching(output)
        reads = {node: [] for node in members}
        for edge in graph.edges:
            if edge.consumer in reads and edge.producer in reads and not edge.cut:
                reads[edge.producer].append(Read(edge.consumer, edge.forms))
        tile = tile or tuple(
            output.program.tile("smem").shape[loop] for loop in output.space.par_loops
        )
        if len(tile) != len(output.space.par_loops):
            raise PassError(
                f"welder.tile needs {len(output.space.par_loops)} extents, got {len(tile)}",
                output.op,
            )
        try:
            regions = propagate(
                members,
                output,
                dict(zip(output.space.par_loops, tile, strict=True)),
                reads,
                lambda n: n.space,
                lambda n: n.output_loops(),
            )
        except PropagationError as error:
            raise PassError(str(error), output.op) from None
        for node in members:
            region = regions[node]
            attributes = node.op.attributes
            attributes["welder.region"] = ir.DenseI64ArrayAttr.get(list(region.extents))
            attributes["welder.origin"] = ir.ArrayAttr.get(
                [ir.StringAttr.get(region.origin[loop].text("t")) for loop in node.space.par_loops]
            )
            accesses = [*node.space.forms, *node.space.captures]
            attributes["welder.footprint"] = ir.ArrayAttr.get(
                [
                    ir.DenseI64ArrayAttr.get([form.span(region.extents) for form in forms or ()])
                    for forms in accesses
                ]
            )


def _tile_of(func) -> tuple[int, ...]:
    """The output tile the function asks for (``welder.tile``), or none."""
    if "welder.tile" not in func.attributes:
        return ()
    return tuple(func.attributes["welder.tile"])


def _reaching(output) -> list:
    """``output`` and every node that reaches it through uncut edges, in program order."""
    found = {output}
    pending = [output]
    while pending:
        node = pending.pop()
        for edge in node.inputs:
            if not edge.cut and edge.producer not in found:
                found.add(edge.producer)
                pending.append(edge.producer)
    return sorted(found, key=lambda node: node.index)
