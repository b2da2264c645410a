// RUN: not quartet-opt %s --split-input-file --verify-diagnostics 2>&1 | FileCheck %s

/// Check that a diagnostic nobody expected is reported where it was emitted.

func.func @unexpected() {
  %0 = arith.constant 1 : i32
  // CHECK: verify-diagnostics-failures.mlir:[[@LINE+1]]:3: error: unexpected error: 'func.return' op has 1 operands
  return %0 : i32
}

// -----

/// Check that an expectation nothing met is reported where it was written.

func.func @unmet() {
  // CHECK: verify-diagnostics-failures.mlir:[[@LINE+1]]:6: error: expected error "never emitted" was not produced
  // expected-error @below {{never emitted}}
  return
}

// -----

/// Check that a message that only almost matches is both unexpected and unmet.

func.func @mismatch() {
  %0 = arith.constant 1 : i32
  // CHECK: verify-diagnostics-failures.mlir:[[@LINE+2]]:3: error: unexpected error: 'func.return' op has 1 operands
  // CHECK: verify-diagnostics-failures.mlir:[[@LINE+1]]:22: error: expected error "has 2 operands" was not produced
  return %0 : i32 // expected-error {{has 2 operands}}
}
