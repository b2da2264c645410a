// The tile dialect: Roller's rTiles and rPrograms, Welder's fused groups and edge levels.
// Attributes are attached to upstream ops (docs/dialects.md); the one op is a leaf.
// IRDL checks kinds, counts and the level names; dialects/verify.py checks the rest.
irdl.dialect @tile {
  // One tile shape at one memory level, one extent per loop of the operator's iteration space.
  irdl.attribute @rtile {
    %global = irdl.is "global"
    %smem = irdl.is "smem"
    %reg = irdl.is "reg"
    %level = irdl.any_of(%global, %smem, %reg)
    %shape = irdl.base "#builtin.dense_array"
    irdl.parameters(level: %level, shape: %shape)
  }
  // One rTile per memory level, outermost level first, plus shared-memory padding (elements
  // added to the innermost dim of each staged input buffer, one entry per input operand).
  // Attached to an operator as `tile.program`.
  irdl.attribute @rprogram {
    %tiles = irdl.base "#builtin.array"
    %pad = irdl.base "#builtin.dense_array"
    irdl.parameters(tiles: %tiles, smem_pad: %pad)
  }
  // The fused kernel an operator belongs to (Welder), attached as `tile.group`.
  irdl.attribute @group {
    %name = irdl.base "#builtin.string"
    irdl.parameters(name: %name)
  }
  // The memory level where an operator's result lives for its consumers in the same group
  // (Welder's edge placement), attached to the producer as `tile.edge`.
  irdl.attribute @edge {
    %global = irdl.is "global"
    %smem = irdl.is "smem"
    %reg = irdl.is "reg"
    %level = irdl.any_of(%global, %smem, %reg)
    irdl.parameters(level: %level)
  }
  // The Load (or Store) stage of a tile pipeline: every thread of the CTA cooperatively copies
  // `source` (a tile at level `from`) into `dest` (a buffer at level `to`, possibly padded).
  irdl.operation @stage {
    %source = irdl.base "!builtin.memref"
    %dest = irdl.base "!builtin.memref"
    irdl.operands(source: %source, dest: %dest)
    %g1 = irdl.is "global"
    %s1 = irdl.is "smem"
    %r1 = irdl.is "reg"
    %from = irdl.any_of(%g1, %s1, %r1)
    %g2 = irdl.is "global"
    %s2 = irdl.is "smem"
    %r2 = irdl.is "reg"
    %to = irdl.any_of(%g2, %s2, %r2)
    irdl.attributes {"from" = %from, "to" = %to}
    irdl.regions()
  }
  // One m16n8k16 tensor-core step of one warp, as one thread (lane = thread mod 32) sees it:
  // the lane's four accumulators acc[thread, slot + e] gain the products of the 16x16 tile of
  // `a` at (a_row, a_col) and the 16x8 tile of `b` at (b_row, b_col) at its fragment positions
  // (PTX ISA, "Matrix Fragments for mma.m16n8k16"). Per-lane semantics keep the barrier-phase
  // form sequentially executable; quartet-map-to-gpu emits the warp-wide mma.sync.
  irdl.operation @mma {
    // One constraint value per operand: IRDL makes operands sharing one equal in type.
    %a = irdl.base "!builtin.memref"
    %b = irdl.base "!builtin.memref"
    %acc = irdl.base "!builtin.memref"
    %index = irdl.is index
    irdl.operands(a: %a, b: %b, acc: %acc, thread: %index, a_row: %index, a_col: %index, b_row: %index, b_col: %index, slot: %index)
    %shape = irdl.is "m16n8k16"
    irdl.attributes {"shape" = %shape}
    irdl.regions()
  }
}
