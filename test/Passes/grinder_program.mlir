// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90})' | FileCheck %s
// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90},quartet-map-to-cpu)' | FileCheck %s --check-prefix=CPU
// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90},quartet-map-to-gpu)' | FileCheck %s --check-prefix=GPU
// RUN: quartet-opt %S/Inputs/grinder_loop.mlir --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid},quartet-rammer{arch=sm_90},quartet-map-to-gpu,canonicalize,cse,gpu-launch-sink-index-computations,quartet-widen-bool-buffers,gpu-kernel-outlining,inline,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},canonicalize,cse),quartet-launch-bounds{min-blocks-per-sm=1},quartet-dynamic-shared,reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

/// Check the vEU program of a host whose loop and branch are on the grid: the host keeps its
/// allocations and calls the program once (counters: one per launch, the grid barrier's two
/// cells, then the entry number of each block that holds launches: the loop's body and the
/// branch's); inside, every vEU loads those of the last inference into cells of its own, the
/// loop runs on every vEU with the same bounds, +1 on its body's entry number, its launches
/// as segments that signal and wait on counters: k0 for k1's run of the previous iteration
/// (it rewrites what k1 read; k1 waited for k0's previous run, so no wait on k0 is needed),
/// its epoch the body's entry number less one (k1 comes after k0 in the body), k1 for k0's
/// run of this iteration, the entry number itself. No grid barrier in the loop; after it,
/// every vEU waits for k1 (the flag's writer) and loads the flag, so the branch's k0 needs no
/// wait (k1 waited for the loop's k0, which read what it overwrites); at the end a grid
/// barrier, then vEU 0 stores the entry numbers for the next inference.
// CHECK-LABEL: func.func private @g_rammer.func(
// CHECK-SAME: %{{.*}}: memref<1xi32> {tile.error_word}, %{{.*}}: memref<3x6x2xi32>, %[[C:.*]]: memref<7xi32>, %{{.*}}: memref<1xi32>)
// CHECK: scf.parallel (%[[VEU:.*]]) =
// CHECK: %[[SYNC:.*]] = memref.subview %[[C]][3] [2] [1] : memref<7xi32> to memref<2xi32, strided<[1], offset: 3>>
// CHECK: %[[BODY:.*]] = memref.alloca() : memref<i32>
// CHECK: %[[THEN:.*]] = memref.alloca() : memref<i32>
// CHECK: %[[B0:.*]] = memref.load %[[C]][%c5] : memref<7xi32>
// CHECK-NEXT: memref.store %[[B0]], %[[BODY]][] : memref<i32>
// CHECK-NOT: schedule.barrier
// CHECK: scf.for %[[I:.*]] =
// CHECK-NEXT: %[[OLD:.*]] = memref.load %[[BODY]][] : memref<i32>
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1 : i32
// CHECK-NEXT: %[[NEW:.*]] = arith.addi %[[OLD]], %[[ONE]] : i32
// CHECK-NEXT: memref.store %[[NEW]], %[[BODY]][] : memref<i32>
// CHECK: %[[N:.*]] = memref.load %[[BODY]][] : memref<i32>
// CHECK-NEXT: %[[ONE1:.*]] = arith.constant 1 : i32
// CHECK-NEXT: %[[PREVIOUS:.*]] = arith.subi %[[N]], %[[ONE1]] : i32
// CHECK-NEXT: %[[TASKS1:.*]] = arith.constant 2 : i32
// CHECK-NEXT: %[[K1:.*]] = arith.constant 1 : index
// CHECK-NEXT: "schedule.wait"(%[[C]], %[[K1]], %[[TASKS1]], %[[PREVIOUS]])
// CHECK-NOT: schedule.wait
// CHECK: func.call @g_k0_task(%{{.*}}, %{{.*}}, %{{.*}}, %[[I]])
// CHECK: "schedule.signal"(%[[C]],
// CHECK: } {schedule.segment = #schedule.segment<0 : i64, "g_k0", 2 : i64, array<i64: 1>>}
// CHECK-NOT: schedule.barrier
// CHECK: %[[THIS:.*]] = memref.load %[[BODY]][] : memref<i32>
// CHECK-NEXT: %[[TASKS0:.*]] = arith.constant 2 : i32
// CHECK-NEXT: %[[K0:.*]] = arith.constant 0 : index
// CHECK-NEXT: "schedule.wait"(%[[C]], %[[K0]], %[[TASKS0]], %[[THIS]])
// CHECK: func.call @g_k1_task(
// CHECK: } {schedule.segment = #schedule.segment<1 : i64, "g_k1", 2 : i64, array<i64: 0>>}
// CHECK-NOT: schedule.barrier
// CHECK: } {controlflow.placement = #controlflow.device<"grid">
// CHECK-NEXT: %[[AFTER:.*]] = memref.load %[[BODY]][] : memref<i32>
// CHECK: "schedule.wait"(%[[C]], %{{.*}}, %{{.*}}, %[[AFTER]])
// CHECK-NEXT: %[[FLAG:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<1xi8>
// CHECK-NEXT: %[[P:.*]] = arith.trunci %[[FLAG]]
// CHECK-NEXT: scf.if %[[P]] {
// CHECK-NEXT: memref.load %[[THEN]][] : memref<i32>
// CHECK: } {schedule.segment = #schedule.segment<2 : i64, "g_k0", 2 : i64, array<i64>>}
// CHECK: } {controlflow.placement = #controlflow.device<"grid">
// CHECK-NEXT: "schedule.barrier"(%[[SYNC]]) {scope = "grid"}
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[VEU]], %{{.*}} : index
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK: %[[LAST:.*]] = memref.load %[[BODY]][] : memref<i32>
// CHECK-NEXT: memref.store %[[LAST]], %[[C]][%{{.*}}] : memref<7xi32>
// CHECK: } {schedule.grid_sync = 3 : index, schedule.table = @g_veu_table, schedule.veus = #schedule.veus<6 : i64, 1 : i64, "sm_90">
// CHECK-LABEL: func.func @g(
// CHECK: %[[CS:.*]] = memref.alloc() {schedule.counters} : memref<7xi32>
// CHECK: call @g_rammer.func(
// CHECK-NOT: scf.for
// CHECK: return

/// Check the CPU form: the loop and the branch run once, outside any vEU loop, the vEU loop
/// pushed into them (a loop over the vEUs per segment, in place), the grid barriers gone; the
/// entry numbers once, before the program's first vEU loop, each block's +1 once where it
/// starts; the waits checks of the counters against them; vEU 0's stores in a vEU loop of
/// their own.
// CPU-LABEL: func.func private @g_rammer.func(
// CPU-NOT: schedule.barrier
// CPU: %[[BODY:.*]] = memref.alloca() : memref<i32>
// CPU-NOT: scf.parallel
// CPU: scf.for %[[I:.*]] =
// CPU-NEXT: %[[OLD:.*]] = memref.load %[[BODY]][] : memref<i32>
// CPU: memref.store %{{.*}}, %[[BODY]][] : memref<i32>
// CPU: scf.parallel (%[[V0:.*]]) =
// CPU: memref.load %{{.*}}[%{{.*}}, %[[V0]], %{{.*}}] : memref<3x6x2xi32>
// CPU: %[[N:.*]] = memref.load %[[BODY]][] : memref<i32>
// CPU: %[[PREVIOUS:.*]] = arith.subi %[[N]], %{{.*}} : i32
// CPU: arith.muli %{{.*}}, %[[PREVIOUS]] : i32
// CPU: memref.atomic_rmw maxs
// CPU: func.call @g_k0_task(%{{.*}}, %{{.*}}, %{{.*}}, %[[I]])
// CPU: memref.atomic_rmw addi
// CPU: scf.parallel (%[[V1:.*]]) =
// CPU: memref.load %{{.*}}[%{{.*}}, %[[V1]], %{{.*}}] : memref<3x6x2xi32>
// CPU: func.call @g_k1_task(
// CPU: } {controlflow.placement = #controlflow.device<"grid">
// CPU: %[[FLAG:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<1xi8>
// CPU: scf.if
// CPU: scf.parallel
// CPU: func.call @g_k0_task(
// CPU: scf.parallel (%[[V3:.*]]) =
// CPU: arith.cmpi eq, %[[V3]],
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
