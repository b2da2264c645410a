"""test-roller-candidates: annotate each linalg.generic with Roller's ranked top-k candidates.

Test-only; exposes construction and ranking. Adds ``roller.candidates`` (the top-k rPrograms,
best first), ``roller.estimates_ns`` (the micro performance model's time for each, nanoseconds),
``roller.bound`` (what limits the best: compute, l2, smem, latency or dram) and
``roller.waves`` (waves of the best over the SMs).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.hardware import spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.roller import generics
from quartet.roller import construct, describe


@dataclass(frozen=True)
class TestRollerCandidates(ModulePass):
    """Annotate linalg.generic ops with Roller's top-k candidates and their model estimates."""

    name = "test-roller-candidates"
    arch: str = option("sm_90", "target machine: sm_90, sm_80, sm_70 or cpu")
    topk: int = option(4, "candidates to list")

    def apply(self, module: ir.Operation) -> None:
        try:
            spec = spec_for(self.arch)
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        for generic in generics(module):
            ranked = construct(describe(generic.opview), spec, self.topk)
            if not ranked:
                raise PassError(f"no rTile of this operator fits {self.arch}", generic)
            attrs = generic.attributes
            programs = [r.config.to_rprogram().to_attr() for r in ranked]
            attrs["roller.candidates"] = ir.ArrayAttr.get(programs)
            nanoseconds = [round(r.estimate.seconds * 1e9) for r in ranked]
            attrs["roller.estimates_ns"] = ir.DenseI64ArrayAttr.get(nanoseconds)
            attrs["roller.bound"] = ir.StringAttr.get(ranked[0].estimate.bound)
            attrs["roller.waves"] = ir.IntegerAttr.get(
                ir.IntegerType.get_signless(64), ranked[0].estimate.waves
            )
