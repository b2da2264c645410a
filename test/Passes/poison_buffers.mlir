// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-poison-buffers)' --verify-diagnostics | FileCheck %s

/// Check that a float buffer is filled with the all-ones NaN by one loop per dimension, right
/// where it is allocated, and that the rest of the function is unchanged.
// CHECK-LABEL: func.func @floats
// CHECK: %[[BUF:.*]] = memref.alloc() : memref<4x8xf32>
// CHECK: %[[BITS:.*]] = arith.constant -1 : i32
// CHECK: %[[NAN:.*]] = arith.bitcast %[[BITS]] : i32 to f32
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step
// CHECK: memref.store %[[NAN]], %[[BUF]][%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK: call @use(%[[BUF]])
func.func private @use(memref<4x8xf32>)
func.func @floats() {
  %t = memref.alloc() : memref<4x8xf32>
  call @use(%t) : (memref<4x8xf32>) -> ()
  memref.dealloc %t : memref<4x8xf32>
  return
}

// -----

/// Check that integer, bf16 and rank-0 buffers get all bits set too, and that a dynamic extent
/// is read with memref.dim.
// CHECK-LABEL: func.func @others
// CHECK: %[[INTS:.*]] = memref.alloc(%{{.*}}) : memref<?xi64>
// CHECK: %[[MINUS:.*]] = arith.constant -1 : i64
// CHECK: %[[N:.*]] = memref.dim %[[INTS]], %{{.*}} : memref<?xi64>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[N]] step
// CHECK: memref.store %[[MINUS]], %[[INTS]][%[[I]]] : memref<?xi64>
// CHECK: %[[HALF:.*]] = memref.alloc() : memref<bf16>
// CHECK: %[[BITS:.*]] = arith.constant -1 : i16
// CHECK: %[[NAN:.*]] = arith.bitcast %[[BITS]] : i16 to bf16
// CHECK: memref.store %[[NAN]], %[[HALF]][] : memref<bf16>
// CHECK-NOT: scf.for
// CHECK: return
func.func @others(%n: index) {
  %i = memref.alloc(%n) : memref<?xi64>
  %h = memref.alloc() : memref<bf16>
  return
}

// -----

/// Check that stack buffers (shared and per-thread memory on the GPU) are left alone.
// CHECK-LABEL: func.func @stack
// CHECK-NOT: memref.store
func.func @stack() {
  %s = memref.alloca() : memref<16xf32>
  return
}

// -----

/// Check that a buffer of an element with no poison value is refused at the allocation.
func.func @vectors() {
  // expected-error @+1 {{quartet-poison-buffers: cannot poison a buffer of vector<4xf32>}}
  %v = memref.alloc() : memref<2xvector<4xf32>>
  return
}
