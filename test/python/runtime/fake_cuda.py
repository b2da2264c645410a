"""A stand-in for NVIDIA's ``cuda.bindings.driver`` that runs kernels in Quartet's PTX emulator.

It keeps the real module's calling convention (every call returns a tuple whose first item is
a ``CUresult``; handles are integers; enums carry the real names and values), so
:class:`quartet.runtime.cuda.CudaDevice` runs on it unchanged, without a GPU:

- memory is host memory: a device pointer is the address of a numpy buffer the fake owns, so
  transfers are ``memmove``s and a launch hands the emulator the buffers its parameters point
  into (the parameter array is decoded from ``kernelParams`` exactly as the driver would);
- ``fail[name] = CUresult`` makes the calls of ``name`` fail; ``jit_error`` makes module loading
  fail with that JIT log; ``hang`` names a kernel whose completion event never fires;
  ``no_driver`` makes ``cuInit`` raise as cuda-bindings does where libcuda cannot be loaded;
- ``calls`` records every call by name.

Where the real cuda-bindings is installed (it imports without a driver), every call is first
made on it with the same arguments (fake enums swapped for the real ones, by name): it must
fail only for want of a driver, so an argument the real bindings would reject (a str for
bytes, a wrong enum, a bad ``kernelParams``) fails the test.
"""

from __future__ import annotations

import ctypes
import enum
import sys
import types
from collections import Counter

import numpy as np

from quartet.emulator import launch as emulate

try:
    from cuda.bindings import driver as REAL
except ImportError:
    REAL = None


class CUresult(enum.IntEnum):
    # Values of CUDA's cuda.h (CUDA 12/13 driver API).
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NOT_INITIALIZED = 3
    CUDA_ERROR_NO_DEVICE = 100
    CUDA_ERROR_INVALID_PTX = 218
    CUDA_ERROR_NOT_FOUND = 500
    CUDA_ERROR_NOT_READY = 600
    CUDA_ERROR_ILLEGAL_ADDRESS = 700
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701
    CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE = 720


class CUjit_option(enum.IntEnum):
    CU_JIT_INFO_LOG_BUFFER = 3
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4
    CU_JIT_ERROR_LOG_BUFFER = 5
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6


class CUfunction_attribute(enum.IntEnum):
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8


class CUdevice_attribute(enum.IntEnum):
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
    CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH = 95
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97


class CUevent_flags(enum.IntEnum):
    CU_EVENT_DEFAULT = 0
    CU_EVENT_DISABLE_TIMING = 2


class CUstream_flags(enum.IntEnum):
    CU_STREAM_DEFAULT = 0
    CU_STREAM_NON_BLOCKING = 1


ENUMS = (CUresult, CUjit_option, CUfunction_attribute, CUdevice_attribute, CUevent_flags)
ENUMS += (CUstream_flags,)
OK = CUresult.CUDA_SUCCESS
H100 = {16: 132, 95: 1, 97: 227 * 1024}  # SMs, cooperative launch, opt-in shared bytes/block


class FakeDriver(types.ModuleType):
    """The module object injected as ``cuda.bindings.driver``."""

    def __init__(self, blocks_per_sm: int = 2):
        super().__init__("cuda.bindings.driver")
        for kind in ENUMS:
            setattr(self, kind.__name__, kind)
        self.blocks_per_sm = blocks_per_sm  # what the occupancy query answers
        self.no_driver = False
        self.fail: dict[str, CUresult] = {}
        self.jit_error: str | None = None
        self.hang: str | None = None
        self.calls: list[tuple[str, tuple]] = []
        self.memory: dict[int, np.ndarray] = {}  # device pointer -> its bytes
        self.modules: dict[int, str] = {}
        self.functions: dict[int, tuple[str, str]] = {}  # handle -> (PTX, kernel)
        self.attributes: dict[tuple[int, int], int] = {}
        self.events: dict[int, bool] = {}  # handle -> completed
        self.launched: list[str] = []
        self._handles = iter(range(1000, 10**9))

    def __getattr__(self, name: str):
        if name.startswith("cu") and hasattr(type(self), f"_{name}"):
            return self._entry(name)
        raise AttributeError(name)

    def _entry(self, name: str):
        def call(*arguments):
            self.calls.append((name, arguments))
            _check_with_real_bindings(name, arguments)
            if name in self.fail:
                return (self.fail[name],) + (None,) * _RESULTS.get(name, 0)
            return getattr(self, f"_{name}")(*arguments)

        return call

    def count(self, name: str) -> int:
        return Counter(call for call, _ in self.calls)[name]

    # -- the driver calls CudaDevice makes --------------------------------------------------

    def _cuInit(self, flags):
        if self.no_driver:
            raise RuntimeError('"cuda" is an NVIDIA driver library: libcuda.so.1 not found')
        return (OK,)

    def _cuDeviceGetCount(self):
        return OK, 1

    def _cuDeviceGet(self, ordinal):
        return OK, ordinal

    def _cuDeviceGetName(self, length, device):
        return OK, b"Fake H100 (PTX emulator)\0"

    def _cuDevicePrimaryCtxRetain(self, device):
        return OK, next(self._handles)

    def _cuDevicePrimaryCtxRelease(self, device):
        return (OK,)

    def _cuCtxSetCurrent(self, context):
        return (OK,)

    def _cuDeviceGetAttribute(self, attribute, device):
        return OK, H100[int(attribute)]

    def _cuStreamCreate(self, flags):
        return OK, next(self._handles)

    def _cuStreamSynchronize(self, stream):
        return (OK,)

    def _cuStreamDestroy(self, stream):
        return (OK,)

    def _cuEventCreate(self, flags):
        handle = next(self._handles)
        self.events[handle] = False
        return OK, handle

    def _cuEventRecord(self, event, stream):
        self.events[event] = not (self.hang and self.launched and self.launched[-1] == self.hang)
        return (OK,)

    def _cuEventQuery(self, event):
        return (OK if self.events[event] else CUresult.CUDA_ERROR_NOT_READY,)

    def _cuEventElapsedTime(self, start, end):
        return OK, 0.25

    def _cuEventDestroy(self, event):
        return (OK,)

    def _cuModuleLoadDataEx(self, image, count, options, values):
        logs = dict(zip(options, values, strict=True))
        if self.jit_error is not None:
            text = self.jit_error.encode()[: len(logs[CUjit_option.CU_JIT_ERROR_LOG_BUFFER]) - 1]
            logs[CUjit_option.CU_JIT_ERROR_LOG_BUFFER][: len(text)] = text
            return CUresult.CUDA_ERROR_INVALID_PTX, None
        handle = next(self._handles)
        self.modules[handle] = bytes(image).rstrip(b"\0").decode()
        return OK, handle

    def _cuModuleGetFunction(self, module, name):
        handle = next(self._handles)
        self.functions[handle] = (self.modules[module], name.decode())
        return OK, handle

    def _cuModuleUnload(self, module):
        return (OK,)

    def _cuFuncSetAttribute(self, function, attribute, value):
        self.attributes[function, int(attribute)] = value
        return (OK,)

    def _cuOccupancyMaxActiveBlocksPerMultiprocessor(self, function, threads, shared):
        return OK, self.blocks_per_sm

    def _cuMemAlloc(self, nbytes):
        storage = np.full(nbytes + 256, 0xAB, np.uint8)  # garbage, as fresh GPU memory is
        pointer = storage.ctypes.data + (-storage.ctypes.data % 256)
        self.memory[pointer] = storage[pointer - storage.ctypes.data :][:nbytes]
        return OK, pointer

    def _cuMemFree(self, pointer):
        del self.memory[pointer]
        return (OK,)

    def _cuMemsetD8Async(self, pointer, value, count, stream):
        ctypes.memset(self._checked(pointer, count), value, count)
        return (OK,)

    def _cuMemcpyHtoDAsync(self, target, source, count, stream):
        ctypes.memmove(self._checked(target, count), source, count)
        return (OK,)

    def _cuMemcpyDtoHAsync(self, target, source, count, stream):
        ctypes.memmove(target, self._checked(source, count), count)
        return (OK,)

    def _cuMemcpyDtoDAsync(self, target, source, count, stream):
        ctypes.memmove(self._checked(target, count), self._checked(source, count), count)
        return (OK,)

    def _cuLaunchKernel(self, function, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        assert extra == 0, "kernel parameters go through kernelParams"
        return self._launch(function, (gx, gy, gz), (bx, by, bz), shared, params)

    def _cuLaunchCooperativeKernel(self, function, gx, gy, gz, bx, by, bz, shared, stream, params):
        return self._launch(function, (gx, gy, gz), (bx, by, bz), shared, params)

    def _launch(self, function, grid, block, shared, params):
        """Decode kernelParams as the driver does (void**: each parameter's bytes, as many as
        its PTX declaration, at its pointer) and emulate the kernel: a 64-bit value that
        points into device memory is a buffer, any other value a scalar passed by value."""
        ptx, kernel = self.functions[function]
        sizes = _parameter_sizes(ptx, kernel)
        slots = (ctypes.c_void_p * len(sizes)).from_address(params)
        arguments = []
        for slot, size in zip(slots, sizes, strict=True):
            data = ctypes.string_at(slot, size)
            pointer = int.from_bytes(data, "little")
            arguments.append(self._buffer_at(pointer) if self._is_device(pointer) else data)
        emulate(ptx, kernel, grid, block, arguments, shared_bytes=shared)
        self.launched.append(kernel)
        return (OK,)

    def _cuGetErrorName(self, status):
        return OK, CUresult(status).name.encode()

    def _cuGetErrorString(self, status):
        return OK, f"fake description of {CUresult(status).name}".encode()

    # -- memory ----------------------------------------------------------------------------

    def _checked(self, pointer: int, count: int) -> int:
        self._buffer_at(pointer, count)
        return pointer

    def _is_device(self, pointer: int) -> bool:
        return any(base <= pointer < base + max(s.size, 1) for base, s in self.memory.items())

    def _buffer_at(self, pointer: int, count: int = 0) -> np.ndarray:
        """The bytes from ``pointer`` to the end of its allocation (at least ``count``)."""
        for base, storage in self.memory.items():
            if base <= pointer < base + max(storage.size, 1):
                rest = storage[pointer - base :]
                assert rest.size >= count, f"{count} bytes at {pointer:#x} overrun an allocation"
                return rest
        raise AssertionError(f"{pointer:#x} is no device pointer")


_RESULTS = {  # values a call returns after its CUresult (what a failing call fills with None)
    "cuDeviceGetCount": 1,
    "cuDeviceGet": 1,
    "cuDeviceGetName": 1,
    "cuDevicePrimaryCtxRetain": 1,
    "cuDeviceGetAttribute": 1,
    "cuStreamCreate": 1,
    "cuEventCreate": 1,
    "cuEventElapsedTime": 1,
    "cuModuleLoadDataEx": 1,
    "cuModuleGetFunction": 1,
    "cuOccupancyMaxActiveBlocksPerMultiprocessor": 1,
    "cuMemAlloc": 1,
}


def _parameter_sizes(ptx: str, kernel: str) -> list[int]:
    from quartet.emulator import parse_ptx

    return [param.size for param in parse_ptx(ptx).kernels[kernel].params]


def _check_with_real_bindings(name: str, arguments: tuple) -> None:
    if REAL is None:
        return
    real = [_real_value(argument) for argument in arguments]
    try:
        getattr(REAL, name)(*real)
    except TypeError as error:
        raise AssertionError(f"cuda-bindings rejects the arguments of {name}: {error}") from None
    except RuntimeError:  # no libcuda here: the arguments were accepted before the call
        return
    raise AssertionError(f"{name} ran on a real driver: this test expects none")


def _real_value(value):
    if isinstance(value, list):
        return [_real_value(item) for item in value]
    if isinstance(value, enum.IntEnum):
        return getattr(getattr(REAL, type(value).__name__), value.name)
    return value


def modules(driver: FakeDriver) -> dict[str, types.ModuleType]:
    """The modules ``from cuda.bindings import driver`` finds ``driver`` through."""
    cuda, bindings = types.ModuleType("cuda"), types.ModuleType("cuda.bindings")
    cuda.bindings, bindings.driver = bindings, driver
    return {"cuda": cuda, "cuda.bindings": bindings, "cuda.bindings.driver": driver}


def install(monkeypatch, driver: FakeDriver) -> FakeDriver:
    """Make ``from cuda.bindings import driver`` give ``driver`` (undone after the test)."""
    for name, module in modules(driver).items():
        monkeypatch.setitem(sys.modules, name, module)
    return driver
