// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller)' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller{arch=sm_80 topk=1})' | FileCheck %s --check-prefix=A100
// RUN: not quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-roller{arch=sm_75})' 2>&1 | FileCheck %s --check-prefix=ARCH

// ARCH: error: quartet-roller: option 'arch': unknown arch 'sm_75' (expected one of: sm_90, sm_80, sm_70, cpu)

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that a BERT-base QKV projection (128x768x768) gets a 2x4 register tile, a 16x64 block
/// tile (128 threads) staged 16 deep, and the runners-up of the top-k as tile.candidates; on the
/// A100 (fewer SMs, less L2 bandwidth per SM) the block shrinks to 8x32 so all SMs get work, and
/// topk=1 keeps no candidates.
// CHECK-LABEL: func.func @bert_qkv
// CHECK: tile.candidates = #tile.candidates<[#tile.rprogram<
// CHECK-SAME: tile.plan = #tile.plan<array<i64: 8, 16, 1>, array<i64: 0, 1>, true, array<i64>>
// CHECK-SAME: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 16, 64, 16>>, #tile.rtile<"reg", array<i64: 2, 4, 1>>], array<i64: 0, 0>>
// A100-LABEL: func.func @bert_qkv
// A100-NOT: tile.candidates
// A100: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8, 32, 16>>, #tile.rtile<"reg", array<i64: 2, 4, 1>>], array<i64: 4, 0>>
func.func @bert_qkv(%a: tensor<128x768xf32>, %b: tensor<768x768xf32>, %c: tensor<128x768xf32>) -> tensor<128x768xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x768xf32>, tensor<768x768xf32>) outs(%c : tensor<128x768xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x768xf32>
  return %r : tensor<128x768xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that the BERT-base FFN down projection (128x768, K = 3072) gets the same tile as QKV:
/// the reduction extent changes the number of stages, not the best stage.
// CHECK-LABEL: func.func @bert_ffn2
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 16, 64, 16>>, #tile.rtile<"reg", array<i64: 2, 4, 1>>], array<i64: 0, 0>>
func.func @bert_ffn2(%a: tensor<128x3072xf32>, %b: tensor<3072x768xf32>, %c: tensor<128x768xf32>) -> tensor<128x768xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x3072xf32>, tensor<3072x768xf32>) outs(%c : tensor<128x768xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x768xf32>
  return %r : tensor<128x768xf32>
}

// -----

/// Check that batched attention scores (12 heads, 128x128, K = 64) tile one head per block (the
/// batch loop has nothing to reuse) with a 4x4 register tile per thread.
// CHECK-LABEL: func.func @bert_scores
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 1, 32, 64, 16>>, #tile.rtile<"reg", array<i64: 1, 4, 4, 1>>], array<i64: 0, 0>>
func.func @bert_scores(%q: tensor<12x128x64xf32>, %k: tensor<12x64x128xf32>, %s: tensor<12x128x128xf32>) -> tensor<12x128x128xf32> {
  %r = linalg.batch_matmul ins(%q, %k : tensor<12x128x64xf32>, tensor<12x64x128xf32>) outs(%s : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
  return %r : tensor<12x128x128xf32>
}

// -----

/// Check that a ResNet-50 3x3 convolution (64 -> 64 channels, 56x56) is tiled from its indexing
/// maps alone: output channels x rows x columns per block, register tiles on output channels and
/// columns, the 3x3 window loops whole in each stage, 4 input channels per stage.
// CHECK-LABEL: func.func @resnet_conv3x3
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 1, 8, 4, 64, 4, 3, 3>>, #tile.rtile<"reg", array<i64: 1, 4, 1, 4, 1, 1, 1>>], array<i64: 0, 0>>
func.func @resnet_conv3x3(%x: tensor<1x64x58x58xf32>, %f: tensor<64x64x3x3xf32>, %o: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %f : tensor<1x64x58x58xf32>, tensor<64x64x3x3xf32>) outs(%o : tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
  return %r : tensor<1x64x56x56xf32>
}

// -----

/// Check that a softmax row reduction (max over 128 of 1536 rows) gives each thread whole rows
/// and pads the staged rows by one element: neighbouring threads read down a column of the
/// shared buffer, which a 16-element row stride would put in two banks only.
// CHECK-LABEL: func.func @softmax_max
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 128, 16>>, #tile.rtile<"reg", array<i64: 4, 1>>], array<i64: 1>>
func.func @softmax_max(%x: tensor<1536x128xf32>, %o: tensor<1536xf32>) -> tensor<1536xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1536x128xf32>) outs(%o : tensor<1536xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %acc, %v : f32
    linalg.yield %m : f32
  } -> tensor<1536xf32>
  return %r : tensor<1536xf32>
}

// -----

/// Check that a large elementwise op (bias + ReLU, 1024x3072) gets 128-bit register tiles (4 f32
/// along the contiguous loop), a sector of threads along it, and nothing staged or padded.
// CHECK-LABEL: func.func @bias_relu
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 128, 32>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>
func.func @bias_relu(%x: tensor<1024x3072xf32>, %b: tensor<3072xf32>, %o: tensor<1024x3072xf32>) -> tensor<1024x3072xf32> {
  %zero = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<1024x3072xf32>, tensor<3072xf32>) outs(%o : tensor<1024x3072xf32>) {
  ^bb0(%v: f32, %bias: f32, %out: f32):
    %s = arith.addf %v, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1024x3072xf32>
  return %r : tensor<1024x3072xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that a tall-skinny matmul (8192x64, K = 1024) covers the whole narrow dimension in one
/// block (64 columns) with a 4x8 register tile, and pads A's rows against bank conflicts.
// CHECK-LABEL: func.func @tall_skinny
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 8, 1>>], array<i64: 4, 0>>
func.func @tall_skinny(%a: tensor<8192x1024xf32>, %b: tensor<1024x64xf32>, %c: tensor<8192x64xf32>) -> tensor<8192x64xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<8192x1024xf32>, tensor<1024x64xf32>) outs(%c : tensor<8192x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<8192x64xf32>
  return %r : tensor<8192x64xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that an f16 contraction with f32 accumulation is tiled in tensor-core multiples
/// (m16n8k16: block m, n and k multiples of 16) with whole warps, and pads A by one 128-bit
/// vector (8 halves); its plan runs it on tensor cores (one warp, 2x4 tiles of 16x8, loops
/// m, n, k = 0, 1, 2) without double buffering.
// CHECK-LABEL: func.func @half_matmul
// CHECK: tile.plan = #tile.plan<array<i64: 4, 8, 1>, array<i64: 0, 1>, false, array<i64: 0, 1, 2, 1, 1, 2, 4>>
// CHECK-SAME: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 32, 32, 128>>, #tile.rtile<"reg", array<i64: 8, 4, 1>>], array<i64: 8, 0>>
func.func @half_matmul(%a: tensor<128x768xf16>, %b: tensor<768x768xf16>, %c: tensor<128x768xf32>) -> tensor<128x768xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x768xf16>, tensor<768x768xf16>) outs(%c : tensor<128x768xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xe = arith.extf %x : f16 to f32
    %ye = arith.extf %y : f16 to f32
    %m = arith.mulf %xe, %ye : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x768xf32>
  return %r : tensor<128x768xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that an operator that already carries a tile.program keeps it, gets no candidates, and
/// gets the plan its program implies (16x16 threads, both inputs staged, double-buffered).
// CHECK-LABEL: func.func @pretiled
// CHECK-NOT: tile.candidates
// CHECK: tile.plan = #tile.plan<array<i64: 16, 16, 1>, array<i64: 0, 1>, true, array<i64>>
// CHECK-SAME: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 32, 32, 8>>, #tile.rtile<"reg", array<i64: 2, 2, 1>>], array<i64: 0, 0>>
func.func @pretiled(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"],
                       tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 32, 32, 8>>, #tile.rtile<"reg", array<i64: 2, 2, 1>>], array<i64: 0, 0>>}
      ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%c : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
