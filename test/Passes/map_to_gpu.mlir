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
  } {tile.kernel = #tile.kernel<"rev_k0">}
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
  } {tile.kernel = #tile.kernel<"bad_private_k0">}
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
  } {tile.kernel = #tile.kernel<"mma_k0">}
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
  } {tile.kernel = #tile.kernel<"mma_k0">}
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
  } {tile.kernel = #tile.kernel<"check_k0">}
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
  } {tile.kernel = #tile.kernel<"unwired_k0">}
  return
}
