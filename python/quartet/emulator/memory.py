"""Device memory: state spaces, address windows, and checked gathers/scatters.

Address map (64-bit, as ``.address_size 64`` kernels see it):

- **global**: kernel buffers and ``.global``/``.const`` variables packed into one byte heap at
  ``GLOBAL_BASE`` (1 << 32), each aligned to 256 bytes with an unmapped gap after it (see
  ``layout_buffers``). Global addresses are also the generic ones (``cvta`` is identity).
- **shared**: per-CTA; shared-space addresses are offsets 0..size within the CTA's window. Generic
  shared addresses are ``SHARED_WINDOW + offset``; which CTA's copy is meant follows from the
  thread, as on hardware.
- **local**: per-thread; local addresses are offsets within the thread's depot, generic ones
  ``LOCAL_WINDOW + offset``.

Every access resolves to (storage array, flat byte offsets); bounds and alignment are checked
there, shared accesses are reported to the race tracker, and global ones to the written-bytes
shadow (``global_writes.py``) when the launch tracks one, to the cross-CTA race checker
(``global_races.py``) and, for stores, to whoever waits for a write (parked pollers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .checkers import Reporter, SharedTracker
from .errors import ExecutionError
from .global_races import GlobalRaces
from .global_writes import GlobalWrites
from .ordering import WEAK, Ordering
from .ptxtypes import raw_dtype

GLOBAL_BASE = 1 << 32
BUFFER_ALIGN = 256
MAX_GAP = 1 << 20
SHARED_WINDOW = 0x7E00_0000_0000
LOCAL_WINDOW = 0x7F00_0000_0000
WINDOW_SIZE = 1 << 40


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def layout_buffers(sizes: list[int]) -> list[int]:
    """Global start address of each buffer, 256-aligned, each followed by an unmapped gap as
    large as the buffer (256 bytes to 1 MiB), so that running off the end of one buffer, even by
    a whole extra row or block, lands in no buffer rather than in the next one."""
    starts, address = [], GLOBAL_BASE
    for nbytes in sizes:
        starts.append(address)
        gap = min(max(nbytes, BUFFER_ALIGN), MAX_GAP)
        address = _round_up(address + max(nbytes, 1) + gap, BUFFER_ALIGN)
    return starts


@dataclass(frozen=True)
class Buffer:
    """One mapped global region: a kernel argument or a module variable."""

    name: str
    start: int  # global address
    nbytes: int


@dataclass
class _Part:
    """The accesses of one instruction that fall in one state space."""

    space: str
    storage: np.ndarray
    offsets: np.ndarray  # flat byte offsets into storage
    positions: np.ndarray | None  # which of the instruction's lanes (None: all)


class Memory:
    """All state spaces of one launch, with the checks that guard them."""

    def __init__(
        self,
        buffers: list[tuple[str, int]],
        shared_size: int,
        ncta: int,
        local_size: int,
        nthreads: int,
        cta_of_thread: np.ndarray,
        checks: frozenset[str],
        reporter: Reporter,
    ):
        self.checks = checks
        self.reporter = reporter
        starts = layout_buffers([nbytes for _, nbytes in buffers] + [0])
        self.buffers = [
            Buffer(name, start, nbytes)
            for (name, nbytes), start in zip(buffers, starts, strict=False)
        ]
        self.heap = np.zeros(starts[-1] - GLOBAL_BASE, np.uint8)
        self._starts = np.array([b.start for b in self.buffers], np.int64)
        self._ends = np.array([b.start + b.nbytes for b in self.buffers], np.int64)
        self.shared_size = shared_size
        self.shared_stride = _round_up(max(shared_size, 1), 16)
        self.shared = np.zeros(ncta * self.shared_stride, np.uint8)
        self.local_size = local_size
        self.local_stride = _round_up(max(local_size, 1), 16)
        self.local = np.zeros(nthreads * self.local_stride if local_size else 16, np.uint8)
        self.cta_of_thread = cta_of_thread.astype(np.int64)
        self.tracker = SharedTracker(self.shared_stride, ncta, cta_of_thread, checks, reporter)
        self.global_loaded = 0  # bytes read and written in global memory, over every lane
        self.global_stored = 0
        self.global_writes: GlobalWrites | None = None  # see ``written_bytes``
        self.global_races: GlobalRaces | None = None  # the race-global checker, when on
        # Called with (heap offsets, size) of every global store and atomic, when set.
        self.on_global_write: Callable[[np.ndarray, int], None] | None = None

    # -- host side ------------------------------------------------------------------------------
    def buffer_bytes(self, index: int) -> np.ndarray:
        return self.heap[self._span(index)]

    def written_bytes(self, index: int) -> np.ndarray:
        """The written-bytes shadow of buffer ``index`` (1 per written byte), which the launch
        fills from its caller's state. The shadow (and the ``uninit-global`` check with it) is
        created on first use."""
        if self.global_writes is None:
            self.global_writes = GlobalWrites(self.heap.size, self.reporter, self.describe)
        return self.global_writes.written[self._span(index)]

    def _span(self, index: int) -> slice:
        buffer = self.buffers[index]
        offset = buffer.start - GLOBAL_BASE
        return slice(offset, offset + buffer.nbytes)

    def barrier(self, ctas: np.ndarray | None) -> None:
        """A barrier released ``ctas`` (all when None): accesses before it are ordered."""
        self.tracker.barrier(ctas)
        if self.global_races is not None:
            self.global_races.barrier(ctas)

    def describe(self, offset: int) -> str:
        """Where heap byte ``offset`` lies, for a report."""
        index = int(np.searchsorted(self._starts, offset + GLOBAL_BASE, side="right")) - 1
        buffer = self.buffers[index]
        where = offset + GLOBAL_BASE - buffer.start
        return f"byte {where} of '{buffer.name}' ({buffer.nbytes} bytes at {buffer.start:#x})"

    # -- device side ----------------------------------------------------------------------------
    def load(
        self,
        space: str,
        pc: int,
        threads: np.ndarray,
        addresses: np.ndarray,
        width: int,
        count: int = 1,
        used: list[tuple[int, int]] | None = None,
        order: Ordering = WEAK,
        counted: bool = True,
    ) -> np.ndarray:
        """Raw values ``(len(threads), count)`` of ``count`` elements of ``width`` bytes;
        ``used``: the (start, length) byte runs whose values the kernel reads (None: all), the
        only ones the race and uninitialized-read checkers see; ``order``: the load's memory
        ordering; ``counted``: whether it counts as global traffic (polling loads do not)."""
        dtype = raw_dtype(width * 8)
        out = np.zeros((len(threads), count), dtype)
        spans = [(0, width * count)] if used is None else used
        for part in self._resolve(space, pc, threads, addresses, width * count):
            values = self._gather(part, width, count, dtype)
            if part.space == "global":
                self.global_loaded += len(part.offsets) * width * count if counted else 0
                lanes = _select(threads, part.positions)
                for start, length in spans:
                    offsets = part.offsets + start
                    if self.global_writes is not None:
                        self.global_writes.read(pc, lanes, offsets, width, length // width)
                    if self.global_races is not None:
                        self.global_races.load(pc, lanes, offsets, length, order)
            if part.positions is None:
                out = values
            else:
                out[part.positions] = values
            if part.space == "shared" and self.tracker.enabled:
                readers = _select(threads, part.positions)
                for start, length in spans:
                    self.tracker.read(pc, readers, part.offsets + start, length)
        return out

    def store(
        self,
        space: str,
        pc: int,
        threads: np.ndarray,
        addresses: np.ndarray,
        values: np.ndarray,
        width: int,
        order: Ordering = WEAK,
    ) -> None:
        """Write ``values`` (``(len(threads), count)`` raw) at ``addresses``; ``order``: the
        store's memory ordering."""
        count = values.shape[1]
        dtype = raw_dtype(width * 8)
        for part in self._resolve(space, pc, threads, addresses, width * count):
            lane_values = values if part.positions is None else values[part.positions]
            if part.space == "global":
                self.global_stored += len(part.offsets) * width * count
                if self.global_writes is not None:
                    self.global_writes.write(part.offsets, width, count)
                if self.global_races is not None:
                    lanes = _select(threads, part.positions)
                    self.global_races.store(pc, lanes, part.offsets, width * count, order)
                if self.on_global_write is not None:
                    self.on_global_write(part.offsets, width * count)
            view = part.storage.view(dtype)
            elements = part.offsets // width
            if count == 1:
                view[elements] = lane_values[:, 0]
            else:
                view[elements[:, None] + np.arange(count)] = lane_values
            if part.space == "shared" and self.tracker.enabled:
                self.tracker.write(
                    pc, _select(threads, part.positions), part.offsets, width * count
                )

    def element_indices(
        self,
        space: str,
        pc: int,
        threads: np.ndarray,
        addresses: np.ndarray,
        width: int,
        order: Ordering = WEAK,
    ) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
        """For atomics (of memory ordering ``order``): (space, typed storage view, element
        index, positions) per state space."""
        parts = []
        for part in self._resolve(space, pc, threads, addresses, width):
            view = part.storage.view(raw_dtype(width * 8))
            if part.space == "shared" and self.tracker.enabled:
                self.tracker.atomic(pc, _select(threads, part.positions), part.offsets, width)
            if part.space == "global":
                lanes = _select(threads, part.positions)
                if self.global_writes is not None:
                    self.global_writes.atomic(pc, lanes, part.offsets, width)
                if self.global_races is not None:
                    self.global_races.atomic(pc, lanes, part.offsets, width, order)
                if self.on_global_write is not None:
                    self.on_global_write(part.offsets, width)
            parts.append((part.space, view, part.offsets // width, part.positions))
        return parts

    @staticmethod
    def _gather(part: _Part, width: int, count: int, dtype: np.dtype) -> np.ndarray:
        view = part.storage.view(dtype)
        elements = part.offsets // width
        if count == 1:
            return view[elements][:, None]
        return view[elements[:, None] + np.arange(count)]

    def _resolve(
        self, space: str, pc: int, threads: np.ndarray, addresses: np.ndarray, size: int
    ) -> list[_Part]:
        addresses = addresses.astype(np.int64, copy=False)
        keep = self._aligned(pc, threads, addresses, size)
        if space != "generic":
            return self._resolve_space(space, pc, threads, addresses, size, keep)
        parts = []
        shared = (addresses >= SHARED_WINDOW) & (addresses < SHARED_WINDOW + WINDOW_SIZE)
        local = (addresses >= LOCAL_WINDOW) & (addresses < LOCAL_WINDOW + WINDOW_SIZE)
        windows = (
            ("shared", shared, SHARED_WINDOW),
            ("local", local, LOCAL_WINDOW),
            ("global", ~(shared | local), 0),
        )
        for name, mask, window in windows:
            if keep is not None:
                mask = mask & keep
            if not mask.any():
                continue
            positions = np.flatnonzero(mask)
            full = len(positions) == len(addresses)
            for part in self._resolve_space(
                name, pc, threads[positions], addresses[positions] - window, size, None
            ):
                inner = part.positions
                part.positions = positions if inner is None else positions[inner]
                if full and inner is None:
                    part.positions = None
                parts.append(part)
        return parts

    def _aligned(
        self, pc: int, threads: np.ndarray, addresses: np.ndarray, size: int
    ) -> np.ndarray | None:
        """Lanes whose address is a multiple of the access size (None: all of them)."""
        misaligned = (addresses & (size - 1)) != 0 if size & (size - 1) == 0 else None
        if misaligned is None or not misaligned.any():
            return None
        first = int(np.argmax(misaligned))
        detail = f"address {int(addresses[first]):#x} is not a multiple of the access size {size}"
        if "align" not in self.checks:
            raise ExecutionError(f"{self._where(pc)}: misaligned access: {detail}")
        self.reporter.report(
            "misaligned", pc, int(threads[first]), detail, count=int(np.count_nonzero(misaligned))
        )
        return ~misaligned

    def _resolve_space(
        self,
        space: str,
        pc: int,
        threads: np.ndarray,
        addresses: np.ndarray,
        size: int,
        keep: np.ndarray | None,
    ) -> list[_Part]:
        if space in ("global", "const"):
            offsets, valid = self._global_offsets(pc, threads, addresses, size)
            storage = self.heap
        elif space == "shared":
            valid = self._window_valid(pc, threads, addresses, size, self.shared_size, "shared")
            offsets = self.cta_of_thread[threads] * self.shared_stride + addresses
            storage = self.shared
        elif space == "local":
            valid = self._window_valid(pc, threads, addresses, size, self.local_size, "local")
            offsets = threads.astype(np.int64) * self.local_stride + addresses
            storage = self.local
        else:
            raise ExecutionError(f"{self._where(pc)}: no memory for state space .{space}")
        if keep is not None:
            valid = keep if valid is None else valid & keep
        if valid is None:
            return [_Part(space, storage, offsets, None)]
        positions = np.flatnonzero(valid)
        return [_Part(space, storage, offsets[positions], positions)] if len(positions) else []

    def _global_offsets(
        self, pc: int, threads: np.ndarray, addresses: np.ndarray, size: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        offsets = addresses - GLOBAL_BASE
        if "bounds" in self.checks:
            which = np.searchsorted(self._starts, addresses, side="right") - 1
            if self.buffers:
                inside = (which >= 0) & (addresses + size <= self._ends[np.maximum(which, 0)])
            else:
                inside = np.zeros(len(addresses), np.bool_)
            if inside.all():
                return offsets, None
            self._report_global(pc, threads, addresses, size, inside, which)
            return offsets, inside
        if offsets.min() >= 0 and offsets.max() + size <= self.heap.size:
            return offsets, None
        bad = int(np.argmax((offsets < 0) | (offsets + size > self.heap.size)))
        raise ExecutionError(
            f"{self._where(pc)}: access to unmapped address {int(addresses[bad]):#x}"
        )

    def _report_global(
        self,
        pc: int,
        threads: np.ndarray,
        addresses: np.ndarray,
        size: int,
        inside: np.ndarray,
        which: np.ndarray,
    ) -> None:
        first = int(np.argmax(~inside))
        address = int(addresses[first])
        nearest = int(which[first])
        if nearest >= 0:
            buffer = self.buffers[nearest]
            where = (
                f"{address - buffer.start - buffer.nbytes + size} byte(s) past the end of "
                f"'{buffer.name}' ({buffer.nbytes} bytes at {buffer.start:#x})"
            )
        else:
            where = "below every global buffer"
        self.reporter.report(
            "out-of-bounds",
            pc,
            int(threads[first]),
            f"global access of {size} bytes at {address:#x}: {where}",
            count=int(np.count_nonzero(~inside)),
        )

    def _window_valid(
        self, pc: int, threads: np.ndarray, addresses: np.ndarray, size: int, limit: int, space: str
    ) -> np.ndarray | None:
        valid = (addresses >= 0) & (addresses + size <= limit)
        if valid.all():
            return None
        first = int(np.argmax(~valid))
        detail = (
            f"{space} access of {size} bytes at offset {int(addresses[first])} outside the "
            f"{limit} bytes of {space} memory"
        )
        if "bounds" not in self.checks:
            raise ExecutionError(f"{self._where(pc)}: {detail}")
        self.reporter.report(
            "out-of-bounds", pc, int(threads[first]), detail, count=int(np.count_nonzero(~valid))
        )
        return valid

    def _where(self, pc: int) -> str:
        line, text = self.reporter.lines[pc]
        return f"{self.reporter.kernel}: line {line}: `{text}`"


def _select(threads: np.ndarray, positions: np.ndarray | None) -> np.ndarray:
    return threads if positions is None else threads[positions]
