"""The host program on the emulated device: poisoned memory and the ``uninit-global`` checker
across the launches and host copies of one inference, on hand-written host programs and PTX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quartet.errors import QuartetError
from quartet.ptxas import assemble, find_ptxas
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.program import (
    Buffer,
    Copy,
    HostProgram,
    Launch,
    load_program,
    run_host_program,
)
from quartet.signature import TensorSpec

KERNELS = """.version 7.8
.target sm_90
.address_size 64

.visible .entry twice(.param .u64 twice_in, .param .u64 twice_out)
{
  .reg .pred %p<1>;
  .reg .b32 %r<1>;
  .reg .f32 %f<2>;
  .reg .b64 %rd<5>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 4;
  ld.param.u64 %rd1, [twice_in];
  add.s64 %rd2, %rd1, %rd0;
  ld.global.f32 %f0, [%rd2];
  add.f32 %f1, %f0, %f0;
  ld.param.u64 %rd3, [twice_out];
  add.s64 %rd4, %rd3, %rd0;
  st.global.f32 [%rd4], %f1;
  ret;
}

.visible .entry add_one(.param .u64 add_one_in, .param .u64 add_one_out)
{
  .reg .b32 %r<1>;
  .reg .f32 %f<2>;
  .reg .b64 %rd<5>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 4;
  ld.param.u64 %rd1, [add_one_in];
  add.s64 %rd2, %rd1, %rd0;
  ld.global.f32 %f0, [%rd2];
  add.f32 %f1, %f0, 0f3F800000;
  ld.param.u64 %rd3, [add_one_out];
  add.s64 %rd4, %rd3, %rd0;
  st.global.f32 [%rd4], %f1;
  ret;
}
"""
# ``twice`` with a planted bug: threads 60-63 skip their store.
SKIPPING = KERNELS.replace(
    "  st.global.f32 [%rd4], %f1;\n  ret;\n}\n\n.visible .entry add_one",
    "  setp.lt.u32 %p0, %r0, 60;\n  @%p0 st.global.f32 [%rd4], %f1;\n  ret;\n}\n\n"
    ".visible .entry add_one",
)
VECTOR = TensorSpec((64,), np.dtype(np.float32))
X, Y, T = 0, 1, 2  # buffers: the input, the output, a temporary


def program(*steps, extra: tuple[Buffer, ...] = ()) -> HostProgram:
    buffers = (Buffer(VECTOR, argument=0), Buffer(VECTOR, argument=1), Buffer(VECTOR), *extra)
    return HostProgram(buffers, steps)


def launch(kernel: str, source: int, target: int) -> Launch:
    return Launch(kernel, (1, 1, 1), (64, 1, 1), (source, target))


def run(host: HostProgram, ptx: str = KERNELS, device=None) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(64, dtype=np.float32)
    y = np.zeros(64, np.float32)
    device = device or EmulatedDevice()
    storage = load_program(host, {name: ptx for name in ("twice", "add_one")}, device)
    run_host_program(host, device, storage, {0: x}, {1: y})
    return x, y


def line_of(ptx: str, kernel: str, needle: str) -> int:
    """The PTX line of the only ``needle`` in ``kernel``'s body."""
    start = ptx.index(f".entry {kernel}")
    end = ptx.find(".entry", start + 1)
    body_lines = ptx[start : end if end > 0 else len(ptx)].split("\n")
    (offset,) = [number for number, text in enumerate(body_lines) if needle in text]
    return ptx[:start].count("\n") + 1 + offset


def test_a_correct_program_is_silent():
    x, y = run(program(launch("twice", X, T), launch("add_one", T, Y)))
    np.testing.assert_array_equal(y, 2 * x + 1)


def test_a_skipped_store_is_caught_where_the_next_kernel_reads_it():
    host = program(launch("twice", X, T), launch("add_one", T, Y))
    with pytest.raises(QuartetError, match="emulating kernel add_one") as caught:
        run(host, SKIPPING)
    (report,) = caught.value.__cause__.reports
    assert report.kind == "uninitialized-global" and report.kernel == "add_one"
    assert report.line == line_of(SKIPPING, "add_one", "ld.global.f32")
    assert report.text == "ld.global.f32 %f0, [%rd2];"
    assert report.thread == (60, 0, 0) and report.count == 4
    assert "byte 240 of 'add_one_in' (256 bytes" in report.detail
    _, y = run(host, SKIPPING, EmulatedDevice(checks=False))  # the temporary's poison flows on
    assert np.isnan(y[60:]).all() and not np.isnan(y[:60]).any()


def test_an_output_left_partly_unwritten_is_an_error_and_holds_poison():
    host = program(launch("twice", X, Y))
    message = (
        r"argument #1 \(64xfloat32\), read back after the run: 16 of its 256 bytes were never "
        r"written \(the first is byte 240\); kernels given it: twice"
    )
    with pytest.raises(QuartetError, match=message):
        run(host, SKIPPING)
    _, y = run(host, SKIPPING, EmulatedDevice(checks=False))  # nothing tracked, nothing raised
    assert (y.view(np.uint32)[60:] == 0xFFFF_FFFF).all() and np.isnan(y[60:]).all()
    np.testing.assert_array_equal(y[:60], 2 * np.arange(60, dtype=np.float32))


def test_a_host_copy_writes_its_target_and_a_view_shares_its_base_state():
    view = Buffer(TensorSpec((8, 8), np.dtype(np.float32)), view_of=T)
    host = program(Copy(X, T), launch("add_one", 3, Y), extra=(view,))
    x, y = run(host)
    np.testing.assert_array_equal(y, x + 1)


def test_a_copy_of_poison_is_still_poison():
    host = program(
        Copy(T, 3), launch("add_one", 3, Y), extra=(Buffer(VECTOR),)
    )  # T was never written
    with pytest.raises(QuartetError, match="uninitialized-global: add_one"):
        run(host)


def test_inputs_and_constants_never_report():
    constant = Buffer(VECTOR, constant=np.full(64, 3.0, np.float32))
    steps = (launch("add_one", 3, T), launch("twice", T, Y), launch("add_one", X, T))
    _, y = run(program(*steps, extra=(constant,)))
    np.testing.assert_array_equal(y, np.full(64, 8.0, np.float32))


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not found")
@pytest.mark.parametrize("ptx", [KERNELS, SKIPPING], ids=["kernels", "skipping"])
def test_the_kernels_are_real_ptx(ptx):
    assert {info.kernel for info in assemble(ptx, "sm_90")} == {"twice", "add_one"}


CHAIN = (Path(__file__).parent / "emulator" / "ptx" / "chain.ptx").read_text()


@pytest.mark.parametrize("cooperative", [True, False])
def test_a_cooperative_launch_above_its_kernels_residency_is_refused(cooperative):
    """The chain's 128 blocks wait for each other (test_emulator_sync.py): launched
    cooperatively on a device that holds 127 of them, it is refused; a plain launch is not."""
    flags, rows = TensorSpec((129,), np.dtype(np.uint32)), TensorSpec((4096,), np.dtype(np.uint32))
    chain = Launch("chain", (128, 1, 1), (32, 1, 1), (0, 1), cooperative=cooperative)
    host = HostProgram((Buffer(flags, argument=0), Buffer(rows, argument=1)), (chain,))
    out = np.zeros(4096, np.uint32)

    def run(limit: int) -> None:
        device = EmulatedDevice(max_resident_ctas={"chain": limit})
        storage = load_program(host, {"chain": CHAIN}, device)
        run_host_program(host, device, storage, {0: np.zeros(129, np.uint32)}, {1: out})

    if cooperative:
        with pytest.raises(QuartetError, match="chain: grid of 128 blocks exceeds the 127"):
            run(127)
    else:
        run(127)
    run(128)
    assert out[-1] == 31 + 8 * 127
