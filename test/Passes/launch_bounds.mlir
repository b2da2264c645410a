// RUN: quartet-opt %s --pass-pipeline='builtin.module(quartet-launch-bounds)' | FileCheck %s
// RUN: quartet-opt %s --pass-pipeline='builtin.module(quartet-launch-bounds{min-blocks-per-sm=2})' | FileCheck %s --check-prefix=TWO
// RUN: quartet-opt %s --pass-pipeline='builtin.module(quartet-launch-bounds,nvvm-attach-target{chip=sm_90},gpu.module(convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

/// Check that every kernel of every gpu.module asks for one resident block per SM (or the
/// option's count), that a gpu.func that is not a kernel is left alone, and that the
/// PTX carries it as .minnctapersm beside the .maxntid of the known block size.
// CHECK-LABEL: gpu.module @first
// CHECK: gpu.func @device_helper
// CHECK-NOT: nvvm.minctasm
// CHECK: gpu.func @first(
// CHECK-SAME: nvvm.minctasm = 1 : i32
// CHECK-LABEL: gpu.module @second
// CHECK: gpu.func @second(
// CHECK-SAME: nvvm.minctasm = 1 : i32
// TWO: gpu.func @first({{.*}}nvvm.minctasm = 2 : i32
// TWO: gpu.func @second({{.*}}nvvm.minctasm = 2 : i32
// PTX: .entry first(
// PTX-SAME: .maxntid 256, 1, 1\0A.minnctapersm 1\0A
// PTX: .entry second(
// PTX-SAME: .maxntid 64, 1, 1\0A.minnctapersm 1\0A
module attributes {gpu.container_module} {
  gpu.module @first {
    gpu.func @device_helper(%x: f32) -> f32 {
      %y = arith.addf %x, %x : f32
      gpu.return %y : f32
    }
    gpu.func @first(%a: memref<256xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<256xf32>
      memref.store %v, %a[%t] : memref<256xf32>
      gpu.return
    }
  }
  gpu.module @second {
    gpu.func @second(%a: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<64xf32>
      memref.store %v, %a[%t] : memref<64xf32>
      gpu.return
    }
  }
}
