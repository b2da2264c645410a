"""Which launches a launch must wait for, from the buffers each one reads and writes.

Launch ``i`` waits for an earlier launch that writes a buffer ``i`` reads (read after write),
reads a buffer ``i`` writes (write after read: a temporary reused), or writes a buffer ``i``
writes (write after write). Only the edges the rest do not imply are kept (the transitive
reduction), so each launch waits on as few counters as possible:

    reads  = [{0}, {1}, {1}, {2, 3}]     # buffer ids (views resolved to their base buffer)
    writes = [{1}, {2}, {3}, {4}]
    dependencies(reads, writes) == ((), (0,), (0,), (1, 2))
"""

from __future__ import annotations

from collections.abc import Sequence, Set


def dependencies(
    reads: Sequence[Set[int]], writes: Sequence[Set[int]]
) -> tuple[tuple[int, ...], ...]:
    """Per launch (program order), the earlier launches it depends on, transitively reduced,
    in increasing order. ``reads[i]`` and ``writes[i]`` are launch ``i``'s buffer ids."""
    if len(reads) != len(writes):
        raise ValueError(f"{len(reads)} read sets but {len(writes)} write sets")
    direct = _conflicts(reads, writes)
    ancestors: list[int] = []  # bit j set: launch j precedes launch i
    reduced = []
    for edges in direct:
        reach = [ancestors[j] for j in edges]
        implied = 0
        for mask in reach:
            implied |= mask
        reduced.append(tuple(j for j in edges if not implied >> j & 1))
        ancestors.append(implied | sum(1 << j for j in edges))
    return tuple(reduced)


def _conflicts(reads: Sequence[Set[int]], writes: Sequence[Set[int]]) -> list[tuple[int, ...]]:
    """Per launch, the last writer of each buffer it touches and the readers since that write
    of each buffer it writes: every conflict is one of these or implied by them."""
    last_writer: dict[int, int] = {}
    readers: dict[int, set[int]] = {}
    direct = []
    for launch, (read, written) in enumerate(zip(reads, writes, strict=True)):
        edges = {last_writer[b] for b in read | written if b in last_writer}
        for buffer in written:
            edges |= readers.get(buffer, set())
        direct.append(tuple(sorted(edges - {launch})))
        for buffer in written:
            last_writer[buffer] = launch
            readers[buffer] = set()
        for buffer in read - written:
            readers.setdefault(buffer, set()).add(launch)
    return direct
