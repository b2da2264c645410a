"""Artifacts on the command line: ``quartet compile -o``, ``quartet run DIR``, ``python -m
quartet.runtime``; errors are one line with exit 1."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import onnx
from conftest import small_feeds, small_model, small_reference


def run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=300, check=False
    )


def quartet(*arguments: str) -> subprocess.CompletedProcess:
    return run("-c", "import sys; from quartet.tools.cli import main; sys.exit(main())", *arguments)


def runtime(*arguments: str) -> subprocess.CompletedProcess:
    return run("-m", "quartet.runtime", *arguments)


def one_line_error(done: subprocess.CompletedProcess, fragment: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert fragment in done.stderr, done.stderr


def test_compile_o_writes_an_artifact_that_quartet_run_runs(tmp_path):
    model = tmp_path / "small.onnx"
    onnx.save(small_model(), model)
    out = tmp_path / "out"
    done = quartet("compile", "-q", str(model), "-o", str(out), "--cpu-library")
    assert done.returncode == 0, done.stderr
    assert {"manifest.json", "weights.bin", "model.so", "report.json"} <= {
        path.name for path in out.iterdir()
    }
    feeds = small_feeds()
    np.savez(tmp_path / "feeds.npz", **feeds)
    for device in ("cpu", "emulator"):
        saved = tmp_path / f"{device}.npz"
        arguments = ["--inputs", str(tmp_path / "feeds.npz"), "--save-outputs", str(saved)]
        done = quartet("run", str(out), "--device", device, *arguments)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs = np.load(saved)
        np.testing.assert_allclose(outputs["y"], small_reference(feeds)["y"], rtol=1e-5, atol=1e-6)


def test_python_m_quartet_runtime_checks_and_benches(small_artifact):
    done = runtime(str(small_artifact), "--device", "emulator", "--check", "--bench", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran on the PTX emulator (sm_90)" in done.stdout
    assert "vs the CPU form: y: max abs error" in done.stdout and "check OK" in done.stdout
    assert "latency: median" in done.stdout and "over 2 runs after 3 warm-up" in done.stdout


def test_quartet_run_compiles_an_onnx_model_for_the_device_and_benches(tmp_path):
    model = tmp_path / "small.onnx"
    onnx.save(small_model(), model)
    done = quartet("run", "-q", str(model), "--device", "emulator", "--bench", "1", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PTX emulator (sm_90)" in done.stdout and "check OK" in done.stdout
    assert "latency: median" in done.stdout


def test_the_cuda_device_without_a_gpu_is_one_line(small_artifact):
    installed = importlib.util.find_spec("cuda") and importlib.util.find_spec("cuda.bindings")
    done = runtime(str(small_artifact), "--device", "cuda")
    one_line_error(done, "no CUDA driver found" if installed else "needs NVIDIA's cuda-bindings")


def test_artifact_errors_are_one_line(small_artifact, tmp_path):
    one_line_error(runtime(str(tmp_path)), "not a Quartet artifact (no manifest.json)")
    one_line_error(
        quartet("run", str(small_artifact), "--target", "sm_90"),
        "--target applies to .onnx models, not to an artifact",
    )
    one_line_error(
        runtime(str(small_artifact), "--bench", "0"), "--bench must be a positive number"
    )
    one_line_error(
        runtime(str(small_artifact), "--device", "cpu", "--expected", str(tmp_path / "x.npz")),
        "--expected",
    )
