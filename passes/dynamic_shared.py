"""quartet-dynamic-shared: the persistent kernels' shared arena as the PTX ``.extern .shared``
array a launch sizes.

A vEU program's tasks share one shared allocation, sized at launch (``Launch.shared_bytes``:
dynamic shared memory, which is also the only way past the 48 KB a kernel may declare
statically). ``quartet-map-to-gpu`` declares it as a workgroup ``memref.global`` without a
value, which the NVVM lowering turns into an external global of the largest task's size;
PTX wants the dynamic form, an array of unknown size. ``gpu.dynamic_shared_memory`` is no
substitute: it lowers to a one-byte static array, which a GPU places before the dynamic
region (PLATFORM.md, "Dynamic shared memory"). Run after ``convert-gpu-to-nvvm``:

    llvm.mlir.global external @__quartet_arena() {addr_space = 3 : i32, alignment = 16 : i64}
        : !llvm.array<24576 x i8>
 -> llvm.mlir.global external @__quartet_arena() {addr_space = 3 : i32, alignment = 16 : i64}
        : !llvm.array<0 x i8>

which LLVM's NVPTX backend writes as ``.extern .shared .align 16 .b8 __quartet_arena[];``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass

ARENA = "__quartet_arena"
WORKGROUP_ADDRESS_SPACE = 3  # NVPTX's shared memory


@dataclass(frozen=True)
class DynamicShared(ModulePass):
    """Make the persistent kernels' shared arena an extern array of dynamic size."""

    name = "quartet-dynamic-shared"

    def apply(self, module: ir.Operation) -> None:
        unsized = ir.TypeAttr.get(ir.Type.parse("!llvm.array<0 x i8>"))
        for arena in _arenas(module):
            arena.attributes["global_type"] = unsized


def _arenas(module: ir.Operation) -> list[ir.Operation]:
    """The arena's LLVM global in every gpu.module."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if (
            op.name == "llvm.mlir.global"
            and ir.StringAttr(op.attributes["sym_name"]).value == ARENA
            and ir.IntegerAttr(op.attributes["addr_space"]).value == WORKGROUP_ADDRESS_SPACE
        ):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    return found
