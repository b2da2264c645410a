"""Welder's scheduling (OSDI'23, Sec. 4): connect the tile-graph's edges, tile each candidate.

1. **Graph connecting.** Every operator starts as its own kernel. The edges are walked in
   topological order (by consumer), those out of operators that only move data (a padding, a
   concatenation) first, so a padding joins the window that reads it; each edge from a
   group's output operator into another group is tried at a deeper level than global memory:
   registers first (the consumer reads an elementwise producer by recomputing it, or computes
   an elementwise consumer at a reduction's points as its epilogue), then shared memory (the
   producer keeps its region of each block on chip), unless registers already read each
   point once where it is computed. The merged group keeps the consumer's output operator.
2. **Subgraph tiling.** For a candidate group, output tiles are enumerated Roller-style (the
   output operator's current tiling and Roller's top-k rProgram tiles, and the tilings of the
   reductions whose epilogue chains it ends; only where none gives a kernel, each with one
   loop widened to its whole extent, which row statistics fused behind a contraction need),
   propagated back to every member's region, each member given a register tile and a plan,
   and the resulting kernel checked (the lowering's own analysis: roles, regions, alignment)
   and costed with the latency model.
3. A connection is kept only where the model says the merged kernel beats the two kernels
   apart; a group stays convex (no path leaves it and comes back), holds at most
   ``MAX_OPERATORS`` operators that compute (fills and pure copies do not count), and never
   reads a result of its own through a cut edge (a gather).

Accumulator initialisations (a fill, or a bias broadcast, feeding only a reduction's output)
are always connected in registers, fusion or not: no fill is ever its own kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir

from quartet.dialects import tile
from quartet.dialects.tile import Candidates, Group, RProgram
from quartet.hardware import GpuSpec
from quartet.passes.base import PassError
from quartet.passes.lower_tiles.plan import Member, block_grid, plan_members
from quartet.passes.welder.model import INFEASIBLE, kernel_seconds
from quartet.roller import Config
from quartet.roller.plan import plan_for
from quartet.welder.graph import Edge, Node, TileGraph, through_reshapes
from quartet.welder.propagate import PropagationError, Read, propagate

NOT_OUTPUT = "the producer is inside its group, not the group's output"
CUT = "read through computed indices (a gather) or a non-affine reshape: no affine tile"
UNWINDOWED = "a captured read through shared memory feeds no window"
"""A body's clamped read of a phase's result goes through shared memory only where the
reader is a padding under a window (conv -> ReLU -> conv). Elsewhere (a Concat's reads) it
made kernels of three chained contractions whose PTX ptxas spills (SqueezeNet's fire
modules), which the model's per-phase register estimate does not foresee."""

MAX_OPERATORS = 10
"""Operators that compute per group (Welder's artifact groups at most ~10, DESIGN.md)."""

MAX_THREADS = 256
"""Threads a producer's phase may use (the block has at least the output phase's)."""

MAX_POINTS = 64
"""Register-tile points per thread (the lowering unrolls them: Roller's limit)."""

WIDE_POINTS = 16384
"""The largest output tile a widened candidate may have."""


@dataclass(frozen=True)
class Decision:
    """One connection Welder tried: the edge, the modelled seconds of the merged kernel per
    level tried (or why it could not be built), the seconds of the two kernels apart, and
    whether the edge was connected."""

    producer: Node
    consumer: Node
    tried: tuple[tuple[str, float | str], ...]
    apart: float
    connected: bool
    reason: str = ""

    def text(self, labels: bool = False) -> str:
        """One line: ``op1 -> op2: reg 3.10 us, smem 3.15 us; apart 6.15 us: connected``
        (``labels``: each operator's kind and extents after its name)."""
        names = [n.label if labels else n.name for n in (self.producer, self.consumer)]
        tried = ", ".join(
            f"{level} {_us(result)}" if isinstance(result, float) else f"{level} refused ({result})"
            for level, result in self.tried
        )
        verdict = "connected" if self.connected else f"kept apart ({self.reason})"
        apart = "" if math.isnan(self.apart) else f"apart {_us(self.apart)}: "
        return f"{names[0]} -> {names[1]}: {tried}{'; ' if tried else ''}{apart}{verdict}"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} us"


@dataclass(eq=False)
class Kernel:
    """A group of operators and its tiling: what one kernel computes, and its modelled time."""

    members: list[Node]
    output: Node
    levels: dict[Edge, str] = field(default_factory=dict)  # in-group edges
    programs: dict[Node, RProgram] = field(default_factory=dict)
    seconds: float = INFEASIBLE
    reason: str = ""  # why the last connection tried into it was refused

    @property
    def computing(self) -> int:
        return sum(1 for node in self.members if not _trivial(node))


def _trivial(node: Node) -> bool:
    """A fill or a pure copy (a transpose): recomputing it costs nothing."""
    body = node.op.regions[0].blocks[0]
    ops = list(body.operations)
    return node.is_fill or (
        not node.reduction and len(ops) == 1 and list(ops[0].operands) == [body.arguments[0]]
    )


class Scheduler:
    """Welder's two steps over one tile-graph, for ``spec``, each kernel charged
    ``launch_seconds`` for its launch."""

    def __init__(self, graph: TileGraph, spec: GpuSpec, fusion: bool, launch_seconds: float):
        self.graph, self.spec, self.fusion = graph, spec, fusion
        self.launch_seconds = launch_seconds
        self._memo: dict[tuple, float] = {}
        self._propagated: dict[tuple, dict | None] = {}  # see _regions
        self._refusals: dict[tuple, str] = {}  # signature -> why the lowering refused it
        self.kernels = {node: self._alone(node) for node in graph.nodes}
        self.decisions: list[Decision] = []
        self._user_map: dict[Node, list[Node]] = {node: [] for node in graph.nodes}
        for node in graph.nodes:
            for producer in node.depends:
                self._user_map[producer].append(node)

    def run(self) -> list[Kernel]:
        """Accumulator initialisations first (every reduction then owns its fill, whichever
        edge into it is tried first), then the edges out of operators that only move data (a
        padding goes into the window that reads it, not behind the operator it pads), then
        every other edge, each in topological order."""
        edges = sorted(self.graph.edges, key=lambda e: (e.consumer.index, e.producer.index))
        initializing = [e for e in edges if e.is_init and _only_initializes(e)]
        for edge in initializing:
            self._connect(edge, levels=("reg",), always=True)
        if self.fusion:
            connected = set(initializing)
            rest = [e for e in edges if e not in connected]
            for edge in sorted(rest, key=lambda e: not _moves_data(e.producer)):  # stable
                self._connect(edge, levels=("reg", "smem"), always=False)
            self._unconnectable()
        return list(dict.fromkeys(self.kernels.values()))

    def _hidden(self, producer: Kernel, consumer: Kernel) -> bool:
        """Whether a member of ``consumer`` uses a result of ``producer`` other than through
        an affine edge (a gather's table, a value passed through an op Quartet does not tile):
        nothing bounds what it reads, so it must read it from a finished kernel."""
        inside = set(producer.members)
        return any(node.unbounded_producers() & inside for node in consumer.members)

    def _unconnectable(self) -> None:
        """Record the dependences that are no edge: a body that reads another operator's
        result through computed indices (a gather) has no tile to propagate."""
        for node in self.graph.nodes:
            for producer in sorted(node.unbounded_producers(), key=lambda n: n.index):
                self.decisions.append(Decision(producer, node, (), math.nan, False, CUT))

    # -- connecting -------------------------------------------------------------------------

    def _connect(self, edge: Edge, levels: tuple[str, ...], always: bool) -> None:
        producer, consumer = self.kernels[edge.producer], self.kernels[edge.consumer]
        if producer is consumer or edge.cut:
            return
        apart = producer.seconds + consumer.seconds

        def refuse(reason: str, tried=()) -> None:
            nodes = (edge.producer, edge.consumer)
            self.decisions.append(Decision(*nodes, tuple(tried), apart, False, reason))

        if producer.output is not edge.producer:
            return refuse(NOT_OUTPUT)
        members = sorted({*producer.members, *consumer.members}, key=lambda n: n.index)
        if not _fresh_destinations(members, consumer.output):
            return refuse("a stored result updates a buffer in place")
        if _overwritten_while_read(members):
            return refuse("a member updates in place a result that something else reads")
        if not always and producer.computing + consumer.computing > MAX_OPERATORS:
            return refuse(f"more than {MAX_OPERATORS} operators")
        if not always and not self._convex(members):
            return refuse("the group would not be convex")
        crossing = [
            e
            for e in self.graph.edges
            if e.producer in producer.members and e.consumer in consumer.members
        ]
        if any(e.cut for e in crossing) or self._hidden(producer, consumer):
            return refuse(CUT)
        best, tried = None, []
        for level in levels:
            if level == "smem" and not all(_windowed(e) for e in crossing if e.captured):
                tried.append((level, UNWINDOWED))
                continue
            chosen = {**producer.levels, **consumer.levels, **{e: level for e in crossing}}
            candidate, why = self._tile(members, consumer.output, chosen)
            tried.append((level, candidate.seconds if candidate else why))
            if candidate is not None and (best is None or candidate.seconds < best.seconds):
                best = candidate
            if best is not None and all(e.aligned() for e in crossing):
                break  # each point is read once, where it is computed: shared memory cannot win
        if best is None:
            return refuse("no level gives a kernel", tried)
        if not always and best.seconds >= apart:
            return refuse("the model says apart is faster", tried)
        for node in members:
            self.kernels[node] = best
        self.decisions.append(Decision(edge.producer, edge.consumer, tuple(tried), apart, True))

    def _convex(self, members: list[Node]) -> bool:
        """No path leaves the group and comes back into it. A path that reaches a member of
        another group continues from all of that group's members: a group runs as one
        launch, after everything any member reads, so two groups that each read the other's
        results would both have to run first."""
        inside = set(members)
        pending = [user for node in members for user in self._users(node) if user not in inside]
        seen: set[Node] = set()
        while pending:
            node = pending.pop()
            if node in seen:
                continue
            if node in inside:
                return False
            group = self.kernels[node].members
            seen.update(group)
            pending.extend(user for member in group for user in self._users(member))
        return True

    def _users(self, node: Node) -> list[Node]:
        return self._user_map[node]

    # -- tiling -----------------------------------------------------------------------------

    def _alone(self, node: Node) -> Kernel:
        kernel = Kernel([node], node, programs={node: node.program})
        kernel.seconds = self._evaluate(kernel.members, node, {}, kernel.programs)
        return kernel

    def _tile(self, members: list[Node], output: Node, levels: dict[Edge, str]):
        """(the best tiling of a candidate group, None) or (None, why no output tile gives
        a valid kernel: the first refusal met)."""
        best, why = None, "no output tile propagates to every member"
        plain = self._output_programs(output, members, levels)
        for candidates in (list(plain.items()), _widened(output, plain)):
            for program, anchors in candidates:
                # members keep the stages their current kernels chose, else Roller's
                for stages in (self._chosen, lambda node: node.program):
                    programs = self._programs(members, output, levels, program, anchors, stages)
                    if programs is None:
                        continue
                    seconds = self._evaluate(members, output, levels, programs)
                    if seconds == INFEASIBLE and why.startswith("no output tile"):
                        key = _signature(members, output, levels, programs)
                        why = self._refusals.get(key, why)
                    if seconds < (best.seconds if best else INFEASIBLE):
                        best = Kernel(members, output, dict(levels), programs, seconds)
                    if seconds < INFEASIBLE:
                        break
            if best is not None:  # widened tiles only where no plain one gives a kernel
                break
        return best, why

    def _output_programs(self, output: Node, members, levels) -> dict[RProgram, dict]:
        """Candidate output tiles, each with the programs it was made from (an anchor's own
        tiling, whose reduction stages its members keep): Roller's top-k tiles of the output
        operator, and those of every member whose points it computes (a reduction its
        epilogue chain ends in: that tiling is the reduction's); the tiling each one's current
        kernel gives it first."""
        programs = {program: {} for program in [self._chosen(output), *_roller_programs(output)]}
        for node in members:
            loops = _aligned_loops(node, output, levels)
            if node is output or loops is None:
                continue
            for program in dict.fromkeys([self._chosen(node), *_roller_programs(node)]):
                block = list(output.program.tile("smem").shape)
                for source, target in loops.items():
                    block[target] = program.tile("smem").shape[source]
                fitted = _program(output, tuple(block), output.program.smem_pad)
                if fitted is not None:
                    # keep the anchor's register tile where it fits the output's loops
                    carried = _with_register_tile(fitted, node, program, loops) or fitted
                    programs.setdefault(carried, {node: program})
        return programs

    def _chosen(self, node: Node) -> RProgram:
        """The program ``node``'s current kernel gives it (Roller's, until a connection
        re-tiles it)."""
        return self.kernels[node].programs.get(node, node.program)

    def _programs(self, members, output, levels, program: RProgram, anchors: dict, stages):
        """Every member's rProgram for an output tile: the regions propagated back, reduction
        stages from the anchor program the tile came from (else from ``stages(member)``),
        register tiles fitted to the regions."""
        tile_sizes = {loop: program.tile("smem").shape[loop] for loop in output.space.par_loops}
        regions = self._regions(members, output, levels, tile_sizes)
        if regions is None:
            return None
        programs = {output: program}
        for node in members:
            if node is output:
                continue
            staged = anchors.get(node) or stages(node)
            reduction = staged.tile("smem").shape
            block = tuple(
                regions[node].extents[loop]
                if node.space.parallel[loop]
                else min(reduction[loop], node.space.extents[loop])
                for loop in range(len(node.space.extents))
            )
            if _inline(node, members, levels):  # evaluated where it is read: no threads
                fitted = Config(block, block, node.program.smem_pad).to_rprogram()
            else:
                fitted = _own_register_tile(node, block)
                fitted = fitted or _program(node, block, node.program.smem_pad)
            if fitted is None:
                return None
            programs[node] = fitted
        return programs

    def _regions(self, members, output, levels, tile_sizes: dict[int, int]) -> dict | None:
        """Every member's region for an output tile (memoized: candidates that differ only
        in register tiles or stages share it), or None when none propagates."""
        key = (
            tuple(node.index for node in members),
            output.index,
            tuple(sorted((e.producer.index, e.consumer.index, e.operand) for e in levels)),
            tuple(sorted(tile_sizes.items())),
        )
        if key not in self._propagated:
            reads: dict[Node, list[Read]] = {node: [] for node in members}
            for edge in levels:
                reads[edge.producer].append(Read(edge.consumer, edge.forms))
            try:
                self._propagated[key] = propagate(
                    members,
                    output,
                    tile_sizes,
                    reads,
                    lambda n: n.space,
                    lambda n: n.output_loops(),
                )
            except PropagationError:
                self._propagated[key] = None
        return self._propagated[key]

    def _evaluate(self, members, output, levels, programs) -> float:
        """The modelled seconds of the kernel, from the lowering's own plan of it (inf when
        the lowering would refuse it). The candidate's decisions go to the planner directly,
        as the members :func:`apply` would write and the lowering read back."""
        key = _signature(members, output, levels, programs)
        if key in self._memo:
            return self._memo[key]
        grid = _grid(output, programs)
        planned = [
            Member(node.op, node.space, node.operator, program, plan, operand_levels, group)
            for node, program, plan, operand_levels, group in decisions(
                self.spec, members, output, levels, programs, "candidate", grid
            )
        ]
        try:
            kernel = plan_members("candidate", planned)
            seconds = kernel_seconds(kernel, self.spec, self.launch_seconds)
        except (PassError, ValueError) as error:
            seconds = INFEASIBLE
            self._refusals[key] = str(error).splitlines()[0] if str(error) else "refused"
        self._memo[key] = seconds
        return seconds


def decisions(spec, members, output, levels, programs, name: str, grid):
    """Per member of a kernel: (node, rProgram, plan, operand levels, group or None), what
    the kernel's lowering needs to know about it."""
    single = len(members) == 1
    result = []
    for node in members:
        program = programs[node]
        plan = plan_for(node.operator, Config.from_rprogram(program), spec.mma_shape)
        operand_levels = ["global"] * (len(node.op.operands) + len(node.space.captures))
        for edge, level in levels.items():
            if edge.consumer is node:
                operand_levels[edge.operand] = level
        group = None
        if not single:
            stored = node is output or _needed_outside(node, members)
            group = Group(name, tuple(grid), node is output, stored)
        result.append((node, program, plan, tuple(operand_levels), group))
    return result


def apply(spec, members, output, levels, programs, name: str, grid) -> None:
    """Write a kernel's decisions into the IR: programs, plans, the group, operand levels."""
    for node, program, plan, operand_levels, group in decisions(
        spec, members, output, levels, programs, name, grid
    ):
        node.op.attributes[tile.PROGRAM] = program.to_attr()
        node.op.attributes[tile.PLAN] = plan.to_attr()
        if group is not None:
            node.op.attributes[tile.GROUP] = group.to_attr()
            node.op.attributes[tile.OPERAND_LEVELS] = tile.levels_to_attr(operand_levels)


def _widened(output: Node, programs: dict[RProgram, dict]) -> list[tuple[RProgram, dict]]:
    """``programs`` each widened along one parallel loop to the loop's whole extent (a row
    statistic fused behind a contraction needs whole rows), with the anchors they came from."""
    widened: dict[RProgram, dict] = {}
    for program, anchors in programs.items():
        block = list(program.tile("smem").shape)
        for loop in output.space.par_loops:
            if block[loop] == output.space.extents[loop]:
                continue
            wide = [*block]
            wide[loop] = output.space.extents[loop]
            points = math.prod(wide[p] for p in output.space.par_loops)
            fitted = _program(output, tuple(wide), program.smem_pad)
            if points <= WIDE_POINTS and fitted is not None and fitted not in programs:
                widened.setdefault(fitted, anchors)
    return list(widened.items())


def _roller_programs(node: Node) -> list[RProgram]:
    """Roller's choice for ``node`` and its runners-up."""
    programs = [node.program]
    if tile.CANDIDATES in node.op.attributes:
        programs += Candidates.from_attr(node.op.attributes[tile.CANDIDATES]).programs
    return programs


def _aligned_loops(node: Node, output: Node, levels) -> dict[int, int] | None:
    """``node``'s parallel loops -> the output's, when a chain of register-level edges reads
    ``node``'s points one by one up to the output (an epilogue chain), else None."""
    mapping = {loop: loop for loop in node.space.par_loops}
    current = node
    while current is not output:
        step = next(
            (e for e, level in levels.items() if e.producer is current and level == "reg"
             and e.aligned() and not e.consumer.reduction),
            None,
        )  # fmt: skip
        if step is None:
            return None
        dims = current.output_loops()
        loops = [form.single_loop() for form in step.forms]
        to_consumer = {dims[d]: loop for d, loop in enumerate(loops)}
        mapping = {source: to_consumer[target] for source, target in mapping.items()}
        current = step.consumer
    return mapping


def _own_register_tile(node: Node, block: tuple[int, ...]) -> RProgram | None:
    """Roller's register tile for ``node`` over a region ``block``, when it divides it and
    the threads it implies fit a block."""
    reg = node.program.tile("reg").shape
    if any(b % r for b, r in zip(block, reg, strict=True)):
        return None
    threads = math.prod(block[loop] // reg[loop] for loop in node.space.par_loops)
    if threads > MAX_THREADS * 4:
        return None
    return Config(block, reg, node.program.smem_pad).to_rprogram()


def _with_register_tile(fitted: RProgram, node: Node, program: RProgram, loops) -> RProgram | None:
    """``fitted`` with the anchor's register tile carried over through ``loops``."""
    block = fitted.tile("smem").shape
    reg = [1] * len(block)
    for source, target in loops.items():
        reg[target] = program.tile("reg").shape[source]
    if any(b % r for b, r in zip(block, reg, strict=True)):
        return None
    return Config(block, tuple(reg), fitted.smem_pad).to_rprogram()


def _fresh_destinations(members: list[Node], output: Node) -> bool:
    """Whether every member the group stores writes a buffer whose old contents nothing in
    the group reads. A fresh one (an empty tensor, a member's result) always qualifies. Any
    other destination (a loop-carried value, a scatter's input) is updated in place by
    bufferization: it qualifies only if no member reads it (through any reshape, or inside a
    body) and the member storing it overwrites it (its body ignores the old value), since
    the group's other members run in other phases and other blocks."""
    results = {value for node in members for value in node.op.results}
    for node in members:
        if node is not output and not _needed_outside(node, members):
            continue
        for position, value in enumerate(node.op.outputs):
            owner = value.owner
            fresh = isinstance(owner, ir.OpView) and owner.operation.name == "tensor.empty"
            if fresh or value in results:
                continue
            if _reads_old_value(node, position) or value in _read_by(members, node, value):
                return False
    return True


def _reads_old_value(node: Node, position: int) -> bool:
    """Whether the body of ``node`` uses the old value of its output ``position``."""
    block = node.op.regions[0].blocks[0]
    argument = block.arguments[len(node.op.inputs) + position]
    return any(True for _ in argument.uses)


def _read_by(members: list[Node], writer: Node, destination: ir.Value) -> set[ir.Value]:
    """The values (through reshapes) the members read: every operand but ``writer``'s
    ``destination`` itself, and what their bodies read from outside."""
    read = set()
    for node in members:
        for operand in node.op.operands:
            if not (node is writer and operand == destination):
                read.add(through_reshapes(operand)[0])
        body = node.op.regions[0].blocks[0]
        for op in body.operations:
            for operand in op.operands:
                read.add(through_reshapes(operand)[0])
    return read


def _overwritten_while_read(members: list[Node]) -> bool:
    """Whether a member's destination is another member's result that something else reads
    too (a scatter's data that another operator also uses). Bufferization cannot update it
    in place, and copies it between the two members: a copy that has no place inside one
    kernel (outlining leaves it before the launch, where the producer has not run yet)."""
    results = {value for node in members for value in node.op.results}
    for node in members:
        for value in node.op.outputs:
            if value in results and any(use.owner != node.op.operation for use in value.uses):
                return True
    return False


def _needed_outside(node: Node, members: list[Node]) -> bool:
    inside = set(members)
    return node.escapes or any(edge.consumer not in inside for edge in node.outputs)


_DATA_MOVEMENT = {
    "linalg.index", "linalg.yield", "tensor.extract", "memref.load", "arith.constant",
    "arith.select", "arith.cmpi", "arith.andi", "arith.ori", "arith.addi", "arith.subi",
    "arith.muli", "arith.minsi", "arith.maxsi", "arith.remsi", "arith.divsi", "arith.index_cast",
    "tile.check",
}  # fmt: skip


def _moves_data(node: Node) -> bool:
    """A pointwise operator whose body computes nothing on the values it reads (a padding,
    a concatenation, a slice, a gather): only indices, reads, selects and index checks."""
    body = node.op.regions[0].blocks[0]
    return not node.reduction and all(op.name in _DATA_MOVEMENT for op in body.operations)


def _windowed(edge: Edge) -> bool:
    """Whether ``edge``'s consumer (a padding) feeds a window: some consumer of it reads a
    dimension at a sum of loops longer than one (a convolution's or a pool's ``oh + kh``)."""
    for out in edge.consumer.outputs:
        extents = out.consumer.space.extents
        for form in out.forms or ():
            if sum(1 for loop, _ in form.coeffs if extents[loop] > 1) > 1:
                return True
    return False


def _inline(node: Node, members: list[Node], levels: dict[Edge, str]) -> bool:
    """Whether the lowering will evaluate ``node`` where it is read (quartet-lower-tiles'
    inline role): a pointwise member needed only inside the group, read only in registers."""
    reads = [level for edge, level in levels.items() if edge.producer is node]
    return (
        not node.reduction
        and bool(reads)
        and all(level == "reg" for level in reads)
        and not _needed_outside(node, members)
    )


def _only_initializes(edge: Edge) -> bool:
    """An elementwise producer whose result only initializes this reduction's accumulator."""
    producer = edge.producer
    return (
        edge.consumer.reduction
        and not producer.reduction
        and not producer.escapes
        and all(e.consumer is edge.consumer for e in producer.outputs)
    )


def _program(node: Node, block: tuple[int, ...], pads) -> RProgram | None:
    """``block`` with a register tile fitted to it: threads spread from the innermost
    parallel loop outwards (each a divisor of the loop's extent, at most ``MAX_THREADS`` in
    all), the rest of each loop in registers; None when a thread would hold too many points."""
    reg = [1] * len(block)
    budget = MAX_THREADS
    for loop in reversed(node.space.par_loops):
        threads = max(d for d in range(1, min(block[loop], budget) + 1) if block[loop] % d == 0)
        reg[loop] = block[loop] // threads
        budget //= threads
    if math.prod(reg[loop] for loop in node.space.par_loops) > MAX_POINTS:
        return None
    config = Config(block, tuple(reg), pads)
    return config.to_rprogram()


def _signature(members, output, levels, programs) -> tuple:
    """What determines a candidate's cost, independent of which layer it comes from."""
    position = {node: i for i, node in enumerate(members)}
    return (
        tuple((n.operator, programs[n]) for n in members),
        position[output],
        tuple(
            sorted(
                (position[e.producer], position[e.consumer], e.operand, lv)
                for e, lv in levels.items()
            )
        ),  # fmt: skip
        tuple(_needed_outside(n, members) for n in members),
    )


def _grid(output: Node, programs) -> tuple[int, ...]:
    """Blocks along each parallel loop of the output operator under its program."""
    return block_grid(output.space, programs[output].tile("smem").shape)


def grid_of(kernel: Kernel) -> tuple[int, ...]:
    return _grid(kernel.output, kernel.programs)
