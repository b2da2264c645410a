"""A loaded artifact, run on a device with dicts of named numpy arrays.

Three devices: ``"cpu"`` calls the CPU form's shared library (where the artifact carries one),
``"emulator"`` executes the PTX in Quartet's PTX emulator with its checkers on (always
available), ``"cuda"`` runs the PTX on an NVIDIA GPU through the CUDA driver. On a device that
keeps state (the CPU library, a GPU) the model is prepared once: kernels loaded, buffers
allocated and weights written, then every run only writes its inputs and reads its outputs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime.artifact import Artifact, NamedTensor
from quartet.runtime.cpu import CpuLibrary
from quartet.runtime.cuda import WATCHDOG_SECONDS, CudaDevice
from quartet.runtime.errors import new_word
from quartet.runtime.program import Device, Read, load_program, run_host_program, walk
from quartet.signature import aligned

DEVICES = ("cpu", "emulator", "cuda")


class Model:
    """``run(feeds, device=...)`` -> outputs, both ``{name: array}``. ``watchdog`` is the time a
    GPU kernel may run before it is reported as a hang."""

    def __init__(self, artifact: Artifact, watchdog: float = WATCHDOG_SECONDS):
        self.artifact = artifact
        self.watchdog = watchdog
        self._kept: dict[str, _Runner] = {}

    @property
    def inputs(self) -> tuple[NamedTensor, ...]:
        return self.artifact.inputs

    @property
    def outputs(self) -> tuple[NamedTensor, ...]:
        return self.artifact.outputs

    @property
    def devices(self) -> tuple[str, ...]:
        """The devices this artifact can run on (cuda needs a GPU besides)."""
        gpu = ("emulator", "cuda") if self.artifact.host is not None else ()
        return (("cpu",) if self.artifact.cpu is not None else ()) + gpu

    def run(
        self, feeds: Mapping[str, np.ndarray], *, device: str | Device
    ) -> dict[str, np.ndarray]:
        """Run once on ``device`` (``"cpu"``, ``"emulator"``, ``"cuda"``, or a
        :class:`~quartet.runtime.program.Device`); the outputs are new arrays."""
        runner = self._runner(device)
        inputs, outputs = self._arguments(feeds)
        runner.execute(inputs, outputs)
        return self._results(outputs)

    def bench(
        self, feeds: Mapping[str, np.ndarray], *, device: str | Device, runs: int, warmup: int = 3
    ) -> list[float]:
        """Seconds per run of ``runs`` runs after ``warmup`` ones, the inputs written once
        before them (a GPU's time is measured on the GPU, with CUDA events)."""
        if runs < 1 or warmup < 0:
            raise QuartetError(
                f"error: bench needs runs >= 1 and warmup >= 0, got {runs}, {warmup}"
            )
        runner = self._runner(device)
        inputs, outputs = self._arguments(feeds)
        runner.execute(inputs, outputs)
        for _ in range(warmup):
            runner.repeat()
        return [runner.repeat() for _ in range(runs)]

    def random_inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Inputs of the right shapes and dtypes (:func:`random_arrays`)."""
        return random_arrays(((n.name, n.spec.shape, n.spec.dtype) for n in self.inputs), seed)

    def close(self) -> None:
        """Release what the devices hold for this model (GPU memory, modules)."""
        for runner in self._kept.values():
            runner.close()
        self._kept.clear()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exception) -> None:
        self.close()

    def _runner(self, device: str | Device) -> _Runner:
        if not isinstance(device, str):
            return _ProgramRunner(self.artifact, device)
        if device not in DEVICES:
            raise QuartetError(f"error: unknown device '{device}' (devices: {', '.join(DEVICES)})")
        if device not in self.devices:
            raise QuartetError(
                f"error: this artifact (target {self.artifact.target}) cannot run on '{device}'"
                f" (it runs on: {', '.join(self.devices)})"
            )
        if device == "emulator":  # a fresh emulated GPU per run: its checkers see one inference
            from quartet.runtime.emulated import EmulatedDevice

            return _ProgramRunner(self.artifact, EmulatedDevice())
        if device not in self._kept:
            self._kept[device] = self._prepare(device)
        return self._kept[device]

    def _prepare(self, device: str) -> _Runner:
        if device == "cpu":
            return _CpuRunner(self.artifact)
        return _CudaRunner(self.artifact, CudaDevice(watchdog=self.watchdog))

    def _arguments(self, feeds: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
        """Argument position -> array: the inputs as their buffers hold them, and new arrays
        for the outputs."""
        names = [named.name for named in self.inputs]
        unknown = [name for name in feeds if name not in names]
        if unknown:
            raise QuartetError(
                f"error: the model has no input '{unknown[0]}' (inputs: {', '.join(names)})"
            )
        by_name = {named.name: named for named in self.inputs}
        inputs, outputs = {}, {}
        for position, argument in enumerate(self.artifact.arguments):
            if argument.role == "output":
                outputs[position] = aligned(np.zeros(argument.spec.shape, argument.spec.dtype))
            elif argument.role == "input":
                if argument.name not in feeds:
                    raise QuartetError(f"error: missing input '{argument.name}'")
                named = by_name[argument.name]
                inputs[position] = _storage(feeds[argument.name], named, argument.spec)
        return inputs, outputs

    def _results(self, outputs: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
        by_name = {
            argument.name: outputs[position]
            for position, argument in enumerate(self.artifact.arguments)
            if argument.role == "output"
        }
        results = {}
        for named in self.outputs:
            if named.value is not None:
                results[named.name] = np.array(named.value, named.spec.dtype)
            else:
                results[named.name] = (
                    by_name[named.name].view(named.spec.dtype).reshape(named.spec.shape)
                )
        return results


def _storage(value: Any, named: NamedTensor, buffer) -> np.ndarray:
    """A user's input as its buffer holds it (same bytes), 64-byte aligned."""
    array = np.asarray(value)
    if array.shape != named.spec.shape or array.dtype != named.spec.dtype:
        raise QuartetError(
            f"error: input '{named.name}' is {list(array.shape)} {array.dtype}, the model "
            f"expects {list(named.spec.shape)} {named.spec.dtype}"
        )
    return aligned(np.ascontiguousarray(array).view(buffer.dtype).reshape(buffer.shape))


def random_arrays(
    specs: Iterable[tuple[str, tuple[int, ...], np.dtype]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Arrays for (name, shape, dtype) specs: floats uniform in [-1, 1), booleans, integers in
    [0, 4) (valid indices and shape values for most models)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape, dtype in specs:
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            arrays[name] = rng.uniform(-1, 1, shape).astype(dtype)
        elif dtype == np.bool_:
            arrays[name] = rng.integers(0, 2, shape).astype(bool)
        else:
            arrays[name] = rng.integers(0, 4, shape).astype(dtype)
    return arrays


class _Runner:
    """A model prepared on one device."""

    def execute(self, inputs: dict[int, np.ndarray], outputs: dict[int, np.ndarray]) -> None:
        """One run: write ``inputs``, compute, fill ``outputs`` (argument position -> array)."""
        raise NotImplementedError

    def repeat(self) -> float:
        """Compute again on the inputs last written; the seconds it took."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the device holds."""


class _CpuRunner(_Runner):
    """The CPU library, called with every argument (weights read in place from weights.bin)."""

    def __init__(self, artifact: Artifact):
        form = artifact.cpu
        self.library = CpuLibrary(form.library, form.symbol, form.preload)
        self.weights = {
            position: aligned(argument.data)
            for position, argument in enumerate(artifact.arguments)
            if argument.role == "weight"
        }
        self.count = len(artifact.arguments)
        self.errors = artifact.errors
        self.last: list[np.ndarray] = []

    def execute(self, inputs, outputs) -> None:
        arrays = {**inputs, **self.weights, **outputs}
        if self.errors is not None:
            arrays[self.errors.argument] = new_word()
        self.last = [arrays[position] for position in range(self.count)]
        self._call()

    def repeat(self) -> float:
        start = time.perf_counter()
        self._call()
        return time.perf_counter() - start

    def _call(self) -> None:
        """The library on the last arguments; the error word zeroed before, checked after."""
        if self.errors is None:
            self.library.call(self.last)
            return
        word = self.last[self.errors.argument]
        word[0] = 0
        self.library.call(self.last)
        self.errors.raise_if_set(word)


class _ProgramRunner(_Runner):
    """The host program on a device: kernels loaded, buffers allocated and weights written
    once (:func:`~quartet.runtime.program.load_program`)."""

    def __init__(self, artifact: Artifact, device: Device):
        self.device, self.host = device, artifact.host
        self.loaded = load_program(self.host, artifact.ptx, device)
        slots = self.host.argument_buffers
        for position, argument in enumerate(artifact.arguments):
            if argument.role == "weight":
                device.write(self.loaded.storage[slots[position]], argument.data)

    def execute(self, inputs, outputs) -> None:
        run_host_program(self.host, self.device, self.loaded, inputs, outputs)

    def repeat(self) -> float:
        start = time.perf_counter()
        run_host_program(self.host, self.device, self.loaded, {}, {})
        return time.perf_counter() - start


class _CudaRunner(_ProgramRunner):
    """On a GPU, a run's time is the GPU's: CUDA events around its steps. A host program
    that reads values back synchronizes in the middle of a run, where the events' clock
    restarts: its run is timed on the host's clock, round trips included."""

    def repeat(self) -> float:
        if any(isinstance(step, Read) for step in walk(self.host.steps)):
            return super().repeat()
        run_host_program(self.host, self.device, self.loaded, {}, {})
        return self.device.last_run_seconds

    def close(self) -> None:
        self.device.close()
