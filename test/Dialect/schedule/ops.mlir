// RUN: quartet-opt %s | quartet-opt | FileCheck %s

/// Check that both barrier scopes round-trip in the form the lowerings emit: a grid barrier
/// on its two sync cells (a view of the counters after the launches' own).
// CHECK-LABEL: func.func @barriers
// CHECK: "schedule.barrier"() {scope = "cta"} : () -> ()
// CHECK: "schedule.barrier"(%{{.*}}) {scope = "grid"} : (memref<2xi32, strided<[1], offset: 3>>) -> ()
func.func @barriers(%counters: memref<5xi32>) {
  %sync = memref.subview %counters[3] [2] [1] : memref<5xi32> to memref<2xi32, strided<[1], offset: 3>>
  "schedule.barrier"() {scope = "cta"} : () -> ()
  "schedule.barrier"(%sync) {scope = "grid"} : (memref<2xi32, strided<[1], offset: 3>>) -> ()
  return
}

/// Check that a vEU program round-trips: two vEUs walk the vEU table @p_veu_table, launch 0
/// (two tasks of @k0, one per vEU) then launch 1 (two tasks of @k1, both on vEU 0), which
/// waits until launch 0's counter holds its two tasks in this inference (x epoch).
// CHECK: memref.global "private" constant @p_veu_table : memref<2x2x2xi32>
// CHECK-LABEL: func.func private @p_rammer.func
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: func.call @k0_task
// CHECK: "schedule.barrier"() {scope = "cta"}
// CHECK: "schedule.signal"(%{{.*}}, %{{.*}}, %{{.*}}) : (memref<2xi32>, index, i32) -> ()
// CHECK: } {schedule.segment = #schedule.segment<0 : i64, "k0", 2 : i64, array<i64>>}
// CHECK: "schedule.wait"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<2xi32>, index, i32, i32) -> ()
// CHECK: } {schedule.segment = #schedule.segment<1 : i64, "k1", 2 : i64, array<i64: 0>>}
// CHECK: } {schedule.table = @p_veu_table, schedule.veus = #schedule.veus<2 : i64, 1 : i64, "sm_90">, tile.kernel = #tile.kernel<"p_rammer">}
memref.global "private" constant @p_veu_table : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>
func.func private @k0_task(%task: index, %x: memref<8xf32>, %y: memref<8xf32>) attributes {no_inline}
func.func private @k1_task(%task: index, %y: memref<8xf32>, %z: memref<8xf32>) attributes {no_inline}
func.func private @p_rammer.func(%x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>,
    %table: memref<2x2x2xi32>, %counters: memref<2xi32>, %epoch_buf: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %tasks = arith.constant 2 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    %epoch = memref.load %epoch_buf[%c0] : memref<1xi32>
    %lo0 = memref.load %table[%c0, %veu, %c0] : memref<2x2x2xi32>
    %hi0 = memref.load %table[%c0, %veu, %c1] : memref<2x2x2xi32>
    %run0 = arith.cmpi slt, %lo0, %hi0 : i32
    scf.if %run0 {
      %first = arith.index_cast %lo0 : i32 to index
      %end = arith.index_cast %hi0 : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @k0_task(%task, %x, %y) : (index, memref<8xf32>, memref<8xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi0, %lo0 : i32
      "schedule.signal"(%counters, %c0, %done) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    %lo1 = memref.load %table[%c1, %veu, %c0] : memref<2x2x2xi32>
    %hi1 = memref.load %table[%c1, %veu, %c1] : memref<2x2x2xi32>
    %run1 = arith.cmpi slt, %lo1, %hi1 : i32
    scf.if %run1 {
      "schedule.wait"(%counters, %c0, %tasks, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      %first = arith.index_cast %lo1 : i32 to index
      %end = arith.index_cast %hi1 : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @k1_task(%task, %y, %z) : (index, memref<8xf32>, memref<8xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi1, %lo1 : i32
      "schedule.signal"(%counters, %c1, %done) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {tile.kernel = #tile.kernel<"p_rammer">, schedule.veus = #schedule.veus<2, 1, "sm_90">,
     schedule.table = @p_veu_table}
  return
}
