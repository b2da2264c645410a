// RUN: quartet-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(quartet-outline-kernels)' | FileCheck %s

#id = affine_map<(d0) -> (d0)>
#prog = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>, #tile.rtile<"reg", array<i64: 1>>], array<i64: 0>>

/// Check that two identical operators on different buffers share one kernel function, called
/// twice, and that a different operator gets a kernel of its own, named in order of first use.
// CHECK-LABEL: func.func @f(
// CHECK: call @f_k0.func(%arg0, %arg1) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NEXT: call @f_k0.func(%arg1, %arg2) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NEXT: call @f_k1.func(%arg2, %arg3) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-LABEL: func.func private @f_k0.func(%arg0: memref<8xf32>, %arg1: memref<8xf32>)
// CHECK: linalg.generic {{.*}} ins(%arg0 : memref<8xf32>) outs(%arg1 : memref<8xf32>)
// CHECK-SAME: tile.kernel = #tile.kernel<"f_k0">
// CHECK: arith.maximumf
// CHECK-LABEL: func.func private @f_k1.func
// CHECK: linalg.generic
// CHECK-SAME: tile.kernel = #tile.kernel<"f_k1">
// CHECK: arith.negf
// CHECK-NOT: func.func private @f_k2
func.func @f(%x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>, %w: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%x : memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%y : memref<8xf32>) outs(%z : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%z : memref<8xf32>) outs(%w : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.negf %v : f32
    linalg.yield %m : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
#prog = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>, #tile.rtile<"reg", array<i64: 1>>], array<i64: 0, 0>>
#prog1 = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>, #tile.rtile<"reg", array<i64: 1>>], array<i64: 0>>

/// Check that constants an operator uses are cloned into its kernel (so they are part of what
/// makes kernels identical: 2.0 and 3.0 give two kernels), that an outer buffer its body reads
/// becomes an argument after the operands, and that an operator reading and writing one buffer
/// takes it once.
// CHECK-LABEL: func.func @g(
// CHECK: call @g_k0.func(%arg0, %arg1, %arg2)
// CHECK: call @g_k1.func(%arg0, %arg1, %arg2)
// CHECK: call @g_k2.func(%arg1)
// CHECK-LABEL: func.func private @g_k0.func(%arg0: memref<8xf32>, %arg1: memref<8xf32>, %arg2: memref<4xf32>)
// CHECK: %[[TWO:.*]] = arith.constant 2.0
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[TWO]] : memref<8xf32>, f32) outs(%arg1 : memref<8xf32>)
// CHECK: memref.load %arg2
// CHECK-LABEL: func.func private @g_k1.func
// CHECK: arith.constant 3.0
// CHECK-LABEL: func.func private @g_k2.func(%arg0: memref<8xf32>)
// CHECK: ins(%arg0 : memref<8xf32>) outs(%arg0 : memref<8xf32>)
func.func @g(%x: memref<8xf32>, %y: memref<8xf32>, %table: memref<4xf32>) {
  %two = arith.constant 2.0 : f32
  %three = arith.constant 3.0 : f32
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [#id, affine_map<(d0) -> ()>, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%x, %two : memref<8xf32>, f32) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %t = memref.load %table[%c0] : memref<4xf32>
    %m = arith.mulf %v, %s : f32
    %a = arith.addf %m, %t : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#id, affine_map<(d0) -> ()>, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%x, %three : memref<8xf32>, f32) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %t = memref.load %table[%c0] : memref<4xf32>
    %m = arith.mulf %v, %s : f32
    %a = arith.addf %m, %t : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog1}
      ins(%y : memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.negf %v : f32
    linalg.yield %m : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
#prog = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>, #tile.rtile<"reg", array<i64: 1>>], array<i64>>

/// Check that an operator on tensors is refused: kernels take buffers.
func.func @on_tensors(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{quartet-outline-kernels: expected buffer semantics (run one-shot-bufferize first)}}
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"], tile.program = #prog}
      outs(%x : tensor<8xf32>) {
  ^bb0(%o: f32):
    %m = arith.negf %o : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#prog = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>, #tile.rtile<"reg", array<i64: 1>>], array<i64: 0>>

/// Check that each call names the ONNX nodes (name locations) of its own operators, though two
/// identical operators share one kernel, and that an operator without a name gives no names.
// CHECK-LABEL: func.func @named(
// CHECK: call @named_k0.func(%arg0, %arg1) {tile.names = ["relu_a"]}
// CHECK-NEXT: call @named_k0.func(%arg1, %arg2) {tile.names = ["relu_b"]}
// CHECK-NEXT: call @named_k0.func(%arg2, %arg3) : (
func.func @named(%x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>, %w: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%x : memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } loc("relu_a")
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%y : memref<8xf32>) outs(%z : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } loc("relu_b")
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"], tile.program = #prog}
      ins(%z : memref<8xf32>) outs(%w : memref<8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  }
  return
}
