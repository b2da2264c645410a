// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-map-to-cpu)' | FileCheck %s

/// Check that CTA barriers disappear (sibling phases already run in order) and that shared and
/// per-thread buffers become plain stack buffers, while the loops stay as they are.
// CHECK-LABEL: func.func @phases
// CHECK: scf.parallel
// CHECK: memref.alloca() : memref<32xf32>
// CHECK: memref.alloca() : memref<32x1xf32>
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<32xf32>
// CHECK-NOT: schedule.barrier
// CHECK-NOT: address_space
// CHECK: tile.kernel = #tile.kernel<"phases_k0">
func.func @phases(%a: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c31 = arith.constant 31 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    %s = memref.alloca() : memref<32xf32, #gpu.address_space<workgroup>>
    %acc = memref.alloca() : memref<32x1xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %a[%t] : memref<32xf32>
      memref.store %v, %s[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      memref.store %v, %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
      scf.reduce
    }
    "schedule.barrier"() {scope = "cta"} : () -> ()
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %j = arith.subi %c31, %t : index
      %v = memref.load %s[%j] : memref<32xf32, #gpu.address_space<workgroup>>
      memref.store %v, %a[%t] : memref<32xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"phases_k0">}
  return
}

// -----

/// Check that a tensor-core step becomes the lane's own four 16-long dot products in f32.
// CHECK-LABEL: func.func @mma
// CHECK-NOT: tile.mma
// CHECK-COUNT-4: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c1
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @mma(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %out: memref<32x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    %sa = memref.alloca() {alignment = 16 : i64} : memref<16x16xf16, #gpu.address_space<workgroup>>
    %sb = memref.alloca() {alignment = 16 : i64} : memref<16x8xf16, #gpu.address_space<workgroup>>
    %acc = memref.alloca() : memref<32x4xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      "tile.mma"(%sa, %sb, %acc, %t, %c0, %c0, %c0, %c0, %c0) {shape = "m16n8k16"} : (memref<16x16xf16, #gpu.address_space<workgroup>>, memref<16x8xf16, #gpu.address_space<workgroup>>, memref<32x4xf32, #gpu.address_space<private>>, index, index, index, index, index, index) -> ()
      scf.for %e = %c0 to %c4 step %c1 {
        %v = memref.load %acc[%t, %e] : memref<32x4xf32, #gpu.address_space<private>>
        memref.store %v, %out[%t, %e] : memref<32x4xf32>
      }
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"mma_k0">}
  return
}

// -----

/// Check that a runtime check becomes, where its condition is false, an atomic signed max of
/// its code into the error word, as on the GPU.
// CHECK-LABEL: func.func @check
//  CHECK-SAME: %[[OK:[^:]*]]: i1, %[[WORD:[^:]*]]: memref<1xi32>
// CHECK: %[[FAILED:.*]] = arith.xori %[[OK]], %true
// CHECK: scf.if %[[FAILED]] {
// CHECK: %[[CODE:.*]] = arith.constant 3 : i32
// CHECK: memref.atomic_rmw maxs %[[CODE]], %[[WORD]][%{{.*}}] : (i32, memref<1xi32>) -> i32
// CHECK-NOT: tile.check
func.func @check(%ok: i1, %word: memref<1xi32> {tile.error_word}) attributes {tile.errors = [#tile.error<3 : i32, "bad">]} {
  "tile.check"(%ok, %word) {code = 3 : i32} : (i1, memref<1xi32>) -> ()
  return
}
