// RUN: quartet-opt %s | quartet-opt | FileCheck %s

/// Check that a device-placed loop round-trips: each iteration ends at a grid barrier.
// CHECK-LABEL: func.func @device_for
// CHECK: scf.for
// CHECK: "schedule.barrier"(%{{.*}}) {scope = "grid"} : (memref<2xi32>) -> ()
// CHECK: } {controlflow.placement = #controlflow.device<"grid">}
func.func @device_for(%n: index, %sync: memref<2xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    "schedule.barrier"(%sync) {scope = "grid"} : (memref<2xi32>) -> ()
  } {controlflow.placement = #controlflow.device<"grid">}
  return
}

/// Check that an early-exit loop on the device broadcasts CTA 0's exit condition, and that a
/// CTA-scoped branch may sit inside it.
// CHECK-LABEL: func.func @device_while
// CHECK: scf.while
// CHECK: %[[GO:.*]] = "controlflow.broadcast"(%{{.*}}) : (i1) -> i1
// CHECK: scf.condition(%[[GO]])
// CHECK: scf.if
// CHECK: {controlflow.placement = #controlflow.device<"cta">}
// CHECK: {controlflow.placement = #controlflow.device<"grid">}
func.func @device_while(%x: i32, %limit: i32, %sync: memref<2xi32>) -> i32 {
  %r = scf.while (%v = %x) : (i32) -> i32 {
    %lt = arith.cmpi slt, %v, %limit : i32
    %go = "controlflow.broadcast"(%lt) : (i1) -> i1
    scf.condition(%go) %v : i32
  } do {
  ^bb0(%v: i32):
    %odd = arith.trunci %v : i32 to i1
    %next = scf.if %odd -> i32 {
      %a = arith.addi %v, %v : i32
      scf.yield %a : i32
    } else {
      %b = arith.muli %v, %v : i32
      scf.yield %b : i32
    } {controlflow.placement = #controlflow.device<"cta">}
    "schedule.barrier"(%sync) {scope = "grid"} : (memref<2xi32>) -> ()
    scf.yield %next : i32
  } attributes {controlflow.placement = #controlflow.device<"grid">}
  return %r : i32
}
