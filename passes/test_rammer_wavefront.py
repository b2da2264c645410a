"""test-rammer-wavefront: Rammer's wavefront policy on a loop-level host function, printed.

Reads every host function's launches (``passes/rammer/launches.py``: kernels, tasks, modelled
times, dependencies from the buffers each call reads and writes), places them on a virtual
device of ``sms`` x ``per-sm`` vEUs with :func:`quartet.rammer.policy.plan`, and records the
result on the function, changing nothing else:

- ``rammer.launches``: per launch, its tasks, their time and what it waits for, e.g.
  ``"1 f_k1: 4 tasks x 2.00 us after 0"``;
- ``rammer.waves``: per wave its launches and whether it was placed appended or alone, e.g.
  ``"0 1: appended"``;
- ``rammer.table``: per vEU its queue: launch, task range and modelled start and end, e.g.
  ``"veu 0: 0 [0, 2) 0.00-4.00 us, 1 [0, 1) 4.19-6.19 us"``;
- ``rammer.summary``: vEUs, launches, tasks, dependencies and waits, the makespan against the
  one-launch-per-kernel sequence, and the vEUs' utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.hardware import GpuSpec, spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.rammer.launches import (
    host_functions,
    host_launches,
    launch_charge,
    launch_nodes,
)
from quartet.rammer.cost import Figures, figures, handoff_seconds
from quartet.rammer.policy import Plan, plan
from quartet.rammer.table import LaunchNode, VirtualDevice


@dataclass(frozen=True)
class TestRammerWavefront(ModulePass):
    """Place each host function's launches on vEUs (Rammer's wavefront) and print the table."""

    name = "test-rammer-wavefront"
    arch: str = option("sm_90", "target machine: its SMs and clock (sm_90, sm_80, sm_70)")
    sms: int = option(0, "SMs of the virtual device (0: the arch's)")
    per_sm: int = option(1, "vEUs per SM")

    def apply(self, module: ir.Operation) -> None:
        spec = self._spec()
        if self.sms < 0 or self.per_sm < 1:
            raise PassError(f"options 'sms' and 'per-sm' give {self.sms} x {self.per_sm} vEUs")
        device = VirtualDevice(self.sms or spec.sm_count, self.per_sm)
        handoff = handoff_seconds(spec.clock_hz)
        functions, hosts = host_functions(module)
        for host in hosts:
            run = host_launches(host, functions)
            if not run:
                continue
            launches = launch_nodes(run, launch_charge(host), device.sms)
            result = plan(launches, device, handoff)
            _record(host, "rammer.launches", [_launch_text(launch) for launch in launches])
            _record(host, "rammer.waves", _wave_texts(result))
            _record(host, "rammer.table", _table_texts(result, launches))
            summary = _summary(figures(launches, result.table, device))
            host.attributes["rammer.summary"] = ir.StringAttr.get(summary)

    def _spec(self) -> GpuSpec:
        try:
            spec = spec_for(self.arch)
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        if not isinstance(spec, GpuSpec):
            raise PassError(f"option 'arch' must name a GPU, got '{self.arch}'")
        return spec


def _record(host: ir.OpView, key: str, lines: list[str]) -> None:
    host.attributes[key] = ir.ArrayAttr.get([ir.StringAttr.get(line) for line in lines])


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f}"


def _launch_text(launch: LaunchNode) -> str:
    tasks = f"{launch.tasks} task{'s' if launch.tasks != 1 else ''}"
    after = " after " + " ".join(map(str, launch.depends)) if launch.depends else ""
    return f"{launch.index} {launch.kernel}: {tasks} x {_us(launch.task_seconds)} us{after}"


def _wave_texts(result: Plan) -> list[str]:
    return [
        f"{' '.join(map(str, wave))}: {'alone' if alone else 'appended'}"
        for wave, alone in zip(result.waves, result.alone, strict=True)
    ]


def _table_texts(result: Plan, launches: list[LaunchNode]) -> list[str]:
    table = result.table
    lines = []
    for veu in range(table.veus):
        entries = [
            f"{launch} [{table.ranges[launch][veu][0]}, {table.ranges[launch][veu][1]}) "
            f"{_us(table.start[launch][veu])}-{_us(table.end[launch][veu])} us"
            for launch in table.segments(veu)
        ]
        lines.append(f"veu {veu}: {', '.join(entries) or 'idle'}")
    return lines


def _summary(f: Figures) -> str:
    return (
        f"{f.veus} vEUs, {f.launches} launches, {f.tasks} tasks, {f.dependencies} dependencies, "
        f"{f.waits} waits; makespan {_us(f.makespan_seconds)} us against "
        f"{_us(f.sequence_seconds)} us per kernel ({f.ratio:.2f}x); "
        f"utilisation {f.utilisation:.2f}"
    )
