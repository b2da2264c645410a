"""The loop every static-trip-count construct imports as (Loop with a trip count, Scan, RNN,
GRU, LSTM): an ``scf.for`` on tensors that bufferization turns into a loop over fixed buffers.

Two things decide what one iteration costs on a GPU target:

- **Carried values, double-buffered.** Bufferization needs each value an iteration yields in
  the buffer of its loop argument. Yielding the step's fresh result would take a copy kernel
  per carried value per iteration (the step reads the old value in other blocks while it
  computes the new one: it cannot write in place). Instead the loop runs two steps per
  iteration: the first writes fresh buffers, the second reads those and writes its results
  into the arguments' buffers (:func:`into`, a copy that Welder fuses into the operator that
  computes the value, since nothing in that kernel reads the old contents). An odd trip count
  runs its last step after the loop.

      scf.for %i = 0 to T step 2 iter_args(%h = %h0) {
        %h1 = step(%i, %h)                        // fresh buffers
        %h2 = step(%i + 1, %h1) -> into %h        // the argument's buffer, in the same kernel
        scf.yield %h2 }

- **Loop-invariant nodes, once.** A body node whose inputs all come from outside the body
  (a weight's Transpose, a Reshape of a weight) computes the same in every iteration: it is
  imported once, before the loop (:func:`hoist_invariant_nodes`), and both steps of an
  iteration read it (quartet-hoist-invariants does the same on the IR for any loop, but would
  hoist the two steps' copies as two kernels).
- **Stacked outputs, row by row.** A scan output stacked along its first axis gets each row
  with ``tensor.insert_slice`` (:func:`write_row`): bufferization makes it a copy of the row
  into a view of the stacked buffer at the iteration's offset, O(T) bytes over the loop
  (rewriting the whole stacked tensor every iteration would be O(T^2)). A row along another
  axis is not contiguous and keeps a kernel that rewrites the stacked tensor.
"""

from __future__ import annotations

import onnx

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Operand, Tensor, Writer

PLACEMENT = '{controlflow.placement = #controlflow.device<"grid">}'


def static_for(ctx: NodeContext, steps: int, inits: list[Tensor], step, scans: int = 0):
    """An ``scf.for`` of ``steps`` steps (two per iteration, module docstring) carrying
    ``inits`` and ``scans`` stacked outputs; returns its results: the carried values, then
    the stacked outputs.

    ``step(index, arguments, scan_names)`` writes one step through ``ctx.emit`` and returns
    ``(values, stacked)``: the next value of each argument, and per scan name the stacked
    tensor so far (a view named by it, shaped once the body is known) with that tensor
    updated by the step's row (:func:`write_row`). The header is written after the body, once
    the stacked shapes are known; their zero inits go before it.
    """
    emit = ctx.emit
    writer = emit.w
    index, results = writer.fresh("i"), writer.fresh("loop")
    names = [writer.fresh("arg") for _ in inits]
    scan_names = [writer.fresh("scan") for _ in range(scans)]
    header_at = len(writer.lines)
    arguments = [Tensor(t.shape, t.dtype, a, view=True) for t, a in zip(inits, names, strict=True)]
    inner = writer.nested()
    saved, emit.w = emit.w, inner
    try:
        values, stacked = step(index, arguments, scan_names)
        rows = [argument for argument, _ in stacked]  # the stacked arguments, now shaped
        if steps > 1:
            emit.w = inner
            following = inner.assign(
                f"arith.addi {index}, {inner.assign('arith.constant 1 : index')} : index"
            )
            values, stacked = step(following, values, [updated.ssa for _, updated in stacked])
        emit.w = inner
        # rows first (inside step): they may read a carried argument the copies overwrite
        new_state = [into(ctx, v, a) for v, a in zip(values, arguments, strict=True)]
        types = [t.type for t in [*arguments, *rows]]
        yield_values(ctx, inner, [*new_state, *(u for _, u in stacked)], types, "the loop body")
    finally:
        emit.w = saved
    writer.line(f"}} {PLACEMENT}")
    body_lines = writer.lines[header_at:]
    del writer.lines[header_at:]
    initial = [emit.ssa(t) for t in inits] + [emit.fill(r.shape, r.dtype, 0) for r in rows]
    lower = writer.assign("arith.constant 0 : index")
    upper = writer.assign(f"arith.constant {steps - steps % 2 if steps > 1 else steps} : index")
    stride = writer.assign(f"arith.constant {2 if steps > 1 else 1} : index")
    state = ", ".join(f"{a} = {v}" for a, v in zip([*names, *scan_names], initial, strict=True))
    count = len(initial)
    target = f"{results}:{count} = " if count > 1 else (f"{results} = " if count else "")
    writer.line(
        f"{target}scf.for {index} = {lower} to {upper} step {stride} iter_args({state}) -> "
        f"({', '.join(types)}) {{"
    )
    writer.lines.extend(body_lines)
    loop = loop_results(results, [*arguments, *rows])
    if steps < 2 or steps % 2 == 0:
        return loop
    last = writer.assign(f"arith.constant {steps - 1} : index")
    carried, stacked_so_far = loop[: len(inits)], loop[len(inits) :]
    values, stacked = step(last, carried, [t.ssa for t in stacked_so_far])
    return [*values, *(updated for _, updated in stacked)]


def loop_results(name: str, like: list[Tensor]) -> list[Tensor]:
    """The results ``name`` (or ``name#i``) of a construct yielding tensors like ``like``."""
    if len(like) == 1:
        return [Tensor(like[0].shape, like[0].dtype, name, view=True)]
    return [Tensor(t.shape, t.dtype, f"{name}#{i}", view=True) for i, t in enumerate(like)]


def yield_values(ctx: NodeContext, writer: Writer, values: list[Tensor], types: list[str], what):
    for tensor, expected in zip(values, types, strict=True):
        if tensor.type != expected:
            raise ctx.error(f"{what} yields {tensor.type} where {expected} is required")
    names = ", ".join(ctx.emit.ssa(t) for t in values)
    writer.line(f"scf.yield {names} : {', '.join(types)}" if values else "scf.yield")


def into(ctx: NodeContext, value: Tensor, destination: Tensor) -> Tensor:
    """``value`` written into the buffer of ``destination`` (a loop argument, a branch's
    result): a copy kernel whose init is the destination, so that bufferization keeps one
    buffer per carried value (a yield must be equivalent to its iteration argument). Welder
    fuses it into the operator that computes ``value`` where nothing in that kernel reads the
    destination's old contents."""
    if value.type != destination.type:
        raise ctx.error(f"the loop body yields {value.type} where {destination.type} is required")
    if value.ssa == destination.ssa:
        return value
    indices = [f"d{i}" for i in range(len(value.ir_shape))]
    emit = ctx.emit
    return emit.generic(
        value.shape, value.dtype, [Operand(value, indices)], lambda b, a: a[0], init=destination.ssa
    )


def write_row(ctx, stacked: Tensor, value: Tensor, index: str, axis: int = 0) -> Tensor:
    """``stacked`` with the slice at ``index`` along ``axis`` replaced by ``value``: along the
    first axis a ``tensor.insert_slice`` (a contiguous row: a copy into a view), along another
    a kernel that rewrites ``stacked``."""
    expected = (*value.shape[:axis], stacked.shape[axis], *value.shape[axis:])
    if expected != stacked.shape:
        raise ctx.error(f"scan value {value.shape} does not fit {stacked.shape}")
    if axis == 0:
        return insert_rows(ctx, stacked, value, [index], [1, *value.shape])
    rows = [f"d{i}" for i in range(stacked.rank) if i != axis] or ["0"]

    def body(b, args):
        here = b.op(f"arith.cmpi eq, {b.index(axis)}, {index} : index")
        return b.select(here, args[1], args[0], stacked.dtype)

    operands = [Operand(stacked, [f"d{i}" for i in range(stacked.rank)]), Operand(value, rows)]
    return ctx.emit.generic(stacked.shape, stacked.dtype, operands, body, init=stacked.ssa)


def insert_rows(ctx, stacked: Tensor, value: Tensor, offsets: list[str], sizes: list[int]):
    """``stacked`` with ``value`` in the slab at ``offsets`` (index SSA names for the leading
    dimensions, zeros after) of ``sizes`` (``value``'s shape, unit dimensions allowed)."""
    emit = ctx.emit
    zeros = ["0"] * (stacked.rank - len(offsets))
    result = Tensor(stacked.shape, stacked.dtype, emit.w.fresh("rows"), view=True)
    emit.w.line(
        f"{result.ssa} = tensor.insert_slice {emit.ssa(value)} into {emit.ssa(stacked)}"
        f"[{', '.join([*offsets, *zeros])}] [{', '.join(map(str, sizes))}] "
        f"[{', '.join(['1'] * stacked.rank)}] : {value.type} into {stacked.type}"
    )
    return result


def hoist_invariant_nodes(ctx: NodeContext, body: onnx.GraphProto) -> onnx.GraphProto:
    """``body`` without its loop-invariant nodes, which are imported now, where the loop
    goes: a node whose inputs all come from outside the body (directly or through other such
    nodes) and that holds no subgraph. A node whose output name the scope already holds
    stays (importing it outside would redefine that name)."""
    local = {value.name for value in body.input} | {init.name for init in body.initializer}
    hoisted, kept = [], []
    for node in body.node:
        invariant = not any(
            attribute.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for attribute in node.attribute
        ) and not any(name in local for name in node.input if name)
        if invariant and not any(_defined(ctx, name) for name in node.output):
            hoisted.append(node)
        else:
            kept.append(node)
            local.update(node.output)
    if not hoisted:
        return body
    ctx.importer.import_nodes(hoisted)
    remaining = onnx.GraphProto()
    remaining.CopyFrom(body)
    del remaining.node[:]
    remaining.node.extend(kept)
    return remaining


def _defined(ctx: NodeContext, name: str) -> bool:
    return any(name in scope for scope in ctx.importer.scopes)
