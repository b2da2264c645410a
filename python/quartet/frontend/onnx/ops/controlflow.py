"""Control flow: If and Loop as ``scf.if``/``scf.for``/``scf.while`` on tensors (the
controlflow form: each construct carries ``controlflow.placement = #controlflow.device<"grid">``,
the device placement quartet-grinder confirms or takes back on the loop-level form).

    Loop(M=8, cond="", v0) with body (i, cond, v) -> (cond, v')
      -> %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%v = %v0) -> (tensor<..>) {
           <body>; scf.yield %v' } {controlflow.placement = #controlflow.device<"grid">}

A loop whose condition the body computes, or whose trip count M is fed at run time, becomes
``scf.while`` (M read once before it), which copies its carried values into their buffers each
iteration; a loop with a static trip count is
:func:`~quartet.frontend.onnx.ops.loops.static_for` (double-buffered carried values, scan
outputs written row by row; scan outputs need a static trip count). An If on a compile-time
condition imports only the taken branch.
"""

from __future__ import annotations

import numpy as np
import onnx

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Tensor, Writer, scalar_type
from quartet.frontend.onnx.ops.batching import batch_over_iterations
from quartet.frontend.onnx.ops.loops import (
    PLACEMENT,
    hoist_invariant_nodes,
    into,
    loop_results,
    static_for,
    write_row,
    yield_values,
)
from quartet.frontend.onnx.registry import op


def subgraph(ctx: NodeContext, name: str) -> onnx.GraphProto:
    for attribute in ctx.node.attribute:
        if attribute.name == name and attribute.type == onnx.AttributeProto.GRAPH:
            return attribute.g
    raise ctx.error(f"missing subgraph attribute '{name}'")


def _condition(ctx: NodeContext, tensor: Tensor, writer: Writer) -> str:
    """The i1 value of a 1-element tensor of any rank (read on the host)."""
    if tensor.size != 1:
        raise ctx.error(f"the condition has {tensor.size} elements, not 1")
    zero = writer.assign("arith.constant 0 : index")
    indices = ", ".join([zero] * len(tensor.ir_shape))
    element = writer.assign(f"tensor.extract {ctx.emit.ssa(tensor)}[{indices}] : {tensor.type}")
    if tensor.dtype == np.bool_:
        return writer.assign(f"arith.trunci {element} : i8 to i1")
    null = writer.assign(f"arith.constant {0} : {scalar_type(tensor.dtype)}")
    return writer.assign(f"arith.cmpi ne, {element}, {null} : {scalar_type(tensor.dtype)}")


def _trip_count(ctx: NodeContext, tensor: Tensor, writer: Writer) -> str:
    """The index value of Loop's trip count M, a 1-element integer tensor fed at run time (a
    negative count runs no iteration: the loop compares the iteration number with it)."""
    if tensor.size != 1 or not np.issubdtype(tensor.dtype, np.integer):
        raise ctx.error(f"the trip count is {tensor.type}, not one integer")
    zero = writer.assign("arith.constant 0 : index")
    indices = ", ".join([zero] * len(tensor.ir_shape))
    element = writer.assign(f"tensor.extract {ctx.emit.ssa(tensor)}[{indices}] : {tensor.type}")
    return writer.assign(f"arith.index_cast {element} : {scalar_type(tensor.dtype)} to index")


@op("If")
def if_op(ctx: NodeContext):
    """Each branch writes its results into destinations defined before the ``scf.if`` (the
    copy kernels :func:`_into` writes, which Welder fuses into the branch's last operator),
    so that both branches fill the same buffers: bufferization then gives the construct no
    results at all, where two branches allocating their own would yield a buffer chosen at run
    time (a strided view type no kernel takes)."""
    condition = ctx.inputs[0]
    then_graph, else_graph = subgraph(ctx, "then_branch"), subgraph(ctx, "else_branch")
    importer = ctx.importer
    if condition.const is not None:
        taken = then_graph if bool(np.asarray(condition.const).reshape(-1)[0]) else else_graph
        return importer.import_subgraph(taken, [], ctx.emit.w)
    ctx.importer.control_flow.append(f"node '{ctx.name}' (If)")
    emit = ctx.emit
    writer = emit.w
    flag = _condition(ctx, condition, writer)
    results = writer.fresh("if")
    header_at = len(writer.lines)
    inner = writer.nested()
    writer.lines.append("")  # the header, once the result types are known
    saved, emit.w = emit.w, inner
    try:
        then_values = importer.import_subgraph(then_graph, [], inner)
        destinations = [
            Tensor(t.shape, t.dtype, writer.fresh("dest"), view=True) for t in then_values
        ]
        for destination in destinations:
            line = f"{writer.indent}{destination.ssa} = tensor.empty() : {destination.type}"
            writer.lines.insert(header_at, line)
            header_at += 1
        types = [t.type for t in then_values]
        emit.w = inner
        filled = [into(ctx, v, d) for v, d in zip(then_values, destinations, strict=True)]
        yield_values(ctx, inner, filled, types, "the then branch")
        writer.line("} else {")
        else_values = importer.import_subgraph(else_graph, [], inner)
        if [t.type for t in else_values] != types:
            got = [t.type for t in else_values]
            raise ctx.error(f"the else branch yields {got} where {types} is required")
        emit.w = inner
        filled = [into(ctx, v, d) for v, d in zip(else_values, destinations, strict=True)]
        yield_values(ctx, inner, filled, types, "the else branch")
    finally:
        emit.w = saved
    writer.line(f"}} {PLACEMENT}")
    count = len(types)
    target = f"{results}:{count} = " if count > 1 else (f"{results} = " if count else "")
    writer.lines[header_at] = f"{writer.indent}{target}scf.if {flag} -> ({', '.join(types)}) {{"
    return loop_results(results, then_values)


@op("Loop")
def loop(ctx: NodeContext):
    body = subgraph(ctx, "body")
    trip_count, condition = ctx.input(0), ctx.input(1)
    carried = [t for t in ctx.inputs[2:]]
    if any(t is None for t in carried):
        raise ctx.error("omitted loop-carried inputs are not supported")
    scans = len(body.output) - 1 - len(carried)
    if scans < 0:
        raise ctx.error(f"the body has {len(body.output)} outputs, fewer than 1 + {len(carried)}")
    steps: int | Tensor | None = None
    if trip_count is not None:
        if trip_count.const is None:
            steps = trip_count  # read at run time: a while loop that counts
        else:
            steps = int(np.asarray(trip_count.const).reshape(-1)[0])
    if condition is not None and condition.const is not None:
        if not bool(np.asarray(condition.const).reshape(-1)[0]):
            raise ctx.error("a loop that never runs with scan outputs (empty outputs)")
        condition = None
    computes_exit = (
        condition is not None or not _passes_condition_through(body) or isinstance(steps, Tensor)
    )
    ctx.importer.control_flow.append(f"node '{ctx.name}' (Loop)")
    body = hoist_invariant_nodes(ctx, body)
    if steps is None and not computes_exit:
        raise ctx.error("a loop without trip count or condition never ends")
    if computes_exit:
        if scans:
            what = (
                "a trip count read at run time"
                if isinstance(steps, Tensor)
                else ("a computed exit condition")
            )
            raise ctx.error(f"scan outputs of a loop with {what} are not supported")
        return _while_loop(ctx, body, steps, condition, carried)
    return _for_loop(ctx, body, steps, carried, scans)


def _passes_condition_through(body: onnx.GraphProto) -> bool:
    """Whether the body's condition output is its condition input (or an Identity of it)."""
    cond_in, cond_out = body.input[1].name, body.output[0].name
    if cond_in == cond_out:
        return True
    producers = {o: n for n in body.node for o in n.output}
    node = producers.get(cond_out)
    return node is not None and node.op_type == "Identity" and node.input[0] == cond_in


def _iteration_tensor(ctx: NodeContext, body: onnx.GraphProto, index: str) -> Tensor:
    """The iteration number as the 1-element int64 tensor ONNX bodies receive (a kernel, only
    when the body reads it)."""
    if not _uses(body, body.input[0].name):
        return Tensor.constant(np.array(0, np.int64))

    def body(b, args):
        return b.op(f"arith.index_cast {index} : index to i64")

    return ctx.emit.generic((), np.int64, [], body)


def _uses(graph: onnx.GraphProto, name: str) -> bool:
    from quartet.frontend.onnx.importer import all_nodes

    outputs = {value.name for value in graph.output}
    return name in outputs or any(name in node.input for node in all_nodes(graph))


def _for_loop(ctx, body, steps: int, carried: list[Tensor], scans: int):
    """scf.for over the carried values and one stacked tensor per scan output (row-wise work
    on the rows of outer tensors done before it: :mod:`.batching`)."""
    body = batch_over_iterations(ctx, body, steps)

    def step(index: str, arguments: list[Tensor], scan_names: list[str]):
        iteration = _iteration_tensor(ctx, body, index)
        true = Tensor.constant(np.array(True))
        outputs = ctx.importer.import_subgraph(body, [iteration, true, *arguments], ctx.emit.w)
        rows = outputs[1 + len(carried) :]
        stacked = [
            Tensor((steps, *row.shape), row.dtype, name, view=True)
            for row, name in zip(rows, scan_names, strict=True)
        ]
        updated = [write_row(ctx, s, row, index) for s, row in zip(stacked, rows, strict=True)]
        return outputs[1 : 1 + len(carried)], list(zip(stacked, updated, strict=True))

    return static_for(ctx, steps, carried, step, scans)


def _while_loop(
    ctx, body, steps: int | Tensor | None, condition: Tensor | None, carried: list[Tensor]
):
    """scf.while over the iteration number, the condition and the carried values; ``steps``
    bounds the iterations: a number, or the trip count tensor M read once before the loop."""
    emit, importer = ctx.emit, ctx.importer
    writer = emit.w
    start = Tensor.constant(np.array(True)) if condition is None else condition
    zero = writer.assign("arith.constant 0 : index")
    limit = None
    if isinstance(steps, Tensor):
        limit = _trip_count(ctx, steps, writer)
    elif steps is not None:
        limit = writer.assign(f"arith.constant {steps} : index")
    state = [start, *carried]
    types = ["index", *(t.type for t in state)]
    results = writer.fresh("while")
    before = [writer.fresh("b") for _ in types]
    inits = ", ".join(
        f"{a} = {v}" for a, v in zip(before, [zero, *(emit.ssa(t) for t in state)], strict=True)
    )
    writer.line(
        f"{results}:{len(types)} = scf.while ({inits}) : ({', '.join(types)}) -> "
        f"({', '.join(types)}) {{"
    )
    inner = writer.nested()
    flag = _condition(ctx, Tensor(start.shape, start.dtype, before[1]), inner)
    if limit is not None:
        below = inner.assign(f"arith.cmpi slt, {before[0]}, {limit} : index")
        flag = inner.assign(f"arith.andi {flag}, {below} : i1")
    inner.line(f"scf.condition({flag}) {', '.join(before)} : {', '.join(types)}")
    writer.line("} do {")
    after = [writer.fresh("a") for _ in types]
    writer.line(f"^bb0({', '.join(f'{a}: {t}' for a, t in zip(after, types, strict=True))}):")
    saved, emit.w = emit.w, inner
    try:
        iteration = _iteration_tensor(ctx, body, after[0])
        args = [
            Tensor(t.shape, t.dtype, a, view=True) for t, a in zip(state, after[1:], strict=True)
        ]
        outputs = importer.import_subgraph(body, [iteration, *args], inner)
        emit.w = inner
        step = inner.assign("arith.constant 1 : index")
        following = inner.assign(f"arith.addi {after[0]}, {step} : index")
        values = [
            into(ctx, value, arg)
            for value, arg in zip(outputs[: 1 + len(carried)], args, strict=True)
        ]
        for tensor, expected in zip(values, types[1:], strict=True):
            if tensor.type != expected:
                raise ctx.error(f"the loop body yields {tensor.type} where {expected} is required")
        names = ", ".join([following, *(emit.ssa(t) for t in values)])
        inner.line(f"scf.yield {names} : {', '.join(types)}")
    finally:
        emit.w = saved
    writer.line(f"}} attributes {PLACEMENT}")
    return [
        Tensor(t.shape, t.dtype, f"{results}#{i + 2}", view=True) for i, t in enumerate(carried)
    ]
