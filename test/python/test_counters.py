"""quartet.counters under control flow: a launch inside constant scf.for loops counts once per
iteration (nested loops multiply), its bytes with it; what runs a data-dependent number of
times is reported per run of its region, never folded into a total."""

from __future__ import annotations

import numpy as np
from mlir import ir

import quartet
from quartet.counters import count
from quartet.dialects import create_context

# An elementwise add into the carried tensor, in a loop of 3 around a loop of 2 (0 to 4 step 2).
NESTED = """
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @nested(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> (tensor<8x16xf32>) {
    %s = scf.for %j = %c0 to %c4 step %c2 iter_args(%b = %a) -> (tensor<8x16xf32>) {
      %n = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
          ins(%x : tensor<8x16xf32>) outs(%b : tensor<8x16xf32>) {
      ^bb0(%p: f32, %o: f32):
        %t = arith.addf %o, %p : f32
        linalg.yield %t : f32
      } -> tensor<8x16xf32>
      scf.yield %n : tensor<8x16xf32>
    }
    scf.yield %s : tensor<8x16xf32>
  }
  return %r : tensor<8x16xf32>
}
"""


def test_nested_constant_loops_multiply_launches_and_bytes():
    """3 x 2 launches of the add as host loops; each loads x and the carried buffer (8x16
    f32, 512 bytes each) and stores the carried buffer, which the host allocates (an
    intermediate)."""
    model = quartet.compile(NESTED, target="cpu", control_flow="host")
    counters = model.counters
    assert counters.exact and model.launches == counters.launches == 6
    (kernel,) = counters.kernels.values()
    assert (kernel.launches, kernel.loaded, kernel.stored) == (6, 6 * 1024, 6 * 512)
    assert counters.global_bytes == 6 * 1536
    assert counters.intermediate_global_bytes == 6 * 1024
    x = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    np.testing.assert_allclose(model.run(x), 7 * x, rtol=1e-6)


# Loop-level IR as quartet-lower-tiles leaves it, by hand: two kernels whose block loops carry
# their traffic per argument (f_k0 loads 64 bytes of its first argument and stores 64 to its
# second; f_k1 loads and stores 64 bytes of its one argument), called under control flow.
KERNELS = """
  func.func private @f_k0.func(%in: memref<16xf32>, %out: memref<16xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
      scf.reduce
    } {tile.kernel = #tile.kernel<"f_k0">, tile.traffic = array<i64: 64, 0, 0, 64>}
    return
  }
  func.func private @f_k1.func(%buffer: memref<16xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.parallel (%b) = (%c0) to (%c1) step (%c1) {
      scf.reduce
    } {tile.kernel = #tile.kernel<"f_k1">, tile.traffic = array<i64: 64, 64>}
    return
  }
"""

CONTROL_FLOW = (
    "module {"
    + KERNELS
    + """
  func.func private @step(%a: memref<16xf32>, %b: memref<16xf32>) {
    func.call @f_k0.func(%a, %b) : (memref<16xf32>, memref<16xf32>) -> ()
    return
  }
  func.func @f(%x: memref<16xf32>, %y: memref<16xf32>, %n: index, %flag: i1) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %true = arith.constant true
    %t = memref.alloc() : memref<16xf32>
    func.call @f_k0.func(%x, %t) : (memref<16xf32>, memref<16xf32>) -> ()
    scf.for %i = %c0 to %c3 step %c1 {
      scf.for %j = %c0 to %c4 step %c2 {
        %view = memref.cast %t : memref<16xf32> to memref<16xf32>
        func.call @f_k1.func(%view) : (memref<16xf32>) -> ()
      }
      func.call @step(%t, %y) : (memref<16xf32>, memref<16xf32>) -> ()
    }
    scf.for %i = %c0 to %n step %c1 {
      func.call @f_k1.func(%y) : (memref<16xf32>) -> ()
      scf.if %flag {
        scf.for %j = %c0 to %c2 step %c1 {
          func.call @f_k1.func(%t) : (memref<16xf32>) -> ()
        }
      }
    }
    scf.if %true {
      func.call @f_k1.func(%t) : (memref<16xf32>) -> ()
    } else {
      func.call @f_k0.func(%x, %y) : (memref<16xf32>, memref<16xf32>) -> ()
    }
    scf.for %i = %c0 to %c4 step %c1 {
      scf.while : () -> () {
        scf.condition(%flag)
      } do {
        func.call @f_k1.func(%y) : (memref<16xf32>) -> ()
        scf.yield
      }
    }
    memref.dealloc %t : memref<16xf32>
    return
  }
}
"""
)


def _count(source: str, entry: str):
    with create_context(), ir.Location.unknown():
        return count(ir.Module.parse(source), entry, "program.mlir")


def _figures(tally) -> dict:
    return {name: (k.launches, k.loaded, k.stored) for name, k in tally.kernels.items()}


def test_control_flow_multiplies_or_reports_per_run():
    """Outside data-dependent regions: f_k0 once on (x, t) and 3 times through @step on
    (t, y), t an intermediate there too; f_k1 3 x 2 times on a view of t and once in the
    taken branch of an scf.if on a constant. The loop to %n, the branch on %flag inside it
    and the scf.while (reached 4 times) are data-dependent: one run each."""
    counters = _count(CONTROL_FLOW, "f")
    assert not counters.exact
    assert _figures(counters) == {"f_k0": (4, 4 * 64, 4 * 64), "f_k1": (7, 7 * 64, 7 * 64)}
    assert counters.launches == 11
    assert counters.global_bytes == 4 * 128 + 7 * 128
    assert counters.intermediate_global_bytes == 64 + 3 * 64 + 7 * 128
    assert counters.compulsory_bytes == 2 * 64  # x and y; %n and %flag are no buffers
    regions = [
        (r.region, r.reached, r.within, r.launches, r.global_bytes, r.intermediate_global_bytes)
        for r in counters.data_dependent
    ]
    assert regions == [
        ("body of scf.for (trip count not a constant) at program.mlir:39:5", 1, None, 1, 128, 0),
        ("then branch of scf.if at program.mlir:41:7", 1, 0, 2, 256, 256),
        ("body of scf.while at program.mlir:53:7", 4, None, 1, 128, 0),
    ]  # the empty else branch and the while's condition launch nothing: no entries
    assert [_figures(r) for r in counters.data_dependent] == [
        {"f_k1": (1, 64, 64)},
        {"f_k1": (2, 128, 128)},
        {"f_k1": (1, 64, 64)},
    ]


HOST_LOOPS = (
    "module {"
    + KERNELS
    + """
  func.func @h(%x: memref<16xf32>, %y: memref<16xf32>, %flags: memref<4xi8>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %c5 = arith.constant 5 : index
    %zero = arith.constant 0 : i8
    scf.for %i = %c0 to %c5 step %c1 {
      scf.for %j = %c0 to %c3 step %c1 {
        func.call @f_k1.func(%y) : (memref<16xf32>) -> ()
      }
      %byte = memref.load %flags[%i] : memref<4xi8>
      %set = arith.cmpi ne, %byte, %zero : i8
      scf.if %set {
        func.call @f_k0.func(%x, %y) : (memref<16xf32>, memref<16xf32>) -> ()
      }
      memref.copy %y, %x : memref<16xf32> to memref<16xf32>
    }
    %n = scf.while (%k = %c0) : (index) -> index {
      %byte = memref.load %flags[%k] : memref<4xi8>
      %go = arith.cmpi ne, %byte, %zero : i8
      scf.condition(%go) %k : index
    } do {
    ^bb0(%k: index):
      func.call @f_k1.func(%x) : (memref<16xf32>) -> ()
      %next = arith.addi %k, %c1 : index
      scf.yield %next : index
    }
    return
  }
}
"""
)


def test_loops_give_their_figures_per_iteration_and_host_round_trips():
    """The constant loop: 3 launches of f_k1 (its inner loop), a read-back for the branch's
    predicate and a copy per iteration, the branch's launch apart (not exact); the while: its
    condition's read-back and one launch per iteration. Per inference, the 5 read-backs and
    the 5 copies of the constant loop count; the while's are data-dependent."""
    counters = _count(HOST_LOOPS, "h")
    loops = [
        (
            loop.loop,
            loop.trips,
            loop.exact,
            loop.per_iteration.launches,
            loop.per_iteration.copies,
            loop.per_iteration.copy_bytes,
            loop.per_iteration.host_round_trips,
        )
        for loop in counters.loops
    ]
    assert loops == [
        ("scf.for at program.mlir:25:5", 5, False, 3, 1, 128, 1),
        ("scf.for at program.mlir:26:7", 3, True, 1, 0, 0, 0),
        ("scf.while at program.mlir:36:10", None, True, 1, 0, 0, 1),
    ]
    assert counters.host_round_trips_per_iteration == 1
    assert (counters.host_round_trips, counters.copies, counters.launches) == (5, 5, 15)
    assert _count(CONTROL_FLOW, "f").host_round_trips_per_iteration == 0


RECURSIVE = (
    "module {"
    + KERNELS
    + """
  func.func private @down(%a: memref<16xf32>, %flag: i1) {
    func.call @f_k1.func(%a) : (memref<16xf32>) -> ()
    scf.if %flag {
      func.call @down(%a, %flag) : (memref<16xf32>, i1) -> ()
    }
    return
  }
  func.func @g(%x: memref<16xf32>, %flag: i1) {
    func.call @down(%x, %flag) : (memref<16xf32>, i1) -> ()
    return
  }
}
"""
)


def test_recursive_call_is_one_level_per_run():
    counters = _count(RECURSIVE, "g")
    assert counters.launches == 1
    regions = [(r.region, r.within, r.launches) for r in counters.data_dependent]
    assert regions == [
        ("then branch of scf.if at program.mlir:21:5", None, 0),
        ("recursive call of @down at program.mlir:22:7", 0, 1),
    ]
