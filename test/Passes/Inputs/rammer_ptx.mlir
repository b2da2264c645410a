// The input of dynamic_shared.mlir's PTX check: two kernels as quartet-lower-tiles leaves them, the
// second reading what the first writes.
func.func private @r_k0.func(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%blk) = (%c0) to (%c2) step (%c1) {
    %base = arith.muli %blk, %c32 : index
    %s = memref.alloca() {alignment = 32 : i64} : memref<128xi8, #gpu.address_space<workgroup>>
    %sv = memref.view %s[%c0][] : memref<128xi8, #gpu.address_space<workgroup>> to memref<32xf32, #gpu.address_space<workgroup>>
    %acc = memref.alloca() : memref<32x1xf32, #gpu.address_space<private>>
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %i = arith.addi %base, %t : index
      %v = memref.load %a[%i] : memref<64xf32>
      memref.store %v, %sv[%t] : memref<32xf32, #gpu.address_space<workgroup>>
      memref.store %v, %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
      scf.reduce
    }
    "schedule.barrier"() {scope = "cta"} : () -> ()
    scf.parallel (%t) = (%c0) to (%c32) step (%c1) {
      %c31 = arith.constant 31 : index
      %j = arith.subi %c31, %t : index
      %v = memref.load %sv[%j] : memref<32xf32, #gpu.address_space<workgroup>>
      %w = memref.load %acc[%t, %c0] : memref<32x1xf32, #gpu.address_space<private>>
      %x = arith.addf %v, %w : f32
      %i = arith.addi %base, %t : index
      memref.store %x, %b[%i] : memref<64xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"r_k0">, tile.launch = #tile.launch<array<i64: 2>, 32, 128>,
     tile.traffic = array<i64: 256, 0, 0, 256>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}
func.func private @r_k1.func(%a: memref<64xf32>, %b: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%blk) = (%c0) to (%c1) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %a[%t] : memref<64xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %b[%t] : memref<64xf32>
      scf.reduce
    }
    scf.reduce
  } {tile.kernel = #tile.kernel<"r_k1">, tile.launch = #tile.launch<array<i64: 1>, 64, 0>,
     tile.traffic = array<i64: 256, 0, 0, 256>, welder.modelled_seconds = 1.0e-06 : f64}
  return
}
func.func @r(%x: memref<64xf32>, %y: memref<64xf32>, %z: memref<64xf32>) attributes {welder.launch_seconds = 0.0 : f64} {
  call @r_k0.func(%x, %y) : (memref<64xf32>, memref<64xf32>) -> ()
  call @r_k1.func(%y, %z) : (memref<64xf32>, memref<64xf32>) -> ()
  return
}
