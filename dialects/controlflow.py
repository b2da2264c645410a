"""Python view of the controlflow dialect's placement attribute (``to_attr`` / ``from_attr``)."""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from .params import build, parameters, quoted

PLACEMENT = "controlflow.placement"
HOST_REASON = "controlflow.host_reason"
"""On a loop or branch that runs on the host: why (quartet-grinder's, or
quartet-host-control-flow's)."""
MODELLED = "grinder.modelled"
"""On each loop and branch: ``{device_seconds, host_seconds, cta_seconds}``, quartet-grinder's
modelled time of one iteration (one run of a branch) on the grid, on the host and on one CTA."""
SCOPES = ("grid", "cta")
PLACEABLE_OPS = ("scf.for", "scf.while", "scf.if")


@dataclass(frozen=True)
class Device:
    """Runs a loop or branch on the device: ``grid`` (all CTAs together) or ``cta`` (one CTA)."""

    scope: str

    def to_attr(self, context: ir.Context | None = None) -> ir.Attribute:
        return build("controlflow.device", quoted(self.scope), context=context)

    @classmethod
    def from_attr(cls, attr: ir.Attribute) -> Device:
        (scope,) = parameters(attr, "controlflow.device")
        return cls(ir.StringAttr(scope).value)
