"""``compile_model``: an ONNX model -> :class:`OnnxModel` (compiled program + bound weights)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

import quartet
from quartet import cache as compile_cache
from quartet import isolation
from quartet.cache import file_identity
from quartet.compiler import CompiledModel
from quartet.errors import QuartetError
from quartet.frontend.onnx.external import ExternalData, data_files
from quartet.frontend.onnx.importer import ImportedGraph, Importer, Spec
from quartet.frontend.onnx.ir import from_storage, to_storage
from quartet.frontend.onnx.loader import load, prepare
from quartet.pipelines import DEFAULT_TILING
from quartet.runtime.artifact import DTYPES, Argument, Artifact, NamedTensor
from quartet.runtime.artifact import write as write_artifact
from quartet.runtime.model import random_arrays
from quartet.runtime.program import RunCounts
from quartet.signature import TensorSpec

Progress = Callable[[str], None]


@dataclass
class OnnxModel:
    """A compiled ONNX model: run it with a dict of named inputs, get a dict of outputs.

    ``compiled`` is the :class:`quartet.CompiledModel` (PTX, kernels, ptxas, pipeline); weights
    and inputs bound at compile time are passed for the user.
    """

    graph: ImportedGraph
    compiled: CompiledModel
    import_seconds: float
    _weights: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def inputs(self) -> list[Spec]:
        return self.graph.inputs

    @property
    def outputs(self) -> list[Spec]:
        return self.graph.outputs

    @property
    def mlir(self) -> str:
        """The graph-level IR the importer wrote (weights are arguments, not literals)."""
        return self.graph.text

    def run(self, inputs: Mapping[str, np.ndarray] | None = None, **named) -> dict[str, np.ndarray]:
        """Run on the CPU (the same tiled program the GPU target compiles)."""
        arrays = self._arguments({**(inputs or {}), **named})
        return self._results(self.compiled.executable.run(*arrays))

    def emulate(
        self, inputs: Mapping[str, np.ndarray] | None = None, device=None, **named
    ) -> dict[str, np.ndarray]:
        """Run the PTX in Quartet's PTX emulator (GPU targets only); ``device`` as in
        :meth:`quartet.CompiledModel.emulate` (e.g. ``EmulatedDevice(checks=False)``)."""
        return self.emulate_counted(inputs, device, **named)[0]

    def emulate_counted(
        self, inputs: Mapping[str, np.ndarray] | None = None, device=None, **named
    ) -> tuple[dict[str, np.ndarray], RunCounts]:
        """:meth:`emulate`, and what the run did (launches per kernel, copies, host round
        trips: :class:`quartet.runtime.program.RunCounts`)."""
        arrays = self._arguments({**(inputs or {}), **named})
        results, counts = self.compiled.emulate_counted(*arrays, device=device)
        return self._results(results), counts

    def random_inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Inputs of the right shapes and dtypes (floats in [-1, 1), ints in [0, 4))."""
        return random_arrays(((spec.name, spec.shape, spec.dtype) for spec in self.inputs), seed)

    def artifact(self, *, cpu_library: bool = False) -> Artifact:
        """The compiled model as a :mod:`quartet.runtime` artifact: the ONNX graph's input and
        output names and dtypes, its weights bound to their arguments, outputs known at
        compile time stored as values."""
        signature = self.compiled.signature
        for spec in [*self.inputs, *self.outputs]:
            if np.dtype(spec.dtype) not in DTYPES:
                raise QuartetError(
                    f"error: '{spec.name}' has dtype {spec.dtype}, which an artifact cannot hold"
                )
        inputs = tuple(
            NamedTensor(s.name, TensorSpec(s.shape, np.dtype(s.dtype))) for s in self.inputs
        )
        outputs = tuple(
            NamedTensor(s.name, TensorSpec(s.shape, np.dtype(s.dtype)), s.value)
            for s in self.outputs
        )
        buffers = iter(signature.inputs)
        arguments = [Argument("input", named.name, next(buffers)) for named in inputs]
        arguments += [
            Argument("weight", name, next(buffers), data)
            for (name, _), data in zip(self.graph.weights, self._weights, strict=True)
        ]
        computed = [named for named in outputs if named.value is None]
        arguments += [
            Argument("output", named.name, spec)
            for named, spec in zip(computed, signature.outputs, strict=True)
        ]
        return self.compiled.artifact(
            cpu_library=cpu_library, inputs=inputs, outputs=outputs, arguments=tuple(arguments)
        )

    def save(self, directory: str | Path, *, cpu_library: bool = False) -> Path:
        """Write :meth:`artifact` into ``directory``; returns the directory."""
        write_artifact(self.artifact(cpu_library=cpu_library), Path(directory))
        return Path(directory)

    def unbound(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``feeds`` without the inputs bound at compile time (each checked to hold the value
        it was bound to); QuartetError for a name the model does not have."""
        names = {spec.name for spec in self.inputs}
        for name, value in feeds.items():
            if name in self.graph.bound_inputs:
                if not np.array_equal(np.asarray(value), self.graph.bound_inputs[name]):
                    raise QuartetError(
                        f"error: input '{name}' was bound at compile time to another value"
                    )
            elif name not in names:
                raise QuartetError(
                    f"error: the model has no input '{name}' (inputs: {', '.join(names)})"
                )
        return {name: value for name, value in feeds.items() if name in names}

    def _arguments(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        feeds = self.unbound(feeds)
        arrays = []
        for spec in self.inputs:
            if spec.name not in feeds:
                raise QuartetError(f"error: missing input '{spec.name}'")
            arrays.append(_to_ir(_checked(np.asarray(feeds[spec.name]), spec)))
        return arrays + self._weights

    def _results(self, arrays: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        computed = iter(arrays)
        return {
            spec.name: spec.value.copy()
            if spec.value is not None
            else _from_ir(next(computed), spec)
            for spec in self.outputs
        }


def _checked(array: np.ndarray, spec: Spec) -> np.ndarray:
    if array.shape != spec.shape or array.dtype != spec.dtype:
        raise QuartetError(
            f"error: input '{spec.name}' is {list(array.shape)} {array.dtype}, the model "
            f"expects {list(spec.shape)} {spec.dtype}"
        )
    return array


def _to_ir(array: np.ndarray) -> np.ndarray:
    """Booleans and unsigned integers are signless buffers (:func:`ir.to_storage`), scalars
    1-element tensors in IR."""
    array = to_storage(np.ascontiguousarray(array))
    return np.ascontiguousarray(array.reshape(array.shape or (1,)))


def _from_ir(array: np.ndarray, spec: Spec) -> np.ndarray:
    return from_storage(array.reshape(spec.shape), spec.dtype)


def import_model(
    source: str | Path | bytes | onnx.ModelProto,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    bound_inputs: Mapping[str, np.ndarray] | None = None,
) -> ImportedGraph:
    """ONNX model -> graph-level IR text (no compilation); see :func:`compile_model`. A model
    given as a path may keep its weights in external data files beside it (memory-mapped)."""
    model = load(source)
    data = ExternalData.of(source)
    files = data_files(model.graph, data)  # before reading: a later change misses the cache
    skeleton, weights = prepare(model, input_shapes, data)
    graph = Importer(skeleton, bound_inputs, weights).run()
    return dataclasses.replace(graph, data_files=files)


def _import_key(source, input_shapes, bound_inputs) -> str | None:
    """The import cache's key for a model file: the file's identity (path, size and
    modification time, so a hit never reads the file), the bound shapes and inputs. Models given
    as bytes or a ModelProto are imported every time (their compile is still cached). The
    external data files are not in the key (naming them needs the model): a hit checks them
    (:func:`_cached_import`)."""
    if not isinstance(source, str | Path):
        return None
    identity = file_identity(source)
    if identity is None:
        return None  # import_model reports the unreadable file
    bound = hashlib.sha256()
    for name, value in sorted((bound_inputs or {}).items()):
        array = np.ascontiguousarray(value)
        bound.update(f"{name}:{array.dtype}:{array.shape}:".encode() + array.tobytes())
    shapes = sorted((name, tuple(shape)) for name, shape in (input_shapes or {}).items())
    return compile_cache.key("onnx-import", identity, repr(shapes), bound.hexdigest())


def _cached_import(key: str | None) -> ImportedGraph | None:
    """The imported graph of ``key`` with its weights memory-mapped from the cache, unless an
    external data file it was imported from has changed since (a miss)."""
    found = compile_cache.load_with_arrays(key) if key else None
    if found is None:
        return None
    graph, arrays = found
    if any(file_identity(path) != identity for path, identity in graph.data_files.items()):
        return None
    names = [name for name, _ in graph.weights]
    return dataclasses.replace(graph, weights=list(zip(names, arrays, strict=True)))


def compile_model(
    source: str | Path | bytes | onnx.ModelProto,
    target: str = "sm_90",
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    bound_inputs: Mapping[str, np.ndarray] | None = None,
    tiling: str = DEFAULT_TILING,
    fusion: str = "welder",
    schedule: str = "rammer",
    control_flow: str = "device",
    cache: bool = True,
    progress: Progress | None = None,
) -> OnnxModel:
    """Import an ONNX model (path, bytes or ModelProto) and compile it for ``target``.

    ``input_shapes`` binds dynamic input dimensions (``{"x": [1, 3, 224, 224]}``);
    ``bound_inputs`` turns graph inputs into compile-time constants (a shape fed as an input).
    ``fusion`` is Welder's mode ("welder" or "none"), ``schedule`` Rammer's ("rammer": one
    persistent kernel per run of launches; "none"); ``control_flow`` where Loop, If, Scan and
    the recurrent operators run on a GPU target ("host": a host loop around their kernels;
    "device", the default: inside the persistent kernel, Grinder's, on the grid or on one CTA
    by its cost model; "grid" or "cta": that scope forced); ``cache=False`` skips the compile
    cache.
    ``progress`` receives one line per stage.
    """
    report = progress or (lambda line: None)
    start = time.perf_counter()
    isolation.report(stage="import")
    report("importing the ONNX model")
    key = _import_key(source, input_shapes, bound_inputs) if cache else None
    graph = _cached_import(key)
    if graph is None:
        graph = import_model(source, input_shapes=input_shapes, bound_inputs=bound_inputs)
    import_seconds = time.perf_counter() - start
    stages = {"import": import_seconds}
    if key and not graph.cached:
        names = [(name, None) for name, _ in graph.weights]
        arrays = [array for _, array in graph.weights]
        compile_cache.store(key, dataclasses.replace(graph, weights=names, cached=True), arrays)
        stages["import-cache"] = time.perf_counter() - start - import_seconds
    counts = ", ".join(f"{op} x{n}" for op, n in graph.op_counts.most_common())
    report(
        f"imported {sum(graph.op_counts.values())} operators ({counts or 'none'}) and "
        f"{len(graph.weights)} weights in {import_seconds:.2f} s; compiling for {target}"
    )
    compiled = quartet.compile(
        graph.text,
        target=target,
        tiling=tiling,
        fusion=fusion,
        schedule=schedule,
        control_flow=control_flow,
        cache=cache,
    )
    compiled.stage_seconds = {**stages, **compiled.stage_seconds}
    timing = ", ".join(f"{s} {t:.2f} s" for s, t in compiled.stage_seconds.items())
    launches = f", {compiled.launches} launches" if compiled.launches is not None else ""
    report(f"compiled: {len(compiled.kernels)} kernels{launches} ({timing})")
    weights = [np.ascontiguousarray(_to_ir(array)) for _, array in graph.weights]
    return OnnxModel(graph, compiled, import_seconds, weights)
