"""quartet-roller: construct each linalg.generic's rProgram with Roller, not a fixed choice.

For every ``linalg.generic`` without a ``tile.program``, reads its iteration space and operand
accesses (``quartet.roller.describe``), grows register and shared-memory rTiles along the loops
with the best data-reuse score under the hardware's alignment rules and capacities, ranks the
candidates with the micro performance model for ``arch`` and attaches the best as
``tile.program``; the runners-up (top-k) are kept, best first, as the discardable
``tile.candidates`` array so a later pass (or a measurement) can choose among them.

    linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]} ins(... 128x768 ...)
  becomes
    linalg.generic {..., tile.program = #tile.rprogram<[#tile.rtile<"smem",
        array<i64: 32, 64, 8>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 0>>,
        tile.candidates = [#tile.rprogram<...>, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.hardware import spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.fixed_tiling import FixedTiling
from quartet.passes.iteration_space import generics
from quartet.roller import construct, describe

CANDIDATES = "tile.candidates"


@dataclass(frozen=True)
class Roller(ModulePass):
    """Attach Roller's constructed rProgram (top-1 of top-k) to every linalg.generic."""

    name = "quartet-roller"
    arch: str = option("sm_90", "target machine: sm_90, sm_80, sm_70 or cpu (this host)")
    topk: int = option(8, "candidates ranked by the micro performance model and kept")

    def apply(self, module: ir.Operation) -> None:
        if self.topk < 1:
            raise PassError(f"option 'topk' must be at least 1, got {self.topk}")
        try:
            spec = spec_for(self.arch)
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        for op in generics(module):
            if "tile.program" in op.attributes:
                continue
            ranked = construct(describe(op.opview), spec, self.topk)
            if not ranked:
                # Nothing aligned fits (e.g. dilated 3-D windows whose smallest staged
                # footprint exceeds shared memory): keep the operator compilable with the
                # foundation's fixed tiling rather than fail the whole model.
                op.attributes["tile.program"] = FixedTiling().rprogram(op.opview).to_attr()
                continue
            op.attributes["tile.program"] = ranked[0].config.to_rprogram().to_attr()
            if len(ranked) > 1:
                others = [r.config.to_rprogram().to_attr() for r in ranked[1:]]
                op.attributes[CANDIDATES] = ir.ArrayAttr.get(others)
