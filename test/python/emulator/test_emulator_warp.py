"""Warp collectives: shfl.sync, vote.sync, redux.sync, ldmatrix, mma.sync."""

import numpy as np
import pytest

from quartet.emulator import EmulatorCheckError, launch

HEADER = ".version 7.8\n.target sm_90\n.address_size 64\n"


def shfl_kernel(mode: str, lane_operand: str, clamp: str, mask: str = "-1") -> str:
    return (
        HEADER
        + f"""
.visible .entry shfl(.param .u64 out)
{{
  .reg .pred %p;
  .reg .b32 %r<6>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  mul.lo.s32 %r1, %r0, 10;
  shfl.sync.{mode}.b32 %r2|%p, %r1, {lane_operand}, {clamp}, {mask};
  selp.u32 %r3, 1, 0, %p;
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 8;
  add.s64 %rd2, %rd0, %rd1;
  st.global.v2.u32 [%rd2], {{%r2, %r3}};
  ret;
}}
"""
    )


def shuffle_reference(mode: str, b: int, c: int, lanes: int = 64):
    """The PTX ISA pseudocode for shfl.sync, per thread: (value, predicate)."""
    result = []
    for thread in range(lanes):
        lane, base = thread % 32, thread - thread % 32
        clamp, segment = c & 31, (c >> 8) & 31
        max_lane = (lane & segment) | (clamp & ~segment)
        min_lane = lane & segment
        j, valid = {
            "up": (lane - b, lane - b >= max_lane),
            "down": (lane + b, lane + b <= max_lane),
            "bfly": (lane ^ b, (lane ^ b) <= max_lane),
            "idx": (min_lane | (b & ~segment), (min_lane | (b & ~segment)) <= max_lane),
        }[mode]
        source = base + (j if valid else lane)
        result.append((source * 10, int(valid)))
    return result


@pytest.mark.parametrize(
    ("mode", "b", "c"),
    [
        ("down", 1, 0x1F),
        ("down", 16, 0x1F),
        ("up", 2, 0),
        ("bfly", 5, 0x1F),
        ("idx", 3, 0x1F),
        ("idx", 5, 0x181F),  # idx within segments of 8 lanes
    ],
)
def test_shfl_modes_follow_the_isa(mode, b, c):
    out = np.zeros((64, 2), np.uint32)
    launch(shfl_kernel(mode, str(b), hex(c)), "shfl", 1, 64, [out])
    assert [tuple(row) for row in out.tolist()] == shuffle_reference(mode, b, c)


def test_shfl_down_hand_checked_lanes():
    out = np.zeros((64, 2), np.uint32)
    launch(shfl_kernel("down", "1", "31"), "shfl", 1, 64, [out])
    assert out[0].tolist() == [10, 1]
    assert out[31].tolist() == [310, 0]  # no lane 32 in the warp: own value, predicate false
    assert out[32].tolist() == [330, 1]


def test_shfl_with_partial_member_mask_under_divergence():
    ptx = (
        HEADER
        + """
.visible .entry half(.param .u64 out)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  mov.u32 %r2, 999;
  setp.ge.u32 %p0, %r0, 16;
  @%p0 bra SKIP;
  shfl.sync.bfly.b32 %r2, %r0, 8, 31, 0x0000ffff;
SKIP:
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 4;
  add.s64 %rd2, %rd0, %rd1;
  st.global.u32 [%rd2], %r2;
  ret;
}
"""
    )
    out = np.zeros(32, np.uint32)
    launch(ptx, "half", 1, 32, [out])
    assert out.tolist() == [i ^ 8 for i in range(16)] + [999] * 16


def test_vote_ballot_all_any_uni():
    ptx = (
        HEADER
        + """
.visible .entry vote(.param .u64 out)
{
  .reg .pred %p<6>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  rem.u32 %r1, %r0, 3;
  setp.eq.u32 %p0, %r1, 0;
  vote.sync.ballot.b32 %r2, %p0, -1;
  vote.sync.any.pred %p1, %p0, -1;
  vote.sync.all.pred %p2, %p0, -1;
  setp.lt.u32 %p3, %r0, 100;
  vote.sync.all.pred %p4, %p3, -1;
  vote.sync.uni.pred %p5, !%p0, -1;
  selp.u32 %r3, 1, 0, %p1;
  selp.u32 %r4, 2, 0, %p2;
  selp.u32 %r5, 4, 0, %p4;
  selp.u32 %r6, 8, 0, %p5;
  or.b32 %r3, %r3, %r4;
  or.b32 %r3, %r3, %r5;
  or.b32 %r3, %r3, %r6;
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 8;
  add.s64 %rd2, %rd0, %rd1;
  st.global.v2.u32 [%rd2], {%r2, %r3};
  ret;
}
"""
    )
    out = np.zeros((64, 2), np.uint32)
    launch(ptx, "vote", 1, 64, [out])
    first = sum(1 << lane for lane in range(32) if lane % 3 == 0)
    second = sum(1 << lane for lane in range(32) if (lane + 32) % 3 == 0)
    assert (out[:32, 0] == first).all() and (out[32:, 0] == second).all()
    assert (out[:, 1] == 1 | 4).all()  # any, not all, all(tid<100), not uniform


def test_redux_sync_sum_and_max():
    ptx = (
        HEADER
        + """
.visible .entry redux(.param .u64 out)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  redux.sync.add.u32 %r1, %r0, -1;
  redux.sync.max.s32 %r2, %r0, -1;
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 8;
  add.s64 %rd2, %rd0, %rd1;
  st.global.v2.u32 [%rd2], {%r1, %r2};
  ret;
}
"""
    )
    out = np.zeros((64, 2), np.uint32)
    launch(ptx, "redux", 1, 64, [out])
    assert (out[:32] == [sum(range(32)), 31]).all()
    assert (out[32:] == [sum(range(32, 64)), 63]).all()


LDMATRIX = (
    HEADER
    + """
// Stage 4 row-major 8x8 b16 matrices (matrix m, element (r, c) = m*64 + r*8 + c) in shared,
// then ldmatrix.x4 (optionally .trans): lane l gives the address of row l%8 of matrix l/8.
.visible .entry ldm(.param .u64 src, .param .u64 out)
{
  .shared .align 16 .b8 tiles[512];
  .reg .b32 %r<10>;
  .reg .b64 %rd<10>;
  mov.u32 %r0, %tid.x;
  ld.param.u64 %rd0, [src];
  mul.wide.u32 %rd1, %r0, 16;
  add.s64 %rd2, %rd0, %rd1;
  ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd2];
  mov.u64 %rd3, tiles;
  add.s64 %rd4, %rd3, %rd1;
  st.shared.v4.b32 [%rd4], {%r1, %r2, %r3, %r4};
  bar.sync 0;
  ldmatrix.sync.aligned.m8n8.x4.TRANS.shared.b16 {%r5, %r6, %r7, %r8}, [%rd4];
  ld.param.u64 %rd5, [out];
  add.s64 %rd6, %rd5, %rd1;
  st.global.v4.b32 [%rd6], {%r5, %r6, %r7, %r8};
  ret;
}
"""
)


@pytest.mark.parametrize("transpose", [False, True])
def test_ldmatrix_fragments(transpose):
    ptx = LDMATRIX.replace(".TRANS", ".trans" if transpose else "")
    source = np.arange(256, dtype=np.uint16)
    out = np.zeros((32, 4, 2), np.uint16)
    launch(ptx, "ldm", 1, 32, [source, out])
    for lane in range(32):
        for matrix in range(4):
            row, col = lane // 4, (lane % 4) * 2
            if transpose:
                expected = [matrix * 64 + col * 8 + row, matrix * 64 + (col + 1) * 8 + row]
            else:
                expected = [matrix * 64 + row * 8 + col, matrix * 64 + row * 8 + col + 1]
            assert out[lane, matrix].tolist() == expected, (lane, matrix)


MMA = (
    HEADER
    + """
// Each lane loads its A (4 x b32), B (2 x b32) and C (4 x f32) fragment registers from arrays in
// fragment order, runs one mma, and stores its D fragment.
.visible .entry mma(.param .u64 a, .param .u64 b, .param .u64 c, .param .u64 d)
{
  .reg .b32 %r<20>;
  .reg .b64 %rd<12>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 16;
  mul.wide.u32 %rd1, %r0, 8;
  ld.param.u64 %rd2, [a];
  add.s64 %rd2, %rd2, %rd0;
  ld.global.v4.b32 {%r1, %r2, %r3, %r4}, [%rd2];
  ld.param.u64 %rd3, [b];
  add.s64 %rd3, %rd3, %rd1;
  ld.global.v2.b32 {%r5, %r6}, [%rd3];
  ld.param.u64 %rd4, [c];
  add.s64 %rd4, %rd4, %rd0;
  ld.global.v4.f32 {%r7, %r8, %r9, %r10}, [%rd4];
  mma.sync.aligned.m16n8k16.row.col.f32.TYPE.TYPE.f32 {%r11, %r12, %r13, %r14},
      {%r1, %r2, %r3, %r4}, {%r5, %r6}, {%r7, %r8, %r9, %r10};
  ld.param.u64 %rd5, [d];
  add.s64 %rd5, %rd5, %rd0;
  st.global.v4.f32 [%rd5], {%r11, %r12, %r13, %r14};
  ret;
}
"""
)


def fragment_layout(lane: int):
    """(row, col) of each fragment element of lane, per "Matrix Fragments for mma.m16n8k16
    with floating point type": A a0..a7, B b0..b3, C/D c0..c3."""
    group, thread = lane >> 2, lane % 4
    a = [(group + 8 * ((i >> 1) & 1), thread * 2 + (i & 1) + 8 * (i >> 2)) for i in range(8)]
    b = [(thread * 2 + (i & 1) + 8 * (i >> 1), group) for i in range(4)]
    c = [(group + 8 * (i >> 1), thread * 2 + (i & 1)) for i in range(4)]
    return a, b, c


def test_fragment_layout_matches_the_isa_figures():
    # Hand-read from the ISA's figures for lanes 0, 5 and 31.
    a, b, c = fragment_layout(0)
    assert a == [(0, 0), (0, 1), (8, 0), (8, 1), (0, 8), (0, 9), (8, 8), (8, 9)]
    assert b == [(0, 0), (1, 0), (8, 0), (9, 0)] and c == [(0, 0), (0, 1), (8, 0), (8, 1)]
    a, b, c = fragment_layout(5)
    assert a == [(1, 2), (1, 3), (9, 2), (9, 3), (1, 10), (1, 11), (9, 10), (9, 11)]
    assert b == [(2, 1), (3, 1), (10, 1), (11, 1)] and c == [(1, 2), (1, 3), (9, 2), (9, 3)]
    a, _, c = fragment_layout(31)
    assert a[-1] == (15, 15) and c[-1] == (15, 7)


@pytest.mark.parametrize("element_type", ["f16", "bf16"])
def test_mma_m16n8k16_against_numpy(element_type):
    rng = np.random.default_rng(0)
    a_matrix = rng.integers(-4, 5, (16, 16)).astype(np.float32) / 4
    b_matrix = rng.integers(-4, 5, (16, 8)).astype(np.float32) / 2
    c_matrix = rng.standard_normal((16, 8)).astype(np.float32)

    def encode(values):
        if element_type == "f16":
            return values.astype(np.float16).view(np.uint16)
        return (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)

    a_frag = np.zeros((32, 8), np.uint16)
    b_frag = np.zeros((32, 4), np.uint16)
    c_frag = np.zeros((32, 4), np.float32)
    for lane in range(32):
        a_pos, b_pos, c_pos = fragment_layout(lane)
        a_frag[lane] = encode(np.array([a_matrix[p] for p in a_pos]))
        b_frag[lane] = encode(np.array([b_matrix[p] for p in b_pos]))
        c_frag[lane] = [c_matrix[p] for p in c_pos]
    d_frag = np.zeros((32, 4), np.float32)
    launch(MMA.replace("TYPE", element_type), "mma", 1, 32, [a_frag, b_frag, c_frag, d_frag])
    expected = a_matrix @ b_matrix + c_matrix  # exact: the inputs are small dyadic numbers
    for lane in range(32):
        _, _, c_pos = fragment_layout(lane)
        np.testing.assert_allclose(d_frag[lane], [expected[p] for p in c_pos], rtol=1e-6)


def test_mma_with_an_exited_lane_is_a_deadlock():
    ptx = (
        MMA.replace("TYPE", "f16")
        .replace(
            "  mov.u32 %r0, %tid.x;\n",
            """  mov.u32 %r0, %tid.x;
  setp.eq.u32 %p, %r0, 7;
  @%p ret;
""",
        )
        .replace(".reg .b32 %r<20>;", ".reg .b32 %r<20>;\n  .reg .pred %p;")
    )
    arrays = [
        np.zeros((32, 8), np.uint16),
        np.zeros((32, 4), np.uint16),
        np.zeros((32, 4), np.float32),
        np.zeros((32, 4), np.float32),
    ]
    with pytest.raises(EmulatorCheckError) as error:
        launch(ptx, "mma", 1, 32, arrays)
    (report,) = error.value.reports
    assert report.kind == "deadlock" and report.text.startswith("mma.sync")
    assert report.thread == (0, 0, 0)


MMA_K8_F16 = (
    HEADER
    + """
// m16n8k8 with f16 accumulators: A is 2 x b32, B is 1 x b32, C and D are 2 x f16x2.
.visible .entry mma_k8(.param .u64 a, .param .u64 b, .param .u64 c, .param .u64 d)
{
  .reg .b32 %r<12>;
  .reg .b64 %rd<8>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 8;
  mul.wide.u32 %rd1, %r0, 4;
  ld.param.u64 %rd2, [a];
  add.s64 %rd2, %rd2, %rd0;
  ld.global.v2.b32 {%r1, %r2}, [%rd2];
  ld.param.u64 %rd3, [b];
  add.s64 %rd3, %rd3, %rd1;
  ld.global.b32 %r3, [%rd3];
  ld.param.u64 %rd4, [c];
  add.s64 %rd4, %rd4, %rd0;
  ld.global.v2.b32 {%r4, %r5}, [%rd4];
  mma.sync.aligned.m16n8k8.row.col.f16.f16.f16.f16 {%r6, %r7}, {%r1, %r2}, {%r3}, {%r4, %r5};
  ld.param.u64 %rd5, [d];
  add.s64 %rd5, %rd5, %rd0;
  st.global.v2.b32 [%rd5], {%r6, %r7};
  ret;
}
"""
)


def test_mma_m16n8k8_with_half_accumulators():
    rng = np.random.default_rng(5)
    a_matrix = rng.integers(-3, 4, (16, 8)).astype(np.float16)
    b_matrix = rng.integers(-3, 4, (8, 8)).astype(np.float16)
    c_matrix = rng.integers(-3, 4, (16, 8)).astype(np.float16)
    a_frag, b_frag = np.zeros((32, 4), np.float16), np.zeros((32, 2), np.float16)
    c_frag = np.zeros((32, 4), np.float16)
    for lane in range(32):
        group, thread = lane >> 2, lane % 4
        # m16n8k8 (ISA figures): a0,a1 in row g, a2,a3 in row g+8; b0,b1 in rows 2t, 2t+1.
        a_frag[lane] = [a_matrix[group + 8 * (i >> 1), thread * 2 + (i & 1)] for i in range(4)]
        b_frag[lane] = [b_matrix[thread * 2 + i, group] for i in range(2)]
        c_frag[lane] = [c_matrix[group + 8 * (i >> 1), thread * 2 + (i & 1)] for i in range(4)]
    d_frag = np.zeros((32, 4), np.float16)
    launch(MMA_K8_F16, "mma_k8", 1, 32, [a_frag, b_frag, c_frag, d_frag])
    expected = a_matrix.astype(np.float32) @ b_matrix.astype(np.float32) + c_matrix
    for lane in range(32):
        group, thread = lane >> 2, lane % 4
        rows_cols = [(group + 8 * (i >> 1), thread * 2 + (i & 1)) for i in range(4)]
        assert d_frag[lane].tolist() == [expected[p] for p in rows_cols]


def test_full_mask_shuffle_in_a_partial_last_warp():
    out = np.zeros((48, 2), np.uint32)
    launch(shfl_kernel("down", "1", "31"), "shfl", 1, 48, [out])
    assert out[:32].tolist() == [list(v) for v in shuffle_reference("down", 1, 31, 32)]
    assert out[32:47, 0].tolist() == [(lane + 1) * 10 for lane in range(32, 47)]


def test_activemask_sees_the_lanes_on_the_same_path():
    ptx = (
        HEADER
        + """
.visible .entry active(.param .u64 out)
{
  .reg .pred %p;
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  and.b32 %r1, %r0, 1;
  setp.eq.u32 %p, %r1, 1;
  @%p bra ODD;
  activemask.b32 %r2;
  bra.uni DONE;
ODD:
  activemask.b32 %r2;
DONE:
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 4;
  add.s64 %rd2, %rd0, %rd1;
  st.global.u32 [%rd2], %r2;
  ret;
}
"""
    )
    out = np.zeros(40, np.uint32)
    launch(ptx, "active", 1, 40, [out])
    assert (out[0:32:2] == 0x55555555).all() and (out[1:32:2] == 0xAAAAAAAA).all()
    assert (out[32:40:2] == 0x55).all() and (out[33:40:2] == 0xAA).all()


@pytest.mark.parametrize("transpose", [False, True])
def test_stmatrix_inverts_ldmatrix(transpose):
    suffix = ".trans" if transpose else ""
    ptx = (
        LDMATRIX.replace(".TRANS", suffix)
        .replace(
            "  ld.param.u64 %rd5, [out];",
            f"  stmatrix.sync.aligned.m8n8.x4{suffix}.shared.b16 [%rd4+512],"
            " {%r5, %r6, %r7, %r8};\n"
            "  bar.sync 0;\n  ld.shared.v4.b32 {%r5, %r6, %r7, %r8}, [%rd4+512];\n"
            "  ld.param.u64 %rd5, [out];",
        )
        .replace(".b8 tiles[512]", ".b8 tiles[1024]")
    )
    source = np.arange(256, dtype=np.uint16)
    out = np.zeros((32, 4, 2), np.uint16)
    launch(ptx, "ldm", 1, 32, [source, out])
    assert out.ravel().tolist() == source.tolist()


def test_elect_sync_picks_the_lowest_member_lane():
    ptx = (
        HEADER
        + """
.visible .entry elect(.param .u64 out)
{
  .reg .pred %p<2>;
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  mov.u32 %r0, %tid.x;
  setp.lt.u32 %p0, %r0, 4;
  @%p0 bra DONE;
  elect.sync %r1|%p1, 0xfffffff0;
  selp.u32 %r2, 100, 0, %p1;
  add.s32 %r1, %r1, %r2;
  ld.param.u64 %rd0, [out];
  mul.wide.u32 %rd1, %r0, 4;
  add.s64 %rd2, %rd0, %rd1;
  st.global.u32 [%rd2], %r1;
DONE:
  ret;
}
"""
    )
    out = np.zeros(32, np.uint32)
    launch(ptx, "elect", 1, 32, [out])
    assert out.tolist() == [0] * 4 + [104] + [4] * 27
