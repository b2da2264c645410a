// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-grinder{arch=sm_90})' | FileCheck %s

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
/// grid: its placement and modelled costs (device cheaper than the host: no launch, no
/// read-back), the allocation hoisted before it, the copy a launch of a copy kernel taking
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
// CHECK: } {controlflow.placement = #controlflow.device<"grid">, grinder.modelled = {device_seconds = {{.*}} : f64, host_seconds = {{.*}} : f64}}
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

/// Check that a branch on a predicate the device wrote goes on the grid.
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
