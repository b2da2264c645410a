// The tile dialect: Roller's rTiles and rPrograms, Welder's fused groups and edge levels.
// Attributes are attached to upstream ops (docs/dialects.md); the ops are leaves.
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
  // How quartet-lower-tiles builds one operator, decided by the tiling pass and read by every
  // later one (and by Roller's cost model): threads per loop (1 on reduction loops), the inputs
  // staged in shared memory per reduction stage, double buffering (0/1), and the tensor-core
  // plan (empty, or m, n, k loops, warps along m and n, m16n8 tiles per warp along m and n).
  // Attached to an operator as `tile.plan`.
  irdl.attribute @plan {
    %threads = irdl.base "#builtin.dense_array"
    %staged = irdl.base "#builtin.dense_array"
    %double = irdl.base "#builtin.integer"
    %mma = irdl.base "#builtin.dense_array"
    irdl.parameters(threads: %threads, staged: %staged, double_buffer: %double, mma: %mma)
  }
  // The fused kernel an operator belongs to (Welder), attached as `tile.group`: its name, the
  // grid every member shares (blocks along each parallel loop of the output operator),
  // whether this member is the group's output operator, and whether its result is written to
  // global memory (something outside the group reads it) or stays on chip.
  irdl.attribute @group {
    %name = irdl.base "#builtin.string"
    %grid = irdl.base "#builtin.dense_array"
    %output = irdl.base "#builtin.integer"
    %stored = irdl.base "#builtin.integer"
    irdl.parameters(name: %name, grid: %grid, output: %output, stored: %stored)
  }
  // The kernel an operator (or the block loop it became) is compiled into, attached as
  // `tile.kernel`: the block loop, the gpu.module and the PTX entry are all named after it.
  irdl.attribute @kernel {
    %name = irdl.base "#builtin.string"
    irdl.parameters(name: %name)
  }
  // How one kernel launches, derived once by quartet-lower-tiles from the kernel's plan and
  // attached as `tile.launch` to its block loop (a task function under Rammer): blocks along
  // each parallel loop of the output operator, threads per block (the widest phase), and the
  // bytes of its one shared allocation. Read by quartet-map-to-gpu, quartet-rammer and Welder.
  irdl.attribute @launch {
    %grid = irdl.base "#builtin.dense_array"
    %threads = irdl.base "#builtin.integer"
    %shared = irdl.base "#builtin.integer"
    irdl.parameters(grid: %grid, threads: %threads, shared: %shared)
  }
  // Roller's runners-up, best first (#tile.rprogram each), attached as `tile.candidates`.
  irdl.attribute @candidates {
    %programs = irdl.base "#builtin.array"
    irdl.parameters(programs: %programs)
  }
  // The memory level an operand is read from (Welder's edge placement), one per operand of a
  // consumer in `tile.levels`: "global" (another kernel, or an input), "smem" (its producer in
  // the same group staged it in shared memory), "reg" (computed by the reading thread itself).
  irdl.attribute @edge {
    %global = irdl.is "global"
    %smem = irdl.is "smem"
    %reg = irdl.is "reg"
    %level = irdl.any_of(%global, %smem, %reg)
    irdl.parameters(level: %level)
  }
  // One error a run can fail with, an entry of a function's `tile.errors` table: the code a
  // failing tile.check writes into the error word (a positive i32) and the message the host
  // raises for it (it names the operator, e.g. the ONNX node and its op type).
  irdl.attribute @error {
    %code = irdl.base "#builtin.integer"
    %message = irdl.base "#builtin.string"
    irdl.parameters(code: %code, message: %message)
  }
  // A runtime check: where `ok` is false the run fails with error `code`. The code is written
  // with an atomic max into `word`, the function's error word (a memref<1xi32> the host zeroes
  // before a run and reads after it); quartet-error-word adds that operand after bufferization.
  irdl.operation @check {
    %ok = irdl.is i1
    %word = irdl.base "!builtin.memref"
    irdl.operands(ok: %ok, word: optional %word)
    %code = irdl.base "#builtin.integer"
    irdl.attributes {"code" = %code}
    irdl.regions()
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
