// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling)' --verify-diagnostics | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling{threads=64 reg-tile=2 reduction-tile=8 smem-pad=0})' --verify-diagnostics | FileCheck %s --check-prefix=SMALL

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that a contraction gets a 4x4 register tile per thread on its two parallel loops,
/// 16x16 threads (a 64x64 block tile), a 16-deep shared-memory stage of the reduction, and
/// padding for both staged inputs.
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic
// CHECK-SAME: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 4>>
// SMALL-LABEL: func.func @matmul
// SMALL: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 16, 16, 8>>, #tile.rtile<"reg", array<i64: 2, 2, 1>>], array<i64: 0, 0>>
func.func @matmul(%a: tensor<128x512xf32>, %b: tensor<512x256xf32>, %c: tensor<128x256xf32>) -> tensor<128x256xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x512xf32>, tensor<512x256xf32>) outs(%c : tensor<128x256xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x256xf32>
  return %r : tensor<128x256xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that a pointwise operator spreads 256 threads along its innermost loop, 4 points each,
/// with no shared-memory padding (nothing is staged).
// CHECK-LABEL: func.func @relu
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 1, 1024>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0>>
func.func @relu(%x: tensor<64x4096xf32>, %o: tensor<64x4096xf32>) -> tensor<64x4096xf32> {
  %zero = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x4096xf32>) outs(%o : tensor<64x4096xf32>) {
  ^bb0(%v: f32, %out: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<64x4096xf32>
  return %r : tensor<64x4096xf32>
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that a loop narrower than the block tile (10 columns) shrinks the threads along it
/// until one block barely covers it, and that a pointwise loop shorter than 4 shrinks the
/// register tile too.
// CHECK-LABEL: func.func @narrow
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 16, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 4>>
// CHECK: tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 2>>, #tile.rtile<"reg", array<i64: 1, 2>>], array<i64>>
func.func @narrow(%a: tensor<64x1024xf32>, %b: tensor<1024x10xf32>, %c: tensor<64x10xf32>, %d: tensor<64x2xf32>) -> (tensor<64x10xf32>, tensor<64x2xf32>) {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<64x1024xf32>, tensor<1024x10xf32>) outs(%c : tensor<64x10xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<64x10xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      outs(%d : tensor<64x2xf32>) {
  ^bb0(%out: f32):
    %t = arith.addf %out, %out : f32
    linalg.yield %t : f32
  } -> tensor<64x2xf32>
  return %r, %n : tensor<64x10xf32>, tensor<64x2xf32>
}

// -----

/// Check that an operand of dynamic shape is a located error (as quartet-roller reports it),
/// not an internal error with a traceback.
func.func @dynamic(%x: tensor<?x4xf32>, %o: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{quartet-fixed-tiling: operand #0 has a dynamic shape (tensor<?x4xf32>)}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x4xf32>) outs(%o : tensor<?x4xf32>) {
  ^bb0(%v: f32, %out: f32):
    linalg.yield %v : f32
  } -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

/// Check that an indexing map that is not a linear function of the loops is a located error.
func.func @modulo(%x: tensor<8xf32>, %o: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{quartet-fixed-tiling: indexing map #0 ((d0) -> (d0 mod 4)): d0 mod 4 is not a linear function of the loops}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0 mod 4)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%o : tensor<8xf32>) {
  ^bb0(%v: f32, %out: f32):
    linalg.yield %v : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
