// s[i] = sin(x[i]) (f32) and d[i] = sin(y[i]) (f64) through libdevice. Large arguments take the
// Payne-Hanek slow paths: shf.l.wrap.b32 for f32; for f64 a non-inlined device function with a
// .local array and inline-asm carry chains (mad.lo.cc/madc on registers named without %).
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @trig(%x: memref<64xf32>, %s: memref<64xf32>, %y: memref<64xf64>, %d: memref<64xf64>) kernel {
      %i = gpu.thread_id x
      %a = memref.load %x[%i] : memref<64xf32>
      %b = math.sin %a : f32
      memref.store %b, %s[%i] : memref<64xf32>
      %c = memref.load %y[%i] : memref<64xf64>
      %e = math.sin %c : f64
      memref.store %e, %d[%i] : memref<64xf64>
      gpu.return
    }
  }
}
