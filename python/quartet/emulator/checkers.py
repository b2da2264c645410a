"""Checkers: the report collector and the shared-memory race / uninitialized-read tracker.

Bounds and alignment are checked where addresses are resolved (``memory.py``), reads of global
bytes nothing wrote in the written-bytes shadow (``global_writes.py``), global races across
CTAs with per-CTA clocks (``global_races.py``); barrier divergence and deadlock where threads
are scheduled (``machine.py``, with polling waits from ``polling.py``). All of them hand findings
to one ``Reporter``, which deduplicates them per (kind, PTX line) and keeps the first offending
thread in thread order, so a report is stable and small even when a whole grid misbehaves.

The race tracker follows the happens-before order a CTA barrier gives: each CTA has an epoch
counter, bumped when its barrier releases. Every shared byte remembers the (epoch, thread) stamp
of its last plain write, of its last read and of its last atomic, plus whether several threads
read it (or touched it atomically) in the current epoch. Two accesses race when they fall in the
same epoch, come from different threads, at least one writes, and they are not both atomics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .errors import CheckReport, Coord

ALL_CHECKS = frozenset(
    {"bounds", "align", "race", "race-global", "uninit", "uninit-global", "barrier"}
)

_THREAD_BITS = np.int64(0xFFFFFFFF)
_GRANULE = 128  # bytes per dirty flag of the race tracker's read filter


def normalize_checks(checks: bool | set[str] | frozenset[str] | list[str]) -> frozenset[str]:
    """``True`` enables every checker, ``False`` none; a collection names the ones to enable."""
    if checks is True:
        return ALL_CHECKS
    if checks is False:
        return frozenset()
    chosen = frozenset(checks)
    unknown = chosen - ALL_CHECKS
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; choose from {sorted(ALL_CHECKS)}")
    return chosen


class Reporter:
    """Collects ``CheckReport``s, one per (kind, line), counting repeated occurrences."""

    def __init__(
        self,
        kernel: str,
        lines: list[tuple[int, str]],
        coords: Callable[[int], tuple[Coord, Coord]],
    ):
        self.kernel = kernel
        self.lines = lines  # per pc: (PTX line, text)
        self.coords = coords
        self.reports: dict[tuple, CheckReport] = {}

    def report(
        self,
        kind: str,
        pc: int,
        thread: int,
        detail: str,
        other: int | None = None,
        count: int = 1,
        distinct: int | None = None,
    ) -> None:
        """Record a finding; one per (kind, pc), or per (kind, pc, ``distinct``) when given
        (a deadlock reports each blocked CTA's wait)."""
        key = (kind, pc) if distinct is None else (kind, pc, distinct)
        previous = self.reports.get(key)
        if previous is not None:
            self.reports[key] = replace(previous, count=previous.count + count)
            return
        line, text = self.lines[pc]
        thread_xyz, block_xyz = self.coords(thread)
        other_xyz = self.coords(other) if other is not None else (None, None)
        self.reports[key] = CheckReport(
            kind,
            self.kernel,
            line,
            text,
            thread_xyz,
            block_xyz,
            detail,
            other_xyz[0],
            other_xyz[1],
            count,
        )

    def sorted_reports(self) -> list[CheckReport]:
        return sorted(self.reports.values(), key=lambda report: (report.line, report.kind))


@dataclass
class _Access:
    """One instruction's shared accesses: ``bytes`` is (lanes, size); stamps are (lanes, 1)."""

    threads: np.ndarray
    bytes: np.ndarray
    epoch_base: np.ndarray
    stamp: np.ndarray

    def thread_of(self, flat_position: int) -> int:
        return int(self.threads[flat_position // self.bytes.shape[1]])


class SharedTracker:
    """Per-byte access history of all CTAs' shared memory (see the module docstring).

    Reads are the bulk of shared traffic, so they are cheap: a read is checked eagerly only
    against writes/atomics of the same epoch, and only when it touches a 128-byte granule its
    CTA wrote since its last barrier (so double-buffered reads skip it); its reader stamps are
    recorded lazily, when a later write or atomic needs them, and reads whose epoch has passed
    are dropped unrecorded, since they can no longer race.
    """

    _MAX_PENDING_OFFSETS = 1 << 22  # bound the memory held by unrecorded reads (32 MiB)

    def __init__(
        self,
        cta_bytes: int,
        ncta: int,
        cta_of_thread: np.ndarray,
        checks: frozenset[str],
        reporter: Reporter,
    ):
        nbytes = cta_bytes * ncta
        self.cta_bytes = cta_bytes  # each CTA's window in the flat shared storage
        self.race = "race" in checks
        self.uninit = "uninit" in checks
        self.reporter = reporter
        self.cta_of_thread = cta_of_thread
        self.epoch = np.ones(ncta, np.int64)
        # Per CTA and 128-byte granule of its window: written or atomically updated this epoch.
        self.dirty = np.zeros((ncta, -(-cta_bytes // _GRANULE)), np.bool_)
        self.any_atomic = False
        self.written = np.zeros(nbytes, np.bool_)
        self.all_written = nbytes == 0
        self.write_stamp = np.zeros(nbytes, np.int64)
        self.read_stamp = np.zeros(nbytes, np.int64)
        self.read_multi = np.zeros(nbytes, np.int64)
        self.atomic_stamp = np.zeros(nbytes, np.int64)
        self.atomic_multi = np.zeros(nbytes, np.int64)
        # (threads, offsets, size, epochs or None: the CTAs' current epochs)
        self.pending_reads: list[tuple[np.ndarray, np.ndarray, int, np.ndarray | None]] = []
        self.pending_offsets = 0

    @property
    def enabled(self) -> bool:
        return self.race or self.uninit

    def barrier(self, ctas: np.ndarray | None) -> None:
        """A barrier released ``ctas`` (all CTAs when None): their accesses are now ordered."""
        if ctas is None:
            self.epoch += 1
            self.dirty[:] = False
            self.pending_reads.clear()
            self.pending_offsets = 0
            return
        self._freeze_pending_epochs()
        self.epoch[ctas] += 1
        self.dirty[ctas] = False

    def _freeze_pending_epochs(self) -> None:
        """Pin the epoch of unrecorded reads before some CTAs move to the next one."""
        for index, (threads, offsets, size, epochs) in enumerate(self.pending_reads):
            if epochs is None:
                epochs = self.epoch[self.cta_of_thread[threads]]
                self.pending_reads[index] = (threads, offsets, size, epochs)

    def _access(
        self, threads: np.ndarray, offsets: np.ndarray, size: int, epochs: np.ndarray | None = None
    ) -> _Access:
        if epochs is None:
            epochs = self.epoch[self.cta_of_thread[threads]]
        epoch_base = (epochs << np.int64(32))[:, None]
        stamp = epoch_base | (threads + 1)[:, None]
        return _Access(threads, offsets[:, None] + np.arange(size), epoch_base, stamp)

    def read(self, pc: int, threads: np.ndarray, offsets: np.ndarray, size: int) -> None:
        """``threads`` read ``size`` bytes at each of ``offsets`` (flat shared-storage offsets)."""
        if self.uninit and not self.all_written:
            fresh = ~self.written[offsets[:, None] + np.arange(size)]
            if fresh.any():
                self.reporter.report(
                    "uninitialized-shared",
                    pc,
                    int(threads[int(np.argmax(fresh)) // size]),
                    "read of shared memory never written",
                    count=int(np.count_nonzero(fresh)),
                )
        if not self.race:
            return
        if self._may_overlap_writes(threads, offsets, size):
            access = self._access(threads, offsets, size)
            self._conflict(pc, "write", self.write_stamp, None, access)
            if self.any_atomic:
                self._conflict(pc, "atomic", self.atomic_stamp, self.atomic_multi, access)
        self.pending_reads.append((threads, offsets, size, None))
        self.pending_offsets += len(offsets)
        if self.pending_offsets > self._MAX_PENDING_OFFSETS:
            self._record_pending_reads()

    def _record_pending_reads(self) -> None:
        for threads, offsets, size, epochs in self.pending_reads:
            if epochs is not None:  # frozen by a barrier: keep the lanes still in their epoch
                current = epochs == self.epoch[self.cta_of_thread[threads]]
                if not current.all():
                    threads, offsets, epochs = threads[current], offsets[current], epochs[current]
            if len(threads):
                access = self._access(threads, offsets, size, epochs)
                self._record_shared_use(self.read_stamp, self.read_multi, access)
        self.pending_reads.clear()
        self.pending_offsets = 0

    def write(self, pc: int, threads: np.ndarray, offsets: np.ndarray, size: int) -> None:
        access = self._access(threads, offsets, size)
        self._mark_written(access)
        if not self.race:
            return
        self._record_pending_reads()
        self._conflict(pc, "write", self.write_stamp, None, access)
        self._conflict(pc, "read", self.read_stamp, self.read_multi, access)
        if self.any_atomic:
            self._conflict(pc, "atomic", self.atomic_stamp, self.atomic_multi, access)
        stamps = np.broadcast_to(access.stamp, access.bytes.shape)
        self.write_stamp[access.bytes] = stamps
        clash = self.write_stamp[access.bytes] != stamps
        if clash.any():
            first = int(np.argmax(clash))
            other = int(self.write_stamp[access.bytes.flat[first]] & _THREAD_BITS) - 1
            self.reporter.report(
                "shared-race",
                pc,
                access.thread_of(first),
                "two threads write the same shared byte in one instruction",
                other=other,
                count=int(np.count_nonzero(clash)),
            )

    def atomic(self, pc: int, threads: np.ndarray, offsets: np.ndarray, size: int) -> None:
        access = self._access(threads, offsets, size)
        self._mark_written(access)
        self.any_atomic = True
        if not self.race:
            return
        self._record_pending_reads()
        self._conflict(pc, "write", self.write_stamp, None, access)
        self._conflict(pc, "read", self.read_stamp, self.read_multi, access)
        self._record_shared_use(self.atomic_stamp, self.atomic_multi, access)

    def _mark_written(self, access: _Access) -> None:
        self.written[access.bytes] = True
        if not self.all_written:
            self.all_written = bool(self.written.all())
        ctas, first, last = self._granules(
            access.threads, access.bytes[:, 0], access.bytes.shape[1]
        )
        self.dirty[ctas, first] = True
        self.dirty[ctas, last] = True

    def _granules(self, threads: np.ndarray, offsets: np.ndarray, size: int):
        """Each lane's CTA and the granules of its first and last byte (accesses are aligned
        and at most 16 bytes, so they span at most two granules)."""
        ctas = self.cta_of_thread[threads]
        local = offsets - ctas * self.cta_bytes
        return ctas, local // _GRANULE, (local + size - 1) // _GRANULE

    def _may_overlap_writes(self, threads: np.ndarray, offsets: np.ndarray, size: int) -> bool:
        """Whether any lane touches a granule its CTA wrote in this epoch."""
        ctas, first, last = self._granules(threads, offsets, size)
        return bool(self.dirty[ctas, first].any() or self.dirty[ctas, last].any())

    def _conflict(
        self,
        pc: int,
        what: str,
        stamp_array: np.ndarray,
        multi_array: np.ndarray | None,
        access: _Access,
    ) -> None:
        """Report accesses whose byte saw a ``what`` by another thread in the same epoch."""
        stamps = stamp_array[access.bytes]
        clash = (stamps >= access.epoch_base) & (stamps != access.stamp)
        if multi_array is not None:
            clash |= multi_array[access.bytes] >= access.epoch_base
        if not clash.any():
            return
        first = int(np.argmax(clash))
        thread = access.thread_of(first)
        other = int(stamps.flat[first] & _THREAD_BITS) - 1
        if other == thread or stamps.flat[first] < access.epoch_base.flat[first // stamps.shape[1]]:
            other = None  # several threads touched it; the last one stamped is this thread
        self.reporter.report(
            "shared-race",
            pc,
            thread,
            f"shared byte accessed here also saw a {what} by another thread since the last barrier",
            other=other,
            count=int(np.count_nonzero(clash)),
        )

    @staticmethod
    def _record_shared_use(stamp: np.ndarray, multi: np.ndarray, access: _Access) -> None:
        """Remember a read (or atomic) and whether several threads did it in this epoch."""
        stamps = np.broadcast_to(access.stamp, access.bytes.shape)
        bases = np.broadcast_to(access.epoch_base, access.bytes.shape)
        previous = stamp[access.bytes]
        again = (previous >= bases) & (previous != stamps)
        if again.any():
            multi[access.bytes[again]] = bases[again]
        stamp[access.bytes] = stamps
        same_instruction = stamp[access.bytes] != stamps
        if same_instruction.any():
            multi[access.bytes[same_instruction]] = bases[same_instruction]
