// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(test-roller-reuse)' | FileCheck %s

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check the traffic and reuse scores of a 64x64x16 block / 4x4 register tile on 128x768x768:
/// 24 blocks x 48 stages load (64x16 + 16x64) f32 = 9437184 B, plus the output read and written
/// once = 786432 B. Growing m or n to the next aligned size (128) saves 2359296 B for 20480 more on-chip bytes (S = 115.2);
/// deepening k saves nothing (S = 0). Threads read (4 + 4) f32 per 16 points from shared memory
/// (2 B per point, 150994944 B in all); doubling either register extent saves 37748736 B for 20
/// more registers (S = 471859.2); the reduction loop has no register tile (0).
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic
// CHECK-SAME: roller.block_scores = array<f64: 1.152000e+02, 1.152000e+02, 0.000000e+00>
// CHECK-SAME: roller.global_bytes = 10223616 : i64
// CHECK-SAME: roller.reg_scores = array<f64: 471859.{{[0-9]+}}, 471859.{{[0-9]+}}, 0.000000e+00>
// CHECK-SAME: roller.smem_bytes = 150994944 : i64
func.func @matmul(%a: tensor<128x768xf32>, %b: tensor<768x768xf32>, %c: tensor<128x768xf32>) -> tensor<128x768xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"],
                       tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 0, 0>>}
      ins(%a, %b : tensor<128x768xf32>, tensor<768x768xf32>) outs(%c : tensor<128x768xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x768xf32>
  return %r : tensor<128x768xf32>
}

// -----

/// Check that in a pointwise op only the broadcast operand gives reuse: the bias row is re-read
/// by every block along the rows, so growing the block along rows saves traffic (S > 0) and
/// along columns does not; nothing is staged, so no register tile saves shared-memory traffic.
// CHECK-LABEL: func.func @bias_relu
// CHECK: linalg.generic
// CHECK-SAME: roller.block_scores = array<f64: {{[1-9][0-9.e+-]*}}, 0.000000e+00>
// CHECK-SAME: roller.reg_scores = array<f64: 0.000000e+00, 0.000000e+00>
// CHECK-SAME: roller.smem_bytes = 0 : i64
func.func @bias_relu(%x: tensor<1024x3072xf32>, %b: tensor<3072xf32>, %o: tensor<1024x3072xf32>) -> tensor<1024x3072xf32> {
  %zero = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"],
                       tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8, 128>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>}
      ins(%x, %b : tensor<1024x3072xf32>, tensor<3072xf32>) outs(%o : tensor<1024x3072xf32>) {
  ^bb0(%v: f32, %bias: f32, %out: f32):
    %s = arith.addf %v, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1024x3072xf32>
  return %r : tensor<1024x3072xf32>
}

// -----

#x = affine_map<(n, f, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>
#w = affine_map<(n, f, oh, ow, c, kh, kw) -> (f, c, kh, kw)>
#o = affine_map<(n, f, oh, ow, c, kh, kw) -> (n, f, oh, ow)>

/// Check that reuse comes from the window maps: along output channels the block saves input
/// traffic, along rows and columns filter traffic (the halo makes columns, 16 + 2 wide, score
/// below rows), and deeper input-channel stages save nothing; the batch of 1 and the whole 3x3
/// window cannot grow.
// CHECK-LABEL: func.func @conv
// CHECK: linalg.generic
// CHECK-SAME: roller.block_scores = array<f64: 0.000000e+00, 1.935360e+03, 1.935360e+03, 1.344000e+03, 0.000000e+00, 0.000000e+00, 0.000000e+00>
func.func @conv(%in: tensor<1x64x58x58xf32>, %f: tensor<64x64x3x3xf32>, %out: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %r = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"],
                       tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 1, 8, 4, 16, 4, 3, 3>>, #tile.rtile<"reg", array<i64: 1, 2, 1, 4, 1, 1, 1>>], array<i64: 0, 0>>}
      ins(%in, %f : tensor<1x64x58x58xf32>, tensor<64x64x3x3xf32>) outs(%out : tensor<1x64x56x56xf32>) {
  ^bb0(%v: f32, %k: f32, %acc: f32):
    %m = arith.mulf %v, %k : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x64x56x56xf32>
  return %r : tensor<1x64x56x56xf32>
}
