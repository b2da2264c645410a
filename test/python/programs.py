"""Graph-level test programs shared by the compile and emulation tests, with numpy references."""

from __future__ import annotations

import numpy as np

# A batched matmul and a max-reduction whose extents no tile divides.
BATCHED_AND_MAX = """
#a = affine_map<(b, i, j, k) -> (b, i, k)>
#w = affine_map<(b, i, j, k) -> (b, k, j)>
#o = affine_map<(b, i, j, k) -> (b, i, j)>
#x = affine_map<(i, k) -> (i, k)>
#r = affine_map<(i, k) -> (i)>
func.func @ops(%a: tensor<3x37x19xf32>, %w: tensor<3x19x70xf32>, %x: tensor<45x300xf32>)
    -> (tensor<3x37x70xf32>, tensor<45xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x37x70xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<3x37x70xf32>) -> tensor<3x37x70xf32>
  %bmm = linalg.generic {indexing_maps = [#a, #w, #o],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<3x37x19xf32>, tensor<3x19x70xf32>) outs(%f : tensor<3x37x70xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<3x37x70xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<45xf32>
  %fr = linalg.fill ins(%ninf : f32) outs(%er : tensor<45xf32>) -> tensor<45xf32>
  %max = linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<45x300xf32>) outs(%fr : tensor<45xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %acc, %v : f32
    linalg.yield %m : f32
  } -> tensor<45xf32>
  return %bmm, %max : tensor<3x37x70xf32>, tensor<45xf32>
}
"""


def batched_and_max_inputs(seed: int):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, 37, 19)).astype(np.float32)
    w = rng.standard_normal((3, 19, 70)).astype(np.float32)
    x = rng.standard_normal((45, 300)).astype(np.float32)
    return (a, w, x), (a @ w, x.max(axis=1))


# A strided convolution (window maps d2 * 2 + d5), a gather through linalg.index and
# tensor.extract (an id past the table fails the run with error 1, the read is clamped), and a
# strided, offset slice (d0 * 3 + 1).
CONV_GATHER_SLICE = """
#g = affine_map<(d0, d1) -> (d0, d1)>
func.func @f(%x: tensor<2x3x17x17xf32>, %w: tensor<8x3x3x3xf32>, %table: tensor<50x16xf32>, %ids: tensor<6xi64>, %v: tensor<40xf32>)
    -> (tensor<2x8x8x8xf32>, tensor<6x16xf32>, tensor<13xf32>)
    attributes {tile.errors = [#tile.error<1 : i32, "an id is past the end of the table">]} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x8x8xf32>) -> tensor<2x8x8x8xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
     ins(%x, %w : tensor<2x3x17x17xf32>, tensor<8x3x3x3xf32>) outs(%f : tensor<2x8x8x8xf32>) -> tensor<2x8x8x8xf32>
  %eg = tensor.empty() : tensor<6x16xf32>
  %g = linalg.generic {indexing_maps = [#g], iterator_types = ["parallel", "parallel"]} outs(%eg : tensor<6x16xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %id = tensor.extract %ids[%i] : tensor<6xi64>
    %row = arith.index_cast %id : i64 to index
    %c0 = arith.constant 0 : index
    %c49 = arith.constant 49 : index
    %c50 = arith.constant 50 : index
    %inside = arith.cmpi ult, %row, %c50 : index
    "tile.check"(%inside) {code = 1 : i32} : (i1) -> ()
    %low = arith.maxsi %row, %c0 : index
    %clamped = arith.minsi %low, %c49 : index
    %val = tensor.extract %table[%clamped, %j] : tensor<50x16xf32>
    linalg.yield %val : f32
  } -> tensor<6x16xf32>
  %es = tensor.empty() : tensor<13xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0 * 3 + 1)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%v : tensor<40xf32>) outs(%es : tensor<13xf32>) {
  ^bb0(%a: f32, %out: f32):
    linalg.yield %a : f32
  } -> tensor<13xf32>
  return %c, %g, %s : tensor<2x8x8x8xf32>, tensor<6x16xf32>, tensor<13xf32>
}
"""


def conv_gather_slice_inputs(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 17, 17)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    table = rng.standard_normal((50, 16)).astype(np.float32)
    ids = np.array([3, 0, 49, 7, 7, 12], np.int64)
    v = rng.standard_normal(40).astype(np.float32)
    conv = np.zeros((2, 8, 8, 8), np.float32)
    for oh in range(8):
        for ow in range(8):
            window = x[:, :, 2 * oh : 2 * oh + 3, 2 * ow : 2 * ow + 3]
            conv[:, :, oh, ow] = np.einsum("nchw,fchw->nf", window, w)
    return (x, w, table, ids, v), (conv, table[ids], v[1::3])


# A dense constant operand and reshapes between kernels (views of one buffer on the device).
CONSTANT_AND_RESHAPE = """
func.func @f(%x: tensor<4x6xf32>) -> tensor<2x12xf32> {
  %k = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %e = tensor.empty() : tensor<4x6xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %k : tensor<4x6xf32>, tensor<6xf32>) outs(%e : tensor<4x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x6xf32>
  %c = tensor.collapse_shape %s [[0, 1]] : tensor<4x6xf32> into tensor<24xf32>
  %r = tensor.expand_shape %c [[0, 1]] output_shape [2, 12] : tensor<24xf32> into tensor<2x12xf32>
  %e2 = tensor.empty() : tensor<2x12xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r : tensor<2x12xf32>) outs(%e2 : tensor<2x12xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<2x12xf32>
  return %y : tensor<2x12xf32>
}
"""


def constant_and_reshape_inputs():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    return (x,), ((2 * x * np.arange(1, 7, dtype=np.float32)).reshape(2, 12),)


# f16 operands, f32 accumulation: the tensor-core (m16n8k16 mma.sync) path.
HALF_MATMUL = """
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @hmm(%a: tensor<128x256xf16>, %b: tensor<256x128xf16>) -> tensor<128x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x256xf16>, tensor<256x128xf16>) outs(%c : tensor<128x128xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %m = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<128x128xf32>
  return %r : tensor<128x128xf32>
}
"""


def half_matmul_inputs(seed: int):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((128, 256)).astype(np.float16)
    b = rng.standard_normal((256, 128)).astype(np.float16)
    return (a, b), (a.astype(np.float32) @ b.astype(np.float32),)


# Booleans (i1) in buffers: an input mask, a constant mask (a global) and a compare result.
BOOL_MASKS = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @masks(%x: tensor<4x8xf32>, %keep: tensor<4x8xi1>) -> (tensor<4x8xi1>, tensor<4x8xf32>) {
  %pattern = arith.constant dense<[true, false, true, true, false, false, true, false]> : tensor<8xi1>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4x8xi1>
  %positive = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %pattern : tensor<4x8xf32>, tensor<8xi1>) outs(%e1 : tensor<4x8xi1>) {
  ^bb0(%v: f32, %p: i1, %o: i1):
    %gt = arith.cmpf ogt, %v, %zero : f32
    %both = arith.andi %gt, %p : i1
    linalg.yield %both : i1
  } -> tensor<4x8xi1>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %kept = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %keep : tensor<4x8xf32>, tensor<4x8xi1>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%v: f32, %k: i1, %o: f32):
    %s = arith.select %k, %v, %zero : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %positive, %kept : tensor<4x8xi1>, tensor<4x8xf32>
}
"""


def bool_masks_inputs(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 8)).astype(np.float32)
    keep = rng.random((4, 8)) > 0.5
    pattern = np.array([1, 0, 1, 1, 0, 0, 1, 0], bool)
    return (x, keep), ((x > 0) & pattern, np.where(keep, x, 0).astype(np.float32))


# Rows of 3 floats read from shared memory: a log-softmax over a 1x3 row (its max and sum of
# exponentials kept in shared memory for the last step) and a 2x4x3 by 3 contraction (staging
# buffers of 96 and 12 bytes). LLVM reads each row as one 16-byte vector with an unused fourth
# lane, which must stay inside the shared allocation.
RAGGED_ROWS = """
#x = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
#a = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#b = affine_map<(d0, d1, d2) -> (d2)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @rows(%x: tensor<1x3xf32>, %a: tensor<2x4x3xf32>, %b: tensor<3xf32>)
    -> (tensor<1x3xf32>, tensor<2x4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1xf32>
  %f1 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1xf32>) -> tensor<1xf32>
  %max = linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<1x3xf32>) outs(%f1 : tensor<1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %acc, %v : f32
    linalg.yield %m : f32
  } -> tensor<1xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1xf32>) -> tensor<1xf32>
  %sum = linalg.generic {indexing_maps = [#x, #r, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x, %max : tensor<1x3xf32>, tensor<1xf32>) outs(%f2 : tensor<1xf32>) {
  ^bb0(%v: f32, %m: f32, %acc: f32):
    %d = arith.subf %v, %m : f32
    %p = math.exp %d : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1xf32>
  %e3 = tensor.empty() : tensor<1x3xf32>
  %lsm = linalg.generic {indexing_maps = [#x, #r, #r, #x], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max, %sum : tensor<1x3xf32>, tensor<1xf32>, tensor<1xf32>) outs(%e3 : tensor<1x3xf32>) {
  ^bb0(%v: f32, %m: f32, %s: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %l = math.log %s : f32
    %y = arith.subf %d, %l : f32
    linalg.yield %y : f32
  } -> tensor<1x3xf32>
  %e4 = tensor.empty() : tensor<2x4xf32>
  %f4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %mv = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<2x4x3xf32>, tensor<3xf32>) outs(%f4 : tensor<2x4xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  return %lsm, %mv : tensor<1x3xf32>, tensor<2x4xf32>
}
"""


def ragged_rows_inputs(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 3)).astype(np.float32)
    a = rng.standard_normal((2, 4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    shifted = x - x.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return (x, a, b), (log_softmax, a @ b)


def tiled_cases(seed: int) -> list:
    """The programs above as pytest parameters (source, make_inputs), inputs from ``seed``."""
    import pytest

    return [
        pytest.param(
            BATCHED_AND_MAX, lambda: batched_and_max_inputs(seed), id="batched-matmul-and-max"
        ),
        pytest.param(
            CONV_GATHER_SLICE, lambda: conv_gather_slice_inputs(seed), id="conv-gather-slice"
        ),
        pytest.param(CONSTANT_AND_RESHAPE, constant_and_reshape_inputs, id="constant-and-reshape"),
        pytest.param(HALF_MATMUL, lambda: half_matmul_inputs(seed), id="f16-matmul"),
        pytest.param(BOOL_MASKS, lambda: bool_masks_inputs(seed), id="bool-masks"),
        pytest.param(RAGGED_ROWS, lambda: ragged_rows_inputs(seed), id="ragged-rows"),
    ]
