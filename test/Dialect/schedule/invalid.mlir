// RUN: quartet-opt %s --split-input-file --verify-diagnostics

/// Check that a barrier's scope is "cta".
func.func @scope() {
  // expected-error @below {{expected '"cta"' but got '"warp"'}}
  "schedule.barrier"() {scope = "warp"} : () -> ()
  return
}

// -----

/// Check that a barrier names its scope.
func.func @no_scope() {
  // expected-error @below {{'schedule.barrier' op attribute "scope" is expected but not provided}}
  "schedule.barrier"() : () -> ()
  return
}

// -----

/// Check that a barrier has no region.
func.func @barrier_region() {
  // expected-error @below {{'schedule.barrier' op unexpected number of regions: expected 0 but got 1}}
  "schedule.barrier"() ({}) {scope = "cta"} : () -> ()
  return
}

// -----

/// Check that vEU counts are integers.
// expected-error @below {{expected base attribute 'builtin.integer' but got 'builtin.string'}}
func.func private @veus_string() attributes {schedule.veus = #schedule.veus<"4", 1>}

// -----

/// Check that a placement has a vEU and an order.
// expected-error @below {{expected 2 type arguments, but had 1}}
func.func private @placement_arity() attributes {p = #schedule.placement<0>}

// -----

func.func private @k()

/// Check that an rtask's kernel is a symbol.
func.func @kernel_string() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{expected base attribute 'builtin.symbol_ref' but got 'builtin.string'}}
  "schedule.rtask"() {kernel = "k", task = 0, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

func.func private @k()

/// Check that an rtask's placement is a placement.
func.func @placement_kind() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{expected base attribute 'schedule.placement' but got 'schedule.veus'}}
  "schedule.rtask"() {kernel = @k, task = 0, placement = #schedule.veus<0, 0>} : () -> ()
  return
}

// -----

func.func private @k()

/// Check that an rtask names its task.
func.func @no_task() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{'schedule.rtask' op attribute "task" is expected but not provided}}
  "schedule.rtask"() {kernel = @k, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

/// Check that alloc_counter yields a counter.
func.func @alloc_type() {
  // expected-error @below {{expected base type 'schedule.counter' but got 'builtin.integer'}}
  %c = "schedule.alloc_counter"() : () -> i32
  return
}

// -----

/// Check that signal takes one counter.
func.func @signal_operands() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{op expects exactly 1 operands, but got 0}}
  "schedule.signal"() {placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

/// Check that wait takes a counter.
func.func @wait_type(%x: i32) attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{expected base type 'schedule.counter' but got 'builtin.integer'}}
  "schedule.wait"(%x) {expected = 1, placement = #schedule.placement<0, 0>} : (i32) -> ()
  return
}

// -----

/// Check that wait names the count it expects.
func.func @wait_expected() attributes {schedule.veus = #schedule.veus<1, 1>} {
  %c = "schedule.alloc_counter"() : () -> !schedule.counter
  // expected-error @below {{'schedule.wait' op attribute "expected" is expected but not provided}}
  "schedule.wait"(%c) {placement = #schedule.placement<0, 0>} : (!schedule.counter) -> ()
  return
}

// -----

/// Check that schedule.veus holds a veus attribute.
// expected-error @below {{'func.func' op 'schedule.veus' must be a #schedule.veus attribute}}
func.func private @veus_kind() attributes {schedule.veus = 4}

// -----

/// Check that vEU counts are positive.
// expected-error @below {{'func.func' op vEU count and per_sm must be positive, got 0 and 2}}
func.func private @veus_zero() attributes {schedule.veus = #schedule.veus<0, 2>}

// -----

/// Check that every SM holds the same number of vEUs.
// expected-error @below {{'func.func' op vEU count 10 is not a multiple of per_sm 4}}
func.func private @veus_per_sm() attributes {schedule.veus = #schedule.veus<10, 4>}

// -----

func.func private @k()

/// Check that placed ops live in an rProgram.
func.func @no_veus() {
  // expected-error @below {{'schedule.rtask' op needs an enclosing op with a 'schedule.veus' attribute}}
  "schedule.rtask"() {kernel = @k, task = 0, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

func.func private @k()

/// Check that a vEU index is below the vEU count.
func.func @veu_range() attributes {schedule.veus = #schedule.veus<4, 1>} {
  // expected-error @below {{'schedule.rtask' op vEU 7 is out of range for 4 vEUs}}
  "schedule.rtask"() {kernel = @k, task = 0, placement = #schedule.placement<7, 0>} : () -> ()
  return
}

// -----

/// Check that a vEU index is non-negative.
func.func @veu_negative() attributes {schedule.veus = #schedule.veus<4, 1>} {
  %c = "schedule.alloc_counter"() : () -> !schedule.counter
  // expected-error @below {{'schedule.signal' op vEU -1 is out of range for 4 vEUs}}
  "schedule.signal"(%c) {placement = #schedule.placement<-1, 0>} : (!schedule.counter) -> ()
  return
}

// -----

func.func private @k()

/// Check that an order is non-negative.
func.func @order_negative() attributes {schedule.veus = #schedule.veus<4, 1>} {
  // expected-error @below {{'schedule.rtask' op placement order must be non-negative, got -1}}
  "schedule.rtask"() {kernel = @k, task = 0, placement = #schedule.placement<0, -1>} : () -> ()
  return
}

// -----

func.func private @k()

/// Check that two ops cannot share a slot.
func.func @slot_taken() attributes {schedule.veus = #schedule.veus<2, 1>} {
  "schedule.rtask"() {kernel = @k, task = 0, placement = #schedule.placement<1, 0>} : () -> ()
  // expected-error @below {{'schedule.rtask' op vEU 1 order 0 is already taken}}
  "schedule.rtask"() {kernel = @k, task = 1, placement = #schedule.placement<1, 0>} : () -> ()
  return
}

// -----

func.func private @k()

/// Check that a task index is non-negative.
func.func @task_negative() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{'schedule.rtask' op task index must be non-negative, got -1}}
  "schedule.rtask"() {kernel = @k, task = -1, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

/// Check that a kernel reference is flat.
func.func @kernel_nested() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{'schedule.rtask' op kernel must be a flat symbol reference}}
  "schedule.rtask"() {kernel = @m::@k, task = 0, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

/// Check that a kernel names a function of the module.
func.func @kernel_missing() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{'schedule.rtask' op kernel @missing does not name a function}}
  "schedule.rtask"() {kernel = @missing, task = 0, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

memref.global @data : memref<4xf32>

/// Check that a kernel names a function, not another symbol.
func.func @kernel_global() attributes {schedule.veus = #schedule.veus<1, 1>} {
  // expected-error @below {{'schedule.rtask' op kernel @data does not name a function}}
  "schedule.rtask"() {kernel = @data, task = 0, placement = #schedule.placement<0, 0>} : () -> ()
  return
}

// -----

/// Check that a wait expects at least one signal.
func.func @wait_zero() attributes {schedule.veus = #schedule.veus<1, 1>} {
  %c = "schedule.alloc_counter"() : () -> !schedule.counter
  // expected-error @below {{'schedule.wait' op expected count must be positive, got 0}}
  "schedule.wait"(%c) {expected = 0, placement = #schedule.placement<0, 0>} : (!schedule.counter) -> ()
  return
}

// -----

/// Check that a wait cannot expect more signals than its counter ever gets.
func.func @wait_too_many() attributes {schedule.veus = #schedule.veus<2, 1>} {
  %c = "schedule.alloc_counter"() : () -> !schedule.counter
  "schedule.signal"(%c) {placement = #schedule.placement<0, 0>} : (!schedule.counter) -> ()
  // expected-error @below {{'schedule.wait' op waits for 2 signals but only 1 schedule.signal ops use its counter}}
  "schedule.wait"(%c) {expected = 2, placement = #schedule.placement<1, 0>} : (!schedule.counter) -> ()
  return
}

// -----

/// Check that waits whose signals come only after other waits are reported as a deadlock.
func.func @deadlock() attributes {schedule.veus = #schedule.veus<2, 1>} {
  %a = "schedule.alloc_counter"() : () -> !schedule.counter
  %b = "schedule.alloc_counter"() : () -> !schedule.counter
  // expected-error @below {{'schedule.wait' op the rProgram deadlocks: vEU 0 never gets past this wait}}
  "schedule.wait"(%a) {expected = 1, placement = #schedule.placement<0, 0>} : (!schedule.counter) -> ()
  "schedule.signal"(%b) {placement = #schedule.placement<0, 1>} : (!schedule.counter) -> ()
  // expected-error @below {{'schedule.wait' op the rProgram deadlocks: vEU 1 never gets past this wait}}
  "schedule.wait"(%b) {expected = 1, placement = #schedule.placement<1, 0>} : (!schedule.counter) -> ()
  "schedule.signal"(%a) {placement = #schedule.placement<1, 1>} : (!schedule.counter) -> ()
  return
}

// -----

/// Check that the order attribute, not the textual order, decides when a wait runs.
func.func @deadlock_by_order() attributes {schedule.veus = #schedule.veus<1, 1>} {
  %a = "schedule.alloc_counter"() : () -> !schedule.counter
  "schedule.signal"(%a) {placement = #schedule.placement<0, 1>} : (!schedule.counter) -> ()
  // expected-error @below {{'schedule.wait' op the rProgram deadlocks: vEU 0 never gets past this wait}}
  "schedule.wait"(%a) {expected = 1, placement = #schedule.placement<0, 0>} : (!schedule.counter) -> ()
  return
}
