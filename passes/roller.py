"""quartet-roller: construct each linalg.generic's rProgram with Roller, not a fixed choice.

For every ``linalg.generic`` without a ``tile.program``, reads its iteration space and operand
accesses (``quartet.roller.describe``), grows register and shared-memory rTiles along the loops
with the best data-reuse score under the hardware's alignment rules and capacities, ranks the
candidates with the micro performance model for ``arch`` and attaches the best as
``tile.program`` with the lowering plan it implies (``tile.plan``, the same plan the model
costed); the runners-up (top-k) are kept, best first, as ``tile.candidates`` so a later pass
(or a measurement) can choose among them.

    linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]} ins(... 128x768 ...)
  becomes
    linalg.generic {..., tile.program = #tile.rprogram<[#tile.rtile<"smem",
        array<i64: 32, 64, 8>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 0>>,
        tile.plan = #tile.plan<array<i64: 8, 16, 1>, array<i64: 0, 1>, true, array<i64>>,
        tile.candidates = #tile.candidates<[#tile.rprogram<...>, ...]>}
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.dialects.tile import Candidates, RProgram
from quartet.hardware import spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.fixed_tiling import FixedTiling
from quartet.passes.iteration_space import generics
from quartet.roller import Config, Operator, Ranked, construct, describe
from quartet.roller.plan import plan_attributes


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
        chosen: dict[Operator, dict[str, ir.Attribute]] = {}
        for op in generics(module):
            if tile.PLAN in op.attributes:
                continue
            operator = describe(op.opview)
            if tile.PROGRAM in op.attributes:  # a given program gets the plan it implies
                given = Config.from_rprogram(RProgram.from_attr(op.attributes[tile.PROGRAM]))
                op.attributes[tile.PLAN] = plan_attributes(operator, given, _mma(spec))[tile.PLAN]
                continue
            if operator not in chosen:
                chosen[operator] = self._attributes(op, operator, spec)
            for name, value in chosen[operator].items():
                op.attributes[name] = value

    def _attributes(self, op: ir.Operation, operator: Operator, spec) -> dict[str, ir.Attribute]:
        """``tile.program`` (and ``tile.candidates``) for ``operator``: everything Roller reads
        of an operator is in its Operator, so equal Operators get equal programs."""
        ranked = constructed(operator, spec, self.topk)
        mma_shape = _mma(spec)
        if not ranked:
            # Nothing aligned fits (e.g. dilated 3-D windows whose smallest staged
            # footprint exceeds shared memory): keep the operator compilable with the
            # foundation's fixed tiling rather than fail the whole model.
            config = Config.from_rprogram(FixedTiling().rprogram(op.opview))
            return plan_attributes(operator, config, mma_shape)
        attributes = plan_attributes(operator, ranked[0].config, mma_shape)
        if len(ranked) > 1:
            others = Candidates(tuple(r.config.to_rprogram() for r in ranked[1:]))
            attributes[tile.CANDIDATES] = others.to_attr()
        return attributes


def _mma(spec) -> tuple[int, int, int] | None:
    return getattr(spec, "mma_shape", None)  # a CPU has no tensor cores


@functools.lru_cache(maxsize=4096)
def constructed(operator: Operator, spec, topk: int) -> tuple[Ranked, ...]:
    """Roller's ranking of ``operator``, memoized per operator signature (an Operator is the
    loops, iterator kinds, accesses, dtypes and body size): a model's repeated layers, and every
    compile in one process, construct each distinct operator once."""
    return tuple(construct(operator, spec, topk))
