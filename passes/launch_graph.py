"""The launches of a loop-level host function, as Rammer's policy reads them.

After ``quartet-lower-tiles`` a host function is a sequence of ``func.call``s of kernel
functions on buffers (allocations, views of them, arguments, globals). Each kernel function
holds one block loop that records its traffic per argument (``tile.traffic``: loaded and
stored bytes) and Welder's modelled time (``welder.modelled_seconds``); the host function
records the launch charge those times include (``welder.launch_seconds``). So, per call:
the kernel, its tasks (the block loop's iterations), its modelled time, and the buffers it
reads and writes (the call's operands whose argument loads or stores bytes, views resolved to
the buffer they view). :func:`launch_nodes` turns them into the policy's
:class:`~quartet.rammer.table.LaunchNode`s, dependencies from
:func:`quartet.rammer.dependencies.dependencies`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.passes.base import PassError
from quartet.passes.iteration_space import constant_int
from quartet.rammer.cost import task_seconds
from quartet.rammer.dependencies import dependencies
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
HOST_DATA = ("memref.alloc", "memref.dealloc", "memref.get_global", "arith.constant")
"""Host ops that only make buffers (and views, :data:`VIEWS`): nothing to place."""


@dataclass(frozen=True)
class HostLaunch:
    """One call of a kernel function: what the policy needs to know about it."""

    kernel: str
    tasks: int
    modelled_seconds: float
    reads: frozenset[int]  # buffer ids (per host function)
    writes: frozenset[int]


def host_functions(module: ir.Operation) -> list[ir.OpView]:
    """The functions of ``module`` that call kernel functions."""
    functions = _functions(module)
    return [
        func
        for func in functions.values()
        if any(_callee(op, functions) is not None for op in _body(func))
    ]


def host_launches(module: ir.Operation, host: ir.OpView) -> list[HostLaunch]:
    """The launches ``host`` makes, in program order; PassError on a host op that is
    neither a launch nor buffer bookkeeping (control flow, a copy)."""
    functions = _functions(module)
    buffers = _Buffers()
    launches = []
    for op in _body(host):
        callee = _callee(op, functions)
        if callee is not None:
            launches.append(_launch(op, callee, buffers))
        elif op.name not in HOST_DATA + VIEWS + ("func.return",):
            raise PassError(f"'{op.name}' between launches: only calls of kernels are placed", op)
    return launches


def launch_charge(host: ir.OpView) -> float:
    """The launch charge Welder included in every modelled time of ``host``'s kernels."""
    if LAUNCH_SECONDS not in host.attributes:
        raise PassError(f"the host function has no '{LAUNCH_SECONDS}' (quartet-welder's)", host)
    return ir.FloatAttr(host.attributes[LAUNCH_SECONDS]).value


def launch_nodes(launches: list[HostLaunch], charge: float, sms: int) -> list[LaunchNode]:
    """The policy's launches: task times with ``charge`` taken out, on ``sms`` SMs."""
    reads = [launch.reads for launch in launches]
    depends = dependencies(reads, [launch.writes for launch in launches])
    return [
        LaunchNode(
            index,
            launch.kernel,
            launch.tasks,
            task_seconds(launch.modelled_seconds, charge, launch.tasks, sms),
            depends[index],
        )
        for index, launch in enumerate(launches)
    ]


def _functions(module: ir.Operation) -> dict[str, ir.OpView]:
    return {
        ir.StringAttr(op.attributes["sym_name"]).value: op
        for op in module.regions[0].blocks[0].operations
        if op.operation.name == "func.func"
    }


def _body(func: ir.OpView) -> list[ir.Operation]:
    if not func.regions[0].blocks:
        return []
    return [op.operation for op in func.regions[0].blocks[0].operations]


def _callee(op: ir.Operation, functions: dict[str, ir.OpView]) -> ir.OpView | None:
    """The kernel function ``op`` calls (one holding a block loop), else None."""
    if op.name != "func.call":
        return None
    callee = functions.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
    if callee is None or not any(tile.KERNEL in o.attributes for o in _body(callee)):
        return None
    return callee


def _launch(call: ir.Operation, callee: ir.OpView, buffers: _Buffers) -> HostLaunch:
    loops = [op for op in _body(callee) if tile.KERNEL in op.attributes]
    if len(loops) != 1:
        raise PassError(f"a kernel function holds {len(loops)} block loops, not one", callee)
    (loop,) = loops
    for key in (TRAFFIC, MODELLED_SECONDS):
        if key not in loop.attributes:
            raise PassError(f"the block loop has no '{key}'", loop)
    name = tile.Kernel.from_attr(loop.attributes[tile.KERNEL]).name
    flat = list(ir.DenseI64ArrayAttr(loop.attributes[TRAFFIC]))
    if len(flat) != 2 * len(call.operands):
        raise PassError(
            f"'{TRAFFIC}' has {len(flat)} entries for {len(call.operands)} arguments", loop
        )
    ids = [buffers.id(operand) for operand in call.operands]
    return HostLaunch(
        kernel=name,
        tasks=_tasks(loop),
        modelled_seconds=ir.FloatAttr(loop.attributes[MODELLED_SECONDS]).value,
        reads=frozenset(b for b, loaded in zip(ids, flat[0::2], strict=True) if loaded > 0),
        writes=frozenset(b for b, stored in zip(ids, flat[1::2], strict=True) if stored > 0),
    )


def _tasks(loop: ir.Operation) -> int:
    """Iterations of a block loop (bounds 0 to a constant, step 1)."""
    opview = loop.opview
    extents = [constant_int(upper) for upper in opview.upperBound]
    starts = [constant_int(lower) for lower in opview.lowerBound]
    steps = [constant_int(step) for step in opview.step]
    if None in extents or any(s != 0 for s in starts) or any(s != 1 for s in steps):
        raise PassError("a block loop must run from 0 to constants with step 1", loop)
    return math.prod(extents)


class _Buffers:
    """Ids of the buffers a host function's values are (views resolved; one id per global)."""

    def __init__(self):
        self._ids: dict[object, int] = {}

    def id(self, value: ir.Value) -> int:
        owner = value.owner
        while isinstance(owner, ir.OpView) and owner.operation.name in VIEWS:
            value = owner.operands[0]
            owner = value.owner
        key: object = value
        if isinstance(owner, ir.OpView) and owner.operation.name == "memref.get_global":
            key = ir.FlatSymbolRefAttr(owner.attributes["name"]).value
        return self._ids.setdefault(key, len(self._ids))
