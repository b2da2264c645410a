// RUN: quartet-opt %s --split-input-file --verify-diagnostics

/// Check that an expectation without a designator applies to its own line.

func.func @same_line() {
  %0 = arith.constant 1 : i32
  return %0 : i32 // expected-error {{'func.return' op has 1 operands, but enclosing function (@same_line) returns 0}}
}

// -----

/// Check that @+N and @-N count lines from the expectation.

func.func @offsets() {
  %0 = arith.constant 1 : i32
  // expected-error @+1 {{has 1 operands}}
  return %0 : i32
}

// -----

func.func @offsets() {
  %0 = arith.constant 1 : i32
  return %0 : i32

  // expected-error @-2 {{has 1 operands}}
}

// -----

/// Check that @below applies to the next line without an expectation, skipping expectations.

// expected-error @below {{Dialect `foo' not found for custom op 'foo.bar'}}
// expected-note @below {{Available dialects: }}
foo.bar

// -----

/// Check that @above applies to the last line without an expectation.

func.func @above() {
  %0 = arith.constant 1 : i32
  return %0 : i32
  // expected-error @above {{has 1 operands}}
}

// -----

/// Check that expected-*-re takes {{regex}} parts.

// expected-error-re @below {{Dialect `{{[a-z]+}}' not found}}
// expected-note @below {{Available dialects: }}
bar.baz

// -----

/// Check that syntax errors are matched.

// expected-error @below {{expected non-function type}}
func.func @syntax( {

// -----

/// Check that errors of the IRDL-defined verifiers are matched.

func.func @irdl(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @below {{'"nowhere"' does not satisfy the constraint}}
  "tile.stage"(%a, %b) {from = "nowhere", to = "smem"} : (memref<4xf32>, memref<4xf32>) -> ()
  return
}

// -----

/// Check that errors of the semantic verifier (quartet.dialects.verify) are matched.

func.func @semantic(%counters: memref<2xi32>, %epoch: i32) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i32
  // expected-error @below {{'schedule.wait' op must be inside a 'schedule.segment' of a vEU program}}
  "schedule.wait"(%counters, %c0, %one, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
  return
}
