// RUN: quartet-opt %s --split-input-file --pass-pipeline='builtin.module(quartet-map-to-gpu)' --verify-diagnostics | FileCheck %s

/// Check that a block loop becomes a gpu.launch named after its kernel with one CTA per
/// iteration and as many threads as its widest phase; that the shared buffer becomes a
/// workgroup global (keeping its alignment), the per-thread buffer loses its thread dimension, the barrier becomes
/// gpu.barrier, and the narrower phase is guarded by the thread id.
// CHECK: memref.global "private" @__smem_rev_k0_0 : memref<32xf32, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-LABEL: func.func @rev
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c2{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c32{{.*}}, {{.*}}) module(@rev_k0) function(@rev_k0)
// CHECK: %[[SMEM:.*]] = memref.get_global @__smem_rev_k0_0
// CHECK: %[[ACC:.*]] = memref.alloca() : memref<1xf32>
// CHECK: memref.store %{{.*}}, %[[SMEM]][%[[TX]]]
// CHECK: memref.store %{{.*}}, %[[ACC]][%{{.*}}] : memref<1xf32>
// CHECK: gpu.barrier
// CHECK: %[[HALF:.*]] = arith.cmpi ult, %[[TX]], %c16
// CHECK: scf.if %[[HALF]]
// CHECK: memref.load %[[ACC]][%{{.*}}] : memref<1xf32>
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
// CHECK-NOT: schedule.barrier
func.func @rev(%a: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c16 = arith.constant 16 : index
  %c31 = arith.constant 31 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%b) = (%c0) to (%c2) step (%c1) {
    %base = arith.muli %b, %c32 : index
    %s = memref.alloca() {alignment = 16 : i64} : memref<32xf32, #gpu.address_space<workgroup>>
    %acc = memref.alloca() : memref<32x1xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %i = arith.addi %base, %t : index
      %v = memref.load %a[%i] : memref<64xf32>
      memref.store %v, %s[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      memref.store %v, %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
      scf.reduce
    }
    "schedule.barrier"() {scope = "cta"} : () -> ()
    scf.parallel (%t) = (%c0) to (%c16) step (%c1) {
      %j = arith.subi %c31, %t : index
      %v = memref.load %s[%j] : memref<32xf32, #gpu.address_space<workgroup>>
      %w = memref.load %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
      %x = arith.addf %v, %w : f32
      %i = arith.addi %base, %t : index
      memref.store %x, %a[%i] : memref<64xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"rev_k0">, tile.launch = #tile.launch<array<i64: 2>, 32, 128>}
  return
}

// -----

/// Check that the block size is the one tile.launch states, not re-derived from the phases:
/// a 32-thread phase in a 64-thread block is guarded.
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c3{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c64{{.*}}, {{.*}})
// CHECK: %[[SOME:.*]] = arith.cmpi ult, %[[TX]], %c32
// CHECK: scf.if %[[SOME]]
func.func @wide(%a: memref<96xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%b) = (%c0) to (%c3) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %i = arith.muli %b, %c32 : index
      %j = arith.addi %i, %t : index
      %v = memref.load %a[%j] : memref<96xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %a[%j] : memref<96xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"wide_k0">, tile.launch = #tile.launch<array<i64: 3>, 64, 0>}
  return
}

// -----

/// Check that a block loop must state how it launches.
func.func @unplanned(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @below {{quartet-map-to-gpu: a block loop needs its tile.launch (run quartet-lower-tiles)}}
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    scf.reduce
  } {tile.kernel = #tile.kernel<"unplanned_k0">}
  return
}

// -----

/// Check that a thread phase wider than the block tile.launch states is rejected.
func.func @too_wide(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    // expected-error @below {{quartet-map-to-gpu: a thread phase of 4 threads exceeds the block's 2 (tile.launch)}}
    scf.parallel (%t) = (%c0) to (%c4) step (%c1) {
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"too_wide_k0">, tile.launch = #tile.launch<array<i64: 1>, 2, 0>}
  return
}

// -----

/// Check that a per-thread buffer indexed by anything but the thread is rejected.
func.func @bad_private(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    %acc = memref.alloca() : memref<4x1xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c4) step (%c1) {
      %v = memref.load %a[%t] : memref<4xf32>
      // expected-error @+1 {{quartet-map-to-gpu: a per-thread buffer must be indexed by the thread first}}
      memref.store %v, %acc[%c0, %c0] : memref<4x1xf32, #gpu.address_space<private>>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"bad_private_k0">, tile.launch = #tile.launch<array<i64: 1>, 4, 0>}
  return
}

// -----

/// Check that a tensor-core step becomes fragment loads and one warp-wide nvgpu.mma.sync whose
/// accumulators live in the thread's registers; every 8-element row of these unpadded tiles
/// starts 16-byte aligned, so A's fragment is one ldmatrix.x4 and B's ([k, n], n contiguous)
/// one ldmatrix.x2.trans.
// CHECK-LABEL: func.func @mma
// CHECK: gpu.launch
// CHECK: %[[ACC:.*]] = memref.alloca() : memref<4xf32>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 2 : i32, transpose = true} : memref<16x8xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-COUNT-4: memref.store %{{.*}}, %[[ACC]]
// CHECK-NOT: tile.mma
func.func @mma(%a: memref<16x16xf16>, %b: memref<16x8xf16>, %out: memref<32x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    %sa = memref.alloca() {alignment = 16 : i64} : memref<16x16xf16, #gpu.address_space<workgroup>>
    %sb = memref.alloca() {alignment = 16 : i64} : memref<16x8xf16, #gpu.address_space<workgroup>>
    %acc = memref.alloca() : memref<32x4xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      "tile.mma"(%sa, %sb, %acc, %t, %c0, %c0, %c0, %c0, %c0) {shape = "m16n8k16"} : (memref<16x16xf16, #gpu.address_space<workgroup>>, memref<16x8xf16, #gpu.address_space<workgroup>>, memref<32x4xf32, #gpu.address_space<private>>, index, index, index, index, index, index) -> ()
      scf.for %e = %c0 to %c4 step %c1 {
        %v = memref.load %acc[%t, %e] : memref<32x4xf32, #gpu.address_space<private>>
        memref.store %v, %out[%t, %e] : memref<32x4xf32>
      }
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"mma_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 768>}
  return
}

// -----

/// Check that tiles whose rows are padded off 16-byte alignment (18 and 10 halves) load their
/// fragments lane by lane instead: ldmatrix would read misaligned rows.
// CHECK-LABEL: func.func @mma_padded
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: vector.from_elements {{.*}} : vector<4x2xf16>
// CHECK: vector.from_elements {{.*}} : vector<2x2xf16>
// CHECK: nvgpu.mma.sync
func.func @mma_padded(%a: memref<16x18xf16>, %b: memref<16x10xf16>, %out: memref<32x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    %sa = memref.alloca() {alignment = 16 : i64} : memref<16x18xf16, #gpu.address_space<workgroup>>
    %sb = memref.alloca() {alignment = 16 : i64} : memref<16x10xf16, #gpu.address_space<workgroup>>
    %acc = memref.alloca() : memref<32x4xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      "tile.mma"(%sa, %sb, %acc, %t, %c0, %c0, %c0, %c0, %c0) {shape = "m16n8k16"} : (memref<16x18xf16, #gpu.address_space<workgroup>>, memref<16x10xf16, #gpu.address_space<workgroup>>, memref<32x4xf32, #gpu.address_space<private>>, index, index, index, index, index, index) -> ()
      scf.for %e = %c0 to %c4 step %c1 {
        %v = memref.load %acc[%t, %e] : memref<32x4xf32, #gpu.address_space<private>>
        memref.store %v, %out[%t, %e] : memref<32x4xf32>
      }
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"mma_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 896>}
  return
}

// -----

/// Check that a runtime check becomes, where its condition is false, an atomic signed max of
/// its code into the error word (atom.global.max.s32 in the PTX), inside the kernel.
// CHECK-LABEL: func.func @check
//  CHECK-SAME: %[[WORD:[^:]*]]: memref<1xi32>
// CHECK: gpu.launch
// CHECK: %[[OK:.*]] = arith.cmpi ult
// CHECK: %[[FAILED:.*]] = arith.xori %[[OK]], %true
// CHECK: scf.if %[[FAILED]] {
// CHECK: %[[CODE:.*]] = arith.constant 3 : i32
// CHECK: memref.atomic_rmw maxs %[[CODE]], %[[WORD]][%{{.*}}] : (i32, memref<1xi32>) -> i32
// CHECK: gpu.terminator
// CHECK-NOT: tile.check
func.func @check(%idx: memref<32xi64>, %word: memref<1xi32> {tile.error_word}) attributes {tile.errors = [#tile.error<3 : i32, "node 'g' (Gather): index out of range">]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %v = memref.load %idx[%t] : memref<32xi64>
      %p = arith.index_cast %v : i64 to index
      %ok = arith.cmpi ult, %p, %c8 : index
      "tile.check"(%ok, %word) {code = 3 : i32} : (i1, memref<1xi32>) -> ()
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"check_k0">, tile.launch = #tile.launch<array<i64: 1>, 32, 0>}
  return
}

// -----

/// Check that a runtime check without its error word is rejected.
func.func @unwired(%ok: i1) attributes {tile.errors = [#tile.error<3 : i32, "bad">]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c1) step (%c1) {
      // expected-error @below {{quartet-map-to-gpu: a tile.check needs its error word (run quartet-error-word first)}}
      "tile.check"(%ok) {code = 3 : i32} : (i1) -> ()
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"unwired_k0">, tile.launch = #tile.launch<array<i64: 1>, 1, 0>}
  return
}

// -----

/// Check that a vEU program (quartet-rammer) becomes one gpu.launch of its vEUs with its
/// arena as dynamic shared memory, outlined into a gpu.module declared beforehand with its
/// vEUs per SM; that a wait is thread 0 polling its counter with acquire loads and a growing
/// nanosleep until it reaches expected x epoch, then a CTA barrier; that a signal is a CTA
/// barrier, then thread 0's red.release.gpu add.
// CHECK: memref.global @__quartet_arena : memref<128xi8, #gpu.address_space<workgroup>> {alignment = 16 : i64}
// CHECK-LABEL: func.func private @p_rammer.func(
// CHECK-SAME: %[[COUNTERS:[^:]*]]: memref<2xi32>, %[[EPOCHS:[^:]*]]: memref<1xi32>)
// CHECK: %[[SHARED:.*]] = arith.constant 128 : i32
// CHECK: gpu.launch blocks(%[[VEU:[^,]*]], {{.*}} in (%{{.*}} = %c3{{.*}}, {{.*}} threads(%[[T:[^,]*]], {{.*}} in (%{{.*}} = %c64{{.*}}, {{.*}} dynamic_shared_memory_size %[[SHARED]] module(@p_rammer) function(@p_rammer)
// CHECK: %[[EPOCH:.*]] = memref.load %[[EPOCHS]]
// CHECK: func.call @p_k0_task(
// CHECK-NEXT: gpu.barrier
// CHECK: %[[DONE:.*]] = arith.subi
// CHECK-NEXT: gpu.barrier
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %c0
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK: %[[CELL:.*]] = llvm.getelementptr %{{.*}} : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i32
// CHECK-NEXT: llvm.inline_asm has_side_effects "red.release.gpu.global.add.u32 [$0], $1;", "l,r" %[[CELL]], %[[DONE]]
// CHECK: scf.if
// CHECK: %[[LEADER:.*]] = arith.cmpi eq, %[[T]], %c0
// CHECK-NEXT: scf.if %[[LEADER]] {
// CHECK: scf.while (%[[SLEEP:.*]] = %c32_i32) : (i32) -> i32 {
// CHECK: %[[SEEN:.*]] = llvm.load %{{.*}} atomic syncscope("device") acquire {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// CHECK: %[[NEEDED:.*]] = arith.muli %c2_i32, %[[EPOCH]] : i32
// CHECK: %[[BEHIND:.*]] = arith.subi %[[SEEN]], %[[NEEDED]] : i32
// CHECK: arith.cmpi sge, %[[BEHIND]], %c0_i32
// CHECK: scf.condition
// CHECK: nvvm.nanosleep
// CHECK: arith.minui %{{.*}}, %c1024_i32
// CHECK: }
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK: func.call @p_k1_task(
// CHECK: gpu.terminator
// CHECK-NOT: "schedule.
// CHECK: gpu.module @p_rammer attributes {schedule.per_sm = 1 : i32}
func.func private @p_k0_task(%task: index, %a: memref<64xf32>, %b: memref<64xf32>)
    attributes {no_inline, passthrough = ["noinline"], tile.kernel = #tile.kernel<"p_k0">,
                tile.launch = #tile.launch<array<i64: 2>, 32, 128>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c31 = arith.constant 31 : index
  %c32 = arith.constant 32 : index
  %base = arith.muli %task, %c32 : index
  %s = memref.alloca() {alignment = 32 : i64} : memref<128xi8, #gpu.address_space<workgroup>>
  %sv = memref.view %s[%c0][] : memref<128xi8, #gpu.address_space<workgroup>> to memref<32xf32, #gpu.address_space<workgroup>>
  %acc = memref.alloca() : memref<32x1xf32, #gpu.address_space<private>>
  scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
    %i = arith.addi %base, %t : index
    %v = memref.load %a[%i] : memref<64xf32>
    memref.store %v, %sv[%t] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %v, %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
    scf.reduce
  }
  "schedule.barrier"() {scope = "cta"} : () -> ()
  scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
    %j = arith.subi %c31, %t : index
    %v = memref.load %sv[%j] : memref<32xf32, #gpu.address_space<workgroup>>
    %w = memref.load %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
    %x = arith.addf %v, %w : f32
    %i = arith.addi %base, %t : index
    memref.store %x, %b[%i] : memref<64xf32>
    scf.reduce
  }
  return
}
func.func private @p_k1_task(%task: index, %a: memref<64xf32>, %b: memref<64xf32>)
    attributes {no_inline, passthrough = ["noinline"], tile.kernel = #tile.kernel<"p_k1">,
                tile.launch = #tile.launch<array<i64: 1>, 64, 0>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%t) = (%c0) to (%c64) step (%c1) {
    %v = memref.load %a[%t] : memref<64xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %b[%t] : memref<64xf32>
    scf.reduce
  }
  return
}
memref.global "private" constant @p_veu_table : memref<2x3x2xi32> = dense<[[[0, 1], [1, 2], [2, 2]], [[0, 1], [1, 1], [1, 1]]]>
func.func private @p_rammer.func(%x: memref<64xf32>, %y: memref<64xf32>, %z: memref<64xf32>,
    %table: memref<2x3x2xi32>, %counters: memref<2xi32>, %epochs: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c2_i32 = arith.constant 2 : i32
  scf.parallel (%veu) = (%c0) to (%c3) step (%c1) {
    %epoch = memref.load %epochs[%c0] : memref<1xi32>
    %lo0 = memref.load %table[%c0, %veu, %c0] : memref<2x3x2xi32>
    %hi0 = memref.load %table[%c0, %veu, %c1] : memref<2x3x2xi32>
    %some0 = arith.cmpi slt, %lo0, %hi0 : i32
    scf.if %some0 {
      %first = arith.index_cast %lo0 : i32 to index
      %end = arith.index_cast %hi0 : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @p_k0_task(%task, %x, %y) : (index, memref<64xf32>, memref<64xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi0, %lo0 : i32
      "schedule.signal"(%counters, %c0, %done) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "p_k0", 2, array<i64>>}
    %lo1 = memref.load %table[%c1, %veu, %c0] : memref<2x3x2xi32>
    %hi1 = memref.load %table[%c1, %veu, %c1] : memref<2x3x2xi32>
    %some1 = arith.cmpi slt, %lo1, %hi1 : i32
    scf.if %some1 {
      "schedule.wait"(%counters, %c0, %c2_i32, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      %first = arith.index_cast %lo1 : i32 to index
      %end = arith.index_cast %hi1 : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @p_k1_task(%task, %y, %z) : (index, memref<64xf32>, memref<64xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi1, %lo1 : i32
      "schedule.signal"(%counters, %c1, %done) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "p_k1", 1, array<i64: 0>>}
    scf.reduce
  } {tile.kernel = #tile.kernel<"p_rammer">, tile.launch = #tile.launch<array<i64: 3>, 64, 128>,
     schedule.veus = #schedule.veus<3, 1, "sm_90">, schedule.table = @p_veu_table}
  return
}

// -----

/// Check that a task function's code runs in the calling vEU program's block: its thread is
/// gpu.thread_id, its phases narrower than the program's 64 threads are guarded, its shared
/// buffers are the start of the arena, and its per-thread buffers sit in its entry block
/// (where LLVM keeps them in registers).
// CHECK-LABEL: func.func private @q_k0_task(
// CHECK-NEXT: %[[ACC:.*]] = memref.alloca() : memref<1xf32>
// CHECK-NEXT: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[ARENA:.*]] = memref.get_global @__quartet_arena : memref<128xi8, #gpu.address_space<workgroup>>
// CHECK: %[[OWN:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<128xi8, #gpu.address_space<workgroup>> to memref<128xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[OWN]]
// CHECK: %[[SOME:.*]] = arith.cmpi ult, %[[T]], %c32
// CHECK-NEXT: scf.if %[[SOME]] {
// CHECK: memref.store %{{.*}}, %[[ACC]][%c0
// CHECK: gpu.barrier
func.func private @q_k0_task(%task: index, %a: memref<64xf32>)
    attributes {no_inline, passthrough = ["noinline"], tile.kernel = #tile.kernel<"q_k0">,
                tile.launch = #tile.launch<array<i64: 2>, 32, 128>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %base = arith.muli %task, %c32 : index
  %s = memref.alloca() {alignment = 32 : i64} : memref<128xi8, #gpu.address_space<workgroup>>
  %sv = memref.view %s[%c0][] : memref<128xi8, #gpu.address_space<workgroup>> to memref<32xf32, #gpu.address_space<workgroup>>
  scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
    %i = arith.addi %base, %t : index
    %v = memref.load %a[%i] : memref<64xf32>
    memref.store %v, %sv[%t] : memref<32xf32, #gpu.address_space<workgroup>>
    scf.reduce
  }
  "schedule.barrier"() {scope = "cta"} : () -> ()
  %acc = memref.alloca() : memref<32x1xf32, #gpu.address_space<private>>
  scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
    %v = memref.load %sv[%t] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %v, %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
    %w = memref.load %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
    %i = arith.addi %base, %t : index
    memref.store %w, %a[%i] : memref<64xf32>
    scf.reduce
  }
  return
}
memref.global "private" constant @q_veu_table : memref<1x2x2xi32> = dense<[[[0, 1], [1, 2]]]>
func.func private @q_rammer.func(%x: memref<64xf32>, %table: memref<1x2x2xi32>,
    %counters: memref<1xi32>, %epochs: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    %lo = memref.load %table[%c0, %veu, %c0] : memref<1x2x2xi32>
    %hi = memref.load %table[%c0, %veu, %c1] : memref<1x2x2xi32>
    %some = arith.cmpi slt, %lo, %hi : i32
    scf.if %some {
      %first = arith.index_cast %lo : i32 to index
      %end = arith.index_cast %hi : i32 to index
      scf.for %task = %first to %end step %c1 {
        func.call @q_k0_task(%task, %x) : (index, memref<64xf32>) -> ()
        "schedule.barrier"() {scope = "cta"} : () -> ()
      }
      %done = arith.subi %hi, %lo : i32
      "schedule.signal"(%counters, %c0, %done) : (memref<1xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "q_k0", 2, array<i64>>}
    scf.reduce
  } {tile.kernel = #tile.kernel<"q_rammer">, tile.launch = #tile.launch<array<i64: 2>, 64, 128>,
     schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @q_veu_table}
  return
}
