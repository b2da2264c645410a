"""test-roller-align: annotate each linalg.generic with Roller's alignment decisions.

Test-only; exposes the alignment step of ``quartet-roller`` so lit can check it alone. Adds
``roller.units`` (the alignment unit of each loop's block tile), ``roller.sizes`` (the aligned
block-tile extents each loop may take, padding waste bounded) and, when the op already carries a
``tile.program``, ``roller.pads`` (the bank-conflict padding Roller would give its staged
inputs) and ``roller.conflicts`` (bank-conflict ways of each input without padding and with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects.tile import RProgram
from quartet.hardware import GpuSpec, spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.roller import generics
from quartet.roller import Config, describe
from quartet.roller.align import bank_conflict_ways, smem_pads
from quartet.roller.construct import Target, loop_sizes


@dataclass(frozen=True)
class TestRollerAlign(ModulePass):
    """Annotate linalg.generic ops with Roller's aligned tile sizes and smem padding."""

    name = "test-roller-align"
    arch: str = option("sm_90", "target machine: sm_90, sm_80, sm_70 or cpu")

    def apply(self, module: ir.Operation) -> None:
        try:
            spec = spec_for(self.arch)
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        target = Target.of(spec)
        for generic in generics(module):
            op = describe(generic.opview)
            sizes = loop_sizes(op, target)
            generic.attributes["roller.units"] = _array([s[0] for s in sizes])
            generic.attributes["roller.sizes"] = ir.ArrayAttr.get([_array(s) for s in sizes])
            if "tile.program" not in generic.attributes or not isinstance(spec, GpuSpec):
                continue
            config = Config.from_rprogram(RProgram.from_attr(generic.attributes["tile.program"]))
            pads = smem_pads(op, config, spec.smem_banks, spec.smem_bank_bytes)
            generic.attributes["roller.pads"] = _array(pads)
            conflicts = [
                ways
                for i in op.staged
                for ways in (
                    bank_conflict_ways(op, config, i, 0),
                    bank_conflict_ways(op, config, i, pads[i]),
                )
            ]
            generic.attributes["roller.conflicts"] = _array(conflicts)


def _array(values) -> ir.Attribute:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])
