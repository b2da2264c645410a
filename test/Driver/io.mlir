// RUN: quartet-opt < %s | FileCheck %s
// RUN: quartet-opt - -o %t < %s
// RUN: FileCheck %s < %t
// RUN: quartet-opt %s | quartet-opt | FileCheck %s
// RUN: quartet-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

/// Check that quartet-opt reads stdin (no argument, or '-'), writes to -o, reads its own output
/// back, and prints the generic form on request.

// CHECK-LABEL: func.func @identity
//  CHECK-NEXT:   return %{{.*}} : i32
// GENERIC: "func.func"() <{function_type = (i32) -> i32, sym_name = "identity"}>
func.func @identity(%a: i32) -> i32 {
  return %a : i32
}
