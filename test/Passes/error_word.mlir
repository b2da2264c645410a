// RUN: quartet-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(quartet-error-word)' | FileCheck %s

/// Check that a function whose generic checks at run time gets an error-word argument after
/// its others, marked tile.error_word, and that every check reports into it.
// CHECK-LABEL: func.func @gather
//  CHECK-SAME: (%{{.*}}: memref<4xi64>, %{{.*}}: memref<8xf32>, %{{.*}}: memref<4xf32>, %[[WORD:.*]]: memref<1xi32> {tile.error_word})
//       CHECK: "tile.check"(%{{.*}}, %[[WORD]]) {code = 1 : i32} : (i1, memref<1xi32>) -> ()
//       CHECK: "tile.check"(%{{.*}}, %[[WORD]]) {code = 2 : i32} : (i1, memref<1xi32>) -> ()
#map = affine_map<(d0) -> (d0)>
func.func @gather(%idx: memref<4xi64>, %table: memref<8xf32>, %out: memref<4xf32>) attributes {tile.errors = [#tile.error<1 : i32, "node 'g' (Gather): index out of range">, #tile.error<2 : i32, "node 'g' (Gather): index negative">]} {
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%idx : memref<4xi64>) outs(%out : memref<4xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c0 = arith.constant 0 : index
    %c7 = arith.constant 7 : index
    %c8 = arith.constant 8 : index
    %p = arith.index_cast %i : i64 to index
    %ok = arith.cmpi ult, %p, %c8 : index
    "tile.check"(%ok) {code = 1 : i32} : (i1) -> ()
    %positive = arith.cmpi sge, %p, %c0 : index
    "tile.check"(%positive) {code = 2 : i32} : (i1) -> ()
    %low = arith.maxsi %p, %c0 : index
    %q = arith.minsi %low, %c7 : index
    %v = memref.load %table[%q] : memref<8xf32>
    linalg.yield %v : f32
  }
  return
}

// -----

/// Check that a function without checks keeps its arguments, and that a check already wired
/// to its word is left alone.
// CHECK-LABEL: func.func @plain
//  CHECK-SAME: (%{{.*}}: memref<4xf32>)
// CHECK-LABEL: func.func @wired
//  CHECK-SAME: (%[[OK:.*]]: i1, %[[WORD:.*]]: memref<1xi32> {tile.error_word})
//  CHECK-NEXT: "tile.check"(%[[OK]], %[[WORD]]) {code = 1 : i32}
//  CHECK-NEXT: return
func.func @plain(%x: memref<4xf32>) {
  return
}
func.func @wired(%ok: i1, %word: memref<1xi32> {tile.error_word}) attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  "tile.check"(%ok, %word) {code = 1 : i32} : (i1, memref<1xi32>) -> ()
  return
}

// -----

/// Check that a function with checks that another function calls is refused (its callers
/// would need the new argument).
// expected-error @below {{quartet-error-word: a function with runtime checks cannot be called}}
func.func private @callee(%ok: i1) attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  "tile.check"(%ok) {code = 1 : i32} : (i1) -> ()
  return
}
func.func @caller(%ok: i1) {
  call @callee(%ok) : (i1) -> ()
  return
}
