// RUN: quartet-opt %s --split-input-file --verify-diagnostics

/// Check that a device scope is "grid" or "cta".
// expected-error @below {{'"warp"' does not satisfy the constraint}}
func.func private @scope() attributes {p = #controlflow.device<"warp">}

// -----

/// Check that a device attribute has exactly one parameter.
// expected-error @below {{expected 1 type arguments, but had 2}}
func.func private @arity() attributes {p = #controlflow.device<"grid", "cta">}

// -----

/// Check that a broadcast keeps the type of its value.
func.func @broadcast_type(%x: i1) {
  // expected-error @below {{expected 'i1' but got 'i32'}}
  %y = "controlflow.broadcast"(%x) : (i1) -> i32
  return
}

// -----

/// Check that a broadcast has a result.
func.func @broadcast_result(%x: i1) {
  // expected-error @below {{op expects exactly 1 results, but got 0}}
  "controlflow.broadcast"(%x) : (i1) -> ()
  return
}

// -----

/// Check that controlflow.placement holds a device attribute.
func.func @placement_kind(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @below {{'scf.for' op 'controlflow.placement' must be a #controlflow.device attribute}}
  scf.for %i = %c0 to %n step %c1 {
  } {controlflow.placement = "grid"}
  return
}

// -----

/// Check that only loops and branches are placed on the device.
func.func @placement_op(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @below {{'scf.parallel' op 'controlflow.placement' is only allowed on scf.for, scf.while and scf.if}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.reduce
  } {controlflow.placement = #controlflow.device<"grid">}
  return
}

// -----

/// Check that a grid-wide loop cannot run inside a construct that one CTA runs alone.
func.func @grid_in_cta(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    // expected-error @below {{'scf.for' op a 'grid'-scoped device construct cannot be nested in a 'cta'-scoped one}}
    scf.for %j = %c0 to %n step %c1 {
    } {controlflow.placement = #controlflow.device<"grid">}
  } {controlflow.placement = #controlflow.device<"cta">}
  return
}

// -----

/// Check that a grid barrier cannot sit in a construct that one CTA runs alone.
func.func @barrier_in_cta(%c: i1, %sync: memref<2xi32>) {
  scf.if %c {
    // expected-error @below {{'schedule.barrier' op a 'grid' barrier cannot be inside a 'cta'-scoped device construct}}
    "schedule.barrier"(%sync) {scope = "grid"} : (memref<2xi32>) -> ()
  } {controlflow.placement = #controlflow.device<"cta">}
  return
}

// -----

/// Check that a broadcast needs a grid-scoped device construct.
func.func @broadcast_outside(%x: i1) -> i1 {
  // expected-error @below {{'controlflow.broadcast' op must be inside a 'grid'-scoped device construct}}
  %y = "controlflow.broadcast"(%x) : (i1) -> i1
  return %y : i1
}

// -----

/// Check that the nearest device construct around a broadcast must be grid-scoped.
func.func @broadcast_in_cta(%x: i1, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    scf.if %x {
      // expected-error @below {{'controlflow.broadcast' op must be inside a 'grid'-scoped device construct}}
      %y = "controlflow.broadcast"(%x) : (i1) -> i1
    } {controlflow.placement = #controlflow.device<"cta">}
  } {controlflow.placement = #controlflow.device<"grid">}
  return
}
