"""The report's sections, in page order: each is a function of :class:`ReportInput` that
returns its HTML, or None where it has nothing to show.

A pass that lands later adds its own section here: one function appended to
:data:`SECTIONS`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from quartet.compiler import CompiledModel
from quartet.hardware import GpuSpec
from quartet.report import figures, page
from quartet.report.operators import Launch, OperatorGraph


@dataclass(frozen=True)
class ReportInput:
    title: str
    model: CompiledModel
    graph: OperatorGraph
    spec: GpuSpec | None  # the target GPU (None for the CPU target)


@dataclass(frozen=True)
class KernelRow:
    """One distinct kernel, all its launches together."""

    name: str
    colour: str  # its colour in the operator graph
    launches: int
    grid: str
    block: str
    shared_bytes: int | None
    registers: int | None
    spill_bytes: int | None
    occupancy: float | None  # resident warps over the SM's maximum
    modelled_seconds: float | None  # one launch
    global_bytes: int  # all launches


def overview(report: ReportInput) -> str:
    model, counters = report.model, report.model.counters
    launches = report.graph.launches
    modelled = [launch.modelled_seconds for launch in launches]
    machine = f"{model.target} ({report.spec.name})" if report.spec else model.target
    pairs = [
        ("target", machine),
        ("function", model.entry),
        ("kernels", f"{len({launch.kernel for launch in launches})} ({len(launches)} launches)"),
        ("operators", str(len(report.graph.operators))),
        (
            "global memory per inference",
            f"{_mb(counters.global_bytes)} (intermediates {_mb(counters.intermediate_global_bytes)}"
            f", compulsory {_mb(counters.compulsory_bytes)})",
        ),
        ("modelled time per inference", _modelled_total(modelled)),
        ("compile time", f"{sum(model.stage_seconds.values()):.2f} s"),
    ]
    return page.section("overview", "Overview", page.facts(pairs))


def operator_graph(report: ReportInput) -> str | None:
    graph = report.graph
    if not graph.operators:
        return None
    hidden = sum(1 for use in graph.operators if not use.reads_tensors)
    svg = figures.operator_graph_svg(graph)
    return page.section(
        "graph",
        "Operators and fused kernels",
        page.note(
            "One box per operator, named after its ONNX node (op<i> where the input had no "
            "names), with its kind and loop extents; its colour is the kernel that computes "
            "it (×N: launched N times, on N groups of operators alike). An arrow is a value "
            "one operator reads from another: solid green in registers, dashed blue through "
            "shared memory, dotted grey through global memory."
            + (
                f" {hidden} initialisations from constants (the zero of an accumulator) are "
                "computed in registers by the reduction they start and not drawn."
                if hidden
                else ""
            )
        ),
        _graph_legend(graph),
        page.svg_figure(svg, "operator graph coloured by kernel"),
    )


def _graph_legend(graph: OperatorGraph) -> str:
    levels = [
        page.line_sample(colour, css, width, f"read from {figures.LEVEL_NAMES[level]}")
        for level, (colour, _, css, width) in figures.EDGE_STYLES.items()
    ]
    colours = figures.kernel_colours(graph)
    kernels = [
        page.swatch_sample(colours[kernel], f"{kernel} ×{_launch_count(graph, kernel)}")
        for kernel in graph.kernels
    ]
    return page.legend(levels + kernels)


def _launch_count(graph: OperatorGraph, kernel: str) -> int:
    return sum(1 for launch in graph.launches if launch.kernel == kernel)


def kernels(report: ReportInput) -> str | None:
    rows = kernel_rows(report)
    if not rows:
        return None
    headers = ["kernel", "launches", "grid", "block", "shared memory", "registers", "spills",
               "occupancy", "modelled time / launch", "global memory (all launches)"]  # fmt: skip
    cells = [
        [
            page.swatch(row.colour, row.name),
            page.number(str(row.launches)),
            page.number(row.grid),
            page.number(row.block),
            page.number(_optional(row.shared_bytes, lambda v: f"{v:,} B")),
            page.number(_optional(row.registers, str)),
            page.number(_optional(row.spill_bytes, lambda v: f"{v:,} B")),
            page.number(_optional(row.occupancy, lambda v: f"{v:.0%}")),
            page.number(_us(row.modelled_seconds)),
            page.number(_mb(row.global_bytes)),
        ]
        for row in rows
    ]
    launches = report.graph.launches
    total = ["all", page.number(str(len(launches))), "", "", "", "", "", "",
             page.number(_modelled_total([launch.modelled_seconds for launch in launches])),
             page.number(_mb(sum(row.global_bytes for row in rows)))]  # fmt: skip
    bars = figures.kernel_bars_svg(
        [row.name for row in rows],
        [row.colour for row in rows],
        [_launches_us(row) for row in rows],
        [row.global_bytes / 1e6 for row in rows],
    )
    return page.section(
        "kernels",
        "Kernels",
        page.note(
            "Registers and spills are ptxas's (-v); occupancy is resident warps per SM over "
            "the maximum, from the block size, those registers and the shared memory (the "
            "CUDA occupancy calculator's rules, hardware/specs.py). Modelled time is Welder's "
            "latency model (passes/welder/model.py), not a measurement. Global memory counts "
            "every byte the kernel's plan reads and writes there (halo re-reads included)."
        ),
        page.table(headers, cells, total),
        page.svg_figure(bars, "modelled time and global memory per kernel"),
    )


def kernel_rows(report: ReportInput) -> list[KernelRow]:
    model = report.model
    first: dict[str, Launch] = {}
    for launch in report.graph.launches:
        first.setdefault(launch.kernel, launch)
    colours = figures.kernel_colours(report.graph)
    shapes = {kernel.name: kernel for kernel in model.kernels}
    rows = []
    for name, launch in first.items():
        kernel = shapes.get(name)
        info = model.ptxas.get(name) if model.ptx else None
        traffic = model.counters.kernels.get(name)
        registers = info.registers if info else None
        occupancy = None
        if kernel is not None and registers is not None and report.spec is not None:
            threads = math.prod(kernel.block)
            occupancy = report.spec.occupancy(threads, registers, kernel.shared_bytes)
        rows.append(
            KernelRow(
                name=name,
                colour=colours[name],
                launches=_launch_count(report.graph, name),
                grid=_dims(kernel.grid) if kernel else "—",
                block=_dims(kernel.block) if kernel else "—",
                shared_bytes=kernel.shared_bytes if kernel else None,
                registers=registers,
                spill_bytes=info.spill_stores + info.spill_loads if info else None,
                occupancy=occupancy,
                modelled_seconds=launch.modelled_seconds,
                global_bytes=traffic.loaded + traffic.stored if traffic else 0,
            )
        )
    return rows


def tiles(report: ReportInput) -> str | None:
    seen: dict[str, list[Launch]] = {}
    for launch in report.graph.launches:
        seen.setdefault(launch.kernel, []).append(launch)
    rows = []
    for kernel, launches in seen.items():
        colour = figures.kernel_colours(report.graph)[kernel]
        for position, use in enumerate(launches[0].operators):
            names = list(dict.fromkeys(launch.operators[position].name for launch in launches))
            block, register = use.program.tile("smem"), use.program.tile("reg")
            rows.append(
                [
                    page.swatch(colour, kernel) if position == 0 else "",
                    ", ".join(names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else ""),
                    use.summary,
                    use.role if use.reads_tensors else f"{use.role} (initialisation)",
                    page.number(_dims(block.shape) if block else "—"),
                    page.number(_dims(register.shape) if register else "—"),
                ]
            )
    if not rows:
        return None
    headers = ["kernel", "operator (ONNX node)", "kind and loop extents", "role",
               "block tile", "register tile"]  # fmt: skip
    return page.section(
        "tiles",
        "Roller's tiles per operator",
        page.note(
            "Per loop of each operator (its parallel loops, then its reduction loops): the "
            "block tile is the region one thread block computes (a reduction loop's entry is "
            "one step of it), the register tile the points one thread holds. A fused "
            "kernel's operators carry the regions Welder propagated back from its output. "
            "Roles are the lowering's: a phase is computed by the block's threads, an "
            "epilogue by the thread that holds its producer's values, an inline operator "
            "where it is read."
        ),
        page.table(headers, rows),
    )


def kept_apart(report: ReportInput) -> str | None:
    notes = report.model.counters.kept_apart
    if not notes:
        return None
    items = "".join(f"<li>{page.escape(text)}</li>" for text in notes)
    return page.section(
        "kept-apart",
        "Edges Welder kept apart",
        page.note(
            "Each edge Welder tried to connect and did not: the levels it tried with the "
            "modelled time of the merged kernel or why that level was refused, the modelled "
            "time of the two kernels apart, and the verdict."
        ),
        f'<ol class="reasons">{items}</ol>',
    )


def rammer(report: ReportInput) -> str | None:
    """Each persistent kernel's co-schedule: its figures and its vEUs over modelled time."""
    if not report.model.schedules:
        return None
    from quartet.rammer.cost import LAUNCH_SECONDS
    from quartet.rammer.gantt import gantt_figure

    parts = []
    for veu in report.model.schedules:
        f, device = veu.figures, veu.device
        pairs = [
            ("persistent kernel", veu.kernel),
            ("vEUs", f"{f.veus} ({device.sms} SMs × {device.per_sm})"),
            ("launches placed", str(f.launches)),
            ("tasks", str(f.tasks)),
            ("waits", f"{f.waits} ({f.dependencies} dependencies)"),
            (
                "modelled makespan",
                f"{_us(f.makespan_seconds)} against {_us(f.sequence_seconds)} one launch per "
                f"kernel ({f.ratio:.2f}×)",
            ),
            ("vEU utilisation", f"{f.utilisation:.2f}"),
        ]
        buffer = io.BytesIO()
        gantt_figure(veu.table, veu.launches, device).savefig(buffer, format="png", dpi=100)
        parts += [
            page.facts(pairs),
            page.png_figure(buffer.getvalue(), f"vEUs of {veu.kernel} over modelled time"),
        ]
    return page.section(
        "rammer",
        "Rammer: one persistent kernel",
        page.note(
            "Welder's kernels run as tasks on co-resident vEUs (persistent blocks), placed by "
            "the wavefront policy, a task waiting only for the launches it reads from. The "
            "sequence it is compared with launches each kernel in turn, each launch charged "
            f"{LAUNCH_SECONDS * 1e6:.0f} µs (NVIDIA's measured launch time); times are "
            "Welder's model, not a GPU's."
        ),
        *parts,
    )


def grinder(report: ReportInput) -> str | None:
    """Where quartet-grinder placed each loop and branch, why, and the modelled time of one
    iteration in each place; and what one iteration of each loop costs where it runs."""
    counters = report.model.counters
    if not counters.placements:
        return None
    rows = [
        [
            placement.construct,
            placement.placement,
            placement.reason or "",
            page.number(_us(placement.device_seconds)),
            page.number(_us(placement.cta_seconds)),
            page.number(_us(placement.host_seconds)),
        ]
        for placement in counters.placements
    ]
    loops = [
        [
            loop.loop,
            loop.placement,
            page.number("?" if loop.trips is None else str(loop.trips)),
            page.number(str(loop.per_iteration.launches)),
            page.number(str(loop.per_iteration.host_round_trips)),
            page.number(str(loop.per_iteration.grid_barriers)),
            page.number(str(loop.per_iteration.waits)),
        ]
        for loop in counters.loops
    ]
    headers = ["construct", "placed", "why on the host", "grid µs", "one CTA µs", "host µs"]
    loop_headers = [
        "loop",
        "placed",
        "trips",
        "launches",
        "host round trips",
        "grid barriers",
        "waits",
    ]
    return page.section(
        "grinder",
        "Grinder: loops and branches",
        page.note(
            "quartet-grinder places each loop and branch on the grid (inside the persistent "
            "kernel, its launches ordered by counter waits, predicates read on the device), on "
            "one CTA of it (every task on vEU 0, CTA barriers only: where that is cheaper) or "
            "on the host, with the modelled time of one iteration (one run of a branch) in "
            "each place; then, per loop, what one iteration launches, reads back and waits for."
        ),
        page.table(headers, rows),
        page.table(loop_headers, loops) if loops else "",
    )


SECTIONS: list[Callable[[ReportInput], str | None]] = [
    overview,
    kernels,
    rammer,
    grinder,
    operator_graph,
    tiles,
    kept_apart,
]


def _dims(values) -> str:
    return "×".join(str(v) for v in values)


def _optional(value, show: Callable) -> str:
    return "—" if value is None else show(value)


def _us(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    return f"{seconds * 1e6:.2f} µs"


def _launches_us(row: KernelRow) -> float | None:
    if row.modelled_seconds is None or not math.isfinite(row.modelled_seconds):
        return None
    return row.modelled_seconds * row.launches * 1e6


def _modelled_total(seconds: list[float | None]) -> str:
    known = [s for s in seconds if s is not None and math.isfinite(s)]
    if not known:
        return "—"
    missing = len(seconds) - len(known)
    suffix = f" ({missing} launches without a model)" if missing else ""
    return f"{sum(known) * 1e6:.1f} µs (modelled, not measured){suffix}"


def _mb(count: int) -> str:
    return f"{count / 1e6:.3f} MB"
