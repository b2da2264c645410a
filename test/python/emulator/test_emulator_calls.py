"""Device-function calls: ``.func`` bodies with ``.param`` and ``.reg`` parameters, ``call`` and
``call.uni``, ``st.param``/``ld.param`` on call parameters, ``ret`` back to the call site, nested
calls, guarded and divergent calls, and warp collectives and barriers inside a callee."""

import numpy as np
import pytest

from quartet.emulator import ExecutionError, PTXUnsupportedError, launch

HEADER = ".version 7.8\n.target sm_90\n.address_size 64\n"

# f(x, {y, z}) = |x| * 2 + y - z (a branch inside), g(x) = f(x, {x, 1}) + 1 (a nested call).
CALLS = (
    HEADER
    + """
.func (.param .b32 func_retval0) f(.param .b32 f_param_0, .param .align 8 .b8 f_param_1[8])
{
  .reg .pred %p;
  .reg .b32 %r<6>;
  ld.param.b32 %r1, [f_param_0];
  ld.param.v2.b32 {%r2, %r3}, [f_param_1];
  setp.ge.s32 %p, %r1, 0;
  @%p bra $L__pos;
  neg.s32 %r1, %r1;
$L__pos:
  shl.b32 %r4, %r1, 1;
  add.s32 %r4, %r4, %r2;
  sub.s32 %r5, %r4, %r3;
  st.param.b32 [func_retval0], %r5;
  ret;
}
.func (.param .b32 func_retval0) g(.param .b32 g_param_0)
{
  .reg .b32 %r<4>;
  ld.param.b32 %r1, [g_param_0];
  {
  .param .b32 param0;
  st.param.b32 [param0], %r1;
  .param .align 8 .b8 param1[8];
  st.param.v2.b32 [param1], {%r1, 1};
  .param .b32 retval0;
  call.uni (retval0), f, (param0, param1);
  ld.param.b32 %r2, [retval0];
  }
  add.s32 %r3, %r2, 1;
  st.param.b32 [func_retval0], %r3;
  ret;
}
.visible .entry calls(.param .u64 calls_param_0, .param .u64 calls_param_1)
{
  .reg .pred %p;
  .reg .b32 %r<8>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [calls_param_0];
  ld.param.u64 %rd2, [calls_param_1];
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd3, %r1, 4;
  add.s64 %rd4, %rd1, %rd3;
  ld.global.b32 %r2, [%rd4];
  {
  .param .b32 param0;
  st.param.b32 [param0], %r2;
  .param .align 8 .b8 param1[8];
  st.param.v2.b32 [param1], {%r1, 3};
  .param .b32 retval0;
  call.uni (retval0), f, (param0, param1);
  ld.param.b32 %r3, [retval0];
  }
  mov.u32 %r5, 0;
  and.b32 %r4, %r1, 1;
  setp.eq.s32 %p, %r4, 0;
  @%p bra $L__skip;
  {
  .param .b32 param0;
  st.param.b32 [param0], %r3;
  .param .b32 retval0;
  call (retval0), g, (param0);
  ld.param.b32 %r5, [retval0];
  }
$L__skip:
  add.s64 %rd5, %rd2, %rd3;
  add.s32 %r6, %r3, %r5;
  st.global.b32 [%rd5], %r6;
  ret;
}
"""
)


def _f(x, y, z):
    return abs(x) * 2 + y - z


def test_nested_guarded_calls_with_param_blobs():
    x = np.array([5, -7, 0, 3, -1, 100, -100, 42] * 8, np.int32)
    out = np.zeros(64, np.int32)
    stats = launch(CALLS, "calls", 1, 64, [x, out])
    expected = []
    for tid, value in enumerate(x.tolist()):
        first = _f(value, tid, 3)
        second = _f(first, first, 1) + 1 if tid % 2 else 0
        expected.append(first + second)
    assert out.tolist() == expected
    assert stats.warp_instructions > 0


REG_PARAMS = (
    HEADER
    + """
.func (.reg .b32 %out) addmul(.reg .b32 %x, .reg .b32 %y)
{
  mad.lo.s32 %out, %x, %y, %x;
  ret;
}
.visible .entry regs(.param .u64 regs_param_0)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [regs_param_0];
  mov.u32 %r1, %tid.x;
  call.uni (%r2), addmul, (%r1, 7);
  call.uni (%r3), addmul, (%r2, %r1);
  mul.wide.u32 %rd2, %r1, 4;
  add.s64 %rd3, %rd1, %rd2;
  st.global.b32 [%rd3], %r3;
  ret;
}
"""
)


def test_register_parameters():
    out = np.zeros(40, np.int32)
    launch(REG_PARAMS, "regs", 1, 40, [out])
    t = np.arange(40)
    first = t * 7 + t
    assert out.tolist() == (first * t + first).tolist()


# Even and odd threads call `sum_shared` from different call sites; inside, every thread of the
# block meets at one barrier and the warp sums with shuffles, then each returns to its own site.
COLLECTIVE = (
    HEADER
    + """
.shared .align 4 .b8 cells[256];
.func (.param .b32 func_retval0) sum_shared(.param .b32 sum_shared_param_0)
{
  .reg .b32 %r<9>;
  mov.u32 %r1, %tid.x;
  shl.b32 %r2, %r1, 2;
  mov.u32 %r8, cells;
  ld.param.b32 %r3, [sum_shared_param_0];
  add.s32 %r0, %r2, %r8;
  st.shared.b32 [%r0], %r3;
  bar.sync 0;
  xor.b32 %r4, %r2, 4;
  add.s32 %r4, %r4, %r8;
  ld.shared.b32 %r5, [%r4];
  add.s32 %r6, %r3, %r5;
  shfl.sync.bfly.b32 %r7, %r6, 16, 31, -1;
  add.s32 %r6, %r6, %r7;
  st.param.b32 [func_retval0], %r6;
  ret;
}
.visible .entry collective(.param .u64 collective_param_0)
{
  .reg .pred %p;
  .reg .b32 %r<6>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [collective_param_0];
  mov.u32 %r1, %tid.x;
  and.b32 %r2, %r1, 1;
  setp.eq.s32 %p, %r2, 0;
  @%p bra $L__even;
  {
  .param .b32 param0;
  st.param.b32 [param0], %r1;
  .param .b32 retval0;
  call (retval0), sum_shared, (param0);
  ld.param.b32 %r3, [retval0];
  }
  add.s32 %r3, %r3, 1000;
  bra.uni $L__done;
$L__even:
  {
  .param .b32 param0;
  st.param.b32 [param0], %r1;
  .param .b32 retval0;
  call (retval0), sum_shared, (param0);
  ld.param.b32 %r3, [retval0];
  }
  add.s32 %r3, %r3, 2000;
$L__done:
  mul.wide.u32 %rd2, %r1, 4;
  add.s64 %rd3, %rd1, %rd2;
  st.global.b32 [%rd3], %r3;
  ret;
}
"""
)


def test_divergent_call_sites_share_a_barrier_and_a_shuffle():
    out = np.zeros(64, np.int32)
    launch(COLLECTIVE, "collective", 1, 64, [out])
    t = np.arange(64)
    pair = t + (t ^ 1)
    summed = pair + pair[t ^ 16]
    assert out.tolist() == (summed + np.where(t % 2, 1000, 2000)).tolist()


def test_call_errors():
    missing = CALLS.replace("call (retval0), g, (param0);", "call (retval0), h, (param0);")
    with pytest.raises(PTXUnsupportedError, match="call of 'h'"):
        launch(missing, "calls", 1, 1, [np.zeros(1, np.int32), np.zeros(1, np.int32)])
    recursive = (
        HEADER
        + ".func loop()\n{\n  call.uni loop, ();\n  ret;\n}\n"
        + ".visible .entry k()\n{\n  call.uni loop, ();\n  ret;\n}\n"
    )
    with pytest.raises(ExecutionError, match="nested more than 64"):
        launch(recursive, "k", 1, 32, [])


def test_indirect_calls_are_reported_unsupported():
    ptx = (
        HEADER
        + ".func f()\n{\n  ret;\n}\n"
        + ".visible .entry k()\n{\n  .reg .b64 %rd1;\n"
        + "  prototype_0 : .callprototype ()_ ();\n  call %rd1, (), prototype_0;\n  ret;\n}\n"
    )
    with pytest.raises(PTXUnsupportedError, match="line 12: unsupported: indirect call"):
        launch(ptx, "k", 1, 1, [])


# pick(a, b, which) = *(which ? &b : &a): LLVM selects between two parameters' addresses and
# loads through the result (as it does for a task function choosing one of two buffers).
PARAM_ADDRESS = (
    HEADER
    + """
.func (.param .b32 func_retval0) pick(.param .b32 pick_param_0, .param .b32 pick_param_1,
                                      .param .b32 pick_param_2)
{
  .reg .pred %p;
  .reg .b32 %r<3>;
  .reg .b64 %rd<4>;
  ld.param.b32 %r1, [pick_param_2];
  setp.eq.s32 %p, %r1, 0;
  mov.b64 %rd1, pick_param_0;
  mov.b64 %rd2, pick_param_1;
  selp.b64 %rd3, %rd1, %rd2, %p;
  ld.param.b32 %r2, [%rd3];
  st.param.b32 [func_retval0], %r2;
  ret;
}
.visible .entry picks(.param .u64 picks_param_0)
{
  .reg .b32 %r<5>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd1, [picks_param_0];
  mov.u32 %r1, %tid.x;
  mul.lo.s32 %r2, %r1, 10;
  and.b32 %r3, %r1, 1;
  {
  .param .b32 param0;
  st.param.b32 [param0], %r1;
  .param .b32 param1;
  st.param.b32 [param1], %r2;
  .param .b32 param2;
  st.param.b32 [param2], %r3;
  .param .b32 retval0;
  call.uni (retval0), pick, (param0, param1, param2);
  ld.param.b32 %r4, [retval0];
  }
  mul.wide.u32 %rd2, %r1, 4;
  add.s64 %rd3, %rd1, %rd2;
  st.global.b32 [%rd3], %r4;
  ret;
}
"""
)


def test_a_parameter_loaded_through_its_address_is_the_threads_own():
    """Each thread passes (tid, 10 tid, tid odd) and gets back tid (even) or 10 tid (odd):
    the address of a formal parameter reaches that thread's bytes."""
    out = np.zeros(64, np.int32)
    launch(PARAM_ADDRESS, "picks", 1, 64, [out])
    tid = np.arange(64)
    np.testing.assert_array_equal(out, np.where(tid % 2, 10 * tid, tid))


def test_a_parameter_address_past_its_end_is_an_error():
    """Loading 8 bytes at a 4-byte parameter's address reads past it: an error of the run."""
    broken = PARAM_ADDRESS.replace("ld.param.b32 %r2, [%rd3];", "ld.param.b32 %r2, [%rd3+4];")
    with pytest.raises(ExecutionError, match=r"in no parameter of the call"):
        launch(broken, "picks", 1, 64, [np.zeros(64, np.int32)])
