// b[i] = exp(a[i]) + a[i] for i < n through a device function that LLVM does not inline
// (no_inline): the PTX has a .func and a call.uni with .param arguments.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    llvm.func @helper(%x: f32) -> f32 attributes {no_inline} {
      %e = math.exp %x : f32
      %s = arith.addf %e, %x : f32
      llvm.return %s : f32
    }
    gpu.func @call_helper(%a: memref<1024xf32>, %b: memref<1024xf32>, %n: index) kernel {
      %bid = gpu.block_id x
      %tid = gpu.thread_id x
      %dim = gpu.block_dim x
      %base = arith.muli %bid, %dim : index
      %i = arith.addi %base, %tid : index
      %inside = arith.cmpi ult, %i, %n : index
      scf.if %inside {
        %x = memref.load %a[%i] : memref<1024xf32>
        %y = llvm.call @helper(%x) : (f32) -> f32
        memref.store %y, %b[%i] : memref<1024xf32>
      }
      gpu.return
    }
  }
}
