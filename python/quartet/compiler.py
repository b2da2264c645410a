"""``quartet.compile``: graph-level MLIR in, PTX per kernel (or a CPU library) out.

The embedding API over the pipelines in :mod:`quartet.pipelines`. Input is verified before any
pass runs on it (the MLIR build has assertions on: invalid IR reaching a pass can abort the
process). Every failure the user can cause raises :class:`quartet.QuartetError`.

Work is proportional to what is distinct: Roller constructs each distinct operator once,
``quartet-outline-kernels`` lowers each distinct operator once, and a GPU target builds its CPU
form only when ``run`` first needs it. A second compile of the same input with the same pipeline
and Quartet is read from the compile cache (:mod:`quartet.cache`).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from mlir import ir

from quartet import cache as compile_cache
from quartet import isolation, veu_plan
from quartet.counters import Counters, count
from quartet.cpu_runtime import LIBRARY, CpuExecutable, build_library, runtime_libraries
from quartet.diagnostics import capture_diagnostics, format_diagnostic
from quartet.dialects import create_context
from quartet.dialects.controlflow import PLACEABLE_OPS
from quartet.dialects.schedule import Veus
from quartet.dialects.verify import verify
from quartet.errors import QuartetError, format_location, from_mlir_error
from quartet.hardware import GPUS
from quartet.host import extract_host_program
from quartet.pipeline import parse_pipeline, run_pipeline
from quartet.pipelines import CONTROL_FLOW, DEFAULT_TILING, TARGETS, pipeline_text, steps_for
from quartet.ptxas import PtxasInfo, assemble_all, find_ptxas
from quartet.runtime import artifact as artifacts
from quartet.runtime.artifact import Argument, Artifact, CpuForm, KernelImage, NamedTensor
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.errors import ErrorTable
from quartet.runtime.poison import requested as poison_requested
from quartet.runtime.program import (
    Device,
    HostProgram,
    Launch,
    RunCounts,
    load_program,
    run_host_program,
)
from quartet.signature import Signature, TensorSpec
from quartet.veu_figures import VeuSchedule, veu_schedules
from quartet.veu_plan import planned_veus


@dataclass(frozen=True)
class Kernel:
    """One GPU kernel: its launch shape and shared memory per block (bytes: its static
    arrays, and the dynamic arena a persistent kernel is launched with)."""

    name: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_bytes: int


class Stopwatch:
    """Seconds per named stage, in order: ``with clock("parse"): ...`` (each stage is also
    reported to the parent of an isolated child, which names it if the child crashes)."""

    def __init__(self, seconds: dict[str, float] | None = None):
        self.seconds = seconds if seconds is not None else {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        isolation.report(stage=stage)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


@dataclass
class CompiledModel:
    """The result of :func:`compile`.

    ``pipeline`` is the exact pass pipeline that produced ``final_ir`` from the input (replay it
    with ``quartet-opt --pass-pipeline=...``); ``run`` executes the same tiled program on the CPU
    (for GPU targets through ``cpu_pipeline``, which shares every step up to the loop level,
    ``loops_ir``). ``kernels`` lists each distinct kernel once (GPU targets); ``launches``
    counts the kernel launches of one inference (a kernel in a loop once per iteration).
    ``stage_seconds`` times every stage of the compile; ``cpu_build_seconds`` the stages of a
    GPU target's CPU build, made on the first ``run``. ``counters`` holds the static
    whole-model counters (:mod:`quartet.counters`); ``errors`` the entry's error word and
    messages when an operator checks at run time (``run`` and ``emulate`` raise its error,
    :mod:`quartet.runtime.errors`). ``poison`` says whether the CPU build fills temporaries
    and outputs with poison (``QUARTET_POISON``, read at compile time;
    :mod:`quartet.runtime.poison`).
    """

    target: str
    entry: str
    signature: Signature
    pipeline: str
    cpu_pipeline: str
    final_ir: str
    loops_ir: str
    stage_seconds: dict[str, float]
    ptx: dict[str, str] = field(default_factory=dict)
    kernels: list[Kernel] = field(default_factory=list)
    host: HostProgram | None = None
    cache_entry: Path | None = None  # the compile cache's directory for this model, if any
    cpu_build_seconds: dict[str, float] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    errors: ErrorTable | None = None
    schedule_notes: list[str] = field(default_factory=list)  # Rammer's re-plans, and why
    planned_veus: dict[str, Veus] = field(default_factory=dict)  # per persistent kernel
    schedules: list[VeuSchedule] = field(default_factory=list)  # Rammer's, with its figures
    poison: bool = False
    _scratch: Path | None = field(default=None, repr=False)  # files of an uncached model
    _executable: CpuExecutable | None = field(default=None, repr=False)

    @property
    def launches(self) -> int | None:
        """Kernel launches per inference, every target (``counters.launches``); None where a
        kernel runs a data-dependent number of times (``counters.data_dependent`` then says
        what one run of each such region launches)."""
        return self.counters.launches if self.counters.exact else None

    @property
    def workdir(self) -> Path:
        """Where the model's files (its CPU library) live: the cache entry, else a scratch
        directory removed with the model."""
        if self.cache_entry is not None:
            return self.cache_entry
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="quartet-"))
            _remove_with(self, self._scratch)
        return self._scratch

    @property
    def cpu_library(self) -> Path:
        """The CPU build's shared library (built on first use for a GPU target, then kept in
        ``workdir``)."""
        library = self.workdir / LIBRARY
        if not library.exists():
            _cpu_build_from_loops(self)
        return library

    @property
    def executable(self) -> CpuExecutable:
        """The CPU build, loaded."""
        if self._executable is None:
            self._executable = CpuExecutable(
                self.cpu_library, self.entry, self.signature, self.errors, self.poison
            )
        return self._executable

    def run(
        self, *inputs: np.ndarray, isolate: bool = False
    ) -> np.ndarray | tuple[np.ndarray, ...]:
        """Run on the CPU; returns the output (or a tuple of outputs) as new numpy arrays.

        ``isolate=True`` runs in a child process (building the CPU form there if needed), so
        a crash of the generated code is an :class:`~quartet.isolation.InternalError`.
        """
        if isolate:
            self.workdir  # noqa: B018 - created here, so the child's library outlives the child
            outputs = isolation.call("the CPU run", self.executable.run, *inputs)
        else:
            outputs = self.executable.run(*inputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    @property
    def resident_limits(self) -> dict[str, int]:
        """Per persistent kernel, how many of its blocks (vEUs) the target holds at once: the
        vEUs per SM the compiler planned (and ptxas kept to) times the SMs."""
        return {
            name: veus.per_sm * GPUS[veus.arch].sm_count for name, veus in self.planned_veus.items()
        }

    def emulate(
        self, *inputs: np.ndarray, device: Device | None = None
    ) -> np.ndarray | tuple[np.ndarray, ...]:
        """Run the PTX itself: every kernel in launch order on ``device`` (default: the PTX
        emulator with all checkers on). Only for GPU targets."""
        outputs, _ = self.emulate_counted(*inputs, device=device)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def emulate_counted(
        self, *inputs: np.ndarray, device: Device | None = None
    ) -> tuple[list[np.ndarray], RunCounts]:
        """:meth:`emulate`, with every output in a list and what the run did: launches per
        kernel, copies, host round trips (a loop's trip count is known only now)."""
        if self.host is None:
            raise QuartetError(f"error: target '{self.target}' has no PTX to emulate")
        arrays = self.signature.check_inputs(inputs)
        outputs = self.signature.new_outputs()
        device = device or EmulatedDevice(max_resident_ctas=self.resident_limits)
        loaded = load_program(self.host, self.ptx, device)
        written = dict(enumerate(arrays))
        read = dict(enumerate(outputs, start=len(arrays)))
        counts = run_host_program(self.host, device, loaded, written, read)
        return outputs, counts

    def artifact(
        self,
        *,
        cpu_library: bool = False,
        inputs: tuple[NamedTensor, ...] | None = None,
        outputs: tuple[NamedTensor, ...] | None = None,
        arguments: tuple[Argument, ...] | None = None,
    ) -> Artifact:
        """What :func:`quartet.runtime.load` runs: PTX, host program, signature and weights
        (see :mod:`quartet.runtime.artifact`). The CPU form's library is in it for the cpu
        target, and for a GPU target when ``cpu_library`` (it is built if it was not).
        ``inputs``, ``outputs`` and ``arguments`` describe the interface a frontend gives the
        entry (names, weights bound to arguments); by default every argument is an input
        ``arg<i>`` and every result an output ``result<i>``."""
        if inputs is None or outputs is None or arguments is None:
            inputs, outputs, arguments = _plain_interface(self.signature)
        if self.errors is not None:  # the word quartet-error-word added to the entry
            word = Argument("error_word", "error word", TensorSpec((1,), np.dtype(np.int32)))
            position = self.errors.argument
            arguments = (*arguments[:position], word, *arguments[position:])
        figures = self.ptxas if self.ptx and find_ptxas() else {}
        kernels = tuple(
            KernelImage(name, ptx, _ptxas_figures(figures.get(name)))
            for name, ptx in self.ptx.items()
        )
        return Artifact(
            target=self.target,
            entry=self.entry,
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            host=self.host,
            kernels=kernels,
            cpu=_cpu_form(self) if cpu_library or self.target == "cpu" else None,
            quartet_version=_version(),
            errors=self.errors,
        )

    def save(self, directory: str | Path, *, cpu_library: bool = False) -> Path:
        """Write the model as an artifact into ``directory`` (:meth:`artifact`; the format is
        docs/runtime.md); returns the directory."""
        directory = Path(directory)
        artifacts.write(self.artifact(cpu_library=cpu_library), directory)
        return directory

    @cached_property
    def ptxas(self) -> dict[str, PtxasInfo]:
        """``ptxas -v`` figures per kernel (every kernel assembled for the target chip, in
        parallel)."""
        isolation.report(stage="ptxas")
        return {info.kernel: info for info in assemble_all(self.ptx, self.target)}

    def __getstate__(self) -> dict:
        """What the compile cache (and an isolated child) hands on: everything but the loaded
        CPU library."""
        return {**self.__dict__, "_executable": None}


def _plain_interface(signature: Signature):
    """Inputs ``arg<i>`` and outputs ``result<i>``, one per entry argument and result."""
    inputs = tuple(NamedTensor(f"arg{i}", spec) for i, spec in enumerate(signature.inputs))
    outputs = tuple(NamedTensor(f"result{i}", spec) for i, spec in enumerate(signature.outputs))
    arguments = tuple(Argument("input", named.name, named.spec) for named in inputs) + tuple(
        Argument("output", named.name, named.spec) for named in outputs
    )
    return inputs, outputs, arguments


def _ptxas_figures(info: PtxasInfo | None) -> dict[str, int] | None:
    if info is None:
        return None
    figures = dataclasses.asdict(info)
    del figures["kernel"]
    return figures


def _cpu_form(model: CompiledModel) -> CpuForm:
    """The CPU library, and MLIR's runtime utilities where it links against them (they are
    shipped beside it: the runtime preloads them, so the library loads where MLIR is absent)."""
    from quartet.hardware.cpu import host_cpu

    library = model.cpu_library
    contents = library.read_bytes()
    preload = tuple(path for path in runtime_libraries() if path.name.encode() in contents)
    return CpuForm(library, f"_mlir_ciface_{model.entry}", preload, host_cpu().name)


def _version() -> str:
    try:
        return importlib.metadata.version("quartet")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _remove_with(model: CompiledModel, directory: Path) -> None:
    weakref.finalize(model, shutil.rmtree, directory, ignore_errors=True)


def compile(  # noqa: A001 - the public name the design card gives the embedding API
    source: str | Path | ir.Module,
    target: str = "sm_90",
    *,
    entry: str | None = None,
    tiling: str = DEFAULT_TILING,
    fusion: str = "welder",
    schedule: str = "rammer",
    control_flow: str = "device",
    cache: bool = True,
    isolate: bool = False,
) -> CompiledModel:
    """Compile graph-level MLIR (a module, its text, or a path to a .mlir file) for ``target``.

    ``target`` is ``"sm_90"``, ``"sm_80"`` or ``"cpu"``. ``entry`` names the function to
    compile when the module has several. ``tiling`` is the pipeline element that chooses each
    operator's rProgram (e.g. ``"quartet-fixed-tiling{threads=128}"``); ``fusion`` is Welder's
    mode (``"welder"``, or ``"none"`` for one kernel per operator); ``schedule`` is Rammer's
    (``"rammer"``: each run of launches becomes one persistent kernel, so a model without
    control flow makes one launch per inference; ``"none"``: one launch per kernel).
    ``control_flow`` is where
    the entry's loops and branches run on a GPU target: ``"host"`` keeps them in the host
    program, which launches their kernels each iteration and reads conditions back;
    ``"device"`` (the default) is Grinder's: quartet-grinder places each on the grid, inside
    the persistent kernel, on one CTA of it where its cost model finds that cheaper, or on the
    host with the reason why; ``"grid"`` and ``"cta"`` force that scope on the device wherever
    it can run the construct. ``cache=False`` skips
    the on-disk compile cache (``QUARTET_CACHE_DIR``; ``QUARTET_CACHE=0`` disables it too).
    ``isolate=True`` compiles in a child process: an MLIR assertion or crash there raises
    :class:`~quartet.isolation.InternalError` naming the stage and pass, and leaves this
    process running.
    """
    if isolate:
        options = {
            "entry": entry,
            "tiling": tiling,
            "fusion": fusion,
            "schedule": schedule,
            "control_flow": control_flow,
            "cache": cache,
        }
        model = isolation.call("quartet.compile", compile, source, target, **options)
        if model._scratch is not None:
            _remove_with(model, model._scratch)
        return model
    clock = Stopwatch()
    with clock("read"):
        text, filename = _read_source(source)
        poison = poison_requested()
        registers = veu_plan.FIRST_PLAN if _checks_register_plan(target, schedule) else None
        options = (tiling, fusion, schedule, control_flow, entry, poison)
        prefix, tail = _steps(target, *options, registers)
        pipeline = pipeline_text(prefix + tail)
        cpu_pipeline = pipeline_text(prefix + steps_for("cpu", poison=poison)[1])
        # The CPU pipeline is part of the key: a GPU target's CPU build lives in its entry too.
        key = (
            compile_cache.key(text, pipeline, cpu_pipeline, target, entry or "") if cache else None
        )
    with clock("cache"):
        cached = compile_cache.load(key) if key else None
    if cached is not None:
        cached.stage_seconds = clock.seconds
        return cached
    context = create_context()
    with context, ir.Location.unknown():
        with clock("parse"):
            module = _parse_and_verify(text, filename)
            func = _entry_function(module, entry, filename)
            name = ir.StringAttr(func.attributes["sym_name"]).value
            looping = _first_control_flow(func)
            signature = Signature.of(func)
        notes: list[str] = []
        if looping is not None and schedule == "rammer" and control_flow == "host":
            # The host-loop form: the host launches the loops' kernels every iteration, so
            # Welder charges each a real launch (in the device form Grinder places them inside
            # the persistent kernel).
            where = format_location(looping.location, filename)
            notes.append(f"{where}: '{looping.name}': a host loop keeps one launch per kernel")
            options, registers = (tiling, fusion, "none", control_flow, entry, poison), None
            prefix, tail = _steps(target, *options)
            cpu_pipeline = pipeline_text(prefix + steps_for("cpu", poison=poison)[1])
        with clock("graph-to-loops"):
            run_pipeline(module, parse_pipeline(pipeline_text(prefix[:-1])), filename=filename)
        tiled = module.operation.clone() if registers is not None else None
        while True:
            base = CompiledModel(
                target, name, signature, "", cpu_pipeline, "", "", {}, poison=poison
            )
            model = _build(module, base, filename, clock, prefix, tail)
            model.cache_entry = compile_cache.entry(key) if key else None
            model.schedule_notes = notes
            if registers is None:
                break
            with clock("ptxas"):
                plan = veu_plan.replan(model, model.planned_veus, registers)
            if plan is None:
                break
            notes.append(plan.reason)
            if plan.final:
                break
            registers = plan.registers
            if registers is None:  # the launch list: Welder charges real launches again
                options = (tiling, fusion, "none", control_flow, entry, poison)
                prefix, tail = _steps(target, *options)
                with clock("graph-to-loops"):
                    module = _parse_and_verify(text, filename)
                    steps = parse_pipeline(pipeline_text(prefix[:-1]))
                    run_pipeline(module, steps, filename=filename)
                continue
            prefix, tail = _steps(target, *options, registers)
            module = tiled.clone()
    with clock("cache"):
        if key:
            compile_cache.store(key, model)
    return model


def _build(module, base: CompiledModel, filename, clock, prefix, tail) -> CompiledModel:
    """``base`` (target, entry, signature, CPU pipeline, poison) built from ``module`` tiled
    (after quartet-lower-tiles): Rammer's step of ``prefix``, the counters, then ``tail`` to
    PTX or the CPU library."""
    name, target = base.entry, base.target
    with clock("rammer"):
        run_pipeline(module, parse_pipeline(pipeline_text(prefix[-1:])), filename=filename)
        schedules = veu_schedules(module)
    with clock("counters"):
        counters = count(module, name, filename)
        errors = ErrorTable.of(_entry_function(module, name, filename))
    model = dataclasses.replace(
        base,
        pipeline=pipeline_text(prefix + tail),
        loops_ir=str(module),
        stage_seconds=clock.seconds,
        counters=counters,
        errors=errors,
        schedules=schedules,
    )
    if target == "cpu":
        _cpu_build(model, module, clock, filename)
    else:
        model.planned_veus = planned_veus(module)
        with clock("loops-to-ptx"):
            run_pipeline(module, parse_pipeline(pipeline_text(tail)), filename=filename)
        with clock("host-program"):
            _attach_gpu_build(model, module, name)
    with clock("print"):
        model.final_ir = str(module)
    return model


def _checks_register_plan(target: str, schedule: str) -> bool:
    """Whether ptxas's registers are checked against Rammer's plan (a GPU build of persistent
    kernels, where ptxas is at hand)."""
    return target != "cpu" and schedule == "rammer" and find_ptxas() is not None


def _steps(
    target: object,
    tiling: object,
    fusion: object,
    schedule: object,
    control_flow: object,
    entry: object,
    poison: bool,
    registers: int | None = None,
):
    if not isinstance(target, str):
        raise QuartetError(f"error: target must be one of {', '.join(TARGETS)}, got {target!r}")
    if not isinstance(tiling, str):
        raise QuartetError(f"error: tiling must be a pipeline element (a string), got {tiling!r}")
    if not isinstance(fusion, str):
        raise QuartetError(f"error: fusion must be 'welder' or 'none', got {fusion!r}")
    if not isinstance(schedule, str):
        raise QuartetError(f"error: schedule must be 'rammer' or 'none', got {schedule!r}")
    if not isinstance(control_flow, str):
        raise QuartetError(
            f"error: control_flow must be one of {', '.join(CONTROL_FLOW)}, got {control_flow!r}"
        )
    if entry is not None and not isinstance(entry, str):
        raise QuartetError(f"error: entry must be a function name (a string), got {entry!r}")
    try:
        return steps_for(
            target,
            tiling,
            fusion,
            control_flow,
            poison=poison,
            schedule=schedule,
            registers=registers,
        )
    except ValueError as error:
        raise QuartetError(f"error: {error}") from None


def _first_control_flow(func) -> ir.Operation | None:
    """The entry's first loop or branch, if it has any."""
    found = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name in PLACEABLE_OPS and not found:
            found.append(op)
        return ir.WalkResult.ADVANCE

    func.operation.walk(visit)
    return found[0] if found else None


def _cpu_build(model: CompiledModel, module: ir.Module, clock: Stopwatch, filename: str) -> None:
    """Lower the loop-level ``module`` for the CPU and compile it into the model's library."""
    with clock("loops-to-cpu"):
        tail = steps_for("cpu", poison=model.poison)[1]
        run_pipeline(module, parse_pipeline(pipeline_text(tail)), filename=filename)
    with clock("cpu-codegen"):
        build_library(module, model.workdir)


def _cpu_build_from_loops(model: CompiledModel) -> None:
    """A GPU target's CPU build, from its loop-level IR."""
    clock = Stopwatch(model.cpu_build_seconds)
    context = create_context()
    with context, ir.Location.unknown():
        with clock("loops-to-cpu"):
            module = ir.Module.parse(model.loops_ir)
        _cpu_build(model, module, clock, "<loops>")


def _read_source(source: str | Path | ir.Module) -> tuple[str, str]:
    if isinstance(source, ir.Module):
        return str(source), "<module>"
    if not isinstance(source, str | Path):
        raise QuartetError(
            "error: quartet.compile takes MLIR text, a path to a .mlir file or an mlir.ir.Module, "
            f"got {type(source).__name__}"
        )
    if isinstance(source, Path) or source.endswith(".mlir"):
        path = Path(source)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as error:
            raise QuartetError(f"error: cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise QuartetError(
                f"error: {path} is not MLIR text (byte {error.start} is not UTF-8)"
            ) from None
    return source, "<string>"


def _parse_and_verify(text: str, filename: str) -> ir.Module:
    try:
        module = ir.Module.parse(text)
    except ir.MLIRError as error:
        raise from_mlir_error(error, filename, "parsing") from None
    with capture_diagnostics(module.context) as diagnostics:
        valid = verify(module.operation)
    if not valid:
        raise QuartetError("\n".join(format_diagnostic(d, filename, text) for d in diagnostics))
    return module


def _entry_function(module: ir.Module, entry: str | None, filename: str):
    funcs = [
        op
        for op in module.body.operations
        if op.operation.name == "func.func" and len(op.regions[0].blocks) > 0
    ]
    names = [ir.StringAttr(f.attributes["sym_name"]).value for f in funcs]
    if entry is not None:
        if entry not in names:
            raise QuartetError(f"{filename}: error: no function @{entry} (have: {names})")
        return funcs[names.index(entry)]
    if len(funcs) != 1:
        raise QuartetError(
            f"{filename}: error: expected one function to compile, found {len(funcs)} "
            f"({names}); pass entry=..."
        )
    return funcs[0]


_SHARED = re.compile(r"^\s*\.shared\s+.*?\[(\d+)\];", re.MULTILINE)


def _attach_gpu_build(model: CompiledModel, module: ir.Module, entry: str) -> None:
    """Read PTX per kernel from the gpu.binary ops and the launch sequence from the host."""
    from mlir.dialects import gpu

    for op in module.body.operations:
        if op.operation.name == "gpu.binary":
            name = ir.StringAttr(op.attributes["sym_name"]).value
            (obj,) = op.objects
            ptx = gpu.ObjectAttr(obj).object
            model.ptx[name] = ptx.decode() if isinstance(ptx, bytes) else ptx
    func = next(
        op
        for op in module.body.operations
        if op.operation.name == "func.func"
        and ir.StringAttr(op.attributes["sym_name"]).value == entry
    )
    model.host = extract_host_program(func)
    first_launches: dict[str, Launch] = {}
    for launch in model.host.launches:
        first_launches.setdefault(launch.kernel, launch)
    model.kernels = [
        Kernel(
            launch.kernel,
            launch.grid,
            launch.block,
            launch.shared_bytes
            + sum(int(size) for size in _SHARED.findall(model.ptx[launch.kernel])),
        )
        for launch in first_launches.values()
    ]
