"""quartet-speculate-branches: small operators move out of branches (Cocktailer's speculation,
OSDI'23; docs/grinder.md).

At the graph level, after tiling and before Welder groups operators: an operator in a branch
of an ``scf.if`` whose every input is defined before the ``scf.if`` can run before it. Each
tiled operator left in a branch is a kernel of its own unless Welder fuses it there, and on the
device a phase of the branch (a launch on the host path, a grid barrier in the persistent
kernel); before the ``scf.if`` it can fuse with the operators there instead.

    %h = linalg.generic ins(%x, %w) ...                       // before the branch
    %y = scf.if %p -> tensor<2x16xf32> {
      %s = linalg.generic ins(%h) ...                         // sigmoid(h), in both branches
      %n = linalg.generic ins(%h) ...                         // -h, in one branch
      %t = linalg.generic ins(%s, %n, %w2) ...                // the branch's real work
      scf.yield %t
    } else {
      %s2 = linalg.generic ins(%h) ...                        // sigmoid(h) again
      scf.yield %s2
    }
  becomes
    %h = linalg.generic ins(%x, %w) ...
    %s = linalg.generic ins(%h) {grinder.speculated = {from = "both", ...}} ...
    %n = linalg.generic ins(%h) {grinder.speculated = {from = "then", ...}} ...
    %y = scf.if %p -> tensor<2x16xf32> {
      %t = linalg.generic ins(%s, %n, %w2) ...
      scf.yield %t
    } else {
      scf.yield %s
    }

Which operators move (each pure and statically shaped, ``passes/motion.py``; innermost
``scf.if`` first, operators in program order, reading only values from before the ``scf.if``
or from operators already moved):

Only an operator Welder would keep a kernel of its own in its branch (``fusion`` and
``launch-seconds`` as quartet-welder's) costs the branch a phase: one Welder fuses there costs
none, and moved out it could become a kernel of its own before the ``scf.if``.

1. **The same operator in both branches** (same name, attributes, result types, operands and
   body): it runs whichever branch is taken, so moving it costs nothing; it moves, once (the
   else branch uses it), where it is a kernel of its own in either branch, saving the phase
   weighted by the probability of each branch where it is.
2. **An operator of one branch** moves when it is small and the model says it pays: it then
   runs whether or not its branch is taken, ``cost_seconds = t x (1 - p)`` more per run (``t``
   its time alone in Welder's latency model without a launch charge, ``p`` the probability of
   its branch: ``then-probability``, 0.5 where no profile says otherwise), and the branch saves
   a phase, ``saved_seconds = phase-seconds`` (the pipeline gives quartet-grinder's grid
   barrier on the device, a launch on the host path). Small: ``t`` at most
   :data:`SMALL_SHARE` of what its branch still runs, so that a branch's dominant operator
   is never run eagerly and no branch that has work is left without it.

Untiled pure operators (``tensor.empty``, reshapes, ``arith``) move only with an operator that
reads them; none moves where an operator that stays writes into it (an accumulator's init).
Each moved tiled operator carries ``grinder.speculated = {from, cost_seconds,
saved_seconds}``, and its function ``grinder.speculated_from``: the location of the
``scf.if`` it left, once per operator (locations survive bufferization, which rebuilds the
``scf.if`` without attributes), which the report counts per construct.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.motion import free_values, movable, values_defined_in, written_by
from quartet.passes.welder import Welder, checked_spec
from quartet.passes.welder.schedule import Scheduler
from quartet.rammer.cost import LAUNCH_SECONDS
from quartet.welder.graph import tile_graph

SPECULATED = "grinder.speculated"
SPECULATED_FROM = "grinder.speculated_from"
THEN, ELSE, BOTH = "then", "else", "both"

SMALL_SHARE = 0.5
"""The largest share of what its branch still runs (the modelled times of its tiled operators
not moved yet) an operator of one branch may have to move: above it, moving runs most of the
branch eagerly, which is not speculating a small operator but giving up the branch; and the
last operator of a branch never moves, so a branch keeps its work (an scf.if that launches
nothing would stay on the host, quartet-grinder)."""


@dataclass(frozen=True)
class Move:
    """One operator that leaves its ``scf.if``: ``twin`` is the else branch's equal operator,
    which ``op`` replaces; costs are zero for an untiled operator."""

    op: ir.Operation
    side: str  # THEN, ELSE or BOTH
    twin: ir.Operation | None = None
    cost_seconds: float = 0.0
    saved_seconds: float = 0.0
    tiled: bool = False


@dataclass(frozen=True)
class SpeculateBranches(ModulePass):
    """Move operators out of scf.if branches: those in both, and small ones where it pays."""

    name = "quartet-speculate-branches"
    arch: str = option("sm_90", "target machine whose latency model times an operator (cpu: sm_90)")
    fusion: str = option("welder", "Welder's mode, to tell which operators it keeps alone")
    launch_seconds: float = option(LAUNCH_SECONDS, "Welder's charge per kernel launch")
    phase_seconds: float = option(
        LAUNCH_SECONDS, "what an operator of its own costs a branch: a launch, a grid barrier"
    )
    then_probability: float = option(0.5, "how often the then branch runs (no profile: 0.5)")

    def apply(self, module: ir.Operation) -> None:
        if not (math.isfinite(self.phase_seconds) and self.phase_seconds >= 0):
            raise PassError(f"option 'phase-seconds' must be a time, got {self.phase_seconds}")
        if not 0 <= self.then_probability <= 1:
            raise PassError(
                f"option 'then-probability' must be in [0, 1], got {self.then_probability}"
            )
        spec = checked_spec(self.arch, self.fusion)
        for branch in _branches(module):
            probabilities = {THEN: self.then_probability, ELSE: 1 - self.then_probability}
            welder = Welder(self.arch, self.fusion, self.launch_seconds)
            plan = _Plan(branch, spec, welder, self.phase_seconds, probabilities)
            _speculate(branch, plan.moves())


def _branches(module: ir.Operation) -> list[ir.Operation]:
    """Every scf.if, innermost first (what leaves an inner one may leave the outer one too)."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "scf.if":
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit, ir.WalkOrder.POST_ORDER)
    return found


class _Plan:
    """What leaves one scf.if, by the model: its branches' operators and their times."""

    def __init__(self, branch: ir.Operation, spec, welder: Welder, phase: float, probabilities):
        self.branch, self.phase, self.probabilities = branch, phase, probabilities
        self.sides = {THEN: _ops(branch.regions[0]), ELSE: _ops(branch.regions[1])}
        self.seconds: dict[ir.Operation, float] = {}
        self.alone: set[ir.Operation] = set()
        for region in branch.regions:
            seconds, alone = _modelled(region, spec, welder)
            self.seconds.update(seconds)
            self.alone.update(alone)
        self.inside = values_defined_in(branch)

    def moves(self) -> list[Move]:
        """The moves, found again until no operator that stays writes into a moved one: such
        an operator is pinned, such a twin unpaired (it stays, its then operator may move)."""
        pinned: set[ir.Operation] = set()
        unpaired: set[ir.Operation] = set()
        while True:
            moves = self._needed(self._candidates(pinned, unpaired))
            moved = {m.op for m in moves} | {m.twin for m in moves if m.twin is not None}
            staying = {op for ops in self.sides.values() for op in ops if op not in moved}
            written = [op for op in moved if written_by(op, staying)]
            if not written:
                return moves
            twins = {m.twin for m in moves}
            unpaired.update(op for op in written if op in twins)
            pinned.update(op for op in written if op not in twins)

    def _candidates(self, pinned: set, unpaired: set) -> dict[ir.Operation, Move]:
        """Every operator that could move (untiled ones whether or not one needs them)."""
        candidates: dict[ir.Operation, Move] = {}
        alias: dict[ir.Value, ir.Value] = {}  # an else operator's result -> its twin's

        def ready(op: ir.Operation) -> bool:
            if op in pinned or op in candidates or not movable(op) or not _static(op):
                return False
            outer = {alias.get(value, value) for value in free_values(op)} & self.inside
            return all(value.owner.operation in candidates for value in outer)

        twins = set()
        for op in self.sides[THEN]:
            if not ready(op):
                continue
            twin = next(
                (
                    e
                    for e in self.sides[ELSE]
                    if e not in twins | unpaired and ready(e) and _equal(op, e, alias)
                ),
                None,
            )
            if twin is None:
                continue
            twins.add(twin)
            alias.update(zip(twin.results, op.results, strict=True))
            if op not in self.seconds:
                candidates[op] = Move(op, BOTH, twin)
                continue
            taken = {THEN: op, ELSE: twin}
            saved = sum(
                p * self.phase
                for side, p in self.probabilities.items()
                if taken[side] in self.alone
            )
            if saved > 0:
                candidates[op] = Move(op, BOTH, twin, 0.0, saved, tiled=True)
        for side, ops in self.sides.items():
            staying = [op for op in ops if op not in candidates and op not in twins]
            left = sum(self.seconds.get(op, 0.0) for op in staying)
            for op in ops:
                if op in twins or not ready(op):
                    continue
                move = self._one_side(op, side, left)
                if move is not None:
                    candidates[op] = move
                    left -= self.seconds.get(op, 0.0)
        return candidates

    def _one_side(self, op: ir.Operation, side: str, left: float) -> Move | None:
        """The move of ``op`` out of ``side``, whose operators not moved yet take ``left``
        seconds, where the model takes it (None where not)."""
        if op not in self.seconds:
            return Move(op, side)
        alone = self.seconds[op]
        cost = alone * (1 - self.probabilities[side])
        if op not in self.alone or not alone <= SMALL_SHARE * left or not cost < self.phase:
            return None
        return Move(op, side, None, cost, self.phase, tiled=True)

    def _needed(self, candidates: dict[ir.Operation, Move]) -> list[Move]:
        """The tiled candidates and the untiled ones they read, in the order they move:
        the then branch's (and pairs'), then the else branch's, each in program order."""
        needed = {op for op, move in candidates.items() if move.tiled}
        alias = {
            twin: move.op.results[i]
            for move in candidates.values()
            if move.twin is not None
            for i, twin in enumerate(move.twin.results)
        }
        pending = list(needed)
        while pending:
            op = pending.pop()
            for value in {alias.get(value, value) for value in free_values(op)} & self.inside:
                producer = value.owner.operation
                if producer not in needed:
                    needed.add(producer)
                    pending.append(producer)
        order = self.sides[THEN] + self.sides[ELSE]
        return [candidates[op] for op in order if op in needed]


def _ops(region: ir.Region) -> list[ir.Operation]:
    """The operators of a branch, without its yield (none for an absent else)."""
    if not region.blocks:
        return []
    return [op.operation for op in region.blocks[0].operations][:-1]


def _modelled(region: ir.Region, spec, welder: Welder) -> tuple[dict, set]:
    """Each tiled operator of the branch with its time as a kernel of its own in Welder's
    latency model (``passes/welder/model.py``) without a launch charge; and those Welder,
    grouping the branch as it will, keeps a kernel of their own (only those cost the branch
    a phase: one it fuses costs none, and before the scf.if it could cost one)."""
    if not region.blocks:
        return {}, set()
    graph = tile_graph(region.blocks[0])
    kernels = Scheduler(graph, spec, fusion=False, launch_seconds=0.0).kernels
    seconds = {node.op.operation: kernels[node].seconds for node in graph.nodes}
    fusion = welder.fusion == "welder"
    grouped = Scheduler(graph, spec, fusion, welder.launch_seconds).run()
    alone = {kernel.output.op.operation for kernel in grouped if len(kernel.members) == 1}
    return seconds, alone


def _static(op: ir.Operation) -> bool:
    """Every result a scalar or a statically shaped tensor."""
    return all(
        not isinstance(result.type, ir.ShapedType) or ir.ShapedType(result.type).has_static_shape
        for result in op.results
    )


def _equal(a: ir.Operation, b: ir.Operation, alias: dict[ir.Value, ir.Value]) -> bool:
    """Whether ``b`` computes what ``a`` does: the same name, attributes, result types, operands
    (``b``'s read through ``alias``) and regions, op by op."""
    if a.name != b.name or len(a.operands) != len(b.operands) or len(a.regions) != len(b.regions):
        return False
    if [r.type for r in a.results] != [r.type for r in b.results]:
        return False
    if _attributes(a) != _attributes(b):
        return False
    if any(alias.get(y, y) != x for x, y in zip(a.operands, b.operands, strict=True)):
        return False
    local = dict(alias)
    for region_a, region_b in zip(a.regions, b.regions, strict=True):
        if len(region_a.blocks) != len(region_b.blocks):
            return False
        for block_a, block_b in zip(region_a.blocks, region_b.blocks, strict=True):
            if not _equal_blocks(block_a, block_b, local):
                return False
    return True


def _equal_blocks(a: ir.Block, b: ir.Block, alias: dict[ir.Value, ir.Value]) -> bool:
    """Whether two blocks take the same arguments and hold equal ops (extends ``alias``)."""
    if [v.type for v in a.arguments] != [v.type for v in b.arguments]:
        return False
    alias.update(zip(b.arguments, a.arguments, strict=True))
    ops_a, ops_b = list(a.operations), list(b.operations)
    if len(ops_a) != len(ops_b):
        return False
    for op_a, op_b in zip(ops_a, ops_b, strict=True):
        if not _equal(op_a.operation, op_b.operation, alias):
            return False
        alias.update(zip(op_b.results, op_a.results, strict=True))
    return True


def _attributes(op: ir.Operation) -> dict[str, ir.Attribute]:
    return {name: op.attributes[name] for name in op.attributes}


def _speculate(branch: ir.Operation, moves: list[Move]) -> None:
    """Move each operator before ``branch``, replace its twin by it and mark the tiled ones,
    on the operator and on its function."""
    f64 = ir.F64Type.get()
    for move in moves:
        move.op.move_before(branch)
        if move.twin is not None:
            for old, new in zip(move.twin.results, move.op.results, strict=True):
                old.replace_all_uses_with(new)
        if not move.tiled:
            continue
        move.op.attributes[SPECULATED] = ir.DictAttr.get(
            {
                "from": ir.StringAttr.get(move.side),
                "cost_seconds": ir.FloatAttr.get(f64, move.cost_seconds),
                "saved_seconds": ir.FloatAttr.get(f64, move.saved_seconds),
            }
        )
    for move in reversed(moves):
        if move.twin is not None:
            move.twin.erase()
    tiled = sum(move.tiled for move in moves)
    if tiled:
        _record(branch, tiled)


def _record(branch: ir.Operation, count: int) -> None:
    """Append the branch's location ``count`` times to its function's SPECULATED_FROM."""
    function = branch.parent
    while function.name != "func.func":
        function = function.parent
    previous = (
        list(function.attributes[SPECULATED_FROM]) if SPECULATED_FROM in function.attributes else []
    )
    function.attributes[SPECULATED_FROM] = ir.ArrayAttr.get(
        previous + [branch.location.attr] * count
    )
