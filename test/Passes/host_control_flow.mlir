// RUN: quartet-opt %s --pass-pipeline='builtin.module(quartet-host-control-flow)' | FileCheck %s

/// Check that every loop and branch loses its device placement and is marked with why it runs
/// on the host (which quartet-grinder keeps), nested ones included, and that other
/// attributes stay.
// CHECK-LABEL: func.func @loops
// CHECK: scf.for
// CHECK: scf.if
// CHECK: } {controlflow.host_reason = "the host-loop form was asked for (control_flow='host', or schedule 'none')", keep}
// CHECK: } {controlflow.host_reason = "the host-loop form
// CHECK: scf.while
// CHECK: } do {
// CHECK: } attributes {controlflow.host_reason = "the host-loop form
// CHECK-NOT: controlflow.placement
func.func @loops(%n: index, %flag: i1) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    scf.if %flag {
    } {controlflow.placement = #controlflow.device<"cta">, keep}
  } {controlflow.placement = #controlflow.device<"grid">}
  %r = scf.while (%v = %c0) : (index) -> index {
    %lt = arith.cmpi slt, %v, %n : index
    scf.condition(%lt) %v : index
  } do {
  ^bb0(%v: index):
    %next = arith.addi %v, %c1 : index
    scf.yield %next : index
  } attributes {controlflow.placement = #controlflow.device<"grid">}
  return %r : index
}
