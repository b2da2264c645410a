// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(canonicalize),cse)' | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling{threads=64 reg-tile=2},func.func(canonicalize))' | FileCheck %s --check-prefix=MIXED
// RUN: quartet-opt %s --split-input-file -pass-pipeline='builtin.module(cse)' | FileCheck %s --check-prefix=SINGLE-DASH

/// Check that upstream passes run, nested (func.func(canonicalize)) and on the module (cse).

// CHECK-LABEL: func.func @add_zero
//  CHECK-SAME:   (%[[ARG:.*]]: i32)
//  CHECK-NEXT:   return %[[ARG]] : i32
// MIXED-LABEL: func.func @add_zero
//  MIXED-NEXT:   return
// SINGLE-DASH-LABEL: func.func @add_zero
//       SINGLE-DASH:   arith.addi
func.func @add_zero(%a: i32) -> i32 {
  %zero = arith.constant 0 : i32
  %sum = arith.addi %a, %zero : i32
  return %sum : i32
}

// -----

/// Check that a Quartet pass with options and an upstream pass run in one pipeline.

// CHECK-LABEL: func.func @double
//   CHECK-NOT:   tile.program
// MIXED-LABEL: func.func @double
//       MIXED:   linalg.generic
//  MIXED-SAME:     tile.program = #tile.rprogram<
//   MIXED-NOT:   arith.constant
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @double(%a: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %unused = arith.constant 1.0 : f32
  %0 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<64x64xf32>) outs(%a : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}
