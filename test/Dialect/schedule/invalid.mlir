// RUN: quartet-opt %s --split-input-file --verify-diagnostics

/// Check that a barrier's scope is "cta" or "grid".
func.func @scope() {
  // expected-error @below {{'"warp"' does not satisfy the constraint}}
  "schedule.barrier"() {scope = "warp"} : () -> ()
  return
}

// -----

/// Check that a grid barrier names its two sync cells.
func.func @grid_without_cells() {
  // expected-error @below {{'schedule.barrier' op a 'grid' barrier takes its two sync cells (a memref of 2 x i32) and a 'cta' one nothing, got []}}
  "schedule.barrier"() {scope = "grid"} : () -> ()
  return
}

// -----

/// Check that a CTA barrier takes no cells.
func.func @cta_with_cells(%sync: memref<2xi32>) {
  // expected-error @below {{'schedule.barrier' op a 'grid' barrier takes its two sync cells (a memref of 2 x i32) and a 'cta' one nothing, got ['memref<2xi32>']}}
  "schedule.barrier"(%sync) {scope = "cta"} : (memref<2xi32>) -> ()
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
func.func private @veus_string() attributes {schedule.veus = #schedule.veus<"4", 1, "sm_90">}

// -----

/// Check that the virtual device names its arch.
// expected-error @below {{expected 3 type arguments, but had 2}}
func.func private @veus_arity() attributes {schedule.veus = #schedule.veus<4, 1>}

// -----

/// Check that a wait's expected count is an i32 operand.
func.func @wait_index(%counters: memref<2xi32>, %n: index, %epoch: i32) {
  %c0 = arith.constant 0 : index
  // expected-error @below {{expected 'i32' but got 'index'}}
  "schedule.wait"(%counters, %c0, %n, %epoch) : (memref<2xi32>, index, index, i32) -> ()
  return
}

// -----

/// Check that a signal has a counter, a launch and an amount.
func.func @signal_operands(%counters: memref<2xi32>) {
  %c0 = arith.constant 0 : index
  // expected-error @below {{op expects exactly 3 operands, but got 2}}
  "schedule.signal"(%counters, %c0) : (memref<2xi32>, index) -> ()
  return
}

// -----

/// Check that the vEU count is positive.
// expected-error @below {{'func.func' op vEU count and per_sm must be positive, got 0 and 2}}
func.func private @no_veus() attributes {schedule.veus = #schedule.veus<0, 2, "sm_90">}

// -----

/// Check that every SM holds the same number of vEUs.
// expected-error @below {{'func.func' op vEU count 10 is not a multiple of per_sm 4}}
func.func private @ragged() attributes {schedule.veus = #schedule.veus<10, 4, "sm_90">}

// -----

/// Check that the vEUs are co-resident: more than per_sm x SMs would spin forever.
// expected-error @below {{'func.func' op vEU count 266 exceeds the 264 co-resident on sm_90 (2 per SM x 132 SMs)}}
func.func private @too_many() attributes {schedule.veus = #schedule.veus<266, 2, "sm_90">}

// -----

/// Check that the arch of the virtual device is known.
// expected-error @below {{'func.func' op vEUs on unknown arch 'sm_99' (known: sm_90, sm_80, sm_70)}}
func.func private @unknown_arch() attributes {schedule.veus = #schedule.veus<4, 1, "sm_99">}

// -----

/// Check that a wait sits in a segment of a vEU program.
func.func @loose_wait(%counters: memref<2xi32>, %epoch: i32) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i32
  // expected-error @below {{'schedule.wait' op must be inside a 'schedule.segment' of a vEU program}}
  "schedule.wait"(%counters, %c0, %one, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
  return
}

// -----

/// Check that counters are i32.
func.func @wide_counters(%counters: memref<2xi64>, %run: i1) attributes {schedule.veus = #schedule.veus<1, 1, "sm_90">} {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i32
  scf.if %run {
    // expected-error @below {{'schedule.signal' op counters must be a rank-1 memref of i32, got memref<2xi64>}}
    "schedule.signal"(%counters, %c0, %one) : (memref<2xi64>, index, i32) -> ()
  } {schedule.segment = #schedule.segment<0, "k0", 1, array<i64>>}
  return
}

// -----

/// Check that a segment sits in a vEU program.
func.func @loose_segment(%run: i1) {
  // expected-error @below {{'scf.if' op 'schedule.segment' must be on an op inside a vEU program}}
  scf.if %run {
  } {schedule.segment = #schedule.segment<0, "k0", 1, array<i64>>}
  return
}

// -----

/// Check that a vEU program runs one iteration per vEU.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op a vEU program must be an scf.parallel from 0 to 2 step 1}}
  scf.parallel (%veu) = (%c0) to (%c3) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a vEU program names its table.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op 'schedule.table' must be a flat symbol reference}}
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = "t"}
  return
}

// -----

/// Check that the vEU table is a constant global.
func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op schedule.table @missing does not name a constant memref.global}}
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @missing}
  return
}

// -----

/// Check that the vEU table has one row per launch and one range per vEU.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op vEU table has shape [2, 2, 2] but the program needs [1, 2, 2]}}
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that segments follow program order.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    // expected-error @below {{'scf.if' op segment #0 is for launch 1: segments must list launches 0, 1, ... in program order}}
    scf.if %run {
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64>>}
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a vEU range lies within its launch's tasks.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 3]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op vEU table gives vEU 1 the range [1, 3) of launch 0, outside its 2 tasks}}
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that the ranges of a launch partition its tasks: every task runs once.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [0, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op vEU table does not partition the 2 tasks of launch 0: task 0 runs on 2 vEUs}}
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that no task is left out.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 1]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  // expected-error @below {{'scf.parallel' op vEU table does not partition the 2 tasks of launch 0: task 1 runs on 0 vEUs}}
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a wait is satisfiable: it waits for all the tasks of its launch.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      // expected-error @below {{'schedule.wait' op waits for 3 tasks of launch 0, which has 2}}
      "schedule.wait"(%counters, %c0, %three, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a wait names a launch of the program.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      // expected-error @below {{'schedule.wait' op waits for launch 2, but the program has 2 launches}}
      "schedule.wait"(%counters, %c2, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 2>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a wait's launch and count are constants.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      // expected-error @below {{'schedule.wait' op launch index and expected count must be constants}}
      "schedule.wait"(%counters, %c0, %epoch, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a segment signals once.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    // expected-error @below {{'scf.if' op segment of launch 0 has 0 schedule.signal ops, expected 1}}
    scf.if %run {
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a segment signals its own launch.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      // expected-error @below {{'schedule.signal' op must signal launch 0, its segment's}}
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a segment's attribute lists the waits it holds.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}
    // expected-error @below {{'scf.if' op segment lists waits [] but its schedule.wait ops wait for [0]}}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that the table is simulated: launch 0 waits for launch 1 and launch 1 for launch 0, so no vEU gets anywhere.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      // expected-error @below {{'schedule.wait' op the vEU program deadlocks: vEUs [0, 1] never get past this wait (launch 1 signalled 0 of 2 tasks)}}
      "schedule.wait"(%counters, %c1, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64: 1>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}

// -----

/// Check that a wait on its own launch deadlocks: no vEU can signal it first.
memref.global "private" constant @t : memref<2x2x2xi32> = dense<[[[0, 1], [1, 2]], [[0, 2], [2, 2]]]>

func.func @p(%counters: memref<2xi32>, %epoch: i32, %run: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1 : i32
  %two = arith.constant 2 : i32
  %three = arith.constant 3 : i32
  scf.parallel (%veu) = (%c0) to (%c2) step (%c1) {
    scf.if %run {
      // expected-error @below {{'schedule.wait' op the vEU program deadlocks: vEUs [0, 1] never get past this wait (launch 0 signalled 0 of 2 tasks)}}
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<0, "k0", 2, array<i64: 0>>}
    scf.if %run {
      "schedule.wait"(%counters, %c0, %two, %epoch) : (memref<2xi32>, index, i32, i32) -> ()
      "schedule.signal"(%counters, %c1, %one) : (memref<2xi32>, index, i32) -> ()
    } {schedule.segment = #schedule.segment<1, "k1", 2, array<i64: 0>>}
  } {schedule.veus = #schedule.veus<2, 1, "sm_90">, schedule.table = @t}
  return
}
