"""One phase of a kernel: the block's threads compute a member over its region.

Thread ``t`` owns the points ``t_l + threads_l * r`` along each parallel loop ``l`` (cyclic, so
neighbouring threads touch neighbouring addresses: coalesced global accesses and conflict-free
shared-memory rows), ``r`` over the register tile, unrolled. A pointwise member computes each
point in one thread phase. A reduction keeps a ``[thread, point]`` accumulator, initialised
from its output's initial value, and runs one ``scf.for`` per reduction loop over the stages:
staged inputs are copied to shared memory (``staging``), then each thread runs its register
tile over the stage (bounded at the operand's edge), with a CTA barrier after each step; a
double-buffered phase copies stage k+1 into the other half while computing stage k, with one
barrier per stage. Every computed point goes to ``epilogue.store``.
"""

from __future__ import annotations

from itertools import product

from mlir import ir
from mlir.dialects import arith, memref

from quartet.passes import builder as b
from quartet.passes.lower_tiles import epilogue
from quartet.passes.lower_tiles.plan import KernelPlan, Member
from quartet.passes.lower_tiles.sources import Reader
from quartet.passes.lower_tiles.staging import PRIVATE, Stager, memref_type
from quartet.passes.lower_tiles.tensor_core import build_tensor_core_phase


class Phase:
    """The loops of one member over its region, in the barrier-phase form."""

    def __init__(self, kernel: KernelPlan, member: Member, reader: Reader, origin):
        self.kernel, self.member, self.reader = kernel, member, reader
        self.origin = origin  # parallel loop -> index value of the region origin
        self.par_loops, self.red_loops = member.par_loops, member.red_loops
        self.threads = {loop: member.plan.threads[loop] for loop in self.par_loops}
        self.num_threads = member.plan.thread_count
        self.reg_points = list(product(*(range(member.reg_tile[loop]) for loop in self.par_loops)))
        self.padded = kernel.padded(member)

    def build(self) -> None:
        if not self.red_loops:
            self._build_pointwise()
        elif self.member.plan.mma is not None:
            build_tensor_core_phase(self)
        else:
            self._build_reduction()

    # -- points ----------------------------------------------------------------------------

    def thread_coords(self, thread: ir.Value) -> dict[int, ir.Value]:
        extents = [self.threads[loop] for loop in self.par_loops]
        return dict(zip(self.par_loops, b.delinearize(thread, extents), strict=True))

    def local_indices(self, coords: dict[int, ir.Value], point: tuple[int, ...]):
        return {
            loop: b.add(coords[loop], self.threads[loop] * step)
            for loop, step in zip(self.par_loops, point, strict=True)
        }

    def global_indices(self, local: dict[int, ir.Value]) -> dict[int, ir.Value]:
        return {loop: arith.addi(self.origin[loop], local[loop]) for loop in self.par_loops}

    def points(self, thread: ir.Value):
        """(slot, region-local indices, loop indices) of every point the thread computes."""
        coords = self.thread_coords(thread)
        for slot, point in enumerate(self.reg_points):
            local = self.local_indices(coords, point)
            yield slot, local, self.global_indices(local)

    # -- pointwise ---------------------------------------------------------------------------

    def _build_pointwise(self) -> None:
        """Each point inside the operator computed and stored (the rest of the tile skipped)."""
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for _, _, index in self.points(thread):
                with b.only_if(epilogue.inside(self, self.member, index)):
                    values = self.reader.evaluate(self.member, index)
                    epilogue.store(self, values, index)

    # -- reductions --------------------------------------------------------------------------

    def _build_reduction(self) -> None:
        member = self.member
        self.stager = Stager(self.kernel, member, self.reader, self.num_threads)
        accumulators = [self._alloc_accumulator(value) for value in member.outputs]
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for slot, _, index in self.points(thread):
                for out, acc in enumerate(accumulators):
                    initial = self.reader.operand(member, len(member.inputs) + out, index)
                    memref.store(initial, acc, [thread, b.const_index(slot)])
        if member.plan.double_buffer:
            self._build_double_buffered_stages(accumulators)
        else:
            self._build_stages(accumulators, self.red_loops, {})
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for slot, _, index in self.points(thread):
                values = [memref.load(acc, [thread, b.const_index(slot)]) for acc in accumulators]
                epilogue.store(self, values, index)

    def _alloc_accumulator(self, output: ir.Value) -> ir.Value:
        element_type = ir.MemRefType(output.type).element_type
        shape = [self.num_threads, len(self.reg_points)]
        return memref.alloca(memref_type(shape, element_type, PRIVATE), [], [])

    def stage_origin(self, k_origin: dict[int, ir.Value]) -> dict[int, ir.Value]:
        return {**self.origin, **k_origin}

    def _build_stages(self, accumulators, remaining, k_origin) -> None:
        """One scf.for per reduction loop over its stages; the innermost holds the two
        phases: copy the stage, then compute it."""
        if remaining:
            loop, rest = remaining[0], remaining[1:]
            step = self.member.block_tile[loop]
            with b.for_loop(0, self.member.extents[loop], step) as k0:
                self._build_stages(accumulators, rest, {**k_origin, loop: k0})
            return
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for i in self.member.plan.staged:
                self.stager.copy(i, thread, self.stage_origin(k_origin))
        b.cta_barrier()
        with b.parallel([self.num_threads]) as (_, (thread,)):
            self._build_register_tile(thread, k_origin, accumulators, self.red_loops, {})
        b.cta_barrier()

    def _build_double_buffered_stages(self, accumulators) -> None:
        """One reduction loop, two shared buffers per input: while stage k computes from one
        half, the threads already copy stage k+1 into the other, and one barrier per stage
        suffices (the half being filled was last read before the previous barrier)."""
        (loop,) = self.red_loops
        step, extent = self.member.block_tile[loop], self.member.extents[loop]
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for i in self.member.plan.staged:
                first = self.stage_origin({loop: b.const_index(0)})
                self.stager.copy(i, thread, first, b.const_index(0))
        b.cta_barrier()
        with b.for_loop(0, extent, step) as k0:
            half = b.rem(b.div(k0, step), 2)
            other = arith.subi(b.const_index(1), half)
            following = b.add(k0, step)
            with b.parallel([self.num_threads]) as (_, (thread,)):
                with b.only_if(b.all_less_than([(following, extent)])):
                    for i in self.member.plan.staged:
                        self.stager.copy(i, thread, self.stage_origin({loop: following}), other)
                self._build_register_tile(
                    thread, {loop: k0}, accumulators, self.red_loops, {}, half
                )
            b.cta_barrier()

    def _build_register_tile(
        self, thread, k_origin, accumulators, remaining, k_local, half=None
    ) -> None:
        """Loops over the stage (bounded at the operand's edge), then every point."""
        member = self.member
        if remaining:
            loop, rest = remaining[0], remaining[1:]
            bound = b.const_index(member.block_tile[loop])
            if loop in self.padded:
                left = arith.subi(b.const_index(member.extents[loop]), k_origin[loop])
                bound = arith.minui(bound, left)
            with b.for_loop(0, bound, 1) as kk:
                self._build_register_tile(
                    thread, k_origin, accumulators, rest, {**k_local, loop: kk}, half
                )
            return
        for slot, local, index in self.points(thread):
            local = {**local, **k_local}
            index = {**index, **{r: b.add(k_origin[r], k_local[r]) for r in self.red_loops}}
            ins = [self._input(i, index, local, half) for i in range(len(member.inputs))]
            slot_index = b.const_index(slot)
            outs = [memref.load(acc, [thread, slot_index]) for acc in accumulators]
            values = self.reader.body(member, ins + outs, index)
            for acc, value in zip(accumulators, values, strict=True):
                memref.store(value, acc, [thread, slot_index])

    def _input(self, i: int, index, local, half) -> ir.Value:
        if i in self.member.plan.staged:
            return self.stager.load(i, local, half)
        return self.reader.operand(self.member, i, index)
