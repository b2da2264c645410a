// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),test-roller-candidates{topk=3})' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),test-roller-candidates{topk=1 arch=sm_70})' | FileCheck %s --check-prefix=V100

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that the top-k come best first with their model estimates: on the H100 the BERT QKV
/// projection is bound by shared-memory bandwidth in one wave; equally fast tiles are ordered
/// by the tie-breaks (transposed register tile, then a deeper stage). The V100 (80 SMs, 1.53 GHz,
/// 2.2 TB/s of L2) takes longer for the same operator.
// CHECK-LABEL: func.func @bert_qkv
// CHECK: roller.bound = "smem"
// CHECK-SAME: roller.candidates = [#tile.rprogram<[#tile.rtile<"smem", array<i64: 16, 64, 16>>, #tile.rtile<"reg", array<i64: 2, 4, 1>>], array<i64: 0, 0>>, #tile.rprogram<[#tile.rtile<"smem", array<i64: 16, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 2, 1>>], array<i64: 0, 0>>, #tile.rprogram<[#tile.rtile<"smem", array<i64: 16, 64, 32>>, #tile.rtile<"reg", array<i64: 2, 4, 1>>], array<i64: 4, 0>>]
// CHECK-SAME: roller.estimates_ns = array<i64: 9309, 9309, 9309>
// CHECK-SAME: roller.waves = 1
// V100-LABEL: func.func @bert_qkv
// V100: roller.estimates_ns = array<i64: 16063>
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

/// Check that a large elementwise op is bound by its compulsory DRAM traffic (every tile moves
/// the same bytes) and runs in several waves of blocks.
// CHECK-LABEL: func.func @bias_relu
// CHECK: roller.bound = "dram"
// CHECK-SAME: roller.waves = 6
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

/// Check that batched attention scores are bound by shared-memory bandwidth on the H100 but by
/// FP32 compute on the V100 (15.7 vs 67 TFLOPS, the same 128 B/clock shared memory per SM).
// CHECK-LABEL: func.func @bert_scores
// CHECK: roller.bound = "smem"
// V100-LABEL: func.func @bert_scores
// V100: roller.bound = "compute"
func.func @bert_scores(%q: tensor<12x128x64xf32>, %k: tensor<12x64x128xf32>, %s: tensor<12x128x128xf32>) -> tensor<12x128x128xf32> {
  %r = linalg.batch_matmul ins(%q, %k : tensor<12x128x64xf32>, tensor<12x64x128xf32>) outs(%s : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
  return %r : tensor<12x128x128xf32>
}
