"""``launch``: run one PTX kernel on numpy arrays, as a CUDA launch would on a device.

Arguments follow the kernel's ``.param`` list: a numpy array for each pointer parameter (a
``.u64``/``.b64`` param; the array's bytes become one global buffer and are written back in
place), a Python or numpy scalar for each scalar parameter, and ``bytes`` or an array of exactly
the right size for ``.align N .b8 name[size]`` parameters. Passing the same array twice maps it
once, and so are arrays whose memory overlaps (views of one buffer): aliasing pointers see the
same device memory, as on a GPU.

``written`` carries the state of the ``uninit-global`` checker across the launches of one
program: per pointer argument, which of its bytes hold data that something wrote (see
``global_writes.py``). The default is that every argument byte holds data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .checkers import normalize_checks
from .errors import LaunchError
from .layout import ThreadLayout
from .machine import LaunchStats, Machine
from .memory import layout_buffers
from .parser import Kernel, Module, Param, parse_ptx

Dim3 = tuple[int, int, int]
DEFAULT_MAX_STEPS = 5_000_000  # a hung spin loop stops within minutes
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
    written: list | tuple | None = None,
    max_resident_ctas: int | None = None,
) -> LaunchStats:
    """Execute ``kernel_name`` from ``ptx_text`` over ``grid`` x ``block`` threads.

    ``shared_bytes`` is the dynamic shared memory size (for ``.extern .shared`` arrays).
    ``checks`` is True (all checkers), False (none) or a subset of ``{"bounds", "align", "race",
    "race-global", "uninit", "uninit-global", "barrier"}``. ``max_resident_ctas``: how many
    blocks of this kernel a GPU holds at once, for a launch whose blocks must all be resident
    (a persistent or cooperative kernel); a larger grid is a ``LaunchError``. ``written``, one
    entry per argument, gives for a pointer argument a C-contiguous bool array of one element
    per byte of it, True where the byte holds data an earlier kernel or host copy wrote (None:
    every byte does; scalars take None); ``uninit-global`` reports loads and atomics of the
    other bytes and the arrays are updated in place with this launch's stores and atomics.
    Raises ``EmulatorCheckError`` (with ``.reports``) when a checker fired,
    ``PTXSyntaxError``/``PTXUnsupportedError`` for PTX it cannot run, ``LaunchError`` for bad
    arguments; output arrays are updated in place either way.
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
    _check_residency(grid3, max_resident_ctas)
    if len(args) != len(kernel.params):
        raise LaunchError(f"{kernel_name} takes {len(kernel.params)} arguments, got {len(args)}")
    masks = _written_masks(kernel, args, written)
    pointers = [
        (param, arg, mask)
        for param, arg, mask in zip(kernel.params, args, masks, strict=True)
        if _is_pointer(param, arg)
    ]
    regions = _regions(pointers)
    params, offsets = _marshal(kernel, args, regions)
    checks = normalize_checks(checks)
    machine = Machine(
        module,
        kernel,
        ThreadLayout(grid3, block3),
        params,
        offsets,
        [(region.name, region.nbytes) for region in regions],
        shared_bytes,
        checks,
        num_sms,
        max_steps,
    )
    memory = machine.memory
    # Track written bytes only where some are not: a launch on written buffers pays nothing.
    track = "uninit-global" in checks and any(m is not None and not m.all() for m in masks)
    for index, region in enumerate(regions):
        device_bytes = memory.buffer_bytes(index)
        for array, mask in zip(region.arrays, region.masks, strict=True):
            device_bytes[region.span(array)] = _host_bytes(array)
            if track and mask is not None:
                memory.written_bytes(index)[region.span(array)] = _host_bytes(mask)
    try:
        return machine.run()
    finally:
        for index, region in enumerate(regions):
            device_bytes = memory.buffer_bytes(index)
            for array, mask in zip(region.arrays, region.masks, strict=True):
                if array.flags.writeable:
                    _host_bytes(array)[:] = device_bytes[region.span(array)]
                if mask is not None and memory.global_writes is not None:
                    _host_bytes(mask)[:] = memory.written_bytes(index)[region.span(array)]


def _dim3(value: int | tuple[int, ...], what: str) -> Dim3:
    dims = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not 1 <= len(dims) <= 3 or any(int(d) < 1 for d in dims):
        raise LaunchError(f"{what} must be a positive int or 1-3 positive ints, got {value!r}")
    padded = tuple(int(d) for d in dims) + (1,) * (3 - len(dims))
    return padded  # type: ignore[return-value]


def _check_residency(grid: Dim3, max_resident_ctas: int | None) -> None:
    """A grid whose blocks must all be resident at once may not exceed what the GPU holds."""
    blocks = grid[0] * grid[1] * grid[2]
    if max_resident_ctas is not None and blocks > max_resident_ctas:
        raise LaunchError(
            f"grid of {blocks} blocks exceeds the {max_resident_ctas} blocks that can be "
            f"resident at once: its blocks wait for each other, the extra ones would never run"
        )


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


@dataclass
class _Region:
    """Host memory mapped as one device buffer: the span covered by arrays that overlap."""

    name: str
    low: int  # host addresses
    high: int
    arrays: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray | None] = field(default_factory=list)  # each array's ``written``

    @property
    def nbytes(self) -> int:
        return self.high - self.low

    def span(self, array: np.ndarray) -> slice:
        start = _host_address(array) - self.low
        return slice(start, start + array.nbytes)


def _is_pointer(param: Param, arg) -> bool:
    return isinstance(arg, np.ndarray) and param.size == 8 and param.ptx_type.bits == 64


def _host_address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _host_bytes(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1).view(np.uint8)


def _written_masks(kernel: Kernel, args, written) -> list[np.ndarray | None]:
    """``written`` checked against the arguments (all None when not given)."""
    if written is None:
        return [None] * len(args)
    if len(written) != len(args):
        raise LaunchError(f"written has {len(written)} entries for {len(args)} arguments")
    for param, arg, mask in zip(kernel.params, args, written, strict=True):
        if mask is None:
            continue
        if not _is_pointer(param, arg):
            raise LaunchError(f"written for {param.name} must be None: it is not a pointer")
        if not (
            isinstance(mask, np.ndarray)
            and mask.dtype == np.bool_
            and mask.size == arg.nbytes
            and mask.flags.c_contiguous
            and mask.flags.writeable
        ):
            raise LaunchError(
                f"written for {param.name} must be a writable C-contiguous bool array of "
                f"{arg.nbytes} elements (one per byte)"
            )
    return list(written)


def _regions(pointers: list[tuple[Param, np.ndarray, np.ndarray | None]]) -> list[_Region]:
    """Group pointer arguments whose host memory overlaps (the same array, or views of one
    buffer), so that aliasing pointers see the same device memory (their ``written`` masks
    should be views of one mask too: the last one in address order is the one read)."""
    for param, array, _ in pointers:
        if not array.flags.c_contiguous:
            raise LaunchError(f"argument for {param.name} must be a C-contiguous array")
    regions: list[_Region] = []
    ordered = sorted(pointers, key=lambda pointer: _host_address(pointer[1]))
    for param, array, mask in ordered:
        low = _host_address(array)
        high = low + array.nbytes
        if regions and array.nbytes and low < regions[-1].high:
            regions[-1].high = max(regions[-1].high, high)
        else:
            regions.append(_Region(param.name, low, high))
        regions[-1].arrays.append(array)
        regions[-1].masks.append(mask)
    return regions


def _marshal(kernel: Kernel, args, regions: list[_Region]) -> tuple[bytes, dict[str, int]]:
    """Parameter bytes (pointers resolved to device addresses) and each param's offset."""
    starts = layout_buffers([region.nbytes for region in regions])
    blob = bytearray()
    offsets: dict[str, int] = {}
    for param, arg in zip(kernel.params, args, strict=True):
        blob.extend(b"\0" * (-len(blob) % param.align))
        offsets[param.name] = len(blob)
        if _is_pointer(param, arg):
            index = next(
                i for i, region in enumerate(regions) if any(a is arg for a in region.arrays)
            )
            address = starts[index] + _host_address(arg) - regions[index].low
            blob.extend(np.uint64(address).tobytes())
        else:
            blob.extend(_scalar_bytes(param, arg))
    return bytes(blob), offsets


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
