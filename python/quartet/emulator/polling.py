"""Parked pollers: threads spinning on global memory that nobody changes wait without running.

A *poll loop* is a backward branch whose body (its target up to it) only loads and computes: no
store, atomic, barrier, call, warp collective or nested loop, no shared or local load, and at
least one strong global load (``ld.volatile``, ``.relaxed``, ``.acquire``: a weak load in a spin
loop may be hoisted out of it, so real polls are strong). Its loads are *polling loads*: what a
thread reads there is recorded as what it waits on, and they do not count as global traffic.

A thread comes round the back-edge of a poll loop. If its previous backward branch was the same
back-edge, every register the body writes holds what it held then, the iteration read global
memory only and those bytes still hold what it read, the thread is at a fixed point: the next
iteration would do exactly the same. It is *parked*, no longer scheduled, until a store or
atomic writes a byte it read, and then runs the loop again. (A loop counting its iterations,
reading ``%clock`` or backing off without bound never parks: it spins as before.) Emulation
time so stays proportional to the real work; when only parked threads and threads waiting for
them at barriers are left, the launch is deadlocked and each blocked CTA's wait is reported:
the polling load's line, the buffer and byte it polls, the value there and, when the loop
compares the loaded register with a value to leave, the value it waits for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .ops import PARKED, RUNNING
from .ordering import access_ordering
from .parser import Imm, Instruction, PredPair, Reg, Sym, Vec
from .ptxtypes import TYPES, PTXType

_SIDE_EFFECTS = {
    "st", "atom", "red", "cp", "bar", "barrier", "call", "ret", "shfl", "vote", "match",
    "redux", "mma", "wmma", "wgmma", "ldmatrix", "stmatrix", "mbarrier", "tex", "suld", "sust",
}  # fmt: skip
_NO_DESTINATION = {"bra", "nanosleep", "fence", "membar", "trap", "exit", "prefetch", "prefetchu"}
_WATCH_BYTES = 16  # the widest access (a v4 of 32-bit words, a v2 of 64-bit ones)
# setp comparisons: the negation and the comparison with its operands swapped, and the symbol
_NEGATED = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le",
            "lo": "hs", "hs": "lo", "ls": "hi", "hi": "ls"}  # fmt: skip
_SWAPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "gt": "lt", "le": "ge", "ge": "le",
            "lo": "hi", "hi": "lo", "ls": "hs", "hs": "ls"}  # fmt: skip
_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "lo": "<", "le": "<=", "ls": "<=",
           "gt": ">", "hi": ">", "ge": ">=", "hs": ">="}  # fmt: skip


@dataclass(frozen=True)
class Exit:
    """The loop leaves when its loaded register compares ``comparison`` with ``other``."""

    comparison: str  # a setp comparison (eq, lt, ...), loaded value on the left
    other: Reg | Imm
    ptx_type: PTXType


@dataclass(frozen=True)
class PollLoop:
    head: int  # the back-edge's target
    back_edge: int  # pc of the backward branch
    registers: tuple[str, ...]  # every register the body writes
    loads: dict[int, PTXType]  # pc of each global load of the body -> its type
    exits: dict[int, Exit] = field(default_factory=dict)  # load pc -> how the loop leaves


def find_poll_loops(
    instructions: list[Instruction | None], labels: dict[str, int]
) -> list[PollLoop]:
    """The poll loops of a linked program (see the module docstring)."""
    loops = []
    for pc, instruction in enumerate(instructions):
        if instruction is None or instruction.opcode[0] != "bra":
            continue
        target = _target(instruction, labels)
        if target is not None and target <= pc:
            loop = _poll_loop(instructions, labels, target, pc)
            if loop is not None:
                loops.append(loop)
    return loops


def _target(instruction: Instruction, labels: dict[str, int]) -> int | None:
    operand = instruction.operands[0] if instruction.operands else None
    return labels.get(operand.name) if isinstance(operand, Sym) else None


def _poll_loop(instructions, labels, head: int, back_edge: int) -> PollLoop | None:
    body = instructions[head : back_edge + 1]
    loads: dict[int, PTXType] = {}
    strong = False
    for pc, instruction in enumerate(body, start=head):
        if instruction is None or instruction.opcode[0] in _SIDE_EFFECTS:
            return None
        if instruction.opcode[0] == "bra" and pc != back_edge:
            target = _target(instruction, labels)
            if target is None or head <= target <= pc:  # a nested loop
                return None
        if instruction.opcode[0] == "ld":
            spaces = {part.split("::")[0] for part in instruction.opcode[1:]}
            if spaces & {"shared", "local"}:
                return None
            if spaces & {"param", "const"}:
                continue
            loads[pc] = TYPES[instruction.opcode[-1]]
            strong |= access_ordering(instruction.opcode).strong
    if not strong:
        return None
    written = {
        name
        for instruction in body
        if instruction.opcode[0] not in _NO_DESTINATION and instruction.operands
        for name in _destinations(instruction.operands[0])
    }
    exits = {}
    for pc in loads:
        exit_ = _exit(body, labels, head, back_edge, pc)
        if exit_ is not None:
            exits[pc] = exit_
    return PollLoop(head, back_edge, tuple(sorted(written)), loads, exits)


def _destinations(operand) -> list[str]:
    """The registers a destination operand names (a register, a vector, a predicate pair)."""
    if isinstance(operand, Reg):
        return [operand.name]
    if isinstance(operand, Vec):
        return [item.name for item in operand.items if isinstance(item, Reg)]
    if isinstance(operand, PredPair):
        return [operand.first.name, operand.second.name]
    return []


def _exit(body: list[Instruction], labels, head: int, back_edge: int, load: int) -> Exit | None:
    """How the loop leaves, when a setp compares the register ``load`` writes with another
    operand and a branch of the body on that predicate leaves or continues the loop."""
    loaded = body[load - head].operands[0]
    if not isinstance(loaded, Reg):
        return None
    for instruction in body:
        if instruction.opcode[0] != "setp" or len(instruction.operands) != 3:
            continue
        destination, left, right = instruction.operands
        comparison, ptx_type = instruction.opcode[1], TYPES.get(instruction.opcode[-1])
        if comparison not in _SYMBOL or ptx_type is None or ptx_type.kind == "f":
            continue
        if isinstance(right, Reg) and right.name == loaded.name:
            comparison, left, right = _SWAPPED[comparison], right, left
        if not (isinstance(left, Reg) and left.name == loaded.name):
            continue
        predicates = (  # predicate -> whether it holds what the comparison gives
            {destination.first.name: True, destination.second.name: False}
            if isinstance(destination, PredPair)
            else {destination.name: True}
        )
        for pc, branch in enumerate(body, start=head):
            guard = branch.guard
            if branch.opcode[0] != "bra" or guard is None or guard.name not in predicates:
                continue
            target = _target(branch, labels)
            leaves = target is None or not head <= target <= back_edge
            if not leaves and pc != back_edge:
                continue  # a branch inside the body
            taken_when_true = predicates[guard.name] != guard.negated
            waits_for_true = taken_when_true == leaves
            wanted = comparison if waits_for_true else _NEGATED[comparison]
            return Exit(wanted, right, ptx_type)
    return None


class Polling:
    """Poll loops of one launch, what their threads read, and the threads parked in them."""

    def __init__(
        self,
        loops: list[PollLoop],
        registers: dict[str, np.ndarray],
        state: np.ndarray,
        heap: np.ndarray,
        describe: Callable[[int], str],
        global_base: int,
    ):
        self.loops = loops
        self.registers, self.state, self.heap = registers, state, heap
        self.describe, self.global_base = describe, global_base
        self._polling_pcs = {pc for loop in loops for pc in loop.loads}
        self._loop_of_load = {pc: loop for loop in loops for pc in loop.loads}
        nthreads = len(state)
        self.slots = max(len(loop.loads) for loop in loops)
        # Per thread, the global bytes its current iteration read: (offset, size, pc, bytes).
        self.count = np.zeros(nthreads, np.int64)  # slots used; slots + 1: not parkable
        self.offset = np.zeros((nthreads, self.slots), np.int64)
        self.size = np.zeros((nthreads, self.slots), np.int64)
        self.pc = np.zeros((nthreads, self.slots), np.int64)
        self.seen = np.zeros((nthreads, self.slots, _WATCH_BYTES), np.uint8)
        self.edges = np.zeros(nthreads, np.int64)  # backward branches taken, never reset
        self.uniform_edges = 0  # ... by every live thread at once, in uniform mode
        self._last_edge: dict[int, np.ndarray] = {}  # loop back-edge -> edges count there
        self._snapshot: dict[int, dict[str, np.ndarray]] = {}  # loop back-edge -> registers
        self.parked: dict[int, list[tuple[int, int]]] = {}  # thread -> its (offset, size)s
        self._watched = np.zeros(-(-len(heap) // _WATCH_BYTES) or 1, np.bool_)

    def polling(self, pc: int) -> bool:
        """Whether the load at ``pc`` is a polling load."""
        return pc in self._polling_pcs

    def record(self, pc: int, threads: np.ndarray, addresses: np.ndarray, size: int) -> None:
        """``threads`` read ``size`` bytes at ``addresses`` at polling load ``pc``."""
        offsets = addresses.astype(np.int64) - self.global_base
        slot = self.count[threads]
        inside = (offsets >= 0) & (offsets + size <= len(self.heap)) & (size <= _WATCH_BYTES)
        keep = inside & (slot < self.slots)
        t, s, o = threads[keep], slot[keep], offsets[keep]
        self.offset[t, s], self.size[t, s], self.pc[t, s] = o, size, pc
        self.seen[t, s, :size] = self.heap[o[:, None] + np.arange(size)]
        self.count[threads] = np.where(keep, slot + 1, self.slots + 1)

    def backward(self, threads: np.ndarray | None) -> None:
        """``threads`` took a backward branch (None: every live thread, in uniform mode)."""
        if threads is None:
            self.uniform_edges += 1
        else:
            self.edges[threads] += 1

    def back_edge(self, loop: PollLoop, threads: np.ndarray) -> None:
        """``threads`` came round ``loop``'s back-edge (already counted by ``backward``): park
        those at a fixed point, and start recording the next iteration."""
        edges = self.edges[threads] + self.uniform_edges
        last = self._last_edge.setdefault(loop.back_edge, np.full(len(self.state), -2, np.int64))
        snapshot = self._snapshot.setdefault(
            loop.back_edge,
            {
                name: self.registers[name].copy()
                for name in loop.registers
                if name in self.registers
            },
        )
        same = last[threads] == edges - 1
        for name in snapshot:
            now = self.registers[name][threads]
            same &= now == snapshot[name][threads]
            snapshot[name][threads] = now
        last[threads] = edges
        count = self.count[threads]
        same &= (count > 0) & (count <= self.slots)
        for thread in threads[same].tolist():
            self._park_if_unchanged(thread)
        self.count[threads] = 0

    def _park_if_unchanged(self, thread: int) -> None:
        watch = []
        for slot in range(int(self.count[thread])):
            offset, size = int(self.offset[thread, slot]), int(self.size[thread, slot])
            if (self.heap[offset : offset + size] != self.seen[thread, slot, :size]).any():
                return
            watch.append((offset, size))
        self.parked[thread] = watch
        self.state[thread] = PARKED
        for offset, size in watch:
            self._watched[offset // _WATCH_BYTES : (offset + size - 1) // _WATCH_BYTES + 1] = True

    def written(self, offsets: np.ndarray, size: int) -> None:
        """A store or atomic wrote ``size`` bytes at each heap offset: wake who waits on them."""
        if not self.parked:
            return
        hit = (
            self._watched[offsets // _WATCH_BYTES]
            | self._watched[(offsets + size - 1) // _WATCH_BYTES]
        )
        if not hit.any():
            return
        stores = offsets[hit]
        woken = [
            thread
            for thread, watch in self.parked.items()
            if any(((stores < o + n) & (stores + size > o)).any() for o, n in watch)
        ]
        for thread in woken:
            del self.parked[thread]
            self.state[thread] = RUNNING
        if woken:
            self._watched[:] = False
            for watch in self.parked.values():
                for offset, n in watch:
                    self._watched[offset // _WATCH_BYTES : (offset + n - 1) // _WATCH_BYTES + 1] = (
                        True
                    )

    def wait(self, thread: int) -> tuple[int, str]:
        """(pc of the polling load, what it waits for) of parked ``thread``, for a report."""
        pc, (offset, _) = int(self.pc[thread, 0]), self.parked[thread][0]
        loop = self._loop_of_load[pc]
        ptx_type = loop.loads[pc]
        value = self._value(self.heap[offset : offset + ptx_type.nbytes], ptx_type)
        detail = f"waits forever: it polls {self.describe(offset)}, which holds {value}"
        exit_ = loop.exits.get(pc)
        if exit_ is not None:
            other = self._operand(exit_.other, thread, exit_.ptx_type)
            detail += f", for a value {_SYMBOL[exit_.comparison]} {other}"
        return pc, detail + "; nothing left running can write it"

    def _operand(self, operand: Reg | Imm, thread: int, ptx_type: PTXType) -> str:
        if isinstance(operand, Imm):
            return operand.text
        register = self.registers.get(operand.name)
        if register is None:
            return operand.name
        return self._value(
            register[thread : thread + 1].view(np.uint8)[: ptx_type.nbytes], ptx_type
        )

    @staticmethod
    def _value(data: np.ndarray, ptx_type: PTXType) -> str:
        return str(np.frombuffer(data.tobytes()[: ptx_type.nbytes], ptx_type.dtype)[0])
