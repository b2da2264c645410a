// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller{arch=sm_90},quartet-speculate-branches{arch=sm_90 phase-seconds=3.0e-07})' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-roller{arch=sm_90},quartet-speculate-branches{arch=sm_90 phase-seconds=1.0e-08})' | FileCheck %s --check-prefix=CHEAP

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that the negation of %h, in both branches, leaves the If once (the else branch reads
/// the moved one), saving half a phase: a kernel of its own in the else branch only (Welder
/// cannot fuse it into both the contraction and the product that read it there); that the
/// square, in the then branch only, a kernel of its own there and small, leaves it too, its
/// cost half its time (it now runs when the else branch does); and that the contractions,
/// each its branch's work, stay. With a phase cheaper than running the square for nothing
/// (CHEAP), the model keeps the square in its branch, while the negation still leaves: in
/// both branches it costs nothing more.
// CHECK-LABEL: func.func @gated
// CHECK-SAME: grinder.speculated_from = [#{{.*}}, #{{.*}}]
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x256xf32>) {{.*}}grinder.speculated = {cost_seconds = 0.000000e+00 : f64, from = "both", saved_seconds = 1.500000e-07 : f64}
// CHECK: arith.negf
// CHECK: %[[S:.*]] = linalg.generic {{.*}}grinder.speculated = {cost_seconds = {{.*}} : f64, from = "then", saved_seconds = 3.000000e-07 : f64}
// CHECK: arith.mulf %[[X:[a-z_0-9]+]], %[[X]] : f32
// CHECK: scf.if
// CHECK-NOT: arith.negf
// CHECK: linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<2x256xf32>, tensor<256x256xf32>)
// CHECK-NOT: grinder.speculated
// CHECK: } else {
// CHECK-NOT: arith.negf
// CHECK: linalg.generic {{.*}} ins(%[[N]], %{{.*}} : tensor<2x256xf32>, tensor<256x256xf32>)
// CHECK: return

// CHEAP-LABEL: func.func @gated
// CHEAP: linalg.generic {{.*}}from = "both"
// CHEAP: arith.negf
// CHEAP: scf.if
// CHEAP: arith.mulf %[[X:[a-z_0-9]+]], %[[X]] : f32
// CHEAP-NOT: grinder.speculated
// CHEAP: } else {
func.func @gated(%h: tensor<2x256xf32>, %w: tensor<256x256xf32>, %p: i1) -> tensor<2x256xf32> {
  %zero = arith.constant 0.0 : f32
  %y = scf.if %p -> (tensor<2x256xf32>) {
    %e0 = tensor.empty() : tensor<2x256xf32>
    %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<2x256xf32>) outs(%e0 : tensor<2x256xf32>) {
    ^bb0(%v: f32, %o: f32):
      %r = arith.negf %v : f32
      linalg.yield %r : f32
    } -> tensor<2x256xf32>
    %e1 = tensor.empty() : tensor<2x256xf32>
    %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<2x256xf32>) outs(%e1 : tensor<2x256xf32>) {
    ^bb0(%v: f32, %o: f32):
      %r = arith.mulf %v, %v : f32
      linalg.yield %r : f32
    } -> tensor<2x256xf32>
    %e2 = tensor.empty() : tensor<2x256xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x256xf32>) -> tensor<2x256xf32>
    %t = linalg.matmul ins(%s, %w : tensor<2x256xf32>, tensor<256x256xf32>) outs(%f : tensor<2x256xf32>) -> tensor<2x256xf32>
    %e3 = tensor.empty() : tensor<2x256xf32>
    %u = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %s, %n : tensor<2x256xf32>, tensor<2x256xf32>, tensor<2x256xf32>) outs(%e3 : tensor<2x256xf32>) {
    ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      %r = arith.addf %m, %c : f32
      linalg.yield %r : f32
    } -> tensor<2x256xf32>
    scf.yield %u : tensor<2x256xf32>
  } else {
    %e0 = tensor.empty() : tensor<2x256xf32>
    %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<2x256xf32>) outs(%e0 : tensor<2x256xf32>) {
    ^bb0(%v: f32, %o: f32):
      %r = arith.negf %v : f32
      linalg.yield %r : f32
    } -> tensor<2x256xf32>
    %e2 = tensor.empty() : tensor<2x256xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x256xf32>) -> tensor<2x256xf32>
    %t = linalg.matmul ins(%n, %w : tensor<2x256xf32>, tensor<256x256xf32>) outs(%f : tensor<2x256xf32>) -> tensor<2x256xf32>
    %e3 = tensor.empty() : tensor<2x256xf32>
    %u = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %n : tensor<2x256xf32>, tensor<2x256xf32>) outs(%e3 : tensor<2x256xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      linalg.yield %m : f32
    } -> tensor<2x256xf32>
    scf.yield %u : tensor<2x256xf32>
  }
  return %y : tensor<2x256xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that the negation stays where it reads a value its branch computes (here by an
/// insert_slice, which does not move), a kernel of its own and small as it is: it cannot run
/// before the value it reads.
// CHECK-LABEL: func.func @reads_its_branch
// CHECK-NOT: grinder.speculated
// CHECK: scf.if
// CHECK: tensor.insert_slice
// CHECK: arith.negf
// CHECK: } else {
func.func @reads_its_branch(%h: tensor<1x256xf32>, %g: tensor<2x256xf32>, %w: tensor<256x256xf32>, %p: i1) -> tensor<2x256xf32> {
  %zero = arith.constant 0.0 : f32
  %y = scf.if %p -> (tensor<2x256xf32>) {
    %c = tensor.insert_slice %h into %g[1, 0] [1, 256] [1, 1] : tensor<1x256xf32> into tensor<2x256xf32>
    %e1 = tensor.empty() : tensor<2x256xf32>
    %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%c : tensor<2x256xf32>) outs(%e1 : tensor<2x256xf32>) {
    ^bb0(%v: f32, %o: f32):
      %r = arith.negf %v : f32
      linalg.yield %r : f32
    } -> tensor<2x256xf32>
    %e2 = tensor.empty() : tensor<2x256xf32>
    %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x256xf32>) -> tensor<2x256xf32>
    %t = linalg.matmul ins(%n, %w : tensor<2x256xf32>, tensor<256x256xf32>) outs(%f : tensor<2x256xf32>) -> tensor<2x256xf32>
    %e3 = tensor.empty() : tensor<2x256xf32>
    %u = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %n : tensor<2x256xf32>, tensor<2x256xf32>) outs(%e3 : tensor<2x256xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      linalg.yield %m : f32
    } -> tensor<2x256xf32>
    scf.yield %u : tensor<2x256xf32>
  } else {
    scf.yield %g : tensor<2x256xf32>
  }
  return %y : tensor<2x256xf32>
}
