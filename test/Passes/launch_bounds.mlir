// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-launch-bounds)' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-launch-bounds{min-blocks-per-sm=2})' | FileCheck %s --check-prefix=TWO
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-launch-bounds,reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

/// Check that a kernel's block size bound becomes a requirement (nvvm.maxntid renamed
/// nvvm.reqntid with the same sizes: PTX forbids both), that it asks for one resident block
/// per SM (or the option's count), and that its PTX says .reqntid and .minnctapersm.
// CHECK-LABEL: llvm.func @k0
// CHECK-SAME: gpu.known_block_size = array<i32: 96, 1, 1>
// CHECK-SAME: nvvm.kernel
// CHECK-SAME: nvvm.minctasm = 1 : i32
// CHECK-SAME: nvvm.reqntid = array<i32: 96, 1, 1>
// CHECK-NOT: nvvm.maxntid
// TWO: llvm.func @k0({{.*}}nvvm.minctasm = 2 : i32
// PTX: .entry k0(
// PTX-SAME: .reqntid 96, 1, 1\0A.minnctapersm 1\0A
module attributes {gpu.container_module} {
  gpu.module @k0 [#nvvm.target<chip = "sm_90">] {
    llvm.func @k0(%arg0: !llvm.ptr) attributes {gpu.kernel, gpu.known_block_size = array<i32: 96, 1, 1>, nvvm.kernel, nvvm.maxntid = array<i32: 96, 1, 1>} {
      llvm.return
    }
  }
}

// -----

/// Check that a device function is left alone, and that a kernel without a known block size
/// still asks for its resident blocks but gets no block size.
// CHECK-LABEL: llvm.func @helper
// CHECK-SAME: nvvm.maxntid = array<i32: 32, 1, 1>
// CHECK-NOT: minctasm
// CHECK-LABEL: llvm.func @unbounded
// CHECK-NOT: ntid
// CHECK-SAME: nvvm.minctasm = 1 : i32
module attributes {gpu.container_module} {
  gpu.module @k1 [#nvvm.target<chip = "sm_90">] {
    llvm.func @helper() attributes {nvvm.maxntid = array<i32: 32, 1, 1>} {
      llvm.return
    }
    llvm.func @unbounded() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
}

// -----

/// Check that a persistent kernel (its gpu.module carries the vEUs per SM quartet-map-to-gpu
/// planned) asks for that many resident blocks, whatever the option says: every vEU must be
/// resident at once.
// CHECK-LABEL: llvm.func @p_rammer
// CHECK-SAME: nvvm.minctasm = 3 : i32
// TWO: llvm.func @p_rammer({{.*}}nvvm.minctasm = 3 : i32
module attributes {gpu.container_module} {
  gpu.module @p_rammer [#nvvm.target<chip = "sm_90">] attributes {schedule.per_sm = 3 : i32} {
    llvm.func @p_rammer(%arg0: !llvm.ptr) attributes {gpu.kernel, gpu.known_block_size = array<i32: 64, 1, 1>, nvvm.kernel, nvvm.maxntid = array<i32: 64, 1, 1>} {
      llvm.return
    }
  }
}
