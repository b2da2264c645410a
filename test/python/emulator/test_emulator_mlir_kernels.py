"""Kernels as LLVM's NVPTX backend really emits them: MLIR GPU kernels lowered to PTX with the
bare-pointer ABI for sm_90, assembled by ptxas, emulated with all checkers on, checked against
numpy."""

import math

import numpy as np
import pytest
from emulator_harness import KERNELS_DIR

from quartet.emulator import EmulatorCheckError, launch


@pytest.fixture(scope="module")
def kernel_ptx(to_ptx):
    return lambda name: to_ptx((KERNELS_DIR / f"{name}.mlir").read_text())


@pytest.mark.parametrize(
    "name",
    ["vector_add", "tiled_matmul", "block_sum", "mma_matmul", "unary_math", "device_call", "trig"],
)
def test_emitted_ptx_assembles(kernel_ptx, ptxas, name):
    report = ptxas(kernel_ptx(name))
    assert "error" not in report.lower()


def test_vector_add_with_partial_last_block(kernel_ptx):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(1024).astype(np.float32)
    b = rng.standard_normal(1024).astype(np.float32)
    c = np.zeros(1024, np.float32)
    launch(kernel_ptx("vector_add"), "vector_add", 8, 128, [a, b, c, 1000])
    np.testing.assert_array_equal(c[:1000], a[:1000] + b[:1000])
    assert not c[1000:].any()


def test_vector_add_out_of_bounds_when_n_exceeds_the_buffer(kernel_ptx):
    a, b, c = (np.ones(1024, np.float32) for _ in range(3))
    with pytest.raises(EmulatorCheckError) as error:
        launch(kernel_ptx("vector_add"), "vector_add", 9, 128, [a, b, c, 1100])
    first = error.value.reports[0]
    assert first.kind == "out-of-bounds" and first.text.startswith("ld.global")
    assert first.thread == (0, 0, 0) and first.block == (8, 0, 0)  # index 1024
    assert first.count == 76
    assert (c == 2).all()


def test_tiled_matmul_256_cubed(kernel_ptx):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((256, 256)).astype(np.float32)
    b = rng.standard_normal((256, 256)).astype(np.float32)
    c = np.zeros((256, 256), np.float32)
    stats = launch(kernel_ptx("tiled_matmul"), "matmul", (4, 4), (16, 16), [a, b, c])
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    assert stats.barriers == 16 * 2 * (256 // 16)  # two barriers per k step in every block
    assert stats.warp_instructions > 1_000_000


def test_block_sum_with_warp_shuffles(kernel_ptx):
    x = np.random.default_rng(3).standard_normal(4096).astype(np.float32)
    out = np.zeros(16, np.float32)
    launch(kernel_ptx("block_sum"), "block_sum", 16, 256, [x, out])
    np.testing.assert_allclose(out, x.reshape(16, 256).sum(axis=1), rtol=1e-5, atol=1e-5)


def test_tensor_core_matmul(kernel_ptx):
    ptx = kernel_ptx("mma_matmul")
    assert "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32" in ptx
    assert "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16" in ptx
    rng = np.random.default_rng(4)
    a = rng.standard_normal((64, 64)).astype(np.float16)
    b = rng.standard_normal((64, 64)).astype(np.float16)
    c = np.zeros((64, 64), np.float32)
    launch(ptx, "mma_matmul", (8, 4), 32, [a, b, c])
    np.testing.assert_allclose(c, a.astype(np.float32) @ b.astype(np.float32), rtol=1e-4, atol=1e-3)


def test_libdevice_exp_and_erf(kernel_ptx):
    ptx = kernel_ptx("unary_math")
    assert "fma.rm.f32" in ptx  # __nv_expf, inlined
    a = np.linspace(-10, 10, 1024).astype(np.float32)
    b, c = np.zeros(1024, np.float32), np.zeros(1024, np.float32)
    launch(ptx, "unary_math", 8, 128, [a, b, c, 1000])
    exact_exp = np.exp(a[:1000].astype(np.float64))
    ulps = np.abs(b[:1000] - exact_exp) / np.spacing(exact_exp.astype(np.float32))
    assert ulps.max() < 2  # libdevice's expf is accurate to 2 ulp
    exact_erf = np.array([math.erf(x) for x in a[:1000].astype(np.float64)])
    np.testing.assert_allclose(c[:1000], exact_erf, rtol=0, atol=2e-7)
    assert not b[1000:].any() and not c[1000:].any()


def test_device_function_call(kernel_ptx):
    ptx = kernel_ptx("device_call")
    assert ".func  (.param .b32 func_retval0) helper(" in ptx
    assert "call.uni (retval0), helper, (param0);" in ptx
    a = np.linspace(-5, 5, 1024).astype(np.float32)
    b = np.zeros(1024, np.float32)
    launch(ptx, "call_helper", 8, 128, [a, b, 1000])
    exp = np.exp(a[:1000].astype(np.float64))
    # exp to within 2 ulp, then one f32 addition (half an ulp of the sum).
    exact = exp + a[:1000]
    error = np.abs(b[:1000].astype(np.float64) - exact)
    bound = 2 * np.spacing(exp.astype(np.float32)) + np.spacing(np.abs(exact).astype(np.float32))
    assert (error <= bound).all()
    assert not b[1000:].any()


def test_libdevice_sin_slow_paths(kernel_ptx):
    ptx = kernel_ptx("trig")
    assert "shf.l.wrap.b32" in ptx and "call.uni" in ptx and ".local" in ptx
    assert "madc.hi.cc.u32" in ptx
    rng = np.random.default_rng(5)
    magnitudes = np.exp2(rng.integers(-10, 120, 64).astype(np.float64))
    x = (rng.standard_normal(64) * magnitudes).astype(np.float32)
    y = rng.standard_normal(64) * np.exp2(rng.integers(-10, 1000, 64).astype(np.float64))
    s, d = np.zeros(64, np.float32), np.zeros(64)
    launch(ptx, "trig", 1, 64, [x, s, y, d])
    # numpy's sin is accurate to within an ulp, libdevice's to 2 (f32) and 2 (f64).
    exact32 = np.sin(x.astype(np.float64))
    assert (np.abs(s - exact32) <= 2 * np.spacing(np.abs(exact32).astype(np.float32)) + 1e-45).all()
    exact64 = np.sin(y)
    assert (np.abs(d - exact64) <= 3 * np.spacing(np.abs(exact64))).all()


# How handoff.mlir's thread 0 signals, and whether that orders its block's writes before the
# next block's reads. LLVM drops the ordering of an atomicrmw (PLATFORM.md): a plain atom.add.
HANDOFF_SIGNALS = {
    "atomicrmw release": (
        '%old = llvm.atomicrmw add %signal_ptr, %one syncscope("device") release : !llvm.ptr, i32',
        False,
    ),
    "fence then monotonic atomicrmw": (
        'llvm.fence syncscope("device") release\n'
        '        %old = llvm.atomicrmw add %signal_ptr, %one syncscope("device") monotonic'
        " : !llvm.ptr, i32",
        True,
    ),
    "release store": (
        'llvm.store %one, %signal_ptr atomic syncscope("device") release {alignment = 4 : i64}'
        " : i32, !llvm.ptr",
        True,
    ),
}


@pytest.mark.parametrize(("signal", "orders"), HANDOFF_SIGNALS.values(), ids=HANDOFF_SIGNALS)
def test_llvm_release_forms_across_blocks(to_ptx, ptxas, signal, orders):
    ptx = to_ptx((KERNELS_DIR / "handoff.mlir").read_text().replace("SIGNAL", signal))
    ptxas(ptx)
    flags, rows = np.zeros(128, np.int32), np.zeros(128 * 32, np.int32)
    if orders:
        stats = launch(ptx, "handoff", 128, 32, [flags, rows])
        assert rows.tolist() == [t + k for k in range(128) for t in range(32)]
        assert stats.global_loaded == 127 * 32 * 4  # LLVM's poll loop is recognised: no traffic
        return
    assert "atom.global.add.u32" in ptx and "fence" not in ptx
    with pytest.raises(EmulatorCheckError) as error:
        launch(ptx, "handoff", 128, 32, [flags, rows])
    (report,) = error.value.reports
    assert report.kind == "global-race" and report.text.startswith("ld.global.b32")
    assert report.block == (1, 0, 0) and report.other_block == (0, 0, 0)
    assert "races with a write by another block" in report.detail
