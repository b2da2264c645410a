// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller{arch=sm_90},test-welder-schedule{arch=sm_90})' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#row = affine_map<(d0, d1) -> (d0)>

/// Check that a matmul's fill is its accumulator's initialisation (connected first, always)
/// and that the bias + ReLU becomes its epilogue in registers: one kernel of three operators,
/// with the model's figures for the merged kernel and for the two apart. The epilogue reads
/// each point once, where the matmul computes it, so shared memory is not tried.
// CHECK-LABEL: func.func @matmul_bias_relu
// CHECK-SAME: welder.decisions = ["op0 -> op1: reg {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected", "op1 -> op2: reg {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected"]
// CHECK-SAME: welder.kernels = ["op0 op1 op2 -> op2: op0->op1 reg, op1->op2 reg; {{[0-9.]+}} us"]
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

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

/// Check that softmax is one kernel: the row max (op1) and the exponent (op2) are read from
/// shared memory by the later phases, since a reduction's threads hold other points than its
/// readers'; the lowering's refusal of each register-level read is recorded.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: "op1 -> op2: reg refused (operand #1 is read at 'reg' from a reduction but not at the points its producer computes (a permutation of its loops)), smem {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected"
// CHECK-SAME: "op2 -> op4: reg refused (a reduction cannot read in registers a value another phase computes (its threads hold other points)), smem
// CHECK-SAME: welder.kernels = ["op0 op1 op2 op3 op4 op5 -> op5: op0->op1 reg, op1->op2 smem, op2->op4 smem, op3->op4 reg, op2->op5 smem, op4->op5 smem; {{[0-9.]+}} us"]
func.func @softmax(%x: tensor<32x100xf32>) -> tensor<32x100xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<32xf32>
  %e = tensor.empty() : tensor<32x100xf32>
  %minit = linalg.fill ins(%ninf : f32) outs(%er : tensor<32xf32>) -> tensor<32xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<32x100xf32>) outs(%minit : tensor<32xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %v, %acc : f32
    linalg.yield %m : f32
  } -> tensor<32xf32>
  %exp = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<32x100xf32>, tensor<32xf32>) outs(%e : tensor<32x100xf32>) {
  ^bb0(%v: f32, %m: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %x2 = math.exp %d : f32
    linalg.yield %x2 : f32
  } -> tensor<32x100xf32>
  %sinit = linalg.fill ins(%zero : f32) outs(%er : tensor<32xf32>) -> tensor<32xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<32x100xf32>) outs(%sinit : tensor<32xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<32xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%exp, %sum : tensor<32x100xf32>, tensor<32xf32>) outs(%e : tensor<32x100xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %q = arith.divf %v, %s : f32
    linalg.yield %q : f32
  } -> tensor<32x100xf32>
  return %y : tensor<32x100xf32>
}

// -----

/// Check that a gather of another operator's result (computed indices) is no edge: the two
/// stay apart, and the decision says why.
// CHECK-LABEL: func.func @gather
// CHECK-SAME: "op0 -> op1: kept apart (read through computed indices (a gather) or a non-affine reshape: no affine tile)"
func.func @gather(%x: tensor<16xf32>, %idx: tensor<8xindex>) -> tensor<8xf32> {
  %e16 = tensor.empty() : tensor<16xf32>
  %e8 = tensor.empty() : tensor<8xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e16 : tensor<16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %v : f32
    linalg.yield %m : f32
  } -> tensor<16xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%idx : tensor<8xindex>) outs(%e8 : tensor<8xf32>) {
  ^bb0(%i: index, %o: f32):
    %v = tensor.extract %sq[%i] : tensor<16xf32>
    linalg.yield %v : f32
  } -> tensor<8xf32>
  return %g : tensor<8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

/// Check that only a clamp into the whole result ([0, 15] of 16, either nesting) makes a read
/// a captured edge: op0's read is clamped into [1, 15] and op1's into [0, 7], which are reads
/// at computed positions (gathers), kept apart; op2's, clamped with max outermost, is an edge
/// and fuses.
// CHECK-LABEL: func.func @clamps
// CHECK-SAME: welder.decisions = [
// CHECK-SAME: "op2 -> op3: reg {{[0-9.]+}} us, smem refused ({{[^)]*}}); apart {{[0-9.]+}} us: connected"
// CHECK-SAME: "op0 -> op3: kept apart (read through computed indices (a gather) or a non-affine reshape: no affine tile)"
// CHECK-SAME: "op1 -> op3: kept apart (read through computed indices (a gather) or a non-affine reshape: no affine tile)"
// CHECK-SAME: welder.kernels = ["op0 -> op0: alone; {{[0-9.]+}} us", "op1 -> op1: alone; {{[0-9.]+}} us", "op2 op3 -> op3: op2->op3 reg; {{[0-9.]+}} us"]
func.func @clamps(%x: tensor<16xf32>) -> tensor<18xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  %c15 = arith.constant 15 : index
  %e16 = tensor.empty() : tensor<16xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e16 : tensor<16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %v : f32
    linalg.yield %m : f32
  } -> tensor<16xf32>
  %neg = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e16 : tensor<16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<16xf32>
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e16 : tensor<16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %a = math.absf %v : f32
    linalg.yield %a : f32
  } -> tensor<16xf32>
  %e18 = tensor.empty() : tensor<18xf32>
  %sum = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]}
      outs(%e18 : tensor<18xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %s = arith.subi %i, %c1 : index
    %lo = arith.maxsi %s, %c1 : index
    %a = arith.minsi %lo, %c15 : index
    %va = tensor.extract %sq[%a] : tensor<16xf32>
    %lo2 = arith.maxsi %s, %c0 : index
    %b = arith.minsi %lo2, %c7 : index
    %vb = tensor.extract %neg[%b] : tensor<16xf32>
    %hi = arith.minsi %s, %c15 : index
    %c = arith.maxsi %c0, %hi : index
    %vc = tensor.extract %abs[%c] : tensor<16xf32>
    %ab = arith.addf %va, %vb : f32
    %abc = arith.addf %ab, %vc : f32
    linalg.yield %abc : f32
  } -> tensor<18xf32>
  return %sum : tensor<18xf32>
}

// -----

#nchw = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

/// Check that a padding's clamped read of the ReLU before it is an edge (op0 -> op1), that
/// the padding (which only moves data) is connected into the convolution's window first (after
/// the fill), evaluated inline in its staging, and that the ReLU then joins in registers,
/// evaluated at each clamped position the padding reads: one kernel, no gather refusal.
// CHECK-LABEL: func.func @relu_pad_conv
// CHECK-SAME: welder.decisions = ["op2 -> op3: reg {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected", "op1 -> op3: reg {{[0-9.]+}} us, smem {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected", "op0 -> op1: reg {{[0-9.]+}} us, smem {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected"]
// CHECK-SAME: welder.kernels = ["op0 op1 op2 op3 -> op3: op0->op1 reg, op1->op3 reg, op2->op3 reg;
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

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that an operator that updates a result in place (op1 writes into op0's result, as a
/// scatter writes into its data) is kept apart from op0 while something else (op2) reads
/// op0's result too: bufferization would copy op0's result between the two members of one
/// kernel. op0 and its other reader still fuse.
// CHECK-LABEL: func.func @updated_in_place_and_read
// CHECK-SAME: welder.decisions = ["op0 -> op1: apart {{[0-9.]+}} us: kept apart (a member updates in place a result that something else reads)", "op0 -> op2: reg {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected"]
func.func @updated_in_place_and_read(%x: tensor<32x100xf32>, %u: tensor<32x100xf32>) -> (tensor<32x100xf32>, tensor<32x100xf32>) {
  %e = tensor.empty() : tensor<32x100xf32>
  %neg = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<32x100xf32>) outs(%e : tensor<32x100xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<32x100xf32>
  %updated = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%u : tensor<32x100xf32>) outs(%neg : tensor<32x100xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  } -> tensor<32x100xf32>
  %e2 = tensor.empty() : tensor<32x100xf32>
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%neg : tensor<32x100xf32>) outs(%e2 : tensor<32x100xf32>) {
  ^bb0(%v: f32, %o: f32):
    %a = math.absf %v : f32
    linalg.yield %a : f32
  } -> tensor<32x100xf32>
  return %updated, %abs : tensor<32x100xf32>, tensor<32x100xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that a copy into a loop-carried value (the second step of a double-buffered loop)
/// joins the operator that computes the value when nothing in the group reads the carried
/// value's old contents (the first loop's op0 reads %fresh, not %h), and stays apart when a
/// member reads them (the second loop's op0 reads %h: another block could read what the copy
/// already overwrote). Each loop body is a tile-graph of its own (op0, op1).
// CHECK-LABEL: func.func @copy_into_carried
// CHECK-SAME: welder.decisions = ["op0 -> op1: reg {{[0-9.]+}} us; apart {{[0-9.]+}} us: connected", "op0 -> op1: apart {{[0-9.]+}} us: kept apart (a stored result updates a buffer in place)"]
func.func @copy_into_carried(%x: tensor<32x128xf32>, %fresh: tensor<32x128xf32>) -> (tensor<32x128xf32>, tensor<32x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%h = %x) -> (tensor<32x128xf32>) {
    %e = tensor.empty() : tensor<32x128xf32>
    %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%fresh : tensor<32x128xf32>) outs(%e : tensor<32x128xf32>) {
    ^bb0(%v: f32, %o: f32):
      %n = math.tanh %v : f32
      linalg.yield %n : f32
    } -> tensor<32x128xf32>
    %copy = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%t : tensor<32x128xf32>) outs(%h : tensor<32x128xf32>) {
    ^bb0(%v: f32, %o: f32):
      linalg.yield %v : f32
    } -> tensor<32x128xf32>
    scf.yield %copy : tensor<32x128xf32>
  }
  %s = scf.for %i = %c0 to %c4 step %c1 iter_args(%h = %x) -> (tensor<32x128xf32>) {
    %e = tensor.empty() : tensor<32x128xf32>
    %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%h : tensor<32x128xf32>) outs(%e : tensor<32x128xf32>) {
    ^bb0(%v: f32, %o: f32):
      %n = math.tanh %v : f32
      linalg.yield %n : f32
    } -> tensor<32x128xf32>
    %copy = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%t : tensor<32x128xf32>) outs(%h : tensor<32x128xf32>) {
    ^bb0(%v: f32, %o: f32):
      linalg.yield %v : f32
    } -> tensor<32x128xf32>
    scf.yield %copy : tensor<32x128xf32>
  }
  return %r, %s : tensor<32x128xf32>, tensor<32x128xf32>
}
