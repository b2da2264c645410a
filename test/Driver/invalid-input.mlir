// RUN: not quartet-opt %s --split-input-file 2>&1 | FileCheck %s --implicit-check-not=Traceback

/// Check that a syntax error is reported with its location and the offending line.

// CHECK: invalid-input.mlir:[[@LINE+2]]:19: error: expected non-function type
// CHECK-NEXT: func.func @syntax( {
func.func @syntax( {

// -----

/// Check that a verifier error is reported with its location.

func.func @verifier() {
  %0 = arith.constant 1 : i32
  // CHECK: invalid-input.mlir:[[@LINE+1]]:3: error: 'func.return' op has 1 operands, but enclosing function (@verifier) returns 0
  return %0 : i32
}

// -----

/// Check that an IRDL verifier error is reported with its location.

func.func @irdl(%a: memref<4xf32>, %b: memref<4xf32>) {
  // CHECK: invalid-input.mlir:[[@LINE+1]]:3: error: '"nowhere"' does not satisfy the constraint
  "tile.stage"(%a, %b) {from = "nowhere", to = "smem"} : (memref<4xf32>, memref<4xf32>) -> ()
  return
}

// -----

/// Check that an error of the semantic verifier (quartet.dialects.verify) is reported with its
/// location.

func.func @semantic(%counters: memref<2xi32>, %epoch: i32) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i32
  // CHECK: invalid-input.mlir:[[@LINE+1]]:3: error: 'schedule.wait' op must be inside a 'schedule.segment' of a vEU program
  "schedule.wait"(%counters, %c0, %one, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
  return
}

// -----

/// Check that an error at a location naming another file is reported in that file.

func.func @elsewhere() {
  %0 = arith.constant 1 : i32
  // CHECK: other.mlir:5:7: error: 'func.return' op has 1 operands, but enclosing function (@elsewhere) returns 0
  // CHECK-NOT: return %0
  return %0 : i32 loc("other.mlir":5:7)
}

// -----

/// Check that an error at a name location is reported at the file position inside it.

func.func @named() {
  %0 = arith.constant 1 : i32
  // CHECK: model.onnx:7:1: error: 'func.return' op has 1 operands, but enclosing function (@named) returns 0
  return %0 : i32 loc("gemm_0"("model.onnx":7:1))
}
