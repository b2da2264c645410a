"""quartet-launch-bounds: each kernel's PTX states its exact block size and the blocks per SM
its plan needs, so ptxas never trades spills for an occupancy nobody asked for.

Every launch of a Quartet kernel uses the block size it was compiled for (``gpu.launch`` takes
it as constants; outlining records it as ``known_block_size``). ``convert-gpu-to-nvvm`` states
it as ``nvvm.maxntid``, an upper bound only (PTX ISA, "Performance-Tuning Directives"). Given
that alone, ptxas (CUDA 13) picks its own register target to fit more blocks per SM and spills
to reach it: a 96-thread attention score kernel needing 46 registers was held to 40 with 32
bytes of spills (ONNX's ``test_attention_local_window_gqa_rank4_mask``), and a 256-thread ViT
encoder kernel (197 tokens, a GELU recomputed in a contraction's staging) to 48 with 8.

Quartet's plan, not ptxas's heuristic, decides what a thread holds (Roller keeps each register
tile within its budget and the block within the register file). This pass, run after the NVVM
lowering, says so on every kernel:

- ``nvvm.reqntid`` replaces ``nvvm.maxntid`` (PTX ``.reqntid``: the exact block size, which
  also tells ptxas the range of ``%tid``; PTX forbids giving both);
- ``nvvm.minctasm`` = ``min-blocks-per-sm`` (PTX ``.minnctapersm``), one by default: ptxas is
  then limited only by the register file over that many blocks of the kernel's threads. A
  persistent kernel (a gpu.module carrying ``schedule.per_sm``, quartet-map-to-gpu) states its
  planned vEUs per SM instead: every vEU must be resident at once, so ptxas must fit the
  registers of that many blocks (the compiler checks that it did, quartet.compiler).

    llvm.func @k(...) attributes {nvvm.kernel, nvvm.maxntid = array<i32: 96, 1, 1>}
 -> llvm.func @k(...) attributes {nvvm.kernel, nvvm.minctasm = 1 : i32,
                                  nvvm.reqntid = array<i32: 96, 1, 1>}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects import schedule
from quartet.passes.base import ModulePass, PassError, option

BOUND = "nvvm.maxntid"
EXACT = "nvvm.reqntid"
MIN_BLOCKS_PER_SM = "nvvm.minctasm"


@dataclass(frozen=True)
class LaunchBounds(ModulePass):
    """Kernels require their block size (``.reqntid``) and ``min-blocks-per-sm`` resident
    blocks (``.minnctapersm``)."""

    name = "quartet-launch-bounds"
    min_blocks_per_sm: int = option(1, "blocks of each kernel an SM must hold at once")

    def apply(self, module: ir.Operation) -> None:
        if self.min_blocks_per_sm < 1:
            raise PassError(f"min-blocks-per-sm must be at least 1, got {self.min_blocks_per_sm}")
        i32 = ir.IntegerType.get_signless(32)
        for kernel in _kernels(module):
            if BOUND in kernel.attributes:
                kernel.attributes[EXACT] = kernel.attributes[BOUND]
                del kernel.attributes[BOUND]
            blocks = _planned_veus_per_sm(kernel) or self.min_blocks_per_sm
            kernel.attributes[MIN_BLOCKS_PER_SM] = ir.IntegerAttr.get(i32, blocks)


def _planned_veus_per_sm(kernel: ir.Operation) -> int | None:
    """The vEUs per SM of the persistent kernel ``kernel`` is, or None for a plain kernel."""
    module = kernel.parent
    if schedule.PER_SM not in module.attributes:
        return None
    return ir.IntegerAttr(module.attributes[schedule.PER_SM]).value


def _kernels(module: ir.Operation) -> list[ir.Operation]:
    """The kernels (``llvm.func`` marked ``nvvm.kernel``) of every ``gpu.module``."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "llvm.func" and "nvvm.kernel" in op.attributes:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    return found
