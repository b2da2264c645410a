// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-dynamic-shared)' | FileCheck %s
// RUN: quartet-opt %S/Inputs/rammer_ptx.mlir --pass-pipeline='builtin.module(quartet-rammer,quartet-map-to-gpu,canonicalize,cse,gpu-launch-sink-index-computations,quartet-widen-bool-buffers,gpu-kernel-outlining,inline,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},canonicalize,cse),quartet-launch-bounds{min-blocks-per-sm=1},quartet-dynamic-shared,reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

/// Check that the arena the NVVM lowering declared with the largest task's size becomes an
/// array of unknown size (in the PTX, .extern .shared ... __quartet_arena[]), and that other
/// globals keep theirs.
// CHECK-LABEL: gpu.module @k
// CHECK: llvm.mlir.global external @__quartet_arena() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK: llvm.mlir.global internal @other() {addr_space = 3 : i32} : !llvm.array<64 x i8>
module attributes {gpu.container_module} {
  gpu.module @k {
    llvm.mlir.global external @__quartet_arena() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<24576 x i8>
    llvm.mlir.global internal @other() {addr_space = 3 : i32} : !llvm.array<64 x i8>
  }
}

// The whole GPU tail on a vEU program (Inputs/rammer_ptx.mlir: two kernels, the second waiting for
// the first), checked in the PTX the NVPTX backend writes:
/// Check that the task functions are .funcs the persistent kernel calls, that the kernel
/// states its exact block and planned vEUs per SM, that a wait polls with ld.acquire.gpu and
/// nanosleep, that a signal is red.release.gpu, and that the arena is the extern array.
// PTX: gpu.binary @r_rammer
// PTX-SAME: .visible .func r_k0_task
// PTX-SAME: .extern .shared .align 16 .b8 __quartet_arena[];
// PTX-SAME: .visible .entry r_rammer(
// PTX-SAME: .reqntid 64, 1, 1
// PTX-SAME: .minnctapersm 1
// PTX-SAME: call.uni r_k0_task,
// PTX-SAME: red.release.gpu.global.add.u32
// PTX-SAME: ld.acquire.gpu.global.b32
// PTX-SAME: nanosleep.u32
// PTX-SAME: call.uni r_k1_task,
