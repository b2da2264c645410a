"""quartet-host-control-flow: a model's loops and branches stay on the host.

The host-loop form (``control_flow="host"``, ``--control-flow host``): every ``scf.for``,
``scf.while`` and ``scf.if`` outside the kernels runs on the host, around the launches of its
body's kernels, a while loop's condition and a branch's predicate read back from the device
(``quartet.host`` reads them into the host program). The decision is written into the IR: the
construct loses any ``controlflow.placement`` (a placement on the device is what the attribute
asks for; without it, the construct runs on the host, docs/dialects.md).

    scf.for %i = %c0 to %c8 step %c1 { ... } {controlflow.placement = #controlflow.device<"grid">}
  becomes
    scf.for %i = %c0 to %c8 step %c1 { ... }
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects.controlflow import PLACEABLE_OPS, PLACEMENT
from quartet.passes.base import ModulePass


@dataclass(frozen=True)
class HostControlFlow(ModulePass):
    """Keep every loop and branch on the host: drop its controlflow.placement."""

    name = "quartet-host-control-flow"

    def apply(self, module: ir.Operation) -> None:
        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name in PLACEABLE_OPS and PLACEMENT in op.attributes:
                del op.attributes[PLACEMENT]
            return ir.WalkResult.ADVANCE

        module.walk(visit)
