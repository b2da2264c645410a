"""``launch``: run one PTX kernel on numpy arrays, as a CUDA launch would on a device.

Arguments follow the kernel's ``.param`` list: a numpy array for each pointer parameter (a
``.u64``/``.b64`` param; the array's bytes become one global buffer and are written back in
place), a Python or numpy scalar for each scalar parameter, and ``bytes`` or an array of exactly
the right size for ``.align N .b8 name[size]`` parameters. Passing the same array twice maps it
once (aliasing pointers see the same memory).
"""

from __future__ import annotations

import functools

import numpy as np

from .checkers import normalize_checks
from .errors import LaunchError
from .layout import ThreadLayout
from .machine import LaunchStats, Machine
from .memory import layout_buffers
from .parser import Kernel, Module, Param, parse_ptx

Dim3 = tuple[int, int, int]
DEFAULT_MAX_STEPS = 50_000_000
H100_SMS = 132  # NVIDIA H100 SXM5: 132 SMs (H100 Tensor Core GPU Architecture whitepaper)


@functools.lru_cache(maxsize=64)
def _parse_cached(ptx_text: str) -> Module:
    return parse_ptx(ptx_text)


def launch(
    ptx_text: str,
    kernel_name: str,
    grid: int | tuple[int, ...],
    block: int | tuple[int, ...],
    args: list | tuple,
    shared_bytes: int = 0,
    checks: bool | set[str] = True,
    num_sms: int = H100_SMS,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> LaunchStats:
    """Execute ``kernel_name`` from ``ptx_text`` over ``grid`` x ``block`` threads.

    ``shared_bytes`` is the dynamic shared memory size (for ``.extern .shared`` arrays).
    ``checks`` is True (all checkers), False (none) or a subset of ``{"bounds", "align", "race",
    "uninit", "barrier"}``. Raises ``EmulatorCheckError`` (with ``.reports``) when a checker
    fired, ``PTXSyntaxError``/``PTXUnsupportedError`` for PTX it cannot run, ``LaunchError`` for
    bad arguments; output arrays are updated in place either way.
    """
    module = _parse_cached(ptx_text)
    kernel = module.kernels.get(kernel_name)
    if kernel is None or not kernel.is_entry:
        raise LaunchError(
            f"no kernel '{kernel_name}' in the PTX (entries: "
            f"{sorted(k for k, v in module.kernels.items() if v.is_entry)})"
        )
    grid3, block3 = _dim3(grid, "grid"), _dim3(block, "block")
    _check_block(kernel, block3)
    if len(args) != len(kernel.params):
        raise LaunchError(f"{kernel_name} takes {len(kernel.params)} arguments, got {len(args)}")
    params, offsets, arrays = _marshal(kernel, args)
    machine = Machine(
        module,
        kernel,
        ThreadLayout(grid3, block3),
        params,
        offsets,
        [(name, array.nbytes) for name, array in arrays],
        shared_bytes,
        normalize_checks(checks),
        num_sms,
        max_steps,
    )
    for index, (_, array) in enumerate(arrays):
        machine.memory.buffer_bytes(index)[:] = array.reshape(-1).view(np.uint8)
    try:
        return machine.run()
    finally:
        for index, (_, array) in enumerate(arrays):
            if array.flags.writeable:
                array.reshape(-1).view(np.uint8)[:] = machine.memory.buffer_bytes(index)


def _dim3(value: int | tuple[int, ...], what: str) -> Dim3:
    dims = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not 1 <= len(dims) <= 3 or any(int(d) < 1 for d in dims):
        raise LaunchError(f"{what} must be a positive int or 1-3 positive ints, got {value!r}")
    padded = tuple(int(d) for d in dims) + (1,) * (3 - len(dims))
    return padded  # type: ignore[return-value]


def _check_block(kernel: Kernel, block: Dim3) -> None:
    threads = block[0] * block[1] * block[2]
    if threads > 1024:
        raise LaunchError(f"block {block} has {threads} threads; the limit is 1024")
    required = kernel.directives.get("reqntid")
    if required and tuple(required) + (1,) * (3 - len(required)) != block:
        raise LaunchError(f"{kernel.name} requires .reqntid {required}, launched with {block}")
    maximum = kernel.directives.get("maxntid")
    if maximum and threads > int(np.prod(maximum)):
        raise LaunchError(f"{kernel.name} allows at most .maxntid {maximum}, launched with {block}")


def _marshal(kernel: Kernel, args) -> tuple[bytes, dict[str, int], list[tuple[str, np.ndarray]]]:
    """Parameter bytes, each param's offset in them, and the distinct arrays to map."""
    arrays: list[tuple[str, np.ndarray]] = []
    pointer_params: list[tuple[int, int]] = []  # (offset in blob, index of array)
    indices: dict[int, int] = {}
    blob = bytearray()
    offsets: dict[str, int] = {}
    for param, arg in zip(kernel.params, args, strict=True):
        blob.extend(b"\0" * (-len(blob) % param.align))
        offsets[param.name] = len(blob)
        if isinstance(arg, np.ndarray) and param.size == 8 and param.ptx_type.bits == 64:
            if id(arg) not in indices:
                _check_array(param, arg, [a for _, a in arrays])
                indices[id(arg)] = len(arrays)
                arrays.append((param.name, arg))
            pointer_params.append((len(blob), indices[id(arg)]))
            blob.extend(bytes(8))
        else:
            blob.extend(_scalar_bytes(param, arg))
    starts = layout_buffers([array.nbytes for _, array in arrays])
    for offset, index in pointer_params:
        blob[offset : offset + 8] = np.uint64(starts[index]).tobytes()
    return bytes(blob), offsets, arrays


def _check_array(param: Param, array: np.ndarray, mapped: list[np.ndarray]) -> None:
    if not array.flags.c_contiguous:
        raise LaunchError(f"argument for {param.name} must be a C-contiguous array")
    for other in mapped:
        if np.shares_memory(array, other):
            raise LaunchError(
                f"argument for {param.name} overlaps another argument without "
                "being the same array object"
            )


def _scalar_bytes(param: Param, arg) -> bytes:
    if isinstance(arg, (bytes, bytearray)) or (isinstance(arg, np.ndarray) and param.size > 8):
        data = bytes(arg) if isinstance(arg, (bytes, bytearray)) else arg.tobytes()
        if len(data) != param.size:
            raise LaunchError(f"{param.name} needs {param.size} bytes, got {len(data)}")
        return data
    if isinstance(arg, np.ndarray):
        raise LaunchError(f"{param.name} is a .{param.ptx_type.name} scalar; got an array")
    try:
        if param.ptx_type.is_float:
            return np.array(arg, param.ptx_type.dtype).tobytes()
        value = int(arg)
    except (TypeError, ValueError):
        raise LaunchError(f"{param.name} (.{param.ptx_type.name}) cannot take {arg!r}") from None
    bits = param.ptx_type.bits
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise LaunchError(f"{param.name} (.{param.ptx_type.name}) cannot hold {value}")
    return (value & ((1 << bits) - 1)).to_bytes(param.size, "little")
