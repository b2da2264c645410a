"""quartet-grinder: where each loop and branch of a host function runs (Grinder, published as
Cocktailer, OSDI'23; docs/grinder.md).

Right after ``quartet-lower-tiles`` and before ``quartet-rammer``: a host function then calls
kernel functions on buffers, around the model's ``scf.for``, ``scf.while`` and ``scf.if``. The
frontend asks for each of them to run on the device (``controlflow.placement``); this pass
decides, innermost construct first, and writes the decision into the IR for the passes after
it (quartet-rammer builds the vEU program from it, the counters and the report read it):

- **grid** (``controlflow.placement = #controlflow.device<"grid">``): the construct becomes
  part of a vEU program; its body's launches are segments dealt over every vEU, each waiting
  on the counters of the launches it depends on, in this iteration or the previous one
  (passes/rammer/order.py); the predicate or condition is a load every vEU makes after
  waiting for its writer, and a grid barrier precedes a launch that overwrites it. Allowed
  when every op of its body is a launch, a copy (made a launch of a copy kernel,
  ``copy_kernel.py``), an allocation (hoisted before the construct: its contents are
  undefined at each allocation), a view, integer arithmetic, a load of an integer buffer, or
  a construct itself placed on the grid, and it carries no buffer from one iteration to the
  next;
- **host**: the placement goes and ``controlflow.host_reason`` says why (the op the device
  program cannot run, a buffer carried across iterations, an inner construct left on the
  host, or the host-loop mode: ``control_flow="host"``, whose quartet-host-control-flow
  writes its reason first).

Every construct is a candidate: the frontend's ``controlflow.placement`` asks for the device,
but bufferization rebuilds ``scf.while`` and ``scf.if`` without their attributes, so the
decision is made here, on the loop-level form, and written anew.

A construct the device can run goes on the grid or, where one CTA runs it faster, on one
CTA: **cta** (``#controlflow.device<"cta">``, Cocktailer's barriers between single-block
kernels cheapened to CTA barriers): vEU 0 of the persistent kernel runs every task of every
launch in it, one after the other, each task ending with the CTA barrier the vEU program
already places, so it passes no grid barrier inside (quartet-rammer guards it with
``%veu == 0`` and gives the owner every task of its launches, passes/rammer/flow.py). Every
construct nested in a cta one is cta too (the same CTA runs it). Option ``scope``: ``auto``
(the default) picks the cheaper of the two by the model below, ``grid`` or ``cta`` forces one
where the device runs the construct. A construct whose results are used after it stays on
the grid (only the owner would hold them).

Each construct also records the modelled cost of one iteration (of one run, for a branch)
each way, ``grinder.modelled = {device_seconds, host_seconds, cta_seconds}``:

- grid (``device_seconds``): its body's kernels without their launch charge, plus a handoff
  (``quartet.rammer.cost.handoff_seconds``: a signal reaching a waiting vEU through L2) per
  launch or load that waits, plus :func:`barrier_seconds` per grid barrier, as order.py
  places them for the construct alone (a construct nested in it on one CTA a unit there);
- host: the kernels with their launches plus a round trip per read-back
  (:data:`ROUND_TRIP_SECONDS`);
- cta: every task of every launch on one vEU, one after the other (a launch of ``B`` tasks
  whose kernel Welder models in ``ceil(B / SMs)`` rounds of one task per SM takes ``B``
  rounds), plus a CTA barrier per task (:data:`CTA_BARRIER_CYCLES`); no wait, no signal.

The device wins wherever the body can go there: it saves every launch and every read-back
and adds waits and barriers that cost a fraction of either; one CTA wins where the body has
too few tasks to fill the grid for the handoffs and barriers it saves (a single-block RNN
cell, a tiny while loop's condition).

Where a host function has a construct on the grid, its host-side copies become copy kernel
launches too (a copy on the host would end the vEU program there: one launch per inference
needs every copy on the device).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.dialects.controlflow import (
    HOST_REASON,
    MODELLED,
    PLACEABLE_OPS,
    PLACEMENT,
    SCOPES,
    Device,
)
from quartet.hardware import spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.copy_kernel import CopyKernels, copy_blocks, copy_work_seconds
from quartet.passes.rammer.launches import (
    VIEWS,
    base,
    block_loop,
    host_functions,
    launch_charge,
    launch_of,
    preorder,
)
from quartet.passes.rammer.order import order
from quartet.rammer.cost import L2_HIT_CYCLES, LAUNCH_SECONDS, handoff_seconds, task_seconds
from quartet.welder import LAUNCH_SECONDS as LAUNCH_SECONDS_ATTR
from quartet.welder import MODELLED_SECONDS

BARRIER_L2_TRIPS = 3
"""A grid barrier: each vEU's arrival (an atomic add in L2), the last arrival's release of the
generation, and the pollers' acquire read of it from L2, at the L2 latency
``quartet.rammer.cost`` cites (Jia et al., arXiv:1804.06826); the CTA barriers around it are a
few tens of cycles."""

ROUND_TRIP_SECONDS = 6e-6
"""A read-back of a predicate or condition: a device-to-host cudaMemcpyAsync and the wait for
it, 5-7 us per call measured by Wu et al., "DualPath: Breaking the Storage Bandwidth
Bottleneck in Agentic LLM Inference", arXiv:2602.21548 (2026), section 5.2 (the figure
bench/grinder.py charges a copy)."""

CTA_BARRIER_CYCLES = 20
"""A CTA barrier (``bar.sync``) once every warp of the CTA has arrived: about 20 cycles,
measured by Wong et al., "Demystifying GPU Microarchitecture through Microbenchmarking"
(ISPASS 2010), section on ``__syncthreads``; "a few tens of cycles" is also what
:data:`BARRIER_L2_TRIPS` neglects around a grid barrier."""

SCOPE_CHOICES = ("auto", *SCOPES)

SCALAR_OPS = ("arith.constant", "memref.load", "scf.yield", "scf.condition")
STORAGE_OPS = ("memref.alloc", "memref.get_global", *VIEWS)


def barrier_seconds(clock_hz: float) -> float:
    """The modelled time of one grid barrier on a GPU clocked at ``clock_hz``."""
    return BARRIER_L2_TRIPS * L2_HIT_CYCLES / clock_hz


@dataclass(frozen=True)
class Modelled:
    """One iteration (one run of a branch) of a construct in each place, in seconds."""

    device_seconds: float  # on the grid
    host_seconds: float
    cta_seconds: float  # on one CTA

    def to_attr(self) -> ir.Attribute:
        f64 = ir.F64Type.get()
        return ir.DictAttr.get(
            {
                "device_seconds": ir.FloatAttr.get(f64, self.device_seconds),
                "host_seconds": ir.FloatAttr.get(f64, self.host_seconds),
                "cta_seconds": ir.FloatAttr.get(f64, self.cta_seconds),
            }
        )


@dataclass(frozen=True)
class Grinder(ModulePass):
    """Place each scf.for / scf.while / scf.if of a host function on the grid, one CTA or the
    host."""

    name = "quartet-grinder"
    arch: str = option("sm_90", "target machine: sm_90, sm_80, sm_70 or cpu (device: sm_90)")
    scope: str = option(
        "auto", "auto: one CTA or the grid, the cheaper by the model; grid; cta (where it can)"
    )

    def apply(self, module: ir.Operation) -> None:
        if self.scope not in SCOPE_CHOICES:
            raise PassError(
                f"option 'scope' must be one of {', '.join(SCOPE_CHOICES)}, got '{self.scope}'"
            )
        try:
            spec = spec_for(self.arch if self.arch != "cpu" else "sm_90")
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        functions, hosts = host_functions(module)
        copies = CopyKernels(module, spec)
        for host in hosts:
            charge = launch_charge(host) if LAUNCH_SECONDS_ATTR in host.attributes else 0.0
            placer = _Placer(functions, charge, spec, self.scope)
            for construct in _constructs(host):
                placer.place(construct)
            placer.on_device = placer.on_device and not _demoted(host)
            if placer.on_device:
                _hoist_allocations(host)
                copies.replace_copies(host, charge)


class _Placer:
    def __init__(self, functions, charge: float, spec, scope: str):
        self.functions, self.charge, self.spec, self.scope = functions, charge, spec, scope
        self.barrier = barrier_seconds(spec.clock_hz)
        self.handoff = handoff_seconds(spec.clock_hz)
        self.cta_barrier = CTA_BARRIER_CYCLES / spec.clock_hz
        self.on_device = False

    def place(self, construct: ir.Operation) -> None:
        reason = self.host_reason(construct)
        if PLACEMENT in construct.attributes:  # the frontend's request; decided anew below
            del construct.attributes[PLACEMENT]
        modelled = self.modelled(construct)
        construct.attributes[MODELLED] = modelled.to_attr()
        if reason is not None:
            construct.attributes[HOST_REASON] = ir.StringAttr.get(reason)
            return
        self.on_device = True
        scope = self.device_scope(construct, modelled)
        construct.attributes[PLACEMENT] = Device(scope).to_attr()
        if scope == "cta":  # the owner CTA runs everything inside too
            for nested in _nested(construct):
                if PLACEMENT in nested.attributes:
                    nested.attributes[PLACEMENT] = Device("cta").to_attr()

    def device_scope(self, construct: ir.Operation, modelled: Modelled) -> str:
        """Where on the device ``construct`` runs: the grid where its results are used after
        it (every vEU needs them), else the forced scope, else the cheaper one."""
        if any(list(result.uses) for result in construct.results):
            return "grid"
        if self.scope != "auto":
            return self.scope
        return "cta" if modelled.cta_seconds < modelled.device_seconds else "grid"

    def host_reason(self, construct: ir.Operation) -> str | None:
        """Why ``construct`` must run on the host (None when the grid can run it)."""
        if HOST_REASON in construct.attributes:  # quartet-host-control-flow's (host mode)
            return ir.StringAttr(construct.attributes[HOST_REASON]).value
        carried = [v for v in _carried(construct) if isinstance(v.type, ir.MemRefType)]
        if carried:
            return (
                f"it carries a buffer ({carried[0].type}) from one iteration to the next, "
                "which the host would swap"
            )
        for region in construct.regions:
            for block in region.blocks:
                for op in block.operations:
                    reason = self.op_reason(op.operation)
                    if reason is not None:
                        return reason
        if not any(self.launches(op) for op in _nested(construct)):
            return "it launches no kernel: the host computes it without the device"
        return None

    def launches(self, op: ir.Operation) -> bool:
        """Whether ``op`` is a launch: a call of a kernel function, or a copy (which becomes
        one)."""
        if op.name == "memref.copy":
            return True
        if op.name != "func.call":
            return False
        callee = self.functions.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
        return callee is not None and block_loop(callee) is not None

    def op_reason(self, op: ir.Operation) -> str | None:
        name = op.name
        where = f"'{name}' at {op.location}"
        if name in PLACEABLE_OPS:
            if PLACEMENT in op.attributes:
                return None
            return f"it holds {where}, which runs on the host"
        if name == "func.call":
            callee = self.functions.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
            if callee is None or block_loop(callee) is None:
                return f"it calls {where}, which is not a kernel"
            return None
        if name == "memref.copy" or name in STORAGE_OPS:
            if name == "memref.alloc" and not ir.MemRefType(op.results[0].type).has_static_shape:
                return f"it allocates a buffer of a dynamic shape at {op.location}"
            return None
        if name == "memref.load":
            element = ir.MemRefType(op.operands[0].type).element_type
            if not isinstance(element, ir.IntegerType):
                return f"it reads back a {element} at {op.location}, not a predicate"
            return None
        if name in SCALAR_OPS or (name.startswith("arith.") and _integer_op(op)):
            return None
        return f"it holds {where}, which the vEU program cannot run"

    def modelled(self, construct: ir.Operation) -> Modelled:
        """Seconds of one iteration (one run of a branch) on the grid, on the host and on one
        CTA (see the module)."""
        work, serial, launches, tasks, loads = 0.0, 0.0, 0, 0, 0
        for op in _nested(construct):
            if op.name == "memref.load":
                loads += 1
            launched = self.launched_work(op)
            if launched is None:
                continue
            seconds, blocks = launched
            work += seconds
            serial += blocks * task_seconds(seconds, 0.0, blocks, self.spec.sm_count)
            launches += 1
            tasks += blocks
        decided = order([construct], self.accesses)
        handoffs = sum(1 for waits in decided.waits.values() if waits)
        return Modelled(
            device_seconds=work + handoffs * self.handoff + len(decided.barriers) * self.barrier,
            host_seconds=work + launches * LAUNCH_SECONDS + max(loads, 1) * ROUND_TRIP_SECONDS,
            cta_seconds=serial + tasks * self.cta_barrier,
        )

    def launched_work(self, op: ir.Operation) -> tuple[float, int] | None:
        """The modelled time of the kernel ``op`` launches without its launch charge, and its
        tasks (blocks); None where ``op`` launches nothing (a copy launches a copy kernel)."""
        if op.name == "memref.copy":
            return copy_work_seconds(op, self.spec), copy_blocks(op)
        if op.name != "func.call":
            return None
        callee = self.functions.get(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
        loop = None if callee is None else block_loop(callee)
        if loop is None or MODELLED_SECONDS not in loop.attributes:
            return None
        seconds = ir.FloatAttr(loop.attributes[MODELLED_SECONDS]).value - self.charge
        blocks = tile.Launch.from_attr(loop.attributes[tile.LAUNCH]).blocks
        return max(seconds, 0.0), blocks

    def accesses(self, op: ir.Operation) -> tuple[frozenset, frozenset] | None:
        """What a launch (a copy: the launch it becomes) reads and writes, as order.py needs."""
        if op.name == "memref.copy":
            return frozenset({base(op.operands[0])}), frozenset({base(op.operands[1])})
        launch = launch_of(op, self.functions)
        return None if launch is None else (launch.reads, launch.writes)


def _demoted(host: ir.Operation) -> bool:
    """Where a construct of ``host`` stays on the host, its constructs on the grid go there
    too (one vEU program holds the whole host, and a host construct would split it); says
    whether it did."""
    top = [op.operation for op in host.regions[0].blocks[0].operations]
    kept = [op for op in top if op.name in PLACEABLE_OPS and PLACEMENT not in op.attributes]
    placed = [op for op in top if op.name in PLACEABLE_OPS and PLACEMENT in op.attributes]
    if not kept or not placed:
        return False
    reason = (
        f"the host function also runs the {kept[0].name} at {kept[0].location} on the host, "
        "which would split its vEU program"
    )
    for construct in placed:
        for op in [construct, *_nested(construct)]:
            if PLACEMENT in op.attributes:
                del op.attributes[PLACEMENT]
                op.attributes[HOST_REASON] = ir.StringAttr.get(reason)
    return True


def _constructs(host: ir.Operation) -> list[ir.Operation]:
    """The loops and branches of ``host``, innermost first (a post-order walk)."""
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name in PLACEABLE_OPS:
            found.append(op)
        return ir.WalkResult.ADVANCE

    host.walk(visit, ir.WalkOrder.POST_ORDER)
    return found


def _nested(op: ir.Operation) -> list[ir.Operation]:
    """Every op in ``op``'s regions, in program order."""
    return list(preorder(op))[1:]


def _carried(construct: ir.Operation) -> list[ir.Value]:
    """The values ``construct`` carries across iterations or yields out."""
    return list(construct.results) + (
        list(construct.regions[0].blocks[0].arguments) if construct.name == "scf.while" else []
    )


def _integer_op(op: ir.Operation) -> bool:
    types = [value.type for value in (*op.operands, *op.results)]
    return all(isinstance(t, ir.IntegerType | ir.IndexType) for t in types)


def _hoist_allocations(host: ir.Operation) -> None:
    """Every static allocation inside a construct placed on the grid, moved before its
    outermost such construct (its contents are undefined at each allocation, so one buffer
    serves every iteration)."""
    for op in host.regions[0].blocks[0].operations:
        if op.operation.name not in PLACEABLE_OPS or PLACEMENT not in op.attributes:
            continue
        for nested in list(_nested(op.operation)):
            if nested.name == "memref.alloc":
                nested.move_before(op.operation)
