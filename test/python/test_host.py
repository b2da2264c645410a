"""quartet.host on host functions written by hand (as the GPU pipeline leaves them): carried
buffers and registers, branches yielding values, views at an offset; the host program run on a
device that records its launches (test_host_program.Recording) computes what the IR says."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from mlir import ir

from quartet.dialects import create_context
from quartet.errors import QuartetError
from quartet.host import extract_host_program
from quartet.runtime.program import Copy, Loop, load_program, run_host_program

sys.path.insert(0, str(Path(__file__).parent / "runtime"))
from test_host_program import Recording  # noqa: E402

KERNEL = """
  gpu.module @k {
    gpu.func @k(%a: memref<2xf32>, %i: index) kernel {
      gpu.return
    }
  }
"""


def _program(body: str):
    source = f"module attributes {{gpu.container_module}} {{{KERNEL}{body}}}"
    with create_context(), ir.Location.unknown():
        module = ir.Module.parse(source)
        func = next(op for op in module.body.operations if op.operation.name == "func.func")
        return extract_host_program(func)


def _run(host, inputs, outputs):
    device = Recording()
    storage = load_program(host, {}, device)
    counts = run_host_program(host, device, storage, inputs, outputs)
    return device, counts


SWAP = """
  func.func @f(%x: memref<2xf32>, %y: memref<2xf32>, %o0: memref<2xf32>, %o1: memref<2xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %r:3 = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x, %b = %y, %n = %c0)
        -> (memref<2xf32>, memref<2xf32>, index) {
      gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
          args(%a : memref<2xf32>, %n : index)
      %next = arith.addi %n, %i : index
      scf.yield %b, %a, %next : memref<2xf32>, memref<2xf32>, index
    }
    memref.copy %r#0, %o0 : memref<2xf32> to memref<2xf32>
    memref.copy %r#1, %o1 : memref<2xf32> to memref<2xf32>
    return
  }
"""


def test_carried_buffers_swap_through_a_temporary_and_registers_carry():
    """Buffers a loop carries live in buffers of their own, filled by copies (a swap goes
    through a temporary); an index carried is a register the kernel gets by value."""
    host = _program(SWAP)
    (loop,) = [step for step in host.steps if isinstance(step, Loop)]
    assert sum(isinstance(step, Copy) for step in loop.body) == 4  # both staged, then placed
    x, y = np.array([1, 2], np.float32), np.array([3, 4], np.float32)
    o0, o1 = np.zeros(2, np.float32), np.zeros(2, np.float32)
    device, _ = _run(host, {0: x, 1: y}, {2: o0, 3: o1})
    seen = [(list(parameters[0]), parameters[1]) for _, parameters in device.launched]
    assert seen == [([1, 2], 0), ([3, 4], 0), ([1, 2], 1)]  # n: 0, 0 + 0, 0 + 1
    np.testing.assert_array_equal(o0, y)  # three swaps
    np.testing.assert_array_equal(o1, x)


BRANCH = """
  func.func @f(%x: memref<2xf32>, %y: memref<2xf32>, %flags: memref<2xi8>, %o: memref<2xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c7 = arith.constant 7 : index
    %zero = arith.constant 0 : i8
    %byte = memref.load %flags[%c1] : memref<2xi8>
    %set = arith.cmpi ne, %byte, %zero : i8
    %r:2 = scf.if %set -> (memref<2xf32>, index) {
      scf.yield %x, %c7 : memref<2xf32>, index
    } else {
      scf.yield %y, %c0 : memref<2xf32>, index
    }
    %row = memref.subview %o[1] [1] [1] : memref<2xf32> to memref<1xf32, strided<[1], offset: 1>>
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%r#0 : memref<2xf32>, %r#1 : index)
    memref.copy %r#0, %o : memref<2xf32> to memref<2xf32>
    return
  }
"""


@pytest.mark.parametrize(("flag", "chosen", "scalar"), [(1, 0, 7), (0, 1, 0)])
def test_a_branch_yields_a_buffer_and_a_register_after_a_read_back(flag, chosen, scalar):
    host = _program(BRANCH)
    inputs = [np.array([1, 2], np.float32), np.array([3, 4], np.float32)]
    flags = np.array([0, flag], np.int8)
    out = np.zeros(2, np.float32)
    device, counts = _run(host, {0: inputs[0], 1: inputs[1], 2: flags}, {3: out})
    (launched,) = device.launched
    assert launched[1][1] == scalar
    np.testing.assert_array_equal(out, inputs[chosen])
    assert counts.round_trips == 1
    views = [b for b in host.buffers if b.offset is not None]
    assert [host.scalars[b.offset].value for b in views] == [0]  # 0 + 1 x 1, computed


def test_an_op_the_host_cannot_run_is_named():
    source = """
  func.func @f(%x: memref<2xf32>) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %x[%c0] : memref<2xf32>
    return
  }
"""
    with pytest.raises(QuartetError, match="'memref.store' is left on the host after GPU"):
        _program(source)
