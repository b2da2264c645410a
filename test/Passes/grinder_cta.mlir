// RUN: quartet-opt %S/Inputs/grinder_cta.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90},quartet-rammer{arch=sm_90})' | FileCheck %s
// RUN: quartet-opt %S/Inputs/grinder_cta.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90},quartet-rammer{arch=sm_90},quartet-map-to-cpu)' | FileCheck %s --check-prefix=CPU
// RUN: quartet-opt %S/Inputs/grinder_cta.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90},quartet-rammer{arch=sm_90},quartet-map-to-gpu)' | FileCheck %s --check-prefix=GPU

/// Check the vEU program of a host whose while loop quartet-grinder placed on one CTA (its
/// one-task body is cheaper there than with grid barriers): the vEU table gives vEU 0 the
/// loop's one task and deals the 4-task launches around it; the loop runs inside
/// `scf.if %veu == 0 {schedule.owner = 0}`, its condition loaded there, with no grid barrier,
/// wait or signal inside it; every vEU waits before it for the first launch's four tasks (the
/// owner reads what they wrote), and a grid barrier follows it (the last launch reads, on four
/// vEUs, what the owner wrote: no counter says the owner is done). The loop's blocks have no
/// entry-number cell: the counters are 3 launches, 2 barrier cells and the body's one.
// CHECK: memref.global "private" constant @c_veu_table : memref<3x9x2xi32> = dense<[{{\[}}[0, 1], [1, 2], [2, 3], [3, 4], [4, 4], [4, 4], [4, 4], [4, 4], [4, 4]], {{\[}}[0, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1]], {{\[}}[0, 1], [1, 2], [2, 3], [3, 4], [4, 4], [4, 4], [4, 4], [4, 4], [4, 4]]]>
// CHECK-LABEL: func.func private @c_rammer.func(
// CHECK-SAME: memref<6xi32>
// CHECK: scf.parallel (%[[VEU:.*]]) =
// CHECK: %[[SYNC:.*]] = memref.subview
// CHECK: } {schedule.segment = #schedule.segment<0 : i64, "c_k0", 4 : i64, array<i64>>}
// CHECK-NOT: segment
// CHECK: "schedule.wait"(%{{.*}}, %{{.*}}, %c4_i32, %{{.*}})
// CHECK-NOT: "schedule.barrier"(
// CHECK: %[[OWNER:.*]] = arith.cmpi eq, %[[VEU]], %{{.*}} : index
// CHECK-NEXT: scf.if %[[OWNER]] {
// CHECK-NEXT: scf.while
// CHECK-NOT: "schedule.
// CHECK: func.call @c_k1_task(
// CHECK-NOT: schedule.signal
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
// CHECK-NEXT: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}

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
/// CTA barriers; a generation barrier after it, none before it (a wait there).
// GPU-LABEL: func.func private @c_rammer.func(
// GPU: gpu.launch blocks(%[[BLOCK:[^,]*]],
// GPU-NOT: atom.acq_rel.gpu.global.add.u32
// GPU: %[[OWNER:.*]] = arith.cmpi eq, %[[BLOCK]], %{{.*}} : index
// GPU-NEXT: scf.if %[[OWNER]] {
// GPU-NEXT: scf.while
// GPU-NOT: atom.acq_rel
// GPU: gpu.barrier
// GPU: } {schedule.owner = 0 : index}
// GPU: atom.acq_rel.gpu.global.add.u32
