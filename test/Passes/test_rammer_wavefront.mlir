// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(test-rammer-wavefront{arch=sm_90 sms=4 per-sm=1})' --verify-diagnostics | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(test-rammer-wavefront{arch=sm_90 sms=2 per-sm=2})' --verify-diagnostics | FileCheck %s --check-prefix=SHARED

// Loop-level IR as quartet-lower-tiles leaves it, by hand: block loops with their grid, threads
// and shared bytes (tile.launch), their traffic per
// argument ([loaded, stored] bytes) and Welder's modelled time, which includes the 3 us launch
// charge the host function records. sm_90: a handoff between launches is 0.19 us.

/// Check a diamond read through a view: k1 reads %t through an expand_shape, k2 reads it
/// directly, k3 waits for both (and not for k0, implied). k0's 6 tasks take 3 us each (9 us
/// less the 3 us charge, over 2 rounds of the 4 vEUs); the two branches share the next wave
/// (each on 2 vEUs, the two that k0 kept busy longest first), the join waits for both. The
/// sequence: 6 + 2 + 2 + 1 us of work and 4 launches of 3 us; waits: 2 + 2 + 2 vEUs x 1.
// CHECK-LABEL: func.func @diamond
// CHECK-SAME: rammer.launches = ["0 k0: 6 tasks x 3.00 us", "1 k1: 2 tasks x 2.00 us after 0", "2 k2: 2 tasks x 2.00 us after 0", "3 k3: 1 task x 1.00 us after 1 2"]
// CHECK-SAME: rammer.summary = "4 vEUs, 4 launches, 11 tasks, 4 dependencies, 6 waits; makespan 9.39 us against 23.00 us per kernel (0.41x); utilisation 0.72"
// CHECK-SAME: rammer.table = ["veu 0: 0 [0, 2) 0.00-6.00 us, 1 [0, 1) 6.19-8.19 us, 3 [0, 1) 8.39-9.39 us", "veu 1: 0 [2, 4) 0.00-6.00 us, 1 [1, 2) 6.19-8.19 us", "veu 2: 0 [4, 5) 0.00-3.00 us, 2 [0, 1) 6.19-8.19 us", "veu 3: 0 [5, 6) 0.00-3.00 us, 2 [1, 2) 6.19-8.19 us"]
// CHECK-SAME: rammer.waves = ["0: appended", "1 2: appended", "3: appended"]

/// Check the same diamond on 2 SMs of 2 vEUs: a task's time is its kernel's with the SM to
/// itself (k0: 6 us over 3 rounds of the 2 SMs), an SM runs its tasks one after another and
/// deals them to its vEUs in turn (vEU v on SM v % 2), so the branches, each using both SMs,
/// no longer run side by side.
// SHARED-LABEL: func.func @diamond
// SHARED-SAME: rammer.launches = ["0 k0: 6 tasks x 2.00 us",
// SHARED-SAME: rammer.summary = "4 vEUs, 4 launches, 11 tasks, 4 dependencies, 6 waits; makespan 11.39 us against 23.00 us per kernel (0.50x); utilisation 0.92"
// SHARED-SAME: rammer.table = ["veu 0: 0 [0, 2) 0.00-6.00 us, 2 [0, 1) 8.19-10.19 us", "veu 1: 0 [2, 4) 0.00-6.00 us, 2 [1, 2) 8.19-10.19 us", "veu 2: 0 [4, 5) 0.00-6.00 us, 1 [0, 1) 6.19-8.19 us, 3 [0, 1) 10.39-11.39 us", "veu 3: 0 [5, 6) 0.00-6.00 us, 1 [1, 2) 6.19-8.19 us"]
func.func private @k0.func(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c2, %c3) step (%c1, %c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k0">, tile.launch = #tile.launch<array<i64: 2, 3>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 9.0e-06 : f64}
  return
}
func.func private @k1.func(%in: memref<4x4xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k1">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
func.func private @k2.func(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k2">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
func.func private @k3.func(%a: memref<16xf32>, %b: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k3">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>, tile.traffic = array<i64: 64, 0, 64, 0, 0, 64>, welder.modelled_seconds = 4.0e-06 : f64}
  return
}
func.func @diamond(%x: memref<16xf32>, %y: memref<16xf32>) attributes {welder.launch_seconds = 3.0e-06 : f64} {
  %t = memref.alloc() : memref<16xf32>
  %u = memref.alloc() : memref<16xf32>
  %v = memref.alloc() : memref<16xf32>
  func.call @k0.func(%x, %t) : (memref<16xf32>, memref<16xf32>) -> ()
  %view = memref.expand_shape %t [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  func.call @k1.func(%view, %u) : (memref<4x4xf32>, memref<16xf32>) -> ()
  func.call @k2.func(%t, %v) : (memref<16xf32>, memref<16xf32>) -> ()
  func.call @k3.func(%u, %v, %y) : (memref<16xf32>, memref<16xf32>, memref<16xf32>) -> ()
  return
}

// -----

/// Check that a temporary reused by a later kernel orders it after the earlier kernel's
/// reader (write after read) and writer (write after write, implied by the reader), and that
/// an independent kernel (k2, on %z) runs beside them, on the vEUs the others leave idle.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: rammer.launches = ["0 k0: 2 tasks x 2.00 us", "1 k1: 2 tasks x 2.00 us after 0", "2 k2: 2 tasks x 2.00 us", "3 k0: 2 tasks x 2.00 us after 1", "4 k1: 2 tasks x 2.00 us after 3"]
// CHECK-SAME: rammer.summary = "4 vEUs, 5 launches, 10 tasks, 3 dependencies, 6 waits; makespan 8.58 us against 25.00 us per kernel (0.34x); utilisation 0.58"
// CHECK-SAME: rammer.table = ["veu 0: 0 [0, 1) 0.00-2.00 us, 1 [0, 1) 2.19-4.19 us, 3 [0, 1) 4.39-6.39 us, 4 [0, 1) 6.58-8.58 us", "veu 1: 0 [1, 2) 0.00-2.00 us, 1 [1, 2) 2.19-4.19 us, 3 [1, 2) 4.39-6.39 us, 4 [1, 2) 6.58-8.58 us", "veu 2: 2 [0, 1) 0.00-2.00 us", "veu 3: 2 [1, 2) 0.00-2.00 us"]
// CHECK-SAME: rammer.waves = ["0: appended", "1 2: appended", "3: appended", "4: appended"]
func.func private @k0.func(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k0">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
func.func private @k1.func(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k1">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
func.func private @k2.func(%inout: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c0) to (%c2) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k2">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>, tile.traffic = array<i64: 64, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
func.func @reuse(%x: memref<16xf32>, %y: memref<16xf32>, %z: memref<16xf32>, %w: memref<16xf32>) attributes {welder.launch_seconds = 3.0e-06 : f64} {
  %t = memref.alloc() : memref<16xf32>
  func.call @k0.func(%x, %t) : (memref<16xf32>, memref<16xf32>) -> ()
  func.call @k1.func(%t, %y) : (memref<16xf32>, memref<16xf32>) -> ()
  func.call @k2.func(%z) : (memref<16xf32>) -> ()
  func.call @k0.func(%y, %t) : (memref<16xf32>, memref<16xf32>) -> ()
  func.call @k1.func(%t, %w) : (memref<16xf32>, memref<16xf32>) -> ()
  return
}

// -----

/// Check that a host op the vEU program cannot hold between launches is reported.
func.func private @k0.func(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
func.func @copy(%x: memref<16xf32>, %y: memref<16xf32>) attributes {welder.launch_seconds = 3.0e-06 : f64} {
  %t = memref.alloc() : memref<16xf32>
  func.call @k0.func(%x, %t) : (memref<16xf32>, memref<16xf32>) -> ()
  // expected-error @+1 {{test-rammer-wavefront: 'memref.copy' between launches: only calls of kernels are placed}}
  memref.copy %t, %y : memref<16xf32> to memref<16xf32>
  return
}

// -----

/// Check that a host function without Welder's launch charge is reported (its modelled
/// times cannot be split into task times).
func.func private @k0.func(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>, tile.traffic = array<i64: 64, 0, 0, 64>, welder.modelled_seconds = 5.0e-06 : f64}
  return
}
// expected-error @+1 {{test-rammer-wavefront: the host function has no 'welder.launch_seconds' (quartet-welder's)}}
func.func @uncharged(%x: memref<16xf32>, %y: memref<16xf32>) {
  func.call @k0.func(%x, %y) : (memref<16xf32>, memref<16xf32>) -> ()
  return
}
