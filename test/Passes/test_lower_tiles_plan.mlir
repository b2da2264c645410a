// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller{arch=sm_90},quartet-welder{arch=sm_90},test-lower-tiles-plan)' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// Check the plan of a matmul with its fill and a bias + ReLU: the fill is inline (it is the
/// accumulator's initial value), the matmul the one phase, the bias + ReLU its epilogue
/// (anchor: member 1), and only the epilogue's result goes to global memory.
// CHECK-LABEL: func.func @matmul_bias_relu
// CHECK: linalg.generic
// CHECK-SAME: plan.role = "inline"
// CHECK-SAME: plan.writes = "none"
// CHECK: linalg.generic
// CHECK-SAME: plan.origin = ["t0", "t1"]
// CHECK-SAME: plan.role = "phase"
// CHECK-SAME: plan.writes = "none"
// CHECK: linalg.generic
// CHECK-SAME: plan.anchor = 1
// CHECK-SAME: plan.grid = array<i64: 16, 4>
// CHECK-SAME: plan.origin = ["t0", "t1"]
// CHECK-SAME: plan.phases = array<i64: 1>
// CHECK-SAME: plan.role = "epilogue"
// CHECK-SAME: plan.writes = "global"
func.func @matmul_bias_relu(%a: tensor<64x256xf32>, %b: tensor<256x128xf32>, %bias: tensor<128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %mm = linalg.matmul ins(%a, %b : tensor<64x256xf32>, tensor<256x128xf32>) outs(%init : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %bias : tensor<64x128xf32>, tensor<128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%x: f32, %c: f32, %o: f32):
    %s = arith.addf %x, %c : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// -----

#nchw = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

/// Check the plan of ReLU -> padding -> 3x3 convolution: the ReLU and the padding are inline
/// (evaluated in the convolution's staging, the ReLU at each clamped position the padding
/// reads); the ReLU's region starts one row before the tile (the padding's halo), so its rows
/// are padded; the tile spans the width whole (origin 0), and the convolution is the kernel's
/// one phase (member 3, after the fill).
// CHECK-LABEL: func.func @relu_pad_conv
// CHECK: linalg.generic
// CHECK-SAME: plan.origin = ["0", "0", "t2 - 1", "0"]
// CHECK-SAME: plan.padded = array<i64: 2>
// CHECK-SAME: plan.role = "inline"
// CHECK: linalg.generic
// CHECK-SAME: plan.origin = ["0", "0", "t2", "0"]
// CHECK-SAME: plan.role = "inline"
// CHECK: linalg.generic
// CHECK-SAME: plan.role = "inline"
// CHECK: linalg.generic
// CHECK-SAME: plan.grid = array<i64: 1, 2, 2, 1>
// CHECK-SAME: plan.origin = ["0", "t1", "t2", "0"]
// CHECK-SAME: plan.phases = array<i64: 3>
// CHECK-SAME: plan.role = "phase"
// CHECK-SAME: plan.writes = "global"
func.func @relu_pad_conv(%x: tensor<1x4x16x16xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x16x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c15 = arith.constant 15 : index
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<1x4x16x16xf32>
  %relu = linalg.generic {indexing_maps = [#nchw, #nchw], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x16x16xf32>) outs(%er : tensor<1x4x16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x16x16xf32>
  %e = tensor.empty() : tensor<1x4x18x18xf32>
  %padded = linalg.generic {indexing_maps = [#nchw], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<1x4x18x18xf32>) {
  ^bb0(%o: f32):
    %n = linalg.index 0 : index
    %c = linalg.index 1 : index
    %h = linalg.index 2 : index
    %w_ = linalg.index 3 : index
    %hs = arith.subi %h, %c1 : index
    %ws = arith.subi %w_, %c1 : index
    %hc = arith.maxsi %hs, %c0 : index
    %hcc = arith.minsi %hc, %c15 : index
    %wc = arith.maxsi %ws, %c0 : index
    %wcc = arith.minsi %wc, %c15 : index
    %v = tensor.extract %relu[%n, %c, %hcc, %wcc] : tensor<1x4x16x16xf32>
    %hin = arith.cmpi eq, %hs, %hcc : index
    %win = arith.cmpi eq, %ws, %wcc : index
    %in = arith.andi %hin, %win : i1
    %r = arith.select %in, %v, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x4x18x18xf32>
  %e2 = tensor.empty() : tensor<1x8x16x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, m, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>,
                                        affine_map<(n, m, oh, ow, c, kh, kw) -> (m, c, kh, kw)>,
                                        affine_map<(n, m, oh, ow, c, kh, kw) -> (n, m, oh, ow)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%padded, %w : tensor<1x4x18x18xf32>, tensor<8x4x3x3xf32>) outs(%init : tensor<1x8x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x8x16x16xf32>
  return %y : tensor<1x8x16x16xf32>
}
