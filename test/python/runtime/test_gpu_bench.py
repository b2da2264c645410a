"""bench/gpu without a GPU, as CI runs it: prepare.py on the small MLP, then run.sh says there
is no GPU, checks every artifact on the CPU through quartet.runtime, and exits 0; a wrong
reference makes it fail. And the weight generator gives the same bits everywhere."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "gpu"
sys.path.insert(0, str(BENCH))

from weights import generate  # noqa: E402


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gpu-bench")
    command = [sys.executable, str(BENCH / "prepare.py"), "--small", "--models", "mlp"]
    done = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def run_sh(artifacts: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out)}
    return subprocess.run(
        ["bash", str(BENCH / "run.sh"), "--artifacts", str(artifacts)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


def test_run_sh_without_a_gpu_checks_every_artifact_on_the_cpu(prepared, tmp_path):
    index = json.loads((prepared / "bench.json").read_text())
    names = [entry["name"] for entry in index["entries"]]
    assert names == [
        f"mlp-{d}-{v}" for d in ("f32", "f16") for v in ("quartet", "unfused", "norammer")
    ]
    assert all("max rel error" in entry["onnxruntime"] for entry in index["entries"])
    done = run_sh(prepared, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("no GPU here")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["device"] == "cpu"
    assert [entry["name"] for entry in results["entries"]] == names
    assert all(entry["check"].startswith("OK") for entry in results["entries"])


def test_run_sh_fails_when_an_artifact_disagrees_with_its_reference(prepared, tmp_path):
    import shutil

    copy = shutil.copytree(prepared, tmp_path / "artifacts")
    reference = copy / "mlp-f32-quartet" / "reference.npz"
    with np.load(reference) as archive:
        outputs = {name: archive[name] + 1 for name in archive.files}
    np.savez(reference, **outputs)
    done = run_sh(copy, tmp_path / "out")
    assert done.returncode == 1
    assert "check FAILED: mlp-f32-quartet" in done.stdout


def test_the_weight_generator_is_pinned_to_its_bits():
    """Both machines must generate the same bits: these values are the generator's contract
    (a change to weights.py breaks every prepared folder's references)."""
    values = generate("fc0.weight", (6,), np.float32, seed=2024, scale_log2=4)
    expected = [-0.029052734375, 0.03363037109375, 0.01873779296875, -0.0587158203125]
    expected += [0.02532958984375, -0.04052734375]  # multiples of 2**-14: exact
    np.testing.assert_array_equal(values, np.float32(expected))
    wide = generate("x", (1 << 16,), np.float32, seed=7, scale_log2=0, offset=0.5)
    assert wide.min() >= -0.5 and wide.max() < 1.5 and len(np.unique(wide)) == 2048
    half = generate("x", (1 << 16,), np.float16, seed=7, scale_log2=0, offset=0.5)
    np.testing.assert_array_equal(half, wide.astype(np.float16))


def test_the_torch_models_cover_the_onnx_models():
    """torch_models.py (not importable without torch) names the models gpu_models.py builds."""
    import gpu_models

    tree = ast.parse((BENCH / "torch_models.py").read_text())
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "MODELS"
    )
    assert [key.value for key in table.keys] == list(gpu_models.MODELS)


FAKE_SANITIZER = """#!{python}
# compute-sanitizer's stand-in: runs the command it is given (python -m quartet.runtime ...)
# with the stand-in CUDA driver, then prints a clean summary, as the real tool does.
import runpy, sys
sys.path.insert(0, {tests!r})
import fake_cuda
sys.modules.update(fake_cuda.modules(fake_cuda.FakeDriver()))
command = sys.argv[sys.argv.index("-m") + 2 :]
sys.argv = ["quartet.runtime", *command]
try:
    runpy.run_module("quartet.runtime", run_name="__main__")
except SystemExit as done:
    code = done.code
print("========= ERROR SUMMARY: 0 errors")
sys.exit(code)
"""


def test_run_sh_on_a_gpu_checks_times_and_sanitizes(prepared, tmp_path, monkeypatch):
    """The GPU path of run.py on the stand-in driver (fake_cuda.py: kernels run in the PTX
    emulator, 0.25 ms per run) and a stand-in compute-sanitizer; torch is absent here."""
    import importlib.util

    import fake_cuda

    tools = tmp_path / "bin"
    tools.mkdir()
    sanitizer = tools / "compute-sanitizer"
    tests = str(Path(__file__).parent)
    sanitizer.write_text(FAKE_SANITIZER.format(python=sys.executable, tests=tests))
    sanitizer.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(BENCH.parents[1] / "python"))
    fake_cuda.install(monkeypatch, fake_cuda.FakeDriver())
    spec = importlib.util.spec_from_file_location("gpu_bench_run", BENCH / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    arguments = ["--artifacts", str(prepared), "--out", str(tmp_path), "--runs", "1"]
    assert bench.main([*arguments, "--warmup", "0"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["device"] == "Fake H100 (PTX emulator)"
    assert all(entry["check"].startswith("OK") for entry in results["entries"])
    assert {entry["quartet_ms"] for entry in results["entries"]} == {0.25}
    if importlib.util.find_spec("torch") is None:
        assert results["torch_note"].startswith("torch unavailable")
    variants = sorted(
        (job["tool"], job["artifact"].rsplit("-")[-1]) for job in results["sanitizer"]
    )
    assert variants == [
        ("memcheck", "norammer"),
        ("memcheck", "quartet"),
        ("memcheck", "unfused"),
        ("racecheck", "norammer"),
        ("racecheck", "quartet"),
        ("racecheck", "unfused"),
    ]  # the smallest artifact of each variant, each tool once
    for job in results["sanitizer"]:
        assert job["result"] == "clean: ERROR SUMMARY: 0 errors", job
