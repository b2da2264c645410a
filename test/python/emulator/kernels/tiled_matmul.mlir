// C = A @ B for 256x256 f32: 16x16 threads per block, each computing a 4x4 strip of a
// 64x64 tile; A and B tiles staged in shared memory per 16-wide k step, with barriers.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    memref.global "private" @a_tile : memref<64x16xf32, #gpu.address_space<workgroup>>
    memref.global "private" @b_tile : memref<16x64xf32, #gpu.address_space<workgroup>>
    gpu.func @matmul(%A: memref<256x256xf32>, %B: memref<256x256xf32>, %C: memref<256x256xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %c16 = arith.constant 16 : index
      %c64 = arith.constant 64 : index
      %c256 = arith.constant 256 : index
      %zero = arith.constant 0.0 : f32
      %bx = gpu.block_id x
      %by = gpu.block_id y
      %tx = gpu.thread_id x
      %ty = gpu.thread_id y
      %as = memref.get_global @a_tile : memref<64x16xf32, #gpu.address_space<workgroup>>
      %bs = memref.get_global @b_tile : memref<16x64xf32, #gpu.address_space<workgroup>>
      %acc = memref.alloca() : memref<4x4xf32>
      scf.for %i = %c0 to %c4 step %c1 {
        scf.for %j = %c0 to %c4 step %c1 {
          memref.store %zero, %acc[%i, %j] : memref<4x4xf32>
        }
      }
      %row0 = arith.muli %by, %c64 : index
      %col0 = arith.muli %bx, %c64 : index
      scf.for %k0 = %c0 to %c256 step %c16 {
        scf.for %r = %c0 to %c4 step %c1 {
          %ar = arith.muli %r, %c16 : index
          %arow = arith.addi %ar, %ty : index
          %grow = arith.addi %row0, %arow : index
          %gk = arith.addi %k0, %tx : index
          %va = memref.load %A[%grow, %gk] : memref<256x256xf32>
          memref.store %va, %as[%arow, %tx] : memref<64x16xf32, #gpu.address_space<workgroup>>
          %bc = arith.muli %r, %c16 : index
          %bcol = arith.addi %bc, %tx : index
          %gk2 = arith.addi %k0, %ty : index
          %gcol = arith.addi %col0, %bcol : index
          %vb = memref.load %B[%gk2, %gcol] : memref<256x256xf32>
          memref.store %vb, %bs[%ty, %bcol] : memref<16x64xf32, #gpu.address_space<workgroup>>
        }
        gpu.barrier
        scf.for %k = %c0 to %c16 step %c1 {
          scf.for %i = %c0 to %c4 step %c1 {
            %ri = arith.muli %i, %c16 : index
            %rr = arith.addi %ri, %ty : index
            %x = memref.load %as[%rr, %k] : memref<64x16xf32, #gpu.address_space<workgroup>>
            scf.for %j = %c0 to %c4 step %c1 {
              %cj = arith.muli %j, %c16 : index
              %cc = arith.addi %cj, %tx : index
              %y = memref.load %bs[%k, %cc] : memref<16x64xf32, #gpu.address_space<workgroup>>
              %s = memref.load %acc[%i, %j] : memref<4x4xf32>
              %p = arith.mulf %x, %y : f32
              %s2 = arith.addf %s, %p : f32
              memref.store %s2, %acc[%i, %j] : memref<4x4xf32>
            }
          }
        }
        gpu.barrier
      }
      scf.for %i = %c0 to %c4 step %c1 {
        scf.for %j = %c0 to %c4 step %c1 {
          %ri = arith.muli %i, %c16 : index
          %rr = arith.addi %ri, %ty : index
          %grow = arith.addi %row0, %rr : index
          %cj = arith.muli %j, %c16 : index
          %cc = arith.addi %cj, %tx : index
          %gcol = arith.addi %col0, %cc : index
          %v = memref.load %acc[%i, %j] : memref<4x4xf32>
          memref.store %v, %C[%grow, %gcol] : memref<256x256xf32>
        }
      }
      gpu.return
    }
  }
}
