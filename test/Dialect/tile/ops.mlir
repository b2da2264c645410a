// RUN: quartet-opt %s | quartet-opt | FileCheck %s

/// Check that a two-level rprogram on a linalg op round-trips.
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.matmul {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 16>>], array<i64: 0, 4>>}
func.func @matmul(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = linalg.matmul {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 16>>], array<i64: 0, 4>>}
      ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

/// Check that a global-level tile may lead the program.
// CHECK-LABEL: func.func @three_levels
// CHECK: #tile.rtile<"global", array<i64: 128, 128, 32>>
func.func @three_levels(%a: tensor<128x32xf32>, %b: tensor<32x128xf32>, %c: tensor<128x128xf32>) -> tensor<128x128xf32> {
  %0 = linalg.matmul {tile.program = #tile.rprogram<[#tile.rtile<"global", array<i64: 128, 128, 32>>, #tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 16>>], array<i64: 0, 0>>}
      ins(%a, %b : tensor<128x32xf32>, tensor<32x128xf32>) outs(%c : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %0 : tensor<128x128xf32>
}

/// Check that fused groups, operand levels, plans, kernels and candidates round-trip: the
/// matmul (a producer of group kernel0 over a 2x2 grid, its result not stored) keeps its result
/// in shared memory for the add (the group's output), which reads its second operand from
/// global memory.
// CHECK-LABEL: func.func @fused
// CHECK: linalg.matmul {tile.candidates = #tile.candidates<[#tile.rprogram<[#tile.rtile<"smem", array<i64: 32, 32, 16>>], array<i64: 0, 0>>]>, tile.group = #tile.group<"kernel0", array<i64: 2, 2>, false, false>, tile.plan = #tile.plan<array<i64: 8, 8, 1>, array<i64: 0, 1>, true, array<i64>>}
// CHECK: linalg.add {tile.group = #tile.group<"kernel0", array<i64: 2, 2>, true, true>, tile.kernel = #tile.kernel<"fused_k0">, tile.levels = [#tile.edge<"smem">, #tile.edge<"global">, #tile.edge<"global">]}
func.func @fused(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = linalg.matmul {tile.group = #tile.group<"kernel0", array<i64: 2, 2>, false, false>, tile.plan = #tile.plan<array<i64: 8, 8, 1>, array<i64: 0, 1>, true, array<i64>>, tile.candidates = #tile.candidates<[#tile.rprogram<[#tile.rtile<"smem", array<i64: 32, 32, 16>>], array<i64: 0, 0>>]>}
      ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  %1 = linalg.add {tile.group = #tile.group<"kernel0", array<i64: 2, 2>, true, true>, tile.kernel = #tile.kernel<"fused_k0">, tile.levels = [#tile.edge<"smem">, #tile.edge<"global">, #tile.edge<"global">]}
      ins(%0, %c : tensor<64x64xf32>, tensor<64x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %1 : tensor<64x64xf32>
}

/// Check that tile.stage round-trips, into a padded shared-memory buffer.
// CHECK-LABEL: func.func @stage
// CHECK: "tile.stage"(%{{.*}}, %{{.*}}) {from = "global", to = "smem"} : (memref<64x16xf32, strided<[32, 1], offset: ?>>, memref<64x20xf32, 3>) -> ()
// CHECK: "tile.stage"(%{{.*}}, %{{.*}}) {from = "smem", to = "reg"} : (memref<4x16xf32, 3>, memref<4x16xf32>) -> ()
func.func @stage(%a: memref<64x16xf32, strided<[32, 1], offset: ?>>, %smem: memref<64x20xf32, 3>, %s: memref<4x16xf32, 3>, %r: memref<4x16xf32>) {
  "tile.stage"(%a, %smem) {from = "global", to = "smem"} : (memref<64x16xf32, strided<[32, 1], offset: ?>>, memref<64x20xf32, 3>) -> ()
  "tile.stage"(%s, %r) {from = "smem", to = "reg"} : (memref<4x16xf32, 3>, memref<4x16xf32>) -> ()
  return
}

/// Check that tile.mma round-trips: shared A and B tiles, a per-thread accumulator, the thread
/// and the tile origins.
// CHECK-LABEL: func.func @mma
// CHECK: "tile.mma"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {shape = "m16n8k16"} : (memref<64x24xf16, 3>, memref<16x72xf16, 3>, memref<256x16xf32, 5>, index, index, index, index, index, index) -> ()
func.func @mma(%a: memref<64x24xf16, 3>, %b: memref<16x72xf16, 3>, %acc: memref<256x16xf32, 5>, %t: index, %i: index) {
  "tile.mma"(%a, %b, %acc, %t, %i, %i, %i, %i, %i) {shape = "m16n8k16"} : (memref<64x24xf16, 3>, memref<16x72xf16, 3>, memref<256x16xf32, 5>, index, index, index, index, index, index) -> ()
  return
}

/// Check that runtime checks round-trip: a function's error table, a check inside a generic
/// body before quartet-error-word (no word) and after it (the word argument).
// CHECK-LABEL: func.func @check
// CHECK-SAME: %{{.*}}: memref<1xi32> {tile.error_word}
// CHECK-SAME: attributes {tile.errors = [#tile.error<1 : i32, "node 'g' (Gather): index out of range">, #tile.error<2 : i32, "node 's' (ScatterND): index out of range">]}
// CHECK: "tile.check"(%{{.*}}) {code = 1 : i32} : (i1) -> ()
// CHECK: "tile.check"(%{{.*}}, %{{.*}}) {code = 2 : i32} : (i1, memref<1xi32>) -> ()
func.func @check(%ok: i1, %word: memref<1xi32> {tile.error_word}) attributes {tile.errors = [#tile.error<1 : i32, "node 'g' (Gather): index out of range">, #tile.error<2 : i32, "node 's' (ScatterND): index out of range">]} {
  "tile.check"(%ok) {code = 1 : i32} : (i1) -> ()
  "tile.check"(%ok, %word) {code = 2 : i32} : (i1, memref<1xi32>) -> ()
  return
}
