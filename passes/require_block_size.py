"""quartet-require-block-size: a kernel's block size is exact, so its PTX says ``.reqntid``.

Every launch of a Quartet kernel uses the block size it was compiled for (``gpu.launch`` takes
it as constants, and outlining records it as ``known_block_size``). ``convert-gpu-to-nvvm``
states it as ``nvvm.maxntid``, which PTX reads as an upper bound only (``.maxntid``: "the
maximum number of threads", PTX ISA, "Performance-Tuning Directives"). ptxas then chooses a
register budget for occupancy over every block size up to it, and for some sizes it spills to
reach that budget: a 96-thread attention kernel that needs 46 registers is held to 40 with 32
bytes of spills (ONNX's ``test_attention_local_window_gqa_rank4_mask``; likewise at 160, 224,
288 and 512 threads, CUDA 13.0's ptxas). ``.reqntid`` (``nvvm.reqntid``) states the exact size:
the same kernel assembles to 31 registers and no spills, as ptxas also learns the range of
``%tid``. PTX forbids giving both directives, so this pass, run after the NVVM lowering,
renames the one into the other on every kernel.

    llvm.func @k(...) attributes {nvvm.kernel, nvvm.maxntid = array<i32: 96, 1, 1>}
 -> llvm.func @k(...) attributes {nvvm.kernel, nvvm.reqntid = array<i32: 96, 1, 1>}
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass

_BOUND = "nvvm.maxntid"
_EXACT = "nvvm.reqntid"


@dataclass(frozen=True)
class RequireBlockSize(ModulePass):
    """Kernels require their block size (``.reqntid``) instead of bounding it (``.maxntid``)."""

    name = "quartet-require-block-size"

    def apply(self, module: ir.Operation) -> None:
        kernels = []

        def visit(op: ir.Operation) -> ir.WalkResult:
            attributes = op.attributes
            if op.name == "llvm.func" and "nvvm.kernel" in attributes and _BOUND in attributes:
                kernels.append(op)
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for kernel in kernels:
            kernel.attributes[_EXACT] = kernel.attributes[_BOUND]
            del kernel.attributes[_BOUND]
