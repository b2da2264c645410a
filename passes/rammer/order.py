"""What orders the launches of a vEU program with loops and branches on the grid: the launches
each launch (and each load of a predicate or condition) waits for, and the few places where a
grid barrier remains (docs/grinder.md).

Every launch signals its counter after its tasks, as in a Rammer program; a wait on launch P
expects P's tasks times P's *run number*, the times control has passed P's segment
(passes/rammer/flow.py keeps them). A launch that did not run since (a branch not taken, a
loop of no trip) leaves its run number as it was, so a wait on it holds at once.

This is a forward walk over the program's ops in program order. Its state, :class:`Pending`,
is what may not be complete yet, along any path to the op: per buffer (its base), the
launches that may have written it last and those that may have read it since, and the
buffers every vEU loaded (a predicate or condition) since the last grid barrier.

- A launch waits for the last writers of what it reads or writes (RAW, WAW) and the readers
  of what it writes (WAR), but not for one whose latest run another of them covers: the state
  also knows, per launch e, the launches whose latest runs were complete before any task of
  e's latest run started (what it waited for, and what they covered), so that e's counter
  complete means theirs are too. A launch's new run takes it out of what others cover. Where
  it writes what every vEU loaded, each vEU's load must be done first, and no launch's counter
  says so: a grid barrier goes before it instead (it completes everything: the state empties).
- A load every vEU makes waits for its buffer's last writers; then every vEU has seen them
  (and what they cover) complete, so they leave the state.
- ``scf.if``: the union of both sides' pending launches, what both sides know (a side
  absent: the state before).
- Before a loop, every vEU waits for the launches pending before it that the loop touches
  (once, rather than in every iteration), and then has seen them complete.
- A loop: the state at its head is the union of the state before it and the state at the end
  of its body, grown to a fixed point, so a wait across iterations (the next iteration's
  reader of what this one wrote, or writer of what it read) is found; its epoch is the
  producer's current run number, i.e. its run of the previous iteration. An ``scf.for``
  leaves with its head's state, an ``scf.while`` with the end of its condition region's.

Two runs of one launch never overlap, so that its counter reaches tasks x n only once its
n-th run is complete: a launch's next run writes what its previous run wrote, so it waits for
that run, or for a later writer that waited for it, or follows a grid barrier or a load whose
wait saw it complete (a launch that writes nothing waits for its own previous run).

A loop or branch placed on one CTA (``#controlflow.device<"cta">``) is one unit here: its
owner vEU runs it alone, so no other vEU knows its launches' run numbers (a while loop's trip
count is the owner's), and nothing in it waits or signals. Before it, every vEU waits for the
launches pending before it that it touches, as before a loop (a grid barrier instead where it
writes what every vEU loaded); after it, what it read and wrote is pending on the unit
itself (numbered below zero: it has no counter), and an op that would wait for the unit gets
a grid barrier before it instead (no counter says the unit is done). The owner runs the
units one after the other: none waits for another.

From one pass over a loop's body to the next, its head's pending launches only grow and what
it knows only shrinks, over finitely many launches and buffers, so the fixed point is reached;
the decisions of the last pass stand (made with the weakest state, they cover every earlier
one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mlir import ir

from quartet.dialects.controlflow import PLACEABLE_OPS, PLACEMENT, Device
from quartet.passes.rammer.launches import base, preorder

Accesses = Callable[[ir.Operation], tuple[frozenset, frozenset] | None]
"""The buffers (bases) a launch reads and writes; None for an op that is no launch."""


def on_one_cta(op: ir.Operation) -> bool:
    """Whether ``op`` is a loop or branch quartet-grinder placed on one CTA."""
    if op.name not in PLACEABLE_OPS or PLACEMENT not in op.attributes:
        return False
    return Device.from_attr(op.attributes[PLACEMENT]).scope == "cta"


@dataclass(frozen=True)
class Pending:
    """What may not be complete at a point of the program, and what is known complete (see
    the module docstring): ``writers[b]`` and ``readers[b]`` are launch numbers, ``loads``
    bases; ``complete`` the launches whose latest runs every vEU knows complete, and
    ``covered[e]`` (at least ``complete``) those whose latest runs are complete once e's
    latest run is."""

    writers: frozenset = frozenset()  # (base, frozenset of launches) pairs, none empty
    readers: frozenset = frozenset()
    loads: frozenset = frozenset()
    complete: frozenset = frozenset()
    known: frozenset = frozenset()  # (launch, what it covers) pairs, where more than complete

    def covers(self, launch: int) -> frozenset:
        return dict(self.known).get(launch, self.complete)

    def merge(self, other: Pending) -> Pending:
        """Either state may hold: what either may leave pending, what both know."""
        launches = {e for e, _ in self.known} | {e for e, _ in other.known}
        complete = self.complete & other.complete
        known = {e: self.covers(e) & other.covers(e) for e in launches}
        return Pending(
            _union(self.writers, other.writers),
            _union(self.readers, other.readers),
            self.loads | other.loads,
            complete,
            _normal({e: covered for e, covered in known.items() if covered != complete}),
        )

    def of(self, which: frozenset, buffers) -> set[int]:
        return {launch for key, launches in which if key in buffers for launch in launches}

    def reduced(self, waits: set[int]) -> set[int]:
        """``waits`` without those another of them covers (its run complete implies theirs)."""
        return {d for d in waits if not any(d in self.covers(e) for e in waits if e != d)}

    def closure(self, waits: set[int]) -> frozenset:
        """What is complete once ``waits`` are: them and what each covers."""
        return frozenset(waits).union(self.complete, *(self.covers(e) for e in waits))

    def ran(self, launch: int, waits: set[int]) -> Pending:
        """The knowledge once ``launch`` ran again, after ``waits``: no one covers its new
        run; it covers what they did."""
        complete = self.complete - {launch}
        known = {e: covered - {launch} for e, covered in self.known}
        known[launch] = self.closure(waits)  # itself among them: trivially
        return replace(self, complete=complete, known=_normal(_beyond(known, complete)))

    def seen(self, done: frozenset) -> Pending:
        """The state once every vEU has seen ``done`` complete."""
        complete = self.complete | done
        known = {e: covered | done for e, covered in self.known}
        return Pending(
            _normal({key: launches - done for key, launches in self.writers}),
            _normal({key: launches - done for key, launches in self.readers}),
            self.loads,
            complete,
            _normal(_beyond(known, complete)),
        )


def _beyond(known: dict, complete: frozenset) -> dict:
    return {e: covered for e, covered in known.items() if covered != complete}


def _union(first: frozenset, second: frozenset) -> frozenset:
    merged: dict = {}
    for key, launches in (*first, *second):
        merged[key] = merged.get(key, frozenset()) | launches
    return _normal(merged)


def _normal(table: dict) -> frozenset:
    """``table`` (key -> launches) as pairs, its empty entries dropped (so that equal states
    compare equal)."""
    return frozenset((key, launches) for key, launches in table.items() if launches)


@dataclass
class Order:
    """The waits and grid barriers of a program: ``waits[op]`` the launches (numbered in
    program order) a launch call or a load waits for, ``barriers`` the ops a grid barrier
    precedes."""

    waits: dict = field(default_factory=dict)
    barriers: set = field(default_factory=set)


def order(ops: list[ir.Operation], accesses: Accesses) -> Order:
    """The :class:`Order` of ``ops`` (a program's body, or one construct), its launches found
    by ``accesses`` and numbered in program order (those in a construct on one CTA too)."""
    walk = _Walk(accesses)
    walk.number(ops)
    walk.start = Pending(complete=frozenset(walk.numbers.values()) | frozenset(walk.units))
    walk.ops(ops, walk.start)
    return walk.decided


class _Walk:
    def __init__(self, accesses: Accesses):
        self.accesses = accesses
        self.numbers: dict = {}
        self.units: dict = {}  # construct on one CTA -> its number, below zero
        self.decided = Order()

    def number(self, ops: list[ir.Operation]) -> None:
        for op in ops:
            if self.accesses(op) is not None:
                self.numbers[op] = len(self.numbers)
            if on_one_cta(op) and not owned(op):
                self.units[op] = -1 - len(self.units)
            for region in op.regions:
                for block in region.blocks:
                    self.number([nested.operation for nested in block.operations])

    def ops(self, ops: list[ir.Operation], state: Pending) -> Pending:
        for op in ops:
            touched = self.accesses(op)
            if op in self.units:
                state = self.unit(op, state)
            elif touched is not None:
                state = self.launch(op, *touched, state)
            elif op.name == "memref.load":
                state = self.load(op, state)
            elif op.name in PLACEABLE_OPS:
                state = self.construct(op, state)
        return state

    def block(self, region: ir.Region, state: Pending) -> Pending:
        return self.ops([op.operation for op in region.blocks[0].operations], state)

    def pending(self, state: Pending, reads, writes) -> set[int]:
        """What an op reading ``reads`` and writing ``writes`` follows: the last writers of
        either, the readers since of ``writes``."""
        return state.of(state.writers, reads | writes) | state.of(state.readers, writes)

    def barrier_if(self, op, needed: bool, state: Pending) -> Pending:
        """A grid barrier before ``op`` where ``needed`` (it completes everything: the state
        empties), none where not (a later pass of a loop's fixed point may decide anew)."""
        if needed:
            self.decided.barriers.add(op)
            return self.start
        self.decided.barriers.discard(op)
        return state

    def launch(self, op, reads: frozenset, writes: frozenset, state: Pending) -> Pending:
        blocked = writes & state.loads or _after_unit(self.pending(state, reads, writes))
        state = self.barrier_if(op, bool(blocked), state)
        number = self.numbers[op]
        waits = self.pending(state, reads, writes)
        if not writes:  # its runs must not overlap (below): a launch that writes waits anyway
            waits |= {number}
        waits = state.reduced(waits)
        self.decided.waits[op] = tuple(sorted(waits))
        return self.ran(number, reads, writes, waits, state)

    def ran(self, number: int, reads, writes, waits: set[int], state: Pending) -> Pending:
        """The state once launch (or unit) ``number``, reading ``reads`` and writing
        ``writes``, ran after ``waits``."""
        writers, readers = dict(state.writers), dict(state.readers)
        for buffer in writes:
            writers[buffer], readers[buffer] = frozenset({number}), frozenset()
        for buffer in reads - writes:
            readers[buffer] = readers.get(buffer, frozenset()) | {number}
        ran = state.ran(number, waits)
        return replace(ran, writers=_normal(writers), readers=_normal(readers))

    def unit(self, op, state: Pending) -> Pending:
        """A construct on one CTA (see the module): waits before it, a grid barrier where it
        overwrites what every vEU loaded; then it is pending on its own number."""
        reads, writes = self.touched(op)
        state = self.barrier_if(op, bool(writes & state.loads), state)
        waits = state.reduced({d for d in self.pending(state, reads, writes) if d >= 0})
        self.decided.waits[op] = tuple(sorted(waits))
        state = state.seen(state.closure(waits))
        return self.ran(self.units[op], reads, writes, waits, state)

    def touched(self, construct) -> tuple[frozenset, frozenset]:
        """What the launches in ``construct`` read and write, its loads as reads."""
        reads, writes = set(), set()
        for nested in list(preorder(construct))[1:]:
            touched = self.accesses(nested)
            if touched is not None:
                reads |= touched[0]
                writes |= touched[1]
            elif nested.name == "memref.load":
                reads.add(base(nested.operands[0]))
        return frozenset(reads), frozenset(writes)

    def load(self, op, state: Pending) -> Pending:
        buffer = base(op.operands[0])
        state = self.barrier_if(op, _after_unit(state.of(state.writers, {buffer})), state)
        waits = state.reduced(state.of(state.writers, {buffer}))
        self.decided.waits[op] = tuple(sorted(waits))
        loaded = replace(state, loads=state.loads | {buffer})
        return loaded.seen(state.closure(waits))

    def enter(self, loop, state: Pending) -> Pending:
        """Before ``loop``, every vEU waits for the launches pending before it that the loop
        touches (what its launches would wait for in every iteration otherwise, and its loads
        in the first), then has seen them complete; a grid barrier instead where a unit is
        among them."""
        reads, writes = self.touched(loop)
        state = self.barrier_if(loop, _after_unit(self.pending(state, reads, writes)), state)
        waits = state.reduced(self.pending(state, reads, writes))
        self.decided.waits[loop] = tuple(sorted(waits))
        return state.seen(state.closure(waits))

    def construct(self, op, state: Pending) -> Pending:
        if op.name == "scf.if":
            then = self.block(op.regions[0], state)
            otherwise = self.block(op.regions[1], state) if op.regions[1].blocks else state
            return then.merge(otherwise)
        head = self.enter(op, state)
        while True:
            leaving = self.block(op.regions[0], head)
            end = leaving if op.name == "scf.for" else self.block(op.regions[1], leaving)
            grown = head.merge(end)
            if grown == head:
                return head if op.name == "scf.for" else leaving
            head = grown


def _after_unit(waits: set[int]) -> bool:
    """Whether ``waits`` hold a unit, which no counter orders: a grid barrier does."""
    return any(number < 0 for number in waits)


def owned(op: ir.Operation) -> bool:
    """Whether ``op`` is nested in a construct on one CTA (the outermost is the unit)."""
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        if on_one_cta(parent):
            return True
        parent = parent.parent
    return False
