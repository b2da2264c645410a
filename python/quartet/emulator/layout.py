"""Where things are in a launch: threads in the grid array, variables in their state spaces, and
the special registers derived from both.

Thread ``t`` of the grid array belongs to block ``t // stride`` where ``stride`` is the block size
rounded up to whole warps; the padding lanes of a partial last warp exist in the arrays but never
run, so warp ``w`` is always threads ``32w .. 32w+31``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .parser import Variable

WARP_SIZE = 32
Dim3 = tuple[int, int, int]


@dataclass
class ThreadLayout:
    grid: Dim3
    block: Dim3

    def __post_init__(self) -> None:
        self.ncta = self.grid[0] * self.grid[1] * self.grid[2]
        self.threads_per_cta = self.block[0] * self.block[1] * self.block[2]
        self.stride = -(-self.threads_per_cta // WARP_SIZE) * WARP_SIZE
        self.nthreads = self.ncta * self.stride
        self.nwarps = self.nthreads // WARP_SIZE
        self.threads = np.arange(self.nthreads, dtype=np.int64)
        self.cta = self.threads // self.stride
        self.linear = self.threads % self.stride  # linear thread index within its block
        self.exists = self.linear < self.threads_per_cta

    def coords(self, thread: int) -> tuple[Dim3, Dim3]:
        """(thread x, y, z) and (block x, y, z) of a grid-array thread index."""
        linear, cta = int(thread) % self.stride, int(thread) // self.stride
        bx, by, _ = self.block
        gx, gy, _ = self.grid
        return (
            (linear % bx, linear // bx % by, linear // (bx * by)),
            (cta % gx, cta // gx % gy, cta // (gx * gy)),
        )


def place_variables(
    variables: list[Variable], shared_bytes: int
) -> tuple[dict[str, int], int, int]:
    """Offsets of ``.shared`` and ``.local`` variables in their spaces, and the two space sizes.

    Static variables come in declaration order, each at its alignment; ``.extern .shared``
    arrays all start after them (16-byte aligned at least) and span ``shared_bytes``.
    """
    symbols: dict[str, int] = {}
    ends = {"shared": 0, "local": 0}
    extern_shared = []
    for variable in variables:
        if variable.space not in ends:  # global/const live in the heap; .param only in calls
            continue
        if variable.size is None:
            extern_shared.append(variable)
            continue
        start = _round_up(ends[variable.space], variable.align)
        symbols[variable.name] = start
        ends[variable.space] = start + variable.size
    shared_size = ends["shared"] + shared_bytes
    if extern_shared:
        start = _round_up(ends["shared"], max(16, *(v.align for v in extern_shared)))
        symbols.update((variable.name, start) for variable in extern_shared)
        shared_size = start + shared_bytes
    return symbols, shared_size, ends["local"]


def special_registers(
    layout: ThreadLayout,
    num_sms: int,
    shared_sizes: tuple[int, int],
    steps: Callable[[], int],
) -> dict[str, Callable]:
    """Readers for ``%tid``, ``%ctaid``, ``%laneid``, ... ; ``steps`` feeds ``%clock``."""
    bx, by, bz = layout.block
    gx, gy, gz = layout.grid
    linear, cta = layout.linear, layout.cta

    def per_thread(values: np.ndarray):
        values = values.astype(np.uint32)
        return lambda idx: values if idx is None else values[idx]

    def constant(value: int):
        scalar = np.uint32(value)
        return lambda idx: scalar

    lane = (linear % WARP_SIZE).astype(np.uint64)
    one, low32 = np.uint64(1), np.uint64(0xFFFFFFFF)
    return {
        "%tid.x": per_thread(linear % bx),
        "%tid.y": per_thread(linear // bx % by),
        "%tid.z": per_thread(linear // (bx * by)),
        "%ntid.x": constant(bx),
        "%ntid.y": constant(by),
        "%ntid.z": constant(bz),
        "%ctaid.x": per_thread(cta % gx),
        "%ctaid.y": per_thread(cta // gx % gy),
        "%ctaid.z": per_thread(cta // (gx * gy)),
        "%nctaid.x": constant(gx),
        "%nctaid.y": constant(gy),
        "%nctaid.z": constant(gz),
        "%laneid": per_thread(linear % WARP_SIZE),
        "%warpid": per_thread(linear // WARP_SIZE),
        "%nwarpid": constant(layout.stride // WARP_SIZE),
        "%smid": per_thread(cta % num_sms),
        "%nsmid": constant(num_sms),
        "%gridid": constant(0),
        "%dynamic_smem_size": constant(shared_sizes[0]),
        "%total_smem_size": constant(shared_sizes[1]),
        "%lanemask_eq": per_thread(one << lane),
        "%lanemask_lt": per_thread((one << lane) - one),
        "%lanemask_le": per_thread((one << (lane + one)) - one),
        "%lanemask_gt": per_thread(~((one << (lane + one)) - one) & low32),
        "%lanemask_ge": per_thread(~((one << lane) - one) & low32),
        "%clock": lambda idx: np.uint32(steps() & 0xFFFFFFFF),
        "%clock64": lambda idx: np.uint64(steps()),
    }


def lane_bits(mask: np.ndarray) -> np.ndarray:
    """Per warp, a 32-bit mask of the lanes where ``mask`` (one bool per thread) holds."""
    packed = np.packbits(mask.reshape(-1, WARP_SIZE), axis=1, bitorder="little")
    return packed.view(np.uint32).ravel()


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
