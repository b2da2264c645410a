"""Welder's tile-graph: operators as nodes, the tensors between them as edges.

Built from one block of graph-level IR (``linalg.generic`` on tensors, each carrying Roller's
``tile.program``): a node per tiled generic, an edge per consumer operand that a node produces,
directly or through reshapes (``tensor.collapse_shape``/``expand_shape``). An edge carries the
consumer's access to the producer's result as linear forms over the consumer's loops: the
indexing map, composed with the reshapes where the composition stays affine (a reshape that
splits or merges dimensions without a dimension straddling two). An edge whose access is not
affine is *cut*: it can only go through global memory. A body that reads a node's result itself
(``tensor.extract``) at indices that are linear forms of its loops, each clamped into the
result (a padding), is an edge too, numbered after the consumer's operands; at indices
computed otherwise (a gather), or of a reshape of the result (Concat's reads of Unsqueezes),
a cut edge. A node whose result anything other than a node uses (the function's return, a
loop's yield, an op Quartet does not tile) *escapes*: its result is always written to global
memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir

from quartet.diagnostics import source_name
from quartet.dialects import tile
from quartet.dialects.tile import Plan, RProgram
from quartet.passes.iteration_space import IterationSpace, Linear
from quartet.roller import Operator, describe

RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape")


@dataclass(eq=False)
class Node:
    """One tiled operator."""

    op: ir.OpView
    index: int  # program order in its block (a topological order)
    space: IterationSpace
    operator: Operator
    program: RProgram
    plan: Plan
    inputs: list[Edge] = field(default_factory=list)  # edges into this node, by operand
    outputs: list[Edge] = field(default_factory=list)
    escapes: bool = False
    depends: set[Node] = field(default_factory=set)  # nodes whose results it uses, at all

    @property
    def name(self) -> str:
        """The name of the ONNX node the operator came from (its location), else ``op<i>``."""
        return source_name(self.op.location) or f"op{self.index}"

    @property
    def label(self) -> str:
        """The name and what the operator is: ``op3 (contraction 64x128x256)``."""
        return f"{self.name} ({self.operator.summary})"

    @property
    def reduction(self) -> bool:
        return bool(self.space.red_loops)

    def output_loops(self) -> list[int]:
        """The loop indexing each dimension of the result."""
        return [form.single_loop() for form in self.space.forms[len(self.op.inputs)]]

    def unbounded_producers(self) -> set[Node]:
        """The nodes whose results this one uses other than through an affine edge (a
        gather's table, a value passed through an op Quartet does not tile): nothing bounds
        what it reads of them."""
        return self.depends - {edge.producer for edge in self.inputs if not edge.cut}

    @property
    def is_fill(self) -> bool:
        """A pointwise operator that reads nothing but scalars (``linalg.fill``)."""
        return not self.reduction and all(a is None for a in self.operator.inputs)


@dataclass(eq=False)
class Edge:
    producer: Node
    consumer: Node
    operand: int  # operand index in the consumer (inputs, then outputs)
    forms: tuple[Linear, ...] | None  # producer's result dims over the consumer's loops
    views: tuple[ir.Operation, ...] = ()  # reshapes between them, producer first

    @property
    def cut(self) -> bool:
        return self.forms is None

    @property
    def is_init(self) -> bool:
        """The producer gives the consumer's accumulator its initial value."""
        return len(self.consumer.op.inputs) <= self.operand < len(self.consumer.op.operands)

    @property
    def captured(self) -> bool:
        """The consumer reads the producer inside its body, at computed indices that are
        linear forms of its loops clamped into the result (a padding)."""
        return self.operand >= len(self.consumer.op.operands)

    def aligned(self) -> bool:
        """The consumer reads the producer at exactly the points it computes (every loop of
        the consumer indexes one result dimension, every dimension one loop)."""
        if self.forms is None:
            return False
        loops = [form.single_loop() for form in self.forms]
        return None not in loops and sorted(loops) == list(range(len(self.consumer.space.extents)))


@dataclass
class TileGraph:
    nodes: list[Node]
    edges: list[Edge]


def tile_graph(block: ir.Block) -> TileGraph:
    """The tile-graph of the tiled generics directly in ``block``."""
    nodes: list[Node] = []
    producers: dict[ir.Value, Node] = {}
    for op in block.operations:
        if op.operation.name != "linalg.generic" or tile.PROGRAM not in op.attributes:
            continue
        node = Node(
            op.opview if hasattr(op, "opview") else op,
            len(nodes),
            IterationSpace.of(op),
            describe(op),
            RProgram.from_attr(op.attributes[tile.PROGRAM]),
            Plan.from_attr(op.attributes[tile.PLAN]),
        )
        nodes.append(node)
        for result in op.results:
            producers[result] = node
    edges = []
    for node in nodes:
        for operand, value in enumerate(node.op.operands):
            source, views = through_reshapes(value)
            producer = producers.get(source)
            if producer is None:
                continue
            forms = _composed(node, operand, source, value)
            edge = Edge(producer, node, operand, forms, views)
            edges.append(edge)
            node.inputs.append(edge)
            producer.outputs.append(edge)
        first = len(node.op.operands)
        for j, read in enumerate(node.space.reads):
            source, views = through_reshapes(read.operands[0])
            producer = producers.get(source)
            if producer is not None and producer is not node:
                # a read of a reshape of the result inside the body goes through global memory
                forms = None if views else node.space.captures[j]
                edge = Edge(producer, node, first + j, forms, views)
                edges.append(edge)
                node.inputs.append(edge)
                producer.outputs.append(edge)
    for node in nodes:
        node.escapes = _escapes(node, nodes)
        node.depends = _dependencies(node, producers)
    return TileGraph(nodes, edges)


def _dependencies(node: Node, producers: dict[ir.Value, Node]) -> set[Node]:
    """The nodes whose results ``node`` uses: as operands, in its body (a gather's table),
    through any ops in between."""
    found: set[Node] = set()
    pending = list(node.op.operands)

    def visit(op: ir.Operation) -> ir.WalkResult:
        pending.extend(op.operands)
        return ir.WalkResult.ADVANCE

    node.op.operation.walk(visit)
    seen: set[ir.Value] = set()
    while pending:
        value = pending.pop()
        if value in seen:
            continue
        seen.add(value)
        if value in producers:
            if producers[value] is not node:
                found.add(producers[value])
            continue
        owner = value.owner
        if isinstance(owner, ir.OpView) and owner.operation.name != "func.func":
            pending.extend(owner.operands)
    return found


def through_reshapes(value: ir.Value) -> tuple[ir.Value, tuple[ir.Operation, ...]]:
    """The value ``value`` reshapes (through any chain of reshapes), and the chain."""
    views = []
    while isinstance(value.owner, ir.OpView) and value.owner.operation.name in RESHAPES:
        views.append(value.owner.operation)
        value = value.owner.operands[0]
    return value, tuple(reversed(views))


def _escapes(node: Node, nodes: list[Node]) -> bool:
    """Whether anything but a tiled node (through reshapes) uses the node's result."""
    members = {n.op.operation for n in nodes}
    pending = list(node.op.results)
    while pending:
        value = pending.pop()
        for use in value.uses:
            user = use.owner.operation if hasattr(use.owner, "operation") else use.owner
            if user.name in RESHAPES:
                pending.extend(user.results)
            elif user not in members and not _inside(user, members):
                return True
    return False


def _inside(op: ir.Operation, members: set) -> bool:
    """Whether ``op`` is nested in the body of one of ``members`` (a captured read)."""
    parent = op.parent
    while parent is not None:
        if parent.operation in members:
            return True
        parent = parent.parent
    return False


def _composed(node: Node, operand: int, source: ir.Value, value: ir.Value):
    """The consumer's access to ``source`` (its producer's result) through the reshapes from
    ``source`` to the operand ``value``, or None when it is not affine."""
    forms = node.space.forms[operand]
    if source == value:
        return forms
    return reshape_forms(
        tuple(ir.ShapedType(value.type).shape), tuple(ir.ShapedType(source.type).shape), forms
    )


def reshape_forms(shape: tuple[int, ...], base: tuple[int, ...], forms) -> tuple | None:
    """Forms over ``base``'s dimensions from ``forms`` over ``shape``'s, where ``shape`` is a
    row-major reshape of ``base``: each dimension of ``shape`` must lie within one dimension of
    ``base`` (a split or a merge), else None."""
    strides = _strides(shape)
    base_strides = _strides(base)
    terms: list[list[tuple[int, Linear]]] = [[] for _ in base]
    for dim, (size, stride) in enumerate(zip(shape, strides, strict=True)):
        if size == 1:
            continue
        owner = None
        for k, (bsize, bstride) in enumerate(zip(base, base_strides, strict=True)):
            if bstride <= stride and stride * size <= bstride * bsize and stride % bstride == 0:
                owner = k
                break
        if owner is None:
            return None
        terms[owner].append((stride // base_strides[owner], forms[dim]))
    return tuple(_sum(scaled) for scaled in terms)


def _strides(shape: tuple[int, ...]) -> list[int]:
    return [math.prod(shape[i + 1 :]) for i in range(len(shape))]


def _sum(scaled: list[tuple[int, Linear]]) -> Linear:
    coeffs: dict[int, int] = {}
    constant = 0
    for factor, form in scaled:
        constant += factor * form.constant
        for loop, coeff in form.coeffs:
            coeffs[loop] = coeffs.get(loop, 0) + factor * coeff
    return Linear(tuple(sorted(coeffs.items())), constant)
