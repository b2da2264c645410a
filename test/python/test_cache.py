"""The compile cache and the lazy CPU build of GPU targets (quartet.cache, quartet.compiler)."""

from __future__ import annotations

import numpy as np
import pytest

import quartet
from quartet import cache
from quartet.examples import mlp

COMPILE_STAGES = {"parse", "graph-to-loops"}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A compile cache of this test's own."""
    monkeypatch.setenv("QUARTET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_second_compile_is_read_from_the_cache(cache_dir):
    first = quartet.compile(mlp.SOURCE, target="sm_90")
    second = quartet.compile(mlp.SOURCE, target="sm_90")
    assert set(first.stage_seconds) >= COMPILE_STAGES
    assert set(second.stage_seconds) == {"read", "cache"}  # nothing was compiled
    assert second.ptx == first.ptx and second.kernels == first.kernels
    assert second.host.steps == first.host.steps and second.final_ir == first.final_ir
    assert [b.spec for b in second.host.buffers] == [b.spec for b in first.host.buffers]
    assert second.cache_entry == first.cache_entry and second.cache_entry.parent == cache_dir
    inputs = mlp.random_inputs(seed=4)
    np.testing.assert_array_equal(second.emulate(*inputs), first.emulate(*inputs))


def test_the_key_covers_source_target_and_pipeline(cache_dir):
    roller = quartet.compile(mlp.SOURCE, target="sm_90")
    fixed = quartet.compile(mlp.SOURCE, target="sm_90", tiling="quartet-fixed-tiling")
    sm80 = quartet.compile(mlp.SOURCE, target="sm_80")
    edited = quartet.compile(mlp.SOURCE.read_text() + "\n// a comment\n", target="sm_90")
    entries = {model.cache_entry for model in (roller, fixed, sm80, edited)}
    assert len(entries) == 4
    assert all(set(m.stage_seconds) >= COMPILE_STAGES for m in (fixed, sm80, edited))


def test_a_cached_cpu_model_runs_its_cached_library(cache_dir):
    first = quartet.compile(mlp.SOURCE, target="cpu")
    second = quartet.compile(mlp.SOURCE, target="cpu")
    assert "cpu-codegen" in first.stage_seconds and set(second.stage_seconds) == {"read", "cache"}
    assert second.executable.library == first.cache_entry / "model.so"
    inputs = mlp.random_inputs(seed=5)
    np.testing.assert_allclose(second.run(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("switch", ["argument", "environment"])
def test_the_cache_can_be_turned_off(cache_dir, monkeypatch, switch):
    if switch == "environment":
        monkeypatch.setenv("QUARTET_CACHE", "0")
    options = {"cache": False} if switch == "argument" else {}
    for _ in range(2):
        model = quartet.compile(mlp.SOURCE, target="sm_90", **options)
        assert set(model.stage_seconds) >= COMPILE_STAGES and model.cache_entry is None
    assert not cache_dir.exists()


def test_an_unwritable_cache_is_skipped_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("QUARTET_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="compile cache disabled: cannot create"):
        model = quartet.compile(mlp.SOURCE, target="cpu")
    inputs = mlp.random_inputs(seed=6)
    np.testing.assert_allclose(model.run(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5)


def test_a_gpu_target_builds_its_cpu_form_on_first_run_only(cache_dir):
    model = quartet.compile(mlp.SOURCE, target="sm_90")
    assert model._executable is None and model.cpu_build_seconds == {}
    assert not (model.cache_entry / "model.so").exists()
    inputs = mlp.random_inputs(seed=7)
    np.testing.assert_allclose(model.run(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5)
    assert {"loops-to-cpu", "cpu-codegen"} <= set(model.cpu_build_seconds)
    assert (model.cache_entry / "model.so").exists()  # kept for the next compile of the model
    again = quartet.compile(mlp.SOURCE, target="sm_90")
    np.testing.assert_array_equal(again.run(*inputs), model.run(*inputs))
    assert again.cpu_build_seconds == {}  # the cached library, not a rebuild


def test_the_fingerprint_names_the_compiler():
    lines = cache.fingerprint().splitlines()
    assert lines[0] == quartet_version() and len(lines[-1]) == 64  # sha256 of the sources


def quartet_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("quartet")


def test_an_onnx_model_file_is_imported_once(cache_dir, tmp_path):
    """A second compile of the same .onnx file reads neither the file nor its weights: the
    imported graph comes from the cache, its weights memory-mapped; editing the file misses."""
    import os
    import sys
    from pathlib import Path

    import onnx
    from onnx.reference import ReferenceEvaluator

    from quartet.frontend.onnx import compile_model

    sys.path.insert(0, str(Path(__file__).parent / "frontend"))
    from models import encoder_layer

    path = tmp_path / "encoder.onnx"
    onnx.save(encoder_layer(dim=32, ffn=64), path)
    first = compile_model(path, target="sm_90")
    second = compile_model(path, target="sm_90")
    assert not first.graph.cached and second.graph.cached
    assert "import-cache" in first.compiled.stage_seconds
    assert set(second.compiled.stage_seconds) == {"import", "read", "cache"}
    assert all(isinstance(array, np.memmap) for _, array in second.graph.weights)
    feeds = second.random_inputs(seed=1)
    (expected,) = ReferenceEvaluator(str(path)).run(None, feeds)
    np.testing.assert_allclose(second.run(feeds)["y"], expected, rtol=1e-4, atol=1e-5)
    onnx.save(encoder_layer(dim=32, ffn=64, seed=1), path)  # new weights, same graph
    os.utime(path, ns=(1, 1))
    third = compile_model(path, target="sm_90")
    assert not third.graph.cached
    (expected,) = ReferenceEvaluator(str(path)).run(None, feeds)
    np.testing.assert_allclose(third.run(feeds)["y"], expected, rtol=1e-4, atol=1e-5)
