// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90})' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90 scope=grid})' | FileCheck %s --check-prefix=GRID
// RUN: not quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-grinder{scope=warp})' 2>&1 | FileCheck %s --check-prefix=SCOPE

/// Check that a scope other than auto, grid or cta is refused, naming the option.
// SCOPE: error: quartet-grinder: option 'scope' must be one of auto, grid, cta, got 'warp'

// A kernel writing %out from %in (one block of 32 threads), as quartet-lower-tiles leaves it.
func.func private @f_k0.func(%in: memref<8xf32>, %out: memref<8xf32>, %i: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"f_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>, tile.traffic = array<i64: 32, 0, 0, 32, 0, 0>, welder.modelled_seconds = 2.0e-06 : f64}
  return
}

/// Check that a loop whose body launches kernels, allocates and copies into a row goes on the
/// device: one CTA by the cost model (a task per launch: cheaper than with handoffs), the
/// grid where that is forced; its modelled costs (the device cheaper than the host: no launch,
/// no read-back), the allocation hoisted before it, the copy a launch of a copy kernel taking
/// the row's buffer and offsets (no view: the kernel ABI passes bare pointers).
// CHECK: func.func private @static_loop_copy0.func(%{{.*}}: memref<8xf32>, %{{.*}}: memref<4x8xf32>, %{{.*}}: index, %{{.*}}: index)
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: tile.kernel = #tile.kernel<"static_loop_copy0">, tile.launch = #tile.launch<array<i64: 1>, 128 : i64, 0 : i64>, tile.traffic = array<i64: 32, 0, 0, 32, 0, 0, 0, 0>
// CHECK-LABEL: func.func @static_loop
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<8xf32>
// CHECK: scf.for %[[I:.*]] =
// CHECK-NEXT: func.call @f_k0.func(%{{.*}}, %[[TMP]], %[[I]])
// CHECK-NOT: memref.copy
// CHECK: func.call @static_loop_copy0.func(%[[TMP]], %{{.*}}, %[[I]], %{{.*}}) : (memref<8xf32>, memref<4x8xf32>, index, index) -> ()
// CHECK: } {controlflow.placement = #controlflow.device<"cta">, grinder.modelled = {cta_seconds = {{.*}} : f64, device_seconds = {{.*}} : f64, host_seconds = {{.*}} : f64}}
// GRID-LABEL: func.func @static_loop
// GRID: } {controlflow.placement = #controlflow.device<"grid">, grinder.modelled =
func.func @static_loop(%x: memref<8xf32>, %rows: memref<4x8xf32>) attributes {welder.launch_seconds = 1.9e-07 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %tmp = memref.alloc() : memref<8xf32>
    func.call @f_k0.func(%x, %tmp, %i) : (memref<8xf32>, memref<8xf32>, index) -> ()
    %row = memref.subview %rows[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    memref.copy %tmp, %row : memref<8xf32> to memref<8xf32, strided<[1], offset: ?>>
  }
  return
}

// -----

func.func private @f_k0.func(%in: memref<8xf32>, %out: memref<8xf32>, %i: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"f_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>, tile.traffic = array<i64: 32, 0, 0, 32, 0, 0>, welder.modelled_seconds = 2.0e-06 : f64}
  return
}
func.func private @helper(%x: memref<8xf32>)

/// Check that a branch on a predicate the device wrote goes on the device (the grid: its one
/// launch waits for nothing, so one CTA would save no handoff and adds a CTA barrier).
// CHECK-LABEL: func.func @branch
// CHECK: scf.if
// CHECK: } {controlflow.placement = #controlflow.device<"grid">, grinder.modelled =
func.func @branch(%x: memref<8xf32>, %y: memref<8xf32>, %flag: memref<1xi8>) attributes {welder.launch_seconds = 1.9e-07 : f64} {
  %c0 = arith.constant 0 : index
  %byte = memref.load %flag[%c0] : memref<1xi8>
  %p = arith.trunci %byte : i8 to i1
  scf.if %p {
    func.call @f_k0.func(%x, %y, %c0) : (memref<8xf32>, memref<8xf32>, index) -> ()
  }
  return
}

/// Check that a loop calling a function that is no kernel stays on the host, the reason
/// naming the call, and takes the host's branch with it (one vEU program holds a whole host
/// function: a host loop beside it would split it).
// CHECK-LABEL: func.func @mixed
// CHECK: scf.if
// CHECK: } {controlflow.host_reason = "the host function also runs the scf.for at {{.*}} on the host, which would split its vEU program", grinder.modelled =
// CHECK: scf.for
// CHECK: func.call @helper
// CHECK: } {controlflow.host_reason = "it calls 'func.call' at {{.*}}, which is not a kernel", grinder.modelled =
func.func @mixed(%x: memref<8xf32>, %y: memref<8xf32>, %flag: memref<1xi8>) attributes {welder.launch_seconds = 1.9e-07 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %byte = memref.load %flag[%c0] : memref<1xi8>
  %p = arith.trunci %byte : i8 to i1
  scf.if %p {
    func.call @f_k0.func(%x, %y, %c0) : (memref<8xf32>, memref<8xf32>, index) -> ()
  }
  scf.for %i = %c0 to %c4 step %c1 {
    func.call @helper(%x) : (memref<8xf32>) -> ()
  }
  return
}

// -----

/// Check that a loop carrying a buffer from one iteration to the next stays on the host (the
/// host would swap the buffers), and that the host-loop form's reason is kept.
// CHECK-LABEL: func.func @carried
// CHECK: scf.for
// CHECK: } {controlflow.host_reason = "it carries a buffer (memref<8xf32>) from one iteration to the next, which the host would swap", grinder.modelled =
// CHECK: scf.for
// CHECK: } {controlflow.host_reason = "asked for", grinder.modelled =
func.func @carried(%x: memref<8xf32>, %y: memref<8xf32>) -> memref<8xf32> attributes {welder.launch_seconds = 1.9e-07 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %x) -> (memref<8xf32>) {
    scf.yield %y : memref<8xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
  } {controlflow.host_reason = "asked for"}
  return %r : memref<8xf32>
}

// -----

// A kernel of 264 blocks (two waves of 132 SMs), modelled at 20 us, launch charge included.
func.func private @wide.func(%in: memref<8xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c264 = arith.constant 264 : index
  scf.parallel (%b) = (%c0) to (%c264) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"wide">, tile.launch = #tile.launch<array<i64: 264>, 128, 0>, tile.traffic = array<i64: 32, 0, 0, 32>, welder.modelled_seconds = 2.0e-05 : f64}
  return
}
func.func private @narrow.func(%in: memref<8xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"narrow">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>, tile.traffic = array<i64: 32, 0, 0, 32>, welder.modelled_seconds = 2.0e-06 : f64}
  return
}

/// Check the cost model's two sides: a loop of a 264-task kernel stays on the grid (on one
/// CTA its 264 tasks take 132 times its two rounds: cta_seconds = 264 x 10 us = 2.64 ms,
/// against 20 us and a handoff); a loop of a one-task kernel goes on one CTA.
// CHECK-LABEL: func.func @by_cost
// CHECK: func.call @wide.func
// CHECK: } {controlflow.placement = #controlflow.device<"grid">, grinder.modelled = {cta_seconds = 0.00264{{[0-9]*}} : f64, device_seconds = 2.0{{[0-9]*}}E-5 : f64
// CHECK: func.call @narrow.func
// CHECK: } {controlflow.placement = #controlflow.device<"cta">
func.func @by_cost(%x: memref<8xf32>, %y: memref<8xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    func.call @wide.func(%x, %y) : (memref<8xf32>, memref<8xf32>) -> ()
  }
  scf.for %i = %c0 to %c4 step %c1 {
    func.call @narrow.func(%y, %x) : (memref<8xf32>, memref<8xf32>) -> ()
  }
  return
}

// A kernel of 2 blocks (one round on 132 SMs) modelled at 0.3 us: its loop alone is cheaper
// on the grid (0.3 us + a handoff of 0.19 us: each run waits for the last) than on one CTA
// (2 x 0.3 us + 2 CTA barriers).
func.func private @pair.func(%in: memref<8xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"pair">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>, tile.traffic = array<i64: 32, 0, 0, 32>, welder.modelled_seconds = 3.0e-07 : f64}
  return
}

/// Check that a construct nested in one on one CTA runs on that CTA too, though the grid was
/// cheaper for it alone (the outer loop's three one-task launches save more handoffs than
/// the inner loop loses; the same CTA runs everything inside its owner's construct).
// CHECK-LABEL: func.func @nested
// CHECK: func.call @pair.func
// CHECK: } {controlflow.placement = #controlflow.device<"cta">, grinder.modelled = {cta_seconds = 6.20{{[0-9]*}}E-7 : f64, device_seconds = 4.94{{[0-9]*}}E-7 : f64
// CHECK: } {controlflow.placement = #controlflow.device<"cta">
// GRID-LABEL: func.func @nested
// GRID: } {controlflow.placement = #controlflow.device<"grid">
// GRID: } {controlflow.placement = #controlflow.device<"grid">
func.func @nested(%x: memref<8xf32>, %y: memref<8xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      func.call @pair.func(%x, %y) : (memref<8xf32>, memref<8xf32>) -> ()
    }
    func.call @narrow.func(%y, %x) : (memref<8xf32>, memref<8xf32>) -> ()
    func.call @narrow.func(%x, %y) : (memref<8xf32>, memref<8xf32>) -> ()
    func.call @narrow.func(%y, %x) : (memref<8xf32>, memref<8xf32>) -> ()
  }
  return
}

/// Check that a loop whose result is used after it stays on the grid, though one CTA is
/// cheaper: only the owner would hold the result.
// CHECK-LABEL: func.func @result_used
// CHECK: } {controlflow.placement = #controlflow.device<"grid">, grinder.modelled = {cta_seconds = 2.01{{[0-9]*}}E-6 : f64, device_seconds = 2.19{{[0-9]*}}E-6 : f64
func.func @result_used(%x: memref<8xf32>, %y: memref<8xf32>) -> index attributes {welder.launch_seconds = 0.0 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %c0) -> (index) {
    func.call @narrow.func(%y, %x) : (memref<8xf32>, memref<8xf32>) -> ()
    %n = arith.addi %a, %c1 : index
    scf.yield %n : index
  }
  return %r : index
}
