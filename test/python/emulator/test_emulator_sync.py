"""Synchronisation across blocks: the cross-CTA race checker, parked pollers, deadlocks naming the
wait, and residency.

The base kernel (ptx/chain.ptx) is a chain of 128 blocks, each waiting for the one before, as a
persistent kernel's vEUs wait for their producers: poll a flag with ld.acquire, CTA barrier,
read what the producer wrote, write, CTA barrier, release add. Each test edits it: correct
variants of the release and the acquire must run clean, planted bugs must be reported.
"""

import re

import numpy as np
import pytest
from test_emulator_checkers import line_of, plant
from test_emulator_control import GRID_BARRIER, HEADER

from quartet.emulator import EmulatorCheckError, LaunchError, launch

BLOCKS, THREADS = 128, 32
SIGNAL = "red.release.gpu.global.add.u32 [%rd9], 1;"
POLL = "ld.acquire.gpu.global.u32 %r6, [%rd5+-4];"
READ = "ld.global.u32 %r8, [%rd7];"  # block k reads the row block k-1 wrote
WRITE = "st.global.u32 [%rd3], %r8;"  # block k writes its row


@pytest.fixture
def chain(ptx_file):
    return ptx_file("chain.ptx")


def run_chain(ptx: str, **options):
    flags = np.zeros(BLOCKS + 1, np.uint32)  # one more: the flag nobody signals
    rows = np.zeros(BLOCKS * THREADS, np.uint32)
    stats = launch(ptx, "chain", BLOCKS, THREADS, [flags, rows], **options)
    return stats, flags, rows


def reports_of(ptx: str):
    with pytest.raises(EmulatorCheckError) as error:
        run_chain(ptx)
    return error.value.reports


def edit(ptx: str, *replacements: tuple[str, str]) -> str:
    for original, replacement in replacements:
        ptx = plant(ptx, original, replacement)
    return ptx


def test_the_chain_is_clean_and_its_waiting_costs_nothing(chain):
    stats, flags, rows = run_chain(chain)
    assert rows.tolist() == [t + 8 * k for k in range(BLOCKS) for t in range(THREADS)]
    assert flags.tolist() == [1] * BLOCKS + [0]
    # Polling loads are not traffic: what blocks 1..127 read of their producers' rows only.
    assert stats.global_loaded == (BLOCKS - 1) * THREADS * 4
    # Each waiting thread polls a few times before it parks: about 60 warp instructions of
    # real work per block (457,218 before pollers were parked).
    assert stats.warp_instructions < 120 * BLOCKS


RELEASES = {
    "red.release": SIGNAL,
    "atom.release": "atom.release.gpu.global.add.u32 %r10, [%rd9], 1;",
    "st.release": "st.release.gpu.global.u32 [%rd9], 1;",
    "fence then relaxed atom": "fence.acq_rel.gpu;\n  atom.global.add.u32 %r10, [%rd9], 1;",
    "membar then volatile st": "membar.gl;\n  st.volatile.global.u32 [%rd9], 1;",
}


@pytest.mark.parametrize("signal", RELEASES.values(), ids=RELEASES.keys())
def test_every_form_of_release_orders_the_producer_before_the_consumer(chain, signal):
    _, _, rows = run_chain(edit(chain, (SIGNAL, signal)))
    assert rows[-1] == THREADS - 1 + 8 * (BLOCKS - 1)


def test_a_relaxed_poll_then_a_fence_acquires(chain):
    ptx = edit(
        chain,
        (POLL, "ld.relaxed.gpu.global.u32 %r6, [%rd5+-4];"),
        ("WAITED:\n  bar.sync 0;", "WAITED:\n  fence.acq_rel.gpu;\n  bar.sync 0;"),
    )
    _, _, rows = run_chain(ptx)
    assert rows[-1] == THREADS - 1 + 8 * (BLOCKS - 1)


def assert_data_race(report, ptx: str, thread: int = 0) -> None:
    """Block k's read of the row races with block k-1's write of it."""
    assert report.kind == "global-race" and report.kernel == "chain"
    assert report.line == line_of(ptx, READ)
    assert report.thread == (thread, 0, 0) and report.block == (1, 0, 0)
    assert report.other_thread == (thread, 0, 0) and report.other_block == (0, 0, 0)
    assert f"races with a write by another block at line {line_of(ptx, WRITE)}" in report.detail
    assert f"byte {4 * thread} of 'chain_rows'" in report.detail


def test_missing_wait(chain):
    """No block polls: block k reads row k-1 while block k-1 writes it."""
    ptx = edit(chain, ("  @%p1 bra WAITED;\n  mul.wide.u32", "  bra.uni WAITED;\n  mul.wide.u32"))
    (report,) = reports_of(ptx)
    # The blocks run in step: the reads come first, so the writes are reported.
    assert report.kind == "global-race" and report.line == line_of(ptx, WRITE)
    assert report.block == (0, 0, 0) and report.other_block == (1, 0, 0)
    assert f"races with a read by another block at line {line_of(ptx, READ)}" in report.detail
    assert report.count == (BLOCKS - 1) * THREADS


def test_missing_release_a_plain_store(chain):
    """A weak store signals: the flag itself races, and it releases nothing."""
    ptx = edit(chain, (SIGNAL, "st.global.u32 [%rd9], 1;"))
    flag_read, data, flag_write = reports_of(ptx)
    assert_data_race(data, ptx)
    assert (flag_read.kind, flag_read.line) == ("global-race", line_of(ptx, POLL))
    assert "of 'chain_flags'" in flag_read.detail
    assert (flag_write.kind, flag_write.line) == (
        "global-race",
        line_of(ptx, "st.global.u32 [%rd9]"),
    )


def test_missing_release_an_atomic_without_fence(chain):
    """What LLVM emits for ``llvm.atomicrmw add ... release`` (PLATFORM.md): a plain atom.add,
    ordering dropped. Atomic against acquire load is no race, but it orders nothing."""
    ptx = edit(chain, (SIGNAL, "atom.global.add.u32 %r10, [%rd9], 1;"))
    (report,) = reports_of(ptx)
    assert_data_race(report, ptx)


def test_a_release_before_the_cta_barrier_covers_only_its_own_thread(chain):
    ptx = edit(chain, (f"  {WRITE}\n  bar.sync 0;", f"  {WRITE}"))
    (report,) = reports_of(ptx)
    assert_data_race(report, ptx, thread=1)  # thread 0 wrote its element before it signalled
    assert report.count == (BLOCKS - 1) * (THREADS - 1)


def test_a_write_after_the_release_is_not_covered_by_it(chain):
    """Thread 0 stores its element again after signalling. Block 1 reads it after that store
    (a read racing with it); blocks 2.. read theirs first (the store races with the read)."""
    ptx = edit(chain, (SIGNAL, f"{SIGNAL}\n  st.global.u32 [%rd3], %r8;"))
    late_store = line_of(ptx, SIGNAL) + 1
    read, write = reports_of(ptx)
    assert (read.kind, read.line, read.count) == ("global-race", line_of(ptx, READ), 1)
    assert read.thread == read.other_thread == (0, 0, 0)
    assert read.block == (1, 0, 0) and read.other_block == (0, 0, 0)
    assert f"races with a write by another block at line {late_store}" in read.detail
    assert (write.kind, write.line, write.count) == ("global-race", late_store, BLOCKS - 2)
    assert write.block == (1, 0, 0) and write.other_block == (2, 0, 0)


def test_a_cta_scoped_release_orders_nothing_across_blocks(chain):
    ptx = edit(chain, (SIGNAL, "red.release.cta.global.add.u32 [%rd9], 1;"))
    kinds_and_lines = [(report.kind, report.line) for report in reports_of(ptx)]
    assert kinds_and_lines == [
        ("global-race", line_of(ptx, POLL)),
        ("global-race", line_of(ptx, READ)),
        ("global-race", line_of(ptx, "red.release.cta")),
    ]


def test_missing_acquire_a_relaxed_poll_without_fence(chain):
    ptx = edit(chain, (POLL, "ld.relaxed.gpu.global.u32 %r6, [%rd5+-4];"))
    (report,) = reports_of(ptx)
    assert_data_race(report, ptx)


def test_a_wait_nobody_signals_is_a_deadlock_naming_each_wait(chain):
    """Block k waits for block k+1: block 127 waits for flag 128, which nobody signals, and so
    every block but 0 waits forever (instead of running into the step limit)."""
    ptx = edit(chain, (POLL, "ld.acquire.gpu.global.u32 %r6, [%rd5+4];"))
    reports = reports_of(ptx)
    assert [r.block for r in reports] == [(k, 0, 0) for k in range(1, BLOCKS)]
    assert {(r.kind, r.line, r.thread) for r in reports} == {
        ("deadlock", line_of(ptx, "[%rd5+4]"), (0, 0, 0))
    }
    assert re.fullmatch(
        rf"waits forever: it polls byte {4 * BLOCKS} of 'chain_flags' \({4 * (BLOCKS + 1)} bytes "
        r"at 0x[0-9a-f]+\), which holds 0, for a value != 0; nothing left running can write it",
        reports[-1].detail,
    )


def test_the_wait_names_what_a_counting_barrier_waits_for():
    """Block 7 of the grid barrier adds 0 instead of 1: every block's thread 0 waits for the
    counter to reach 8 (the loop's compare: continue while it is < %nctaid), the others wait at
    their CTA barrier for it, which is no report of its own."""
    ptx = plant(
        GRID_BARRIER,
        "atom.global.add.u32 %r3, [%rd0], 1;",
        "setp.eq.u32 %p2, %r1, 7;\n  selp.u32 %r7, 0, 1, %p2;\n"
        "  atom.global.add.u32 %r3, [%rd0], %r7;",
    )
    with pytest.raises(EmulatorCheckError) as error:
        launch(ptx, "grid_barrier", 8, 32, [np.zeros(2, np.uint32), np.zeros(256, np.uint32)])
    reports = error.value.reports
    assert [(r.kind, r.line, r.thread, r.block) for r in reports] == [
        ("deadlock", line_of(ptx, "ld.volatile"), (0, 0, 0), (block, 0, 0)) for block in range(8)
    ]
    assert "polls byte 0 of 'counter' (8 bytes" in reports[0].detail
    assert "which holds 7, for a value >= 8;" in reports[0].detail


COUNTED_SPIN = (
    HEADER
    + """
// Thread 0 polls a flag nobody sets, but gives up after 100 polls and stores how many it made:
// its loop counter changes every iteration, so it is never parked (that would end in a
// deadlock instead of 100).
.visible .entry counted(.param .u64 flag, .param .u64 out)
{
  .reg .pred %p<3>;
  .reg .b32 %r<4>;
  .reg .b64 %rd<2>;
  ld.param.u64 %rd0, [flag];
  ld.param.u64 %rd1, [out];
  mov.u32 %r0, 0;
POLL:
  ld.volatile.global.u32 %r1, [%rd0];
  add.s32 %r0, %r0, 1;
  setp.ne.u32 %p0, %r1, 0;
  setp.lt.u32 %p1, %r0, 100;
  @%p0 bra DONE;
  @%p1 bra POLL;
DONE:
  st.global.u32 [%rd1], %r0;
  ret;
}
"""
)


def test_a_poll_loop_that_counts_is_never_parked():
    out = np.zeros(1, np.uint32)
    launch(COUNTED_SPIN, "counted", 1, 1, [np.zeros(1, np.uint32), out])
    assert out[0] == 100


def test_a_grid_above_the_residency_limit_is_refused(chain):
    """One vEU too many: a persistent kernel's blocks wait for each other, so a block that
    would not fit on the GPU would never run."""
    with pytest.raises(LaunchError, match="grid of 128 blocks exceeds the 127 blocks"):
        run_chain(chain, max_resident_ctas=BLOCKS - 1)
    _, _, rows = run_chain(chain, max_resident_ctas=BLOCKS)
    assert rows[-1] == THREADS - 1 + 8 * (BLOCKS - 1)


def test_the_race_checker_can_be_disabled(chain):
    ptx = edit(chain, (SIGNAL, "atom.global.add.u32 %r10, [%rd9], 1;"))
    checks = {"bounds", "align", "race", "uninit", "uninit-global", "barrier"}
    _, _, rows = run_chain(ptx, checks=checks)
    assert rows[-1] == THREADS - 1 + 8 * (BLOCKS - 1)  # the emulator's memory is SC


GRID_BLOCKS = 16
ARRIVE = "atom.acq_rel.gpu.global.add.u32 %r15, [%rd0], 1;"
PUBLISH = "st.release.gpu.global.u32 [%rd0+4], %r16;"
GENERATION_POLL = "ld.acquire.gpu.global.u32 %r17, [%rd0+4];"
ROW_WRITE = "st.global.u32 [%rd3], %r12;"
ROW_READ = "ld.global.u32 %r13, [%rd5];"


def run_grid_sync(ptx: str):
    state = np.zeros(2, np.uint32)  # arrival counter, generation
    data = np.zeros(GRID_BLOCKS * THREADS, np.uint32)
    out = np.zeros(GRID_BLOCKS * THREADS, np.uint32)
    launch(ptx, "grid_sync", GRID_BLOCKS, THREADS, [state, data, out])
    return state, out


def test_a_grid_barrier_with_a_generation_counter_is_clean(ptx_file):
    """Six steps, each followed by the grid barrier: every read of the neighbour's row sees
    the row of the step before, and the counter is back at 0 after six generations."""
    state, out = run_grid_sync(ptx_file("grid_sync.ptx"))
    assert state.tolist() == [0, 6]
    right = (np.arange(GRID_BLOCKS)[:, None] + 1) % GRID_BLOCKS
    expected = 3 * (100 * right + np.arange(THREADS)) + 6000  # steps 0, 2, 4 add 0, 2000, 4000
    assert out.tolist() == expected.ravel().tolist()


GRID_BARRIER_BUGS = {
    "barrier removed": ("  @%p0 bra LEAVE;\n", "  bra.uni LEAVE;\n"),
    "relaxed poll": (GENERATION_POLL, GENERATION_POLL.replace("acquire", "relaxed")),
    "relaxed publish": (PUBLISH, PUBLISH.replace("release", "relaxed")),
    "relaxed arrival": (ARRIVE, ARRIVE.replace("acq_rel", "relaxed")),
}


@pytest.mark.parametrize("bug", GRID_BARRIER_BUGS.values(), ids=GRID_BARRIER_BUGS.keys())
def test_a_broken_grid_barrier_is_a_race_between_blocks(ptx_file, bug):
    """Without the barrier, or with one of its orderings dropped, a block's read of its
    neighbour's row is not ordered after the neighbour's write of it."""
    ptx = plant(ptx_file("grid_sync.ptx"), *bug)
    with pytest.raises(EmulatorCheckError) as error:
        run_grid_sync(ptx)
    reports = error.value.reports
    assert {report.kind for report in reports} == {"global-race"}
    read = next(report for report in reports if report.line == line_of(ptx, ROW_READ))
    assert f"races with a write by another block at line {line_of(ptx, ROW_WRITE)}" in read.detail
    assert "of 'grid_sync_data'" in read.detail
    assert read.other_block == ((read.block[0] + 1) % GRID_BLOCKS, 0, 0)
