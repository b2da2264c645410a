// RUN: quartet-opt %s | quartet-opt | FileCheck %s

/// Check that the CTA barrier round-trips in the form the lowering emits.
// CHECK-LABEL: func.func @barrier
// CHECK: "schedule.barrier"() {scope = "cta"} : () -> ()
func.func @barrier() {
  "schedule.barrier"() {scope = "cta"} : () -> ()
  return
}

func.func private @layer0()
func.func private @layer1()

/// Check that an rProgram round-trips: two rTasks of @layer0 on two vEUs, each signalling a
/// counter, then @layer1's tasks waiting for both.
// CHECK-LABEL: func.func @rprogram
// CHECK-SAME: schedule.veus = #schedule.veus<2 : i64, 1 : i64>
// CHECK: %[[C:.*]] = "schedule.alloc_counter"() : () -> !schedule.counter
// CHECK: "schedule.rtask"() {kernel = @layer0, placement = #schedule.placement<0 : i64, 0 : i64>, task = 0 : i64} : () -> ()
// CHECK: "schedule.signal"(%[[C]]) {placement = #schedule.placement<0 : i64, 1 : i64>} : (!schedule.counter) -> ()
// CHECK: "schedule.wait"(%[[C]]) {expected = 2 : i64, placement = #schedule.placement<1 : i64, 2 : i64>} : (!schedule.counter) -> ()
func.func @rprogram() attributes {schedule.veus = #schedule.veus<2, 1>} {
  %done = "schedule.alloc_counter"() : () -> !schedule.counter
  "schedule.rtask"() {kernel = @layer0, task = 0, placement = #schedule.placement<0, 0>} : () -> ()
  "schedule.signal"(%done) {placement = #schedule.placement<0, 1>} : (!schedule.counter) -> ()
  "schedule.rtask"() {kernel = @layer0, task = 1, placement = #schedule.placement<1, 0>} : () -> ()
  "schedule.signal"(%done) {placement = #schedule.placement<1, 1>} : (!schedule.counter) -> ()
  "schedule.wait"(%done) {expected = 2, placement = #schedule.placement<0, 2>} : (!schedule.counter) -> ()
  "schedule.rtask"() {kernel = @layer1, task = 0, placement = #schedule.placement<0, 3>} : () -> ()
  "schedule.wait"(%done) {expected = 2, placement = #schedule.placement<1, 2>} : (!schedule.counter) -> ()
  "schedule.rtask"() {kernel = @layer1, task = 1, placement = #schedule.placement<1, 3>} : () -> ()
  return
}
