// RUN: not quartet-opt %s --split-input-file 2> %t.err | FileCheck %s
// RUN: FileCheck %s --check-prefix=ERR < %t.err

/// Check that each chunk is printed on its own, separated by '// -----'.

// CHECK-LABEL: func.func @first
//       CHECK: // -----
func.func @first() {
  return
}

// -----

/// Check that an invalid chunk is reported with the line number it has in the whole file, and
/// that it does not stop the chunks after it.

func.func @invalid() {
  %0 = arith.constant 1 : i32
  // ERR: split-input-file.mlir:[[@LINE+1]]:3: error: 'func.return' op has 1 operands
  return %0 : i32
}

// -----

// CHECK: // -----
// CHECK-LABEL: func.func @last
func.func @last() {
  return
}
