// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-hoist-invariants)' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#s = affine_map<(d0, d1) -> ()>

/// Check that a weight's transpose (and its empty destination) leaves the loop, while the
/// contraction that reads the carried value stays, and so does its zero init: hoisted, every
/// iteration would accumulate into the one tensor computed before the loop.
// CHECK-LABEL: func.func @transpose
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8x8xf32>
// CHECK: %[[WT:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<8x8xf32>) outs(%[[E]] : tensor<8x8xf32>)
// CHECK: scf.for
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} outs(%[[E2]] : tensor<4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[WT]] : tensor<4x8xf32>, tensor<8x8xf32>) outs(%[[INIT]] : tensor<4x8xf32>)
func.func @transpose(%h0: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %c5 step %c1 iter_args(%h = %h0) -> (tensor<4x8xf32>) {
    %e = tensor.empty() : tensor<8x8xf32>
    %wt = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
    ^bb0(%v: f32, %o: f32):
      linalg.yield %v : f32
    } -> tensor<8x8xf32>
    %e2 = tensor.empty() : tensor<4x8xf32>
    %init = linalg.generic {indexing_maps = [#s, #id], iterator_types = ["parallel", "parallel"]} ins(%zero : f32) outs(%e2 : tensor<4x8xf32>) {
    ^bb0(%v: f32, %o: f32):
      linalg.yield %v : f32
    } -> tensor<4x8xf32>
    %y = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%h, %wt : tensor<4x8xf32>, tensor<8x8xf32>) outs(%init : tensor<4x8xf32>) {
    ^bb0(%x: f32, %y2: f32, %acc: f32):
      %m = arith.mulf %x, %y2 : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    } -> tensor<4x8xf32>
    scf.yield %y : tensor<4x8xf32>
  }
  return %r : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

/// Check that an operator invariant in two nested loops leaves both, that one reading the
/// outer loop's index leaves the inner loop only, and that one with a runtime check stays.
/// (A destination shared with an operator that stays would keep both: see @shared.)
// CHECK-LABEL: func.func @nested
// CHECK: %[[NEG:.*]] = linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<8xf32>)
// CHECK: scf.for %[[I:[^ ]*]] =
// CHECK: %[[AT:.*]] = linalg.generic
// CHECK: arith.index_cast %[[I]]
// CHECK: scf.for
// CHECK: linalg.generic
// CHECK: tile.check
func.func @nested(%x: tensor<8xf32>) -> tensor<8xf32> attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> (tensor<8xf32>) {
    %s = scf.for %j = %c0 to %c3 step %c1 iter_args(%b = %a) -> (tensor<8xf32>) {
      %e = tensor.empty() : tensor<8xf32>
      %neg = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
      ^bb0(%v: f32, %o: f32):
        %n = arith.negf %v : f32
        linalg.yield %n : f32
      } -> tensor<8xf32>
      %e2 = tensor.empty() : tensor<8xf32>
      %at = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%e2 : tensor<8xf32>) {
      ^bb0(%o: f32):
        %k = arith.index_cast %i : index to i32
        %f = arith.sitofp %k : i32 to f32
        linalg.yield %f : f32
      } -> tensor<8xf32>
      %e3 = tensor.empty() : tensor<8xf32>
      %checked = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%neg, %at : tensor<8xf32>, tensor<8xf32>) outs(%e3 : tensor<8xf32>) {
      ^bb0(%v: f32, %w: f32, %o: f32):
        %ok = arith.cmpf oge, %v, %w : f32
        "tile.check"(%ok) {code = 1 : i32} : (i1) -> ()
        %sum = arith.addf %v, %w : f32
        linalg.yield %sum : f32
      } -> tensor<8xf32>
      %next = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%checked : tensor<8xf32>) outs(%b : tensor<8xf32>) {
      ^bb0(%v: f32, %o: f32):
        %n = arith.addf %v, %o : f32
        linalg.yield %n : f32
      } -> tensor<8xf32>
      scf.yield %next : tensor<8xf32>
    }
    scf.yield %s : tensor<8xf32>
  }
  return %r : tensor<8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

/// Check that an invariant operator stays when its destination must stay (it is also the
/// destination of an operator reading the loop's index), and nothing that reads it moves.
// CHECK-LABEL: func.func @shared
// CHECK: scf.for
// CHECK: tensor.empty
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: linalg.generic
// CHECK: arith.index_cast
func.func @shared(%x: tensor<8xf32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> (tensor<8xf32>) {
    %e = tensor.empty() : tensor<8xf32>
    %neg = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%v: f32, %o: f32):
      %n = arith.negf %v : f32
      linalg.yield %n : f32
    } -> tensor<8xf32>
    %at = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%neg : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%v: f32, %o: f32):
      %k = arith.index_cast %i : index to i32
      %f = arith.sitofp %k : i32 to f32
      %s = arith.addf %v, %f : f32
      linalg.yield %s : f32
    } -> tensor<8xf32>
    scf.yield %at : tensor<8xf32>
  }
  return %r : tensor<8xf32>
}
