// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling,quartet-lower-tiles)' --verify-diagnostics | FileCheck %s
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling{double-buffer=false},quartet-lower-tiles)' --verify-diagnostics | FileCheck %s --check-prefix=SINGLE
// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-fixed-tiling{tensor-cores=false},quartet-lower-tiles)' --verify-diagnostics | FileCheck %s --check-prefix=SCALAR

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that a tiled contraction becomes one block loop (a kernel) holding padded shared
/// buffers for both inputs (views at 32-byte aligned offsets into the block's one shared
/// allocation), a [thread, point] accumulator, and the phases: init; a prologue
/// copying the first 16-deep stage (aligned rows as 128-bit vectors); per stage one phase that
/// copies the next stage into the other half of the double buffer while computing this one,
/// and a single CTA barrier; then the store; and that the block loop records how it launches
/// (tile.launch: its grid, 256 threads, the allocation's bytes).
// CHECK-LABEL: func.func @matmul
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c2{{.*}}, %c4{{.*}})
// CHECK: %[[SMEM:.*]] = memref.alloca() {alignment = 32 : i64} : memref<18944xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[SMEM]][%c0{{.*}}][] : memref<18944xi8, #gpu.address_space<workgroup>> to memref<2x64x20xf32, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[SMEM]][%c10240{{.*}}][] : memref<18944xi8, #gpu.address_space<workgroup>> to memref<2x16x68xf32, #gpu.address_space<workgroup>>
// CHECK: %[[ACC:.*]] = memref.alloca() : memref<256x16xf32, #gpu.address_space<private>>
// CHECK: scf.parallel (%[[T0:.*]]) =
// CHECK: memref.store %{{.*}}, %[[ACC]][%[[T0]], %c15{{.*}}]
// CHECK: scf.parallel
// CHECK: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<128x512xf32>, vector<4xf32>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<2x64x20xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<512x256xf32>, vector<4xf32>
// CHECK: "schedule.barrier"() {scope = "cta"}
// CHECK: scf.for %{{.*}} = %{{.*}} to %c512{{.*}} step %c16
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: vector.load %arg0
// CHECK-COUNT-16: arith.mulf
// CHECK: "schedule.barrier"() {scope = "cta"}
// CHECK-NEXT: }
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg2[
// CHECK: tile.kernel = #tile.kernel<"matmul_k0">
// CHECK-SAME: tile.launch = #tile.launch<array<i64: 2, 4>, 256 : i64, 18944 : i64>
// CHECK-NOT: linalg.generic
// SINGLE-LABEL: func.func @matmul
// SINGLE: memref.view %{{.*}}[%c0{{.*}}][] : memref<9472xi8, #gpu.address_space<workgroup>> to memref<64x20xf32, #gpu.address_space<workgroup>>
// SINGLE: scf.for %{{.*}} = %{{.*}} to %c512{{.*}} step %c16
// SINGLE: vector.load %arg0
// SINGLE: "schedule.barrier"() {scope = "cta"}
// SINGLE-COUNT-16: arith.mulf
// SINGLE: "schedule.barrier"() {scope = "cta"}
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

#row = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// Check that a pointwise operator is one thread phase with no shared memory and no barrier,
/// its body cloned once per register point, and that a loop not divisible by the tile (10 in
/// blocks of 8) clamps its reads, signed (a position before the start reads element 0), and
/// guards its stores; its launch (64 x 2 blocks of 4 threads, no shared memory) is recorded.
// CHECK-LABEL: func.func @bias
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} to (%c64{{.*}}, %c2{{.*}})
// CHECK-NOT: workgroup
// CHECK-NOT: schedule.barrier
// CHECK: scf.parallel
// CHECK: %[[LOW:.*]] = arith.maxsi %{{.*}}, %c0
// CHECK: arith.minsi %[[LOW]], %c9
// CHECK: arith.addf
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c10
// CHECK: scf.if %[[IN]]
// CHECK: memref.store
// CHECK: arith.addf
// CHECK: tile.kernel = #tile.kernel<"bias_k0">
// CHECK-SAME: tile.launch = #tile.launch<array<i64: 64, 2>, 4 : i64, 0 : i64>
func.func @bias(%x: memref<64x10xf32>, %b: memref<10xf32>, %o: memref<64x10xf32>) {
  linalg.generic {indexing_maps = [#row, #col, #row], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : memref<64x10xf32>, memref<10xf32>) outs(%o : memref<64x10xf32>)
      attrs = {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 1, 8>>, #tile.rtile<"reg", array<i64: 1, 2>>], array<i64: 0, 0>>} {
  ^bb0(%v: f32, %w: f32, %out: f32):
    %s = arith.addf %v, %w : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

/// Check that an f16 contraction accumulating in f32 becomes tensor-core steps: 8 warps in a
/// 2x4 grid over the 64x64 block tile, each warp 2x2 tiles of 16x8, so 4 tile.mma per 16-deep
/// stage, with 16 accumulator slots per thread; and that tensor-cores=false keeps scalar FMAs.
// CHECK-LABEL: func.func @half
// CHECK: memref.alloca() : memref<256x16xf32, #gpu.address_space<private>>
// CHECK: scf.for
// CHECK: "schedule.barrier"
// CHECK-COUNT-4: "tile.mma"({{.*}}) {shape = "m16n8k16"} : (memref<64x20xf16, #gpu.address_space<workgroup>>, memref<16x68xf16, #gpu.address_space<workgroup>>, memref<256x16xf32, #gpu.address_space<private>>, index, index, index, index, index, index) -> ()
// CHECK-NOT: "tile.mma"
// CHECK: "schedule.barrier"
// SCALAR-LABEL: func.func @half
// SCALAR-NOT: tile.mma
// SCALAR: arith.extf
func.func @half(%a: memref<128x64xf16>, %b: memref<64x128xf16>, %c: memref<128x128xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<128x64xf16>, memref<64x128xf16>) outs(%c : memref<128x128xf32>)
      attrs = {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 4>>} {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %m = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

/// Check that a tiled operator still on tensors is rejected with the reason.
func.func @tensors(%x: tensor<4xf32>, %o: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{quartet-lower-tiles: expected buffer semantics (run one-shot-bufferize first)}}
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%o : tensor<4xf32>)
      attrs = {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 4>>, #tile.rtile<"reg", array<i64: 1>>], array<i64: 0>>} {
  ^bb0(%v: f32, %out: f32):
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that a fused kernel (a negation inline in an add) is built at its output operator,
/// past operations between its members that touch no buffer its earlier member uses: a copy
/// into the add's other input (read after the copy either way) and a read of the negation's
/// input.
// CHECK-LABEL: func.func @independent_between
// CHECK: memref.copy %{{.*}}, %[[Y:arg1]]
// CHECK: memref.load %[[X:arg0]]
// CHECK: tile.kernel = #tile.kernel<"independent_between_k0">
func.func @independent_between(%x: memref<64x128xf32>, %y: memref<64x128xf32>, %t: memref<64x128xf32>, %o: memref<64x128xf32>, %z: memref<64x128xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x128xf32>) outs(%t : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, false, false>, tile.levels = [#tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 1, 1>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 2, 128>>], array<i64: 0>>} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  memref.copy %z, %y : memref<64x128xf32> to memref<64x128xf32>
  %v = memref.load %x[%c0, %c0] : memref<64x128xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %y : memref<64x128xf32>, memref<64x128xf32>) outs(%o : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, true, true>, tile.levels = [#tile.edge<"reg">, #tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 2, 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>} {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return %v : f32
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that an operation between the members that writes a buffer an earlier member reads
/// is refused: the negation would read %x after the copy overwrote it.
func.func @write_after_read(%x: memref<64x128xf32>, %y: memref<64x128xf32>, %t: memref<64x128xf32>, %o: memref<64x128xf32>, %z: memref<64x128xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x128xf32>) outs(%t : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, false, false>, tile.levels = [#tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 1, 1>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 2, 128>>], array<i64: 0>>} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  // expected-error @+1 {{quartet-lower-tiles: writes a buffer that an operator of the fused kernel before it reads, but the whole kernel runs after it (at its output operator)}}
  memref.copy %z, %x : memref<64x128xf32> to memref<64x128xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %y : memref<64x128xf32>, memref<64x128xf32>) outs(%o : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, true, true>, tile.levels = [#tile.edge<"reg">, #tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 2, 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>} {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that a read of a buffer an earlier member writes is refused inside a nested region
/// too: the loop would read %t before the negation wrote it.
func.func @read_in_nested_region(%x: memref<64x128xf32>, %y: memref<64x128xf32>, %t: memref<64x128xf32>, %o: memref<64x128xf32>, %z: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x128xf32>) outs(%t : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, false, false>, tile.levels = [#tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 1, 1>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 2, 128>>], array<i64: 0>>} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  scf.for %i = %c0 to %c64 step %c1 {
    // expected-error @+1 {{quartet-lower-tiles: reads or writes a buffer that an operator of the fused kernel before it writes, but the whole kernel runs after it (at its output operator)}}
    %v = memref.load %t[%i, %c0] : memref<64x128xf32>
    memref.store %v, %z[%i] : memref<64xf32>
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %y : memref<64x128xf32>, memref<64x128xf32>) outs(%o : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, true, true>, tile.levels = [#tile.edge<"reg">, #tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 2, 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>} {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

/// Check that buffers are compared through their views: a read, between the members, of a
/// reshaped view of %t (made before the kernel) is a read of %t, which the negation writes.
func.func @read_through_view(%x: memref<64x128xf32>, %y: memref<64x128xf32>, %t: memref<64x128xf32>, %o: memref<64x128xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %flat = memref.collapse_shape %t [[0, 1]] : memref<64x128xf32> into memref<8192xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x128xf32>) outs(%t : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, false, false>, tile.levels = [#tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 1, 1>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 2, 128>>], array<i64: 0>>} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  // expected-error @+1 {{quartet-lower-tiles: reads or writes a buffer that an operator of the fused kernel before it writes, but the whole kernel runs after it (at its output operator)}}
  %v = memref.load %flat[%c0] : memref<8192xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%t, %y : memref<64x128xf32>, memref<64x128xf32>) outs(%o : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, true, true>, tile.levels = [#tile.edge<"reg">, #tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 2, 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>} {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return %v : f32
}

// -----

#id = affine_map<(d0) -> (d0)>

/// Check that the block loop lists its operators in tile.members: kind, role, rProgram, how
/// many inputs and outputs, each operand's level and source (here arguments 0 and 1 of the
/// function; the output, only written, has none), and the arguments it stores into (2).
// CHECK-LABEL: func.func @members
// CHECK: tile.members = [{inputs = 2 : i64, levels = ["global", "global", "global"], operator = "elementwise 256", outputs = 1 : i64, program = #tile.rprogram<{{.*}}>, role = "phase", sources = [{argument = 0 : i64}, {argument = 1 : i64}, {}], stores = array<i64: 2>}]
func.func @members(%x: memref<256xf32>, %y: memref<256xf32>, %z: memref<256xf32>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%x, %y : memref<256xf32>, memref<256xf32>) outs(%z : memref<256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#vec = affine_map<(d0) -> (d0)>

/// Check that a member stored for use outside the kernel whose region is the same in every
/// block along a grid axis is refused: the 32 blocks along the rows would all store the
/// whole bias (a write-write race between blocks, and 32 times the traffic).
func.func @stored_by_every_block(%x: memref<128xf32>, %p: memref<128xf32>, %a: memref<64x128xf32>, %o: memref<64x128xf32>) {
  // expected-error @+1 {{quartet-lower-tiles: its result is needed outside the kernel, but its region is the same in the 32 blocks along grid axis 0: they would all store it}}
  linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]} ins(%x : memref<128xf32>) outs(%p : memref<128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, false, true>, tile.levels = [#tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 128>>, #tile.rtile<"reg", array<i64: 4>>], array<i64: 0>>} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%a, %p : memref<64x128xf32>, memref<128xf32>) outs(%o : memref<64x128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 32, 1>, true, true>, tile.levels = [#tile.edge<"global">, #tile.edge<"smem">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 2, 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 2, 128>>, #tile.rtile<"reg", array<i64: 1, 4>>], array<i64: 0, 0>>} {
  ^bb0(%v: f32, %b: f32, %out: f32):
    %s = arith.addf %v, %b : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#vec = affine_map<(d0) -> (d0)>
#second = affine_map<(d0) -> (d0 + 1)>
#third = affine_map<(d0) -> (d0 + 2)>

/// Check that a stored member whose blocks' regions overlap (a window's halo: 33 points
/// every 32) is refused: neighbouring blocks would both store the shared point.
func.func @stored_halo(%x: memref<130xf32>, %p: memref<130xf32>, %z: memref<128xf32>, %o: memref<128xf32>) {
  // expected-error @+1 {{quartet-lower-tiles: its result is needed outside the kernel, but neighbouring blocks' regions overlap along loop 0 (33 points every 32): they would both store the shared points}}
  linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]} ins(%x : memref<130xf32>) outs(%p : memref<130xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 4>, false, true>, tile.levels = [#tile.edge<"global">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 11>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 33>>, #tile.rtile<"reg", array<i64: 3>>], array<i64: 0>>} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#vec, #second, #third, #vec], iterator_types = ["parallel"]} ins(%z, %p, %p : memref<128xf32>, memref<130xf32>, memref<130xf32>) outs(%o : memref<128xf32>)
      attrs = {tile.group = #tile.group<"g0", array<i64: 4>, true, true>, tile.levels = [#tile.edge<"global">, #tile.edge<"smem">, #tile.edge<"smem">, #tile.edge<"global">], tile.plan = #tile.plan<array<i64: 32>, array<i64>, false, array<i64>>, tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 32>>, #tile.rtile<"reg", array<i64: 1>>], array<i64: 0, 0, 0>>} {
  ^bb0(%c: f32, %a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    %t = arith.addf %s, %c : f32
    linalg.yield %t : f32
  }
  return
}
