"""Memory instructions: ``ld``, ``st``, ``atom``, ``red``, ``cvta``, ``isspacep``, ``cp.async``.

The emulator's memory is sequentially consistent: every store is visible to every later load.
Memory-ordering qualifiers (``.volatile``, ``.relaxed``, ``.acquire``, ``.release``, scopes) are
read into an ``Ordering`` (``ordering.py``) for the cross-CTA race checker; cache operators and
hints have no effect. Loads inside a poll loop (``polling.py``) are recorded as what their thread
waits on, and do not count as global traffic. Atomics on one address
are applied one thread at a time in thread order (vectorized when the addresses are distinct),
so their returned old values are those of a valid serialization. ``cp.async`` copies at issue
time; its commit/wait instructions therefore have nothing to wait for.
"""

from __future__ import annotations

import numpy as np

from .memory import LOCAL_WINDOW, SHARED_WINDOW
from .operands import type_of
from .ops import SIMPLE, Op, decoder, expect_operands, unsupported
from .ordering import access_ordering
from .parser import Addr, Instruction, Reg, Sym, Vec
from .ptxtypes import TYPES, PTXType

_SPACES = {"global", "shared", "local", "param", "const"}
_VECTORS = {"v2": 2, "v4": 4, "v8": 8}


def _space_and_vector(instruction: Instruction) -> tuple[str, int]:
    space, count = "generic", 1
    for part in instruction.opcode[1:-1]:
        name = part.split("::")[0]
        if name in _SPACES:
            if part not in (name, f"{name}::cta"):
                raise unsupported(instruction, f"state space .{part}")
            space = name
        elif part in _VECTORS:
            count = _VECTORS[part]
    return space, count


def _broadcast(values, count: int) -> np.ndarray:
    values = np.asarray(values)
    return np.broadcast_to(values, (count,)) if values.ndim == 0 else values


@decoder("ld")
def _load(instruction: Instruction, machine) -> Op:
    ptx_type = type_of(instruction.opcode[-1], instruction)
    space, count = _space_and_vector(instruction)
    expect_operands(instruction, 2)
    destination, address = instruction.operands
    writers = machine.operands.vector_writers(instruction, destination, ptx_type)
    if len(writers) != count:
        raise unsupported(instruction, "vector width and destination count differ")
    if space == "param":
        return _load_param(instruction, machine, ptx_type, address, writers)
    if not isinstance(address, Addr):
        raise unsupported(instruction, "load from a non-address operand")
    read_address = machine.operands.address(instruction, address)
    memory, pc = machine.memory, machine.decode_pc
    width = ptx_type.nbytes
    dtype = ptx_type.dtype
    used = _used_spans(destination, machine.mentions, width)
    order = access_ordering(instruction.opcode)
    polls = machine.polls if machine.polls is not None and machine.polls.polling(pc) else None

    def run(idx):
        threads = machine.threads(idx)
        addresses = _broadcast(read_address(idx), len(threads))
        raw = memory.load(space, pc, threads, addresses, width, count, used, order, polls is None)
        if polls is not None:
            polls.record(pc, threads, addresses, width * count)
        for position, write in enumerate(writers):
            write(idx, raw[:, position].view(dtype))

    return Op(SIMPLE, run)


def _used_spans(destination, mentions, width: int) -> list[tuple[int, int]] | None:
    """The (start, length) byte runs of a load whose lanes the kernel uses, None for all.

    A lane loaded into the ``_`` sink, or into a register no other instruction names, is never
    used. LLVM's NVPTX load-store vectorizer makes such lanes: it widens a chain of loads whose
    start it knows to be aligned to a whole aligned vector (3 floats become one ``ld.v4``, the
    fourth register unread), so the extra lane reads bytes the kernel may never have written.
    Reading them cannot change a result, so the race and uninitialized-read checkers skip them;
    bounds and alignment are still checked on the whole access.
    """
    items = destination.items if isinstance(destination, Vec) else (destination,)
    lanes = [
        item is not None and (not isinstance(item, Reg) or mentions[item.name] > 1)
        for item in items
    ]
    if all(lanes):
        return None
    spans, start = [], None
    for lane, live in enumerate([*lanes, False]):
        if live and start is None:
            start = lane
        elif not live and start is not None:
            spans.append((start * width, (lane - start) * width))
            start = None
    return spans


def _load_param(instruction: Instruction, machine, ptx_type: PTXType, address, writers) -> Op:
    """Kernel parameters are launch constants: the load becomes a broadcast of known values."""
    if not isinstance(address, Addr) or not isinstance(address.base, Sym):
        raise unsupported(instruction, "ld.param from a computed address")
    if address.base.name in machine.param_storage:
        read = _call_param(instruction, machine, address, ptx_type, len(writers))

        def run_call_param(idx):
            values = read(idx)
            for position, write in enumerate(writers):
                write(idx, values[:, position])

        return Op(SIMPLE, run_call_param)
    width = ptx_type.nbytes
    data = machine.param_value(instruction, address.base.name, address.offset, width * len(writers))
    if len(data) != width * len(writers):
        raise unsupported(instruction, "ld.param past the end of the parameter")
    values = np.frombuffer(data, ptx_type.dtype)

    def run(idx):
        for value, write in zip(values, writers, strict=True):
            write(idx, value)

    return Op(SIMPLE, run)


def _call_param(instruction: Instruction, machine, address, ptx_type: PTXType, count: int):
    """The per-thread bytes of a call parameter at ``address`` (a reader of (n, count) values)."""
    storage = machine.param_storage[address.base.name]
    start, end = address.offset, address.offset + ptx_type.nbytes * count
    if start < 0 or end > storage.shape[1]:
        raise unsupported(instruction, "access past the end of the parameter")
    dtype = ptx_type.dtype

    def read(idx):
        rows = storage[:, start:end] if idx is None else storage[idx, start:end]
        return np.ascontiguousarray(rows).view(dtype)

    read.storage, read.start, read.end = storage, start, end
    return read


def _store_param(instruction: Instruction, machine, ptx_type: PTXType, address, source, count):
    """``st.param`` to a call's argument or a function's return parameter (per-thread bytes)."""
    if not isinstance(address, Addr) or not isinstance(address.base, Sym):
        raise unsupported(instruction, "st.param to a computed address")
    if address.base.name not in machine.param_storage:
        raise unsupported(instruction, f"st.param to '{address.base.name}'")
    target = _call_param(instruction, machine, address, ptx_type, count)
    storage, start, end = target.storage, target.start, target.end
    readers = machine.operands.vector_readers(instruction, source, ptx_type)
    if len(readers) != count:
        raise unsupported(instruction, "vector width and source count differ")
    dtype = ptx_type.dtype

    def run(idx):
        n = len(machine.threads(idx))
        values = np.empty((n, count), dtype)
        for position, read in enumerate(readers):
            values[:, position] = _broadcast(np.asarray(read(idx), dtype), n)
        data = values.view(np.uint8).reshape(n, end - start)
        if idx is None:
            storage[:, start:end] = data
        else:
            storage[idx, start:end] = data

    return Op(SIMPLE, run)


@decoder("st")
def _store(instruction: Instruction, machine) -> Op:
    ptx_type = type_of(instruction.opcode[-1], instruction)
    space, count = _space_and_vector(instruction)
    expect_operands(instruction, 2)
    address, source = instruction.operands
    if space == "param":
        return _store_param(instruction, machine, ptx_type, address, source, count)
    if not isinstance(address, Addr):
        raise unsupported(instruction, "store to a non-address operand")
    readers = machine.operands.vector_readers(instruction, source, ptx_type)
    if len(readers) != count:
        raise unsupported(instruction, "vector width and source count differ")
    read_address = machine.operands.address(instruction, address)
    memory, pc = machine.memory, machine.decode_pc
    width = ptx_type.nbytes
    raw = np.dtype(f"uint{width * 8}")
    dtype = ptx_type.dtype
    order = access_ordering(instruction.opcode)

    def run(idx):
        threads = machine.threads(idx)
        n = len(threads)
        values = np.empty((n, count), raw)
        for position, read in enumerate(readers):
            values[:, position] = _broadcast(np.asarray(read(idx), dtype), n).view(raw)
        memory.store(space, pc, threads, _broadcast(read_address(idx), n), values, width, order)

    return Op(SIMPLE, run)


_ATOMIC_OPS = {
    "add": lambda old, b, c: old + b,
    "min": lambda old, b, c: np.minimum(old, b),
    "max": lambda old, b, c: np.maximum(old, b),
    "exch": lambda old, b, c: b,
    "cas": lambda old, b, c: np.where(old == b, c, old),
    "and": lambda old, b, c: old & b,
    "or": lambda old, b, c: old | b,
    "xor": lambda old, b, c: old ^ b,
    "inc": lambda old, b, c: np.where(old >= b, 0, old + 1),
    "dec": lambda old, b, c: np.where((old == 0) | (old > b), b, old - 1),
}


@decoder("atom", "red")
def _atomic(instruction: Instruction, machine) -> Op:
    ptx_type = type_of(instruction.opcode[-1], instruction)
    names = [part for part in instruction.opcode[1:-1] if part in _ATOMIC_OPS]
    if len(names) != 1 or ptx_type.kind == "bf" or ptx_type.name.endswith("x2"):
        raise unsupported(instruction, "atomic operation or type")
    operation = _ATOMIC_OPS[names[0]]
    space, _ = _space_and_vector(instruction)
    has_result = instruction.opcode[0] == "atom"
    operands = list(instruction.operands)
    write = machine.operands.write(instruction, operands.pop(0), ptx_type) if has_result else None
    if not operands or not isinstance(operands[0], Addr):
        raise unsupported(instruction, "atomic operands")
    read_address = machine.operands.address(instruction, operands[0])
    values = [machine.operands.read(instruction, o, ptx_type) for o in operands[1:]]
    if len(values) != (2 if names[0] == "cas" else 1):
        raise unsupported(instruction, "atomic operand count")
    memory, pc = machine.memory, machine.decode_pc
    dtype = ptx_type.dtype
    order = access_ordering(instruction.opcode)

    def run(idx):
        threads = machine.threads(idx)
        n = len(threads)
        b = _broadcast(np.asarray(values[0](idx), dtype), n)
        c = _broadcast(np.asarray(values[1](idx), dtype), n) if len(values) == 2 else b
        old = np.zeros(n, dtype)
        parts = memory.element_indices(
            space, pc, threads, _broadcast(read_address(idx), n), ptx_type.nbytes, order
        )
        for _, view, elements, positions in parts:
            lanes = slice(None) if positions is None else positions
            old[lanes] = _apply_atomic(view.view(dtype), elements, operation, b[lanes], c[lanes])
        if write is not None:
            write(idx, old)

    return Op(SIMPLE, run)


def _apply_atomic(memory: np.ndarray, elements: np.ndarray, operation, b, c) -> np.ndarray:
    """Apply in thread order; vectorized when no two threads hit the same element."""
    if len(np.unique(elements)) == len(elements):
        old = memory[elements]
        memory[elements] = operation(old, b, c)
        return old
    old = np.empty(len(elements), memory.dtype)
    for lane, element in enumerate(elements):
        old[lane] = memory[element]
        memory[element] = operation(memory[element], b[lane], c[lane])
    return old


_WINDOWS = {"shared": SHARED_WINDOW, "local": LOCAL_WINDOW, "global": 0, "const": 0, "param": 0}


@decoder("cvta")
def _cvta(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    to_space = parts[1] == "to"
    space = parts[2 if to_space else 1].split("::")[0]
    if space not in _WINDOWS:
        raise unsupported(instruction, f"cvta for .{space}")
    ptx_type = type_of(parts[-1], instruction)
    expect_operands(instruction, 2)
    read = machine.operands.read(instruction, instruction.operands[1], ptx_type)
    write = machine.operands.write(instruction, instruction.operands[0], ptx_type)
    window = ptx_type.dtype.type(_WINDOWS[space] & ((1 << ptx_type.bits) - 1))
    if window == 0:
        return Op(SIMPLE, lambda idx: write(idx, read(idx)))
    if to_space:
        return Op(SIMPLE, lambda idx: write(idx, read(idx) - window))
    return Op(SIMPLE, lambda idx: write(idx, read(idx) + window))


@decoder("isspacep")
def _isspacep(instruction: Instruction, machine) -> Op:
    space = instruction.opcode[1]
    expect_operands(instruction, 2)
    read = machine.operands.read(instruction, instruction.operands[1], TYPES["u64"])
    write = machine.operands.write(instruction, instruction.operands[0], TYPES["pred"])

    def window_test(address):
        address = np.asarray(address)
        shared = (address >= SHARED_WINDOW) & (address < SHARED_WINDOW + (1 << 40))
        local = (address >= LOCAL_WINDOW) & (address < LOCAL_WINDOW + (1 << 40))
        return {"shared": shared, "local": local}.get(space, ~(shared | local))

    return Op(SIMPLE, lambda idx: write(idx, window_test(read(idx))))


@decoder("cp")
def _cp_async(instruction: Instruction, machine) -> Op:
    parts = instruction.opcode
    if parts[:2] != ("cp", "async"):
        raise unsupported(instruction, "instruction")
    if len(parts) > 2 and parts[2] in ("commit_group", "wait_group", "wait_all"):
        return Op(SIMPLE, lambda idx: None)
    if "shared" not in [p.split("::")[0] for p in parts] or "global" not in parts:
        raise unsupported(instruction, "cp.async form")
    operands = instruction.operands
    if len(operands) not in (3, 4) or not all(isinstance(o, Addr) for o in operands[:2]):
        raise unsupported(instruction, "cp.async operands")
    destination = machine.operands.address(instruction, operands[0])
    source = machine.operands.address(instruction, operands[1])
    size_type = TYPES["u32"]
    copy_size = int(machine.operands.read(instruction, operands[2], size_type)(None))
    source_size = (
        machine.operands.read(instruction, operands[3], size_type) if len(operands) == 4 else None
    )
    memory, pc = machine.memory, machine.decode_pc
    width = min(copy_size, 4)
    count = copy_size // width

    def run(idx):
        threads = machine.threads(idx)
        n = len(threads)
        sources = _broadcast(source(idx), n)
        data = np.zeros((n, count), np.dtype(f"uint{width * 8}"))
        present = (
            np.full(n, copy_size)
            if source_size is None
            else _broadcast(source_size(idx), n).astype(np.int64)
        )
        full = present >= copy_size
        if full.any():
            lanes = np.flatnonzero(full)
            data[lanes] = memory.load("global", pc, threads[lanes], sources[lanes], width, count)
        partial = np.flatnonzero((present > 0) & ~full)
        if len(partial):
            as_bytes = data.view(np.uint8).reshape(n, copy_size)
            for byte in range(copy_size):
                lanes = partial[present[partial] > byte]
                if len(lanes):
                    as_bytes[lanes, byte] = memory.load(
                        "global", pc, threads[lanes], sources[lanes] + byte, 1
                    )[:, 0]
        memory.store("shared", pc, threads, _broadcast(destination(idx), n), data, width)

    return Op(SIMPLE, run)
