"""quartet-launch-bounds: every kernel tells ptxas how many of its blocks an SM must hold.

A kernel's PTX carries ``.maxntid`` (its block size, from ``gpu.launch``). Given that alone,
ptxas picks its own register target to fit more blocks per SM, and spills to reach it (ptxas
of CUDA 13): a ViT encoder kernel (197 tokens, 256 threads, a GELU recomputed in a
contraction's staging loop) was held to 48 registers with 8 bytes spilled around the slow path
of ``rcp.rn.f32``, and an attention score kernel with a float64 softmax (96 threads) to 40
registers with 32 bytes spilled; with ``.minnctapersm 1`` both take 64 registers and
spill nothing. Of 127 distinct kernels of exported ViT, GPT-2 and LLaMA models, the directive
raised the registers of 46, lowered them in 40 and left 41 alone.

Quartet's plan, not ptxas's heuristic, decides what a thread holds: Roller keeps each register
tile within ``GPU_REGISTER_BUDGET`` (128 registers) and the block within the register file.
This pass states the occupancy that plan needs as the kernel's ``nvvm.minctasm`` (PTX
``.minnctapersm``): ``min-blocks-per-sm`` blocks per SM, one by default, so ptxas's only limit
is the register file over ``min-blocks-per-sm`` blocks of the kernel's threads (at most 255).
It runs after ``gpu-kernel-outlining``, which drops attributes of ``gpu.launch``:

    gpu.func @k(...) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
  becomes
    gpu.func @k(...) kernel attributes {known_block_size = ..., nvvm.minctasm = 1 : i32}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass, PassError, option

MIN_BLOCKS_PER_SM = "nvvm.minctasm"


@dataclass(frozen=True)
class LaunchBounds(ModulePass):
    """Give every GPU kernel the blocks per SM ptxas must fit (nvvm.minctasm)."""

    name = "quartet-launch-bounds"
    min_blocks_per_sm: int = option(1, "blocks of each kernel an SM must hold at once")

    def apply(self, module: ir.Operation) -> None:
        if self.min_blocks_per_sm < 1:
            raise PassError(f"min-blocks-per-sm must be at least 1, got {self.min_blocks_per_sm}")
        blocks = ir.IntegerAttr.get(ir.IntegerType.get_signless(32), self.min_blocks_per_sm)
        for kernel in _kernels(module):
            kernel.attributes[MIN_BLOCKS_PER_SM] = blocks


def _kernels(module: ir.Operation) -> list[ir.Operation]:
    """The ``gpu.func ... kernel`` ops of every ``gpu.module``."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "gpu.func" and "gpu.kernel" in op.attributes:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    return found
