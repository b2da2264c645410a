// RUN: quartet-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(quartet-fixed-tiling,test-welder-propagate)' | FileCheck %s

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// Check that a 16x32 tile of a bias add (a broadcast of the bias along rows) reads a 16x32
/// block of the matmul and 32 bias elements, and that the matmul then covers the same 16x32
/// points with its whole 256-deep reduction: 16 rows of A and 32 columns of B.
// CHECK-LABEL: func.func @matmul_bias
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 16, 256>, array<i64: 256, 32>, array<i64: 16, 32>]
// CHECK-SAME: welder.origin = ["t0", "t1"]
// CHECK-SAME: welder.region = array<i64: 16, 32, 256>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 16, 32>, array<i64: 32>, array<i64: 16, 32>]
// CHECK-SAME: welder.region = array<i64: 16, 32>
func.func @matmul_bias(%a: tensor<64x256xf32>, %b: tensor<256x128xf32>, %bias: tensor<128xf32>) -> tensor<64x128xf32> attributes {welder.tile = array<i64: 16, 32>} {
  %e = tensor.empty() : tensor<64x128xf32>
  %mm = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<64x256xf32>, tensor<256x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %bias : tensor<64x128xf32>, tensor<128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
#row = affine_map<(d0, d1) -> (d0)>

/// Check that a row reduction (a softmax max) covers its rows whole: a 16x32 tile of its
/// consumer needs the max of 16 rows, each over all 48 columns, so 16 whole rows of the
/// transpose feeding it; and that the transpose is followed: those 16x48 elements are a 48x16
/// block of its input.
// CHECK-LABEL: func.func @transpose_and_row_max
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 48, 16>, array<i64: 16, 48>]
// CHECK-SAME: welder.origin = ["t0", "0"]
// CHECK-SAME: welder.region = array<i64: 16, 48>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 16, 48>, array<i64: 16>]
// CHECK-SAME: welder.origin = ["t0"]
// CHECK-SAME: welder.region = array<i64: 16, 48>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 16, 32>, array<i64: 16>, array<i64: 16, 32>]
// CHECK-SAME: welder.region = array<i64: 16, 32>
func.func @transpose_and_row_max(%x: tensor<48x32xf32>, %y: tensor<32x48xf32>) -> tensor<32x48xf32> attributes {welder.tile = array<i64: 16, 32>} {
  %e = tensor.empty() : tensor<32x48xf32>
  %tr = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<48x32xf32>) outs(%e : tensor<32x48xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<32x48xf32>
  %e1 = tensor.empty() : tensor<32xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%tr : tensor<32x48xf32>) outs(%e1 : tensor<32xf32>) {
  ^bb0(%v: f32, %m: f32):
    %n = arith.maximumf %v, %m : f32
    linalg.yield %n : f32
  } -> tensor<32xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %max : tensor<32x48xf32>, tensor<32xf32>) outs(%e : tensor<32x48xf32>) {
  ^bb0(%v: f32, %m: f32, %o: f32):
    %s = arith.subf %v, %m : f32
    %x2 = math.exp %s : f32
    linalg.yield %x2 : f32
  } -> tensor<32x48xf32>
  return %r : tensor<32x48xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that a reshape is followed where it stays affine: the consumer reads the producer's
/// 8x64 result as 8x4x16 (the columns split into 4 heads of 16), so a tile of 2 rows, 1 head
/// and 16 columns reads 2x16 elements of the producer at column 16*t1 (the tile spans each
/// head's 16 columns whole, so that loop has one block and origin 0).
// CHECK-LABEL: func.func @reshape
// CHECK: linalg.generic
// CHECK-SAME: welder.origin = ["t0", "16*t1"]
// CHECK-SAME: welder.region = array<i64: 2, 16>
// CHECK: linalg.generic
// CHECK-SAME: welder.region = array<i64: 2, 1, 16>
func.func @reshape(%x: tensor<8x64xf32>) -> tensor<8x4x16xf32> attributes {welder.tile = array<i64: 2, 1, 16>} {
  %e = tensor.empty() : tensor<8x64xf32>
  %p = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<8x64xf32>
  %v = tensor.expand_shape %p [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %e2 = tensor.empty() : tensor<8x4x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : tensor<8x4x16xf32>) outs(%e2 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<8x4x16xf32>
  return %r : tensor<8x4x16xf32>
}

// -----

#nchw = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

/// Check that a 3x3 stride-2 convolution's window gives its input a halo: a 4x4 tile of the
/// output reads a 9x9 window (2*4 + 1) of the padded input at twice the output's origin, and
/// the padding operator (which reads the unpadded input through computed indices, not an
/// indexing map) covers that window; the weights are read whole. The tile spans the batch
/// and the channels whole: those origins are 0.
// CHECK-LABEL: func.func @conv_stride2
// CHECK: linalg.generic
// CHECK-SAME: welder.origin = ["0", "0", "2*t2", "2*t3"]
// CHECK-SAME: welder.region = array<i64: 1, 3, 9, 9>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 1, 3, 9, 9>, array<i64: 8, 3, 3, 3>, array<i64: 1, 8, 4, 4>]
// CHECK-SAME: welder.origin = ["0", "0", "t2", "t3"]
// CHECK-SAME: welder.region = array<i64: 1, 8, 4, 4, 3, 3, 3>
func.func @conv_stride2(%x: tensor<1x3x16x16xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32> attributes {welder.tile = array<i64: 1, 8, 4, 4>} {
  %e = tensor.empty() : tensor<1x3x18x18xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c15 = arith.constant 15 : index
  %zero = arith.constant 0.0 : f32
  %padded = linalg.generic {indexing_maps = [#nchw], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<1x3x18x18xf32>) {
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
    %v = tensor.extract %x[%n, %c, %hcc, %wcc] : tensor<1x3x16x16xf32>
    %hin = arith.cmpi eq, %hs, %hcc : index
    %win = arith.cmpi eq, %ws, %wcc : index
    %in = arith.andi %hin, %win : i1
    %r = arith.select %in, %v, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x3x18x18xf32>
  %e2 = tensor.empty() : tensor<1x8x8x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, m, oh, ow, c, kh, kw) -> (n, c, oh * 2 + kh, ow * 2 + kw)>,
                                        affine_map<(n, m, oh, ow, c, kh, kw) -> (m, c, kh, kw)>,
                                        affine_map<(n, m, oh, ow, c, kh, kw) -> (n, m, oh, ow)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%padded, %w : tensor<1x3x18x18xf32>, tensor<8x3x3x3xf32>) outs(%e2 : tensor<1x8x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

/// Check that max pooling (a 3x3 window, stride 2) reads an overlapping 5x5 window of its
/// producer for a 2x2 tile: neighbouring blocks recompute the shared row and column.
// CHECK-LABEL: func.func @max_pool
// CHECK: linalg.generic
// CHECK-SAME: welder.origin = ["0", "0", "2*t2", "2*t3"]
// CHECK-SAME: welder.region = array<i64: 1, 4, 5, 5>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 1, 4, 5, 5>, array<i64: 3, 3>, array<i64: 1, 4, 2, 2>]
// CHECK-SAME: welder.region = array<i64: 1, 4, 2, 2, 3, 3>
func.func @max_pool(%x: tensor<1x4x9x9xf32>) -> tensor<1x4x4x4xf32> attributes {welder.tile = array<i64: 1, 4, 2, 2>} {
  %e = tensor.empty() : tensor<1x4x9x9xf32>
  %relu = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x4x9x9xf32>) outs(%e : tensor<1x4x9x9xf32>) {
  ^bb0(%v: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %v, %z : f32
    linalg.yield %r : f32
  } -> tensor<1x4x9x9xf32>
  %window = tensor.empty() : tensor<3x3xf32>
  %e2 = tensor.empty() : tensor<1x4x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh * 2 + kh, ow * 2 + kw)>,
                                        affine_map<(n, c, oh, ow, kh, kw) -> (kh, kw)>,
                                        affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh, ow)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%relu, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%e2 : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %unused: f32, %m: f32):
    %r = arith.maximumf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#r1 = affine_map<(d0) -> (d0)>

/// Check that LayerNorm's row statistics cover whole rows: a 4x16 tile of the normalized
/// output needs the mean and variance of 4 rows, each reduced over all 64 columns (the mean's
/// division by 64 is a 4-element pointwise step), and reads 4x64 of the input.
// CHECK-LABEL: func.func @layer_norm
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 4, 64>, array<i64: 4>]
// CHECK-SAME: welder.origin = ["t0"]
// CHECK-SAME: welder.region = array<i64: 4, 64>
// CHECK: linalg.generic
// CHECK-SAME: welder.region = array<i64: 4>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 4, 64>, array<i64: 4>, array<i64: 4>]
// CHECK-SAME: welder.region = array<i64: 4, 64>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 4, 16>, array<i64: 4>, array<i64: 4>, array<i64: 4, 16>]
// CHECK-SAME: welder.region = array<i64: 4, 16>
func.func @layer_norm(%x: tensor<8x64xf32>) -> tensor<8x64xf32> attributes {welder.tile = array<i64: 4, 16>} {
  %e = tensor.empty() : tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x64xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %s: f32):
    %a = arith.addf %v, %s : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %mean = linalg.generic {indexing_maps = [#r1, #r1], iterator_types = ["parallel"]}
      ins(%sum : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%s: f32, %o: f32):
    %n = arith.constant 64.0 : f32
    %m = arith.divf %s, %n : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  %var = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : tensor<8x64xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%v: f32, %m: f32, %s: f32):
    %d = arith.subf %v, %m : f32
    %q = arith.mulf %d, %d : f32
    %a = arith.addf %q, %s : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %var : tensor<8x64xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e2 : tensor<8x64xf32>) {
  ^bb0(%v: f32, %m: f32, %q: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %r = math.rsqrt %q : f32
    %n = arith.mulf %d, %r : f32
    linalg.yield %n : f32
  } -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

#nchw = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

/// Check that a padding's clamped read of its producer is an edge: the ReLU before the
/// padding covers the padded window one element before the padding's own origin (the halo
/// of a 3x3 window, straddling the edge at the first block), and the padding's footprint of
/// it is listed after its operands.
// CHECK-LABEL: func.func @relu_pad_conv
// CHECK: linalg.generic
// CHECK-SAME: welder.origin = ["0", "0", "t2 - 1", "t3 - 1"]
// CHECK-SAME: welder.region = array<i64: 1, 3, 6, 6>
// CHECK: linalg.generic
// CHECK-SAME: welder.footprint = [array<i64: 1, 3, 6, 6>, array<i64: 1, 3, 6, 6>]
// CHECK-SAME: welder.origin = ["0", "0", "t2", "t3"]
// CHECK-SAME: welder.region = array<i64: 1, 3, 6, 6>
func.func @relu_pad_conv(%x: tensor<1x3x16x16xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x16x16xf32> attributes {welder.tile = array<i64: 1, 8, 4, 4>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c15 = arith.constant 15 : index
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<1x3x16x16xf32>
  %relu = linalg.generic {indexing_maps = [#nchw, #nchw], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x16x16xf32>) outs(%er : tensor<1x3x16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x3x16x16xf32>
  %e = tensor.empty() : tensor<1x3x18x18xf32>
  %padded = linalg.generic {indexing_maps = [#nchw], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<1x3x18x18xf32>) {
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
    %v = tensor.extract %relu[%n, %c, %hcc, %wcc] : tensor<1x3x16x16xf32>
    %hin = arith.cmpi eq, %hs, %hcc : index
    %win = arith.cmpi eq, %ws, %wcc : index
    %in = arith.andi %hin, %win : i1
    %r = arith.select %in, %v, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x3x18x18xf32>
  %e2 = tensor.empty() : tensor<1x8x16x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, m, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>,
                                        affine_map<(n, m, oh, ow, c, kh, kw) -> (m, c, kh, kw)>,
                                        affine_map<(n, m, oh, ow, c, kh, kw) -> (n, m, oh, ow)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%padded, %w : tensor<1x3x18x18xf32>, tensor<8x3x3x3xf32>) outs(%e2 : tensor<1x8x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x8x16x16xf32>
  return %y : tensor<1x8x16x16xf32>
}
