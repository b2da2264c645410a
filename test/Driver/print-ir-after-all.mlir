// RUN: quartet-opt %s -o %t --mlir-print-ir-after-all --pass-pipeline='builtin.module(quartet-fixed-tiling,func.func(canonicalize))' 2>&1 | FileCheck %s

/// Check that the IR is printed after every pass, Quartet's (Python) and upstream ones.

// CHECK: IR Dump After FixedTiling (quartet-fixed-tiling)
// CHECK: arith.addi
// CHECK: IR Dump After Canonicalizer (canonicalize)
// CHECK-NOT: arith.addi
func.func @add_zero(%a: i32) -> i32 {
  %zero = arith.constant 0 : i32
  %sum = arith.addi %a, %zero : i32
  return %sum : i32
}
