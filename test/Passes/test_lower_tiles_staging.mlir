// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling,test-lower-tiles-staging)' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling{double-buffer=false},test-lower-tiles-staging)' | FileCheck %s --check-prefix=SINGLE

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check the staging of a 64x64x16-tiled f32 matmul: A's stage is 64x16 and B's 16x64, each
/// buffer padded by 4 floats on its rows (bank conflicts) and doubled in front when the stages
/// are double-buffered; rows of 16 and 64 floats copy as 128-bit vectors of 4.
// CHECK-LABEL: func.func @matmul
// CHECK: staging.buffers = [array<i64: 2, 64, 20>, array<i64: 2, 16, 68>]
// CHECK-SAME: staging.footprints = [array<i64: 64, 16>, array<i64: 16, 64>]
// CHECK-SAME: staging.inputs = array<i64: 0, 1>
// CHECK-SAME: staging.vectors = array<i64: 4, 4>
// SINGLE-LABEL: func.func @matmul
// SINGLE: staging.buffers = [array<i64: 64, 20>, array<i64: 16, 68>]
func.func @matmul(%a: memref<128x512xf32>, %b: memref<512x256xf32>, %c: memref<128x256xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<128x512xf32>, memref<512x256xf32>) outs(%c : memref<128x256xf32>)
      attrs = {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 4>>} {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

/// Check the staging of a 3x3 convolution tiled 4x4 spatially with 4 input channels per
/// stage: the input's stage is the tile's window, 4 channels of 6x6 (the halo), whose rows of
/// 6 floats cannot be 16-byte vectors, so it copies element by element; the weights' stage is
/// 8 filters x 4 channels x 3x3. With three reduction loops the stages are single-buffered
/// (the double-buffered pipeline runs over one reduction loop).
// CHECK-LABEL: func.func @conv
// CHECK: staging.buffers = [array<i64: 1, 4, 6, 6>, array<i64: 8, 4, 3, 3>]
// CHECK-SAME: staging.footprints = [array<i64: 1, 4, 6, 6>, array<i64: 8, 4, 3, 3>]
// CHECK-SAME: staging.vectors = array<i64: 1, 1>
func.func @conv(%x: memref<1x8x10x10xf32>, %w: memref<8x8x3x3xf32>, %y: memref<1x8x8x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, m, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>,
                                   affine_map<(n, m, oh, ow, c, kh, kw) -> (m, c, kh, kw)>,
                                   affine_map<(n, m, oh, ow, c, kh, kw) -> (n, m, oh, ow)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x8x10x10xf32>, memref<8x8x3x3xf32>) outs(%y : memref<1x8x8x8xf32>)
      attrs = {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 1, 8, 4, 4, 4, 3, 3>>, #tile.rtile<"reg", array<i64: 1, 2, 1, 2, 1, 1, 1>>], array<i64: 0, 0>>} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
