"""test-welder-schedule: quartet-welder, with its schedule printed as function attributes.

Runs the same scheduling and writes the same IR as ``quartet-welder``, and records on each
function what Welder decided and why, in the operators' names ``op<i>`` (program order in
their block):

- ``welder.kernels``: one line per kernel, its operators, the output operator, the level of
  every edge inside it and the modelled seconds, e.g.
  ``"op0 op1 -> op1: op0->op1 reg; 4.10 us"``;
- ``welder.decisions``: one line per connection tried, in order: the seconds of the merged
  kernel at each level tried (or why the lowering refuses it), the seconds apart, and the
  verdict, e.g. ``"op1 -> op2: reg 5.20 us, smem 6.00 us; apart 8.00 us: connected"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from quartet.passes.welder import Welder, append_strings


@dataclass(frozen=True)
class TestWelderSchedule(Welder):
    """quartet-welder that also prints its kernels and decisions on each function."""

    name = "test-welder-schedule"

    def scheduled(self, func, scheduler, kernels) -> None:
        append_strings(func, "welder.kernels", [_kernel_text(kernel) for kernel in kernels])
        append_strings(func, "welder.decisions", [d.text() for d in scheduler.decisions])


def _kernel_text(kernel) -> str:
    members = " ".join(node.name for node in kernel.members)
    edges = ", ".join(
        f"{edge.producer.name}->{edge.consumer.name} {level}"
        for edge, level in sorted(
            kernel.levels.items(), key=lambda item: (item[0].consumer.index, item[0].operand)
        )
    )
    return f"{members} -> {kernel.output.name}: {edges or 'alone'}; {kernel.seconds * 1e6:.2f} us"
