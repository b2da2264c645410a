"""Planted bugs: each checker must report the right kind, kernel, PTX line, thread and block.

The base kernel (ptx/reverse.ptx) reverses 128-float slices through shared memory; each test
edits one line of it (keeping line numbers) to plant one bug.
"""

import numpy as np
import pytest

from quartet.emulator import EmulatorCheckError, ExecutionError, LaunchError, launch


def line_of(ptx: str, needle: str) -> int:
    """1-based line number of the only line containing ``needle``."""
    (line,) = [number for number, text in enumerate(ptx.split("\n"), 1) if needle in text]
    return line


def plant(ptx: str, original: str, replacement: str) -> str:
    assert ptx.count(original) == 1, original
    return ptx.replace(original, replacement)


def run_reverse(ptx: str, checks=True):
    source = np.arange(256, dtype=np.float32)
    out = np.zeros(256, np.float32)
    launch(ptx, "reverse", 2, 128, [source, out], checks=checks)
    return out


def reports_of(ptx: str):
    with pytest.raises(EmulatorCheckError) as error:
        run_reverse(ptx)
    return error.value.reports


@pytest.fixture
def reverse(ptx_file):
    return ptx_file("reverse.ptx")


def test_correct_kernel_is_silent(reverse):
    out = run_reverse(reverse)
    assert out.tolist() == [float(b * 128 + 127 - t) for b in range(2) for t in range(128)]


def test_off_by_one_store_out_of_bounds(reverse):
    ptx = plant(reverse, "st.global.f32 \t[%rd6], %r7;", "st.global.f32 \t[%rd6+4], %r7;")
    (report,) = reports_of(ptx)
    assert report.kind == "out-of-bounds"
    assert report.kernel == "reverse"
    assert (report.line, report.text) == (line_of(ptx, "[%rd6+4]"), "st.global.f32 [%rd6+4], %r7;")
    assert report.thread == (127, 0, 0) and report.block == (1, 0, 0)
    assert "4 byte(s) past the end of 'reverse_param_1' (1024 bytes" in report.detail
    assert report.count == 1


def test_out_of_bounds_load_is_reported_and_reads_zero(reverse):
    ptx = plant(reverse, "shl.b32 \t%r3, %r2, 7;", "shl.b32 \t%r3, %r2, 8;")
    reports = reports_of(ptx)
    assert [(r.kind, r.line, r.thread, r.block, r.count) for r in reports] == [
        ("out-of-bounds", line_of(ptx, "ld.global.f32"), (0, 0, 0), (1, 0, 0), 128),
        ("out-of-bounds", line_of(ptx, "st.global.f32"), (0, 0, 0), (1, 0, 0), 128),
    ]


def test_removed_barrier_is_a_shared_race(reverse):
    ptx = plant(reverse, "bar.sync \t0;", "// bar.sync removed")
    (report,) = reports_of(ptx)
    assert report.kind == "shared-race"
    assert report.line == line_of(ptx, "ld.shared.f32")
    assert report.thread == (0, 0, 0) and report.block == (0, 0, 0)
    assert report.other_thread == (127, 0, 0) and report.other_block == (0, 0, 0)
    assert report.count == 2 * 128 * 4  # every byte read was written by another thread


def test_two_threads_writing_one_word_race(reverse):
    # Thread t stores to tile[t & ~1]: threads 2k and 2k+1 write the same word in one instruction.
    ptx = plant(
        reverse,
        "mul.wide.u32 \t%rd8, %r1, 4;",
        "and.b32 \t%r6, %r1, -2;\n\tmul.wide.u32 \t%rd8, %r6, 4;",
    )
    reports = reports_of(ptx)
    race = [r for r in reports if r.kind == "shared-race"]
    assert len(race) == 1 and race[0].line == line_of(ptx, "st.shared.f32")
    assert {race[0].thread, race[0].other_thread} == {(0, 0, 0), (1, 0, 0)}
    assert race[0].block == (0, 0, 0)


def test_race_between_two_instructions(reverse):
    ptx = plant(
        reverse,
        "bar.sync \t0;",
        "setp.eq.u32 \t%p1, %r1, 5;\n\t@%p1 st.shared.f32 \t[tile], %r5;\n\tbar.sync \t0;",
    )
    (report,) = reports_of(ptx)
    assert report.kind == "shared-race" and report.line == line_of(ptx, "@%p1 st.shared")
    assert report.thread == (5, 0, 0) and report.other_thread == (0, 0, 0)
    assert report.block == (0, 0, 0) and report.count == 2 * 4


def test_divergent_barrier(reverse):
    ptx = plant(
        reverse,
        "bar.sync \t0;",
        "setp.ge.u32 \t%p1, %r1, 64;\n\t@%p1 bra \tSKIP;\n\tbar.sync \t0;\nSKIP:\n\tbar.sync \t0;",
    )
    reports = reports_of(ptx)
    divergent = [r for r in reports if r.kind == "divergent-barrier"]
    assert len(divergent) == 1
    second_barrier = line_of(ptx, "SKIP:") + 1
    assert divergent[0].line == second_barrier and divergent[0].thread == (64, 0, 0)
    assert divergent[0].other_thread == (0, 0, 0) and divergent[0].block == (0, 0, 0)
    assert f"line {second_barrier - 2}" in divergent[0].detail


def test_misaligned_vector_load(reverse):
    ptx = plant(
        reverse,
        "ld.shared.f32 \t%r7, [%rd11];",
        "ld.shared.v4.f32 \t{%r7, %r6, %r6, %r6}, [%rd9+4];",
    )
    reports = reports_of(ptx)
    misaligned = [r for r in reports if r.kind == "misaligned"]
    assert [(r.line, r.thread, r.block, r.count) for r in misaligned] == [
        (line_of(ptx, "ld.shared.v4"), (0, 0, 0), (0, 0, 0), 2 * 96)
    ]  # all but t % 4 == 3
    assert "not a multiple of the access size 16" in misaligned[0].detail
    with pytest.raises(ExecutionError, match="misaligned access"):
        run_reverse(ptx, checks={"bounds"})


def test_uninitialized_shared_read(reverse):
    # Thread t reads tile[128 - t]: thread 0 reads tile[128], inside the array but never written.
    ptx = plant(reverse, "sub.s32 \t%r6, 127, %r1;", "sub.s32 \t%r6, 128, %r1;")
    reports = reports_of(ptx)
    assert [(r.kind, r.line, r.thread, r.block, r.count) for r in reports] == [
        ("uninitialized-shared", line_of(ptx, "ld.shared.f32"), (0, 0, 0), (0, 0, 0), 8)
    ]


def test_out_of_bounds_shared_access(reverse):
    ptx = plant(reverse, "sub.s32 \t%r6, 127, %r1;", "sub.s32 \t%r6, 200, %r1;")
    reports = reports_of(ptx)
    assert reports[0].kind == "out-of-bounds" and reports[0].thread == (0, 0, 0)
    assert "outside the 528 bytes of shared memory" in reports[0].detail


def test_barrier_deadlock_names_the_missing_thread(reverse):
    # Lanes 16-31 of warp 0 wait in a full-warp shuffle while lanes 0-15 wait at the barrier.
    ptx = plant(
        reverse,
        "bar.sync \t0;",
        "setp.ge.u32 \t%p1, %r1, 16;\n"
        "\tsetp.lt.u32 \t%p0, %r1, 32;\n\tand.pred \t%p1, %p1, %p0;\n"
        "\t@%p1 shfl.sync.idx.b32 \t%r6, %r1, 0, 31, -1;\n\tbar.sync \t0;",
    )
    reports = reports_of(ptx)
    kinds = {(r.kind, r.line) for r in reports}
    assert ("deadlock", line_of(ptx, "bar.sync")) in kinds
    barrier = next(r for r in reports if r.line == line_of(ptx, "bar.sync"))
    assert barrier.thread == (0, 0, 0) and barrier.other_thread == (16, 0, 0)
    assert f"it waits at line {line_of(ptx, 'shfl.sync')}" in barrier.detail


def test_checks_can_be_disabled_one_by_one(reverse):
    ptx = plant(reverse, "bar.sync \t0;", "// bar.sync removed")
    out = run_reverse(ptx, checks={"bounds", "align", "uninit", "barrier"})
    assert out[0] == 127.0
    with pytest.raises(ValueError, match="unknown checks"):
        run_reverse(reverse, checks={"races"})


def test_report_string_is_readable(reverse):
    ptx = plant(reverse, "st.global.f32 \t[%rd6], %r7;", "st.global.f32 \t[%rd6+4], %r7;")
    with pytest.raises(EmulatorCheckError) as error:
        run_reverse(ptx)
    message = str(error.value)
    assert message.startswith("1 checker report(s):")
    assert (
        f"out-of-bounds: reverse: line {line_of(ptx, '[%rd6+4]')}: `st.global.f32 [%rd6+4], "
        "%r7;`: thread (127, 0, 0) block (1, 0, 0): global access of 4 bytes at"
    ) in message


TILE_REUSE = """.version 7.8
.target sm_90
.address_size 64
// Four rounds of: write own slot, barrier, read the mirrored slot, spin tid % 3 times, barrier.
// The spin makes threads reach the second barrier at different steps, so it is released while
// the machine is divergent; the next round's writes must not race with the previous reads.
.visible .entry reuse(.param .u64 out)
{
  .shared .align 4 .b8 tile[256];
  .reg .pred %p<3>;
  .reg .b32 %r<12>;
  .reg .b64 %rd<6>;
  mov.u32 %r0, %tid.x;
  mul.wide.u32 %rd0, %r0, 4;
  mov.u64 %rd1, tile;
  add.s64 %rd2, %rd1, %rd0;
  sub.s32 %r1, 63, %r0;
  mul.wide.u32 %rd3, %r1, 4;
  add.s64 %rd4, %rd1, %rd3;
  rem.u32 %r2, %r0, 3;
  mov.u32 %r3, 0;
  mov.u32 %r4, 0;
ROUND:
  add.s32 %r5, %r0, %r3;
  st.shared.u32 [%rd2], %r5;
  bar.sync 0;
  ld.shared.u32 %r6, [%rd4];
  add.s32 %r4, %r4, %r6;
  mov.u32 %r7, 0;
SPIN:
  setp.lt.u32 %p0, %r7, %r2;
  add.s32 %r7, %r7, 1;
  @%p0 bra SPIN;
  bar.sync 0;
  add.s32 %r3, %r3, 100;
  setp.lt.u32 %p1, %r3, 400;
  @%p1 bra ROUND;
  ld.param.u64 %rd5, [out];
  mov.u32 %r8, %ctaid.x;
  mul.wide.u32 %rd3, %r8, 256;
  add.s64 %rd5, %rd5, %rd3;
  add.s64 %rd5, %rd5, %rd0;
  st.global.u32 [%rd5], %r4;
  ret;
}
"""


def test_reads_before_a_barrier_released_while_divergent_do_not_race_with_later_writes():
    out = np.zeros(128, np.uint32)
    launch(TILE_REUSE, "reuse", 2, 64, [out])
    assert out.tolist() == [4 * (63 - t) + 600 for t in range(64)] * 2


def test_write_after_read_without_a_barrier_is_a_shared_race(reverse):
    # After the mirrored read, thread t overwrites its own slot tile[t], which thread 127 - t has
    # just read: a write-after-read race with no barrier between.
    ptx = plant(
        reverse,
        "ld.shared.f32 \t%r7, [%rd11];",
        "ld.shared.f32 \t%r7, [%rd11];\n\tst.shared.f32 \t[%rd9], %r7;",
    )
    (report,) = reports_of(ptx)
    assert report.kind == "shared-race"
    assert report.line == line_of(ptx, "st.shared.f32 \t[%rd9], %r7;")
    assert report.thread == (0, 0, 0) and report.block == (0, 0, 0)
    assert report.other_thread == (127, 0, 0) and report.other_block == (0, 0, 0)
    assert "saw a read by another thread" in report.detail
    assert report.count == 2 * 128 * 4


BLOCKS_APART = """.version 7.8
.target sm_90
.address_size 64
// Block 1 writes its tile and then reads the mirrored slot with no barrier between; block 0
// passes a barrier in between (the scheduler runs the smallest PC first: block 1's store, then
// block 0's barrier, then block 1's load). Block 0's barrier orders nothing in block 1.
.visible .entry apart(.param .u64 out)
{
  .shared .align 4 .b8 tile[256];
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .b64 %rd<8>;
  mov.u32 %r0, %tid.x;
  mov.u32 %r1, %ctaid.x;
  mov.u64 %rd0, tile;
  setp.eq.u32 %p0, %r1, 1;
  @!%p0 bra BLOCK0;
  mul.wide.u32 %rd1, %r0, 4;
  add.s64 %rd2, %rd0, %rd1;
  st.shared.u32 [%rd2], %r0;
  bra.uni READ;
BLOCK0:
  bar.sync 0;
  ret;
READ:
  sub.s32 %r2, 63, %r0;
  mul.wide.u32 %rd3, %r2, 4;
  add.s64 %rd4, %rd0, %rd3;
  ld.shared.u32 %r3, [%rd4];
  ld.param.u64 %rd5, [out];
  mul.wide.u32 %rd6, %r0, 4;
  add.s64 %rd7, %rd5, %rd6;
  st.global.u32 [%rd7], %r3;
  ret;
}
"""

WIDENED_ROW = """.version 7.8
.target sm_90
.address_size 64
// Three threads write row[0..2] and each sums the row, read as LLVM's load-store vectorizer
// emits it: one 16-byte load whose fourth lane is row[3], never written; then thread 2 writes
// row[3] in the same barrier interval. The fourth lane's destination is planted per test.
.visible .entry widened(.param .u64 .ptr .align 1 widened_param_0)
.reqntid 3, 1, 1
{
  .reg .pred %p<2>;
  .reg .b32 %r<10>;
  .reg .b64 %rd<7>;
  .shared .align 16 .b8 row[16];
  ld.param.b64 %rd1, [widened_param_0];
  cvta.to.global.u64 %rd2, %rd1;
  mov.u32 %r1, %tid.x;
  mul.wide.u32 %rd3, %r1, 4;
  mov.u64 %rd4, row;
  add.s64 %rd5, %rd4, %rd3;
  cvt.rn.f32.u32 %r2, %r1;
  st.shared.f32 [%rd5], %r2;
  bar.sync 0;
  ld.shared.v4.f32 {%r3, %r4, %r5, LANE3}, [row];
  add.f32 %r7, %r3, %r4;
  add.f32 %r8, %r7, %r5;
  add.f32 %r9, %r8, SUMMAND;
  setp.eq.u32 %p1, %r1, 2;
  @%p1 st.shared.f32 [row+12], %r8;
  add.s64 %rd6, %rd2, %rd3;
  st.global.f32 [%rd6], %r9;
  ret;
}
"""


def test_a_barrier_orders_only_its_own_block():
    out = np.zeros(64, np.uint32)
    with pytest.raises(EmulatorCheckError) as error:
        launch(BLOCKS_APART, "apart", 2, 64, [out])
    (report,) = error.value.reports
    assert report.kind == "shared-race"
    assert report.line == line_of(BLOCKS_APART, "ld.shared.u32")
    assert report.thread == (0, 0, 0) and report.block == (1, 0, 0)
    assert report.other_thread == (63, 0, 0) and report.other_block == (1, 0, 0)
    assert out.tolist() == [63 - t for t in range(64)]


def reverse_tracked(ptx: str, source: np.ndarray, source_written, checks=True):
    """Run ``reverse`` on ``source`` into a fresh output whose bytes start unwritten; returns the
    output and its written mask."""
    out = np.zeros(256, np.float32)
    out_written = np.zeros(out.nbytes, np.bool_)
    launch(
        ptx, "reverse", 2, 128, [source, out], checks=checks, written=[source_written, out_written]
    )
    return out, out_written


def test_loads_of_written_bytes_are_silent_and_stores_are_recorded(reverse):
    out, out_written = reverse_tracked(reverse, np.arange(256, dtype=np.float32), None)
    assert out_written.all() and out[0] == 127.0


def test_uninitialized_global_read(reverse):
    # Byte 401 of the input (inside element 100) holds nothing written: thread 100 reads it.
    source_written = np.ones(1024, np.bool_)
    source_written[401] = False
    with pytest.raises(EmulatorCheckError) as error:
        reverse_tracked(reverse, np.arange(256, dtype=np.float32), source_written)
    (report,) = error.value.reports
    assert report.kind == "uninitialized-global"
    assert (report.kernel, report.line) == ("reverse", line_of(reverse, "ld.global.f32"))
    assert report.thread == (100, 0, 0) and report.block == (0, 0, 0) and report.count == 1
    assert "byte 401 of 'reverse_param_0' (1024 bytes" in report.detail
    assert not source_written[401]  # reads change nothing


def test_a_skipped_store_is_reported_where_the_next_launch_reads_it(reverse):
    # Threads 120-127 of each block skip their store; a second launch reads the output back.
    ptx = plant(
        reverse,
        "st.global.f32 \t[%rd6], %r7;",
        "setp.lt.u32 \t%p1, %r1, 120;\n\t@%p1 st.global.f32 \t[%rd6], %r7;",
    )
    out, out_written = reverse_tracked(ptx, np.arange(256, dtype=np.float32), None)
    assert out_written.sum() == 2 * 120 * 4
    assert not out_written[120 * 4 : 128 * 4].any()
    with pytest.raises(EmulatorCheckError) as error:
        reverse_tracked(reverse, out, out_written)
    (report,) = error.value.reports
    assert (report.kind, report.line) == ("uninitialized-global", line_of(reverse, "ld.global"))
    assert report.thread == (120, 0, 0) and report.block == (0, 0, 0) and report.count == 16
    assert "byte 480 of 'reverse_param_0'" in report.detail


def test_uninitialized_global_check_can_be_disabled(reverse):
    source_written = np.zeros(1024, np.bool_)
    checks = {"bounds", "align", "race", "uninit", "barrier"}
    out, out_written = reverse_tracked(
        reverse, np.arange(256, dtype=np.float32), source_written, checks
    )
    assert out[0] == 127.0
    assert not out_written.any() and not source_written.any()  # untracked: left as they were


COUNTER = """.version 7.8
.target sm_90
.address_size 64
.visible .entry count(.param .u64 counter)
{
  .reg .b64 %rd<1>;
  ld.param.u64 %rd0, [counter];
  red.global.add.u32 [%rd0], 1;
  ret;
}
"""


def test_an_atomic_reads_before_it_writes():
    counter = np.zeros(1, np.uint32)
    written = np.zeros(4, np.bool_)
    with pytest.raises(EmulatorCheckError) as error:
        launch(COUNTER, "count", 1, 32, [counter], written=[written])
    (report,) = error.value.reports
    assert (report.kind, report.line, report.thread) == (
        "uninitialized-global",
        line_of(COUNTER, "red.global"),
        (0, 0, 0),
    )
    assert written.all()  # ... and then writes
    launch(COUNTER, "count", 1, 32, [counter], written=[written])
    assert counter[0] == 64


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ([None], "written has 1 entries for 2 arguments"),
        ([np.zeros(1024, np.bool_), np.zeros(1023, np.bool_)], "of 1024 elements"),
        ([np.zeros(1024, np.uint8), None], "bool array"),
        ([np.zeros(2048, np.bool_)[::2], None], "C-contiguous"),
    ],
)
def test_bad_written_masks_are_launch_errors(reverse, written, message):
    with pytest.raises(LaunchError, match=message):
        launch(reverse, "reverse", 2, 128, [np.zeros(256, np.float32)] * 2, written=written)


def test_written_masks_belong_to_pointers_only():
    ptx = """.version 7.8
.target sm_90
.address_size 64
.visible .entry scalar(.param .u32 n)
{
  ret;
}
"""
    with pytest.raises(LaunchError, match="not a pointer"):
        launch(ptx, "scalar", 1, 1, [3], written=[np.zeros(4, np.bool_)])


@pytest.mark.parametrize("lane", ["_", "%r6"], ids=["sink", "unread-register"])
def test_unused_lanes_of_a_widened_load_are_not_checked(lane):
    """The fourth lane goes to the sink or to a register nothing reads: its unwritten bytes,
    and thread 2's write of them, cannot change a result, so neither is reported."""
    ptx = WIDENED_ROW.replace("LANE3", lane).replace("SUMMAND", "0f00000000")
    out = np.zeros(3, np.float32)
    launch(ptx, "widened", 1, 3, [out])
    assert out.tolist() == [3.0, 3.0, 3.0]


def test_a_used_lane_of_unwritten_shared_memory_is_reported():
    ptx = WIDENED_ROW.replace("LANE3", "%r6").replace("SUMMAND", "%r6")
    with pytest.raises(EmulatorCheckError) as error:
        launch(ptx, "widened", 1, 3, [np.zeros(3, np.float32)])
    assert [(r.kind, r.line, r.thread, r.count) for r in error.value.reports] == [
        ("uninitialized-shared", line_of(ptx, "ld.shared.v4"), (0, 0, 0), 3 * 4),
        ("shared-race", line_of(ptx, "[row+12]"), (2, 0, 0), 4),
    ]
