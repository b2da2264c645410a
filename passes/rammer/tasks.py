"""Task functions: one iteration of a kernel's block loop, callable by a vEU.

    func.func private @f_k0.func(%a, %b) {
      scf.parallel (%i, %j) = (0, 0) to (4, 32) {tile.kernel = ..., tile.launch = ...} { phases }
    }
  becomes
    func.func private @f_k0_task(%task: index, %a, %b)
        attributes {no_inline, passthrough = ["noinline"], tile.kernel = ..., tile.launch = ...} {
      %i, %j = delinearize %task over (4, 32)
      phases
    }

Task ``t`` is block ``t`` of the kernel's grid numbered as ``quartet-map-to-gpu`` numbers
CTAs (row-major, last fastest). The name is the kernel's with ``_task``: a task function
reaches the PTX as a ``.func``, whose name must be a PTX identifier (no ``.``). The
attributes the block loop carried go on the function; ``no_inline`` keeps MLIR's inliner
from copying the body into each call site and ``passthrough = ["noinline"]`` does the same
for LLVM, so the persistent kernel's PTX holds one ``.func`` per distinct kernel and one call
per launch, never one copy per task.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import func

from quartet.dialects import tile
from quartet.passes import builder as b
from quartet.passes.rammer.launches import block_loop

SUFFIX = "_task"


def task_function(kernel_function: ir.Operation, name: str) -> ir.Operation:
    """A new task function ``@<name>_task`` beside ``kernel_function`` (which is left as it
    is: other hosts may still launch it)."""
    clone = kernel_function.clone(ip=ir.InsertionPoint(kernel_function))
    body = clone.regions[0].blocks[0]
    inputs = [argument.type for argument in body.arguments]
    with ir.InsertionPoint(kernel_function), kernel_function.location:
        task = func.FuncOp(
            name + SUFFIX,
            ir.FunctionType.get([ir.IndexType.get(), *inputs], []),
            visibility="private",
        )
        entry = task.add_entry_block()
    for old, new in zip(body.arguments, list(entry.arguments)[1:], strict=True):
        old.replace_all_uses_with(new)
    for op in list(body.operations):
        entry.append(op.operation)
    loop = block_loop(task.operation)
    _unroll_block_loop(loop, entry.arguments[0])
    task.attributes["no_inline"] = ir.UnitAttr.get()
    task.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get("noinline")])
    clone.erase()
    return task.operation


def _unroll_block_loop(loop: ir.Operation, task: ir.Value) -> None:
    """Replace ``loop`` by its body at iteration ``task`` (block ids delinearized from it);
    the loop's dialect attributes go on the function holding it."""
    function = loop.parent
    for name in loop.attributes:
        if "." in name:  # a dialect's (discardable) attribute, not the loop's own
            function.attributes[name] = loop.attributes[name]
    grid = tile.Launch.from_attr(loop.attributes[tile.LAUNCH]).grid
    with ir.InsertionPoint(loop), loop.location:
        block_ids = b.delinearize(task, grid)
    body = loop.regions[0].blocks[0]
    for op in list(body.operations)[:-1]:
        op.move_before(loop)
    for iv, value in zip(body.arguments, block_ids, strict=True):
        iv.replace_all_uses_with(value)
    loop.erase()
