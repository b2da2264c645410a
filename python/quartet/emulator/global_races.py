"""The ``race-global`` checker: conflicting global accesses of different CTAs that nothing orders.

The PTX memory model (``ordering.py``) calls two accesses of one byte a data race when at least
one writes, they are not morally strong (both strong at a scope covering both CTAs) and neither
happens before the other. Across CTAs, only release/acquire chains order accesses; within a CTA,
its barriers do. This checker follows that order with one clock per CTA.

Phases and clocks. A CTA's *phase* counts the barriers all its threads passed; every access is
stamped with (phase, thread, PTX line, strong). What a thread knows of CTA ``d`` is a *clock
entry*: ``full`` (every access of ``d`` in a phase before it) and ``part`` (the accesses of one
thread of ``d`` in one phase: what a release covers in its own phase). A *clock* has one entry
per CTA; a CTA's clock (``rows``) is what all its threads know, and a thread's *private* clock
what it acquired since its CTA's last barrier, which that barrier hands to the whole CTA.

- Release (``st.release``, ``atom``/``red`` ``.release``/``.acq_rel``, or a strong store or RMW
  after a ``fence.acq_rel``/``fence.sc``/``membar.gl``/``.sys`` of the same thread): the
  location gets the thread's CTA clock, its private clock and (phase, thread) for its own CTA (at
  a fence: the fence's phase). An RMW joins it to what the location held (a release sequence), a
  store replaces it; a strong store without release empties it, a relaxed RMW keeps it.
- Acquire (``ld.acquire``, ``atom`` ``.acquire``/``.acq_rel``, or a strong load or RMW followed
  by such a fence in the same thread) joins the location's clock into the thread's private one.
- ``.cta`` (and ``.cluster``) scoped operations are neither strong nor ordering across CTAs.

Shadow. Per granule of the heap (the smallest global access width in the kernel, so no access
covers part of one), three int64 stamps: the last write, the last read, and the last read by a
CTA other than that one's. An access is checked against them: different CTAs, at least one
writing, not both strong, and the recorded one not covered by the accessing thread's clocks is a
``global-race`` report naming both lines and blocks. A write clears the read stamps (what is
ordered after it is ordered after them; what is not races with the write itself).

Cost: 24 bytes per granule, touched only where the kernel accesses; a load gathers the write
stamps of its granules (nothing more when they are unwritten) and records itself; clocks exist
only once something acquires; synchronisation work is per synchronising lane (pollers, signals).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checkers import Reporter
from .errors import ExecutionError, LaunchError
from .ordering import Ordering
from .ptxtypes import TYPES

_NOT_GLOBAL = {"shared", "local", "param"}
_BLOCK = 16  # bytes; an aligned access of at most 16 bytes lies in one such block


def access_granule(instructions) -> int:
    """The smallest width of any global or generic access in ``instructions``: every access
    then covers whole granules of that size (accesses are aligned to their width)."""
    widths = [16]
    for instruction in instructions:
        if instruction is None:
            continue
        name = instruction.opcode[0]
        if name == "cp":  # cp.async with a source size reads the present bytes one by one
            widths.append(1 if len(instruction.operands) == 4 else 4)
        elif name in ("ld", "st", "atom", "red"):
            spaces = {part.split("::")[0] for part in instruction.opcode[1:]}
            if spaces & _NOT_GLOBAL:
                continue
            ptx_type = TYPES.get(instruction.opcode[-1])
            widths.append(ptx_type.nbytes if ptx_type is not None else 1)
    return min(widths)


class Clock:
    """What is known of every CTA: accesses of CTA ``d`` in phases before ``full[d]``, and
    those of the (phase, thread) ``part[d]`` encodes (0: none)."""

    __slots__ = ("full", "part")

    def __init__(self, full: np.ndarray, part: np.ndarray):
        self.full, self.part = full, part

    def copy(self) -> Clock:
        return Clock(self.full.copy(), self.part.copy())


class GlobalRaces:
    """The shadow, the clocks and the reports of the ``race-global`` checker for one launch."""

    def __init__(
        self,
        heap_size: int,
        granule: int,
        stride: int,
        nthreads: int,
        npcs: int,
        reporter: Reporter,
        describe: Callable[[int], str],
    ):
        self.granule = granule
        granules = -(-heap_size // granule)
        self.write = np.zeros(granules, np.int64)  # per granule
        self.read = np.zeros(granules, np.int64)  # per granule a read starts at
        self.read2 = np.zeros(granules, np.int64)  # ... by another CTA than ``read``'s
        blocks = -(-heap_size // _BLOCK)
        self.written_blocks = np.zeros(blocks, np.bool_)  # filters: nothing to check elsewhere
        self.read_blocks = np.zeros(blocks, np.bool_)
        self.stride, self.ncta = stride, nthreads // stride
        self.reporter, self.describe = reporter, describe
        # stamp, from bit 0: strong, span (granules covered - 1), pc, who; who, from bit 0:
        # the thread's lane in its CTA, its CTA, the CTA's phase (from 1: a stamp is never 0).
        threads = np.arange(nthreads, dtype=np.int64)
        self.cta_of = threads // stride
        lane_bits = max((stride - 1).bit_length(), 1)
        self.code = (self.cta_of << lane_bits) | (threads % stride)
        self.lane_mask = (1 << lane_bits) - 1
        self.span_bits = (_BLOCK // granule - 1).bit_length()
        self.pc_shift = 1 + self.span_bits
        self.pc_mask = (1 << max(int(npcs).bit_length(), 1)) - 1
        self.who_shift = self.pc_shift + self.pc_mask.bit_length()
        self.cta_shift = self.who_shift + lane_bits
        self.cta_mask = (1 << max((self.ncta - 1).bit_length(), 1)) - 1
        self.phase_shift = lane_bits + self.cta_mask.bit_length()  # within who
        phase_bits = 62 - self.who_shift - self.phase_shift
        if phase_bits < 16:
            raise LaunchError("race-global: too many threads and instructions to stamp accesses")
        self.phase_limit = 1 << phase_bits
        self.phase = np.ones(self.ncta, np.int64)
        self.row_of = np.full(self.ncta, -1, np.int64)  # CTA -> its row of clocks, once any
        self.rows_full = np.zeros((0, self.ncta), np.int64)
        self.rows_part = np.zeros((0, self.ncta), np.int64)
        self.rows = 0
        self.private: dict[int, Clock] = {}  # thread -> acquired since its CTA's last barrier
        self.pending: dict[int, Clock] = {}  # thread -> read by strong loads, before a fence
        self.fenced: np.ndarray | None = None  # per thread: phase of its last fence (0: none)
        self.sync: dict[int, Clock] = {}  # heap byte offset of a released location -> its clock

    # -- accesses -------------------------------------------------------------------------------
    def load(
        self, pc: int, threads: np.ndarray, offsets: np.ndarray, size: int, order: Ordering
    ) -> None:
        if size > _BLOCK:  # a 32-byte vector: two accesses of one block each
            for piece in range(0, size, _BLOCK):
                self.load(pc, threads, offsets + piece, _BLOCK, order)
            return
        stamps, ctas = self._stamps(pc, threads, size, order)
        blocks = offsets // _BLOCK
        self.read_blocks[blocks] = True
        written = np.flatnonzero(self.written_blocks[blocks])
        if len(written):
            granules = self._covered(offsets[written], size)
            self._check(pc, "read", threads[written], stamps[written], self.write[granules],
                        granules, "write")  # fmt: skip
        self._record_read(offsets // self.granule, stamps, ctas)
        if order.strong and self.sync:
            self._acquire(threads, offsets, now=order.acquires)

    def store(
        self, pc: int, threads: np.ndarray, offsets: np.ndarray, size: int, order: Ordering
    ) -> None:
        for piece in range(0, size, _BLOCK):  # a 32-byte vector: two accesses of one block each
            self._write(pc, "write", threads, offsets + piece, min(size, _BLOCK), order)
        if order.strong and (order.releases or self.fenced is not None):
            self._release(threads, offsets, order, join=False)
        elif self.sync:
            self._forget(offsets)

    def atomic(
        self, pc: int, threads: np.ndarray, offsets: np.ndarray, size: int, order: Ordering
    ) -> None:
        self._write(pc, "atomic", threads, offsets, size, order)
        if not order.strong:
            return
        releases = order.releases or self.fenced is not None
        if len(np.unique(offsets)) == len(offsets):
            lanes = [slice(None)]
        else:  # lanes on one location are applied in thread order: each sees those before it
            lanes = [slice(lane, lane + 1) for lane in range(len(threads))]
        for lane in lanes:
            if self.sync:
                self._acquire(threads[lane], offsets[lane], now=order.acquires)
            if releases:
                self._release(threads[lane], offsets[lane], order, join=True, advance=False)
        if order.releases:
            self._next_phase(np.unique(self.cta_of[threads]))

    def fence(self, threads: np.ndarray, order: Ordering) -> None:
        """A fence.acq_rel or fence.sc (membar) of ``threads``."""
        if not order.strong:
            return
        for thread in threads[np.isin(threads, list(self.pending))] if self.pending else ():
            self._join_private(int(thread), self.pending.pop(int(thread)))
        if self.fenced is None:
            self.fenced = np.zeros(len(self.code), np.int64)
        ctas = self.cta_of[threads]
        self.fenced[threads] = self.phase[ctas]
        self._next_phase(np.unique(ctas))

    def barrier(self, ctas: np.ndarray | None) -> None:
        """A barrier released ``ctas`` (all when None): what their threads acquired becomes the
        whole CTA's, and their next phase starts."""
        for thread in list(self.private):
            cta = int(self.cta_of[thread])
            if ctas is None or cta in ctas:
                self._join_row(cta, self.private.pop(thread))
        self._next_phase(ctas)

    def _next_phase(self, ctas: np.ndarray | None) -> None:
        """Start a new phase of ``ctas`` (all when None): at a barrier, and after a release or
        fence, so that what a thread does after it is not covered by it."""
        if ctas is None:
            self.phase += 1
        else:
            self.phase[ctas] += 1
        if int(self.phase.max()) >= self.phase_limit:
            raise ExecutionError("race-global: a block passed too many barriers to stamp")

    # -- the shadow -----------------------------------------------------------------------------
    def _stamps(self, pc: int, threads, size: int, order: Ordering):
        """The lanes' stamps for an access of ``size`` bytes, and their CTAs."""
        ctas = self.cta_of[threads]
        who = (self.phase[ctas] << self.phase_shift) | self.code[threads]
        span = size // self.granule - 1
        return (who << self.who_shift) | (pc << self.pc_shift) | (span << 1) | order.strong, ctas

    def _covered(self, offsets: np.ndarray, size: int) -> np.ndarray:
        """``(lanes, granules)``: the granules each access covers."""
        first = (offsets // self.granule)[:, None]
        count = size // self.granule
        return first + np.arange(count) if count > 1 else first

    def _write(self, pc: int, what: str, threads, offsets, size: int, order: Ordering) -> None:
        stamps, ctas = self._stamps(pc, threads, size, order)
        blocks = offsets // _BLOCK
        self.written_blocks[blocks] = True
        granules = self._covered(offsets, size)
        self._check(pc, what, threads, stamps, self.write[granules], granules, "write")
        read = np.flatnonzero(self.read_blocks[blocks])
        if len(read):  # reads that start in the block and reach the written granules
            starts = (blocks[read] * (_BLOCK // self.granule))[:, None] + np.arange(
                _BLOCK // self.granule
            )
            first, last = granules[read, :1], granules[read, -1:]
            for recorded in (self.read, self.read2):
                prior = recorded[starts]
                reach = starts + ((prior >> 1) & ((1 << self.span_bits) - 1))
                prior[(starts > last) | (reach < first)] = 0
                self._check(pc, what, threads[read], stamps[read], prior, starts, "read")
            self.read[granules[read]] = 0
            self.read2[granules[read]] = 0
        self.write[granules] = stamps[:, None]
        clash = np.flatnonzero(self.write[granules] != stamps[:, None])
        if len(clash):  # lanes of this instruction writing one granule: the last one stays
            lanes, clashing = clash // granules.shape[1], granules.ravel()[clash]
            self._check(pc, what, threads[lanes], stamps[lanes], self.write[clashing][:, None],
                        clashing[:, None], "write")  # fmt: skip

    def _record_read(self, starts: np.ndarray, stamps: np.ndarray, ctas: np.ndarray) -> None:
        """The read becomes the last one starting at its granule; a read by another CTA than
        the last one's stays in ``read2`` (several CTAs may read a granule in one instruction)."""
        old = self.read[starts]
        pushed = (old != 0) & (self._cta(old) != ctas)
        if pushed.any():
            self.read2[starts[pushed]] = old[pushed]
        self.read[starts] = stamps
        final = self.read[starts]
        lost = final != stamps
        if lost.any():
            others = lost & (self._cta(final) != ctas)
            self.read2[starts[others]] = stamps[others]

    def _check(self, pc: int, what: str, threads, stamps, prior, granules, other_what) -> None:
        """Report lanes whose access races with a recorded one: ``prior`` holds, per lane, the
        stamps (0: none) of the recorded accesses of ``granules`` it meets."""
        prior = prior.ravel()
        candidates = np.flatnonzero(prior)
        if not len(candidates):
            return
        lanes = candidates // granules.shape[1]
        prior = prior[candidates]
        conflict = (self._cta(prior) != self.cta_of[threads[lanes]]) & (
            prior & stamps[lanes] & 1 == 0
        )
        if not conflict.any():
            return
        candidates, lanes, prior = candidates[conflict], lanes[conflict], prior[conflict]
        racy = ~self._ordered(prior, threads[lanes])
        if racy.any():
            self._report(
                pc,
                what,
                other_what,
                threads[lanes[racy]],
                granules.ravel()[candidates[racy]],
                prior[racy],
            )

    def _report(self, pc: int, what: str, other_what: str, threads, granules, others) -> None:
        other_pc = int(others[0] >> self.pc_shift) & self.pc_mask
        line, text = self.reporter.lines[other_pc]
        self.reporter.report(
            "global-race",
            pc,
            int(threads[0]),
            f"{what} of {self.describe(int(granules[0]) * self.granule)} races with a "
            f"{other_what} by another block at line {line} (`{text}`): no release/acquire "
            f"orders them",
            other=self._thread(int(others[0])),
            count=len(np.unique(threads)),
        )

    def _thread(self, stamp: int) -> int:
        """The grid-array thread a stamp names."""
        who = stamp >> self.who_shift
        return int(self._cta(stamp)) * self.stride + (who & self.lane_mask)

    def _cta(self, stamps):
        return (stamps >> self.cta_shift) & self.cta_mask

    # -- clocks ---------------------------------------------------------------------------------
    def _ordered(self, prior: np.ndarray, lanes: np.ndarray) -> np.ndarray:
        """Whether each access ``prior`` (of another CTA) happens before ``lanes``' next one."""
        who = prior >> self.who_shift
        phase = who >> self.phase_shift
        owner = self._cta(prior)
        ordered = np.zeros(len(prior), np.bool_)
        if self.rows:
            rows = self.row_of[self.cta_of[lanes]]
            known = np.flatnonzero(rows >= 0)
            row, cta = rows[known], owner[known]
            ordered[known] = (phase[known] < self.rows_full[row, cta]) | (
                who[known] == self.rows_part[row, cta]
            )
        for index in np.flatnonzero(~ordered) if self.private else ():
            clock = self.private.get(int(lanes[index]))
            if clock is not None:
                cta = int(owner[index])
                ordered[index] = phase[index] < clock.full[cta] or who[index] == clock.part[cta]
        return ordered

    def _empty(self) -> Clock:
        return Clock(np.zeros(self.ncta, np.int64), np.zeros(self.ncta, np.int64))

    def _join(self, into: Clock, other: Clock) -> None:
        np.maximum(into.full, other.full, out=into.full)
        later = (other.part >> self.phase_shift) > (into.part >> self.phase_shift)
        into.part[later] = other.part[later]
        into.part[(into.part >> self.phase_shift) < into.full] = 0

    def _join_private(self, thread: int, clock: Clock) -> None:
        mine = self.private.get(thread)
        if mine is None:
            self.private[thread] = clock.copy()
        else:
            self._join(mine, clock)

    def _join_row(self, cta: int, clock: Clock) -> None:
        row = int(self.row_of[cta])
        if row < 0:
            if self.rows == len(self.rows_full):
                self.rows_full = _grown(self.rows_full)
                self.rows_part = _grown(self.rows_part)
            row, self.rows = self.rows, self.rows + 1
            self.row_of[cta] = row
        self._join(Clock(self.rows_full[row], self.rows_part[row]), clock)

    def _knowledge(self, thread: int, phase: int) -> Clock:
        """What a release by ``thread`` covering its CTA up to ``phase`` publishes."""
        cta = int(self.cta_of[thread])
        row = int(self.row_of[cta])
        clock = (
            self._empty()
            if row < 0
            else Clock(self.rows_full[row].copy(), self.rows_part[row].copy())
        )
        if thread in self.private:
            self._join(clock, self.private[thread])
        own = self._empty()
        own.full[cta] = phase
        own.part[cta] = (phase << self.phase_shift) | int(self.code[thread])
        self._join(clock, own)
        return clock

    def _release(self, threads, offsets, order: Ordering, join: bool, advance: bool = True) -> None:
        """Publish what ``threads`` know at ``offsets``; ``advance``: start their CTAs' next
        phase after a release (an atomic does so once all its lanes released)."""
        phases = self.phase[self.cta_of[threads]]
        if not order.releases:  # a strong store or RMW after a fence: covered up to the fence
            phases = self.fenced[threads]
            keep = phases > 0
            if not join:  # an unfenced strong store ends the location's release sequence
                self._forget(offsets[~keep])
            threads, offsets, phases = threads[keep], offsets[keep], phases[keep]
        for thread, offset, phase in zip(
            threads.tolist(), offsets.tolist(), phases.tolist(), strict=True
        ):
            clock = self._knowledge(thread, phase)
            if join and offset in self.sync:
                self._join(self.sync[offset], clock)
            else:
                self.sync[offset] = clock
        if advance and order.releases and len(threads):  # (a fence started its new phase)
            self._next_phase(np.unique(self.cta_of[threads]))

    def _acquire(self, threads, offsets, now: bool) -> None:
        """Strong reads of released locations: joined at once (acquire) or at the thread's next
        fence (a relaxed read)."""
        synced = np.isin(offsets, list(self.sync))
        for thread, offset in zip(threads[synced].tolist(), offsets[synced].tolist(), strict=True):
            if now:
                self._join_private(thread, self.sync[offset])
            elif thread in self.pending:
                self._join(self.pending[thread], self.sync[offset])
            else:
                self.pending[thread] = self.sync[offset].copy()

    def _forget(self, offsets) -> None:
        """Stores that end the release sequences of these locations."""
        for offset in offsets[np.isin(offsets, list(self.sync))].tolist() if self.sync else ():
            del self.sync[offset]


def _grown(rows: np.ndarray) -> np.ndarray:
    """``rows`` with room for twice as many (at least 4), the new ones zero."""
    grown = np.zeros((max(2 * len(rows), 4), rows.shape[1]), rows.dtype)
    grown[: len(rows)] = rows
    return grown
