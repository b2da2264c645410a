"""The operator table: ONNX op type -> the function that writes it as graph-level IR.

Each op-family module registers its handlers with :func:`op`; a handler gets a
:class:`~quartet.frontend.onnx.context.NodeContext` and returns the node's output tensors.
"""

from __future__ import annotations

from collections.abc import Callable

HANDLERS: dict[str, Callable] = {}

# Inputs that must be known at compile time (static shapes): op type -> input positions.
COMPILE_TIME_INPUTS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,),
    "Expand": (1,),
    "Slice": (1, 2, 3, 4),
    "Squeeze": (1,),
    "Unsqueeze": (1,),
    "Split": (1,),
    "Tile": (1,),
    "Pad": (1, 2, 3),
    "ConstantOfShape": (0,),
    "Range": (0, 1, 2),
    "ReduceSum": (1,),
    "ReduceMean": (1,),
    "ReduceMax": (1,),
    "ReduceMin": (1,),
    "ReduceProd": (1,),
    "ReduceL1": (1,),
    "ReduceL2": (1,),
    "ReduceSumSquare": (1,),
    "ReduceLogSum": (1,),
    "ReduceLogSumExp": (1,),
    "Dropout": (1, 2),
    "Loop": (0,),
}


# Operators refused for a reason the user should read: their output shape depends on the input
# values, which a compiler of static-shape programs cannot allocate ahead of time.
DATA_DEPENDENT = "its output shape depends on the input values (static shapes only)"
REFUSED: dict[str, str] = {
    "NonMaxSuppression": f"{DATA_DEPENDENT}: the number of boxes kept",
    "Unique": f"{DATA_DEPENDENT}: the number of distinct elements",
    "NonZero": f"{DATA_DEPENDENT}: the number of non-zero elements",
}


def op(*op_types: str, compile_time: tuple[int, ...] = ()):
    """Register the decorated function as the handler of ``op_types`` (default domain);
    ``compile_time`` lists the input positions that must be known at compile time."""

    def register(handler: Callable) -> Callable:
        for op_type in op_types:
            HANDLERS[op_type] = handler
            if compile_time:
                COMPILE_TIME_INPUTS[op_type] = compile_time
        return handler

    return register


def supported_ops() -> list[str]:
    """Every op type the importer handles (importing the op-family modules registers them)."""
    from quartet.frontend.onnx import ops  # noqa: F401 - registration side effect

    return sorted(HANDLERS)


def compile_time_inputs(graph) -> set[str]:
    """Names of the graph inputs (and values) that must be known at compile time: those used
    where a static value is required, and everything such a value is computed from."""
    from quartet.frontend.onnx.importer import all_nodes

    nodes = list(all_nodes(graph))  # subgraphs too: their nodes may read outer values
    producers = {output: node for node in nodes for output in node.output if output}
    wanted: set[str] = set()
    pending = [
        node.input[position]
        for node in nodes
        for position in COMPILE_TIME_INPUTS.get(node.op_type, ())
        if position < len(node.input) and node.input[position]
    ]
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        producer = producers.get(name)
        if producer is None or producer.op_type in ("Shape", "Size"):
            continue
        pending.extend(n for n in producer.input if n)
        for attribute in producer.attribute:  # an If/Loop result comes from its subgraphs
            if attribute.type == attribute.GRAPH:
                pending.extend(value.name for value in attribute.g.output)
    return wanted
