"""The portable compiled artifact: a directory that a runtime loads without the compiler.

Format version 3 (docs/runtime.md describes every field; version 1, launches and copies only,
and version 2, without a persistent kernel's ``counters`` and ``epoch``, are read as well)::

    manifest.json   the model as data: I/O signature, entry arguments, host program, kernels
    <kernel>.ptx    the PTX of each kernel (GPU targets)
    weights.bin     every weight and constant: raw little-endian C-order bytes, each array at
                    a 64-byte aligned offset the manifest lists (so the file memory-maps and
                    every array is a view of it)
    model.so        the CPU form's shared library (the cpu target; a GPU target's on request)

:func:`write` and :func:`read` are the two directions of the one format. Reading checks every
field it uses and that the parts agree (argument specs, buffer indices, offsets inside the
weights, launches against their kernel's PTX parameters); anything malformed is an
:class:`ArtifactError` naming the file and the field. A manifest of a newer format version is
refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime import scalars as host_scalars
from quartet.runtime.errors import ErrorTable
from quartet.runtime.program import (
    Assign,
    Buffer,
    Compute,
    Copy,
    HostProgram,
    If,
    Launch,
    Loop,
    Read,
    Scalar,
    Step,
    While,
    walk,
)
from quartet.signature import TensorSpec

FORMAT = "quartet-artifact"
FORMAT_VERSION = 3  # 2: the host program's registers, loops, branches, read-backs;
# 3: a persistent kernel's counters and epoch buffers
MANIFEST = "manifest.json"
WEIGHTS = "weights.bin"
ALIGNMENT = 64  # bytes between arrays in weights.bin: a cache line, >= any vector load
ROLES = ("input", "weight", "output", "error_word")
_DTYPE_NAMES = "bool float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64"
DTYPES = tuple(np.dtype(name) for name in _DTYPE_NAMES.split())


class ArtifactError(QuartetError):
    """A malformed or unsupported artifact (the message names the file and the field)."""


@dataclass(frozen=True)
class NamedTensor:
    """An input or output as the model's user sees it: its name (the ONNX graph's, else
    ``arg<i>``/``result<i>``), shape and dtype. ``value`` is an output known at compile time."""

    name: str
    spec: TensorSpec
    value: np.ndarray | None = None


@dataclass(frozen=True)
class Argument:
    """One argument of the compiled entry, in order (inputs and weights, then outputs): its
    buffer's spec and what fills it, the input ``name``, the weight ``name`` (``data``), or
    the kernels (the output ``name``). A buffer holds what the user passes with the same bytes:
    booleans and unsigned integers as signless integers of their width, scalars as one
    element."""

    role: str  # one of ROLES ("error_word": the runtime checks' word, runtime.errors)
    name: str
    spec: TensorSpec
    data: np.ndarray | None = None  # a weight's contents


@dataclass(frozen=True)
class KernelImage:
    """A kernel's PTX and what ``ptxas -v`` reported for it (None where ptxas was absent)."""

    name: str
    ptx: str
    ptxas: dict[str, int] | None = None


@dataclass(frozen=True)
class CpuForm:
    """The CPU form's shared library: ``symbol`` takes one memref descriptor per argument;
    ``preload`` are libraries it links against, shipped beside it; ``built_for`` names the CPU
    the code was generated for (it may use that CPU's instructions)."""

    library: Path
    symbol: str
    preload: tuple[Path, ...] = ()
    built_for: str = ""


@dataclass(frozen=True)
class Artifact:
    target: str
    entry: str
    inputs: tuple[NamedTensor, ...]
    outputs: tuple[NamedTensor, ...]
    arguments: tuple[Argument, ...]
    host: HostProgram | None  # GPU targets
    kernels: tuple[KernelImage, ...]
    cpu: CpuForm | None
    quartet_version: str
    errors: ErrorTable | None = None  # the error word's argument and the messages of its codes

    @property
    def ptx(self) -> dict[str, str]:
        return {kernel.name: kernel.ptx for kernel in self.kernels}


# -- writing --------------------------------------------------------------------------------


def write(artifact: Artifact, directory: Path) -> None:
    """Write ``artifact`` into ``directory`` (created); the manifest last, so a directory with
    a manifest holds every file it names."""
    check(artifact, "the artifact to write")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).unlink(missing_ok=True)
    with open(directory / WEIGHTS, "wb") as blob:
        weights = _Blob(blob)
        manifest = _manifest(artifact, weights)
    for kernel in artifact.kernels:
        (directory / f"{kernel.name}.ptx").write_text(kernel.ptx)
    if artifact.cpu is not None:
        for path in (artifact.cpu.library, *artifact.cpu.preload):
            if path.resolve() != (directory / path.name).resolve():
                shutil.copyfile(path, directory / path.name)
    text = _dumps(manifest) + "\n"
    (directory / f"{MANIFEST}.tmp").write_text(text)
    os.replace(directory / f"{MANIFEST}.tmp", directory / MANIFEST)


def _dumps(value: Any, indent: str = "") -> str:
    """JSON with what fits in a line on one line (a tensor, a buffer, a step), the rest broken
    one item per line: short enough to read, and ``json`` reads it back the same."""
    flat = json.dumps(value)
    if len(indent) + len(flat) <= 96 or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key)}: {_dumps(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    items = [f"{inner}{_dumps(item, inner)}" for item in value]
    return "[\n" + ",\n".join(items) + f"\n{indent}]"


class _Blob:
    """weights.bin as it is written: each array at the next aligned offset."""

    def __init__(self, file: BinaryIO):
        self.file, self.size = file, 0

    def add(self, array: np.ndarray) -> dict[str, int]:
        self.file.write(b"\0" * (-self.size % ALIGNMENT))
        self.size += -self.size % ALIGNMENT
        data = np.ascontiguousarray(array, array.dtype.newbyteorder("<"))
        self.file.write(data.tobytes())
        offset, self.size = self.size, self.size + data.nbytes
        return {"offset": offset, "nbytes": data.nbytes}


def _manifest(artifact: Artifact, weights: _Blob) -> dict[str, Any]:
    def tensor(named: NamedTensor) -> dict[str, Any]:
        entry = {"name": named.name, **_spec_json(named.spec)}
        if named.value is not None:
            entry["value"] = weights.add(np.asarray(named.value, named.spec.dtype))
        return entry

    def argument(arg: Argument) -> dict[str, Any]:
        entry = {"role": arg.role, "name": arg.name, **_spec_json(arg.spec)}
        if arg.data is not None:
            entry["data"] = weights.add(np.asarray(arg.data, arg.spec.dtype))
        return entry

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "quartet_version": artifact.quartet_version,
        "target": artifact.target,
        "entry": artifact.entry,
        "inputs": [tensor(named) for named in artifact.inputs],
        "outputs": [tensor(named) for named in artifact.outputs],
        "arguments": [argument(arg) for arg in artifact.arguments],
        "host_program": None,
        "kernels": [
            {"name": kernel.name, "ptx": f"{kernel.name}.ptx", "ptxas": kernel.ptxas}
            for kernel in artifact.kernels
        ],
        "cpu_library": None,
        "runtime_errors": None,
    }
    if artifact.errors is not None:
        manifest["runtime_errors"] = {
            "argument": artifact.errors.argument,
            "messages": [
                {"code": code, "message": message} for code, message in artifact.errors.messages
            ],
        }
    if artifact.host is not None:
        manifest["host_program"] = _host_json(artifact.host, weights)
    if artifact.cpu is not None:
        manifest["cpu_library"] = {
            "file": artifact.cpu.library.name,
            "symbol": artifact.cpu.symbol,
            "preload": [path.name for path in artifact.cpu.preload],
            "built_for": artifact.cpu.built_for,
        }
    manifest["weights"] = {"file": WEIGHTS, "nbytes": weights.size, "alignment": ALIGNMENT}
    return manifest


def _spec_json(spec: TensorSpec) -> dict[str, Any]:
    return {"dtype": spec.dtype.name, "shape": list(spec.shape)}


def _host_json(host: HostProgram, weights: _Blob) -> dict[str, Any]:
    buffers = []
    for buffer in host.buffers:
        entry = _spec_json(buffer.spec)
        if buffer.argument is not None:
            entry["argument"] = buffer.argument
        elif buffer.constant is not None:
            entry["constant"] = weights.add(np.asarray(buffer.constant, buffer.spec.dtype))
        elif buffer.view_of is not None:
            entry["view_of"] = buffer.view_of
            if buffer.offset is not None:
                entry["offset"] = buffer.offset
        buffers.append(entry)
    return {
        "buffers": buffers,
        "scalars": [{"bits": scalar.bits, "value": scalar.value} for scalar in host.scalars],
        "steps": _steps_json(host.steps),
        "counters": host.counters,
        "epoch": host.epoch,
    }


def _steps_json(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [_step_json(step) for step in steps]


def _step_json(step: Step) -> dict[str, Any]:
    if isinstance(step, Launch):
        return {
            "kind": "launch",
            "kernel": step.kernel,
            "grid": list(step.grid),
            "block": list(step.block),
            "shared_bytes": step.shared_bytes,
            "cooperative": step.cooperative,
            "buffers": list(step.buffers),
            "scalars": [list(pair) for pair in step.scalars],
        }
    if isinstance(step, Copy):
        return {"kind": "copy", "source": step.source, "target": step.target}
    if isinstance(step, Compute):
        return {
            "kind": "compute",
            "op": step.op,
            "operands": list(step.operands),
            "result": step.result,
        }
    if isinstance(step, Read):
        return {"kind": "read", "buffer": step.buffer, "offset": step.offset, "result": step.result}
    if isinstance(step, Assign):
        return {"kind": "assign", "targets": list(step.targets), "sources": list(step.sources)}
    if isinstance(step, Loop):
        return {
            "kind": "loop",
            "index": step.index,
            "lower": step.lower,
            "upper": step.upper,
            "step": step.step,
            "body": _steps_json(step.body),
        }
    if isinstance(step, While):
        return {
            "kind": "while",
            "before": _steps_json(step.before),
            "condition": step.condition,
            "body": _steps_json(step.body),
        }
    return {
        "kind": "if",
        "condition": step.condition,
        "then": _steps_json(step.then),
        "else": _steps_json(step.otherwise),
    }


# -- reading --------------------------------------------------------------------------------


def read(directory: Path) -> Artifact:
    """The artifact in ``directory``; ArtifactError naming what is missing or malformed."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"error: {directory}: not a Quartet artifact (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise ArtifactError(f"error: {path}: cannot read it ({error})") from None
    except json.JSONDecodeError as error:
        raise ArtifactError(f"error: {path}: not JSON ({error})") from None
    fields = _Fields(path)
    root = fields.object(manifest, "")
    if root.get("format") != FORMAT:
        raise ArtifactError(f"error: {path}: not a Quartet artifact manifest (no format {FORMAT})")
    version = fields.integer(root, "format_version")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"error: {path}: artifact format version {version} is newer than this runtime "
            f"reads (version {FORMAT_VERSION}); it was written by Quartet "
            f"{root.get('quartet_version', '?')}: use that Quartet's runtime or newer"
        )
    if sys.byteorder != "little":
        raise ArtifactError("error: artifacts hold little-endian data; this host is big-endian")
    weights = _weights(directory, fields, fields.child(root, "weights"))
    data = _DataReader(fields, weights)
    errors = _errors(fields, root)
    artifact = Artifact(
        target=fields.string(root, "target"),
        entry=fields.string(root, "entry"),
        inputs=tuple(data.named(item) for item in fields.objects(root, "inputs")),
        outputs=tuple(data.named(item) for item in fields.objects(root, "outputs")),
        arguments=tuple(data.argument(item) for item in fields.objects(root, "arguments")),
        host=_host(fields, data, root, errors, version),
        kernels=tuple(_kernel(directory, fields, item) for item in fields.objects(root, "kernels")),
        cpu=_cpu(directory, fields, root),
        quartet_version=fields.string(root, "quartet_version"),
        errors=errors,
    )
    check(artifact, str(path))
    return artifact


class _Fields:
    """Typed reads from the manifest's JSON: an error names the file and the field's path."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, expected: str, value: Any) -> ArtifactError:
        shown = json.dumps(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        where = where or "the manifest"
        return ArtifactError(f"error: {self.path}: {where}: expected {expected}, got {shown}")

    def field(self, obj: _Object, key: str, expected: str, test: Callable[[Any], bool]) -> Any:
        if key not in obj.value:
            where = f"{obj.where}: no field" if obj.where else "no top-level field"
            raise ArtifactError(f"error: {self.path}: {where} '{key}'")
        value = obj.value[key]
        if not test(value):
            raise self.fail(obj.path(key), expected, value)
        return value

    def object(self, value: Any, where: str) -> _Object:
        if not isinstance(value, dict):
            raise self.fail(where, "an object", value)
        return _Object(value, where)

    def child(self, obj: _Object, key: str) -> _Object:
        return _Object(self.field(obj, key, "an object", _is_object), obj.path(key))

    def objects(self, obj: _Object, key: str) -> list[_Object]:
        items = self.field(obj, key, "a list", lambda v: isinstance(v, list))
        return [self.object(item, f"{obj.path(key)}[{i}]") for i, item in enumerate(items)]

    def string(self, obj: _Object, key: str) -> str:
        return self.field(obj, key, "a string", lambda v: isinstance(v, str) and v != "")

    def integer(self, obj: _Object, key: str, minimum: int = 0) -> int:
        return self.field(obj, key, f"an integer >= {minimum}", lambda v: _is_int(v, minimum))

    def integers(self, obj: _Object, key: str, count: int | None = None, minimum=0) -> tuple:
        expected = f"a list of {count or 'any number of'} integers >= {minimum}"
        return tuple(
            self.field(
                obj,
                key,
                expected,
                lambda v: (
                    isinstance(v, list)
                    and (count is None or len(v) == count)
                    and all(_is_int(x, minimum) for x in v)
                ),
            )
        )

    def boolean(self, obj: _Object, key: str) -> bool:
        return self.field(obj, key, "true or false", lambda v: isinstance(v, bool))

    def file(self, directory: Path, obj: _Object, key: str) -> Path:
        name = self.field(obj, key, "a file name", lambda v: isinstance(v, str) and _plain(v))
        if not (directory / name).is_file():
            raise ArtifactError(f"error: {self.path}: {obj.path(key)}: no file {name}")
        return directory / name

    def spec(self, obj: _Object) -> TensorSpec:
        names = [dtype.name for dtype in DTYPES]
        dtype = self.field(obj, "dtype", f"one of {', '.join(names)}", lambda v: v in names)
        return TensorSpec(self.integers(obj, "shape"), np.dtype(dtype))


@dataclass(frozen=True)
class _Object:
    value: dict[str, Any]
    where: str

    def get(self, key: str, default: Any = None) -> Any:
        return self.value.get(key, default)

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _plain(name: str) -> bool:
    """A file name inside the artifact's directory (no path, no parent)."""
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name


def _weights(directory: Path, fields: _Fields, obj: _Object) -> np.ndarray:
    """weights.bin memory-mapped (bytes), after checking its size against the manifest."""
    path = fields.file(directory, obj, "file")
    nbytes = fields.integer(obj, "nbytes")
    alignment = fields.integer(obj, "alignment", minimum=1)
    if alignment != ALIGNMENT:
        raise fields.fail(obj.path("alignment"), f"{ALIGNMENT}", alignment)
    if path.stat().st_size != nbytes:
        raise ArtifactError(
            f"error: {path}: {path.stat().st_size} bytes, the manifest says {nbytes} "
            "(truncated or replaced?)"
        )
    if nbytes == 0:
        return np.zeros(0, np.uint8)
    return np.memmap(path, np.uint8, mode="r")


class _DataReader:
    """Specs and the arrays they refer to in weights.bin."""

    def __init__(self, fields: _Fields, weights: np.ndarray):
        self.fields, self.weights = fields, weights

    def array(self, obj: _Object, key: str, spec: TensorSpec) -> np.ndarray:
        ref = self.fields.child(obj, key)
        offset, nbytes = self.fields.integer(ref, "offset"), self.fields.integer(ref, "nbytes")
        expected = int(np.prod(spec.shape, dtype=np.int64)) * spec.dtype.itemsize
        if nbytes != expected:
            raise self.fields.fail(ref.path("nbytes"), f"{expected} ({spec})", nbytes)
        if offset % ALIGNMENT or offset + nbytes > self.weights.size:
            raise self.fields.fail(
                ref.path("offset"),
                f"a multiple of {ALIGNMENT} with the data inside the {self.weights.size} "
                "bytes of the weights",
                offset,
            )
        raw = self.weights[offset : offset + nbytes]
        return raw.view(spec.dtype.newbyteorder("<")).reshape(spec.shape)

    def named(self, obj: _Object) -> NamedTensor:
        spec = self.fields.spec(obj)
        value = self.array(obj, "value", spec) if "value" in obj.value else None
        return NamedTensor(self.fields.string(obj, "name"), spec, value)

    def argument(self, obj: _Object) -> Argument:
        role = self.fields.field(obj, "role", f"one of {', '.join(ROLES)}", lambda v: v in ROLES)
        spec = self.fields.spec(obj)
        data = self.array(obj, "data", spec) if role == "weight" else None
        return Argument(role, self.fields.string(obj, "name"), spec, data)


def _errors(fields: _Fields, root: _Object) -> ErrorTable | None:
    if root.get("runtime_errors") is None:
        return None
    obj = fields.child(root, "runtime_errors")
    messages = tuple(
        (fields.integer(item, "code", minimum=1), fields.string(item, "message"))
        for item in fields.objects(obj, "messages")
    )
    return ErrorTable(fields.integer(obj, "argument"), messages)


def _host(
    fields: _Fields, data: _DataReader, root: _Object, errors: ErrorTable | None, version: int
) -> HostProgram | None:
    if root.get("host_program") is None:
        return None
    obj = fields.child(root, "host_program")
    buffers = []
    for item in fields.objects(obj, "buffers"):
        spec = fields.spec(item)
        if "argument" in item.value:
            buffers.append(Buffer(spec, argument=fields.integer(item, "argument")))
        elif "constant" in item.value:
            buffers.append(Buffer(spec, constant=data.array(item, "constant", spec)))
        elif "view_of" in item.value:
            offset = fields.integer(item, "offset") if "offset" in item.value else None
            buffers.append(Buffer(spec, view_of=fields.integer(item, "view_of"), offset=offset))
        else:
            buffers.append(Buffer(spec))
    registers = ()
    if version >= 2:
        registers = tuple(
            Scalar(
                fields.field(item, "bits", "one of 1, 8, 16, 32, 64", lambda v: v in _BITS),
                fields.integer(item, "value"),
            )
            for item in fields.objects(obj, "scalars")
        )
    steps = _steps(fields, obj, "steps", version)
    state = [_state_buffer(fields, obj, key, version) for key in ("counters", "epoch")]
    return HostProgram(tuple(buffers), steps, errors, registers, *state)


def _state_buffer(fields: _Fields, obj: _Object, key: str, version: int) -> int | None:
    """The index of a persistent kernel's counters or epoch buffer (null where there is no
    persistent kernel; a manifest before version 3 has neither field)."""
    if version < 3:
        return None
    fields.field(obj, key, "a buffer index or null", lambda v: v is None or _is_int(v, 0))
    return obj.value[key]


_BITS = (1, 8, 16, 32, 64)
_KINDS = "launch, copy, compute, read, assign, loop, while, if"


def _steps(fields: _Fields, obj: _Object, key: str, version: int) -> tuple[Step, ...]:
    return tuple(_step(fields, item, version) for item in fields.objects(obj, key))


def _step(fields: _Fields, obj: _Object, version: int) -> Step:
    kind = fields.string(obj, "kind")
    known = ("launch", "copy") if version < 2 else _KINDS.split(", ")
    if kind not in known:
        raise ArtifactError(
            f"error: {fields.path}: {obj.path('kind')}: step kind '{kind}' is unknown to this "
            f"runtime (format version {version}: {', '.join(known)})"
        )
    if kind == "copy":
        return Copy(fields.integer(obj, "source"), fields.integer(obj, "target"))
    if kind == "launch":
        scalars = ()
        if version >= 2:
            scalars = tuple(
                tuple(pair)
                for pair in fields.field(
                    obj,
                    "scalars",
                    "a list of [parameter position, register] pairs",
                    lambda v: (
                        isinstance(v, list)
                        and all(
                            isinstance(p, list) and len(p) == 2 and all(_is_int(x, 0) for x in p)
                            for p in v
                        )
                    ),
                )
            )
        return Launch(
            kernel=fields.string(obj, "kernel"),
            grid=fields.integers(obj, "grid", 3, minimum=1),
            block=fields.integers(obj, "block", 3, minimum=1),
            buffers=fields.integers(obj, "buffers"),
            shared_bytes=fields.integer(obj, "shared_bytes"),
            cooperative=fields.boolean(obj, "cooperative"),
            scalars=scalars,
        )
    if kind == "compute":
        operation = fields.field(
            obj, "op", "an operation of the host program", lambda v: v in host_scalars.OPERATIONS
        )
        return Compute(operation, fields.integers(obj, "operands"), fields.integer(obj, "result"))
    if kind == "read":
        return Read(
            fields.integer(obj, "buffer"),
            fields.integer(obj, "offset"),
            fields.integer(obj, "result"),
        )
    if kind == "assign":
        return Assign(fields.integers(obj, "targets"), fields.integers(obj, "sources"))
    if kind == "loop":
        return Loop(
            *(fields.integer(obj, key) for key in ("index", "lower", "upper", "step")),
            _steps(fields, obj, "body", version),
        )
    if kind == "while":
        return While(
            _steps(fields, obj, "before", version),
            fields.integer(obj, "condition"),
            _steps(fields, obj, "body", version),
        )
    return If(
        fields.integer(obj, "condition"),
        _steps(fields, obj, "then", version),
        _steps(fields, obj, "else", version),
    )


def _kernel(directory: Path, fields: _Fields, obj: _Object) -> KernelImage:
    path = fields.file(directory, obj, "ptx")
    figures = obj.get("ptxas")
    if figures is not None and not (
        isinstance(figures, dict) and all(_is_int(v, 0) for v in figures.values())
    ):
        raise fields.fail(obj.path("ptxas"), "null or an object of integers", figures)
    try:
        ptx = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ArtifactError(f"error: {path}: cannot read the PTX ({error})") from None
    return KernelImage(fields.string(obj, "name"), ptx, figures)


def _cpu(directory: Path, fields: _Fields, root: _Object) -> CpuForm | None:
    if root.get("cpu_library") is None:
        return None
    obj = fields.child(root, "cpu_library")
    preload = fields.field(obj, "preload", "a list of file names", lambda v: isinstance(v, list))
    for name in preload:
        if not (isinstance(name, str) and _plain(name) and (directory / name).is_file()):
            raise fields.fail(obj.path("preload"), "names of files in the artifact", name)
    return CpuForm(
        library=fields.file(directory, obj, "file"),
        symbol=fields.string(obj, "symbol"),
        preload=tuple(directory / name for name in preload),
        built_for=fields.field(obj, "built_for", "a string", lambda v: isinstance(v, str)),
    )


# -- consistency ----------------------------------------------------------------------------

_ENTRY = r"\.entry\s+{name}\s*\(([^)]*)\)"


def check(artifact: Artifact, where: str) -> None:
    """The parts agree: every input and output named once, the arguments the host program's
    argument buffers, indices in range, launches of known kernels with as many buffers as the
    kernel has parameters. ArtifactError naming the first three disagreements."""
    problems = _interface_problems(artifact) + _host_problems(artifact)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ArtifactError(f"error: {where}: {'; '.join(problems[:3])}{more}")


def _interface_problems(artifact: Artifact) -> list[str]:
    problems = []
    roles = [arg.role for arg in artifact.arguments if arg.role != "error_word"]
    if roles != sorted(roles, key=lambda role: role == "output"):
        problems.append("arguments must list inputs and weights before outputs")
    words = [i for i, arg in enumerate(artifact.arguments) if arg.role == "error_word"]
    expected = [] if artifact.errors is None else [artifact.errors.argument]
    if words != expected:
        problems.append(f"the error word is argument {words}, the runtime errors say {expected}")
    for role, tensors in (("input", artifact.inputs), ("output", artifact.outputs)):
        names = [named.name for named in tensors]
        if len(set(names)) != len(names):
            problems.append(f"{role} names are not unique: {names}")
        for named in tensors:
            if named.value is None:
                problems += _binding_problems(role, named, artifact.arguments)
        for index, arg in enumerate(artifact.arguments):
            if arg.role == role and arg.name not in names:
                problems.append(f"argument #{index} is the {role} '{arg.name}', which is unknown")
    return problems


def _binding_problems(role: str, named: NamedTensor, arguments: Sequence[Argument]) -> list:
    bound = [arg for arg in arguments if (arg.role, arg.name) == (role, named.name)]
    if len(bound) != 1:
        return [f"{role} '{named.name}' fills {len(bound)} arguments, not 1"]
    if not _same_bytes(named.spec, bound[0].spec):
        return [f"{role} '{named.name}' ({named.spec}) is not the bytes of {bound[0].spec}"]
    return []


def _same_bytes(user: TensorSpec, buffer: TensorSpec) -> bool:
    """The buffer holds the user's array as it is, or reshaped (a scalar as one element), or
    viewed as the signless integer of its width (booleans, unsigned integers)."""
    same_kind = user.dtype == buffer.dtype or (user.dtype.kind in "bu" and buffer.dtype.kind == "i")
    return (
        same_kind
        and user.dtype.itemsize == buffer.dtype.itemsize
        and (user.nbytes == buffer.nbytes)
    )


def _host_problems(artifact: Artifact) -> list[str]:
    host = artifact.host
    if host is None:
        return [] if not artifact.kernels else ["kernels without a host program"]
    problems = []
    arguments = host.argument_buffers
    if sorted(arguments) != list(range(len(artifact.arguments))):
        problems.append(
            f"the host program's argument buffers {sorted(arguments)} are not the "
            f"{len(artifact.arguments)} arguments"
        )
    for position, index in arguments.items():
        if position < len(artifact.arguments) and host.buffers[index].spec != (
            artifact.arguments[position].spec
        ):
            problems.append(
                f"buffer #{index} ({host.buffers[index].spec}) is argument #{position} "
                f"({artifact.arguments[position].spec})"
            )
    registers = len(host.scalars)
    for index, scalar in enumerate(host.scalars):
        if scalar.value >= 1 << scalar.bits:
            problems.append(
                f"register {index} holds {scalar.value}, wider than its {scalar.bits} bits"
            )
    for index, buffer in enumerate(host.buffers):
        problems += _buffer_problems(index, buffer, host.buffers, registers)
    problems += _state_problems(host)
    parameters = {kernel.name: _parameter_count(kernel) for kernel in artifact.kernels}
    for number, step in enumerate(walk(host.steps)):
        problems += _step_problems(step, number, host, parameters)
    return problems


def _state_problems(host: HostProgram) -> list[str]:
    """The counters (one i32 per launch of a persistent kernel; with loops on the grid, a
    grid barrier's two cells and its blocks' entry numbers after them) and the epoch (one i32)
    are buffers of their own, passed to a cooperative launch; an epoch needs counters (a
    program with loops on the grid reads entry numbers instead: its epoch may be dropped)."""
    state = {"counters": host.counters, "epoch": host.epoch}
    if host.counters is None and host.epoch is not None:
        return [f"the host program names {state} (an epoch without counters)"]
    problems = []
    for key, index in state.items():
        if index is None:
            continue
        if index >= len(host.buffers):
            problems.append(f"the {key} are buffer {index} of {len(host.buffers)}")
            continue
        buffer = host.buffers[index]
        borrowed = (buffer.argument, buffer.view_of, buffer.constant)
        if buffer.spec.dtype != np.int32 or any(part is not None for part in borrowed):
            problems.append(f"the {key} buffer #{index} is no i32 buffer of its own")
        elif key == "epoch" and buffer.spec.shape != (1,):
            problems.append(f"the epoch buffer #{index} holds {buffer.spec}, not one i32")
    counters = {host.counters} | {
        index for index, buffer in enumerate(host.buffers) if buffer.view_of == host.counters
    }
    users = [step for step in host.launches if counters & set(step.buffers)]
    if host.counters is not None and not all(step.cooperative for step in users):
        problems.append("a launch that takes the counters is not cooperative")
    return problems


def _buffer_problems(index: int, buffer: Buffer, buffers: Sequence[Buffer], registers: int) -> list:
    base = buffer.view_of
    if base is None:
        return []
    if not 0 <= base < index:
        return [f"buffer #{index} views #{base}, which is no earlier buffer"]
    if buffer.offset is None and buffer.spec.nbytes != buffers[base].spec.nbytes:
        return [f"buffer #{index} ({buffer.spec}) views #{base} of another size"]
    if buffer.offset is not None and buffer.offset >= registers:
        return [f"buffer #{index} is placed by register {buffer.offset} of {registers}"]
    if buffer.offset is not None and buffer.spec.nbytes > buffers[base].spec.nbytes:
        return [f"buffer #{index} ({buffer.spec}) is larger than #{base}, which it views"]
    return []


_OPERANDS = {"select": 3, **dict.fromkeys(host_scalars.CASTS, 1)}


def _step_problems(step: Step, number: int, host: HostProgram, parameters) -> list:
    """What is wrong with step ``number`` (counted in program order, nested steps included)."""
    count, registers = len(host.buffers), len(host.scalars)
    used, read = _indices(step)
    if any(index >= count for index in used):
        return [f"step #{number} uses buffer {max(used)} of {count}"]
    if any(register >= registers for register in read):
        return [f"step #{number} uses register {max(read)} of {registers}"]
    if isinstance(step, Copy):
        if host.buffers[step.source].spec.nbytes != host.buffers[step.target].spec.nbytes:
            return [f"step #{number} copies between buffers of different sizes"]
        return []
    if isinstance(step, Compute) and len(step.operands) != _OPERANDS.get(step.op, 2):
        return [f"step #{number} gives {step.op} {len(step.operands)} operands"]
    if isinstance(step, Read) and host.buffers[step.buffer].spec.dtype.kind not in "biu":
        return [
            f"step #{number} reads back a {host.buffers[step.buffer].spec.dtype} (integers only)"
        ]
    if isinstance(step, Assign) and len(step.targets) != len(step.sources):
        return [
            f"step #{number} assigns {len(step.sources)} values to {len(step.targets)} registers"
        ]
    if not isinstance(step, Launch):
        return []
    return _launch_problems(step, number, parameters)


def _indices(step: Step) -> tuple[list[int], list[int]]:
    """The buffers and the registers a step names (not those of the steps nested in it)."""
    if isinstance(step, Launch):
        return list(step.buffers), [register for _, register in step.scalars]
    if isinstance(step, Copy):
        return [step.source, step.target], []
    if isinstance(step, Compute):
        return [], [*step.operands, step.result]
    if isinstance(step, Read):
        return [step.buffer], [step.offset, step.result]
    if isinstance(step, Assign):
        return [], [*step.targets, *step.sources]
    if isinstance(step, Loop):
        return [], [step.index, step.lower, step.upper, step.step]
    return [], [step.condition]


def _launch_problems(step: Launch, number: int, parameters) -> list:
    if step.kernel not in parameters:
        return [f"step #{number} launches '{step.kernel}', which has no PTX"]
    if parameters[step.kernel] is None:
        return [f"the PTX of {step.kernel} has no '.entry {step.kernel}'"]
    if parameters[step.kernel] != step.parameter_count:
        return [
            f"step #{number} passes {step.parameter_count} parameters to {step.kernel}, whose "
            f"PTX takes {parameters[step.kernel]}"
        ]
    positions = [position for position, _ in step.scalars]
    if len(set(positions)) != len(positions) or any(p >= step.parameter_count for p in positions):
        return [f"step #{number} passes scalars at positions {positions} of {step.parameter_count}"]
    return []


def _parameter_count(kernel: KernelImage) -> int | None:
    """The number of ``.param``s of the kernel's ``.entry`` (None when it is not found)."""
    found = re.search(_ENTRY.format(name=re.escape(kernel.name)), kernel.ptx)
    return None if found is None else found.group(1).count(".param")
