"""Reading an operand where its kernel keeps it, and evaluating an operator's body at a point.

A member reads operand ``i`` at its loop indices through the operand's indexing map; the
resulting position (one index per dimension of the operand) is then read from:

- global memory (level "global", or any operand no member of the kernel writes): a load from
  the buffer;
- the shared-memory buffer its producer filled over its region (level "smem"): a load at the
  position minus the producer's region origin;
- its producer's body (level "reg" from an inline producer): the producer evaluated at the
  position, its own operands read the same way, recursively.

A body's captured reads (a padding's ``tensor.extract`` at clamped linear indices, numbered
after the operands) are read the same way when their producer is in the kernel.

Values a phase holds in registers (its accumulators, and the epilogues computed from them)
never come through here: the epilogue builder hands them over directly.
"""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir
from mlir.dialects import arith, memref

from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.passes.iteration_space import Linear
from quartet.passes.lower_tiles.plan import INLINE, KernelPlan, Member
from quartet.passes.lower_tiles.shared import SharedMemory


def evaluate(form: Linear, index: dict[int, ir.Value], constant: bool = True) -> ir.Value:
    """``sum(coeff * index[loop]) (+ constant)`` as index arithmetic."""
    value = None
    for loop, coeff in form.coeffs:
        term = b.mul(index[loop], coeff)
        value = term if value is None else arith.addi(value, term)
    offset = form.constant if constant else 0
    if value is None:
        return b.const_index(offset)
    return b.add(value, offset)


class Reader:
    """Reads members' operands from global memory, shared buffers or inline producers."""

    def __init__(
        self, kernel: KernelPlan, origins: dict[Member, dict[int, ir.Value]], memory: SharedMemory
    ):
        self.kernel, self.origins, self.memory = kernel, origins, memory

    def operand(self, member: Member, operand: int, index: dict[int, ir.Value]) -> ir.Value:
        """Operand ``operand`` of ``member`` at loop indices ``index`` (positions along loops
        that may run past the operand's edge are clamped into it)."""
        value = member.op.operands[operand]
        if not isinstance(value.type, ir.MemRefType):
            return value
        return self.at(member, operand, self.position(member, operand, index))

    def position(self, member: Member, operand: int, index: dict[int, ir.Value]):
        """The operand's indices at ``index``, clamped (signed) into the operand along the
        loops that leave the member: a halo position before the start reads element 0, not
        (as an unsigned clamp would) the last element."""
        shape = ir.MemRefType(member.op.operands[operand].type).shape
        padded = self.kernel.padded(member)
        position = []
        for form, size in zip(member.space.forms[operand], shape, strict=True):
            value = evaluate(form, index)
            if any(loop in padded for loop in form.loops):
                value = b.clamp(value, size)
            position.append(value)
        return position

    def at(self, member: Member, operand: int, position: list[ir.Value]) -> ir.Value:
        """Operand ``operand`` of ``member`` at ``position`` (its own indices)."""
        producer = member.producers.get(operand)
        level = member.levels[operand]
        if producer is None or level == "global":
            return memref.load(member.op.operands[operand], position)
        if level == "smem":
            return memref.load(self.memory.result(producer), self.shared_index(producer, position))
        if producer.role == INLINE:
            loops = producer.output_loops()
            return self.evaluate(producer, dict(zip(loops, position, strict=True)))[0]
        raise PassError(
            f"operand #{operand} is held in registers by another phase's thread", member.op
        )

    def shared_index(self, producer: Member, position: list[ir.Value]) -> list[ir.Value]:
        """A position in ``producer``'s output, in its shared buffer (relative to its region)."""
        origin = self.origins[producer]
        return [
            arith.subi(value, origin[loop])
            for value, loop in zip(position, producer.output_loops(), strict=True)
        ]

    def evaluate(self, member: Member, index: dict[int, ir.Value]) -> list[ir.Value]:
        """``member``'s body at loop indices ``index``, every operand read where it lives."""
        operands = [self.operand(member, i, index) for i in range(len(member.inputs))]
        operands += [self.initial(member, j, index) for j in range(len(member.outputs))]
        return self.body(member, operands, index)

    def body(self, member: Member, operands: list[ir.Value | None], index: dict[int, ir.Value]):
        """``member``'s body at ``index`` on ``operands`` (:func:`clone_body`), its captured
        reads of in-kernel producers read where their levels say.

        A point of a padded region (past the operator's edge, or before its start) is never
        stored, but its body still runs: its ``linalg.index`` values are clamped into the
        operator, so a read through computed indices happens at a point of the operator,
        where the importer keeps it inside the value it reads."""
        first = len(member.op.operands)
        clamped = self.kernel.padded(member) & _indexed_loops(member)
        index = {
            loop: b.clamp(value, member.extents[loop]) if loop in clamped else value
            for loop, value in index.items()
        }

        def captured(j: int, position: list[ir.Value]) -> ir.Value | None:
            if first + j not in member.producers:
                return None  # from global memory: the read as it is
            return self.at(member, first + j, position)

        return clone_body(member, operands, index, captured)

    def initial(self, member: Member, output: int, index: dict[int, ir.Value]) -> ir.Value | None:
        """The value output ``output`` holds before ``member`` computes it (what its body's out
        argument reads), or None when the body never reads it."""
        body = member.op.regions[0].blocks[0]
        argument = body.arguments[len(member.inputs) + output]
        if not list(argument.uses):
            return None
        return self.operand(member, len(member.inputs) + output, index)


def _indexed_loops(member: Member) -> set[int]:
    """The loops whose index ``member``'s body reads (``linalg.index``)."""
    body = member.op.regions[0].blocks[0]
    return {
        ir.IntegerAttr(op.attributes["dim"]).value
        for op in body.operations
        if op.name == "linalg.index"
    }


def clone_body(
    member: Member,
    operands: list[ir.Value | None],
    index: dict[int, ir.Value],
    captured: Callable[[int, list[ir.Value]], ir.Value | None] | None = None,
):
    """Clone ``member``'s scalar body at the insertion point; return the yielded values.

    ``linalg.index`` becomes the loop index of the point; values defined outside the operator
    (buffers read with computed indices) are used as they are, except that the ``j``-th
    captured read becomes ``captured(j, position)`` where that gives a value. An operand
    given as None is one the body never reads.
    """
    body = member.op.regions[0].blocks[0]
    mapping = {
        argument: value
        for argument, value in zip(body.arguments, operands, strict=True)
        if value is not None
    }
    reads = {read.operation: j for j, read in enumerate(member.space.reads)}
    for op in body.operations:
        if op.name == "linalg.yield":
            return [mapping.get(v, v) for v in op.operands]
        if op.name == "linalg.index":
            mapping[op.results[0]] = index[ir.IntegerAttr(op.attributes["dim"]).value]
            continue
        if op.operation in reads and captured is not None:
            position = [mapping.get(v, v) for v in list(op.operands)[1:]]
            value = captured(reads[op.operation], position)
            if value is not None:
                mapping[op.results[0]] = value
                continue
        clone = op.clone()
        for old, new in mapping.items():
            clone.operation.replace_uses_of_with(old, new)
        for old, new in zip(op.results, clone.results, strict=True):
            mapping[old] = new
    raise PassError("operator body has no linalg.yield", member.op)
