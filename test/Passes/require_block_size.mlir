// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-require-block-size)' | FileCheck %s

/// Check that a kernel's block size bound becomes a requirement: nvvm.maxntid is renamed
/// nvvm.reqntid with the same sizes (PTX forbids both), and the other attributes stay.
// CHECK-LABEL: llvm.func @k0
// CHECK-SAME: gpu.known_block_size = array<i32: 96, 1, 1>
// CHECK-SAME: nvvm.kernel
// CHECK-SAME: nvvm.reqntid = array<i32: 96, 1, 1>
// CHECK-NOT: nvvm.maxntid
gpu.module @k0 {
  llvm.func @k0(%arg0: !llvm.ptr) attributes {gpu.kernel, gpu.known_block_size = array<i32: 96, 1, 1>, nvvm.kernel, nvvm.maxntid = array<i32: 96, 1, 1>} {
    llvm.return
  }
}

// -----

/// Check that a device function and a kernel without a known block size are left alone.
// CHECK-LABEL: llvm.func @helper
// CHECK-SAME: nvvm.maxntid = array<i32: 32, 1, 1>
// CHECK-LABEL: llvm.func @unbounded
// CHECK-NOT: ntid
gpu.module @k1 {
  llvm.func @helper() attributes {nvvm.maxntid = array<i32: 32, 1, 1>} {
    llvm.return
  }
  llvm.func @unbounded() attributes {gpu.kernel, nvvm.kernel} {
    llvm.return
  }
}
