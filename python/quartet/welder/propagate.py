"""Tile propagation: from the output operator's tile back to the region every producer covers.

Each block of a fused kernel computes one tile of the output operator. A producer must
compute, per block, every element its consumers in the group read: along each dimension of
its result, the union over its readers of the reader's access (a linear form over the
reader's loops) taken over the reader's region. Origins are linear forms over the output's
tile origins (so a strided window's region moves twice as fast as the output), extents are
static: a ``k``-wide window over an ``e``-wide region reads ``e + k - 1`` (its halo, which
neighbouring blocks recompute). A padding's clamped read starts before the result at the first
block (its origin's constant is negative); the points there are computed from clamped reads
and never used. Reduction loops are always whole: a softmax row or a LayerNorm
row is covered by whoever reads it. A member nothing in the group reads (it only leaves the
group) covers the points of the producer it reads element by element.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from quartet.passes.iteration_space import IterationSpace, Linear


@dataclass(frozen=True)
class Region:
    """What one block covers of an operator: origin (per parallel loop, over the output's
    tile origins) and extent per loop (a reduction loop's whole extent)."""

    origin: dict[int, Linear]
    extents: tuple[int, ...]


class PropagationError(ValueError):
    """The group's readers need regions no static tile describes."""


@dataclass(frozen=True)
class Read:
    """One in-group read: ``reader`` accesses the producer's result at ``forms``."""

    reader: Hashable
    forms: tuple[Linear, ...]


def propagate(
    members: list,
    output,
    tile: dict[int, int],
    reads: dict[Hashable, list[Read]],
    space: Callable[[object], IterationSpace],
    result_loops: Callable[[object], list[int]],
) -> dict:
    """The region of every member (program order, so readers follow producers) for an output
    tile of ``tile`` extents along the output's parallel loops. ``reads[p]`` lists the in-group
    reads of member ``p``'s result."""
    out_space = space(output)
    # a tile that spans its loop's whole extent has one block along it: its origin is 0 (so
    # a reader that reads that dimension whole, a reduction, agrees with it)
    origins = {
        loop: Linear(((p, 1),), 0) if tile[loop] < out_space.extents[loop] else Linear((), 0)
        for p, loop in enumerate(out_space.par_loops)
    }
    extents = tuple(
        tile[loop] if loop in tile else out_space.extents[loop]
        for loop in range(len(out_space.extents))
    )
    regions = {output: Region(origins, extents)}
    for member in reversed(members):
        if member is output or not reads.get(member):
            continue
        regions[member] = _from_readers(space(member), result_loops(member), reads[member], regions)
    for member in members:
        if member not in regions:
            regions[member] = _from_producer(member, members, reads, regions, space, result_loops)
    return regions


def _from_readers(space: IterationSpace, loops: list[int], reads: list[Read], regions) -> Region:
    starts: dict[int, Linear] = {}
    ends: dict[int, int] = {}
    for read in reads:
        if read.reader not in regions:
            continue  # a reader placed after its own producer (see _from_producer)
        region = regions[read.reader]
        for dim, form in enumerate(read.forms):
            start = compose(form, region.origin)
            end = start.constant + form.span(region.extents)
            loop = loops[dim]
            if loop in starts and start.coeffs != starts[loop].coeffs:
                raise PropagationError(
                    "two readers read the result at regions that move differently with the block"
                )
            if loop not in starts or start.constant < starts[loop].constant:
                starts[loop] = start
            ends[loop] = max(ends.get(loop, end), end)
    if set(starts) != set(space.par_loops):
        raise PropagationError("the readers do not cover every loop of the result")
    extents = []
    for loop in range(len(space.extents)):
        size = space.extents[loop]
        if loop not in starts:
            extents.append(size)
            continue
        start = starts[loop]
        if ends[loop] - start.constant > size and start.constant < 0:
            # a clamped read (a padding's halo) asks for more than the whole loop
            if start.coeffs:
                raise PropagationError(
                    "a clamped read's region is wider than the result and moves with the block"
                )
            starts[loop] = Linear((), 0)
        extents.append(min(ends[loop] - starts[loop].constant, size))
    return Region(starts, tuple(extents))


def _from_producer(member, members, reads, regions, space, result_loops) -> Region:
    """A member that no member reads covers the points of a producer it reads at the same
    points (its loops a permutation of the producer's result dimensions)."""
    for producer in members:
        for read in reads.get(producer, []):
            if read.reader is not member or producer not in regions:
                continue
            loops = [form.single_loop() for form in read.forms]
            if None in loops or sorted(loops) != list(range(len(space(member).extents))):
                continue
            dims = result_loops(producer)
            source = regions[producer]
            origin = {loop: source.origin[dims[d]] for d, loop in enumerate(loops)}
            extents = [0] * len(loops)
            for d, loop in enumerate(loops):
                extents[loop] = source.extents[dims[d]]
            return Region(origin, tuple(extents))
    raise PropagationError("an operator of the group is read by none of its members")


def compose(form: Linear, origins: dict[int, Linear]) -> Linear:
    """``form`` (over a member's loops) at the member's region origin: a linear form over the
    output's tile origins. Loops without an origin (reductions) start at 0."""
    coeffs: dict[int, int] = {}
    constant = form.constant
    for loop, coeff in form.coeffs:
        inner = origins.get(loop)
        if inner is None:
            continue
        constant += coeff * inner.constant
        for position, inner_coeff in inner.coeffs:
            coeffs[position] = coeffs.get(position, 0) + coeff * inner_coeff
    return Linear(tuple(sorted(coeffs.items())), constant)


def max_value(form: Linear, grid: tuple[int, ...], tile_sizes: tuple[int, ...]) -> int:
    """The largest value ``form`` (over the output's tile origins) takes over the grid."""
    return form.constant + sum(
        coeff * (grid[position] - 1) * tile_sizes[position] for position, coeff in form.coeffs
    )
