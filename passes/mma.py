"""``tile.mma``: one m16n8k16 tensor-core step, expanded per target.

The fragment layouts are those of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with
floating point type"): with ``group = lane / 4`` and ``pair = lane % 4``, accumulator element
``e`` of a lane sits at row ``group + 8 * (e / 2)``, column ``2 * pair + e % 2``; A element ``e``
(of 8) at row ``group + 8 * ((e / 2) % 2)``, column ``2 * pair + e % 2 + 8 * (e / 4)``; B element
``e`` (of 4) at row ``2 * pair + e % 2 + 8 * (e / 2)``, column ``group``.

- :func:`expand_sequential` (CPU): each lane computes its own four dot products of length 16
  from shared memory, which needs no other lane, so the sequential phase semantics hold.
- :func:`expand_warp` (GPU): the warp loads its A and B fragments, with ``ldmatrix`` (x4 for
  A, x2 for B, ``.trans`` for an operand whose rows are the other way round) where every
  8-element row starts 16-byte aligned, else lane by lane, and issues one ``nvgpu.mma.sync``
  (PTX ``mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32``).
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
        a_fragment = _ldmatrix_a(a, thread, a_row, a_col) or _fragment(
            [
                memref.load(
                    a,
                    [
                        arith.addi(a_row, b.add(group, 8 * ((e // 2) % 2))),
                        arith.addi(a_col, b.add(b.mul(pair, 2), e % 2 + 8 * (e // 4))),
                    ],
                )
                for e in range(8)
            ],
            [4, 2],
            element,
        )
        b_fragment = _ldmatrix_b(bm, thread, b_row, b_col) or _fragment(
            [
                memref.load(
                    bm,
                    [
                        arith.addi(b_row, b.add(b.mul(pair, 2), e % 2 + 8 * (e // 2))),
                        arith.addi(b_col, group),
                    ],
                )
                for e in range(4)
            ],
            [2, 2],
            element,
        )
        acc_index = [[thread, b.add(slot, e)] for e in range(4)]
        acc_values = [memref.load(acc, index) for index in acc_index]
        result = nvgpu.mma_sync(
            ir.VectorType.get([2, 2], f32),
            a_fragment,
            b_fragment,
            _fragment(acc_values, [2, 2], f32),
            [16, 8, 16],
        )
        for e, index in enumerate(acc_index):
            memref.store(vector.extract(result, [], [e // 2, e % 2]), acc, index)
    op.erase()


def _ldmatrix_a(a: ir.Value, thread: ir.Value, row: ir.Value, col: ir.Value):
    """A's fragment with one ``ldmatrix.x4``, or None where its layout does not allow it.

    The four 8x8 tiles are (rows 0-7 | 8-15) x (cols 0-7 | 8-15) of the 16x16 tile, in the
    fragment's register order; lane ``l`` gives the address of row ``l % 8`` of tile ``l / 8``.
    A stored [m, k] (k contiguous) is read as it is; A stored [k, m] (a transposed view, m
    contiguous) with ``.trans``, each lane then addressing a k-row."""
    contiguous = _contiguous_dim(a)
    if contiguous is None:
        return None
    lane = b.rem(thread, 32)
    tile, line = b.div(lane, 8), b.rem(lane, 8)
    m0, k0 = b.mul(b.rem(tile, 2), 8), b.mul(b.div(tile, 2), 8)
    if contiguous == 1:  # rows are m: lane's row m0 + line, starting at k0
        index = [arith.addi(row, arith.addi(m0, line)), arith.addi(col, k0)]
    else:  # rows are k: lane's row k0 + line, starting at m0
        index = [arith.addi(row, m0), arith.addi(col, arith.addi(k0, line))]
    return _ldmatrix(a, index, contiguous == 0, 4)


def _ldmatrix_b(bm: ir.Value, thread: ir.Value, row: ir.Value, col: ir.Value):
    """B's fragment with one ``ldmatrix.x2`` (tiles k 0-7 and 8-15), or None. B stored
    [n, k] (k contiguous: Linear's weight) is read as it is, each lane addressing an n-row;
    B stored [k, n] with ``.trans``, each lane addressing a k-row."""
    contiguous = _contiguous_dim(bm)
    if contiguous is None:
        return None
    lane = b.rem(thread, 16)  # .x2 reads the addresses of lanes 0-15
    k0, line = b.mul(b.div(lane, 8), 8), b.rem(lane, 8)
    if contiguous == 0:  # rows are n: lane's row n = line, starting at k0
        index = [arith.addi(row, k0), arith.addi(col, line)]
    else:  # rows are k
        index = [arith.addi(row, arith.addi(k0, line)), col]
    return _ldmatrix(bm, index, contiguous == 1, 2)


def _contiguous_dim(buffer: ir.Value) -> int | None:
    """The dimension of a 2-D shared buffer whose elements are adjacent, when every 8-element
    row ldmatrix reads along it starts 16-byte aligned (the other stride a multiple of 8
    elements, the buffer's offset of 8), else None."""
    memref_type = ir.MemRefType(buffer.type)
    if memref_type.rank != 2 or ir.ShapedType(memref_type).element_type.width != 16:
        return None
    strides, offset = memref_type.get_strides_and_offset()
    if offset % 8 or 1 not in strides:
        return None
    contiguous = strides.index(1)
    return contiguous if strides[1 - contiguous] % 8 == 0 else None


def _ldmatrix(buffer: ir.Value, index: list[ir.Value], transpose: bool, tiles: int) -> ir.Value:
    element = ir.MemRefType(buffer.type).element_type
    result = ir.VectorType.get([tiles, 2], element)
    return nvgpu.ldmatrix(result, buffer, index, transpose, tiles)


def _fragment(values: list[ir.Value], shape: list[int], element: ir.Type) -> ir.Value:
    """The registers of one fragment, as the vector<RxCxT> nvgpu.mma.sync takes."""
    return vector.from_elements(ir.VectorType.get(shape, element), values)
