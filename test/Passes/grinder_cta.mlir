// RUN: quartet-opt %S/Inputs/grinder_cta.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90},quartet-rammer{arch=sm_90})' | FileCheck %s
// RUN: quartet-opt %S/Inputs/grinder_cta.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90},quartet-rammer{arch=sm_90},quartet-map-to-cpu)' | FileCheck %s --check-prefix=CPU
// RUN: quartet-opt %S/Inputs/grinder_cta.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90},quartet-rammer{arch=sm_90},quartet-map-to-gpu)' | FileCheck %s --check-prefix=GPU

/// Check the vEU program of a host whose while loop quartet-grinder placed on one CTA (its
/// one-task body is cheaper there than with grid barriers): the vEU table gives vEU 0 the
/// loop's one task and deals the 4-task launches around it; the loop runs inside
/// `scf.if %veu == 0 {schedule.owner = 0}`, its condition loaded there, with no grid barrier
/// inside it; a grid barrier before it (the owner reads what the first launch wrote on four
/// vEUs) and after it (the last launch reads, on four vEUs, what the owner wrote).
// CHECK: memref.global "private" constant @c_veu_table : memref<3x9x2xi32> = dense<[{{\[}}[0, 1], [1, 2], [2, 3], [3, 4], [4, 4], [4, 4], [4, 4], [4, 4], [4, 4]], {{\[}}[0, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1]], {{\[}}[0, 1], [1, 2], [2, 3], [3, 4], [4, 4], [4, 4], [4, 4], [4, 4], [4, 4]]]>
// CHECK-LABEL: func.func private @c_rammer.func(
// CHECK: scf.parallel (%[[VEU:.*]]) =
// CHECK: %[[SYNC:.*]] = memref.subview
// CHECK: } {schedule.segment = #schedule.segment<0 : i64, "c_k0", 4 : i64, array<i64>>}
// CHECK-NOT: segment
// CHECK: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}
// CHECK: %[[OWNER:.*]] = arith.cmpi eq, %[[VEU]], %{{.*}} : index
// CHECK-NEXT: scf.if %[[OWNER]] {
// CHECK-NEXT: scf.while
// CHECK-NOT: schedule.barrier"(
// CHECK: func.call @c_k1_task(
// CHECK: } {schedule.segment = #schedule.segment<1 : i64, "c_k1", 1 : i64, array<i64>>}
// CHECK-NEXT: %[[FLAG:.*]] = memref.load
// CHECK-NEXT: %[[GO:.*]] = arith.trunci %[[FLAG]]
// CHECK-NEXT: scf.condition(%[[GO]])
// CHECK-NEXT: } do {
// CHECK-NEXT: scf.yield
// CHECK-NEXT: } attributes {controlflow.placement = #controlflow.device<"cta">
// CHECK-NEXT: } {schedule.owner = 0 : index}
// CHECK-NEXT: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}
// CHECK: } {schedule.segment = #schedule.segment<2 : i64, "c_k0", 4 : i64, array<i64>>}
// CHECK-NEXT: scf.reduce

/// Check the CPU form: the guard is gone, the loop runs once outside any vEU loop, its
/// segment a loop over the vEUs (the table gives every task to vEU 0).
// CPU-LABEL: func.func private @c_rammer.func(
// CPU-NOT: schedule.
// CPU: func.call @c_k0_task(
// CPU: scf.while : () -> () {
// CPU: scf.parallel
// CPU: func.call @c_k1_task(
// CPU: scf.condition
// CPU: } attributes {controlflow.placement = #controlflow.device<"cta">
// CPU-NOT: schedule.
// CPU: func.call @c_k0_task(
// CPU: return

/// Check the GPU form: the guard compares the block's index with the owner's; inside it only
/// CTA barriers; the generation barriers around it.
// GPU-LABEL: func.func private @c_rammer.func(
// GPU: gpu.launch blocks(%[[BLOCK:[^,]*]],
// GPU: atom.acq_rel.gpu.global.add.u32
// GPU: %[[OWNER:.*]] = arith.cmpi eq, %[[BLOCK]], %{{.*}} : index
// GPU-NEXT: scf.if %[[OWNER]] {
// GPU-NEXT: scf.while
// GPU-NOT: atom.acq_rel
// GPU: gpu.barrier
// GPU: } {schedule.owner = 0 : index}
// GPU: atom.acq_rel.gpu.global.add.u32
