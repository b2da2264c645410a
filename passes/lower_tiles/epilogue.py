"""Where a computed point goes: its sinks, then the epilogue chain at the same point.

A phase's value at a point is stored to the member's buffer in global memory when the kernel
must write it, and into its shared buffer (at the position relative to the region origin) when
a later phase reads it there; points past the operator's edge are never stored. Then each
epilogue of the phase runs at that point, in program order: its loop indices are the point's
(permuted), the operands it reads in registers are the values just computed, the others are
read where they live, and its result goes to its own sinks in turn. Only values needed outside
the kernel reach global memory.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import memref

from quartet.passes import builder as b
from quartet.passes.lower_tiles.plan import Member, epilogue_indices, register_operands
from quartet.passes.lower_tiles.sources import evaluate


def store(phase, values: list[ir.Value], index: dict[int, ir.Value]) -> None:
    """Store the phase member's ``values`` at loop indices ``index``, then run its epilogues,
    all only at points inside the operator (the epilogues cover the same points)."""
    with b.only_if(inside(phase, phase.member, index)):
        _store_chain(phase, values, index)


def inside(phase, member: Member, index: dict[int, ir.Value]) -> ir.Value | None:
    """Whether the point ``index`` lies inside ``member`` (None: every point does)."""
    padded = phase.kernel.padded(member)
    bounds = [(index[loop], member.extents[loop]) for loop in member.par_loops if loop in padded]
    return b.all_less_than(bounds)


def _store_chain(phase, values: list[ir.Value], index: dict[int, ir.Value]) -> None:
    member = phase.member
    indices = {member: index}
    results = {member: values}
    sink(phase, member, values, index)
    for epilogue in member.epilogue:
        at = epilogue_indices(epilogue, indices)
        held = {
            operand: _held_value(epilogue, operand, producer, results)
            for operand, producer in register_operands(epilogue)
        }
        operands = [
            held[i] if i in held else phase.reader.operand(epilogue, i, at)
            for i in range(len(epilogue.inputs))
        ]
        operands += [phase.reader.initial(epilogue, j, at) for j in range(len(epilogue.outputs))]
        results[epilogue] = phase.reader.body(epilogue, operands, at)
        indices[epilogue] = at
        sink(phase, epilogue, results[epilogue], at)


def _held_value(epilogue: Member, operand: int, producer: Member, results) -> ir.Value:
    """The register value of ``producer`` that ``epilogue``'s operand reads (the producer's
    output written to that buffer)."""
    buffer = epilogue.op.operands[operand]
    return results[producer][producer.outputs.index(buffer)]


def sink(phase, member: Member, values: list[ir.Value], index: dict[int, ir.Value]) -> None:
    """``member``'s values at ``index`` (a point inside it) into global memory and/or its
    shared buffer."""
    for out, value in enumerate(values):
        operand = len(member.inputs) + out
        position = [evaluate(form, index) for form in member.space.forms[operand]]
        if member.global_output:
            memref.store(value, member.outputs[out], position)
        if member.shared_output and out == 0:
            shared = phase.reader.memory.result(member)
            memref.store(value, shared, phase.reader.shared_index(member, position))
