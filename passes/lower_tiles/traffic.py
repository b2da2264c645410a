"""The global-memory traffic of a kernel, counted from its plan: every load and store the
lowering emits, summed over every block of the grid.

The counts follow what the built loops execute, so the PTX emulator's counters can check them:

- a reduction's reads at a point (an accumulator's initial value, an unstaged input per step)
  execute for every point of the region, the points past the operator's edge included (they
  read clamped positions);
- a pointwise phase, an epilogue and a store run only at points inside the operator, so their
  reads count those points alone;
- a staging copy loads each element of a stage's footprint that lies inside the operand (the
  rest is written as zero without a load), for every block and every stage;
- a store executes for every point inside the operator (never past its edge);
- an operand read through an inline producer costs that producer's own reads, per read; one
  read from a producer's shared buffer costs nothing in global memory; a body that reads an
  outer buffer itself (a gather, a padding's clamped read) loads once per evaluation.

Neighbouring blocks that re-read a halo, or the same weights, are counted every time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import product

from mlir import ir

from quartet.passes.lower_tiles.plan import INLINE, KernelPlan, Member, register_operands
from quartet.welder.propagate import compose

Traffic = dict[ir.Value, list[int]]  # a global buffer -> [bytes loaded, bytes stored]


def kernel_traffic(kernel: KernelPlan) -> Traffic:
    """Bytes each global buffer of ``kernel`` loads and stores, over the whole grid."""
    counts: Traffic = defaultdict(lambda: [0, 0])
    for phase in kernel.phases:
        _Counter(kernel, counts).phase(phase)
    return dict(counts)


class _Counter:
    def __init__(self, kernel: KernelPlan, counts: Traffic):
        self.kernel, self.counts = kernel, counts
        self.blocks = math.prod(kernel.grid)

    def points(self, member: Member) -> int:
        """Points one block's region of ``member`` has (its padded tile)."""
        return math.prod(member.block_tile[loop] for loop in member.par_loops)

    def phase(self, member: Member) -> None:
        everywhere = self.blocks * self.points(member)
        inside = self.inside(member)
        inputs = len(member.inputs)
        if member.red_loops:
            for out in range(len(member.outputs)):
                self.read(member, inputs + out, everywhere)
            steps = math.prod(member.extents[loop] for loop in member.red_loops)
            for i in range(inputs):
                if i in member.plan.staged:
                    self.staged(member, i)
                else:
                    self.read(member, i, everywhere * steps)
            self.captured(member, everywhere * steps)
        else:
            self.evaluation(member, inside)
        self.store(member, inside)
        for epilogue in member.epilogue:
            held = {operand for operand, _ in register_operands(epilogue)}
            for i in range(len(epilogue.inputs)):
                if i not in held:
                    self.read(epilogue, i, inside)
            self.outputs_read(epilogue, inside)
            self.captured(epilogue, inside)
            self.store(epilogue, inside)

    def evaluation(self, member: Member, count: int) -> None:
        """``count`` evaluations of a pointwise member's body."""
        for i in range(len(member.inputs)):
            self.read(member, i, count)
        self.outputs_read(member, count)
        self.captured(member, count)

    def outputs_read(self, member: Member, count: int) -> None:
        """Out arguments the body reads (their initial values)."""
        arguments = member.op.regions[0].blocks[0].arguments
        for out in range(len(member.outputs)):
            if list(arguments[len(member.inputs) + out].uses):
                self.read(member, len(member.inputs) + out, count)

    def read(self, member: Member, operand: int, count: int) -> None:
        """``count`` reads of operand ``operand`` of ``member``."""
        value = member.op.operands[operand]
        if not isinstance(value.type, ir.ShapedType):
            return
        producer = member.producers.get(operand)
        level = member.levels[operand]
        if producer is None or level == "global":
            self.counts[value][0] += count * _bytes(value)
        elif producer.role == INLINE:
            self.evaluation(producer, count)

    def captured(self, member: Member, count: int) -> None:
        """Reads of outer buffers inside the body (gathers, paddings), one per evaluation:
        a load from global memory, or what the in-kernel producer costs where it is read."""
        first = len(member.op.operands)
        for j, read in enumerate(member.space.reads):
            producer = member.producers.get(first + j)
            if producer is None:
                source = read.operands[0]
                self.counts[source][0] += count * _bytes(source)
            elif producer.role == INLINE:
                self.evaluation(producer, count)

    def staged(self, member: Member, i: int) -> None:
        """The cooperative copies of input ``i``: in-operand elements of every stage."""
        value = member.inputs[i]
        shape = ir.ShapedType(value.type).shape
        stages = {
            loop: math.ceil(member.extents[loop] / member.block_tile[loop])
            for loop in member.red_loops
        }
        factors = []
        for form, size in zip(member.space.forms[i], shape, strict=True):
            span = form.span(member.block_tile)
            start = compose(form, member.origin)
            reductions = {loop: coeff for loop, coeff in form.coeffs if loop in stages}
            factors.append((start, reductions, _counter(size, span)))
        elements = self.sum_over(factors, stages, member)
        producer = member.producers.get(i)
        if producer is not None and member.levels[i] != "global":
            if producer.role == INLINE:
                self.evaluation(producer, elements)
            return
        self.counts[value][0] += elements * _bytes(value)

    def inside(self, member: Member) -> int:
        """Points of every block's region that lie inside ``member``."""
        factors = [
            (member.origin[loop], {}, _counter(member.extents[loop], member.block_tile[loop]))
            for loop in member.par_loops
        ]
        return self.sum_over(factors, {}, member)

    def store(self, member: Member, points: int) -> None:
        """The stores of ``member``'s ``points`` (its phase's points inside it)."""
        if not member.global_output:
            return
        for value in member.outputs:
            self.counts[value][1] += points * _bytes(value)

    def sum_over(self, factors, stages: dict[int, int], member: Member) -> int:
        """Sum over every block (and stage) of the product of ``factors``; each factor is
        (origin over the grid, reduction-loop coefficients, count at a position)."""
        grid, sizes = self.kernel.grid, self.kernel.tile_sizes
        values = {("grid", p): [b * sizes[p] for b in range(grid[p])] for p in range(len(grid))}
        values.update(
            {
                ("stage", loop): [s * member.block_tile[loop] for s in range(n)]
                for loop, n in stages.items()
            }
        )
        used = [
            {("grid", p) for p, _ in origin.coeffs} | {("stage", loop) for loop in reductions}
            for origin, reductions, _ in factors
        ]
        total = 1
        remaining = set(values)
        for component in _components(used):
            variables = sorted(component)
            members = [k for k, u in enumerate(used) if u & component]
            subtotal = 0
            for point in product(*(values[v] for v in variables)):
                at = dict(zip(variables, point, strict=True))
                term = 1
                for k in members:
                    origin, reductions, count = factors[k]
                    position = origin.constant + sum(c * at[("grid", p)] for p, c in origin.coeffs)
                    position += sum(c * at[("stage", loop)] for loop, c in reductions.items())
                    term *= count(position)
                subtotal += term
            total *= subtotal
            remaining -= component
        for k, u in enumerate(used):
            if not u:
                origin, _, count = factors[k]
                total *= count(origin.constant)
        for variable in remaining:
            total *= len(values[variable])
        return total


def _components(used: list[set]) -> list[set]:
    """The variables the factors share, joined into independent groups."""
    groups: list[set] = []
    for variables in used:
        if not variables:
            continue
        merged = set(variables)
        for group in [g for g in groups if g & merged]:
            merged |= group
            groups.remove(group)
        groups.append(merged)
    return groups


def _counter(size: int, span: int):
    """Positions of a ``span``-wide window inside ``[0, size)``, as a function of its origin."""
    return lambda origin: _inside(size, origin, span)


def _inside(size: int, origin: int, span: int) -> int:
    """Positions of ``[origin, origin + span)`` inside ``[0, size)``."""
    return max(0, min(size, origin + span) - max(0, origin))


def _bytes(value: ir.Value) -> int:
    element = ir.ShapedType(value.type).element_type
    return max(1, getattr(element, "width", 8) // 8)


TRAFFIC = "tile.traffic"


def traffic_attr(kernel: KernelPlan, arguments) -> ir.Attribute:
    """``tile.traffic`` for the block loop: loaded and stored bytes per argument of the
    function that holds the kernel (``array<i64: loaded0, stored0, loaded1, ...>``)."""
    counts = kernel_traffic(kernel)
    flat = []
    for argument in arguments:
        loaded, stored = counts.get(argument, [0, 0])
        flat += [loaded, stored]
    return ir.DenseI64ArrayAttr.get(flat)


MEMBERS = "tile.members"


def members_attr(kernel: KernelPlan, arguments) -> ir.Attribute:
    """``tile.members`` for the block loop: per operator of the kernel (program order) its
    kind and iteration space, its role, its rProgram, its numbers of inputs and outputs, the
    memory level of each operand (inputs, then outputs, then captured reads), where each
    operand comes from (``{member = k}``: the kernel's k-th operator; ``{argument = j}``:
    argument j of the function that holds the kernel; ``{}``: neither, a constant, or an
    output the body only writes) and the arguments it stores its result into:

        {operator = "contraction 64x128x256", role = "phase", program = #tile.rprogram<...>,
         inputs = 2, outputs = 1, levels = ["global", "global", "reg"],
         sources = [{argument = 0}, {argument = 1}, {member = 0}], stores = array<i64: 2>}
    """
    arguments = list(arguments)
    i64 = ir.IntegerType.get_signless(64)
    entries = []
    for member in kernel.members:
        fields = {
            "operator": ir.StringAttr.get(member.operator.summary),
            "role": ir.StringAttr.get(member.role),
            "program": member.program.to_attr(),
            "inputs": ir.IntegerAttr.get(i64, len(member.inputs)),
            "outputs": ir.IntegerAttr.get(i64, len(member.outputs)),
            "levels": ir.ArrayAttr.get([ir.StringAttr.get(level) for level in member.levels]),
            "sources": ir.ArrayAttr.get(
                [_source(kernel, member, index, arguments) for index in range(len(member.levels))]
            ),
            "stores": ir.DenseI64ArrayAttr.get(
                [arguments.index(value) for value in member.outputs if value in arguments]
                if member.global_output
                else []
            ),
        }
        entries.append(ir.DictAttr.get(fields))
    return ir.ArrayAttr.get(entries)


def _source(kernel: KernelPlan, member: Member, index: int, arguments: list) -> ir.Attribute:
    """Where operand ``index`` of ``member`` comes from (see :func:`members_attr`); an output
    its body never reads (it only writes it) comes from nowhere."""
    i64 = ir.IntegerType.get_signless(64)
    if not _read(member, index):
        return ir.DictAttr.get({})
    if index in member.producers:
        position = kernel.members.index(member.producers[index])
        return ir.DictAttr.get({"member": ir.IntegerAttr.get(i64, position)})
    value = member.accessed[index]
    if value in arguments:
        return ir.DictAttr.get({"argument": ir.IntegerAttr.get(i64, arguments.index(value))})
    return ir.DictAttr.get({})


def _read(member: Member, index: int) -> bool:
    """Whether ``member`` reads operand ``index``: every input and captured read does, an
    output only where its body uses the output's current value (an accumulator)."""
    first, end = len(member.inputs), len(member.inputs) + len(member.outputs)
    if not first <= index < end:
        return True
    value = member.op.regions[0].blocks[0].arguments[index]
    return any(True for _ in value.uses)
