"""Scan (opset 9 and later; older models are converted): a loop over slices of its scan
inputs, carrying state variables and stacking scan outputs, in the controlflow form.

    Scan(s0, x: T x 2, body(s, x_t) -> (s', y_t))
      -> scf.for %t = 0 to T iter_args(%s = s0, %y = zeros(T x ..)) {
           x_t = x[t]  (x[T - 1 - t] reversed; along any scan_input_axes)
           <body>; y[t] = y_t; scf.yield } {controlflow.placement = #controlflow.device<"grid">}
"""

from __future__ import annotations

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Tensor
from quartet.frontend.onnx.ops.controlflow import subgraph
from quartet.frontend.onnx.ops.loops import hoist_invariant_nodes, static_for, write_row
from quartet.frontend.onnx.registry import op


def _position(ctx: NodeContext, index: str, steps: int, reverse: bool) -> str:
    """The slice a step reads or writes: ``index``, or ``steps - 1 - index`` reversed."""
    if not reverse:
        return index
    last = ctx.emit.w.assign(f"arith.constant {steps - 1} : index")
    return ctx.emit.w.assign(f"arith.subi {last}, {index} : index")


def _slice(ctx: NodeContext, x: Tensor, axis: int, position: str) -> Tensor:
    """x at ``position`` along ``axis`` (the axis removed)."""
    shape = [d for i, d in enumerate(x.shape) if i != axis]
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(len(shape))]
        coords.insert(axis, position)
        return b.extract(x, coords)

    return ctx.emit.generic(shape, x.dtype, [], body)


def _flags(ctx: NodeContext, name: str, count: int, rank_of=None) -> list[int]:
    values = list(ctx.attr(name) or [0] * count)
    if len(values) != count:
        raise ctx.error(f"{name} has {len(values)} entries, expected {count}")
    if rank_of is None:
        return values
    return [ctx.axis(v, rank_of(i)) for i, v in enumerate(values)]


@op("Scan")
def scan(ctx: NodeContext):
    body = subgraph(ctx, "body")
    count = ctx.attr("num_scan_inputs")
    inputs = [t for t in ctx.inputs]
    if not count or count > len(inputs) or any(t is None for t in inputs):
        raise ctx.error("num_scan_inputs must count the trailing (present) inputs")
    states, sequences = inputs[: len(inputs) - count], inputs[len(inputs) - count :]
    input_axes = _flags(ctx, "scan_input_axes", count, lambda i: sequences[i].rank)
    input_reverse = _flags(ctx, "scan_input_directions", count)
    steps = {t.shape[a] for t, a in zip(sequences, input_axes, strict=True)}
    if len(steps) != 1:
        raise ctx.error(f"scan inputs have different lengths along their axes: {sorted(steps)}")
    steps = steps.pop()
    outputs = len(body.output) - len(states)
    if outputs < 0:
        raise ctx.error(f"the body has {len(body.output)} outputs, fewer than {len(states)} states")
    output_reverse = _flags(ctx, "scan_output_directions", outputs)
    output_axes = list(ctx.attr("scan_output_axes") or [0] * outputs)
    ctx.importer.control_flow.append(f"node '{ctx.name}' (Scan)")
    body = hoist_invariant_nodes(ctx, body)

    def step(index: str, arguments: list[Tensor], scan_names: list[str]):
        slices = [
            _slice(ctx, t, axis, _position(ctx, index, steps, bool(reverse)))
            for t, axis, reverse in zip(sequences, input_axes, input_reverse, strict=True)
        ]
        results = ctx.importer.import_subgraph(body, [*arguments, *slices], ctx.emit.w)
        stacked = []
        for k, (row, name) in enumerate(zip(results[len(states) :], scan_names, strict=True)):
            axis = ctx.axis(output_axes[k], row.rank + 1)
            shape = (*row.shape[:axis], steps, *row.shape[axis:])
            target = Tensor(shape, row.dtype, name, view=True)
            position = _position(ctx, index, steps, bool(output_reverse[k]))
            stacked.append((target, write_row(ctx, target, row, position, axis)))
        return results[: len(states)], stacked

    return static_for(ctx, steps, states, step, scans=outputs)
