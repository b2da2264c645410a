// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-rammer{arch=sm_90})' --verify-diagnostics | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-rammer{schedule=none})' | FileCheck %s --check-prefix=NONE

// Kernel functions as quartet-lower-tiles leaves them: one block loop each, recording how it
// launches and the bytes it loads and stores per argument (tile.traffic); the bodies do not
// matter to quartet-rammer.
func.func private @f_k0.func(%a: memref<256xf32>, %b: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%blk) = (%c0) to (%c4) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c64) step (%c1) {
      %i = arith.muli %blk, %c64 : index
      %j = arith.addi %i, %t : index
      %v = memref.load %a[%j] : memref<256xf32>
      memref.store %v, %b[%j] : memref<256xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"f_k0">, tile.launch = #tile.launch<array<i64: 4>, 64, 1024>,
     tile.traffic = array<i64: 1024, 0, 0, 1024>, welder.modelled_seconds = 4.0e-06 : f64}
  return
}
func.func private @f_k1.func(%a: memref<256xf32>, %b: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%blk, %blk2) = (%c0, %c0) to (%c2, %c2) step (%c1, %c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"f_k1">, tile.launch = #tile.launch<array<i64: 2, 2>, 64, 1024>,
     tile.traffic = array<i64: 1024, 0, 0, 1024>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}
func.func private @f_k2.func(%a: memref<256xf32>, %b: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%blk) = (%c0) to (%c4) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"f_k2">, tile.launch = #tile.launch<array<i64: 4>, 128, 4096>,
     tile.traffic = array<i64: 0, 0, 0, 1024>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}

/// Check that each distinct kernel becomes one task function (before the program): the block loop's iteration at
/// the delinearized task (row-major, as map-to-gpu numbers CTAs), its attributes moved onto
/// the function, kept out of line for MLIR and LLVM; the kernel functions are gone.
// CHECK-LABEL: func.func private @f_k0_task(%{{.*}}: index, %{{.*}}: memref<256xf32>, %{{.*}}: memref<256xf32>)
// CHECK-SAME: no_inline, passthrough = ["noinline"], tile.kernel = #tile.kernel<"f_k0">, tile.launch = #tile.launch<array<i64: 4>, 64 : i64, 1024 : i64>, tile.traffic = array<i64: 1024, 0, 0, 1024>, welder.modelled_seconds
// CHECK-NOT: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c4
// CHECK: scf.parallel
// CHECK-LABEL: func.func private @f_k1_task(
// CHECK-SAME: %[[TASK:[^:]*]]: index,
// CHECK: arith.remui %[[TASK]], %c2
// CHECK: arith.divui %[[TASK]], %c2

/// Check the dependencies, read from what each launch loads and stores (tile.traffic), its
/// buffers resolved through views: launch 1 reads what launch 0 wrote (RAW); launch 2
/// rewrites the temporary %t that launch 1 reads (WAR) and launch 0 wrote (WAW), so it waits
/// for launch 1 alone (launch 0 is implied: transitive reduction); launch 3 is passed %t but
/// never loads it (its traffic says so, as for an initial value computed in registers) and
/// waits for none; launch 4 reads %t as launch 2 left it. Each wait
/// expects all the tasks of its launch, scaled by the epoch loaded once per vEU.
// CHECK: memref.global "private" constant @f_veu_table : memref<5x20x2xi32>
// CHECK-LABEL: func.func private @f_rammer.func(
// CHECK-SAME: %[[X:[^:]*]]: memref<256xf32>, %[[T:[^:]*]]: memref<256xf32>, %[[T2:[^:]*]]: memref<256xf32>, %{{[^:]*}}: memref<256xf32>, %{{[^:]*}}: memref<256xf32>, %{{[^:]*}}: memref<256xf32>, %{{[^:]*}}: memref<1xi32> {tile.error_word}, %[[TABLE:[^:]*]]: memref<5x20x2xi32>, %[[COUNTERS:[^:]*]]: memref<5xi32>, %[[EPOCHS:[^:]*]]: memref<1xi32>
// CHECK: scf.parallel (%[[VEU:.*]]) = (%c0{{.*}}) to (%c20{{.*}})
// CHECK: %[[EPOCH:.*]] = memref.load %[[EPOCHS]]
// CHECK: %[[LO:.*]] = memref.load %[[TABLE]][%[[L0:.*]], %[[VEU]], %c0{{.*}}]
// CHECK: %[[HI:.*]] = memref.load %[[TABLE]][%[[L0]], %[[VEU]], %c1{{.*}}]
// CHECK: %[[SOME:.*]] = arith.cmpi slt, %[[LO]], %[[HI]] : i32
// CHECK: scf.if %[[SOME]] {
// CHECK-NOT: schedule.wait
// CHECK: scf.for %[[TASK:.*]] = %{{.*}} to %{{.*}} step
// CHECK: func.call @f_k0_task(%[[TASK]], %[[X]], %[[T]])
// CHECK: "schedule.barrier"() {scope = "cta"}
// CHECK: %[[DONE:.*]] = arith.subi %[[HI]], %[[LO]] : i32
// CHECK: "schedule.signal"(%[[COUNTERS]], %[[L0]], %[[DONE]])
// CHECK: } {schedule.segment = #schedule.segment<0 : i64, "f_k0", 4 : i64, array<i64>>}
// CHECK: scf.if
// CHECK: "schedule.wait"(%[[COUNTERS]], %c0{{.*}}, %c4_i32{{.*}}, %[[EPOCH]])
// CHECK: func.call @f_k1_task(%{{.*}}, %[[T2]],
// CHECK: } {schedule.segment = #schedule.segment<1 : i64, "f_k1", 4 : i64, array<i64: 0>>}
// CHECK: "schedule.wait"(%[[COUNTERS]], %c1{{.*}}, %c4_i32{{.*}}, %[[EPOCH]])
// CHECK-NOT: schedule.wait
// CHECK: func.call @f_k0_task
// CHECK: } {schedule.segment = #schedule.segment<2 : i64, "f_k0", 4 : i64, array<i64: 1>>}
// CHECK-NOT: schedule.wait
// CHECK: } {schedule.segment = #schedule.segment<3 : i64, "f_k2", 4 : i64, array<i64>>}
// CHECK: "schedule.wait"(%[[COUNTERS]], %c2{{.*}}, %c4_i32{{.*}}, %[[EPOCH]])
// CHECK: } {schedule.segment = #schedule.segment<4 : i64, "f_k1", 4 : i64, array<i64: 2>>}
// CHECK: } {schedule.table = @f_veu_table, schedule.veus = #schedule.veus<20 : i64, 1 : i64, "sm_90">, tile.kernel = #tile.kernel<"f_rammer">, tile.launch = #tile.launch<array<i64: 20>, 128 : i64, 4096 : i64>}

/// Check that the host makes one call: the table (a constant global), the counters and the
/// epoch buffer are its last arguments, and the host gains an error word for the CPU form's
/// wait checks.
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %{{.*}}: memref<1xi32> {tile.error_word}
// CHECK-SAME: tile.errors = [#tile.error<2147483647 : i32,
// CHECK: %[[GLOBAL:.*]] = memref.get_global @f_veu_table : memref<5x20x2xi32>
// CHECK: %[[C:.*]] = memref.alloc() {schedule.counters} : memref<5xi32>
// CHECK: %[[E:.*]] = memref.alloc() {schedule.epoch} : memref<1xi32>
// CHECK: call @f_rammer.func({{.*}}, %[[GLOBAL]], %[[C]], %[[E]])
// CHECK-NOT: call @f_k

// CHECK-NOT: func.func private @f_k{{.}}.func
// NONE-LABEL: func.func @f(
// NONE-COUNT-2: call @f_k0.func
// NONE-NOT: rammer
func.func @f(%x: memref<256xf32>, %y: memref<256xf32>, %z: memref<256xf32>, %w: memref<256xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  %t = memref.alloc() : memref<16x16xf32>
  %flat = memref.collapse_shape %t [[0, 1]] : memref<16x16xf32> into memref<256xf32>
  call @f_k0.func(%x, %flat) : (memref<256xf32>, memref<256xf32>) -> ()
  %flat2 = memref.collapse_shape %t [[0, 1]] : memref<16x16xf32> into memref<256xf32>
  call @f_k1.func(%flat2, %y) : (memref<256xf32>, memref<256xf32>) -> ()
  call @f_k0.func(%x, %flat) : (memref<256xf32>, memref<256xf32>) -> ()
  call @f_k2.func(%flat, %w) : (memref<256xf32>, memref<256xf32>) -> ()
  call @f_k1.func(%flat, %z) : (memref<256xf32>, memref<256xf32>) -> ()
  return
}

// -----

func.func private @g_k0.func(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"g_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>,
     tile.traffic = array<i64: 256, 0, 0, 256>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}

/// Check that a host copy between launches becomes a copy kernel's launch (its task function
/// beside the kernels' ones), and the five launches one vEU program with one table.
// CHECK-LABEL: func.func private @g_copy0_task(
// CHECK-SAME: tile.kernel = #tile.kernel<"g_copy0">
// CHECK-LABEL: func.func private @g_rammer.func(
// CHECK-COUNT-2: func.call @g_k0_task(
// CHECK: func.call @g_copy0_task(%{{.*}}, %arg2, %arg0)
// CHECK-COUNT-2: func.call @g_k0_task(
// CHECK-LABEL: func.func @g(
// CHECK: memref.get_global @g_veu_table : memref<5x5x2xi32>
// CHECK-NOT: memref.copy
// CHECK: call @g_rammer.func(
// CHECK-NOT: call @g_
func.func @g(%x: memref<64xf32>, %y: memref<64xf32>, %z: memref<64xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  call @g_k0.func(%x, %y) : (memref<64xf32>, memref<64xf32>) -> ()
  call @g_k0.func(%y, %z) : (memref<64xf32>, memref<64xf32>) -> ()
  memref.copy %z, %x : memref<64xf32> to memref<64xf32>
  call @g_k0.func(%x, %y) : (memref<64xf32>, memref<64xf32>) -> ()
  call @g_k0.func(%y, %z) : (memref<64xf32>, memref<64xf32>) -> ()
  return
}

/// Check that a run of one launch stays a launch, and so does a host with control flow
/// (Grinder's, not yet built).
// CHECK-LABEL: func.func @single(
// CHECK-NEXT: call @g_k0.func
// CHECK-LABEL: func.func @looped(
// CHECK: scf.for
// CHECK-NEXT: call @g_k0.func
// CHECK-NEXT: call @g_k0.func
func.func @single(%x: memref<64xf32>, %y: memref<64xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  call @g_k0.func(%x, %y) : (memref<64xf32>, memref<64xf32>) -> ()
  return
}
func.func @looped(%x: memref<64xf32>, %y: memref<64xf32>, %n: index) attributes {welder.launch_seconds = 0.0 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    func.call @g_k0.func(%x, %y) : (memref<64xf32>, memref<64xf32>) -> ()
    func.call @g_k0.func(%y, %x) : (memref<64xf32>, memref<64xf32>) -> ()
  }
  return
}

// -----

func.func private @h_k0.func(%a: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @below {{quartet-rammer: a kernel's block loop needs its tile.traffic (run quartet-welder, then quartet-lower-tiles)}}
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"h_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>}
  return
}

/// Check that a kernel whose traffic is unknown is refused: rammer could not tell what it
/// waits for.
func.func @h(%x: memref<64xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  call @h_k0.func(%x) : (memref<64xf32>) -> ()
  call @h_k0.func(%x) : (memref<64xf32>) -> ()
  return
}

// -----

/// Check that a launch whose block no vEU can be (more shared memory than a block may have)
/// stays a launch, says why, and splits the run around it.
// CHECK-LABEL: func.func @big(
// CHECK: call @big_rammer.func(
// CHECK: call @big_k1.func(%{{.*}}) {schedule.kept = "a vEU needs 300000 B of shared memory, more than a block of sm_90 can have (232448 B)"}
// CHECK: call @big_rammer_1.func(
func.func private @big_k0.func(%a: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"big_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 1024>,
     tile.traffic = array<i64: 256, 256>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}
func.func private @big_k1.func(%a: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"big_k1">, tile.launch = #tile.launch<array<i64: 1>, 32, 300000>,
     tile.traffic = array<i64: 256, 256>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}
func.func @big(%x: memref<64xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  call @big_k0.func(%x) : (memref<64xf32>) -> ()
  call @big_k0.func(%x) : (memref<64xf32>) -> ()
  call @big_k1.func(%x) : (memref<64xf32>) -> ()
  call @big_k0.func(%x) : (memref<64xf32>) -> ()
  call @big_k0.func(%x) : (memref<64xf32>) -> ()
  return
}
