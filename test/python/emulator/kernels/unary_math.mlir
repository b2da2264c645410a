// b[i] = exp(a[i]), c[i] = erf(a[i]) for i < n: libdevice's __nv_expf/__nv_erff, which LLVM
// inlines (expf's range reduction is an fma.rm.f32).
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @unary_math(%a: memref<1024xf32>, %b: memref<1024xf32>, %c: memref<1024xf32>, %n: index) kernel {
      %bid = gpu.block_id x
      %tid = gpu.thread_id x
      %dim = gpu.block_dim x
      %base = arith.muli %bid, %dim : index
      %i = arith.addi %base, %tid : index
      %inside = arith.cmpi ult, %i, %n : index
      scf.if %inside {
        %x = memref.load %a[%i] : memref<1024xf32>
        %e = math.exp %x : f32
        %f = math.erf %x : f32
        memref.store %e, %b[%i] : memref<1024xf32>
        memref.store %f, %c[%i] : memref<1024xf32>
      }
      gpu.return
    }
  }
}
