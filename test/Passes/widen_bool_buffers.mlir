// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-widen-bool-buffers)' --verify-diagnostics | FileCheck %s

/// Check that an i1 buffer becomes an i8 buffer everywhere it appears (argument, allocation,
/// function type), that a store extends the i1 value to a byte and a load truncates it back.
// CHECK-LABEL: func.func @flags
// CHECK-SAME: (%[[ARG:.*]]: memref<4xi8>, %[[FLAG:.*]]: i1) -> i1
// CHECK: %[[BUF:.*]] = memref.alloc() : memref<4xi8>
// CHECK: %[[BYTE:.*]] = arith.extui %[[FLAG]] : i1 to i8
// CHECK: memref.store %[[BYTE]], %[[BUF]][%{{.*}}] : memref<4xi8>
// CHECK: memref.copy %[[BUF]], %[[ARG]] : memref<4xi8> to memref<4xi8>
// CHECK: %[[LOADED:.*]] = memref.load %[[ARG]][%{{.*}}] : memref<4xi8>
// CHECK: %[[BIT:.*]] = arith.trunci %[[LOADED]] : i8 to i1
// CHECK: return %[[BIT]] : i1
func.func @flags(%out: memref<4xi1>, %flag: i1) -> i1 {
  %c0 = arith.constant 0 : index
  %buf = memref.alloc() : memref<4xi1>
  memref.store %flag, %buf[%c0] : memref<4xi1>
  memref.copy %buf, %out : memref<4xi1> to memref<4xi1>
  memref.dealloc %buf : memref<4xi1>
  %v = memref.load %out[%c0] : memref<4xi1>
  return %v : i1
}

// -----

/// Check that a dynamic-size buffer passed to a callee (what buffer-deallocation-pipeline
/// builds for ownership flags) is widened in the call, the callee's signature and its body.
// CHECK-LABEL: func.func private @helper
// CHECK-SAME: (%{{.*}}: memref<?xi8>)
// CHECK: memref.store %{{.*}} : memref<?xi8>
// CHECK-LABEL: func.func @caller
// CHECK: %[[CAST:.*]] = memref.cast %{{.*}} : memref<2xi8> to memref<?xi8>
// CHECK: call @helper(%[[CAST]]) : (memref<?xi8>) -> ()
func.func private @helper(%flags: memref<?xi1>) {
  %c0 = arith.constant 0 : index
  %true = arith.constant true
  memref.store %true, %flags[%c0] : memref<?xi1>
  return
}
func.func @caller() {
  %flags = memref.alloca() : memref<2xi1>
  %cast = memref.cast %flags : memref<2xi1> to memref<?xi1>
  call @helper(%cast) : (memref<?xi1>) -> ()
  return
}

// -----

/// Check that a constant global of i1 becomes a global of bytes with the same values, and
/// that a vector load of it is truncated as a vector.
// CHECK: memref.global "private" constant @mask : memref<4xi8> = dense<[1, 0, 0, 1]>
// CHECK-LABEL: func.func @read_mask
// CHECK: %[[G:.*]] = memref.get_global @mask : memref<4xi8>
// CHECK: %[[V:.*]] = vector.load %[[G]][%{{.*}}] : memref<4xi8>, vector<4xi8>
// CHECK: arith.trunci %[[V]] : vector<4xi8> to vector<4xi1>
memref.global "private" constant @mask : memref<4xi1> = dense<[true, false, false, true]>
func.func @read_mask() -> vector<4xi1> {
  %c0 = arith.constant 0 : index
  %g = memref.get_global @mask : memref<4xi1>
  %v = vector.load %g[%c0] : memref<4xi1>, vector<4xi1>
  return %v : vector<4xi1>
}

// -----

/// Check that an element access the pass does not rewrite is reported, not left to abort
/// the LLVM lowering.
func.func @atomic(%flags: memref<4xi1>, %v: i1) {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{quartet-widen-bool-buffers: 'memref.atomic_rmw' on a buffer of i1 is not supported}}
  %old = memref.atomic_rmw ori %v, %flags[%c0] : (i1, memref<4xi1>) -> i1
  return
}
