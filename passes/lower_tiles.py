"""quartet-lower-tiles: tiled ``linalg.generic`` on buffers -> block/thread loops with barriers.

Each ``linalg.generic`` carrying a ``tile.program`` rProgram (an ``smem`` rTile: what one thread
block computes per stage, and a ``reg`` rTile: what one thread computes) becomes a kernel in the
barrier-phase form, the one source form both targets derive from (DESIGN.md, "Loops"):

    scf.parallel (%block...) {tile.kernel = "f_k0"} {       // one iteration = one thread block
      %a_s = memref.alloca() : memref<64x17xf32, #gpu.address_space<workgroup>>
      %acc = memref.alloca() : memref<256x16xf32, #gpu.address_space<private>>  // [thread, point]
      scf.parallel (%t) { acc[t, *] = out[...] }              // thread phase
      scf.for %k0 = 0 to K step 16 {
        scf.parallel (%t) { a_s[...] = A[...] ... }           // cooperative load to shared memory
        "schedule.barrier"() {scope = "cta"}
        scf.parallel (%t) { acc[t, *] = body(a_s, b_s, acc) } // register tile, fully unrolled
        "schedule.barrier"() {scope = "cta"}
      }
      scf.parallel (%t) { out[...] = acc[t, *] }
    }

Options refine the code each rProgram gets: ``double-buffer`` (with one reduction loop, stage
k+1 is copied into a second shared buffer while stage k computes, one barrier per stage) and
``tensor-cores`` (an f16/bf16 contraction accumulating in f32 whose tiles fit m16n8k16 runs as
``tile.mma`` steps: the threads form warps over the block tile, and each thread's accumulator
slots are its fragment elements; the reg rTile then only sets the thread count). Rows are copied
as 128-bit vectors wherever alignment allows.

Sibling thread phases are separated by explicit barriers; run one after the other they are exactly
the sequential semantics (the CPU form), and ``quartet-map-to-gpu`` turns each phase into the body
of one ``gpu.launch`` thread with the barriers as ``gpu.barrier``. Thread ``t`` owns the points
``t_l + threads_l * r`` along each parallel loop ``l`` (cyclic, so neighbouring threads touch
neighbouring addresses: coalesced global accesses and conflict-free shared-memory rows). Extents
that are not multiples of the tile are padded: loads outside the operand read zero or a clamped
element, stores and reductions outside it are skipped. Operator bodies are cloned per point, so
any scalar body works, not just multiply-add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

from mlir import ir
from mlir.dialects import arith, linalg, memref, vector

from quartet.dialects.tile import RProgram
from quartet.passes import builder as b
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.iteration_space import IterationSpace, Linear
from quartet.passes.mma import TensorCorePlan, acc_position, lane_coords

WORKGROUP = "#gpu.address_space<workgroup>"
PRIVATE = "#gpu.address_space<private>"


@dataclass(frozen=True)
class LowerTiles(ModulePass):
    """Lower tiled linalg.generic ops on buffers to block/thread loops with explicit barriers."""

    name = "quartet-lower-tiles"
    double_buffer: bool = option(
        True, "two shared buffers per staged input, so stage k+1 loads while stage k computes"
    )
    tensor_cores: bool = option(
        True, "f16/bf16 contractions with f32 accumulation as m16n8k16 tensor-core steps"
    )

    def apply(self, module: ir.Operation) -> None:
        for func in module.regions[0].blocks[0].operations:
            if func.operation.name != "func.func":
                continue
            generics = [op for op in _walk(func.operation) if _is_tiled_generic(op)]
            for index, op in enumerate(generics):
                kernel = _kernel_name(op, f"{func.attributes['sym_name'].value}_k{index}")
                _Kernel(op, kernel, self.double_buffer, self.tensor_cores).lower()


def _walk(op: ir.Operation) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(child: ir.Operation) -> ir.WalkResult:
        found.append(child)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _kernel_name(op: ir.Operation, default: str) -> str:
    """The ``tile.kernel`` name quartet-outline-kernels gave the operator, else ``default``."""
    if "tile.kernel" in op.attributes:
        return ir.StringAttr(op.attributes["tile.kernel"]).value
    return default


def _is_tiled_generic(op: ir.Operation) -> bool:
    return op.name == "linalg.generic" and "tile.program" in op.attributes


class _Kernel:
    """The lowering of one tiled generic: its loops, operands, tiles and the IR built for it."""

    def __init__(self, op: ir.Operation, kernel_name: str, double_buffer: bool, tensor_cores: bool):
        self.op: linalg.GenericOp = op.opview
        self.kernel_name = kernel_name
        self.space = IterationSpace.of(self.op)
        self.forms, self.extents = self.space.forms, self.space.extents
        self.inputs = list(self.op.inputs)
        self.outputs = list(self.op.outputs)
        self._check_operands()
        self.program = RProgram.from_attr(op.attributes["tile.program"])
        tiles = {tile.level: tile.shape for tile in self.program.tiles}
        if set(tiles) != {"smem", "reg"} or len(tiles["smem"]) != len(self.extents):
            raise PassError(
                "expected an rprogram with one 'smem' and one 'reg' rtile per loop", self.op
            )
        self.block_tile, self.reg_tile = tiles["smem"], tiles["reg"]
        self.loops = range(len(self.extents))
        self.par_loops, self.red_loops = self.space.par_loops, self.space.red_loops
        self.threads = {
            loop: self.block_tile[loop] // self.reg_tile[loop] for loop in self.par_loops
        }
        self.num_threads = math.prod(self.threads.values())
        self.reg_points = list(product(*(range(self.reg_tile[loop]) for loop in self.par_loops)))
        self.padded = {
            loop for loop in self.loops if self.extents[loop] % self.block_tile[loop] != 0
        }
        self.staged = [
            i
            for i, value in enumerate(self.inputs)
            if self.red_loops and _is_memref(value) and self.space.uses_reduction(i)
        ]
        self.mma = (
            TensorCorePlan.of(self.op, self.space, self.block_tile, self.num_threads)
            if tensor_cores
            else None
        )
        self.double_buffered = (
            double_buffer
            and self.mma is None
            and self.staged
            and len(self.red_loops) == 1
            and self.extents[self.red_loops[0]] > self.block_tile[self.red_loops[0]]
        )

    def _check_operands(self) -> None:
        for value in self.outputs:
            if not _is_memref(value):
                raise PassError("expected buffer semantics (run one-shot-bufferize first)", self.op)
        for op in self.op.regions[0].blocks[0].operations:
            if len(op.regions) != 0:
                raise PassError("operator bodies with nested regions are not supported", self.op)

    # -- IR construction ----------------------------------------------------------------------

    def lower(self) -> None:
        with ir.InsertionPoint(self.op), self.op.location:
            grid = [
                math.ceil(self.extents[loop] / self.block_tile[loop]) for loop in self.par_loops
            ]
            with b.parallel(grid or [1]) as (block_loop, block_ids):
                block_loop.attributes["tile.kernel"] = ir.StringAttr.get(self.kernel_name)
                block_loop.attributes["tile.program"] = self.op.attributes["tile.program"]
                origin = {
                    loop: b.mul(block_id, self.block_tile[loop])
                    for loop, block_id in zip(self.par_loops, block_ids, strict=True)
                }
                if self.red_loops:
                    self._build_reduction(origin)
                else:
                    self._build_pointwise(origin)
        self.op.operation.erase()

    def _build_pointwise(self, origin: dict[int, ir.Value]) -> None:
        with b.parallel([self.num_threads]) as (_, (thread,)):
            coords = self._thread_coords(thread)
            for point in self.reg_points:
                local = self._local_indices(coords, point)
                index = {loop: b.add(origin[loop], local[loop]) for loop in self.par_loops}
                outs = [self._load_global(i, index) for i in range(len(self.outputs))]
                ins = [self._load_input(i, index, local, None) for i in range(len(self.inputs))]
                self._store_outputs(self._clone_body(ins + outs, index), index)

    def _build_reduction(self, origin: dict[int, ir.Value]) -> None:
        if self.mma is not None:
            self._build_tensor_core_reduction(origin)
            return
        self.smem = {i: self._alloc_shared(i) for i in self.staged}
        accumulators = [self._alloc_accumulator(value) for value in self.outputs]
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for slot, point in enumerate(self.reg_points):
                index = self._global_indices(origin, self._thread_coords(thread), point)
                for acc, out in zip(accumulators, range(len(self.outputs)), strict=True):
                    memref.store(self._load_global(out, index), acc, [thread, b.const_index(slot)])
        self._build_reduction_stages(origin, accumulators, self.red_loops, {})
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for slot, point in enumerate(self.reg_points):
                index = self._global_indices(origin, self._thread_coords(thread), point)
                values = [memref.load(acc, [thread, b.const_index(slot)]) for acc in accumulators]
                self._store_outputs(values, index)

    def _build_tensor_core_reduction(self, origin: dict[int, ir.Value]) -> None:
        """A contraction as warps of m16n8k16 steps: each warp owns tiles_m x tiles_n
        accumulator tiles; each thread holds its four fragment elements of each tile."""
        plan = self.mma
        self.smem = {i: self._alloc_shared(i) for i in self.staged}
        slots = plan.tiles_m * plan.tiles_n * 4
        f32 = ir.F32Type.get()
        acc = memref.alloca(_memref_type([self.num_threads, slots], f32, PRIVATE), [], [])
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for slot, index in self._fragment_points(thread, origin):
                memref.store(self._load_global(0, index), acc, [thread, b.const_index(slot)])
        (loop,) = self.red_loops
        with b.for_loop(0, self.extents[loop], self.block_tile[loop]) as k0:
            with b.parallel([self.num_threads]) as (_, (thread,)):
                for i in self.staged:
                    self._cooperative_load(i, thread, {**origin, loop: k0})
            _barrier()
            with b.parallel([self.num_threads]) as (_, (thread,)):
                self._build_mma_steps(thread, acc)
            _barrier()
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for slot, index in self._fragment_points(thread, origin):
                self._store_outputs([memref.load(acc, [thread, b.const_index(slot)])], index)

    def _warp_origin(self, thread: ir.Value) -> tuple[ir.Value, ir.Value]:
        """Where the thread's warp tile starts inside the block tile (m, n)."""
        plan = self.mma
        warp = b.div(thread, 32)
        row, col = b.div(warp, plan.warps_n), b.rem(warp, plan.warps_n)
        return b.mul(row, 16 * plan.tiles_m), b.mul(col, 8 * plan.tiles_n)

    def _fragment_points(self, thread, origin):
        """(accumulator slot, output loop indices) of every element the thread holds."""
        plan = self.mma
        warp_m, warp_n = self._warp_origin(thread)
        group, pair = lane_coords(thread)
        for tile_m, tile_n, e in product(range(plan.tiles_m), range(plan.tiles_n), range(4)):
            row, col = acc_position(group, pair, e)
            m = b.add(arith.addi(origin[plan.m], warp_m), b.add(row, 16 * tile_m))
            n = b.add(arith.addi(origin[plan.n], warp_n), b.add(col, 8 * tile_n))
            yield (tile_m * plan.tiles_n + tile_n) * 4 + e, {plan.m: m, plan.n: n}

    def _build_mma_steps(self, thread: ir.Value, acc: ir.Value) -> None:
        plan = self.mma
        warp_m, warp_n = self._warp_origin(thread)
        a, bm = (self.smem[i] for i in range(2))
        for kk in range(0, self.block_tile[plan.k], 16):
            for tile_m, tile_n in product(range(plan.tiles_m), range(plan.tiles_n)):
                slot = (tile_m * plan.tiles_n + tile_n) * 4
                operands = [
                    a, bm, acc, thread,
                    b.add(warp_m, 16 * tile_m), b.const_index(kk),
                    b.const_index(kk), b.add(warp_n, 8 * tile_n),
                    b.const_index(slot),
                ]  # fmt: skip
                ir.Operation.create(
                    "tile.mma",
                    operands=operands,
                    attributes={"shape": ir.StringAttr.get("m16n8k16")},
                )

    def _build_reduction_stages(self, origin, accumulators, remaining, k_origin) -> None:
        """One scf.for per reduction loop over its tiles; the innermost holds the two phases."""
        if self.double_buffered:
            self._build_double_buffered_stages(origin, accumulators)
            return
        if remaining:
            loop, rest = remaining[0], remaining[1:]
            with b.for_loop(0, self.extents[loop], self.block_tile[loop]) as k0:
                self._build_reduction_stages(origin, accumulators, rest, {**k_origin, loop: k0})
            return
        tile_origin = {**origin, **k_origin}
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for i in self.staged:
                self._cooperative_load(i, thread, tile_origin)
        _barrier()
        with b.parallel([self.num_threads]) as (_, (thread,)):
            self._build_register_tile(thread, origin, k_origin, accumulators, self.red_loops, {})
        _barrier()

    def _build_double_buffered_stages(self, origin, accumulators) -> None:
        """One reduction loop, two shared buffers per input: while stage k computes from one
        half, the threads already copy stage k+1 into the other, and one barrier per stage
        suffices (the half being filled was last read before the previous barrier)."""
        (loop,) = self.red_loops
        step, extent = self.block_tile[loop], self.extents[loop]
        with b.parallel([self.num_threads]) as (_, (thread,)):
            for i in self.staged:
                first = {**origin, loop: b.const_index(0)}
                self._cooperative_load(i, thread, first, b.const_index(0))
        _barrier()
        with b.for_loop(0, extent, step) as k0:
            half = b.rem(b.div(k0, step), 2)
            other = arith.subi(b.const_index(1), half)
            following = b.add(k0, step)
            with b.parallel([self.num_threads]) as (_, (thread,)):
                with b.only_if(b.all_less_than([(following, extent)])):
                    for i in self.staged:
                        self._cooperative_load(i, thread, {**origin, loop: following}, other)
                self._build_register_tile(
                    thread, origin, {loop: k0}, accumulators, self.red_loops, {}, half
                )
            _barrier()

    def _build_register_tile(
        self, thread, origin, k_origin, accumulators, remaining, k_local, half=None
    ):
        """Loops over the reduction tile (bounded at the operand's edge), then every point."""
        if remaining:
            loop, rest = remaining[0], remaining[1:]
            bound = b.const_index(self.block_tile[loop])
            if loop in self.padded:
                left = arith.subi(b.const_index(self.extents[loop]), k_origin[loop])
                bound = arith.minui(bound, left)
            with b.for_loop(0, bound, 1) as kk:
                self._build_register_tile(
                    thread, origin, k_origin, accumulators, rest, {**k_local, loop: kk}, half
                )
            return
        coords = self._thread_coords(thread)
        for slot, point in enumerate(self.reg_points):
            local = {**self._local_indices(coords, point), **k_local}
            index = {loop: b.add(origin[loop], local[loop]) for loop in self.par_loops}
            index.update({loop: b.add(k_origin[loop], k_local[loop]) for loop in self.red_loops})
            ins = [self._load_input(i, index, local, half) for i in range(len(self.inputs))]
            slot_index = b.const_index(slot)
            outs = [memref.load(acc, [thread, slot_index]) for acc in accumulators]
            values = self._clone_body(ins + outs, index)
            for acc, value in zip(accumulators, values, strict=True):
                memref.store(value, acc, [thread, slot_index])

    def _cooperative_load(
        self, i: int, thread: ir.Value, tile_origin: dict[int, ir.Value], half=None
    ):
        """All threads copy input ``i``'s tile footprint into shared memory.

        Rows move as 128-bit vectors where alignment allows (``ld.global.v4`` on the GPU).
        Elements outside the operand and the padding columns are written as zero: the padding
        is never used, but vectorized reads may touch it, and no shared byte is ever read
        before it is written.
        """
        footprint = self._footprint(i)
        padded = self._padded_footprint(i)
        operand = ir.MemRefType(self.inputs[i].type)
        width = self._vector_width(i)
        chunks = [*padded[:-1], padded[-1] // width]
        with b.for_loop(thread, math.prod(chunks), self.num_threads) as element:
            local = b.delinearize(element, chunks)
            local[-1] = b.mul(local[-1], width)
            index, checks = [], []
            for form, offset, size, span in zip(
                self.forms[i], local, operand.shape, footprint, strict=True
            ):
                index.append(b.add(self._evaluate(form, tile_origin, constant=True), offset))
                if self._max_origin(form) + span > size:
                    checks.append((index[-1], size))
            if padded[-1] != footprint[-1]:
                checks.append((local[-1], footprint[-1]))
            inside = b.all_less_than(checks)
            value_type = operand.element_type
            if width > 1:
                value_type = ir.VectorType.get([width], operand.element_type)
            value = b.select_or(
                inside, lambda: self._read(i, index, value_type), b.zero_of(value_type), value_type
            )
            self._write(value, self.smem[i], self._smem_index(half, local))

    @staticmethod
    def _alignment(value_type: ir.Type) -> int:
        return value_type.shape[0] * _bytes(value_type.element_type)

    def _read(self, i: int, index: list[ir.Value], value_type: ir.Type) -> ir.Value:
        if not isinstance(value_type, ir.VectorType):
            return memref.load(self.inputs[i], index)
        alignment = self._alignment(value_type)
        return vector.load(value_type, self.inputs[i], index, alignment=alignment)

    def _write(self, value: ir.Value, buffer: ir.Value, index: list[ir.Value]) -> None:
        if not isinstance(value.type, ir.VectorType):
            memref.store(value, buffer, index)
            return
        vector.store(value, buffer, index, alignment=self._alignment(value.type))

    def _vector_width(self, i: int) -> int:
        """Elements per 128-bit copy of input ``i``'s rows, or 1 when alignment forbids it.

        Needs a contiguous innermost dimension (indexed by one loop), rows and tile origins
        that start on a 16-byte boundary, and shared rows whose padded length keeps it.
        """
        operand = ir.MemRefType(self.inputs[i].type)
        if not self.forms[i] or not _bytes(operand.element_type):
            return 1
        width = 16 // _bytes(operand.element_type)
        loop = self.forms[i][-1].single_loop()
        aligned = [
            operand.shape[-1],
            self.block_tile[loop] if loop is not None else 1,
            self._footprint(i)[-1],
            self._padded_footprint(i)[-1],
        ]
        if loop is None or width < 2 or any(extent % width for extent in aligned):
            return 1
        return width

    def _max_origin(self, form: Linear) -> int:
        """The largest value ``form`` takes at any tile origin (the last tile of each loop)."""
        last = {
            loop: (math.ceil(self.extents[loop] / self.block_tile[loop]) - 1)
            * self.block_tile[loop]
            for loop in form.loops
        }
        return form.constant + sum(coeff * last[loop] for loop, coeff in form.coeffs)

    @staticmethod
    def _smem_index(half: ir.Value | None, local: list[ir.Value]) -> list[ir.Value]:
        """Shared-buffer indices, behind the buffer half when the stages are double-buffered."""
        return local if half is None else [half, *local]

    def _load_input(self, i: int, index: dict[int, ir.Value], local: dict[int, ir.Value], half):
        value = self.inputs[i]
        if not _is_memref(value):
            return value
        if i in self.staged:
            smem_index = [self._evaluate(form, local, constant=False) for form in self.forms[i]]
            return memref.load(self.smem[i], self._smem_index(half, smem_index))
        return memref.load(value, self._operand_indices(i, index, clamp=True))

    def _load_global(self, out: int, index: dict[int, ir.Value]) -> ir.Value:
        operand = len(self.inputs) + out
        return memref.load(self.outputs[out], self._operand_indices(operand, index, clamp=True))

    def _store_outputs(self, values: list[ir.Value], index: dict[int, ir.Value]) -> None:
        inside = b.all_less_than([(index[loop], self.extents[loop]) for loop in self.padded_par])
        with b.only_if(inside):
            for out, value in enumerate(values):
                indices = self._operand_indices(len(self.inputs) + out, index, clamp=False)
                memref.store(value, self.outputs[out], indices)

    @property
    def padded_par(self) -> list[int]:
        return [loop for loop in self.par_loops if loop in self.padded]

    def _operand_indices(self, operand: int, index: dict[int, ir.Value], clamp: bool):
        """Operand ``operand``'s indices at loop indices ``index``; clamped into it when asked
        (a padded tile reads a valid element it then ignores)."""
        shape = ir.MemRefType([*self.inputs, *self.outputs][operand].type).shape
        result = []
        for form, size in zip(self.forms[operand], shape, strict=True):
            value = self._evaluate(form, index, constant=True)
            if clamp and any(loop in self.padded for loop in form.loops):
                value = arith.minui(value, b.const_index(size - 1))
            result.append(value)
        return result

    @staticmethod
    def _evaluate(form: Linear, index: dict[int, ir.Value], constant: bool) -> ir.Value:
        """``sum(coeff * index[loop]) (+ constant)`` as index arithmetic."""
        value = None
        for loop, coeff in form.coeffs:
            term = b.mul(index[loop], coeff)
            value = term if value is None else arith.addi(value, term)
        offset = form.constant if constant else 0
        if value is None:
            return b.const_index(offset)
        return b.add(value, offset)

    def _clone_body(self, operands: list[ir.Value], index: dict[int, ir.Value]) -> list[ir.Value]:
        """Clone the generic's scalar body at the insertion point; return the yielded values.

        ``linalg.index`` becomes the loop index of the point; values defined outside the
        generic (buffers read with computed indices) are used as they are.
        """
        body = self.op.regions[0].blocks[0]
        mapping = {arg: value for arg, value in zip(body.arguments, operands, strict=True)}
        for op in body.operations:
            if op.name == "linalg.yield":
                return [mapping.get(v, v) for v in op.operands]
            if op.name == "linalg.index":
                mapping[op.results[0]] = index[ir.IntegerAttr(op.attributes["dim"]).value]
                continue
            clone = op.clone()
            for old, new in mapping.items():
                clone.operation.replace_uses_of_with(old, new)
            for old, new in zip(op.results, clone.results, strict=True):
                mapping[old] = new
        raise PassError("operator body has no linalg.yield", self.op)

    def _thread_coords(self, thread: ir.Value) -> dict[int, ir.Value]:
        extents = [self.threads[loop] for loop in self.par_loops]
        return dict(zip(self.par_loops, b.delinearize(thread, extents), strict=True))

    def _local_indices(self, coords: dict[int, ir.Value], point: tuple[int, ...]):
        return {
            loop: b.add(coords[loop], self.threads[loop] * step)
            for loop, step in zip(self.par_loops, point, strict=True)
        }

    def _global_indices(self, origin, coords, point) -> dict[int, ir.Value]:
        local = self._local_indices(coords, point)
        return {loop: b.add(origin[loop], local[loop]) for loop in self.par_loops}

    def _footprint(self, i: int) -> list[int]:
        """The extent of input ``i`` one tile touches, per dimension."""
        return [form.span(self.block_tile) for form in self.forms[i]]

    def _padded_footprint(self, i: int) -> list[int]:
        """The shared buffer of input ``i``: its footprint, innermost dim padded."""
        shape = self._footprint(i)
        shape[-1] += self.program.smem_pad[i] if self.program.smem_pad else 0
        return shape

    def _alloc_shared(self, i: int) -> ir.Value:
        element_type = ir.MemRefType(self.inputs[i].type).element_type
        shape = self._padded_footprint(i)
        if self.double_buffered:
            shape = [2, *shape]
        # 16-byte aligned for 128-bit row copies, but only when the buffer is a whole number of
        # 16-byte granules: LLVM widens loads up to the known alignment, and would otherwise
        # read past the end of the buffer.
        size = math.prod(shape) * _bytes(element_type)
        alignment = 16 if size % 16 == 0 else max(_bytes(element_type), 1)
        buffer_type = _memref_type(shape, element_type, WORKGROUP)
        return memref.alloca(buffer_type, [], [], alignment=alignment)

    def _alloc_accumulator(self, output: ir.Value) -> ir.Value:
        element_type = ir.MemRefType(output.type).element_type
        shape = [self.num_threads, len(self.reg_points)]
        return memref.alloca(_memref_type(shape, element_type, PRIVATE), [], [])


def _memref_type(shape: list[int], element_type: ir.Type, space: str) -> ir.MemRefType:
    return ir.MemRefType.get(shape, element_type, memory_space=ir.Attribute.parse(space))


def _barrier() -> None:
    ir.Operation.create("schedule.barrier", attributes={"scope": ir.StringAttr.get("cta")})


def _bytes(element_type: ir.Type) -> int:
    """Bytes of a float or integer element; 0 for anything narrower than a byte (i1)."""
    return element_type.width // 8 if hasattr(element_type, "width") else 0


def _is_memref(value: ir.Value) -> bool:
    return isinstance(value.type, ir.MemRefType)
