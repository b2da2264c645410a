// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),test-roller-align)' | FileCheck %s

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that loops walking a contiguous dimension (n: of B and C, k: of A) take multiples of a
/// 32-byte sector (8 f32), m (no contiguous dimension) any power of two, and that a size whose
/// padding would exceed a quarter of the extent (512 of 768: 1024 padded) is left out in favour
/// of the whole extent.
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic
// CHECK-SAME: roller.sizes = [array<i64: 1, 2, 4, 8, 16, 32, 64, 128>, array<i64: 8, 16, 32, 64, 128, 256, 768>, array<i64: 8, 16, 32, 64, 128, 256, 768>]
// CHECK-SAME: roller.units = array<i64: 1, 8, 8>
func.func @matmul(%a: tensor<128x768xf32>, %b: tensor<768x768xf32>, %c: tensor<128x768xf32>) -> tensor<128x768xf32> {
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

/// Check that a convolution's loops align from its window maps: output columns (contiguous in
/// the output) by sectors, the 3-wide window loops whole (no aligned size pads them by less than
/// a quarter), and the batch of 1 as it is.
// CHECK-LABEL: func.func @conv
// CHECK: linalg.generic
// CHECK-SAME: roller.sizes = [array<i64: 1>, array<i64: 1, 2, 4, 8, 16, 32, 64>, array<i64: 1, 2, 4, 8, 16, 32, 64>, array<i64: 8, 16, 32, 64>, array<i64: 1, 2, 4, 8, 16, 32, 64>, array<i64: 1, 3>, array<i64: 3>]
func.func @conv(%x: tensor<1x64x58x58xf32>, %f: tensor<64x64x3x3xf32>, %o: tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %f : tensor<1x64x58x58xf32>, tensor<64x64x3x3xf32>) outs(%o : tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
  return %r : tensor<1x64x56x56xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that an f16 contraction aligns m, n and k to the m16n8k16 tensor-core shape (and the
/// 16 halves of a sector).
// CHECK-LABEL: func.func @half_matmul
// CHECK: linalg.generic
// CHECK-SAME: roller.units = array<i64: 16, 16, 16>
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

/// Check that a row reduction whose 32 threads read down a column of a 16-wide staged buffer
/// (a 16-way bank conflict: every row starts in bank 0 or 16) is padded by one element, which
/// makes the column conflict-free.
// CHECK-LABEL: func.func @row_max
// CHECK: linalg.generic
// CHECK-SAME: roller.conflicts = array<i64: 16, 1>
// CHECK-SAME: roller.pads = array<i64: 1>
func.func @row_max(%x: tensor<1536x128xf32>, %o: tensor<1536xf32>) -> tensor<1536xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"],
                       tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 32, 16>>, #tile.rtile<"reg", array<i64: 1, 1>>], array<i64: 0>>}
      ins(%x : tensor<1536x128xf32>) outs(%o : tensor<1536xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %acc, %v : f32
    linalg.yield %m : f32
  } -> tensor<1536xf32>
  return %r : tensor<1536xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that a matmul whose warp spans two rows of A's 64-wide staged tile (16 threads along n)
/// pads A by a 128-bit vector (4 f32: the second row starts 4 banks later, and rows stay 16-byte
/// aligned for vector stores), while B, read along its rows, needs no padding.
// CHECK-LABEL: func.func @two_rows
// CHECK: linalg.generic
// CHECK-SAME: roller.conflicts = array<i64: 2, 1, 1, 1>
// CHECK-SAME: roller.pads = array<i64: 4, 0>
func.func @two_rows(%a: tensor<128x768xf32>, %b: tensor<768x768xf32>, %c: tensor<128x768xf32>) -> tensor<128x768xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"],
                       tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 64>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 0, 0>>}
      ins(%a, %b : tensor<128x768xf32>, tensor<768x768xf32>) outs(%c : tensor<128x768xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x768xf32>
  return %r : tensor<128x768xf32>
}
