// The input of grinder_cta.mlir: k0 (4 blocks) copies %x into %s; a do-while loop runs k1
// (1 block: adds 1 to %s, writes the flag it reads) until the flag is 0; k0 copies %s to %y.
func.func private @c_k0.func(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%blk) = (%c0) to (%c4) step (%c1) {
    %base = arith.muli %blk, %c16 : index
    scf.parallel (%t) = (%c0) to (%c16) step (%c1) {
      %j = arith.addi %base, %t : index
      %v = memref.load %a[%j] : memref<64xf32>
      memref.store %v, %b[%j] : memref<64xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"c_k0">, tile.launch = #tile.launch<array<i64: 4>, 16, 0>,
     tile.traffic = array<i64: 256, 0, 0, 256>, welder.modelled_seconds = 2.0e-07 : f64}
  return
}
func.func private @c_k1.func(%s: memref<64xf32>, %flag: memref<1xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %s[%t] : memref<64xf32>
      %one = arith.constant 1.0 : f32
      %w = arith.addf %v, %one : f32
      memref.store %w, %s[%t] : memref<64xf32>
      %zero = arith.constant 0 : i8
      memref.store %zero, %flag[%c0] : memref<1xi8>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"c_k1">, tile.launch = #tile.launch<array<i64: 1>, 64, 0>,
     tile.traffic = array<i64: 256, 256, 0, 1>, welder.modelled_seconds = 2.0e-07 : f64}
  return
}
func.func @c(%x: memref<64xf32>, %y: memref<64xf32>) attributes {welder.launch_seconds = 1.9e-07 : f64} {
  %c0 = arith.constant 0 : index
  %s = memref.alloc() : memref<64xf32>
  %flag = memref.alloc() : memref<1xi8>
  func.call @c_k0.func(%x, %s) : (memref<64xf32>, memref<64xf32>) -> ()
  scf.while : () -> () {
    func.call @c_k1.func(%s, %flag) : (memref<64xf32>, memref<1xi8>) -> ()
    %byte = memref.load %flag[%c0] : memref<1xi8>
    %go = arith.trunci %byte : i8 to i1
    scf.condition(%go)
  } do {
    scf.yield
  }
  func.call @c_k0.func(%s, %y) : (memref<64xf32>, memref<64xf32>) -> ()
  return
}
