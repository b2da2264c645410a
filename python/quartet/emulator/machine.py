"""The execution model: the whole grid as one array of threads, scheduled by program counter.

Every thread of every CTA is one lane of numpy arrays (CTAs padded to whole warps; padding
lanes never exist). Each thread has a program counter, a state (running, waiting at a barrier,
waiting at a warp collective, exited) and a count of backward branches it has taken.

Scheduling. While all live threads sit at one PC the machine is *uniform*: it executes that
instruction for all of them at once, with no per-step bookkeeping (the common case for the
kernels Quartet emits). When a branch splits them it becomes *divergent*: each step picks the
runnable thread with the smallest key (backward branches taken, PC) and executes the instruction
at that thread's PC for every runnable thread there. Smallest PC first reconverges structured
code (if/else arms run before the join, loop leavers wait after the loop); counting backward
branches first makes spinning threads yield, so a CTA spinning on a flag in global memory lets
the CTA that sets it run, and persistent kernels with grid-wide barriers terminate. When every
live thread is back at one PC the machine is uniform again.

Rendezvous. ``bar.sync`` holds threads until every live thread of their CTA has arrived (exited
threads do not count); threads that arrive at *different* barrier instructions are reported as a
divergent barrier. Warp collectives hold threads until every lane of their member mask (whole
warp for ``mma``/``ldmatrix``) has arrived. A thread spinning in a poll loop on memory nobody
changes is parked until a store writes it (``polling.py``). No runnable thread but live ones
left is a deadlock, reported with each blocked CTA's poll or the barrier and a thread that
never arrives.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from . import arith, bits, calls, carry, compare, control, convert, memops, warpops  # noqa: F401  (decoders)
from .checkers import Reporter
from .errors import EmulatorCheckError, ExecutionError, LaunchError, PTXUnsupportedError
from .global_races import GlobalRaces, access_granule
from .layout import WARP_SIZE, ThreadLayout, lane_bits, place_variables, special_registers
from .memory import GLOBAL_BASE, Memory
from .operands import Operands
from .ops import (
    AT_BARRIER,
    AT_WARP_OP,
    BARRIER,
    BRANCH,
    CALL,
    EXIT,
    EXITED,
    PARKED,
    RET,
    RUNNING,
    SIMPLE,
    WARP,
    Op,
    decode,
)
from .parser import Kernel, Module, Variable, names_in
from .polling import Polling, find_poll_loops
from .ptxtypes import TYPES, raw_dtype

_NEVER = np.iinfo(np.int64).max  # scheduling key of a thread that cannot run


@dataclass
class LaunchStats:
    """What one launch executed; ``warp_instructions`` counts warps with an active lane."""

    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    warp_instructions: int = 0
    thread_instructions: int = 0
    steps: int = 0
    barriers: int = 0
    seconds: float = 0.0
    global_loaded: int = 0  # bytes every lane's global loads read
    global_stored: int = 0  # bytes every lane's global stores wrote

    @property
    def warp_instructions_per_second(self) -> float:
        return self.warp_instructions / self.seconds if self.seconds else 0.0

    @property
    def thread_instructions_per_second(self) -> float:
        return self.thread_instructions / self.seconds if self.seconds else 0.0


class Machine:
    """One kernel launch: thread state, register file, memory, decoded program, scheduler."""

    def __init__(
        self,
        module: Module,
        kernel: Kernel,
        layout: ThreadLayout,
        params: bytes,
        param_offsets: dict[str, int],
        buffers: list[tuple[str, int]],
        shared_bytes: int,
        checks: frozenset[str],
        num_sms: int,
        max_steps: int,
    ):
        self.kernel = kernel
        self.layout = layout
        self.checks = checks
        self.max_steps = max_steps
        self.params = params
        self.param_offsets = param_offsets
        self.stats = LaunchStats(kernel.name, layout.grid, layout.block)
        self._init_threads()
        self.program = calls.link(module, kernel)
        self.reporter = Reporter(kernel.name, self.program.lines, layout.coords)
        variables = module.globals + kernel.variables + self.program.variables
        symbols = self._map_memory(variables, buffers, shared_bytes)
        self.registers = {
            name: np.zeros(self.nthreads, np.bool_ if t.kind == "pred" else raw_dtype(t.bits))
            for name, t in self.program.registers.items()
        }
        if "race-global" in checks:
            self.memory.global_races = GlobalRaces(
                self.memory.heap.size,
                access_granule(self.program.instructions),
                layout.stride,
                self.nthreads,
                len(self.program.instructions),
                self.reporter,
                self.memory.describe,
            )
        self.polls = self._polling()
        self.param_storage = {  # call parameters: per-thread bytes
            name: np.zeros((self.nthreads, size), np.uint8)
            for name, size in self.program.param_variables.items()
        }
        self.call_stack = np.zeros((self.nthreads, 0), np.int64)  # call-site pcs, grown on use
        self.call_depth = np.zeros(self.nthreads, np.int64)
        shared_sizes = (shared_bytes, self.memory.shared_size)
        special = special_registers(layout, num_sms, shared_sizes, lambda: self.stats.steps)
        self.operands = Operands(self.registers, special, symbols)
        self.carry = np.zeros(self.nthreads, np.uint8)  # CC.CF of the carry-chain instructions
        self.mentions = Counter(  # instructions naming each register: a load's lanes use it
            name
            for instruction in self.program.instructions
            if instruction is not None
            for name in set(names_in(instruction))
        )
        self.decode_pc = 0
        self.ops = []
        for pc, instruction in enumerate(self.program.instructions):
            self.decode_pc = pc
            if instruction is None:  # falling off the end of a body exits or returns
                self.ops.append(Op(RET if self.in_function() else EXIT))
            else:
                self.ops.append(self._decode(instruction))
        for loop in self.polls.loops if self.polls is not None else ():
            self.ops[loop.back_edge].poll = loop
        self._key_stride = np.int64(len(self.ops) + 1)

    def _init_threads(self) -> None:
        layout = self.layout
        self.ncta, self.nthreads, self.nwarps = layout.ncta, layout.nthreads, layout.nwarps
        self.threads_per_cta = layout.threads_per_cta
        self.all_threads, self.cta = layout.threads, layout.cta
        self.warp_of = layout.threads // WARP_SIZE
        self.coords = layout.coords
        self.state = np.where(layout.exists, RUNNING, EXITED).astype(np.uint8)
        self.live = int(np.count_nonzero(layout.exists))
        self.pc = np.zeros(self.nthreads, np.int64)
        self.backward = np.zeros(self.nthreads, np.int64)
        self.any_backward = False  # whether ``backward`` holds anything but zeros
        # Uniform mode: all live threads at ``upc``; ``uidx`` None means all threads of the grid.
        self.upc: int | None = 0
        self.uidx = None if self.live == self.nthreads else np.flatnonzero(layout.exists)
        self._required_lanes = lane_bits(layout.exists)  # lanes an .aligned op waits for

    def _map_memory(
        self, variables: list[Variable], buffers: list[tuple[str, int]], shared_bytes: int
    ) -> dict[str, int]:
        """Create the launch's memory; return the address of every variable symbol."""
        symbols, shared_size, local_size = place_variables(variables, shared_bytes)
        global_variables = [v for v in variables if v.space in ("global", "const")]
        for variable in global_variables:
            if variable.size is None:
                raise LaunchError(f"unsized .{variable.space} variable '{variable.name}'")
        self.memory = Memory(
            buffers + [(v.name, v.size) for v in global_variables],
            shared_size,
            self.ncta,
            local_size,
            self.nthreads,
            self.cta,
            self.checks,
            self.reporter,
        )
        for index, variable in enumerate(global_variables, start=len(buffers)):
            symbols[variable.name] = self.memory.buffers[index].start
            if variable.init is not None:
                data = np.frombuffer(variable.init, np.uint8)
                self.memory.buffer_bytes(index)[: len(data)] = data
        return symbols

    def _polling(self) -> Polling | None:
        """The launch's poll loops and parked threads; None when the kernel has no poll loop."""
        loops = find_poll_loops(self.program.instructions, self.program.labels)
        if not loops:
            return None
        memory = self.memory
        polls = Polling(
            loops, self.registers, self.state, memory.heap, memory.describe, GLOBAL_BASE
        )
        memory.on_global_write = polls.written
        return polls

    def _decode(self, instruction) -> Op:
        op = decode(instruction, self)
        if instruction.guard is not None:
            op.guard = self.operands.read(instruction, instruction.guard, TYPES["pred"])
        if op.kind == BRANCH and op.target < 0:
            raise PTXUnsupportedError(instruction.line, instruction.text, "branch target")
        return op

    def label(self, instruction, name: str) -> int:
        if name not in self.program.labels:
            raise PTXUnsupportedError(instruction.line, instruction.text, f"unknown label {name}")
        return self.program.labels[name]

    def in_function(self) -> bool:
        """Whether the instruction being decoded belongs to a device function."""
        return self.program.function_at[self.decode_pc] is not None

    # -- running --------------------------------------------------------------------------------
    def run(self) -> LaunchStats:
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            while self.live:
                if self.stats.steps >= self.max_steps:
                    raise ExecutionError(
                        f"{self.kernel.name}: no exit after {self.max_steps} steps (infinite loop?)"
                    )
                self.stats.steps += 1
                if self.upc is not None:
                    self._uniform_step()
                else:
                    self._divergent_step()
        self.stats.seconds = time.perf_counter() - start
        self.stats.global_loaded = self.memory.global_loaded
        self.stats.global_stored = self.memory.global_stored
        if self.reporter.reports:
            raise EmulatorCheckError(self.reporter.sorted_reports())
        return self.stats

    def _count(self, idx: np.ndarray | None) -> None:
        if idx is None:
            self.stats.warp_instructions += self.nwarps
            self.stats.thread_instructions += self.nthreads
        elif len(idx):
            self.stats.warp_instructions += int(np.count_nonzero(np.diff(idx >> 5))) + 1
            self.stats.thread_instructions += len(idx)

    def _uniform_step(self) -> None:
        pc, idx = self.upc, self.uidx
        op = self.ops[pc]
        rendezvous = op.kind in (BARRIER, WARP) and (
            op.guard is not None or (op.kind == WARP and idx is not None)
        )
        if rendezvous or op.kind in (CALL, RET) or op.poll is not None:  # the divergent path
            # handles these (a poll loop's back-edge may park threads)
            self._diverge()
            self._divergent_step(may_reconverge=False)
            return
        self._count(idx)
        if op.kind == SIMPLE:
            active = _active(idx, op.guard)
            if active is None or len(active):
                op.run(active)
            self.upc = pc + 1
        elif op.kind == BRANCH:
            self._uniform_branch(pc, idx, op)
        elif op.kind == EXIT:
            self._uniform_exit(pc, idx, op)
        elif op.kind == BARRIER:
            self.memory.barrier(None)
            self.stats.barriers += self.ncta if idx is None else len(np.unique(self.cta[idx]))
            self.upc = pc + 1
        else:
            op.run(self.all_threads)
            self.upc = pc + 1

    def _uniform_branch(self, pc: int, idx: np.ndarray | None, op: Op) -> None:
        taken = None if op.guard is None else op.guard(idx)
        if taken is None or taken.all():
            self.upc = op.target
            if op.target <= pc and self.polls is not None:
                self.polls.backward(None)
        elif not taken.any():
            self.upc = pc + 1
        else:
            threads = self._diverge()
            self.pc[threads] = np.where(taken, op.target, pc + 1)
            if op.target <= pc:
                self._backward(threads[taken])

    def _uniform_exit(self, pc: int, idx: np.ndarray | None, op: Op) -> None:
        threads = self.all_threads if idx is None else idx
        leaving = np.ones(len(threads), np.bool_) if op.guard is None else op.guard(idx)
        self.state[threads[leaving]] = EXITED
        self.live -= int(np.count_nonzero(leaving))
        self.uidx = None if not leaving.any() and idx is None else threads[~leaving]
        self.upc = pc + 1

    def _diverge(self) -> np.ndarray:
        """Leave uniform mode: write the shared PC to the live threads, return their indices."""
        threads = self.all_threads if self.uidx is None else self.uidx
        self.pc[threads] = self.upc
        self.upc = None
        return threads

    def _divergent_step(self, may_reconverge: bool = True) -> None:
        runnable = self.state == RUNNING
        position = self.backward * self._key_stride + self.pc if self.any_backward else self.pc
        key = np.where(runnable, position, _NEVER)
        first = int(np.argmin(key))
        if key[first] == _NEVER:
            self._deadlock()
        pc = int(self.pc[first])
        idx = np.flatnonzero(runnable & (self.pc == pc))
        if may_reconverge and len(idx) == self.live:  # reconverged: uniform from the next step
            self.upc, self.uidx = pc, (None if len(idx) == self.nthreads else idx)
            if self.any_backward:  # priorities only matter among threads that diverge together
                self.backward[:] = 0
                self.any_backward = False
            self.stats.steps -= 1
            return
        op = self.ops[pc]
        self._count(idx)
        if op.kind == SIMPLE:
            active = _active(idx, op.guard)
            if len(active):
                op.run(active)
            self.pc[idx] += 1
        elif op.kind == BRANCH:
            taken = np.ones(len(idx), np.bool_) if op.guard is None else op.guard(idx)
            self.pc[idx] = np.where(taken, op.target, pc + 1)
            if op.target <= pc:
                self._backward(idx[taken])
                if op.poll is not None:
                    self.polls.back_edge(op.poll, idx[taken])
        elif op.kind == EXIT:
            active = _active(idx, op.guard)
            self.state[active] = EXITED
            self.live -= len(active)
            self.pc[idx] += 1
            self._release_barriers()
        elif op.kind == BARRIER:
            active = _active(idx, op.guard)
            self.pc[np.setdiff1d(idx, active, assume_unique=True)] += 1
            self.state[active] = AT_BARRIER
            self._release_barriers()
        elif op.kind == CALL:
            self._call(pc, idx, op)
        elif op.kind == RET:
            self._return(idx, op)
        else:
            self._warp_collective(pc, idx, op)

    def _backward(self, threads: np.ndarray) -> None:
        """``threads`` took a backward branch: they yield to threads that took fewer."""
        self.backward[threads] += 1
        self.any_backward = True
        if self.polls is not None:
            self.polls.backward(threads)

    def _call(self, pc: int, idx: np.ndarray, op: Op) -> None:
        active = _active(idx, op.guard)
        self.pc[np.setdiff1d(idx, active, assume_unique=True)] += 1
        if not len(active):
            return
        op.run(active)
        depth = self.call_depth[active]
        if int(depth.max()) >= self.call_stack.shape[1]:
            if self.call_stack.shape[1] >= calls.MAX_CALL_DEPTH:
                raise ExecutionError(
                    f"{self.kernel.name}: line {self.reporter.lines[pc][0]}: calls nested more "
                    f"than {calls.MAX_CALL_DEPTH} deep (unbounded recursion?)"
                )
            grown = np.zeros((self.nthreads, self.call_stack.shape[1] + 4), np.int64)
            grown[:, : self.call_stack.shape[1]] = self.call_stack
            self.call_stack = grown
        self.call_stack[active, depth] = pc
        self.call_depth[active] = depth + 1
        self.pc[active] = op.target

    def _return(self, idx: np.ndarray, op: Op) -> None:
        active = _active(idx, op.guard)
        self.pc[np.setdiff1d(idx, active, assume_unique=True)] += 1
        if not len(active):
            return
        depth = self.call_depth[active] - 1
        sites = self.call_stack[active, depth]
        self.call_depth[active] = depth
        for site in np.unique(sites):
            threads = active[sites == site]
            self.ops[int(site)].finish(threads)
            self.pc[threads] = site + 1

    def _release_barriers(self) -> None:
        waiting = self.state == AT_BARRIER
        if not waiting.any():
            return
        live = self.state != EXITED
        arrived = np.bincount(self.cta[waiting], minlength=self.ncta)
        ready = (arrived == np.bincount(self.cta[live], minlength=self.ncta)) & (arrived > 0)
        if not ready.any():
            return
        released = np.flatnonzero(waiting & ready[self.cta])
        if "barrier" in self.checks:
            self._check_same_barrier(released)
        self.state[released] = RUNNING
        self.pc[released] += 1
        ctas = np.flatnonzero(ready)
        self.memory.barrier(ctas)
        self.stats.barriers += len(ctas)

    def _check_same_barrier(self, released: np.ndarray) -> None:
        """Report blocks whose threads were released from different barrier instructions."""
        pcs = self.pc[released]
        starts = np.flatnonzero(np.r_[True, np.diff(self.cta[released]) != 0])
        ends = np.r_[starts[1:], len(released)]
        low = np.minimum.reduceat(pcs, starts)
        high = np.maximum.reduceat(pcs, starts)
        for block in np.flatnonzero(low != high):
            threads = released[starts[block] : ends[block]]
            at_high = int(threads[self.pc[threads] == high[block]][0])
            at_low = int(threads[self.pc[threads] == low[block]][0])
            other_line = self.reporter.lines[int(low[block])][0]
            self.reporter.report(
                "divergent-barrier",
                int(high[block]),
                at_high,
                f"threads of one block wait at different barriers (this one and line {other_line})",
                other=at_low,
            )

    def _warp_collective(self, pc: int, idx: np.ndarray, op: Op) -> None:
        active = _active(idx, op.guard)
        self.pc[np.setdiff1d(idx, active, assume_unique=True)] += 1
        arrived = (self.state == AT_WARP_OP) & (self.pc == pc)
        arrived[active] = True
        threads = np.flatnonzero(arrived)
        arrived_bits = lane_bits(arrived)
        if op.member_mask is None:
            required = self._required_lanes
        else:
            required = np.zeros(self.nwarps, np.uint32)
            required[self.warp_of[threads]] = op.member_mask(threads)
            required &= self._required_lanes  # padding lanes of a partial warp never arrive
        ready = ((arrived_bits & required) == required) & (arrived_bits != 0)
        participants = threads[ready[self.warp_of[threads]]]
        if len(participants):
            op.run(participants)
            self.state[participants] = RUNNING
            self.pc[participants] = pc + 1
        self.state[threads[~ready[self.warp_of[threads]]]] = AT_WARP_OP

    def _deadlock(self) -> None:
        blocked = self._report_parked()
        waiting = np.flatnonzero((self.state == AT_BARRIER) & ~blocked[self.cta])
        if len(waiting):
            thread = int(waiting[0])
            cta_threads = np.flatnonzero((self.cta == self.cta[thread]) & (self.state != EXITED))
            missing = cta_threads[self.state[cta_threads] != AT_BARRIER]
            other = int(missing[0]) if len(missing) else None
            where = (
                f"; it waits at line {self.reporter.lines[int(self.pc[other])][0]}"
                if other is not None
                else ""
            )
            self.reporter.report(
                "deadlock",
                int(self.pc[thread]),
                thread,
                f"barrier never completes: a live thread of the block does not arrive{where}",
                other=other,
            )
        at_warp = np.flatnonzero(self.state == AT_WARP_OP)
        if len(at_warp):
            thread = int(at_warp[0])
            self.reporter.report(
                "deadlock",
                int(self.pc[thread]),
                thread,
                "warp collective never completes: lanes of its member mask "
                "exited or wait elsewhere",
            )
        raise EmulatorCheckError(self.reporter.sorted_reports())

    def _report_parked(self) -> np.ndarray:
        """Report the wait of each CTA with a parked thread (its first one); return which CTAs
        (their threads at barriers wait for those)."""
        blocked = np.zeros(self.ncta, np.bool_)
        for thread in np.flatnonzero(self.state == PARKED).tolist():
            cta = int(self.cta[thread])
            if blocked[cta]:
                continue
            blocked[cta] = True
            pc, detail = self.polls.wait(thread)
            self.reporter.report("deadlock", pc, thread, detail, distinct=cta)
        return blocked

    # -- helpers for decoders -------------------------------------------------------------------
    def threads(self, idx: np.ndarray | None) -> np.ndarray:
        return self.all_threads if idx is None else idx

    def param_value(self, instruction, name: str, offset: int, nbytes: int) -> bytes:
        if name not in self.param_offsets:
            raise PTXUnsupportedError(instruction.line, instruction.text, f"unknown param {name}")
        start = self.param_offsets[name] + offset
        return self.params[start : start + nbytes]


def _active(idx: np.ndarray | None, guard) -> np.ndarray | None:
    """The threads of ``idx`` whose guard predicate holds (None: all threads, all active)."""
    if guard is None:
        return idx
    holds = guard(idx)
    if idx is None:
        return None if holds.all() else np.flatnonzero(holds)
    return idx[holds]
