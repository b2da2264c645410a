"""``quartet``: compile a model into an artifact with a report, run it on a device.

    quartet compile model.mlir --target sm_90 -o out/   # the artifact (manifest.json, <kernel>.ptx,
                                                        # weights.bin), final.mlir, report.json,
                                                        # gantt.png (Rammer's vEUs over time)
    quartet compile model.onnx --target sm_90 -o out/ [--input-shape x=1,3,224,224]
    quartet compile model.onnx -o out/ --report          # + out/report.html, to open offline
    quartet run model.onnx --target cpu [--inputs in.npz] --check   # vs onnxruntime/reference
    quartet run model.onnx --device cuda --bench 100     # compile for sm_90, time it on a GPU
    quartet run out/ --device cpu|emulator|cuda          # a compiled artifact (quartet.runtime)
    quartet emulate model.onnx [--target sm_80] --check  # the PTX itself, in the emulator
    quartet demo                                         # the bundled MLP, end to end

Exit codes: 0 ok, 1 user error (bad input, unsupported construct), 2 internal error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from quartet import isolation
from quartet.compiler import CompiledModel, compile
from quartet.counters import Counters, DataDependentRegion, KernelTraffic, LoopFigures, Tally
from quartet.errors import QuartetError
from quartet.pipelines import CONTROL_FLOW, FUSION, SCHEDULES, TARGETS
from quartet.rammer.cost import LAUNCH_SECONDS
from quartet.runtime import cli as runtime_cli
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.model import Model
from quartet.tools.progress import stage_display
from quartet.veu_figures import VeuSchedule


def main(argv: list[str] | None = None) -> int:
    """Run the command in a child process (quartet.isolation): an MLIR assertion or a crash of
    generated code is reported as an internal error naming the stage and pass (exit 2), and
    never a traceback or an abort of the ``quartet`` process itself. On a terminal, a live
    line shows the stage the child is in (quartet.tools.progress)."""
    args = _parser().parse_args(argv)
    try:
        _check_options(args)
        watcher = stage_display(getattr(args, "quiet", False))
        return isolation.call(f"'quartet {args.name}'", _command, args, watcher=watcher)
    except isolation.InternalError as error:
        print(error, file=sys.stderr)
        return 2
    except QuartetError as error:
        print(error, file=sys.stderr)
        return 1


def _command(args: argparse.Namespace) -> int:
    try:
        return args.command(args)
    except BrokenPipeError:  # stdout closed early (`quartet ... | head`): not an error
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quartet", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    compile_cmd = commands.add_parser("compile", help="compile a .mlir or .onnx model to PTX")
    compile_cmd.add_argument("model", type=Path)
    compile_cmd.add_argument("--target", choices=TARGETS, default="sm_90")
    compile_cmd.add_argument("--entry", help="function to compile when there are several")
    compile_cmd.add_argument(
        "-o", "--output", type=Path, help="directory for the artifact (quartet.runtime) and report"
    )
    compile_cmd.add_argument(
        "--report",
        action="store_true",
        help="also write report.html into -o DIR: the operator graph by kernel, kernels, tiles",
    )
    compile_cmd.add_argument(
        "--cpu-library",
        action="store_true",
        help="with -o on a GPU target: build the CPU form's library into the artifact too",
    )
    _add_onnx_options(compile_cmd)
    compile_cmd.set_defaults(command=_compile, name="compile")
    run = commands.add_parser(
        "run",
        help="run an .onnx model or an artifact directory on a device (cpu, emulator, cuda)",
    )
    _add_run_options(run, TARGETS, device=True)
    emulate = commands.add_parser(
        "emulate", help="compile an .onnx model to PTX and execute it in the PTX emulator"
    )
    _add_run_options(emulate, [t for t in TARGETS if t != "cpu"], device=False)
    demo = commands.add_parser("demo", help="the bundled MLP: PTX, ptxas, CPU run vs numpy")
    demo.add_argument("--target", choices=[t for t in TARGETS if t != "cpu"], default="sm_90")
    demo.set_defaults(command=_demo, name="demo")
    return parser


def _add_run_options(parser: argparse.ArgumentParser, targets, device: bool) -> None:
    parser.add_argument("model", type=Path, help="an .onnx model or an artifact directory")
    parser.add_argument(
        "--target",
        choices=targets,
        help="compile the .onnx model for it (default: cpu on the cpu device, else sm_90)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with onnxruntime/reference (.onnx) or the artifact's CPU form",
    )
    runtime_cli.add_run_options(parser, device)
    _add_onnx_options(parser)
    parser.set_defaults(command=_run, name=parser.prog.split()[-1])
    if not device:
        parser.set_defaults(device="emulator")


def _add_onnx_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=D0,D1,...",
        help="bind the shape of an ONNX input with dynamic dimensions (repeatable)",
    )
    parser.add_argument(
        "--fusion",
        choices=FUSION,
        default="welder",
        help="welder: fuse operators into kernels (default); none: one kernel per operator",
    )
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="rammer",
        help="rammer: one persistent kernel per inference, its kernels co-scheduled on vEUs "
        "(default); none: one launch per kernel",
    )
    parser.add_argument(
        "--control-flow",
        choices=CONTROL_FLOW,
        default="device",
        help="where loops and branches run on a GPU target: host (a host loop launching their "
        "kernels, reading conditions back) or device (Grinder: inside the persistent kernel, one "
        "launch, on the grid or on one CTA by the cost model; what cannot go there stays on the "
        "host and the summary says why); grid or cta: the device, that scope forced",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        help="compile from scratch: neither read nor write the compile cache",
    )


def _check_options(args: argparse.Namespace) -> None:
    """Option values argparse accepts but Quartet cannot use: one-line errors before any work
    (and the output directory created up front, so a bad -o fails before the compile)."""
    if args.command is _run:
        runtime_cli.check_run_options(args)
    if getattr(args, "report", False):
        _check_report_options(args)
    if getattr(args, "output", None) is not None:
        _create_output_directory(args.output)


def _check_report_options(args: argparse.Namespace) -> None:
    if args.output is None:
        raise QuartetError("error: --report writes report.html into the -o directory; pass -o DIR")
    try:
        import quartet.report  # noqa: F401 - matplotlib and networkx, the 'report' extra
    except ImportError as error:
        raise QuartetError(
            f"error: --report needs matplotlib and networkx ({error.name} is missing): "
            "pip install 'quartet[report]'"
        ) from None


def _create_output_directory(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise QuartetError(f"error: -o {path}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise QuartetError(
            f"error: -o {path}: cannot create the directory ({error.strerror})"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise QuartetError(f"error: -o {path}: the directory is not writable")


def _compile(args: argparse.Namespace) -> int:
    """Compile; with -o, write the artifact (quartet.runtime runs it) and, beside it, the IR,
    report.json and the summary."""
    graph_ir = None
    if _is_onnx(args.model):
        onnx_model = _compile_onnx(args, args.target)
        model, graph_ir, saved = onnx_model.compiled, onnx_model.mlir, onnx_model
    else:
        model = compile(
            args.model,
            target=args.target,
            entry=args.entry,
            fusion=args.fusion,
            schedule=args.schedule,
            control_flow=args.control_flow,
            cache=args.cache,
        )
        saved = model
    report = _report(model)
    if args.output:
        saved.save(args.output, cpu_library=args.cpu_library)
        (args.output / "final.mlir").write_text(model.final_ir)
        if graph_ir is not None:
            (args.output / "graph.mlir").write_text(graph_ir)
        (args.output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.output / "summary.txt").write_text(_summary(model) + "\n")
        _write_gantt(model, args.output)
        if args.report:
            _write_report(model, args)
    print(_summary(model))
    return 0


def _write_gantt(model: CompiledModel, directory: Path) -> None:
    """gantt.png: the (first) persistent kernel's vEUs over modelled time, by kernel (more
    than one persistent kernel: gantt-1.png and on for the others)."""
    if not model.schedules:
        return
    from quartet.rammer.gantt import gantt

    for number, veu in enumerate(model.schedules):
        name = "gantt.png" if number == 0 else f"gantt-{number}.png"
        gantt(veu.table, veu.launches, veu.device, directory / name)


def _write_report(model: CompiledModel, args: argparse.Namespace) -> None:
    from quartet.report import write_report

    isolation.report(stage="report")
    write_report(model, args.output / "report.html", args.model.name)


def _is_onnx(path: Path) -> bool:
    return path.suffix.lower() == ".onnx"


def _progress(args: argparse.Namespace):
    if args.quiet:
        return None
    start = time.perf_counter()

    def report(line: str) -> None:
        print(f"[{time.perf_counter() - start:7.2f} s] {line}", file=sys.stderr, flush=True)

    return report


def _input_shapes(specs: list[str]) -> dict[str, list[int]]:
    shapes = {}
    for spec in specs:
        name, _, dims = spec.partition("=")
        try:
            shapes[name] = [int(d) for d in dims.split(",") if d.strip()]
        except ValueError:
            raise QuartetError(
                f"error: --input-shape expects NAME=D0,D1,... with integer sizes, got '{spec}'"
            ) from None
        if not name or not shapes[name]:
            raise QuartetError(f"error: --input-shape expects NAME=D0,D1,..., got '{spec}'")
    return shapes


def _compile_onnx(args: argparse.Namespace, target: str):
    from quartet.frontend.onnx import compile_model

    return compile_model(
        args.model,
        target=target,
        input_shapes=_input_shapes(args.input_shape),
        fusion=args.fusion,
        schedule=args.schedule,
        control_flow=args.control_flow,
        cache=args.cache,
        progress=_progress(args),
    )


def _run(args: argparse.Namespace) -> int:
    """An artifact directory through quartet.runtime; an .onnx model compiled for the device
    (the CPU form for cpu, sm_90 PTX for the emulator and cuda), then the same."""
    if args.model.is_dir():
        return _run_artifact(args)
    if not _is_onnx(args.model):
        raise QuartetError(
            f"error: {args.model}: 'quartet run' takes an .onnx model or an artifact directory "
            "(quartet compile -o DIR)"
        )
    device = args.device or ("cpu" if args.target in (None, "cpu") else "emulator")
    target = args.target or ("cpu" if device == "cpu" else "sm_90")
    if target == "cpu" and device != "cpu":
        raise QuartetError(f"error: --device {device} runs PTX: compile with --target sm_90")
    onnx_model = _compile_onnx(args, target)
    feeds = onnx_model.random_inputs(args.seed)
    if args.inputs:
        feeds.update(runtime_cli.load_arrays(args.inputs, "--inputs"))
    with Model(onnx_model.artifact(cpu_library=device == "cpu"), args.watchdog) as model:
        outputs = _execute(args, model, onnx_model.unbound(feeds), device)
    if not args.check:
        return 0
    return _check(args, onnx_model, feeds, outputs)


def _run_artifact(args: argparse.Namespace) -> int:
    given = [option for option in ("target", "input_shape") if getattr(args, option)]
    if given:
        option = given[0].replace("_", "-")
        raise QuartetError(f"error: --{option} applies to .onnx models, not to an artifact")
    with runtime_cli.load_model(args.model, args.watchdog) as model:
        feeds = model.random_inputs(args.seed)
        if args.inputs:
            feeds.update(runtime_cli.load_arrays(args.inputs, "--inputs"))
        device = args.device or model.devices[0]
        outputs = _execute(args, model, feeds, device)
        args.expected = None
        return runtime_cli.check_outputs(model, feeds, outputs, device, args, print)


def _execute(args: argparse.Namespace, model: Model, feeds, device: str) -> dict:
    outputs = runtime_cli.execute(model, feeds, device, args.bench, print)
    if args.save_outputs:
        np.savez(args.save_outputs, **outputs)
    return outputs


def _check(args: argparse.Namespace, model, feeds, outputs) -> int:
    """--check: compare with onnxruntime or the reference on the same inputs (those bound at
    compile time, such as inputs without elements, included)."""
    from quartet.frontend.onnx.check import reference_outputs
    from quartet.runtime.compare import compare

    warn = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    reference_feeds = {**model.graph.bound_inputs, **feeds}
    engine, expected = reference_outputs(args.model, reference_feeds, model.outputs, warn)
    ok = True
    for line, good in compare(outputs, expected, args.rtol, args.atol):
        print(f"  vs {engine}: {line}")
        ok &= good
    print("check OK" if ok else "check FAILED")
    return 0 if ok else 2


def _demo(args: argparse.Namespace) -> int:
    from quartet.examples import mlp

    model = compile(mlp.SOURCE, target=args.target)
    inputs = mlp.random_inputs()
    result = model.run(*inputs)
    expected = mlp.reference(*inputs)
    error = float(np.max(np.abs(result - expected)))
    relative = error / float(np.max(np.abs(expected)))
    print(f"Quartet demo: {mlp.SOURCE.name} (batch 64, 512-1024-1024-10, f32)")
    print(_summary(model))
    print(f"CPU run of the tiled program vs numpy: max abs error {error:.3g}, rel {relative:.3g}")
    device = EmulatedDevice(checks=True)
    start = time.perf_counter()
    emulated = model.emulate(*inputs, device=device)
    seconds = time.perf_counter() - start
    emulated_error = float(np.max(np.abs(emulated - expected))) / float(np.max(np.abs(expected)))
    print(
        f"PTX in the emulator (all checkers on): rel error {emulated_error:.3g}, "
        f"{device.warp_instructions:,} warp instructions in {seconds:.1f} s"
    )
    spills = sum(i.spill_stores + i.spill_loads for i in model.ptxas.values())
    ok = relative < 1e-4 and emulated_error < 1e-4 and spills == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def _report(model: CompiledModel) -> dict:
    counters = model.counters
    return {
        "target": model.target,
        "entry": model.entry,
        "pipeline": model.pipeline,
        "stage_seconds": model.stage_seconds,
        **_totals(counters, counters.exact),
        "compulsory_bytes": counters.compulsory_bytes,
        "host_round_trips_per_iteration": counters.host_round_trips_per_iteration,
        "grid_barriers_per_iteration": counters.grid_barriers_per_iteration,
        "waits_per_iteration": counters.waits_per_iteration,
        "loops": [_loop(loop) for loop in counters.loops],
        "placements": [dataclasses.asdict(placement) for placement in counters.placements],
        "data_dependent_regions": [_region(region) for region in counters.data_dependent],
        "kept_apart": counters.kept_apart,
        "rammer": [_veu_schedule(s) for s in model.schedules],
        "rammer_notes": model.schedule_notes,
        "kernels": [
            {
                "name": kernel.name,
                "grid": kernel.grid,
                "block": kernel.block,
                "shared_bytes": kernel.shared_bytes,
                **_traffic(kernel.name, counters),
                **(
                    {
                        "registers": model.ptxas[kernel.name].registers,
                        "spill_bytes": model.ptxas[kernel.name].spill_stores
                        + model.ptxas[kernel.name].spill_loads,
                    }
                    if model.ptx
                    else {}
                ),
            }
            for kernel in model.kernels
        ],
    }


def _veu_schedule(veu: VeuSchedule) -> dict:
    """A persistent kernel's co-schedule in numbers: vEUs, tasks and waits, the modelled
    makespan against one launch per kernel (each launch charged
    quartet.rammer.cost.LAUNCH_SECONDS, a measured figure), their ratio, vEU utilisation."""
    f = veu.figures
    return {
        "kernel": veu.kernel,
        "veus": f.veus,
        "sms": veu.device.sms,
        "veus_per_sm": veu.device.per_sm,
        "launches": f.launches,
        "tasks": f.tasks,
        "dependencies": f.dependencies,
        "waits": f.waits,
        "launch_seconds": LAUNCH_SECONDS,
        "sequence_seconds": f.sequence_seconds,
        "makespan_seconds": f.makespan_seconds,
        "ratio": f.ratio,
        "utilisation": f.utilisation,
    }


def _totals(tally: Tally, exact: bool) -> dict:
    """Launches and global bytes per inference; where a data-dependent region adds to them,
    null, with the figures outside such regions given apart (never a partial total)."""
    figures = {
        "launches": tally.launches,
        "global_bytes": tally.global_bytes,
        "intermediate_global_bytes": tally.intermediate_global_bytes,
        "copies": tally.copies,
        "copy_bytes": tally.copy_bytes,
        "host_round_trips": tally.host_round_trips,
        "grid_barriers": tally.grid_barriers,
        "waits": tally.waits,
    }
    if exact:
        return figures
    return {**dict.fromkeys(figures), "outside_data_dependent_regions": figures}


def _loop(loop: LoopFigures) -> dict:
    """A loop: its trip count (null where data-dependent) and what one iteration does."""
    return {
        "loop": loop.loop,
        "trips": loop.trips,
        "exact": loop.exact,
        "placement": loop.placement,
        "host_reason": loop.host_reason,
        "per_iteration": _totals(loop.per_iteration, exact=True),
    }


def _region(region: DataDependentRegion) -> dict:
    """A data-dependent region: where it is, and what one run of it launches and moves."""
    return {
        "region": region.region,
        "reached": region.reached,
        "within": region.within,
        "per_run": {
            **_totals(region, exact=True),
            "kernels": {name: _kernel_figures(traffic) for name, traffic in region.kernels.items()},
        },
    }


def _traffic(name: str, counters: Counters) -> dict:
    """A kernel's operators (kind, role, level of each operand) and its launches and global
    bytes per inference (null if it also runs in a data-dependent region, its launches
    outside them given apart)."""
    traffic = counters.kernels.get(name)
    if traffic is None:
        return {}
    figures = _kernel_figures(traffic)
    if not any(name in region.kernels for region in counters.data_dependent):
        return {"operators": traffic.operators, **figures}
    return {
        "operators": traffic.operators,
        **dict.fromkeys(figures),
        "outside_data_dependent_regions": figures,
    }


def _kernel_figures(traffic: KernelTraffic) -> dict:
    return {
        "launches": traffic.launches,
        "loaded_bytes": traffic.loaded,
        "stored_bytes": traffic.stored,
    }


PLACES = {
    "grid": "the grid (inside the persistent kernel)",
    "cta": "one CTA (vEU 0 of the persistent kernel, CTA barriers only)",
}
"""How the compile summary names quartet-grinder's device placements."""


def _summary(model: CompiledModel) -> str:
    seconds = sum(model.stage_seconds.values())
    counters = model.counters
    if counters.exact:
        launches, memory = f"{counters.launches} launches", "per inference"
    else:
        launches = f"{counters.launches} launches + data-dependent regions"
        memory = "outside data-dependent regions"
    lines = [f"target {model.target}: {len(counters.kernels)} kernels ({launches}), "]
    lines[0] += f"compiled in {seconds:.2f} s"
    lines.append("  stages: " + ", ".join(f"{s} {t:.2f} s" for s, t in model.stage_seconds.items()))
    lines.append(
        f"  global memory {memory}: {_megabytes(counters.global_bytes)} "
        f"(intermediates {_megabytes(counters.intermediate_global_bytes)}, "
        f"compulsory {_megabytes(counters.compulsory_bytes)})"
    )
    for loop in counters.loops:
        trips = f"{loop.trips} iterations" if loop.trips is not None else "data-dependent trips"
        iteration = loop.per_iteration
        lines.append(
            f"  loop {loop.loop} ({trips}) on the {loop.placement}: per iteration "
            f"{iteration.launches} launches, {iteration.copies} copies, "
            f"{iteration.host_round_trips} host round trips, {iteration.grid_barriers} grid "
            f"barriers, {iteration.waits} counter waits, "
            f"{_megabytes(iteration.global_bytes + iteration.copy_bytes)}"
            + ("" if loop.exact else " (data-dependent parts apart)")
        )
    for placement in counters.placements:
        where = PLACES.get(placement.placement) or f"the host: {placement.reason}"
        modelled = ""
        if placement.device_seconds is not None:
            modelled = (
                f" (modelled per iteration: {placement.device_seconds * 1e6:.2f} us on the grid, "
                f"{placement.cta_seconds * 1e6:.2f} us on one CTA, "
                f"{placement.host_seconds * 1e6:.2f} us on the host)"
            )
        moved = (
            f"; {placement.speculated} operators moved out of its branches"
            if placement.speculated
            else ""
        )
        lines.append(f"  {placement.construct} runs on {where}{modelled}{moved}")
    for index, region in enumerate(counters.data_dependent):
        scope = "per inference" if region.within is None else f"per run of #{region.within}"
        lines.append(
            f"  data-dependent #{index}: {region.region}, reached {region.reached}x {scope}; "
            f"per run {region.launches} launches, {_megabytes(region.global_bytes)}"
        )
    if model.kernels:
        header = f"  {'kernel':<12} {'grid':>10} {'block':>6} {'smem B':>7} {'regs':>5} spills"
        lines.append(f"{header}  operators (operand levels)")
    for kernel in model.kernels:
        info = model.ptxas[kernel.name]
        spills = info.spill_stores + info.spill_loads
        traffic = counters.kernels.get(kernel.name)
        operators = "; ".join(
            f"{o['operator']} ({' '.join(o['levels'])})"
            for o in (traffic.operators if traffic else [])
        )
        lines.append(
            f"  {kernel.name:<12} {kernel.grid[0]:>10} {kernel.block[0]:>6} "
            f"{kernel.shared_bytes:>7} {info.registers:>5} {spills:>6}  {operators}"
        )
    for note in counters.kept_apart:
        lines.append(f"  kept apart: {note}")
    for veu in model.schedules:
        f = veu.figures
        lines.append(
            f"  rammer {veu.kernel}: {f.veus} vEUs ({veu.device.sms} SMs x "
            f"{veu.device.per_sm}), {f.launches} launches, {f.tasks} tasks, {f.waits} waits; "
            f"modelled makespan {f.makespan_seconds * 1e6:.2f} us against "
            f"{f.sequence_seconds * 1e6:.2f} us one launch per kernel ({f.ratio:.2f}x, "
            f"{LAUNCH_SECONDS * 1e6:.0f} us a launch); vEU utilisation {f.utilisation:.2f}"
        )
    for note in model.schedule_notes:
        lines.append(f"  rammer re-planned: {note}")
    lines.append(f"  pipeline: {model.pipeline}")
    return "\n".join(lines)


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.3f} MB"
