"""Roller: alignment rules and reuse scores against hand-computed figures, construction
invariants, hardware specs, and end-to-end compiles whose CPU form and emulated PTX match numpy
and whose PTX assembles without spills."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pytest

import quartet
from quartet.hardware import A100_SXM4, H100_SXM, V100_SXM2, host_cpu, spec_for
from quartet.hardware.cpu import _parse_size
from quartet.passes.iteration_space import Linear
from quartet.roller import Access, Config, Operator, construct
from quartet.roller.align import aligned_sizes, bank_conflict_ways, loop_units, smem_pads, waste
from quartet.roller.config import register_words
from quartet.roller.construct import GPU_REGISTER_BUDGET, best_of_space
from quartet.roller.plan import plan_for, smem_bytes
from quartet.roller.reuse import block_reuse_score, global_traffic, reg_reuse_score, smem_traffic

EXAMPLES = Path(quartet.__file__).parent / "examples"


def dim(loop: int) -> Linear:
    return Linear(((loop, 1),), 0)


def matmul(m: int, n: int, k: int, element: str = "f32") -> Operator:
    """C(m,n) += A(m,k) B(k,n): loops (d0, d1, d2) = (m, n, k)."""
    size = 2 if element == "f16" else 4
    return Operator(
        extents=(m, n, k),
        parallel=(True, True, False),
        inputs=(
            Access((dim(0), dim(2)), (m, k), element, size),
            Access((dim(2), dim(1)), (k, n), element, size),
        ),
        outputs=(Access((dim(0), dim(1)), (m, n), "f32", 4),),
    )


def row_max(rows: int, cols: int) -> Operator:
    return Operator(
        extents=(rows, cols),
        parallel=(True, False),
        inputs=(Access((dim(0), dim(1)), (rows, cols), "f32", 4),),
        outputs=(Access((dim(0),), (rows,), "f32", 4),),
        flops_per_point=1,
    )


# -- alignment -----------------------------------------------------------------------------


def test_aligned_sizes_double_from_the_unit_and_bound_the_padding():
    # 512 would pad 768 to 1024 (a third): left out; the whole extent closes the list.
    assert aligned_sizes(768, 8) == [8, 16, 32, 64, 128, 256, 768]
    assert aligned_sizes(3072, 8)[-3:] == [512, 1024, 3072]
    assert waste(768, 512) == pytest.approx(1 / 3)


def test_aligned_sizes_of_small_and_irregular_loops():
    assert aligned_sizes(3, 1) == [1, 3]  # a 3x3 window loop: 2 and 4 pad too much
    assert aligned_sizes(49, 8) == [8, 49]  # 8 pads 49 to 56 (14%), 16 to 64 (31%)
    assert aligned_sizes(10, 8) == [10]  # no aligned size within the bound: whole extent
    assert aligned_sizes(56, 8) == [8, 16, 32, 64]  # 64 covers 56 padding 14%


def test_units_follow_contiguous_dimensions_and_the_tensor_core_shape():
    assert loop_units(matmul(128, 768, 768), 32, (16, 8, 16)) == [1, 8, 8]
    # f16: a 32-byte sector holds 16 halves; m16n8k16 aligns m and k to 16, n to lcm(16, 8).
    assert loop_units(matmul(128, 768, 768, "f16"), 32, (16, 8, 16)) == [16, 16, 16]
    # A loop shorter than its unit takes its whole extent.
    assert loop_units(matmul(128, 4, 768), 32, None) == [1, 4, 8]


def test_column_reads_of_a_staged_row_buffer_conflict_until_padded():
    op, config = row_max(1536, 128), Config((32, 16), (1, 1))
    # Thread t reads word 16 t: all 32 threads in banks 0 and 16, 16 words per bank.
    assert bank_conflict_ways(op, config, 0, pad=0) == 16
    assert bank_conflict_ways(op, config, 0, pad=1) == 1  # stride 17: 32 distinct banks
    assert bank_conflict_ways(op, config, 0, pad=4) == 4  # stride 20: banks repeat every 8
    assert smem_pads(op, config) == (1,)


def test_matmul_pads_a_by_one_vector_and_leaves_b():
    # 16 threads along n: a warp reads two rows of A (64 + pad wide), all of a row of B.
    op, config = matmul(128, 768, 768), Config((64, 64, 64), (4, 4, 1))
    assert bank_conflict_ways(op, config, 0, pad=0) == 2
    assert bank_conflict_ways(op, config, 1, pad=0) == 1
    assert smem_pads(op, config) == (4, 0)  # 4 f32 = 16 bytes: rows stay vector aligned


# -- traffic and reuse ---------------------------------------------------------------------


def test_global_traffic_and_block_reuse_score_by_hand():
    op = matmul(128, 768, 768)
    # 2 x 12 blocks x 48 stages x (64x16 + 16x64) x 4 B, plus C read and written: 2 x 128x768x4.
    assert global_traffic(op, (64, 64, 16)) == 24 * 48 * 2048 * 4 + 2 * 128 * 768 * 4
    # Growing m to 128: 12 blocks x 48 x (128x16 + 16x64) x 4 + C = 7864320 B; 2359296 saved
    # for 20480 more on-chip bytes (A tile +4096 B, C tile +16384 B).
    assert global_traffic(op, (128, 64, 16)) == 7864320
    assert block_reuse_score(op, (64, 64, 16), (128, 64, 16)) == pytest.approx(115.2)
    # A deeper stage moves the same bytes: no reuse.
    assert block_reuse_score(op, (64, 64, 16), (64, 64, 32)) == 0


def test_register_reuse_score_by_hand():
    op = matmul(128, 768, 768)
    # A 4x4 tile loads 4 + 4 operands per reduction step for 16 points: 2 B per point.
    assert smem_traffic(op, (4, 4, 1)) == 2 * 128 * 768 * 768
    # 16 accumulators + 8 operands + 24 for addressing.
    assert register_words(op, (4, 4, 1)) == 48
    # 8x4: 1.5 B per point; 37748736 B saved for 20 registers (80 B).
    assert reg_reuse_score(op, (4, 4, 1), (8, 4, 1)) == pytest.approx(37748736 / 80)


def test_pointwise_reuse_comes_only_from_broadcast_operands():
    bias = Operator(
        extents=(1024, 3072),
        parallel=(True, True),
        inputs=(
            Access((dim(0), dim(1)), (1024, 3072), "f32", 4),
            Access((dim(1),), (3072,), "f32", 4),
        ),
        outputs=(Access((dim(0), dim(1)), (1024, 3072), "f32", 4),),
    )
    assert block_reuse_score(bias, (8, 128), (16, 128)) > 0  # bias row re-read per block row
    assert block_reuse_score(bias, (8, 128), (8, 256)) == 0
    assert smem_traffic(bias, (1, 4)) == 0


MMA = (16, 8, 16)


def test_shared_memory_counts_padding_and_double_buffering():
    op = matmul(64, 1024, 512)
    config = Config((16, 32, 128), (2, 4, 1), (4, 0))
    assert plan_for(op, config, MMA).double_buffer  # one reduction loop, four stages
    assert smem_bytes(op, config, MMA) == 2 * (16 * 132 + 128 * 32) * 4  # 49664 > 48 KB static
    whole_k = Config((16, 32, 512), (2, 4, 1), (0, 0))
    assert not plan_for(op, whole_k, MMA).double_buffer  # a single stage: nothing to overlap


# -- construction --------------------------------------------------------------------------


SHAPES = [
    matmul(128, 768, 768),
    matmul(128, 3072, 768),
    matmul(8192, 64, 1024),
    matmul(1, 1000, 2048),
    matmul(128, 768, 768, "f16"),
    row_max(1536, 128),
]


@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
@pytest.mark.parametrize("op", SHAPES, ids=lambda op: "x".join(map(str, op.extents)))
def test_every_candidate_is_realizable_by_the_lowering(op, arch):
    spec = spec_for(arch)
    ranked = construct(op, spec, 8)
    assert ranked
    for candidate in ranked:
        config = candidate.config
        for loop in op.par_loops:
            assert config.block[loop] % config.reg[loop] == 0
        assert all(config.reg[loop] == 1 for loop in op.red_loops)
        threads = config.threads(op)
        assert 32 <= threads <= 1024 and threads % 32 == 0
        assert smem_bytes(op, config, spec.mma_shape) <= spec.static_smem_per_block
        assert register_words(op, config.reg) <= GPU_REGISTER_BUDGET
        assert len(config.pads) == len(op.inputs)
    estimates = [candidate.estimate.seconds for candidate in ranked]
    assert estimates == sorted(estimates)


def test_top1_is_within_five_percent_of_the_exhaustive_best():
    spec = spec_for("sm_90")
    for op in SHAPES:
        top = construct(op, spec, 1)[0]
        best, space = best_of_space(op, spec)
        assert space > 0
        assert best.estimate.seconds / top.estimate.seconds >= 0.95


def test_cpu_construction_sizes_the_stage_to_the_caches():
    cpu = host_cpu()
    top = construct(matmul(256, 256, 256), cpu, 1)[0].config
    assert smem_bytes(matmul(256, 256, 256), top, None) <= cpu.l2_bytes
    assert top.points(matmul(256, 256, 256)) >= 8  # register tiles amortize operand loads


# -- hardware specs ------------------------------------------------------------------------


def test_every_gpu_spec_number_cites_a_source():
    source = (Path(quartet.__file__).parent / "hardware" / "specs.py").read_text()
    body = source[source.index("H100_SXM = GpuSpec(") :]
    for line in body.splitlines():
        if re.match(r"\s+\w+=[\d(]", line):
            assert re.search(r"# .*(\[[A-Z0-9-]+\]|PTX ISA)", line), line


def test_spec_figures_are_consistent():
    for arch in ("sm_90", "sm_80", "sm_70"):
        spec = spec_for(arch)
        cores = {"sm_90": 128, "sm_80": 64, "sm_70": 64}[arch]
        peak = spec.sm_count * cores * 2 * spec.clock_hz
        assert peak == pytest.approx(spec.fp32_flops, rel=0.01)
        assert spec.smem_per_block <= spec.smem_per_sm
    # 256 threads x 64 registers: 8 warps x 2048 registers, 4 blocks in 65536: half the warps.
    assert H100_SXM.blocks_per_sm(256, 64, 0) == 4
    assert H100_SXM.occupancy(256, 64, 0) == 0.5
    assert H100_SXM.blocks_per_sm(128, 32, 100 * 1024) == 2  # shared memory bound
    # Two blocks of 114 KB would fill the SM's 228 KB exactly, but CUDA reserves 1 KB more
    # per block on sm_80 and later: only one is resident (a persistent kernel counting two
    # would wait forever for the second).
    assert H100_SXM.blocks_per_sm(128, 32, 114 * 1024) == 1
    assert V100_SXM2.blocks_per_sm(128, 32, 48 * 1024) == 2  # no reserve on sm_70
    for spec in (H100_SXM, A100_SXM4):
        assert spec.smem_per_block + spec.smem_reserved_per_block == spec.smem_per_sm
    with pytest.raises(ValueError, match="unknown arch 'sm_75'"):
        spec_for("sm_75")


def test_host_cpu_spec():
    cpu = host_cpu()
    assert cpu.cores >= 1 and cpu.clock_hz > 0
    assert 0 < cpu.l1d_bytes < cpu.l2_bytes <= cpu.l3_bytes
    assert cpu.simd_bytes in (16, 32, 64) and cpu.simd_lanes(4) == cpu.simd_bytes // 4
    assert _parse_size("48K") == 48 * 1024 and _parse_size("32768K") == 32 << 20


# -- end to end ----------------------------------------------------------------------------

ROLLER = "quartet-roller{arch=sm_90}"


def _check_ptxas(model):
    assert model.kernels
    for kernel in model.kernels:
        info = model.ptxas[kernel.name]
        assert info.spill_stores == 0 and info.spill_loads == 0, kernel.name
        assert info.shared_bytes <= H100_SXM.static_smem_per_block
        assert info.registers <= 255


def test_mlp_with_roller_matches_numpy_and_assembles_without_spills():
    model = quartet.compile(EXAMPLES / "mlp.mlir", target="sm_90", tiling=ROLLER)
    assert ROLLER in model.pipeline
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 512), dtype=np.float32)
    weights = [
        (
            rng.standard_normal(shape, dtype=np.float32) * 0.05,
            rng.standard_normal(n, dtype=np.float32),
        )
        for shape, n in (((512, 1024), 1024), ((1024, 1024), 1024), ((1024, 10), 10))
    ]
    y = model.run(x, *[array for pair in weights for array in pair])
    expected = x
    for index, (w, b) in enumerate(weights):
        expected = expected @ w + b
        if index < 2:
            expected = np.maximum(expected, 0)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    _check_ptxas(model)


CONV = """
func.func @conv(%x: tensor<1x16x10x10xf32>, %f: tensor<24x16x3x3xf32>,
                %o: tensor<1x24x8x8xf32>) -> tensor<1x24x8x8xf32> {
  %r = linalg.conv_2d_nchw_fchw
      {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %f : tensor<1x16x10x10xf32>, tensor<24x16x3x3xf32>)
      outs(%o : tensor<1x24x8x8xf32>) -> tensor<1x24x8x8xf32>
  return %r : tensor<1x24x8x8xf32>
}
"""

BATCH_MATMUL = """
func.func @bmm(%a: tensor<3x40x24xf32>, %b: tensor<3x24x56xf32>,
               %c: tensor<3x40x56xf32>) -> tensor<3x40x56xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<3x40x24xf32>, tensor<3x24x56xf32>)
                           outs(%c : tensor<3x40x56xf32>) -> tensor<3x40x56xf32>
  return %r : tensor<3x40x56xf32>
}
"""

ROW_MAX = """
func.func @row_max(%x: tensor<96x72xf32>, %o: tensor<96xf32>) -> tensor<96xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<96x72xf32>) outs(%o : tensor<96xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %acc, %v : f32
    linalg.yield %m : f32
  } -> tensor<96xf32>
  return %r : tensor<96xf32>
}
"""


def _conv_reference(x, f, o):
    windows = np.lib.stride_tricks.sliding_window_view(x, f.shape[2:], axis=(2, 3))
    return o + np.einsum("fchw,nchwij->nfij", f, np.moveaxis(windows, (4, 5), (2, 3)))


CASES = [
    (CONV, [(1, 16, 10, 10), (24, 16, 3, 3), (1, 24, 8, 8)], _conv_reference),
    (BATCH_MATMUL, [(3, 40, 24), (3, 24, 56), (3, 40, 56)], lambda a, b, c: c + a @ b),
    (ROW_MAX, [(96, 72), (96,)], lambda x, o: np.maximum(o, x.max(axis=1))),
]


@pytest.mark.parametrize(("source", "shapes", "reference"), CASES, ids=["conv", "bmm", "row_max"])
def test_roller_tiled_operators_match_numpy(source, shapes, reference):
    model = quartet.compile(source, target="sm_90", tiling=ROLLER)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(shape, dtype=np.float32) for shape in shapes]
    expected = reference(*inputs)
    np.testing.assert_allclose(model.run(*inputs), expected, rtol=1e-4, atol=1e-4)
    _check_ptxas(model)
    # The PTX itself, in the emulator with every checker on (bounds, races, barriers).
    np.testing.assert_allclose(model.emulate(*inputs), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
def test_f16_contraction_tiles_take_the_tensor_core_path(chip):
    from programs import HALF_MATMUL  # test/python/programs.py, shared by the compile tests

    model = quartet.compile(HALF_MATMUL, target=chip, tiling=f"quartet-roller{{arch={chip}}}")
    (matmul,) = model.kernels  # the fill is the accumulator's initial value
    assert model.ptx[matmul.name].count("mma.sync.aligned.m16n8k16") > 0
    _check_ptxas(model)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((128, 256)).astype(np.float16)
    b = rng.standard_normal((256, 128)).astype(np.float16)
    expected = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_allclose(model.run(a, b), expected, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(model.emulate(a, b), expected, rtol=1e-3, atol=1e-3)


def test_roller_for_the_cpu_matches_numpy():
    model = quartet.compile(BATCH_MATMUL, target="cpu", tiling="quartet-roller{arch=cpu}")
    rng = np.random.default_rng(2)
    a, b, c = (
        rng.standard_normal(s, dtype=np.float32) for s in [(3, 40, 24), (3, 24, 56), (3, 40, 56)]
    )
    np.testing.assert_allclose(model.run(a, b, c), c + a @ b, rtol=1e-4, atol=1e-4)


def test_unknown_arch_is_a_located_user_error():
    with pytest.raises(quartet.QuartetError, match="unknown arch 'sm_75'"):
        quartet.compile(BATCH_MATMUL, target="sm_90", tiling="quartet-roller{arch=sm_75}")


def test_construction_is_fast():
    spec = spec_for("sm_90")
    op = matmul(128, 3072, 768)
    construct(op, spec, 8)  # warm imports
    fresh = matmul(128, 3072, 768)
    start = time.perf_counter()
    construct(fresh, spec, 8)
    assert time.perf_counter() - start < 1.0  # generous: shared CI cores
    assert math.isfinite(construct(fresh, spec, 1)[0].estimate.seconds)
