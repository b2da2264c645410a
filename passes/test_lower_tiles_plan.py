"""test-lower-tiles-plan: annotate each operator with the plan ``quartet-lower-tiles`` builds.

Test-only; exposes the planning step of the lowering (``passes/lower_tiles/plan.py``) so lit
can check it alone, on graph-level IR after tiling (and, for fused kernels, after
``quartet-welder``). Every kernel of a function's body (each ``tile.group``, each other tiled
operator alone) is planned, and every member gets

- ``plan.role``: "phase", "epilogue" (with ``plan.anchor``, the index of its phase among the
  kernel's members) or "inline";
- ``plan.origin``: per parallel loop, its region's origin over the output's tile origins
  ``t0, t1, ...`` (``t2 - 1``: a padding's halo one element before the tile);
- ``plan.writes``: where its result goes ("global", "smem", both, or "none");
- ``plan.padded``: the loops along which some block's region passes the operator's edge;

- ``plan.stage_offsets`` (a phase's staging buffers) and ``plan.result_offset`` (a result
  kept in shared memory): byte offsets in the kernel's one shared allocation;

and the output operator ``plan.grid`` (blocks along each of its parallel loops),
``plan.phases`` (the kernel's phases in the order they run, as member indices) and
``plan.shared`` (the allocation's bytes, then the sum of its buffers': what best fit over
their lifetimes saves).

    %0 = linalg.generic {tile.group = #tile.group<"g0", ...>, ...}
  becomes
    %0 = linalg.generic {plan.role = "inline", plan.origin = ["t0", "0"], ...}
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.passes.base import ModulePass
from quartet.passes.lower_tiles.plan import EPILOGUE, KernelPlan, kernel_plan
from quartet.passes.lower_tiles.shared import layout


@dataclass(frozen=True)
class TestLowerTilesPlan(ModulePass):
    """Annotate each tiled operator with its kernel's plan: role, region origin, writes."""

    name = "test-lower-tiles-plan"

    def apply(self, module: ir.Operation) -> None:
        for ops, kernel in kernel_plans(module):
            _annotate(ops, kernel)


def kernel_plans(module: ir.Operation) -> Iterator[tuple[list[ir.Operation], KernelPlan]]:
    """(operators, plan) of every kernel in the body of every function of ``module``."""
    for func in module.regions[0].blocks[0].operations:
        if func.operation.name == "func.func" and len(func.regions[0].blocks):
            for ops in _kernels(func.regions[0].blocks[0]):
                yield ops, kernel_plan("test", ops)


def _kernels(block: ir.Block) -> list[list[ir.Operation]]:
    """The tiled generics of ``block`` grouped into kernels, in program order."""
    groups: dict[str, list[ir.Operation]] = {}
    kernels = []
    for op in block.operations:
        if op.operation.name != "linalg.generic" or tile.PROGRAM not in op.attributes:
            continue
        if tile.GROUP not in op.attributes:
            kernels.append([op.operation])
            continue
        name = tile.Group.from_attr(op.attributes[tile.GROUP]).name
        if name not in groups:
            groups[name] = []
            kernels.append(groups[name])
        groups[name].append(op.operation)
    return kernels


def _annotate(ops: list[ir.Operation], kernel: KernelPlan) -> None:
    index = {member: i for i, member in enumerate(kernel.members)}
    for member, op in zip(kernel.members, ops, strict=True):
        attributes = op.attributes
        attributes["plan.role"] = ir.StringAttr.get(member.role)
        if member.role == EPILOGUE:
            attributes["plan.anchor"] = _integer(index[member.anchor])
        attributes["plan.origin"] = ir.ArrayAttr.get(
            [ir.StringAttr.get(member.origin[loop].text("t")) for loop in member.par_loops]
        )
        places = [
            place
            for place, written in (("global", member.global_output), ("smem", member.shared_output))
            if written
        ]
        attributes["plan.writes"] = ir.StringAttr.get("+".join(places) or "none")
        attributes["plan.padded"] = ir.DenseI64ArrayAttr.get(sorted(kernel.padded(member)))
    placement = layout(kernel)
    for member, op in zip(kernel.members, ops, strict=True):
        stages = [
            placement.offsets[key] for key in placement.offsets if key[:2] == ("stage", member)
        ]
        if stages:
            op.attributes["plan.stage_offsets"] = ir.DenseI64ArrayAttr.get(stages)
        if ("result", member) in placement.offsets:
            op.attributes["plan.result_offset"] = _integer(placement.offsets[("result", member)])
    output = ops[kernel.members.index(kernel.output)]
    output.attributes["plan.shared"] = ir.DenseI64ArrayAttr.get(
        [placement.total, sum(buffer.bytes for buffer in placement.buffers)]
    )
    output.attributes["plan.grid"] = ir.DenseI64ArrayAttr.get(list(kernel.grid))
    output.attributes["plan.phases"] = ir.DenseI64ArrayAttr.get(
        [index[phase] for phase in kernel.phases]
    )


def _integer(value: int) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
