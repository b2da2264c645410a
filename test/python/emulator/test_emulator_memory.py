"""Loads, stores, address spaces, parameters and atomics."""

import numpy as np
import pytest

from quartet.emulator import EmulatorCheckError, LaunchError, launch

HEADER = ".version 7.8\n.target sm_90\n.address_size 64\n"


def test_vector_loads_and_stores_of_every_width():
    ptx = (
        HEADER
        + """
.visible .entry copy(.param .u64 src, .param .u64 dst)
{
  .reg .b16 %h<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<8>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 16;
  ld.param.u64 %rd1, [src];
  ld.param.u64 %rd2, [dst];
  add.s64 %rd1, %rd1, %rd0;
  add.s64 %rd2, %rd2, %rd0;
  ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd1];
  st.global.v4.b32 [%rd2], {%r4, %r3, %r2, %r1};
  ld.global.v2.b64 {%rd3, %rd4}, [%rd1];
  st.global.b64 [%rd2+16384], %rd4;
  ld.global.s8 %h0, [%rd1+3];
  cvt.s32.s16 %r5, %h0;
  st.global.b32 [%rd2+32768], %r5;
  ld.global.u16 %h1, [%rd1+2];
  st.global.v2.b16 [%rd2+49152], {%h1, %h1};
  ret;
}
"""
    )
    src = np.arange(1024 * 4, dtype=np.uint32) * np.uint32(0x01030507)
    dst = np.zeros(1024 * 16, np.uint32)
    launch(ptx, "copy", 1, 1024, [src, dst])
    words = src.reshape(-1, 4)
    per_thread = dst.reshape(4, -1, 4)  # four 16 KiB regions, 16 bytes per thread in each
    assert np.array_equal(per_thread[0], words[:, ::-1])
    assert np.array_equal(per_thread[1][:, :2], words[:, 2:4])
    top_byte = (words[:, 0] >> 24).astype(np.uint8).view(np.int8).astype(np.int32)
    assert np.array_equal(per_thread[2][:, 0].view(np.int32), top_byte)
    high_half = words[:, 0] >> 16
    assert np.array_equal(per_thread[3][:, 0], high_half | (high_half << 16))


def test_scalar_params_of_each_type_and_byte_array_param():
    ptx = (
        HEADER
        + """
.visible .entry params(.param .u64 out, .param .u32 a, .param .f32 b, .param .s64 c,
                       .param .align 8 .b8 blob[16], .param .u16 d)
{
  .reg .b16 %h;
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd0, [out];
  ld.param.u32 %r0, [a];
  st.global.u32 [%rd0], %r0;
  ld.param.f32 %r1, [b];
  st.global.f32 [%rd0+4], %r1;
  ld.param.s64 %rd1, [c];
  st.global.s64 [%rd0+8], %rd1;
  ld.param.v2.u32 {%r2, %r3}, [blob+8];
  st.global.v2.u32 [%rd0+16], {%r3, %r2};
  ld.param.u16 %h, [d];
  st.global.u16 [%rd0+24], %h;
  ret;
}
"""
    )
    out = np.zeros(4, np.uint64)
    blob = np.array([1, 2, 3, 4], np.uint32)
    launch(ptx, "params", 1, 1, [out, 0xDEADBEEF, 2.5, -7, blob, 65535])
    raw = out.view(np.uint32)
    assert raw[0] == 0xDEADBEEF and out.view(np.float32)[1] == 2.5
    assert out.view(np.int64)[1] == -7
    assert raw[4:6].tolist() == [4, 3] and out.view(np.uint16)[12] == 65535


def test_launch_argument_errors():
    ptx = HEADER + ".visible .entry k(.param .u32 n)\n{\n  ret;\n}\n"
    with pytest.raises(LaunchError, match="takes 1 arguments"):
        launch(ptx, "k", 1, 1, [])
    with pytest.raises(LaunchError, match="cannot hold"):
        launch(ptx, "k", 1, 1, [2**40])
    with pytest.raises(LaunchError, match="no kernel 'missing'"):
        launch(ptx, "missing", 1, 1, [1])


SHARED_AND_LOCAL = (
    HEADER
    + """
.visible .entry spaces(.param .u64 out)
{
  .local .align 8 .b8 depot[16];
  .shared .align 4 .b8 tile[128];
  .reg .b32 %r<8>;
  .reg .b64 %rd<12>;
  .reg .pred %p;
  mov.u32 %r0, %tid.x;
  mov.u64 %rd0, depot;
  cvta.local.u64 %rd1, %rd0;
  st.u32 [%rd1+4], %r0;
  ld.local.u32 %r1, [%rd0+4];
  mov.u64 %rd2, tile;
  mul.wide.u32 %rd3, %r0, 4;
  add.s64 %rd4, %rd2, %rd3;
  cvta.shared.u64 %rd5, %rd4;
  add.s32 %r2, %r1, 100;
  st.u32 [%rd5], %r2;
  bar.sync 0;
  sub.s32 %r3, 31, %r0;
  mul.wide.u32 %rd6, %r3, 4;
  add.s64 %rd7, %rd2, %rd6;
  ld.shared.u32 %r4, [%rd7];
  isspacep.shared %p, %rd5;
  selp.u32 %r5, 1000, 0, %p;
  add.s32 %r4, %r4, %r5;
  ld.param.u64 %rd8, [out];
  mov.u32 %r6, %ctaid.x;
  mad.lo.s32 %r7, %r6, 32, %r0;
  mul.wide.u32 %rd9, %r7, 4;
  add.s64 %rd10, %rd8, %rd9;
  st.global.u32 [%rd10], %r4;
  ret;
}
"""
)


def test_local_depot_generic_shared_and_barrier():
    out = np.zeros(64, np.uint32)
    launch(SHARED_AND_LOCAL, "spaces", 2, 32, [out])
    assert out.tolist() == [1000 + 100 + 31 - i for i in range(32)] * 2


def test_module_global_variable_with_initializer_and_dynamic_shared():
    ptx = (
        HEADER
        + """
.global .align 4 .u32 table[4] = {10, 20, 30, 40};
.extern .shared .align 16 .b8 dynamic[];
.visible .entry lookup(.param .u64 out)
{
  .reg .b32 %r<6>;
  .reg .b64 %rd<8>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 4;
  mov.u64 %rd1, table;
  add.s64 %rd2, %rd1, %rd0;
  ld.global.u32 %r1, [%rd2];
  mov.u64 %rd3, dynamic;
  add.s64 %rd4, %rd3, %rd0;
  st.shared.u32 [%rd4], %r1;
  bar.sync 0;
  ld.shared.u32 %r2, [%rd3+12];
  add.s32 %r3, %r1, %r2;
  ld.param.u64 %rd5, [out];
  add.s64 %rd6, %rd5, %rd0;
  st.global.u32 [%rd6], %r3;
  ret;
}
"""
    )
    out = np.zeros(4, np.uint32)
    launch(ptx, "lookup", 1, 4, [out], shared_bytes=16)
    assert out.tolist() == [50, 60, 70, 80]


ATOMICS = (
    HEADER
    + """
.visible .entry atomics(.param .u64 counters, .param .u64 olds)
{
  .shared .align 4 .u32 local_count;
  .reg .b32 %r<10>;
  .reg .b64 %rd<8>;
  .reg .pred %p;
  mov.u32 %r0, %tid.x;
  ld.param.u64 %rd0, [counters];
  ld.param.u64 %rd1, [olds];
  setp.eq.u32 %p, %r0, 0;
  @%p st.shared.u32 [local_count], 0;
  bar.sync 0;
  atom.global.add.u32 %r1, [%rd0], 1;
  mul.wide.u32 %rd2, %r0, 4;
  add.s64 %rd3, %rd1, %rd2;
  st.global.u32 [%rd3], %r1;
  red.global.add.f32 [%rd0+4], 0f3F000000;
  atom.global.max.s32 %r2, [%rd0+8], %r0;
  atom.global.cas.b32 %r3, [%rd0+12], %r0, 1000;
  atom.shared.add.u32 %r4, [local_count], 2;
  atom.global.exch.b32 %r5, [%rd0+16], %r0;
  atom.global.inc.u32 %r6, [%rd0+20], 3;
  bar.sync 0;
  @%p ld.shared.u32 %r7, [local_count];
  @%p st.global.u32 [%rd0+24], %r7;
  ret;
}
"""
)


def test_atomics_serialize_in_thread_order():
    counters = np.zeros(8, np.uint32)
    counters[3] = 5  # cas succeeds only for thread 5
    olds = np.zeros(64, np.uint32)
    launch(ATOMICS, "atomics", 1, 64, [counters, olds])
    assert sorted(olds.tolist()) == list(range(64))
    assert olds.tolist() == list(range(64))  # one thread at a time, in thread order
    assert counters.view(np.float32)[1] == 32.0
    assert counters[2] == 63 and counters[3] == 1000
    assert counters[4] == 63  # last exchange wins
    assert counters[5] == 0  # inc wraps after 3: 0, 1, 2, 3, 0, ... 64 times
    assert counters[6] == 128


def test_cp_async_with_zero_fill_and_32_bit_shared_pointers():
    ptx = (
        HEADER
        + """
.visible .entry stage(.param .u64 src, .param .u64 out, .param .u32 valid)
{
  .shared .align 16 .b8 buffer[512];
  .reg .b32 %r<10>;
  .reg .b64 %rd<8>;
  mov.u32 %r0, %tid.x;
  ld.param.u64 %rd0, [src];
  mul.wide.u32 %rd1, %r0, 16;
  add.s64 %rd2, %rd0, %rd1;
  mov.u32 %r1, buffer;
  shl.b32 %r2, %r0, 4;
  add.s32 %r3, %r1, %r2;
  ld.param.u32 %r4, [valid];
  cp.async.cg.shared.global [%r3], [%rd2], 16, %r4;
  cp.async.commit_group;
  cp.async.wait_group 0;
  bar.sync 0;
  ld.shared.v4.u32 {%r5, %r6, %r7, %r8}, [%r3];
  ld.param.u64 %rd3, [out];
  add.s64 %rd4, %rd3, %rd1;
  st.global.v4.u32 [%rd4], {%r5, %r6, %r7, %r8};
  ret;
}
"""
    )
    src = np.arange(128, dtype=np.uint32) + 1
    out = np.zeros(128, np.uint32)
    launch(ptx, "stage", 1, 32, [src, out, 8])  # only 8 of every 16 bytes come from src
    expected = src.reshape(32, 4).copy()
    expected[:, 2:] = 0
    assert np.array_equal(out.reshape(32, 4), expected)


AXPY_IN_PLACE = (
    HEADER
    + """
// y[i] = 2 * x[i] + y[i], with x and y possibly aliasing.
.visible .entry axpy(.param .u64 x, .param .u64 y)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<6>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 4;
  ld.param.u64 %rd1, [x];
  add.s64 %rd2, %rd1, %rd0;
  ld.global.f32 %r1, [%rd2];
  ld.param.u64 %rd3, [y];
  add.s64 %rd4, %rd3, %rd0;
  ld.global.f32 %r2, [%rd4];
  fma.rn.f32 %r3, %r1, 0f40000000, %r2;
  st.global.f32 [%rd4], %r3;
  ret;
}
"""
)


def test_views_of_one_buffer_alias_on_the_device():
    base = np.arange(16, dtype=np.float32)
    launch(AXPY_IN_PLACE, "axpy", 1, 16, [base, base.reshape(4, 4)])  # y is x
    assert base.tolist() == [3.0 * i for i in range(16)]
    base = np.arange(32, dtype=np.float32)
    x, y = base[:16], base[8:24]  # overlapping slices of one buffer
    launch(AXPY_IN_PLACE, "axpy", 1, 8, [x, y])  # base[8 + i] += 2 * base[i]
    assert base[8:16].tolist() == [2.0 * i + 8 + i for i in range(8)]
    assert base[16:].tolist() == list(range(16, 32))


def test_adjacent_slices_stay_separate_buffers():
    base = np.zeros(32, np.float32)
    with pytest.raises(EmulatorCheckError) as error:
        launch(AXPY_IN_PLACE, "axpy", 1, 17, [base[:16], base[16:]])
    assert {r.kind for r in error.value.reports} == {"out-of-bounds"}
    assert error.value.reports[0].thread == (16, 0, 0)


def test_more_atomic_operations_and_64_bit():
    ptx = (
        HEADER
        + """
.visible .entry more(.param .u64 words, .param .u64 wide)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  ld.param.u64 %rd0, [words];
  ld.param.u64 %rd1, [wide];
  atom.global.dec.u32 %r1, [%rd0], 5;
  shl.b32 %r2, 1, %r0;
  atom.global.or.b32 %r1, [%rd0+4], %r2;
  atom.global.and.b32 %r1, [%rd0+8], %r2;
  atom.global.xor.b32 %r1, [%rd0+12], 1;
  atom.global.min.u32 %r1, [%rd0+16], %r0;
  cvt.u64.u32 %rd2, %r0;
  shl.b64 %rd2, %rd2, 33;
  atom.global.add.u64 %rd3, [%rd1], %rd2;
  ret;
}
"""
    )
    words = np.array([2, 0, 0xFFFFFFFF, 0, 1000], np.uint32)
    wide = np.zeros(1, np.uint64)
    launch(ptx, "more", 1, 8, [words, wide])
    # dec from 2 with bound 5, 8 times: 2,1,0 -> wraps to 5,4,3,2,1 -> 0
    assert words.tolist() == [0, 0xFF, 0, 0, 0]
    assert wide[0] == sum(t << 33 for t in range(8))
