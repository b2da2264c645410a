// RUN: quartet-opt %s --pass-pipeline='builtin.module(quartet-readonly-arguments)' | FileCheck %s
// RUN: quartet-opt %s --pass-pipeline='builtin.module(quartet-readonly-arguments,one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map})' | FileCheck %s --check-prefix=BUF

#id = affine_map<(d0) -> (d0)>

/// Check that every tensor argument is marked not writable, existing argument attributes are
/// kept, and non-tensor arguments are left alone; bufferization then computes into a new
/// buffer instead of the caller's.
// CHECK-LABEL: func.func @double
// CHECK-SAME: (%{{.*}}: tensor<8xf32> {bufferization.writable = false, quartet.weight = "w"}, %{{.*}}: f32)
// BUF-LABEL: func.func @double
// BUF: %[[NEW:.*]] = memref.alloc()
// BUF: memref.copy %arg0, %[[NEW]]
// BUF: linalg.generic {{.*}} outs(%[[NEW]] : memref<8xf32>)
func.func @double(%x: tensor<8xf32> {quartet.weight = "w"}, %s: f32) -> tensor<8xf32> {
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%x : tensor<8xf32>) {
  ^bb0(%v: f32):
    %d = arith.mulf %v, %s : f32
    linalg.yield %d : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
