"""``quartet.compile``: graph-level MLIR in, PTX per kernel (or a CPU executable) out.

The embedding API over the pipelines in :mod:`quartet.pipelines`. Input is verified before any
pass runs on it (the MLIR build has assertions on: invalid IR reaching a pass can abort the
process). Every failure the user can cause raises :class:`quartet.QuartetError`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from mlir import ir

from quartet.cpu_runtime import CpuExecutable
from quartet.device import Device, EmulatedDevice, run_host_program
from quartet.dialects import create_context
from quartet.dialects.verify import verify
from quartet.errors import QuartetError, format_diagnostics, from_mlir_error
from quartet.host import HostProgram, extract_host_program
from quartet.pipeline import parse_pipeline, run_pipeline
from quartet.pipelines import DEFAULT_TILING, pipeline_text, steps_for
from quartet.ptxas import PtxasInfo, assemble
from quartet.signature import Signature


@dataclass(frozen=True)
class Kernel:
    """One GPU kernel: its launch shape and static shared memory (bytes)."""

    name: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared_bytes: int


@dataclass
class CompiledModel:
    """The result of :func:`compile`.

    ``pipeline`` is the exact pass pipeline that produced ``final_ir`` from the input (replay it
    with ``quartet-opt --pass-pipeline=...``); ``run`` executes the same tiled program on the CPU
    (for GPU targets through ``cpu_pipeline``, which shares every step up to the loop level).
    """

    target: str
    entry: str
    signature: Signature
    pipeline: str
    cpu_pipeline: str
    final_ir: str
    stage_seconds: dict[str, float]
    ptx: dict[str, str] = field(default_factory=dict)
    kernels: list[Kernel] = field(default_factory=list)
    host: HostProgram | None = None
    _executable: CpuExecutable | None = None

    def run(self, *inputs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        """Run on the CPU; returns the output (or a tuple of outputs) as new numpy arrays."""
        outputs = self._executable.run(*inputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def emulate(
        self, *inputs: np.ndarray, device: Device | None = None
    ) -> np.ndarray | tuple[np.ndarray, ...]:
        """Run the PTX itself: every kernel in launch order on ``device`` (default: the PTX
        emulator with all checkers on). Only for GPU targets."""
        if self.host is None:
            raise QuartetError(f"error: target '{self.target}' has no PTX to emulate")
        arrays = self.signature.check_inputs(inputs)
        outputs = self.signature.new_outputs()
        run_host_program(self.host, self.ptx, device or EmulatedDevice(), arrays + outputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    @cached_property
    def ptxas(self) -> dict[str, PtxasInfo]:
        """``ptxas -v`` figures per kernel (assembles every kernel for the target chip)."""
        infos = {}
        for ptx in self.ptx.values():
            for info in assemble(ptx, self.target):
                infos[info.kernel] = info
        return infos


def compile(  # noqa: A001 - the public name the design card gives the embedding API
    source: str | Path | ir.Module,
    target: str = "sm_90",
    *,
    entry: str | None = None,
    tiling: str = DEFAULT_TILING,
) -> CompiledModel:
    """Compile graph-level MLIR (a module, its text, or a path to a .mlir file) for ``target``.

    ``target`` is ``"sm_90"``, ``"sm_80"`` or ``"cpu"``. ``entry`` names the function to
    compile when the module has several. ``tiling`` is the pipeline element that chooses each
    operator's rProgram (e.g. ``"quartet-fixed-tiling{threads=128}"``).
    """
    text, filename = _read_source(source)
    try:
        prefix, tail = steps_for(target, tiling)
    except ValueError as error:
        raise QuartetError(f"error: {error}") from None
    context = create_context()
    with context, ir.Location.unknown():
        module = _parse_and_verify(text, filename)
        func = _entry_function(module, entry, filename)
        name = ir.StringAttr(func.attributes["sym_name"]).value
        signature = Signature.of(func)
        stages: dict[str, float] = {}
        _timed(stages, "graph-to-loops", module, prefix, filename)
        cpu_module = ir.Module.parse(str(module)) if target != "cpu" else module
        cpu_tail = steps_for("cpu", tiling)[1]
        _timed(stages, "loops-to-cpu", cpu_module, cpu_tail, filename)
        executable = CpuExecutable(cpu_module, name, signature)
        model = CompiledModel(
            target=target,
            entry=name,
            signature=signature,
            pipeline=pipeline_text(prefix + tail),
            cpu_pipeline=pipeline_text(prefix + cpu_tail),
            final_ir=str(cpu_module),
            stage_seconds=stages,
            _executable=executable,
        )
        if target != "cpu":
            _timed(stages, "loops-to-ptx", module, tail, filename)
            model.final_ir = str(module)
            _attach_gpu_build(model, module, name)
    return model


def _read_source(source: str | Path | ir.Module) -> tuple[str, str]:
    if isinstance(source, ir.Module):
        return str(source), "<module>"
    if isinstance(source, Path) or (isinstance(source, str) and source.endswith(".mlir")):
        path = Path(source)
        try:
            return path.read_text(), str(path)
        except OSError as error:
            raise QuartetError(f"error: cannot read {path}: {error.strerror}") from None
    return source, "<string>"


def _parse_and_verify(text: str, filename: str) -> ir.Module:
    try:
        module = ir.Module.parse(text)
    except ir.MLIRError as error:
        raise from_mlir_error(error, filename, "parsing") from None
    diagnostics: list[ir.DiagnosticInfo] = []

    def collect(diagnostic: ir.Diagnostic) -> bool:
        diagnostics.append(diagnostic)
        return True

    handler = module.context.attach_diagnostic_handler(collect)
    try:
        valid = verify(module.operation)
    finally:
        handler.detach()
    if not valid:
        raise QuartetError(format_diagnostics(diagnostics, filename))
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


def _timed(stages: dict[str, float], stage: str, module, steps, filename: str) -> None:
    start = time.perf_counter()
    run_pipeline(module, parse_pipeline(pipeline_text(steps)), filename=filename)
    stages[stage] = time.perf_counter() - start


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
    model.kernels = [
        Kernel(
            launch.kernel,
            launch.grid,
            launch.block,
            sum(int(size) for size in _SHARED.findall(model.ptx[launch.kernel])),
        )
        for launch in model.host.launches
    ]
