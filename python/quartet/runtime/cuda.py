"""An NVIDIA GPU as a :class:`~quartet.runtime.program.Device`, through the CUDA driver API.

NVIDIA's ``cuda-bindings`` (``cuda.bindings.driver``) is imported when a :class:`CudaDevice` is
made, never before, so everything else in the runtime works without it. Every driver call goes
through :meth:`_Driver.call`, which checks the ``CUresult`` each call returns first and turns a
failure into a :class:`CudaError` naming the call and the kernel.

- Kernels: each kernel's PTX is JIT-compiled with ``cuModuleLoadDataEx``, its error and info
  logs kept (the error log is part of the error). A launch that asks for more than the default
  48 KB of dynamic shared memory first raises the function's
  ``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES``. A cooperative launch (a kernel whose
  blocks must all be resident: persistent or grid-barrier) is checked first with
  ``cuOccupancyMaxActiveBlocksPerMultiprocessor`` x SMs, then made with
  ``cuLaunchCooperativeKernel``.
- Memory: every buffer is allocated once (``cuMemAlloc``) when the model is prepared and reused
  by every run; views share their base's pointer. All transfers, copies and launches go, in
  order, on the device's one stream.
- Time and hangs: an event is recorded after every launch. :meth:`CudaDevice.synchronize`
  polls them in order, each with its own deadline (``watchdog`` seconds after the kernel before
  it finished), so a kernel that never finishes is reported as a hang naming it instead of
  freezing the caller; the time between the first step since the last synchronize and the last
  one, measured by CUDA events, is ``last_run_seconds``.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime.program import Buffer, Launch
from quartet.signature import TensorSpec

# Dynamic shared memory a block may use without opting in (CUDA C++ Programming Guide,
# "Shared Memory", compute capability 7.0 and later: above 48 KB needs an explicit opt-in).
DEFAULT_DYNAMIC_SHARED_BYTES = 48 * 1024
WATCHDOG_SECONDS = 10.0  # a kernel still running after this long is reported as a hang
JIT_LOG_BYTES = 16 * 1024


class CudaError(QuartetError):
    """A CUDA driver failure, a missing driver or device, or a hung kernel."""


@dataclass(frozen=True)
class DeviceBuffer:
    """A buffer in GPU memory (a view shares its base's pointer)."""

    pointer: int
    nbytes: int


def import_bindings():
    """``cuda.bindings.driver``, or a CudaError saying how to get it."""
    try:
        from cuda.bindings import driver
    except ImportError as error:
        raise CudaError(
            "error: the cuda device needs NVIDIA's cuda-bindings (pip install cuda-bindings), "
            f"which cannot be imported here ({error})"
        ) from None
    return driver


class _Driver:
    """The driver API with every CUresult checked."""

    def __init__(self, api):
        self.api = api
        self.success = api.CUresult.CUDA_SUCCESS

    def call(self, name: str, *arguments: Any, kernel: str | None = None) -> Any:
        """``name(*arguments)``: what it returns after the CUresult (None, one value or a
        tuple); a CudaError naming the call (and the kernel) if the CUresult is not success."""
        status, *values = getattr(self.api, name)(*arguments)
        if status != self.success:
            raise self.error(name, status, kernel)
        return None if not values else values[0] if len(values) == 1 else tuple(values)

    def error(self, name: str, status: Any, kernel: str | None, detail: str = "") -> CudaError:
        described = self.describe(status)
        for_kernel = f" for kernel {kernel}" if kernel else ""
        return CudaError(f"error: CUDA: {name}{for_kernel} failed: {described}{detail}")

    def describe(self, status: Any) -> str:
        """``CUDA_ERROR_X (the driver's description)``, as far as the driver can say."""
        code, name = self.api.cuGetErrorName(status)
        if code != self.success:
            return f"CUresult {int(status)}"
        code, text = self.api.cuGetErrorString(status)
        description = f" ({_text(text)})" if code == self.success else ""
        return f"{_text(name)}{description}"


def _text(value: bytes | str) -> str:
    """A C string the driver returned (as bytes up to the first NUL)."""
    if isinstance(value, str):
        return value
    return value.split(b"\0", 1)[0].decode(errors="replace")


class CudaDevice:
    """One GPU (``ordinal``) through the CUDA driver: see the module docstring."""

    def __init__(self, ordinal: int = 0, watchdog: float = WATCHDOG_SECONDS):
        api = import_bindings()
        self.driver, self.watchdog = _Driver(api), watchdog
        _initialize(self.driver)
        count = self.driver.call("cuDeviceGetCount")
        if not 0 <= ordinal < count:
            raise CudaError(f"error: CUDA: no GPU #{ordinal} (the driver sees {count})")
        self.device = self.driver.call("cuDeviceGet", ordinal)
        self.name = _text(self.driver.call("cuDeviceGetName", 256, self.device))
        self.context = self.driver.call("cuDevicePrimaryCtxRetain", self.device)
        self.driver.call("cuCtxSetCurrent", self.context)
        attribute = api.CUdevice_attribute
        self.sms = self._attribute(attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        self.cooperative = bool(self._attribute(attribute.CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH))
        self.shared_optin = self._attribute(
            attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        )
        self.stream = self.driver.call("cuStreamCreate", api.CUstream_flags.CU_STREAM_NON_BLOCKING)
        self.jit_logs: dict[str, str] = {}  # kernel -> the JIT's info log
        self.last_run_seconds = 0.0
        self._modules: dict[str, Any] = {}
        self._functions: dict[str, Any] = {}
        self._checked: set[tuple] = set()  # launch shapes whose limits were checked
        self._allocations: list[int] = []
        self._events: list[Any] = []  # one per launch since the last synchronize, reused
        self._pending: list[str] = []  # kernels launched since the last synchronize
        self._clock = [self._event(timing=True), self._event(timing=True)]
        self._started = False
        self._hung: str | None = None
        self._closed = False

    def _attribute(self, attribute) -> int:
        return self.driver.call("cuDeviceGetAttribute", attribute, self.device)

    def _event(self, timing: bool = False):
        flags = self.driver.api.CUevent_flags
        flag = flags.CU_EVENT_DEFAULT if timing else flags.CU_EVENT_DISABLE_TIMING
        return self.driver.call("cuEventCreate", flag)

    # -- Device ---------------------------------------------------------------------------

    def load(self, ptx: Mapping[str, str]) -> None:
        self._usable()
        for kernel, text in ptx.items():
            if kernel not in self._functions:
                self._modules[kernel] = self._load_module(kernel, text)
                self._functions[kernel] = self.driver.call(
                    "cuModuleGetFunction", self._modules[kernel], kernel.encode(), kernel=kernel
                )

    def _load_module(self, kernel: str, ptx: str):
        """JIT-compile ``ptx``; the JIT's error log is part of the error, its info log kept."""
        option = self.driver.api.CUjit_option
        error_log, info_log = bytearray(JIT_LOG_BYTES), bytearray(JIT_LOG_BYTES)
        options = [
            option.CU_JIT_ERROR_LOG_BUFFER,
            option.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
            option.CU_JIT_INFO_LOG_BUFFER,
            option.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
        ]
        values = [error_log, JIT_LOG_BYTES, info_log, JIT_LOG_BYTES]
        image = ptx.encode() + b"\0"
        status, module = self.driver.api.cuModuleLoadDataEx(image, len(options), options, values)
        self.jit_logs[kernel] = _log(info_log)
        if status != self.driver.success:
            log = _log(error_log)
            detail = f"; the JIT says:\n{log}" if log else ""
            raise self.driver.error("cuModuleLoadDataEx", status, kernel, detail)
        return module

    def allocate(self, buffer: Buffer) -> DeviceBuffer:
        self._usable()
        nbytes = buffer.spec.nbytes
        pointer = int(self.driver.call("cuMemAlloc", max(nbytes, 1)))
        self._allocations.append(pointer)
        storage = DeviceBuffer(pointer, nbytes)
        if buffer.constant is None:
            self._start()
            self.driver.call("cuMemsetD8Async", pointer, 0, max(nbytes, 1), self.stream)
        else:
            self.write(storage, np.asarray(buffer.constant, buffer.spec.dtype))
        return storage

    def view(self, storage: DeviceBuffer, spec: TensorSpec, offset: int = 0) -> DeviceBuffer:
        return DeviceBuffer(storage.pointer + offset, spec.nbytes)

    def write(self, storage: DeviceBuffer, array: np.ndarray) -> None:
        """Host -> device on the stream (pageable memory is staged before the call returns)."""
        self._usable()
        array = np.ascontiguousarray(array)
        _same_size(storage, array, "write")
        if not array.nbytes:
            return
        self._start()
        self.driver.call(
            "cuMemcpyHtoDAsync", storage.pointer, array.ctypes.data, array.nbytes, self.stream
        )

    def read(self, storage: DeviceBuffer, array: np.ndarray) -> None:
        """Device -> host, complete when this returns."""
        self._usable()
        _same_size(storage, array, "read")
        if not array.flags.c_contiguous:
            raise CudaError("error: CUDA: reads go into C-contiguous arrays only")
        if not array.nbytes:
            return
        self.driver.call(
            "cuMemcpyDtoHAsync", array.ctypes.data, storage.pointer, array.nbytes, self.stream
        )
        self.driver.call("cuStreamSynchronize", self.stream)

    def copy(self, source: DeviceBuffer, target: DeviceBuffer) -> None:
        self._usable()
        if not source.nbytes:
            return
        self._start()
        self.driver.call(
            "cuMemcpyDtoDAsync", target.pointer, source.pointer, source.nbytes, self.stream
        )

    def launch(self, step: Launch, parameters: list[DeviceBuffer | int]) -> None:
        """Each parameter's value in a 64-bit slot: a buffer's device pointer, or a scalar
        (the driver copies the parameter's size from the slot: little-endian, its low bytes)."""
        self._usable()
        function = self._functions.get(step.kernel)
        if function is None:
            raise CudaError(f"error: CUDA: kernel {step.kernel} was not loaded")
        self._check_limits(step, function)
        self._start()
        values = (ctypes.c_uint64 * len(parameters))(
            *[p if isinstance(p, int) else p.pointer for p in parameters]
        )
        base, size = ctypes.addressof(values), ctypes.sizeof(ctypes.c_uint64)
        slots = (ctypes.c_void_p * len(parameters))(
            *[base + index * size for index in range(len(parameters))]
        )
        shape = (*step.grid, *step.block, step.shared_bytes, self.stream)
        if step.cooperative:
            name, arguments = "cuLaunchCooperativeKernel", (ctypes.addressof(slots),)
        else:
            name, arguments = "cuLaunchKernel", (ctypes.addressof(slots), 0)
        self.driver.call(name, function, *shape, *arguments, kernel=step.kernel)
        if len(self._events) <= len(self._pending):
            self._events.append(self._event())
        self.driver.call("cuEventRecord", self._events[len(self._pending)], self.stream)
        self._pending.append(step.kernel)

    def synchronize(self) -> None:
        """Wait for every step since the last synchronize, each kernel under the watchdog."""
        self._usable()
        if not self._started:
            return
        self.driver.call("cuEventRecord", self._clock[1], self.stream)
        kernels, self._pending = self._pending, []
        for kernel, event in zip(kernels, self._events, strict=False):
            self._wait(event, kernel)
        self._wait(self._clock[1], None)
        milliseconds = self.driver.call("cuEventElapsedTime", self._clock[0], self._clock[1])
        self.last_run_seconds = float(milliseconds) / 1e3
        self._started = False

    # -- limits, waiting, release ----------------------------------------------------------

    def _check_limits(self, step: Launch, function) -> None:
        """Once per launch shape: raise the dynamic shared memory limit where the launch
        needs more than the default, and check that a cooperative grid fits on the GPU."""
        key = (step.kernel, step.grid, step.block, step.shared_bytes, step.cooperative)
        if key in self._checked:
            return
        api = self.driver.api
        if step.shared_bytes > DEFAULT_DYNAMIC_SHARED_BYTES:
            if step.shared_bytes > self.shared_optin:
                raise CudaError(
                    f"error: CUDA: kernel {step.kernel} asks for {step.shared_bytes} bytes of "
                    f"dynamic shared memory; {self.name} allows at most {self.shared_optin} "
                    "per block"
                )
            self.driver.call(
                "cuFuncSetAttribute",
                function,
                api.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                step.shared_bytes,
                kernel=step.kernel,
            )
        if step.cooperative:
            self._check_co_residency(step, function)
        self._checked.add(key)

    def _check_co_residency(self, step: Launch, function) -> None:
        if not self.cooperative:
            raise CudaError(
                f"error: CUDA: kernel {step.kernel} needs a cooperative launch, which "
                f"{self.name} does not support"
            )
        threads = step.block[0] * step.block[1] * step.block[2]
        per_sm = self.driver.call(
            "cuOccupancyMaxActiveBlocksPerMultiprocessor",
            function,
            threads,
            step.shared_bytes,
            kernel=step.kernel,
        )
        blocks = step.grid[0] * step.grid[1] * step.grid[2]
        if blocks > per_sm * self.sms:
            raise CudaError(
                f"error: CUDA: kernel {step.kernel} needs its {blocks} blocks resident at once, "
                f"but {self.name} holds {per_sm} per SM x {self.sms} SMs = {per_sm * self.sms} "
                f"(block {step.block}, {step.shared_bytes} bytes of dynamic shared memory)"
            )

    def _start(self) -> None:
        """The first step since the last synchronize starts the clock."""
        if not self._started:
            self.driver.call("cuEventRecord", self._clock[0], self.stream)
            self._started = True

    def _wait(self, event, kernel: str | None) -> None:
        """Poll ``event`` until it completes; a hang (watchdog) or a failed kernel raises."""
        api, deadline, pause = self.driver.api, time.monotonic() + self.watchdog, 1e-5
        while True:
            status = api.cuEventQuery(event)[0]
            if status == self.driver.success:
                return
            if status != api.CUresult.CUDA_ERROR_NOT_READY:
                raise self.driver.error("cuEventQuery", status, kernel, " (it failed on the GPU)")
            if time.monotonic() > deadline:
                what = f"kernel {kernel}" if kernel else "the last step"
                self._hung = (
                    f"error: CUDA: {what} did not finish within the {self.watchdog:g} s "
                    "watchdog: it hangs, or runs far longer than expected"
                )
                raise CudaError(
                    f"{self._hung}; the GPU context is unusable now (restart the process)"
                )
            time.sleep(pause)
            pause = min(2 * pause, 1e-3)

    def _usable(self) -> None:
        if self._hung is not None:
            raise CudaError(f"{self._hung}; the GPU cannot be used after that")
        if self._closed:
            raise CudaError("error: CUDA: the device was closed")

    def close(self) -> None:
        """Free the buffers, modules, events and stream; release the context. Skipped after
        a hang (the driver would wait for the hung kernel)."""
        if self._hung is not None or self._closed:
            return
        self._closed = True
        for pointer in self._allocations:
            self.driver.call("cuMemFree", pointer)
        for module in self._modules.values():
            self.driver.call("cuModuleUnload", module)
        for event in [*self._events, *self._clock]:
            self.driver.call("cuEventDestroy", event)
        self.driver.call("cuStreamDestroy", self.stream)
        self.driver.call("cuDevicePrimaryCtxRelease", self.device)


def _initialize(driver: _Driver) -> None:
    """``cuInit``, with the two ways it fails on a machine without a GPU said plainly."""
    try:
        status = driver.api.cuInit(0)[0]
    except (RuntimeError, OSError) as error:  # cuda-bindings raises when libcuda cannot load
        raise CudaError(
            "error: CUDA: no CUDA driver found (libcuda.so could not be loaded: "
            f"{error}); the cuda device needs an NVIDIA GPU and its driver"
        ) from None
    if status == driver.api.CUresult.CUDA_ERROR_NO_DEVICE:
        raise CudaError("error: CUDA: the driver is installed but finds no GPU")
    if status != driver.success:
        raise driver.error("cuInit", status, None)


def _same_size(storage: DeviceBuffer, array: np.ndarray, what: str) -> None:
    if array.nbytes != storage.nbytes:
        raise CudaError(
            f"error: CUDA: {what} of {array.nbytes} bytes into a {storage.nbytes}-byte buffer"
        )


def _log(buffer: bytearray) -> str:
    return buffer.split(b"\0", 1)[0].decode(errors="replace").strip()
