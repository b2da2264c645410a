// The input of grinder_program.mlir: two kernels as quartet-lower-tiles leaves them (k0 writes
// %s from %x, k1 adds %s into %h: the loop's state, carried in place) inside an scf.for, and a
// branch on a flag k1 computes.
func.func private @g_k0.func(%a: memref<64xf32>, %b: memref<64xf32>, %i: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%blk) = (%c0) to (%c2) step (%c1) {
    %base = arith.muli %blk, %c32 : index
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %j = arith.addi %base, %t : index
      %v = memref.load %a[%j] : memref<64xf32>
      memref.store %v, %b[%j] : memref<64xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"g_k0">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>,
     tile.traffic = array<i64: 256, 0, 0, 256, 0, 0>, welder.modelled_seconds = 2.0e-07 : f64}
  return
}
func.func private @g_k1.func(%s: memref<64xf32>, %h: memref<64xf32>, %flag: memref<1xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%blk) = (%c0) to (%c2) step (%c1) {
    %base = arith.muli %blk, %c32 : index
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %j = arith.addi %base, %t : index
      %v = memref.load %s[%j] : memref<64xf32>
      %w = memref.load %h[%j] : memref<64xf32>
      %sum = arith.addf %v, %w : f32
      memref.store %sum, %h[%j] : memref<64xf32>
      %zero = arith.constant 0 : i8
      memref.store %zero, %flag[%c0] : memref<1xi8>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"g_k1">, tile.launch = #tile.launch<array<i64: 2>, 32, 0>,
     tile.traffic = array<i64: 256, 0, 256, 256, 0, 1>, welder.modelled_seconds = 2.0e-07 : f64}
  return
}
func.func @g(%x: memref<64xf32>, %h: memref<64xf32>) attributes {welder.launch_seconds = 1.9e-07 : f64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %s = memref.alloc() : memref<64xf32>
  %flag = memref.alloc() : memref<1xi8>
  scf.for %i = %c0 to %c3 step %c1 {
    func.call @g_k0.func(%x, %s, %i) : (memref<64xf32>, memref<64xf32>, index) -> ()
    func.call @g_k1.func(%s, %h, %flag) : (memref<64xf32>, memref<64xf32>, memref<1xi8>) -> ()
  }
  %byte = memref.load %flag[%c0] : memref<1xi8>
  %p = arith.trunci %byte : i8 to i1
  scf.if %p {
    func.call @g_k0.func(%h, %x, %c0) : (memref<64xf32>, memref<64xf32>, index) -> ()
  }
  return
}
