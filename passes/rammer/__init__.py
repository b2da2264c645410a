"""quartet-rammer: each run of kernel launches of a host function becomes one persistent
kernel, a vEU program walking a vEU table (Rammer, OSDI'20; docs/rammer.md).

Right after ``quartet-lower-tiles``: every kernel is then a block loop whose one iteration is
a task (one CTA's work, grid final), recording how it launches (``tile.launch``), its global
traffic per argument (``tile.traffic``) and Welder's modelled time; the host is a list of
calls of kernel functions on buffers. The pass is still target-independent, so the GPU and the
CPU tails both derive from its output. For each run of two or more launches (``launches.py``):

1. dependencies from what each launch reads and writes (RAW, WAR, WAW), transitively reduced,
   and each task's time from Welder's (``quartet.rammer.cost.task_seconds``);
2. the virtual device (``device.py``): vEUs per SM from the largest task's threads and shared
   memory and the register plan (option ``registers``), on ``arch``;
3. the vEU table from Rammer's wavefront policy (``quartet.rammer.policy.plan``, a handoff
   between launches costing ``quartet.rammer.cost.handoff_seconds``);
4. each distinct kernel as a task function (``tasks.py``), and the vEU program calling them,
   called once by the host (``program.py``).

``schedule=none`` leaves the launch list as it is. A host with loops or branches quartet-grinder
placed on the device becomes one vEU program as a whole, its constructs inside it, its
launches ordered by their counters (order.py), those of a construct on one CTA all on one vEU
(flow.py); one with control flow left on the host keeps its launch list, and so does a run of
one launch (a persistent kernel gains nothing there). A host copy between two launches (a buffer a
Scatter updates in place, filled from a constant) becomes the launch of a copy kernel
(passes/copy_kernel.py), which keeps the run in one kernel. A launch whose block no vEU can be
(more threads or shared memory than a block may have) stays a launch, marked ``schedule.kept``
with the reason, and splits its run.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.hardware import CpuSpec, spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.copy_kernel import CopyKernels
from quartet.passes.rammer.device import unplaceable, virtual_device
from quartet.passes.rammer.flow import (
    OWNER_VEU,
    FlowProgram,
    has_grid_constructs,
    launches_in,
    program_ops,
)
from quartet.passes.rammer.launches import (
    Launch,
    block_loop,
    host_functions,
    launch_charge,
    launch_nodes,
    launch_of,
    runs,
)
from quartet.passes.rammer.order import owned
from quartet.passes.rammer.program import Program
from quartet.passes.rammer.tasks import SUFFIX, task_function
from quartet.rammer import policy
from quartet.rammer.cost import SCHEDULES, handoff_seconds
from quartet.welder import LAUNCH_SECONDS

DEFAULT_REGISTERS = 64


@dataclass(frozen=True)
class Rammer(ModulePass):
    """Co-schedule each run of kernel launches into one persistent kernel (a vEU program)."""

    name = "quartet-rammer"
    arch: str = option("sm_90", "target machine: sm_90, sm_80, sm_70 or cpu (device: sm_90)")
    schedule: str = option("rammer", "rammer: one persistent kernel per run of launches; none")
    registers: int = option(
        DEFAULT_REGISTERS, "registers per thread each vEU is planned for (.minnctapersm)"
    )

    def apply(self, module: ir.Operation) -> None:
        if self.schedule not in SCHEDULES:
            raise PassError(
                f"option 'schedule' must be one of {', '.join(SCHEDULES)}, got '{self.schedule}'"
            )
        if self.schedule == "none":
            return
        spec = self._spec()
        functions, hosts = host_functions(module)
        tasks: dict[str, str] = {}  # kernel function -> its task function
        copies = None
        for host in hosts:
            host_name = ir.StringAttr(host.attributes["sym_name"]).value
            names = (f"{host_name}_rammer", f"{host_name}_veu_table")
            if has_grid_constructs(host):
                self._schedule_flow(host, functions, spec, names, tasks)
                continue
            if _splitting_copies(host, functions):
                copies = copies or CopyKernels(module, spec)
                charge = launch_charge(host) if LAUNCH_SECONDS in host.attributes else 0.0
                copies.replace_copies(host, charge)
                functions, _ = host_functions(module)  # with the copy kernels
            parts = [part for run in runs(host, functions) for part in _placeable(run, spec)]
            scheduled = [part for part in parts if len(part) > 1]
            for number, run in enumerate(scheduled):
                suffix = f"_{number}" if number else ""
                names = (f"{host_name}_rammer{suffix}", f"{host_name}_veu_table{suffix}")
                self._schedule(host, run, spec, names, tasks)
        _erase_unlaunched(module)

    def _spec(self):
        try:
            spec = spec_for(self.arch)
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        if isinstance(spec, CpuSpec):  # the CPU runs the vEU program of an H100 serially
            spec = spec_for("sm_90")
        return spec

    def _schedule(self, host, run: list[Launch], spec, names, tasks: dict[str, str]) -> None:
        """Build the vEU program of ``run`` named ``names`` (kernel, table)."""
        device, depends, table, task_names = self._place(host, run, spec, tasks)
        Program(host, run, depends, table, device, spec.arch).build(*names, task_names)

    def _schedule_flow(self, host, functions, spec, names, tasks: dict[str, str]) -> None:
        """Build the one vEU program of ``host``, whose loops and branches quartet-grinder
        placed on the grid (flow.py)."""
        ops = program_ops(host, functions)
        run = launches_in(ops, functions)
        for launch in run:
            reason = unplaceable(spec, launch.launch)
            if reason is not None:
                raise PassError(f"a launch in a loop on the grid: {reason}", launch.call)
        pins = [index for index, launch in enumerate(run) if owned(launch.call)]
        device, depends, table, task_names = self._place(host, run, spec, tasks, pins)
        program = FlowProgram(host, run, depends, table, device, spec.arch, ops, functions)
        program.build(*names, task_names)

    def _place(self, host, run: list[Launch], spec, tasks: dict[str, str], pins=()):
        """The virtual device ``run`` gets, its launches' dependencies, the wavefront policy's
        vEU table (every task of the launches ``pins`` on the owner vEU of a construct on one
        CTA) and each launch's task function (made where it is the callee's first)."""
        threads = max(launch.launch.threads for launch in run)
        shared = max(launch.launch.shared for launch in run)
        # the tasks of ``pins`` all go to one vEU: they ask for no more
        total = sum(run[i].launch.blocks for i in range(len(run)) if i not in pins) + bool(pins)
        device = virtual_device(spec, threads, shared, self.registers, total)
        nodes = launch_nodes(run, launch_charge(host), device.sms)
        handoff = handoff_seconds(spec.clock_hz)
        table = policy.wavefront(nodes, device, handoff)
        if pins:
            table = policy.pinned(nodes, table, device, pins, OWNER_VEU, handoff)
        task_names = [self._task(launch, tasks) for launch in run]
        return device, [node.depends for node in nodes], table, task_names

    def _task(self, launch: Launch, tasks: dict[str, str]) -> str:
        callee = ir.StringAttr(launch.callee.attributes["sym_name"]).value
        if callee not in tasks:
            task = task_function(launch.callee, launch.kernel)
            tasks[callee] = ir.StringAttr(task.attributes["sym_name"]).value
        return tasks[callee]


KEPT = "schedule.kept"
"""On a launch rammer left out of every vEU program: why (its block could be no vEU)."""


def _placeable(run: list[Launch], spec) -> list[list[Launch]]:
    """``run`` split at the launches whose tasks no vEU can run (each marked with why, and
    left a launch of its own)."""
    parts: list[list[Launch]] = [[]]
    for launch in run:
        reason = unplaceable(spec, launch.launch)
        if reason is None:
            parts[-1].append(launch)
            continue
        launch.call.attributes[KEPT] = ir.StringAttr.get(reason)
        parts.append([])
    return [part for part in parts if part]


def _splitting_copies(host: ir.Operation, functions) -> bool:
    """Whether a host ``memref.copy`` lies between two launches of ``host`` (a body without
    control flow): it would end one persistent kernel and start another, where a copy
    kernel's tasks (passes/copy_kernel.py) keep the run whole."""
    kinds = []
    for op in host.regions[0].blocks[0].operations:
        if launch_of(op.operation, functions) is not None:
            kinds.append("launch")
        elif op.operation.name == "memref.copy":
            kinds.append("copy")
    text = "".join(kind[0] for kind in kinds)  # l: launch, c: copy
    return "c" in text.strip("c")


def _erase_unlaunched(module: ir.Operation) -> None:
    """Kernel functions no call launches any more (their task functions replaced them)."""
    body = module.regions[0].blocks[0]
    called = set()

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "func.call":
            called.add(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    for op in list(body.operations):
        if op.operation.name != "func.func":
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value
        if name not in called and not name.endswith(SUFFIX) and block_loop(op.operation):
            op.operation.erase()
