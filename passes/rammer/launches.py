"""The launches of a host function, what each reads and writes, and what waits for what:
the one reader of a loop-level host program for ``quartet-rammer`` and ``test-rammer-wavefront``.

After ``quartet-lower-tiles`` a host function calls kernel functions (each holding one block
loop marked ``tile.kernel``) on its buffers. A launch reads the buffers of the arguments its
block loop loads from and writes those it stores to (``tile.traffic``: bytes loaded and stored
per argument of the kernel function, counted from the kernel's plan), each buffer resolved
through views (``memref.expand_shape`` and the like) to the allocation, argument or global it
is. Which launch waits for which (RAW, WAR, WAW, transitively reduced) is
:func:`quartet.rammer.dependencies.dependencies` on those sets. Its tasks are the blocks of its
grid (``tile.launch``); its modelled time is Welder's (``welder.modelled_seconds``), which
includes the launch charge the host function records (``welder.launch_seconds``): a task's
time is :func:`quartet.rammer.cost.task_seconds` of both (:func:`launch_nodes`).

A vEU program runs a *run* of launches: consecutive in the host's block, with nothing between
them but ops that can be passed over (constants, allocations, views, constant globals). Any
other op (a ``memref.copy``, a deallocation, anything rammer cannot place between launches)
ends a run; so does an op with regions (control flow: such a host keeps its launches).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.passes.base import PassError
from quartet.rammer import dependencies as rammer_dependencies
from quartet.rammer.cost import task_seconds
from quartet.rammer.table import LaunchNode
from quartet.welder import LAUNCH_SECONDS, MODELLED_SECONDS

TRAFFIC = "tile.traffic"  # quartet-lower-tiles' attribute (passes/lower_tiles/traffic.py)
VIEWS = (
    "memref.expand_shape",
    "memref.collapse_shape",
    "memref.subview",
    "memref.cast",
    "memref.reinterpret_cast",
    "memref.view",
)
PASSED_OVER = ("arith.constant", "memref.alloc", "memref.get_global", *VIEWS)
"""Host ops a vEU program can be placed after: they define buffers and touch no data."""


@dataclass(frozen=True, eq=False)
class Launch:
    """One call of a kernel function: the call, the callee, its block loop and what it
    touches (base buffers read and written)."""

    call: ir.Operation
    callee: ir.Operation  # the kernel function (func.func)
    block_loop: ir.Operation
    reads: frozenset
    writes: frozenset

    @property
    def kernel(self) -> str:
        return tile.Kernel.from_attr(self.block_loop.attributes[tile.KERNEL]).name

    @property
    def launch(self) -> tile.Launch:
        return tile.Launch.from_attr(self.block_loop.attributes[tile.LAUNCH])

    @property
    def buffers(self) -> list[ir.Value]:
        return list(self.call.operands)

    @property
    def modelled_seconds(self) -> float:
        """Welder's time of the kernel, a launch charge included."""
        return ir.FloatAttr(self.block_loop.attributes[MODELLED_SECONDS]).value


def host_functions(module: ir.Operation) -> tuple[dict[str, ir.Operation], list[ir.Operation]]:
    """Every function of ``module`` by name, and those that are hosts (a body, no block
    loop)."""
    functions = {
        ir.StringAttr(op.attributes["sym_name"]).value: op.operation
        for op in module.regions[0].blocks[0].operations
        if op.operation.name == "func.func"
    }
    hosts = [f for f in functions.values() if len(f.regions[0].blocks) and not block_loop(f)]
    return functions, hosts


def host_launches(host: ir.Operation, functions: dict[str, ir.Operation]) -> list[Launch]:
    """Every launch of ``host`` as one run; PassError naming the first op that would end it
    (for a pass that places a whole host function at once)."""
    for op in host.regions[0].blocks[0].operations:
        name = op.operation.name
        if launch_of(op.operation, functions) is None and name not in (*PASSED_OVER, "func.return"):
            raise PassError(f"'{name}' between launches: only calls of kernels are placed", op)
    (run,) = runs(host, functions) or [[]]
    return run


def runs(host: ir.Operation, functions: dict[str, ir.Operation]) -> list[list[Launch]]:
    """The runs of launches of ``host`` (a func.func), in program order; none when its body
    has control flow (a Grinder matter: such a host keeps its launch list)."""
    body = host.regions[0].blocks[0]
    if any(len(op.regions) for op in body.operations):
        return []
    found: list[list[Launch]] = [[]]
    for op in body.operations:
        launch = launch_of(op.operation, functions)
        if launch is not None:
            found[-1].append(launch)
        elif op.operation.name not in PASSED_OVER and found[-1]:
            found.append([])
    return [run for run in found if run]


def launch_of(op: ir.Operation, functions: dict[str, ir.Operation]) -> Launch | None:
    if op.name != "func.call":
        return None
    callee = functions.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
    loop = None if callee is None else block_loop(callee)
    if loop is None:
        return None
    for key in (tile.LAUNCH, TRAFFIC, MODELLED_SECONDS):
        if key not in loop.attributes:
            raise PassError(
                f"a kernel's block loop needs its {key} (run quartet-welder, then "
                "quartet-lower-tiles)",
                loop,
            )
    flat = list(ir.DenseI64ArrayAttr(loop.attributes[TRAFFIC]))
    if len(flat) != 2 * len(op.operands):
        raise PassError(
            f"tile.traffic has {len(flat) // 2} entries for {len(op.operands)} arguments", loop
        )
    bases = [base(value) for value in op.operands]
    reads = frozenset(b for b, loaded in zip(bases, flat[0::2], strict=True) if loaded)
    writes = frozenset(b for b, stored in zip(bases, flat[1::2], strict=True) if stored)
    return Launch(op, callee, loop, reads, writes)


def block_loop(function: ir.Operation) -> ir.Operation | None:
    """The block loop of a kernel function (the one op of its body marked ``tile.kernel``),
    or None for any other function."""
    if not len(function.regions[0].blocks):
        return None
    loops = [
        op.operation
        for op in function.regions[0].blocks[0].operations
        if tile.KERNEL in op.operation.attributes
    ]
    return loops[0] if len(loops) == 1 else None


def base(value: ir.Value):
    """What memory ``value`` is: views resolved to the value they view, a constant global to
    its symbol (two ``memref.get_global`` of one global are the same bytes)."""
    owner = value.owner
    while isinstance(owner, ir.OpView) and owner.operation.name in VIEWS:
        value = owner.operands[0]
        owner = value.owner
    if isinstance(owner, ir.OpView) and owner.operation.name == "memref.get_global":
        return ("global", ir.FlatSymbolRefAttr(owner.attributes["name"]).value)
    return value


def dependencies(run: list[Launch]) -> tuple[tuple[int, ...], ...]:
    """Per launch of ``run``, the earlier launches it must wait for (RAW, WAR, WAW),
    transitively reduced, in increasing order."""
    ids: dict[object, int] = {}
    reads = [{ids.setdefault(b, len(ids)) for b in launch.reads} for launch in run]
    writes = [{ids.setdefault(b, len(ids)) for b in launch.writes} for launch in run]
    return rammer_dependencies.dependencies(reads, writes)


def launch_charge(host: ir.Operation) -> float:
    """The launch charge Welder included in every modelled time of ``host``'s kernels."""
    if LAUNCH_SECONDS not in host.attributes:
        raise PassError(f"the host function has no '{LAUNCH_SECONDS}' (quartet-welder's)", host)
    return ir.FloatAttr(host.attributes[LAUNCH_SECONDS]).value


def launch_nodes(run: list[Launch], charge: float, sms: int) -> list[LaunchNode]:
    """The policy's launches of ``run``: each task's time with ``charge`` taken out, on
    ``sms`` SMs; PassError on a modelled time that does not include the charge."""
    depends = dependencies(run)
    nodes = []
    for index, launch in enumerate(run):
        tasks = launch.launch.blocks
        try:
            seconds = task_seconds(launch.modelled_seconds, charge, tasks, sms)
        except ValueError as error:
            raise PassError(str(error), launch.block_loop) from None
        nodes.append(LaunchNode(index, launch.kernel, tasks, seconds, depends[index]))
    return nodes


def distinct(values: Iterator[ir.Value] | list[ir.Value]) -> list[ir.Value]:
    """``values`` without repeats, in order of first appearance."""
    seen: list[ir.Value] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def preorder(op: ir.Operation):
    """``op`` and every op in its regions, in program order."""
    yield op
    for region in op.regions:
        for block in region.blocks:
            for nested in block.operations:
                yield from preorder(nested.operation)
