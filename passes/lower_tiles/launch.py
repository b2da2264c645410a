"""How a kernel launches, derived once from its plan: grid, threads per block, shared bytes.

``quartet-lower-tiles`` writes it on the kernel's block loop as ``tile.launch``, where
``quartet-map-to-gpu`` and ``quartet-rammer`` read it; Welder's model calls the same function
on the plans of the candidates it weighs. Nothing else derives these numbers.
"""

from __future__ import annotations

from quartet.dialects.tile import Launch
from quartet.passes.lower_tiles.plan import KernelPlan
from quartet.passes.lower_tiles.shared import layout


def kernel_launch(kernel: KernelPlan) -> Launch:
    """``kernel``'s grid (blocks along each parallel loop of its output operator, one block
    when it has none), its block size (its widest phase: narrower phases guard their threads)
    and the bytes of its one shared allocation (``shared.layout``)."""
    threads = max(member.plan.thread_count for member in kernel.phases)
    return Launch(tuple(kernel.grid) or (1,), threads, layout(kernel).total)
