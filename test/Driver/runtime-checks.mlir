// RUN: quartet-opt %s --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-fixed-tiling,quartet-welder{arch=sm_90 fusion=welder},quartet-readonly-arguments,one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map},buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},canonicalize,quartet-error-word,quartet-outline-kernels,quartet-lower-tiles,quartet-map-to-gpu,canonicalize,cse,gpu-launch-sink-index-computations,quartet-widen-bool-buffers,gpu-kernel-outlining,inline,nvvm-attach-target{chip=sm_90 O=3},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},canonicalize,cse),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// RUN: quartet-opt %s --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),quartet-fixed-tiling,quartet-welder{arch=cpu fusion=welder},quartet-readonly-arguments,one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map},buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},canonicalize,quartet-error-word,quartet-outline-kernels,quartet-lower-tiles,quartet-map-to-cpu,canonicalize,cse,func.func(scf-parallel-for-to-nested-fors,buffer-loop-hoisting),buffer-deallocation-pipeline,quartet-widen-bool-buffers,func.func(llvm-request-c-wrappers),convert-scf-to-cf,expand-strided-metadata,finalize-memref-to-llvm,convert-to-llvm,reconcile-unrealized-casts)' | FileCheck %s --check-prefix=CPU

/// Check that a runtime check in a gather's body (as the ONNX importer writes it: an index out
/// of [-5, 5) fails the run with error 1) survives both full pipelines: in the PTX, the kernel
/// that gathers takes the error word as a parameter and sets it with an atomic max of the
/// code; on the CPU, the entry takes the word after its output and updates it atomically.

// PTX: gpu.binary @gather_k0
// PTX-SAME: .visible .entry gather_k0(
// PTX-SAME: atom.global.max.s32 {{[^;]*}}, 1;

// CPU-LABEL: llvm.func @_mlir_ciface_gather(
//  CPU-SAME: %{{.*}}: !llvm.ptr {tile.error_word}) attributes {{{.*}}tile.errors = [#tile.error<1 : i32, "node 'g' (GatherElements): an index in 'idx' is out of range
// CPU-LABEL: llvm.func @gather_k0.func(
//       CPU: llvm.atomicrmw max %{{.*}}, %{{.*}} acq_rel : !llvm.ptr, i32
func.func @gather(%data: tensor<4x5xf32>, %idx: tensor<4x2xi64>) -> tensor<4x2xf32> attributes {tile.errors = [#tile.error<1 : i32, "node 'g' (GatherElements): an index in 'idx' is out of range for axis 1 of 'data' (5 elements: valid indices are -5 to 4)">]} {
  %empty = tensor.empty() : tensor<4x2xf32>
  %out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%idx : tensor<4x2xi64>) outs(%empty : tensor<4x2xf32>) {
  ^bb0(%i: i64, %o: f32):
    %row = linalg.index 0 : index
    %index = arith.index_cast %i : i64 to index
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c5 = arith.constant 5 : index
    %negative = arith.cmpi slt, %index, %c0 : index
    %shifted = arith.addi %index, %c5 : index
    %wrapped = arith.select %negative, %shifted, %index : index
    %inside = arith.cmpi ult, %wrapped, %c5 : index
    "tile.check"(%inside) {code = 1 : i32} : (i1) -> ()
    %low = arith.maxsi %wrapped, %c0 : index
    %column = arith.minsi %low, %c4 : index
    %v = tensor.extract %data[%row, %column] : tensor<4x5xf32>
    linalg.yield %v : f32
  } -> tensor<4x2xf32>
  return %out : tensor<4x2xf32>
}
