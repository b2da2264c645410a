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

// -----

/// Check that a vEU program runs launch after launch: one loop over the vEUs per segment
/// (each keeping its own segment, which is no vEU program any more); that a wait becomes a
/// check, through the error word, that the counter already holds expected x epoch (the code of
/// a short wait, 2^31-1), and a signal a plain add; and that the host zeroes the counters and
/// sets the epoch to 1 where it allocates them.
// CHECK-LABEL: func.func private @p_rammer.func(
// CHECK-SAME: %[[WORD:[^:]*]]: memref<1xi32> {tile.error_word}, %{{[^:]*}}: memref<2x2x2xi32>, %[[COUNTERS:[^:]*]]: memref<2xi32>
// CHECK: scf.parallel
// CHECK: func.call @p_k0_task(
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[COUNTERS]][%c0
// CHECK-NOT: func.call @p_k1_task
// CHECK: } {tile.kernel = #tile.kernel<"p_rammer">
// CHECK: scf.parallel
// CHECK-NOT: func.call @p_k0_task
// CHECK: %[[SEEN:.*]] = memref.load %[[COUNTERS]][%c0
// CHECK: %[[NEEDED:.*]] = arith.muli %c2_i32, %{{.*}} : i32
// CHECK: %[[BEHIND:.*]] = arith.subi %[[SEEN]], %[[NEEDED]] : i32
// CHECK: %[[OK:.*]] = arith.cmpi sge, %[[BEHIND]], %c0_i32 : i32
// CHECK: %[[SHORT:.*]] = arith.xori %[[OK]], %true
// CHECK: scf.if %[[SHORT]] {
// CHECK: memref.atomic_rmw maxs %c2147483647_i32, %[[WORD]]
// CHECK: func.call @p_k1_task(
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[COUNTERS]][%c1
// CHECK-NOT: schedule.
// CHECK-LABEL: func.func @p(
// CHECK: %[[C:.*]] = memref.alloc() {schedule.counters} : memref<2xi32>
// CHECK: scf.for
// CHECK-NEXT: memref.store %c0_i32, %[[C]]
// CHECK: %[[E:.*]] = memref.alloc() {schedule.epoch} : memref<1xi32>
// CHECK: scf.for
// CHECK-NEXT: memref.store %c1_i32, %[[E]]
// CHECK: call @p_rammer.func(
func.func private @p_k0_task(%task: index, %a: memref<64xf32>) attributes {no_inline} {
  return
}
func.func private @p_k1_task(%task: index, %a: memref<64xf32>) attributes {no_inline} {
  return
}
memref.global "private" constant @p_veu_table : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>
func.func private @p_rammer.func(%x: memref<64xf32>, %word: memref<1xi32> {tile.error_word},
    %table: memref<2x2x2xi32>, %counters: memref<2xi32>, %epochs: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c2_i32 = arith.constant 2 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    %epoch = memref.load %epochs[%c0] : memref<1xi32>
    %lo0 = memref.load %table[%c0, %veu, %c0] : memref<2x2x2xi32>
    %hi0 = memref.load %table[%c0, %veu, %c1] : memref<2x2x2xi32>
    %some0 = arith.cmpi slt, %lo0, %hi0 : i32
    scf.if %some0 {
      %first = arith.index_cast %lo0 : i32 to index
      %end = arith.index_cast %hi0 : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @p_k0_task(%task, %x) : (index, memref<64xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi0, %lo0 : i32
      "schedule.signal"(%counters, %c0, %done) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "p_k0", 2, array<i64>>}
    %lo1 = memref.load %table[%c1, %veu, %c0] : memref<2x2x2xi32>
    %hi1 = memref.load %table[%c1, %veu, %c1] : memref<2x2x2xi32>
    %some1 = arith.cmpi slt, %lo1, %hi1 : i32
    scf.if %some1 {
      "schedule.wait"(%counters, %c0, %c2_i32, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      %first = arith.index_cast %lo1 : i32 to index
      %end = arith.index_cast %hi1 : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @p_k1_task(%task, %x) : (index, memref<64xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi1, %lo1 : i32
      "schedule.signal"(%counters, %c1, %done) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "p_k1", 2, array<i64: 0>>}
    scf.reduce
  } {tile.kernel = #tile.kernel<"p_rammer">, tile.launch = #tile.launch<array<i64: 2>, 64, 0>,
     schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @p_veu_table}
  return
}
func.func @p(%x: memref<64xf32>, %word: memref<1xi32> {tile.error_word})
    attributes {tile.errors = [#tile.error<2147483647 : i32, "short">]} {
  %table = memref.get_global @p_veu_table : memref<2x2x2xi32>
  %counters = memref.alloc() {schedule.counters} : memref<2xi32>
  %epoch = memref.alloc() {schedule.epoch} : memref<1xi32>
  call @p_rammer.func(%x, %word, %table, %counters, %epoch) : (memref<64xf32>, memref<1xi32>, memref<2x2x2xi32>, memref<2xi32>, memref<1xi32>) -> ()
  return
}
