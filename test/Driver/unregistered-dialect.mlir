// RUN: quartet-opt %s --allow-unregistered-dialect | FileCheck %s
// RUN: not quartet-opt %s 2>&1 | FileCheck %s --check-prefix=ERR

/// Check that operations of unknown dialects parse only with --allow-unregistered-dialect.

// CHECK: "foo.bar"() : () -> ()
// ERR: unregistered-dialect.mlir:[[@LINE+1]]:10: error: operation being parsed with an unregistered dialect
"foo.bar"() : () -> ()
