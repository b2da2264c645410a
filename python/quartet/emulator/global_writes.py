"""The ``uninit-global`` checker: which bytes of global memory hold data something wrote.

A model's inference is several launches (and host copies) on the same buffers. A byte of a
temporary or an output that none of them has written yet holds whatever the allocator left
there on a GPU, so reading it is a bug even when the value read happens to be harmless. The
caller of ``launch`` owns that state across launches and passes it in per pointer argument
(``written``); the launch checks loads against it and hands it back with its own writes added.

The shadow is one byte per heap byte (1: written, 0: not), at the heap's offsets. A load reads
its shadow with the same gather shape as its data, the shadow viewed as words of the access
width (a fully written word is 0x01 in every byte), so the check is one extra gather per load
and one extra scatter per store. Atomics read before they write: one on bytes nothing wrote is
reported (every atomic operation but ``exch`` combines the old value, and ``atom`` returns it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checkers import Reporter
from .ptxtypes import raw_dtype

_ALL_WRITTEN = {width: int.from_bytes(b"\x01" * width, "little") for width in (1, 2, 4, 8)}


class GlobalWrites:
    """The written-bytes shadow of the global heap, and the reports of reads outside it."""

    def __init__(self, heap_size: int, reporter: Reporter, describe: Callable[[int], str]):
        self.written = np.ones(heap_size, np.uint8)  # module variables and gaps: never reported
        self.reporter = reporter
        self.describe = describe  # heap offset -> which buffer, at which byte

    def read(
        self, pc: int, threads: np.ndarray, offsets: np.ndarray, width: int, count: int = 1
    ) -> None:
        """``threads`` read ``count`` elements of ``width`` bytes at each of ``offsets``."""
        view, elements = self._words(offsets, width, count)
        missing = view[elements] != _ALL_WRITTEN[width]
        if count > 1:
            missing = missing.any(axis=1)
        if not missing.any():
            return
        first = int(np.argmax(missing))
        start = int(offsets[first])
        unwritten = start + int(np.argmin(self.written[start : start + width * count]))
        self.reporter.report(
            "uninitialized-global",
            pc,
            int(threads[first]),
            f"read of global memory that no kernel or host copy wrote before: "
            f"{self.describe(unwritten)}",
            count=int(np.count_nonzero(missing)),
        )

    def write(self, offsets: np.ndarray, width: int, count: int = 1) -> None:
        view, elements = self._words(offsets, width, count)
        view[elements] = _ALL_WRITTEN[width]

    def atomic(self, pc: int, threads: np.ndarray, offsets: np.ndarray, width: int) -> None:
        """An atomic read-modify-write: checked as a read, then recorded as a write."""
        self.read(pc, threads, offsets, width)
        self.write(offsets, width)

    def _words(self, offsets: np.ndarray, width: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The shadow as words of ``width`` bytes, and the words the accesses cover (accesses
        are aligned to their size, as the alignment check guarantees)."""
        elements = offsets // width
        if count > 1:
            elements = elements[:, None] + np.arange(count)
        return self.written.view(raw_dtype(width * 8)), elements
