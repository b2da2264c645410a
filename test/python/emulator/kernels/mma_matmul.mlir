// C = A @ B for 64x64 f16 -> f32 on tensor cores: one warp per 16x8 tile of C; per 16-wide k
// step the A and B tiles are staged in shared memory, loaded with ldmatrix, and multiplied
// with mma.sync m16n8k16.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    memref.global "private" @a_tile : memref<16x16xf16, #gpu.address_space<workgroup>>
    memref.global "private" @b_tile : memref<16x8xf16, #gpu.address_space<workgroup>>
    gpu.func @mma_matmul(%A: memref<64x64xf16>, %B: memref<64x64xf16>, %C: memref<64x64xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %c32 = arith.constant 32 : index
      %c64 = arith.constant 64 : index
      %lane = gpu.thread_id x
      %bx = gpu.block_id x
      %by = gpu.block_id y
      %row0 = arith.muli %by, %c16 : index
      %col0 = arith.muli %bx, %c8 : index
      %as = memref.get_global @a_tile : memref<16x16xf16, #gpu.address_space<workgroup>>
      %bs = memref.get_global @b_tile : memref<16x8xf16, #gpu.address_space<workgroup>>
      %init = arith.constant dense<0.0> : vector<2x2xf32>
      %lane_row = arith.remui %lane, %c16 : index
      %lane_half = arith.divui %lane, %c16 : index
      %lane_col = arith.muli %lane_half, %c8 : index
      %acc = scf.for %k0 = %c0 to %c64 step %c16 iter_args(%d = %init) -> vector<2x2xf32> {
        // stage A[row0:+16, k0:+16] (8 elements per lane) and B[k0:+16, col0:+8] (4 per lane)
        scf.for %e = %c0 to %c8 step %c1 {
          %flat = arith.muli %e, %c32 : index
          %idx = arith.addi %flat, %lane : index
          %r = arith.divui %idx, %c16 : index
          %c = arith.remui %idx, %c16 : index
          %gr = arith.addi %row0, %r : index
          %gc = arith.addi %k0, %c : index
          %v = memref.load %A[%gr, %gc] : memref<64x64xf16>
          memref.store %v, %as[%r, %c] : memref<16x16xf16, #gpu.address_space<workgroup>>
        }
        scf.for %e = %c0 to %c4 step %c1 {
          %flat = arith.muli %e, %c32 : index
          %idx = arith.addi %flat, %lane : index
          %r = arith.divui %idx, %c8 : index
          %c = arith.remui %idx, %c8 : index
          %gr = arith.addi %k0, %r : index
          %gc = arith.addi %col0, %c : index
          %v = memref.load %B[%gr, %gc] : memref<64x64xf16>
          memref.store %v, %bs[%r, %c] : memref<16x8xf16, #gpu.address_space<workgroup>>
        }
        gpu.barrier
        %a = nvgpu.ldmatrix %as[%lane_row, %lane_col] {numTiles = 4 : i32, transpose = false}
            : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
        %b = nvgpu.ldmatrix %bs[%lane_row, %c0] {numTiles = 2 : i32, transpose = true}
            : memref<16x8xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
        %d2 = nvgpu.mma.sync (%a, %b, %d) {mmaShape = [16, 8, 16]}
            : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
        gpu.barrier
        scf.yield %d2 : vector<2x2xf32>
      }
      %group = arith.divui %lane, %c4 : index
      %tig = arith.remui %lane, %c4 : index
      %col_in = arith.muli %tig, %c2 : index
      %r_lo = arith.addi %row0, %group : index
      %r_hi = arith.addi %r_lo, %c8 : index
      %cc0 = arith.addi %col0, %col_in : index
      %cc1 = arith.addi %cc0, %c1 : index
      %d00 = vector.extract %acc[0, 0] : f32 from vector<2x2xf32>
      %d01 = vector.extract %acc[0, 1] : f32 from vector<2x2xf32>
      %d10 = vector.extract %acc[1, 0] : f32 from vector<2x2xf32>
      %d11 = vector.extract %acc[1, 1] : f32 from vector<2x2xf32>
      memref.store %d00, %C[%r_lo, %cc0] : memref<64x64xf32>
      memref.store %d01, %C[%r_lo, %cc1] : memref<64x64xf32>
      memref.store %d10, %C[%r_hi, %cc0] : memref<64x64xf32>
      memref.store %d11, %C[%r_hi, %cc1] : memref<64x64xf32>
      gpu.return
    }
  }
}
