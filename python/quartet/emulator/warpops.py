"""Warp-collective instructions: ``shfl.sync``, ``vote.sync``, ``redux.sync``, ``elect.sync``,
``ldmatrix``, ``stmatrix``, ``mma.sync`` (and ``activemask``, which only observes the warp).

The scheduler runs a collective only once every lane of its member mask (the whole warp for the
``.aligned`` matrix instructions) has arrived, and then passes all participating threads at once,
sorted, so ``run`` can read any lane's registers. Matrix fragments follow the layouts of the PTX
ISA sections "Matrix Fragments for mma.m16n8k16 / mma.m16n8k8 with floating point type" and
"Warp-level matrix load instruction: ldmatrix" (groupID = laneid >> 2, threadID_in_group =
laneid % 4).
"""

from __future__ import annotations

import numpy as np

from .layout import lane_bits
from .operands import type_of
from .ops import SIMPLE, WARP, Op, decoder, expect_operands, unsupported
from .parser import Addr, Instruction, PredPair, Vec
from .ptxtypes import TYPES, bf16_to_f32


def _member_mask(instruction: Instruction, machine, operand):
    read = machine.operands.read(instruction, operand, TYPES["b32"])
    return lambda threads: np.broadcast_to(read(threads), (len(threads),))


def _segments(threads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and sizes of each warp's run in a sorted thread array."""
    warps = threads >> 5
    starts = np.flatnonzero(np.r_[True, warps[1:] != warps[:-1]])
    return starts, np.diff(np.r_[starts, len(threads)])


@decoder("activemask")
def _activemask(instruction: Instruction, machine) -> Op:
    """The lanes of the warp executing this instruction together (not a rendezvous)."""
    expect_operands(instruction, 1)
    write = machine.operands.write(instruction, instruction.operands[0], TYPES["b32"])

    def run(idx):
        threads = machine.threads(idx)
        active = np.zeros(machine.nthreads, np.bool_)
        active[threads] = True
        write(idx, lane_bits(active)[threads >> 5])

    return Op(SIMPLE, run)


@decoder("shfl")
def _shfl(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    if "sync" not in parts or parts[-1] != "b32":
        raise unsupported(instruction, "shfl without .sync or not .b32")
    mode = next((p for p in parts if p in ("up", "down", "bfly", "idx")), None)
    if mode is None:
        raise unsupported(instruction, "shfl mode")
    expect_operands(instruction, 5)
    destination, source, lane_operand, clamp_operand, mask_operand = instruction.operands
    predicate_writer = None
    if isinstance(destination, PredPair):
        predicate_writer = machine.operands.write(instruction, destination.second, TYPES["pred"])
        destination = destination.first
    operands = machine.operands
    b32 = TYPES["b32"]
    read_source = operands.read(instruction, source, b32)
    read_lane = operands.read(instruction, lane_operand, b32)
    read_clamp = operands.read(instruction, clamp_operand, b32)
    write = operands.write(instruction, destination, b32)

    def run(threads):
        lane = (threads & 31).astype(np.int64)
        b = np.asarray(read_lane(threads)).astype(np.int64) & 31
        c = np.asarray(read_clamp(threads)).astype(np.int64)
        clamp, segment = c & 31, (c >> 8) & 31
        max_lane = (lane & segment) | (clamp & ~segment)
        min_lane = lane & segment
        if mode == "up":
            j = lane - b
            valid = j >= max_lane
        elif mode == "down":
            j = lane + b
            valid = j <= max_lane
        elif mode == "bfly":
            j = lane ^ b
            valid = j <= max_lane
        else:
            j = min_lane | (b & ~segment)
            valid = j <= max_lane
        j = np.where(valid, j, lane)
        values = np.broadcast_to(read_source(None), (machine.nthreads,))
        write(threads, values[(threads & ~31) | j])
        if predicate_writer is not None:
            predicate_writer(threads, valid)

    return Op(WARP, run, member_mask=_member_mask(instruction, machine, mask_operand))


@decoder("vote")
def _vote(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    if "sync" not in parts:
        raise unsupported(instruction, "vote without .sync")
    mode = next((p for p in parts if p in ("all", "any", "uni", "ballot")), None)
    if mode is None:
        raise unsupported(instruction, "vote mode")
    expect_operands(instruction, 3)
    destination, predicate, mask_operand = instruction.operands
    read = machine.operands.read(instruction, predicate, TYPES["pred"])
    write = machine.operands.write(
        instruction, destination, TYPES["b32"] if mode == "ballot" else TYPES["pred"]
    )

    def run(threads):
        values = np.broadcast_to(read(threads), (len(threads),))
        starts, sizes = _segments(threads)
        if mode == "ballot":
            bits = np.where(values, np.uint64(1) << (threads & 31).astype(np.uint64), 0)
            result = np.add.reduceat(bits.astype(np.uint64), starts).astype(np.uint32)
        else:
            every = np.logical_and.reduceat(values, starts)
            some = np.logical_or.reduceat(values, starts)
            result = {"all": every, "any": some, "uni": every | ~some}[mode]
        write(threads, np.repeat(result, sizes))

    return Op(WARP, run, member_mask=_member_mask(instruction, machine, mask_operand))


_REDUX = {
    "add": np.add,
    "min": np.minimum,
    "max": np.maximum,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
}


@decoder("redux")
def _redux(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    operation = next((p for p in parts if p in _REDUX), None)
    if "sync" not in parts or operation is None:
        raise unsupported(instruction, "redux form")
    ptx_type = type_of(parts[-1], instruction)
    expect_operands(instruction, 3)
    destination, source, mask_operand = instruction.operands
    read = machine.operands.read(instruction, source, ptx_type)
    write = machine.operands.write(instruction, destination, ptx_type)
    reduce = _REDUX[operation]

    def run(threads):
        values = np.broadcast_to(read(threads), (len(threads),))
        starts, sizes = _segments(threads)
        write(threads, np.repeat(reduce.reduceat(values, starts).astype(ptx_type.dtype), sizes))

    return Op(WARP, run, member_mask=_member_mask(instruction, machine, mask_operand))


def _matrix_form(instruction: Instruction, name: str):
    """(count, space, rows, cols) of an ``ldmatrix``/``stmatrix``: lane l holds elements
    (rows[l, k], cols[l, k]), k = 0, 1, of each 8x8 b16 matrix (transposed with ``.trans``)."""
    parts = instruction.opcode
    count = next((int(p[1:]) for p in parts if p in ("x1", "x2", "x4")), None)
    if count is None or "m8n8" not in parts or parts[-1] != "b16":
        raise unsupported(instruction, f"{name} shape")
    space = "shared" if any(p.split("::")[0] == "shared" for p in parts) else "generic"
    lane = np.arange(32)
    along_row = np.broadcast_to((lane >> 2)[:, None], (32, 2))
    across = ((lane % 4) * 2)[:, None] + np.arange(2)
    if "trans" in parts:
        return count, space, across, along_row
    return count, space, along_row, across


def _row_addresses(instruction: Instruction, machine, address):
    """Per launch: (warp count, per-warp row addresses, per-warp threads) of an m8n8 access,
    where lanes 8m..8m+7 give the row addresses of matrix m."""
    if not isinstance(address, Addr):
        raise unsupported(instruction, f"{instruction.opcode[0]} address")
    read_address = machine.operands.address(instruction, address)

    def per_warp(threads):
        warps = len(threads) // 32
        addresses = np.broadcast_to(read_address(threads), (len(threads),)).reshape(warps, 32)
        return warps, addresses, threads.reshape(warps, 32)

    return per_warp


@decoder("ldmatrix")
def _ldmatrix(instruction: Instruction, machine) -> Op:
    """Lanes 8m..8m+7 give the row addresses of matrix m; every lane gets its fragment."""
    count, space, rows, cols = _matrix_form(instruction, "ldmatrix")
    expect_operands(instruction, 2)
    destination, address = instruction.operands
    per_warp = _row_addresses(instruction, machine, address)
    writers = machine.operands.vector_writers(instruction, destination, TYPES["b32"])
    if len(writers) != count:
        raise unsupported(instruction, "ldmatrix destination count")
    memory, pc = machine.memory, machine.decode_pc

    def run(threads):
        warps, addresses, by_warp = per_warp(threads)
        for matrix, write in enumerate(writers):
            row_lanes = slice(8 * matrix, 8 * matrix + 8)
            data = memory.load(
                space, pc, by_warp[:, row_lanes].ravel(), addresses[:, row_lanes].ravel(), 4, 4
            )
            halves = data.view(np.uint16).reshape(warps, 8, 8)
            pairs = halves[:, rows, cols].astype(np.uint32)  # (warps, 32, 2)
            write(threads, (pairs[..., 0] | (pairs[..., 1] << np.uint32(16))).ravel())

    return Op(WARP, run)


@decoder("stmatrix")
def _stmatrix(instruction: Instruction, machine) -> Op:
    """The inverse of ``ldmatrix``: fragments in, rows stored at the lanes' row addresses."""
    count, space, rows, cols = _matrix_form(instruction, "stmatrix")
    expect_operands(instruction, 2)
    address, source = instruction.operands
    per_warp = _row_addresses(instruction, machine, address)
    readers = machine.operands.vector_readers(instruction, source, TYPES["b32"])
    if len(readers) != count:
        raise unsupported(instruction, "stmatrix source count")
    memory, pc = machine.memory, machine.decode_pc

    def run(threads):
        warps, addresses, by_warp = per_warp(threads)
        for matrix, read in enumerate(readers):
            packed = np.broadcast_to(read(threads), (len(threads),)).astype(np.uint32)
            halves = np.zeros((warps, 8, 8), np.uint16)
            halves[:, rows, cols] = packed.view(np.uint16).reshape(warps, 32, 2)
            row_lanes = slice(8 * matrix, 8 * matrix + 8)
            memory.store(
                space,
                pc,
                by_warp[:, row_lanes].ravel(),
                addresses[:, row_lanes].ravel(),
                halves.reshape(warps * 8, 8).view(np.uint32),
                4,
            )

    return Op(WARP, run)


@decoder("elect")
def _elect(instruction: Instruction, machine) -> Op:
    """``elect.sync d|p, membermask``: the lowest member lane is the leader (d = its lane id,
    p true only there)."""
    expect_operands(instruction, 2)
    destination, mask_operand = instruction.operands
    if "sync" not in instruction.opcode:
        raise unsupported(instruction, "elect without .sync")
    predicate_writer = None
    if isinstance(destination, PredPair):
        predicate_writer = machine.operands.write(instruction, destination.second, TYPES["pred"])
        destination = destination.first
    write = machine.operands.write(instruction, destination, TYPES["b32"])
    member_mask = _member_mask(instruction, machine, mask_operand)

    def run(threads):
        starts, sizes = _segments(threads)
        leader = np.repeat(threads[starts] & 31, sizes).astype(np.uint32)
        write(threads, leader)
        if predicate_writer is not None:
            predicate_writer(threads, (threads & 31) == leader)

    return Op(WARP, run, member_mask=member_mask)


def _fragment_maps(k: int):
    """(row, col) of each fragment element for A (16xk), B (kx8) and C/D (16x8), per lane."""
    lane = np.arange(32)
    group, thread = lane >> 2, lane % 4
    a_count = k // 2  # halves per lane
    i = np.arange(a_count)
    a_rows = group[:, None] + 8 * ((i >> 1) & 1)
    a_cols = thread[:, None] * 2 + (i & 1) + 8 * (i >> 2)
    j = np.arange(k // 4)
    b_rows = thread[:, None] * 2 + (j & 1) + 8 * (j >> 1)
    b_cols = np.broadcast_to(group[:, None], b_rows.shape)
    m = np.arange(4)
    c_rows = group[:, None] + 8 * (m >> 1)
    c_cols = thread[:, None] * 2 + (m & 1)
    return (a_rows, a_cols), (b_rows, b_cols), (c_rows, c_cols)


@decoder("mma")
def _mma(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    shape = next((p for p in parts if p.startswith("m16n8k")), None)
    if shape not in ("m16n8k16", "m16n8k8") or parts[-6:-4] != ("row", "col"):
        raise unsupported(instruction, "mma shape or layout")
    d_type, a_type, b_type, c_type = parts[-4:]
    if a_type != b_type or a_type not in ("f16", "bf16") or {d_type, c_type} - {"f16", "f32"}:
        raise unsupported(instruction, "mma types")
    if a_type == "bf16" and (d_type, c_type) != ("f32", "f32"):
        raise unsupported(instruction, "bf16 mma without f32 accumulators")
    k = int(shape[len("m16n8k") :])
    expect_operands(instruction, 4)
    operands = machine.operands
    b32 = TYPES["b32"]
    accumulator = TYPES["f32"] if c_type == "f32" else b32
    d_writers = operands.vector_writers(
        instruction, instruction.operands[0], TYPES["f32"] if d_type == "f32" else b32
    )
    a_readers, b_readers = (
        operands.vector_readers(instruction, o, b32) for o in instruction.operands[1:3]
    )
    c_readers = operands.vector_readers(instruction, instruction.operands[3], accumulator)
    expected = (k // 4, k // 8, 4 if c_type == "f32" else 2, 4 if d_type == "f32" else 2)
    counts = (len(a_readers), len(b_readers), len(c_readers), len(d_writers))
    if counts != expected or not isinstance(instruction.operands[0], Vec):
        raise unsupported(instruction, f"mma fragment register counts {counts}")
    (a_rows, a_cols), (b_rows, b_cols), (c_rows, c_cols) = _fragment_maps(k)

    def halves(readers, threads, warps):
        packed = np.stack([np.broadcast_to(r(threads), (len(threads),)) for r in readers], -1)
        bits = np.ascontiguousarray(packed, np.uint32).view(np.uint16).reshape(warps, 32, -1)
        if a_type == "bf16":
            return bf16_to_f32(bits).astype(np.float64)
        return bits.view(np.float16).astype(np.float64)

    def accumulators(threads, warps):
        if c_type == "f32":
            values = np.stack([r(threads) for r in c_readers], -1)
            return values.astype(np.float64).reshape(warps, 32, 4)
        packed = np.stack([r(threads) for r in c_readers], -1).astype(np.uint32)
        return packed.view(np.float16).astype(np.float64).reshape(warps, 32, 4)

    def run(threads):
        warps = len(threads) // 32
        a = np.zeros((warps, 16, k))
        a[:, a_rows, a_cols] = halves(a_readers, threads, warps)
        b = np.zeros((warps, k, 8))
        b[:, b_rows, b_cols] = halves(b_readers, threads, warps)
        c = np.zeros((warps, 16, 8))
        c[:, c_rows, c_cols] = accumulators(threads, warps)
        d = (a @ b + c)[:, c_rows, c_cols].reshape(len(threads), 4)
        if d_type == "f32":
            for position, write in enumerate(d_writers):
                write(threads, d[:, position].astype(np.float32))
            return
        packed = d.astype(np.float16).view(np.uint32)  # (threads, 2): element pairs
        for position, write in enumerate(d_writers):
            write(threads, packed[:, position])

    return Op(WARP, run)
