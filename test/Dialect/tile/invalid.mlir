// RUN: quartet-opt %s --split-input-file --verify-diagnostics --allow-unregistered-dialect

/// Check that an rtile level must be one of global, smem, reg.
// expected-error @below {{'"l2"' does not satisfy the constraint}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"l2", array<i64: 8>>], array<i64>>} : () -> ()

// -----

/// Check that an rtile has both parameters.
// expected-error @below {{expected 2 type arguments, but had 1}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem">], array<i64>>} : () -> ()

// -----

/// Check that an rtile shape is a dense array.
// expected-error @below {{expected base attribute 'builtin.dense_array' but got 'builtin.array'}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", [64, 64]>], array<i64>>} : () -> ()

// -----

/// Check that rprogram tiles are an array.
// expected-error @below {{expected base attribute 'builtin.array' but got 'tile.rtile'}}
"test.op"() {tile.program = #tile.rprogram<#tile.rtile<"smem", array<i64: 8>>, array<i64>>} : () -> ()

// -----

/// Check that smem_pad is a dense array.
// expected-error @below {{expected base attribute 'builtin.dense_array' but got 'builtin.integer'}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>], 0>} : () -> ()

// -----

/// Check that a group name is a string.
// expected-error @below {{expected base attribute 'builtin.string' but got 'builtin.integer'}}
"test.op"() {tile.group = #tile.group<0, array<i64>, true, true>} : () -> ()

// -----

/// Check that an edge level must be one of global, smem, reg.
// expected-error @below {{'"l2"' does not satisfy the constraint}}
"test.op"() {tile.levels = [#tile.edge<"l2">]} : () -> ()

// -----

/// Check that a group records its grid as an array.
// expected-error @below {{expected base attribute 'builtin.dense_array' but got 'builtin.integer'}}
"test.op"() {tile.group = #tile.group<"g", 4, true, true>} : () -> ()

// -----

/// Check that a plan has all four parameters.
// expected-error @below {{expected 4 type arguments, but had 3}}
"test.op"() {tile.plan = #tile.plan<array<i64: 8>, array<i64>, 0>} : () -> ()

// -----

/// Check that tile.program holds an rprogram.
// expected-error @below {{'test.op' op 'tile.program' must be a #tile.rprogram attribute}}
"test.op"() {tile.program = #tile.rtile<"smem", array<i64: 8>>} : () -> ()

// -----

/// Check that tile.group holds a group.
// expected-error @below {{'test.op' op 'tile.group' must be a #tile.group attribute}}
"test.op"() {tile.group = "kernel0"} : () -> ()

// -----

/// Check that tile.kernel holds a kernel.
// expected-error @below {{'test.op' op 'tile.kernel' must be a #tile.kernel attribute}}
"test.op"() {tile.kernel = "k0"} : () -> ()

// -----

/// Check that tile.levels holds edges.
// expected-error @below {{'test.op' op expected a #tile.edge attribute, got "smem"}}
"test.op"() {tile.levels = ["smem"]} : () -> ()

// -----

/// Check that rprogram tiles are rtiles.
// expected-error @below {{'test.op' op rprogram tiles must be #tile.rtile attributes}}
"test.op"() {tile.program = #tile.rprogram<[#tile.edge<"smem">], array<i64>>} : () -> ()

// -----

/// Check that an rtile shape holds i64 extents.
// expected-error @below {{'test.op' op rtile shape must be an array<i64>}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i32: 8>>], array<i64>>} : () -> ()

// -----

/// Check that smem_pad holds i64 entries.
// expected-error @below {{'test.op' op rprogram smem_pad must be an array<i64>}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 8>>], array<i32: 0>>} : () -> ()

// -----

/// Check that an rprogram has at least one tile.
// expected-error @below {{'test.op' op rprogram has no tiles}}
"test.op"() {tile.program = #tile.rprogram<[], array<i64>>} : () -> ()

// -----

/// Check that rtile extents are positive.
// expected-error @below {{'test.op' op rtile extents must be positive, got [64, 0, 16]}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 0, 16>>], array<i64>>} : () -> ()

// -----

/// Check that levels are ordered outermost first.
// expected-error @below {{'test.op' op rprogram levels must be distinct and outermost first, got reg, smem}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"reg", array<i64: 4>>, #tile.rtile<"smem", array<i64: 64>>], array<i64>>} : () -> ()

// -----

/// Check that a level appears at most once.
// expected-error @below {{'test.op' op rprogram levels must be distinct and outermost first, got smem, smem}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64>>, #tile.rtile<"smem", array<i64: 32>>], array<i64>>} : () -> ()

// -----

/// Check that all tiles of a program have the same rank.
// expected-error @below {{'test.op' op rprogram tiles differ in rank: [64, 64, 16] and [4, 4]}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4>>], array<i64>>} : () -> ()

// -----

/// Check that an inner tile divides the tile of the level above it.
// expected-error @below {{'test.op' op reg tile [4, 3, 16] does not divide smem tile [64, 64, 16]}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 3, 16>>], array<i64>>} : () -> ()

// -----

/// Check that padding is non-negative.
// expected-error @below {{'test.op' op smem_pad entries must be non-negative, got [0, -4]}}
"test.op"() {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64>>], array<i64: 0, -4>>} : () -> ()

// -----

/// Check that a linalg op's program has one extent per loop.
func.func @rank(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-error @below {{'linalg.matmul' op tile.program has rank 2 but the op has 3 loops}}
  %0 = linalg.matmul {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64>>], array<i64: 0, 0>>}
      ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// -----

/// Check that a linalg op's program pads each input.
func.func @pad(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-error @below {{'linalg.matmul' op smem_pad has 1 entries but the op has 2 inputs}}
  %0 = linalg.matmul {tile.program = #tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>], array<i64: 4>>}
      ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// -----

/// Check that a group has a name.
// expected-error @below {{'test.op' op tile.group name must not be empty}}
"test.op"() {tile.group = #tile.group<"", array<i64>, true, true>} : () -> ()

// -----

/// Check that a plan's mma warps match its threads.
// expected-error @below {{'test.op' op tile.plan has 64 threads for 4 mma warps}}
"test.op"() {tile.plan = #tile.plan<array<i64: 64>, array<i64>, false, array<i64: 0, 1, 2, 2, 2, 1, 4>>} : () -> ()

// -----

/// Check that an operand read on chip needs its producer in the consumer's group.
func.func @level_no_group(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %x, %x : tensor<4xf32>
  // expected-error @below {{'arith.mulf' op operand #0 at 'smem' needs its producer in the same tile.group}}
  %1 = arith.mulf %0, %0 {tile.group = #tile.group<"k0", array<i64>, true, true>, tile.levels = [#tile.edge<"smem">, #tile.edge<"global">]} : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

/// Check that an operand read in registers needs its producer in the same group (on tensors:
/// on buffers, the producer is whoever wrote the buffer last).
func.func @level_other_group(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %x, %x {tile.group = #tile.group<"k0", array<i64>, true, true>} : tensor<4xf32>
  // expected-error @below {{'arith.mulf' op operand #1 at 'reg' needs its producer in the same tile.group}}
  %1 = arith.mulf %x, %0 {tile.group = #tile.group<"k1", array<i64>, true, true>, tile.levels = [#tile.edge<"global">, #tile.edge<"reg">]} : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

/// Check that a group has exactly one output operator.
func.func @two_outputs(%x: f32) -> f32 {
  // expected-error @below {{'arith.addf' op tile.group 'k0' has 2 outputs}}
  %0 = arith.addf %x, %x {tile.group = #tile.group<"k0", array<i64>, true, true>} : f32
  %1 = arith.mulf %0, %0 {tile.group = #tile.group<"k0", array<i64>, true, true>} : f32
  return %1 : f32
}

// -----

/// Check that tile.stage names its source level.
func.func @stage_attr(%a: memref<8xf32>, %b: memref<8xf32, 3>) {
  // expected-error @below {{'tile.stage' op attribute "from" is expected but not provided}}
  "tile.stage"(%a, %b) {to = "smem"} : (memref<8xf32>, memref<8xf32, 3>) -> ()
  return
}

// -----

/// Check that tile.stage levels are memory levels.
func.func @stage_level(%a: memref<8xf32>, %b: memref<8xf32, 3>) {
  // expected-error @below {{'"l2"' does not satisfy the constraint}}
  "tile.stage"(%a, %b) {from = "global", to = "l2"} : (memref<8xf32>, memref<8xf32, 3>) -> ()
  return
}

// -----

/// Check that tile.stage takes two operands.
func.func @stage_operands(%a: memref<8xf32>) {
  // expected-error @below {{op expects exactly 2 operands, but got 1}}
  "tile.stage"(%a) {from = "global", to = "smem"} : (memref<8xf32>) -> ()
  return
}

// -----

/// Check that tile.stage copies between memrefs.
func.func @stage_tensor(%a: tensor<8xf32>, %b: memref<8xf32, 3>) {
  // expected-error @below {{expected base type 'builtin.memref' but got 'builtin.tensor'}}
  "tile.stage"(%a, %b) {from = "global", to = "smem"} : (tensor<8xf32>, memref<8xf32, 3>) -> ()
  return
}

// -----

/// Check that tile.stage has no region.
func.func @stage_region(%a: memref<8xf32>, %b: memref<8xf32, 3>) {
  // expected-error @below {{'tile.stage' op unexpected number of regions: expected 0 but got 1}}
  "tile.stage"(%a, %b) ({}) {from = "global", to = "smem"} : (memref<8xf32>, memref<8xf32, 3>) -> ()
  return
}

// -----

/// Check that tile.stage moves between two different levels.
func.func @stage_same(%a: memref<8xf32, 3>, %b: memref<8xf32, 3>) {
  // expected-error @below {{'tile.stage' op stage must move between two levels, got 'smem' to 'smem'}}
  "tile.stage"(%a, %b) {from = "smem", to = "smem"} : (memref<8xf32, 3>, memref<8xf32, 3>) -> ()
  return
}

// -----

/// Check that tile.stage keeps element type and rank.
func.func @stage_type(%a: memref<8xf32>, %b: memref<8xf16, 3>) {
  // expected-error @below {{'tile.stage' op source and dest must have the same element type and rank}}
  "tile.stage"(%a, %b) {from = "global", to = "smem"} : (memref<8xf32>, memref<8xf16, 3>) -> ()
  return
}

// -----

/// Check that tile.stage's destination holds the whole source tile.
func.func @stage_small(%a: memref<64x20xf32>, %b: memref<64x16xf32, 3>) {
  // expected-error @below {{'tile.stage' op dest dim 1 has 16 elements, fewer than the source's 20}}
  "tile.stage"(%a, %b) {from = "global", to = "smem"} : (memref<64x20xf32>, memref<64x16xf32, 3>) -> ()
  return
}

// -----

/// Check that tile.mma accepts only the m16n8k16 shape.
func.func @mma_shape(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %acc: memref<32x4xf32>, %i: index) {
  // expected-error @+1 {{expected '"m16n8k16"' but got '"m16n8k8"'}}
  "tile.mma"(%a, %b, %acc, %i, %i, %i, %i, %i, %i) {shape = "m16n8k8"} : (memref<16x16xf16>, memref<16x8xf16>, memref<32x4xf32>, index, index, index, index, index, index) -> ()
  return
}

// -----

/// Check that tile.mma takes its six positions as index values.
func.func @mma_index(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %acc: memref<32x4xf32>, %i: index, %j: i32) {
  // expected-error @+1 {{expected 'index' but got 'i32'}}
  "tile.mma"(%a, %b, %acc, %i, %i, %j, %i, %i, %i) {shape = "m16n8k16"} : (memref<16x16xf16>, memref<16x8xf16>, memref<32x4xf32>, index, index, i32, index, index, index) -> ()
  return
}

// -----

/// Check that a runtime check's condition is an i1.
func.func @check_condition(%x: i32) attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  // expected-error @+1 {{expected 'i1' but got 'i32'}}
  "tile.check"(%x) {code = 1 : i32} : (i32) -> ()
  return
}

// -----

/// Check that a runtime check's code is positive.
func.func @check_code(%ok: i1) attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  // expected-error @+1 {{'tile.check' op code must be a positive i32 value, got 0}}
  "tile.check"(%ok) {code = 0 : i32} : (i1) -> ()
  return
}

// -----

/// Check that a runtime check's code is listed in an error table.
func.func @check_unlisted(%ok: i1) attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  // expected-error @+1 {{'tile.check' op code 2 has no entry in a tile.errors table of the module}}
  "tile.check"(%ok) {code = 2 : i32} : (i1) -> ()
  return
}

// -----

/// Check that a runtime check reports into a one-element i32 error word.
func.func @check_word(%ok: i1, %word: memref<2xi32>) attributes {tile.errors = [#tile.error<1 : i32, "bad">]} {
  // expected-error @+1 {{'tile.check' op the error word must be a memref<1xi32>, got memref<2xi32>}}
  "tile.check"(%ok, %word) {code = 1 : i32} : (i1, memref<2xi32>) -> ()
  return
}

// -----

/// Check that an error table holds #tile.error entries.
// expected-error @below {{'test.op' op expected a #tile.error attribute, got "bad"}}
"test.op"() {tile.errors = ["bad"]} : () -> ()

// -----

/// Check that error codes are positive.
// expected-error @below {{'test.op' op tile.errors codes must be positive i32 values, got [1, -2]}}
"test.op"() {tile.errors = [#tile.error<1 : i32, "a">, #tile.error<-2 : i32, "b">]} : () -> ()

// -----

/// Check that error codes are distinct.
// expected-error @below {{'test.op' op tile.errors codes must be distinct, got [1, 1]}}
"test.op"() {tile.errors = [#tile.error<1 : i32, "a">, #tile.error<1 : i32, "b">]} : () -> ()

// -----

/// Check that an error's message is a string.
// expected-error @below {{expected base attribute 'builtin.string' but got 'builtin.integer'}}
"test.op"() {tile.errors = [#tile.error<1 : i32, 2 : i32>]} : () -> ()

// -----

/// Check that a function has one error word.
// expected-error @below {{'func.func' op has 2 arguments marked 'tile.error_word'}}
func.func @two_words(%a: memref<1xi32> {tile.error_word}, %b: memref<1xi32> {tile.error_word}) {
  return
}

// -----

/// Check that the error word is a one-element i32 buffer.
// expected-error @below {{'func.func' op 'tile.error_word' argument must be a memref<1xi32>, got memref<1xi64>}}
func.func @wide_word(%a: memref<1xi64> {tile.error_word}) {
  return
}
