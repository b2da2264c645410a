// out[block] = sum of the block's 256 inputs: xor-shuffle reduction per warp, warp partials
// in shared memory, then a shuffle reduction of the partials by warp 0.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    memref.global "private" @partials : memref<8xf32, #gpu.address_space<workgroup>>
    gpu.func @block_sum(%in: memref<4096xf32>, %out: memref<16xf32>) kernel {
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c32 = arith.constant 32 : index
      %c256 = arith.constant 256 : index
      %w32 = arith.constant 32 : i32
      %zero = arith.constant 0.0 : f32
      %tid = gpu.thread_id x
      %bid = gpu.block_id x
      %base = arith.muli %bid, %c256 : index
      %i = arith.addi %base, %tid : index
      %v = memref.load %in[%i] : memref<4096xf32>
      %o16 = arith.constant 16 : i32
      %o8 = arith.constant 8 : i32
      %o4 = arith.constant 4 : i32
      %o2 = arith.constant 2 : i32
      %o1 = arith.constant 1 : i32
      %s16, %p16 = gpu.shuffle xor %v, %o16, %w32 : f32
      %a16 = arith.addf %v, %s16 : f32
      %s8, %p8 = gpu.shuffle xor %a16, %o8, %w32 : f32
      %a8 = arith.addf %a16, %s8 : f32
      %s4, %p4 = gpu.shuffle xor %a8, %o4, %w32 : f32
      %a4 = arith.addf %a8, %s4 : f32
      %s2, %p2 = gpu.shuffle xor %a4, %o2, %w32 : f32
      %a2 = arith.addf %a4, %s2 : f32
      %s1, %p1 = gpu.shuffle xor %a2, %o1, %w32 : f32
      %a1 = arith.addf %a2, %s1 : f32
      %lane = arith.remui %tid, %c32 : index
      %warp = arith.divui %tid, %c32 : index
      %partials = memref.get_global @partials : memref<8xf32, #gpu.address_space<workgroup>>
      %is_lane0 = arith.cmpi eq, %lane, %c0 : index
      scf.if %is_lane0 {
        memref.store %a1, %partials[%warp] : memref<8xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      %is_warp0 = arith.cmpi eq, %warp, %c0 : index
      scf.if %is_warp0 {
        %has = arith.cmpi ult, %lane, %c8 : index
        %x = scf.if %has -> f32 {
          %p = memref.load %partials[%lane] : memref<8xf32, #gpu.address_space<workgroup>>
          scf.yield %p : f32
        } else {
          scf.yield %zero : f32
        }
        %t4, %q4 = gpu.shuffle xor %x, %o4, %w32 : f32
        %b4 = arith.addf %x, %t4 : f32
        %t2, %q2 = gpu.shuffle xor %b4, %o2, %w32 : f32
        %b2 = arith.addf %b4, %t2 : f32
        %t1, %q1 = gpu.shuffle xor %b2, %o1, %w32 : f32
        %b1 = arith.addf %b2, %t1 : f32
        scf.if %is_lane0 {
          memref.store %b1, %out[%bid] : memref<16xf32>
        }
      }
      gpu.return
    }
  }
}
