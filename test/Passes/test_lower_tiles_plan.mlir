// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller{arch=sm_90},quartet-welder{arch=sm_90},test-lower-tiles-plan)' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// Check the plan of a matmul with its fill and a bias + ReLU: the fill is inline (it is the
/// accumulator's initial value), the matmul the one phase, the bias + ReLU its epilogue
/// (anchor: member 1), and only the epilogue's result goes to global memory. Welder records
/// its modelled time of the kernel on the output operator.
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
// CHECK-SAME: welder.modelled_seconds = {{[0-9.]+}}E-6 : f64
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

// -----

/// Check the shared memory of conv -> ReLU -> padding -> conv (the importer's form of a
/// ResNet basic block's two convolutions, BN folded away) as one kernel: the two
/// convolutions are its phases (members 2 and 6); the ReLU, the first conv's epilogue, keeps
/// its result in shared memory for the second conv's inline padding; best fit gives the
/// second conv's staging buffers the bytes of the first's (their lifetimes do not overlap,
/// the ReLU's result spans both), so the allocation is 7552 bytes where the buffers add up to
/// 13056.
// CHECK-LABEL: func.func @conv_relu_conv
// CHECK: plan.role = "phase"
// CHECK-SAME: plan.stage_offsets = array<i64: 0, 3200>
// CHECK: plan.anchor = 2
// CHECK-SAME: plan.result_offset = 5504
// CHECK-SAME: plan.writes = "smem"
// CHECK: plan.phases = array<i64: 2, 6>
// CHECK-SAME: plan.shared = array<i64: 7552, 13056>
// CHECK-SAME: plan.stage_offsets = array<i64: 0, 3200>
func.func @conv_relu_conv(%in0: tensor<1x8x8x8xf32>, %w0: tensor<8x8x3x3xf32> {quartet.weight = "w1"}, %w1: tensor<8x8x3x3xf32> {quartet.weight = "w2"}) -> (tensor<1x8x8x8xf32>) {
  %v1 = tensor.empty() : tensor<1x8x10x10xf32>
  %t2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%v1 : tensor<1x8x10x10xf32>) {
  ^bb0(%a3: f32):
    %s4 = linalg.index 0 : index
    %s5 = linalg.index 1 : index
    %s6 = linalg.index 2 : index
    %s7 = arith.constant 1 : index
    %s8 = arith.subi %s6, %s7 : index
    %s9 = arith.constant 0 : index
    %s10 = arith.constant 8 : index
    %s11 = arith.cmpi sge, %s8, %s9 : index
    %s12 = arith.cmpi slt, %s8, %s10 : index
    %s13 = arith.constant 0 : index
    %s14 = arith.constant 7 : index
    %s15 = arith.maxsi %s8, %s13 : index
    %s16 = arith.minsi %s15, %s14 : index
    %s17 = linalg.index 3 : index
    %s18 = arith.constant 1 : index
    %s19 = arith.subi %s17, %s18 : index
    %s20 = arith.constant 0 : index
    %s21 = arith.constant 8 : index
    %s22 = arith.cmpi sge, %s19, %s20 : index
    %s23 = arith.cmpi slt, %s19, %s21 : index
    %s24 = arith.constant 0 : index
    %s25 = arith.constant 7 : index
    %s26 = arith.maxsi %s19, %s24 : index
    %s27 = arith.minsi %s26, %s25 : index
    %s28 = tensor.extract %in0[%s4, %s5, %s16, %s27] : tensor<1x8x8x8xf32>
    %s29 = arith.andi %s11, %s12 : i1
    %s30 = arith.andi %s29, %s22 : i1
    %s31 = arith.andi %s30, %s23 : i1
    %s32 = arith.constant 0x00000000 : f32
    %s33 = arith.select %s31, %s28, %s32 : f32
    linalg.yield %s33 : f32
  } -> tensor<1x8x10x10xf32>
  %v34 = tensor.empty() : tensor<1x8x8x8xf32>
  %v35 = arith.constant 0x00000000 : f32
  %v36 = linalg.fill ins(%v35 : f32) outs(%v34 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %t37 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 1 + d5 * 1, d3 * 1 + d6 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%t2, %w0 : tensor<1x8x10x10xf32>, tensor<8x8x3x3xf32>) outs(%v36 : tensor<1x8x8x8xf32>) {
  ^bb0(%a38: f32, %a39: f32, %a40: f32):
    %s41 = arith.mulf %a38, %a39 : f32
    %s42 = arith.addf %a40, %s41 : f32
    linalg.yield %s42 : f32
  } -> tensor<1x8x8x8xf32>
  %v43 = tensor.empty() : tensor<1x8x8x8xf32>
  %t44 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t37 : tensor<1x8x8x8xf32>) outs(%v43 : tensor<1x8x8x8xf32>) {
  ^bb0(%a45: f32, %a46: f32):
    %s47 = arith.constant 0x00000000 : f32
    %s48 = arith.maximumf %a45, %s47 : f32
    linalg.yield %s48 : f32
  } -> tensor<1x8x8x8xf32>
  %v49 = tensor.empty() : tensor<1x8x10x10xf32>
  %t50 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%v49 : tensor<1x8x10x10xf32>) {
  ^bb0(%a51: f32):
    %s52 = linalg.index 0 : index
    %s53 = linalg.index 1 : index
    %s54 = linalg.index 2 : index
    %s55 = arith.constant 1 : index
    %s56 = arith.subi %s54, %s55 : index
    %s57 = arith.constant 0 : index
    %s58 = arith.constant 8 : index
    %s59 = arith.cmpi sge, %s56, %s57 : index
    %s60 = arith.cmpi slt, %s56, %s58 : index
    %s61 = arith.constant 0 : index
    %s62 = arith.constant 7 : index
    %s63 = arith.maxsi %s56, %s61 : index
    %s64 = arith.minsi %s63, %s62 : index
    %s65 = linalg.index 3 : index
    %s66 = arith.constant 1 : index
    %s67 = arith.subi %s65, %s66 : index
    %s68 = arith.constant 0 : index
    %s69 = arith.constant 8 : index
    %s70 = arith.cmpi sge, %s67, %s68 : index
    %s71 = arith.cmpi slt, %s67, %s69 : index
    %s72 = arith.constant 0 : index
    %s73 = arith.constant 7 : index
    %s74 = arith.maxsi %s67, %s72 : index
    %s75 = arith.minsi %s74, %s73 : index
    %s76 = tensor.extract %t44[%s52, %s53, %s64, %s75] : tensor<1x8x8x8xf32>
    %s77 = arith.andi %s59, %s60 : i1
    %s78 = arith.andi %s77, %s70 : i1
    %s79 = arith.andi %s78, %s71 : i1
    %s80 = arith.constant 0x00000000 : f32
    %s81 = arith.select %s79, %s76, %s80 : f32
    linalg.yield %s81 : f32
  } -> tensor<1x8x10x10xf32>
  %v82 = tensor.empty() : tensor<1x8x8x8xf32>
  %v83 = arith.constant 0x00000000 : f32
  %v84 = linalg.fill ins(%v83 : f32) outs(%v82 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %t85 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 1 + d5 * 1, d3 * 1 + d6 * 1)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>, affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%t50, %w1 : tensor<1x8x10x10xf32>, tensor<8x8x3x3xf32>) outs(%v84 : tensor<1x8x8x8xf32>) {
  ^bb0(%a86: f32, %a87: f32, %a88: f32):
    %s89 = arith.mulf %a86, %a87 : f32
    %s90 = arith.addf %a88, %s89 : f32
    linalg.yield %s90 : f32
  } -> tensor<1x8x8x8xf32>
  return %t85 : tensor<1x8x8x8xf32>
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#b = affine_map<(d0, d1, d2) -> (d2)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that the shared allocation ends on a whole 32 bytes: the staging buffers of a
/// 2x4x3 by 3 contraction take 96 and 12 bytes (at 0 and 96), and LLVM reads the 3 floats at
/// 96 as one 16-byte vector, so the allocation is 128 bytes, not 108.
// CHECK-LABEL: func.func @ragged_stage
// CHECK: plan.shared = array<i64: 128, 108>
// CHECK-SAME: plan.stage_offsets = array<i64: 0, 96>
func.func @ragged_stage(%a: tensor<2x4x3xf32>, %b: tensor<3xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<2x4x3xf32>, tensor<3xf32>) outs(%init : tensor<2x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
