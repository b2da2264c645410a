"""quartet-host-control-flow: a model's loops and branches stay on the host.

The host-loop form (``control_flow="host"``, ``--control-flow host``, and any schedule without
a persistent kernel to hold them): every ``scf.for``, ``scf.while`` and ``scf.if`` outside the
kernels runs on the host, around the launches of its body's kernels, a while loop's condition
and a branch's predicate read back from the device (``quartet.host`` reads them into the host
program). Runs right before quartet-grinder, which keeps a construct marked here on the host:
the decision is written into the IR as the reason (``controlflow.host_reason``), and any
``controlflow.placement`` goes.

    scf.for %i = %c0 to %c8 step %c1 { ... } {controlflow.placement = #controlflow.device<"grid">}
  becomes
    scf.for %i = %c0 to %c8 step %c1 { ... } {controlflow.host_reason = "the host-loop form ..."}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects.controlflow import HOST_REASON, PLACEABLE_OPS, PLACEMENT
from quartet.passes.base import ModulePass

REASON = "the host-loop form was asked for (control_flow='host', or schedule 'none')"


@dataclass(frozen=True)
class HostControlFlow(ModulePass):
    """Keep every loop and branch on the host: mark it with why, drop its placement."""

    name = "quartet-host-control-flow"

    def apply(self, module: ir.Operation) -> None:
        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name in PLACEABLE_OPS:
                if PLACEMENT in op.attributes:
                    del op.attributes[PLACEMENT]
                op.attributes[HOST_REASON] = ir.StringAttr.get(REASON)
            return ir.WalkResult.ADVANCE

        module.walk(visit)
