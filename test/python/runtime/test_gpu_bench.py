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
    assert names == [f"mlp-{d}-{v}" for d in ("f32", "f16") for v in ("welder", "unfused")]
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
    reference = copy / "mlp-f32-welder" / "reference.npz"
    with np.load(reference) as archive:
        outputs = {name: archive[name] + 1 for name in archive.files}
    np.savez(reference, **outputs)
    done = run_sh(copy, tmp_path / "out")
    assert done.returncode == 1
    assert "check FAILED: mlp-f32-welder" in done.stdout


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
