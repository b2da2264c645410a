// A chain of 128 blocks as LLVM's NVPTX backend emits it (test_emulator_mlir_kernels.py):
// block k > 0 waits until flags[k-1] is set (thread 0 polls with an acquire load, then a
// barrier), adds one to row k-1 and writes row k, then signals flags[k] (a barrier, then
// thread 0's release add, which each test plants).
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @handoff(%flags: memref<128xi32>, %rows: memref<4096xi32>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %one = arith.constant 1 : i32
      %one_i64 = arith.constant 1 : i64
      %zero = arith.constant 0 : i32
      %bid = gpu.block_id x
      %tid = gpu.thread_id x
      %dim = gpu.block_dim x
      %base = memref.extract_aligned_pointer_as_index %flags : memref<128xi32> -> index
      %base_i64 = arith.index_cast %base : index to i64
      %flags_ptr = llvm.inttoptr %base_i64 : i64 to !llvm.ptr
      %bid_i64 = arith.index_cast %bid : index to i64
      %row = arith.muli %bid, %dim : index
      %i = arith.addi %row, %tid : index
      %first = arith.cmpi eq, %bid, %c0 : index
      %leader = arith.cmpi eq, %tid, %c0 : index
      %value = scf.if %first -> (i32) {
        %t = arith.index_cast %tid : index to i32
        scf.yield %t : i32
      } else {
        scf.if %leader {
          %prev = arith.subi %bid_i64, %one_i64 : i64
          %wait_ptr = llvm.getelementptr %flags_ptr[%prev] : (!llvm.ptr, i64) -> !llvm.ptr, i32
          scf.while : () -> () {
            %seen = llvm.load %wait_ptr atomic syncscope("device") acquire {alignment = 4 : i64} : !llvm.ptr -> i32
            %unset = arith.cmpi eq, %seen, %zero : i32
            scf.condition(%unset)
          } do {
            scf.yield
          }
        }
        gpu.barrier
        %j = arith.subi %i, %dim : index
        %before = memref.load %rows[%j] : memref<4096xi32>
        %next = arith.addi %before, %one : i32
        scf.yield %next : i32
      }
      memref.store %value, %rows[%i] : memref<4096xi32>
      gpu.barrier
      scf.if %leader {
        %signal_ptr = llvm.getelementptr %flags_ptr[%bid_i64] : (!llvm.ptr, i64) -> !llvm.ptr, i32
        SIGNAL
      }
      gpu.return
    }
  }
}
