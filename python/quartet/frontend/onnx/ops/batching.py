"""Work on the rows of a tensor, one row per iteration, done for all rows before the loop.

A Loop body that reads row ``i`` of a tensor from outside the loop (``Gather(X, i)``, i the
iteration number) and multiplies it by a weight computes, over the loop, ``X W`` one row at a
time: T matrix-vector products, each reading all of W. That is the input projection of an RNN
written as a Loop. Done before the loop, it is one matrix product (W read once), and the body
reads its row ``i``:

    Loop(M=T) body(i, ..): x_t = Gather(X, i); xw = MatMul(x_t, W); ...
  becomes
    XW = MatMul(X, W)                                   // before the loop: one GEMM
    Loop(M=T) body(i, ..): xw = Gather(XW, i); ...

A node is computed for all rows when it is a row-wise function of such rows and of values from
outside the loop: a MatMul whose first operand is a row (W from outside, 2-D), an elementwise
operator whose other operands, from outside, have no more dimensions than the row (so that
broadcasting one more leading dimension keeps its meaning). Only a Loop with a static trip
count equal to the number of rows is batched (every row is used, none twice), and only when a
MatMul is among the nodes (elementwise work alone would only move).
"""

from __future__ import annotations

import onnx
from onnx import helper

from quartet.frontend.onnx.context import NodeContext

ROW_WISE_UNARY = {"Relu", "Tanh", "Sigmoid", "Neg", "Abs", "Exp", "Log", "Sqrt", "Identity"}
ROW_WISE_BINARY = {"Add", "Sub", "Mul", "Div"}
SUFFIX = "__all_iterations"


def batch_over_iterations(ctx: NodeContext, body: onnx.GraphProto, steps: int) -> onnx.GraphProto:
    """``body`` with its row-wise work on outer tensors' rows done before the loop (imported
    now, where the loop goes); the body reads row ``i`` of each result it still needs."""
    iteration = body.input[0].name
    ranks: dict[str, int] = {}  # a row value -> its rank
    batched: dict[str, str] = {}  # a row value -> the name of all its rows
    hoisted: list[onnx.NodeProto] = []
    for node in body.node:
        row = _row_of(ctx, node, iteration, steps)
        if row is not None:
            batched[node.output[0]], ranks[node.output[0]] = row
            continue
        rank = _row_wise_rank(ctx, node, ranks)
        if rank is None:
            continue
        inputs = [batched.get(name, name) for name in node.input]
        outputs = [name + SUFFIX for name in node.output]
        hoisted.append(_renamed(node, inputs, outputs))
        batched[node.output[0]], ranks[node.output[0]] = outputs[0], rank
    if not any(node.op_type == "MatMul" for node in hoisted):
        return body
    ctx.importer.import_nodes(hoisted)
    return _reading_rows(body, batched, iteration)


def _row_of(ctx: NodeContext, node: onnx.NodeProto, iteration: str, steps: int):
    """(the outer tensor, the row's rank) if ``node`` reads row ``iteration`` of an outer
    tensor of ``steps`` rows (a Gather along axis 0 at the iteration number)."""
    if node.op_type != "Gather" or len(node.input) != 2 or node.input[1] != iteration:
        return None
    if any(a.name == "axis" and a.i != 0 for a in node.attribute):
        return None
    table = _outer(ctx, node.input[0])
    if table is None or table.rank < 1 or table.shape[0] != steps:
        return None
    return node.input[0], table.rank - 1


def _row_wise_rank(ctx: NodeContext, node: onnx.NodeProto, ranks: dict[str, int]) -> int | None:
    """The rank of ``node``'s row result if it is a row-wise function of rows and outer
    values (module docstring), else None."""
    rows = [ranks[name] for name in node.input if name in ranks]
    if not rows or len(node.output) != 1:
        return None
    others = [_outer(ctx, name) for name in node.input if name not in ranks]
    if any(other is None for other in others):
        return None
    if node.op_type == "MatMul":
        first_is_row = node.input[0] in ranks and node.input[1] not in ranks
        if not first_is_row or others[0].rank != 2 or rows[0] < 1:
            return None
        return rows[0]
    if node.op_type in ROW_WISE_UNARY and len(node.input) == 1:
        return rows[0]
    binary = node.op_type in ROW_WISE_BINARY and len(set(rows)) == 1
    if binary and all(other.rank <= rows[0] for other in others):
        return rows[0]
    return None


def _outer(ctx: NodeContext, name: str):
    """The tensor ``name`` names outside the body, if any (None for a body value)."""
    for scope in reversed(ctx.importer.scopes):
        if name in scope:
            return scope[name]
    return None


def _renamed(node: onnx.NodeProto, inputs: list[str], outputs: list[str]) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    copy.name = (node.name or node.op_type) + SUFFIX
    del copy.input[:]
    copy.input.extend(inputs)
    del copy.output[:]
    copy.output.extend(outputs)
    return copy


def _reading_rows(body: onnx.GraphProto, batched: dict[str, str], iteration: str):
    """``body`` with every row value a remaining node (or the body's outputs) uses read as
    row ``iteration`` of its batched tensor, and the nodes that computed rows gone."""
    needed = {name for node in body.node if node.output[0] not in batched for name in node.input}
    needed |= {value.name for value in body.output}
    kept = []
    for node in body.node:
        name = node.output[0] if node.output else ""
        if name not in batched:
            kept.append(node)
        elif name in needed:
            kept.append(
                helper.make_node(
                    "Gather", [batched[name], iteration], [name], name=f"{name}_row", axis=0
                )
            )
    remaining = onnx.GraphProto()
    remaining.CopyFrom(body)
    del remaining.node[:]
    remaining.node.extend(kept)
    return remaining
