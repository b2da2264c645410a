"""The cuda device without a GPU: CudaDevice on a stand-in for cuda.bindings.driver that runs the
kernels in the PTX emulator (fake_cuda.py), so argument marshalling, buffer reuse, limits,
error mapping and the watchdog are checked on real numbers. Where NVIDIA's cuda-bindings is
installed, every call's arguments are also checked against it. The test that needs a driver
skips where there is none."""

from __future__ import annotations

import sys
import time

import fake_cuda
import numpy as np
import pytest
from conftest import python, small_feeds, small_reference

import quartet.runtime
from quartet.errors import QuartetError
from quartet.runtime.artifact import Argument, Artifact, KernelImage, NamedTensor, read, write
from quartet.runtime.cuda import CudaDevice
from quartet.runtime.program import Buffer, HostProgram, Launch
from quartet.signature import TensorSpec


@pytest.fixture
def driver(monkeypatch):
    return fake_cuda.install(monkeypatch, fake_cuda.FakeDriver())


def test_an_artifact_on_the_cuda_device_computes_what_the_cpu_form_does(driver, small_artifact):
    model = quartet.runtime.load(small_artifact)
    feeds = small_feeds()
    outputs = model.run(feeds, device="cuda")
    expected = model.run(feeds, device="cpu")
    np.testing.assert_allclose(outputs["y"], expected["y"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(outputs["unmasked"], small_reference(feeds)["unmasked"])
    np.testing.assert_array_equal(outputs["x_shape"], [4, 8])
    host = model.artifact.host
    assert driver.launched == [step.kernel for step in host.launches]
    assert driver.count("cuModuleLoadDataEx") == len(model.artifact.kernels)


def test_buffers_are_allocated_and_weights_written_once(driver, small_artifact):
    model = quartet.runtime.load(small_artifact)
    host = model.artifact.host
    model.run(small_feeds(1), device="cuda")
    allocations, uploads = driver.count("cuMemAlloc"), driver.count("cuMemcpyHtoDAsync")
    assert allocations == sum(buffer.view_of is None for buffer in host.buffers)
    second = model.run(small_feeds(2), device="cuda")
    inputs = sum(argument.role == "input" for argument in model.artifact.arguments)
    assert driver.count("cuMemAlloc") == allocations
    # The weight is not sent again: each run sends its inputs, the inference's number (the
    # persistent kernel's epoch) and a zeroed error word.
    per_run = inputs + (host.epoch is not None) + (host.errors is not None)
    assert driver.count("cuMemcpyHtoDAsync") == uploads + per_run
    expected = small_reference(small_feeds(2))
    np.testing.assert_allclose(second["y"], expected["y"], rtol=1e-5, atol=1e-6)
    model.close()
    assert driver.memory == {} and driver.count("cuDevicePrimaryCtxRelease") == 1


def test_bench_times_runs_with_cuda_events(driver, small_artifact):
    model = quartet.runtime.load(small_artifact)
    seconds = model.bench(small_feeds(), device="cuda", runs=4, warmup=2)
    assert seconds == [0.25e-3] * 4  # the fake's cuEventElapsedTime: 0.25 ms
    launches = len(model.artifact.host.launches)
    assert len(driver.launched) == (1 + 2 + 4) * launches
    assert driver.count("cuEventElapsedTime") == 1 + 2 + 4


def test_a_failing_call_is_an_error_naming_the_call_and_the_kernel(driver, small_artifact):
    model = quartet.runtime.load(small_artifact)
    first = model.artifact.host.launches[0]
    call = "cuLaunchCooperativeKernel" if first.cooperative else "cuLaunchKernel"
    driver.fail[call] = fake_cuda.CUresult.CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES
    with pytest.raises(QuartetError) as caught:
        model.run(small_feeds(), device="cuda")
    assert str(caught.value) == (
        f"error: CUDA: {call} for kernel {first.kernel} failed: "
        "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (fake description of "
        "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)"
    )


def test_a_failing_allocation_names_the_call(driver, small_artifact):
    driver.fail["cuMemAlloc"] = fake_cuda.CUresult.CUDA_ERROR_OUT_OF_MEMORY
    with pytest.raises(QuartetError, match="cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY"):
        quartet.runtime.load(small_artifact).run(small_feeds(), device="cuda")


def test_a_kernel_failing_on_the_gpu_is_named(driver, small_artifact):
    model = quartet.runtime.load(small_artifact)
    first = model.artifact.host.launches[0].kernel
    driver.fail["cuEventQuery"] = fake_cuda.CUresult.CUDA_ERROR_ILLEGAL_ADDRESS
    with pytest.raises(QuartetError, match=f"cuEventQuery for kernel {first} failed: CUDA_ERR"):
        model.run(small_feeds(), device="cuda")


def test_a_jit_failure_carries_the_jit_log(driver, small_artifact):
    driver.jit_error = "ptxas application ptx input, line 7; error: Unknown symbol 'x'"
    model = quartet.runtime.load(small_artifact)
    first = model.artifact.kernels[0].name
    with pytest.raises(QuartetError) as caught:
        model.run(small_feeds(), device="cuda")
    assert f"cuModuleLoadDataEx for kernel {first} failed: CUDA_ERROR_INVALID_PTX" in str(
        caught.value
    )
    assert str(caught.value).endswith(f"the JIT says:\n{driver.jit_error}")


def test_a_hung_kernel_is_reported_by_the_watchdog(driver, small_artifact):
    model = quartet.runtime.load(small_artifact, watchdog=0.2)
    hung = model.artifact.host.launches[-1].kernel
    driver.hang = hung
    start = time.monotonic()
    with pytest.raises(QuartetError, match=f"kernel {hung} did not finish within the 0.2 s"):
        model.run(small_feeds(), device="cuda")
    assert time.monotonic() - start < 5
    with pytest.raises(QuartetError, match="cannot be used after that"):
        model.run(small_feeds(), device="cuda")


def test_without_a_driver_the_error_says_so(driver):
    driver.no_driver = True
    with pytest.raises(QuartetError, match="no CUDA driver found .*needs an NVIDIA GPU"):
        CudaDevice()


def test_a_driver_without_a_gpu_says_so(driver):
    driver.fail["cuInit"] = fake_cuda.CUresult.CUDA_ERROR_NO_DEVICE
    with pytest.raises(QuartetError, match="the driver is installed but finds no GPU"):
        CudaDevice()


def test_without_cuda_bindings_the_error_says_how_to_get_them(monkeypatch):
    for name in ("cuda", "cuda.bindings", "cuda.bindings.driver"):
        monkeypatch.setitem(sys.modules, name, None)  # what an absent package imports as
    with pytest.raises(QuartetError, match="needs NVIDIA's cuda-bindings .pip install cuda-b"):
        CudaDevice()


def test_the_runtime_imports_the_bindings_only_for_the_cuda_device(small_artifact):
    done = python(
        f"""
        import sys, quartet.runtime
        from conftest import small_feeds
        model = quartet.runtime.load({str(small_artifact)!r})
        model.run(small_feeds(), device="cpu")
        print(sorted(name for name in sys.modules if name.split(".")[0] == "cuda"))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


ADD_ONE = """
.version 8.0
.target sm_90
.address_size 64

.extern .shared .align 16 .b8 dynamic_shared[];

.visible .entry add_one(
\t.param .u64 add_one_param_0,
\t.param .u64 add_one_param_1
)
{
\t.reg .b32 %r<5>;
\t.reg .f32 %f<3>;
\t.reg .b64 %rd<8>;

\tld.param.u64 %rd1, [add_one_param_0];
\tld.param.u64 %rd2, [add_one_param_1];
\tcvta.to.global.u64 %rd3, %rd1;
\tcvta.to.global.u64 %rd4, %rd2;
\tmov.u32 %r1, %ctaid.x;
\tmov.u32 %r2, %ntid.x;
\tmov.u32 %r3, %tid.x;
\tmad.lo.s32 %r4, %r1, %r2, %r3;
\tmul.wide.s32 %rd5, %r4, 4;
\tadd.s64 %rd6, %rd3, %rd5;
\tld.global.f32 %f1, [%rd6];
\tadd.f32 %f2, %f1, 0f3F800000;
\tadd.s64 %rd7, %rd4, %rd5;
\tst.global.f32 [%rd7], %f2;
\tret;
}
"""


def add_one(blocks: int, shared_bytes: int, cooperative: bool) -> Artifact:
    """A hand-written kernel, y = x + 1, launched with dynamic shared memory, cooperatively
    if asked (a stand-in for Rammer's persistent kernels)."""
    spec = TensorSpec((blocks * 32,), np.dtype(np.float32))
    step = Launch("add_one", (blocks, 1, 1), (32, 1, 1), (0, 1), shared_bytes, cooperative)
    return Artifact(
        target="sm_90",
        entry="add_one",
        inputs=(NamedTensor("x", spec),),
        outputs=(NamedTensor("y", spec),),
        arguments=(Argument("input", "x", spec), Argument("output", "y", spec)),
        host=HostProgram((Buffer(spec, argument=0), Buffer(spec, argument=1)), (step,)),
        kernels=(KernelImage("add_one", ADD_ONE),),
        cpu=None,
        quartet_version="test",
    )


def test_dynamic_shared_memory_above_48_kb_raises_the_kernel_limit(driver, tmp_path):
    write(add_one(4, 100 * 1024, cooperative=False), tmp_path)
    model = quartet.runtime.Model(read(tmp_path))
    x = np.arange(128, dtype=np.float32)
    np.testing.assert_array_equal(model.run({"x": x}, device="cuda")["y"], x + 1)
    ((_, arguments),) = [call for call in driver.calls if call[0] == "cuFuncSetAttribute"]
    assert arguments[1:] == (
        fake_cuda.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        100 * 1024,
    )
    launch = next(arguments for name, arguments in driver.calls if name == "cuLaunchKernel")
    assert launch[1:8] == (4, 1, 1, 32, 1, 1, 100 * 1024)


def test_dynamic_shared_memory_under_48_kb_leaves_the_limit(driver):
    x = np.arange(64, dtype=np.float32)
    quartet.runtime.Model(add_one(2, 4096, cooperative=False)).run({"x": x}, device="cuda")
    assert driver.count("cuFuncSetAttribute") == 0


def test_more_shared_memory_than_the_gpu_has_is_refused(driver):
    model = quartet.runtime.Model(add_one(2, 300 * 1024, cooperative=False))
    with pytest.raises(QuartetError, match=r"add_one asks for 307200 bytes .* at most 232448"):
        model.run({"x": np.zeros(64, np.float32)}, device="cuda")


def test_a_cooperative_kernel_is_checked_for_co_residency_then_launched_cooperatively(driver):
    x = np.arange(264 * 32, dtype=np.float32)  # 264 blocks: 2 per SM on 132 SMs
    outputs = quartet.runtime.Model(add_one(264, 0, cooperative=True)).run({"x": x}, device="cuda")
    np.testing.assert_array_equal(outputs["y"], x + 1)
    assert driver.count("cuOccupancyMaxActiveBlocksPerMultiprocessor") == 1
    assert driver.count("cuLaunchCooperativeKernel") == 1 and driver.count("cuLaunchKernel") == 0


def test_a_cooperative_grid_that_does_not_fit_is_refused(driver):
    driver.blocks_per_sm = 1
    model = quartet.runtime.Model(add_one(133, 0, cooperative=True))
    with pytest.raises(QuartetError, match="needs its 133 blocks resident at once, .* 1 per SM"):
        model.run({"x": np.zeros(133 * 32, np.float32)}, device="cuda")
    assert driver.count("cuLaunchCooperativeKernel") == 0


def test_the_hand_written_artifact_round_trips_and_emulates(tmp_path):
    write(add_one(2, 64 * 1024, cooperative=True), tmp_path)
    artifact = read(tmp_path)
    assert artifact.host.steps[0].shared_bytes == 64 * 1024 and artifact.host.steps[0].cooperative
    x = np.ones(64, np.float32)
    np.testing.assert_array_equal(
        quartet.runtime.Model(artifact).run({"x": x}, device="emulator")["y"], x + 1
    )


def test_the_fake_driver_matches_the_real_bindings():
    """Every enum member the stand-in uses has the real name and value."""
    real = pytest.importorskip("cuda.bindings.driver", reason="cuda-bindings is not installed")
    for kind in fake_cuda.ENUMS:
        for member in kind:
            assert int(getattr(getattr(real, kind.__name__), member.name)) == member.value, member


def _driver_loads() -> bool:
    try:
        from cuda.bindings import driver
    except ImportError:
        return False
    try:
        return driver.cuInit(0)[0] == driver.CUresult.CUDA_SUCCESS
    except RuntimeError:
        return False


def test_real_bindings_without_a_driver_say_no_driver_was_found():
    pytest.importorskip("cuda.bindings.driver", reason="cuda-bindings is not installed")
    if _driver_loads():
        pytest.skip("a CUDA driver is present")
    with pytest.raises(QuartetError, match="no CUDA driver found"):
        CudaDevice()


@pytest.mark.skipif(not _driver_loads(), reason="no CUDA driver (needs an NVIDIA GPU)")
def test_on_a_real_gpu_the_artifact_matches_the_cpu_form(small_artifact):
    with quartet.runtime.load(small_artifact) as model:
        feeds = small_feeds()
        outputs = model.run(feeds, device="cuda")
        expected = model.run(feeds, device="cpu")
        np.testing.assert_allclose(outputs["y"], expected["y"], rtol=1e-5, atol=1e-6)
        assert min(model.bench(feeds, device="cuda", runs=5)) > 0


def test_a_persistent_kernel_runs_inference_after_inference_without_a_reset(driver, small_artifact):
    """Rammer's persistent kernel (the small model's one launch) is launched cooperatively
    after the co-residency check; its counters are zeroed once, when the model is loaded, and
    each run sets the epoch to its number, so the second run's waits wait for twice the tasks:
    both runs are right, and neither resets a counter."""
    model = quartet.runtime.load(small_artifact)
    host = model.artifact.host
    (launch,) = host.launches
    assert launch.cooperative and host.counters in launch.buffers
    for seed in (1, 2, 3):
        outputs = model.run(small_feeds(seed), device="cuda")
        expected = small_reference(small_feeds(seed))
        np.testing.assert_allclose(outputs["y"], expected["y"], rtol=1e-5, atol=1e-6)
    assert driver.count("cuLaunchCooperativeKernel") == 3 and driver.count("cuLaunchKernel") == 0
    assert driver.count("cuOccupancyMaxActiveBlocksPerMultiprocessor") == 1
    storage = model._kept["cuda"].loaded.storage
    counters = driver.memory[storage[host.counters].pointer].view(np.int32)
    assert int(driver.memory[storage[host.epoch].pointer].view(np.int32)[0]) == 3
    zeroings = [args for name, args in driver.calls if name == "cuMemsetD8Async"]
    assert [args[0] for args in zeroings].count(storage[host.counters].pointer) == 1  # at load
    (table,) = [buffer.constant for buffer in host.buffers if buffer.spec.shape[-1:] == (2,)]
    tasks = (table[..., 1] - table[..., 0]).sum(axis=1)  # per launch, over its vEUs
    np.testing.assert_array_equal(counters, 3 * tasks)  # every task of every run, never reset


def test_a_host_loop_runs_on_the_cuda_device(driver, loop_artifacts):
    """The GRU's kernels take the loop index by value (a 64-bit kernel parameter the fake
    driver decodes from kernelParams as the driver would) and the early-exit loop reads its
    condition back every iteration: both compute what the CPU form does."""
    for name in ("gru", "early_exit"):
        directory, feeds = loop_artifacts[name]
        model = quartet.runtime.load(directory)
        outputs, expected = model.run(feeds, device="cuda"), model.run(feeds, device="cpu")
        for output, value in expected.items():
            np.testing.assert_allclose(outputs[output], value, rtol=1e-5, atol=1e-6)
    reads = driver.count("cuMemcpyDtoHAsync")
    assert reads > len(model.outputs) + 2  # the condition, read back once per check


def test_bench_times_a_host_loop_that_reads_back_on_the_host_clock(driver, loop_artifacts):
    """The early-exit loop synchronizes at every read-back, where CUDA events restart: its
    runs are timed on the host's clock (never the fake's fixed 0.25 ms of the last segment)."""
    directory, feeds = loop_artifacts["early_exit"]
    model = quartet.runtime.load(directory)
    seconds = model.bench(feeds, device="cuda", runs=3, warmup=0)
    assert len(seconds) == 3 and all(s > 0 and s != 0.25e-3 for s in seconds)
