// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90})' | FileCheck %s
// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90},quartet-map-to-cpu)' | FileCheck %s --check-prefix=CPU
// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90},quartet-map-to-gpu)' | FileCheck %s --check-prefix=GPU
// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90},quartet-map-to-gpu,canonicalize,cse,gpu-launch-sink-index-computations,quartet-widen-bool-buffers,gpu-kernel-outlining,inline,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},canonicalize,cse),quartet-launch-bounds{min-blocks-per-sm=1},quartet-dynamic-shared,reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

/// Check the vEU program of a host whose loop and branch are on the grid: the host keeps its
/// allocations and calls the program once (counters: one per launch, then the grid barrier's
/// two cells); inside, the loop runs on every vEU with the same bounds, its launches as
/// segments without waits or signals, a grid barrier between k0 and k1 (k1 reads what k0
/// wrote) and at the end of the iteration (the next k0 rewrites what k1 read); after the
/// loop every vEU loads the flag k1 wrote and takes the same side of the branch.
// CHECK-LABEL: func.func private @g_rammer.func(
// CHECK: scf.parallel (%[[VEU:.*]]) =
// CHECK-NOT: memref.load %{{.*}} : memref<1xi32>
// CHECK: %[[SYNC:.*]] = memref.subview %{{.*}}[3] [2] [1] : memref<5xi32> to memref<2xi32, strided<[1], offset: 3>>
// CHECK-NOT: schedule.barrier
// CHECK: scf.for %[[I:.*]] =
// CHECK: func.call @g_k0_task(%{{.*}}, %{{.*}}, %{{.*}}, %[[I]])
// CHECK-NOT: schedule.signal
// CHECK: } {schedule.segment = #schedule.segment<0 : i64, "g_k0", 2 : i64, array<i64>>}
// CHECK-NEXT: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}
// CHECK: func.call @g_k1_task(
// CHECK: } {schedule.segment = #schedule.segment<1 : i64, "g_k1", 2 : i64, array<i64>>}
// CHECK-NEXT: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}
// CHECK-NEXT: } {controlflow.placement = #controlflow.device<"grid">
// CHECK-NEXT: %[[FLAG:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<1xi8>
// CHECK-NEXT: %[[P:.*]] = arith.trunci %[[FLAG]]
// CHECK-NEXT: scf.if %[[P]] {
// CHECK: } {schedule.segment = #schedule.segment<2 : i64, "g_k0", 2 : i64, array<i64>>}
// CHECK-NEXT: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}
// CHECK-NEXT: } {controlflow.placement = #controlflow.device<"grid">
// CHECK: } {schedule.grid_sync = 3 : index, schedule.table = @g_veu_table, schedule.veus = #schedule.veus<6 : i64, 1 : i64, "sm_90">
// CHECK-LABEL: func.func @g(
// CHECK: %[[C:.*]] = memref.alloc() {schedule.counters} : memref<5xi32>
// CHECK: call @g_rammer.func(
// CHECK-NOT: scf.for
// CHECK: return

/// Check the CPU form: the loop and the branch run once, outside any vEU loop, the vEU loop
/// pushed into them (a loop over the vEUs per segment, in place), the grid barriers gone.
// CPU-LABEL: func.func private @g_rammer.func(
// CPU-NOT: schedule.barrier
// CPU: scf.for %[[I:.*]] =
// CPU: scf.parallel (%[[V0:.*]]) =
// CPU: memref.load %{{.*}}[%{{.*}}, %[[V0]], %{{.*}}] : memref<3x6x2xi32>
// CPU: func.call @g_k0_task(%{{.*}}, %{{.*}}, %{{.*}}, %[[I]])
// CPU: scf.parallel (%[[V1:.*]]) =
// CPU: memref.load %{{.*}}[%{{.*}}, %[[V1]], %{{.*}}] : memref<3x6x2xi32>
// CPU: func.call @g_k1_task(
// CPU: } {controlflow.placement = #controlflow.device<"grid">
// CPU: %[[FLAG:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<1xi8>
// CPU: scf.if
// CPU: scf.parallel
// CPU: func.call @g_k0_task(
// CPU-NOT: schedule.
// CPU: return

/// Check the GPU form of a grid barrier: a CTA barrier; thread 0 reads the generation
/// (relaxed) before it arrives (acq_rel add in inline assembly, since llvm.atomicrmw drops the
/// ordering); the last of the 6 vEUs zeroes the arrivals and releases the next generation,
/// the others poll it with acquire loads and a backoff until it changes; a CTA barrier.
// GPU-LABEL: func.func private @g_rammer.func(
// GPU: gpu.launch
// GPU: scf.for
// GPU: gpu.barrier
// GPU: scf.if
// GPU: %[[GEN:.*]] = llvm.load %{{.*}} atomic syncscope("device") monotonic
// GPU: %[[OLD:.*]] = llvm.inline_asm has_side_effects "atom.acq_rel.gpu.global.add.u32 $0, [$1], $2;", "=r,l,r"
// GPU: %[[LAST:.*]] = arith.cmpi eq, %[[OLD]], %c5_i32
// GPU: scf.if %[[LAST]] {
// GPU: llvm.store %{{.*}} atomic syncscope("device") monotonic
// GPU: llvm.inline_asm has_side_effects "red.release.gpu.global.add.u32 [$0], $1;"
// GPU: } else {
// GPU: scf.while
// GPU: llvm.load %{{.*}} atomic syncscope("device") acquire
// GPU: arith.cmpi eq, %{{.*}}, %[[GEN]]
// GPU: nvvm.nanosleep
// GPU: gpu.barrier
// GPU-NOT: schedule.barrier

/// Check the PTX of the persistent kernel: the arrival, the release, the relaxed and acquire
/// loads of the generation.
// PTX: .visible .entry g_rammer(
// PTX: ld.relaxed.gpu.global.b32
// PTX: atom.acq_rel.gpu.global.add.u32
// PTX: red.release.gpu.global.add.u32
// PTX: ld.acquire.gpu.global.b32
// PTX: nanosleep.u32
