"""Control flow: divergence and reconvergence, loops, early exit, and grid-wide progress."""

import numpy as np
import pytest

from quartet.emulator import EmulatorCheckError, ExecutionError, PTXUnsupportedError, launch

HEADER = ".version 7.8\n.target sm_90\n.address_size 64\n"

DIVERGENT_LOOP = (
    HEADER
    + """
// out[i] = sum(0..i) for even i, -i for odd i; thread i loops i times.
.visible .entry triangle(.param .u64 out, .param .u32 n)
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %ntid.x;
  mad.lo.s32 %r0, %r1, %r2, %r0;
  ld.param.u32 %r3, [n];
  setp.ge.u32 %p0, %r0, %r3;
  @%p0 bra DONE;
  and.b32 %r4, %r0, 1;
  setp.eq.u32 %p1, %r4, 1;
  @%p1 bra ODD;
  mov.u32 %r5, 0;
  mov.u32 %r6, 0;
LOOP:
  setp.gt.u32 %p2, %r6, %r0;
  @%p2 bra STORE;
  add.s32 %r5, %r5, %r6;
  add.s32 %r6, %r6, 1;
  bra.uni LOOP;
ODD:
  neg.s32 %r5, %r0;
STORE:
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 4;
  add.s64 %rd2, %rd0, %rd1;
  st.global.u32 [%rd2], %r5;
DONE:
  ret;
}
"""
)


def test_divergent_branches_loops_and_early_exit():
    out = np.full(100, 7, np.int32)
    stats = launch(DIVERGENT_LOOP, "triangle", 2, 64, [out, 90])
    expected = [i * (i + 1) // 2 if i % 2 == 0 else -i for i in range(90)] + [7] * 10
    assert out.tolist() == expected
    assert stats.thread_instructions < stats.warp_instructions * 32


GRID_BARRIER = (
    HEADER
    + """
// Every block adds its id to a counter, waits until all blocks arrived (spinning on a volatile
// load), then records the total it saw: a persistent-kernel style grid-wide barrier.
.visible .entry grid_barrier(.param .u64 counter, .param .u64 seen)
{
  .reg .pred %p<3>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<6>;
  mov.u32 %r0, %tid.x;
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %nctaid.x;
  ld.param.u64 %rd0, [counter];
  setp.ne.u32 %p0, %r0, 0;
  @%p0 bra WAIT_BLOCK;
  atom.global.add.u32 %r3, [%rd0], 1;
  add.s32 %r4, %r1, 1;
  atom.global.add.u32 %r3, [%rd0+4], %r4;
SPIN:
  ld.volatile.global.u32 %r5, [%rd0];
  setp.lt.u32 %p1, %r5, %r2;
  @%p1 bra SPIN;
WAIT_BLOCK:
  bar.sync 0;
  ld.acquire.gpu.global.u32 %r6, [%rd0+4];
  ld.param.u64 %rd1, [seen];
  mad.lo.s32 %r7, %r1, 32, %r0;
  mul.wide.u32 %rd2, %r7, 4;
  add.s64 %rd3, %rd1, %rd2;
  st.global.u32 [%rd3], %r6;
  ret;
}
"""
)


def test_grid_wide_barrier_by_spinning_terminates():
    counter = np.zeros(2, np.uint32)
    seen = np.zeros(8 * 32, np.uint32)
    launch(GRID_BARRIER, "grid_barrier", 8, 32, [counter, seen])
    assert counter.tolist() == [8, 36]
    assert (seen == 36).all()  # every block saw every other block's contribution


PRODUCER_AFTER_CONSUMER = (
    HEADER
    + """
// Block 1 waits for a flag that block 0 sets *later in program order*: smallest-PC-first
// scheduling alone would starve block 0; spinning threads must yield. The flag is published
// by a fence then a volatile store, and acquired by a volatile load then a fence.
.visible .entry handoff(.param .u64 flag, .param .u64 out)
{
  .reg .pred %p<3>;
  .reg .b32 %r<6>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %ctaid.x;
  ld.param.u64 %rd0, [flag];
  ld.param.u64 %rd1, [out];
  setp.eq.u32 %p0, %r0, 0;
  @%p0 bra PRODUCE;
WAIT:
  ld.volatile.global.u32 %r1, [%rd0];
  setp.eq.u32 %p1, %r1, 0;
  @%p1 bra WAIT;
  fence.acq_rel.gpu;
  ld.global.u32 %r2, [%rd1];
  add.s32 %r2, %r2, 1;
  st.global.u32 [%rd1+4], %r2;
  ret;
PRODUCE:
  st.global.u32 [%rd1], 41;
  membar.gl;
  st.volatile.global.u32 [%rd0], 1;
  ret;
}
"""
)


def test_consumer_spinning_before_producer_code_makes_progress():
    flag = np.zeros(1, np.uint32)
    out = np.zeros(2, np.uint32)
    launch(PRODUCER_AFTER_CONSUMER, "handoff", 2, 1, [flag, out])
    assert out.tolist() == [41, 42]


def test_infinite_loop_is_stopped_with_a_located_error():
    ptx = HEADER + ".visible .entry spin()\n{\nLOOP:\n  bra LOOP;\n}\n"
    with pytest.raises(ExecutionError, match="no exit after 1000 steps"):
        launch(ptx, "spin", 1, 32, [], max_steps=1000)


def test_trap_reports_thread_and_line():
    ptx = (
        HEADER
        + """.visible .entry trapper()
{
  .reg .b32 %r;
  .reg .pred %p;
  mov.u32 %r, %tid.x;
  setp.eq.u32 %p, %r, 5;
  @%p trap;
  ret;
}
"""
    )
    with pytest.raises(ExecutionError, match=r"line 10: trap executed by thread \(5, 0, 0\)"):
        launch(ptx, "trapper", 1, 32, [])


def test_special_registers_in_three_dimensions():
    ptx = (
        HEADER
        + """
.visible .entry where(.param .u64 out)
{
  .reg .b32 %r<16>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  mov.u32 %r1, %tid.y;
  mov.u32 %r2, %tid.z;
  mov.u32 %r3, %ctaid.x;
  mov.u32 %r4, %ctaid.y;
  mov.u32 %r5, %ntid.x;
  mov.u32 %r6, %ntid.y;
  mov.u32 %r7, %nctaid.x;
  mov.u32 %r8, %laneid;
  mov.u32 %r9, %warpid;
  // linear thread in block, linear block
  mad.lo.s32 %r10, %r2, %r6, %r1;
  mad.lo.s32 %r10, %r10, %r5, %r0;
  mad.lo.s32 %r11, %r4, %r7, %r3;
  mul.lo.s32 %r12, %r5, %r6;
  mul.lo.s32 %r12, %r12, 2;
  mad.lo.s32 %r13, %r11, %r12, %r10;
  mul.wide.u32 %rd0, %r13, 8;
  ld.param.u64 %rd1, [out];
  add.s64 %rd1, %rd1, %rd0;
  st.global.v2.u32 [%rd1], {%r8, %r9};
  ret;
}
"""
    )
    out = np.zeros((6, 64, 2), np.uint32)
    launch(ptx, "where", (3, 2), (8, 4, 2), [out])
    lane = np.arange(64) % 32
    assert (out[:, :, 0] == lane).all() and (out[:, :, 1] == np.arange(64) // 32).all()


def test_unsupported_instruction_names_instruction_and_line():
    ptx = HEADER + ".visible .entry k()\n{\n  .reg .b32 %r;\n  suq.width.b32 %r, [surface];\n}\n"
    with pytest.raises(PTXUnsupportedError, match=r"line 7: unsupported: instruction 'suq'"):
        launch(ptx, "k", 1, 1, [])


def test_directed_rounding_is_rejected_not_approximated():
    # f32/f64 arithmetic rounds exactly in every mode; narrowing to f16 has no exact model yet.
    body = "  .reg .b32 %r;\n  .reg .b16 %h;\n  cvt.rz.f16.f32 %h, %r;\n  ret;\n"
    ptx = HEADER + ".visible .entry k()\n{\n" + body + "}\n"
    with pytest.raises(PTXUnsupportedError, match=r"rounding \.rz"):
        launch(ptx, "k", 1, 1, [])


def test_checks_off_still_fault_outside_mapped_memory():
    ptx = (
        HEADER
        + """.visible .entry wild()
{
  .reg .b64 %rd;
  mov.u64 %rd, 64;
  st.global.u32 [%rd], 1;
  ret;
}
"""
    )
    with pytest.raises(ExecutionError, match="unmapped address 0x40"):
        launch(ptx, "wild", 1, 1, [], checks=False)
    with pytest.raises(EmulatorCheckError, match="below every global buffer"):
        launch(ptx, "wild", 1, 1, [])
