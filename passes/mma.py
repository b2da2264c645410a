"""``tile.mma``: one m16n8k16 tensor-core step, expanded per target.

The fragment layouts are those of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with
floating point type"): with ``group = lane / 4`` and ``pair = lane % 4``, accumulator element
``e`` of a lane sits at row ``group + 8 * (e / 2)``, column ``2 * pair + e % 2``; A element ``e``
(of 8) at row ``group + 8 * ((e / 2) % 2)``, column ``2 * pair + e % 2 + 8 * (e / 4)``; B element
``e`` (of 4) at row ``2 * pair + e % 2 + 8 * (e / 2)``, column ``group``.

- :func:`expand_sequential` (CPU): each lane computes its own four dot products of length 16
  from shared memory, which needs no other lane, so the sequential phase semantics hold.
- :func:`expand_warp` (GPU): each lane loads its A and B fragments and the warp issues one
  ``nvgpu.mma.sync`` (PTX ``mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32``).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, memref, nvgpu, vector

from quartet.passes import builder as b

K = 16


def _operands(op: ir.Operation):
    a, bm, acc, thread, a_row, a_col, b_row, b_col, slot = op.operands
    return a, bm, acc, thread, a_row, a_col, b_row, b_col, slot


def lane_coords(thread: ir.Value) -> tuple[ir.Value, ir.Value]:
    lane = b.rem(thread, 32)
    return b.div(lane, 4), b.rem(lane, 4)


def acc_position(group, pair, e: int) -> tuple[ir.Value, ir.Value]:
    return b.add(group, 8 * (e // 2)), b.add(b.mul(pair, 2), e % 2)


def expand_sequential(op: ir.Operation) -> None:
    """Replace ``op`` by the lane's four length-16 dot products in f32."""
    a, bm, acc, thread, a_row, a_col, b_row, b_col, slot = _operands(op)
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(op), op.location:
        group, pair = lane_coords(thread)
        for e in range(4):
            row, col = acc_position(group, pair, e)
            index = [thread, b.add(slot, e)]
            with b.for_loop(0, K, 1) as k:
                total = memref.load(acc, index)
                lhs = arith.extf(
                    f32, memref.load(a, [arith.addi(a_row, row), arith.addi(a_col, k)])
                )
                rhs = arith.extf(
                    f32, memref.load(bm, [arith.addi(b_row, k), arith.addi(b_col, col)])
                )
                memref.store(arith.addf(total, arith.mulf(lhs, rhs)), acc, index)
    op.erase()


def expand_warp(op: ir.Operation) -> None:
    """Replace ``op`` by fragment loads and one warp-wide ``nvgpu.mma.sync``."""
    a, bm, acc, thread, a_row, a_col, b_row, b_col, slot = _operands(op)
    element = ir.MemRefType(a.type).element_type
    f32 = ir.F32Type.get()
    with ir.InsertionPoint(op), op.location:
        group, pair = lane_coords(thread)
        a_values = [
            memref.load(
                a,
                [
                    arith.addi(a_row, b.add(group, 8 * ((e // 2) % 2))),
                    arith.addi(a_col, b.add(b.mul(pair, 2), e % 2 + 8 * (e // 4))),
                ],
            )
            for e in range(8)
        ]
        b_values = [
            memref.load(
                bm,
                [
                    arith.addi(b_row, b.add(b.mul(pair, 2), e % 2 + 8 * (e // 2))),
                    arith.addi(b_col, group),
                ],
            )
            for e in range(4)
        ]
        acc_index = [[thread, b.add(slot, e)] for e in range(4)]
        acc_values = [memref.load(acc, index) for index in acc_index]
        result = nvgpu.mma_sync(
            ir.VectorType.get([2, 2], f32),
            _fragment(a_values, [4, 2], element),
            _fragment(b_values, [2, 2], element),
            _fragment(acc_values, [2, 2], f32),
            [16, 8, 16],
        )
        for e, index in enumerate(acc_index):
            memref.store(vector.extract(result, [], [e // 2, e % 2]), acc, index)
    op.erase()


def _fragment(values: list[ir.Value], shape: list[int], element: ir.Type) -> ir.Value:
    """The registers of one fragment, as the vector<RxCxT> nvgpu.mma.sync takes."""
    return vector.from_elements(ir.VectorType.get(shape, element), values)
