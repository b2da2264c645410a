"""Crash isolation: an abort in a compile or a run becomes an error, never the caller's end.

Each test makes a real SIGABRT happen (``os.abort`` in place of a pass or of the generated code,
as an MLIR assertion would) and checks that the caller survives with an error naming where.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import quartet
from quartet.examples import mlp
from quartet.isolation import InternalError, call
from quartet.passes.outline_kernels import OutlineKernels
from quartet.tools import cli


def _abort(*args, **kwargs):
    os.abort()


def test_an_abort_in_a_pass_names_the_stage_and_the_pass(monkeypatch):
    monkeypatch.setattr(OutlineKernels, "apply", _abort)
    with pytest.raises(InternalError) as caught:
        quartet.compile(mlp.SOURCE, target="sm_90", cache=False, isolate=True)
    assert str(caught.value).startswith(
        "error: internal error: quartet.compile crashed with SIGABRT in stage 'graph-to-loops', "
        "pass 'quartet-outline-kernels'"
    )


def test_an_isolated_compile_gives_the_same_model():
    isolated = quartet.compile(mlp.SOURCE, target="sm_90", cache=False, isolate=True)
    direct = quartet.compile(mlp.SOURCE, target="sm_90", cache=False)
    assert isolated.ptx == direct.ptx and isolated.kernels == direct.kernels
    inputs = mlp.random_inputs(seed=8)
    np.testing.assert_allclose(isolated.run(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5)


def test_a_user_error_in_an_isolated_compile_is_a_quartet_error():
    with pytest.raises(quartet.QuartetError, match="unknown target 'sm_75'"):
        quartet.compile(mlp.SOURCE, target="sm_75", isolate=True)
    with pytest.raises(quartet.QuartetError, match="<string>:1:"):
        quartet.compile("func.func @f( {", isolate=True)


def test_an_isolated_run_survives_a_crash_of_the_generated_code(monkeypatch):
    model = quartet.compile(mlp.SOURCE, target="cpu", cache=False, isolate=True)
    inputs = mlp.random_inputs(seed=9)
    np.testing.assert_allclose(
        model.run(*inputs, isolate=True), mlp.reference(*inputs), rtol=1e-4, atol=1e-5
    )
    monkeypatch.setattr(type(model.executable), "run", _abort)
    with pytest.raises(InternalError, match="the CPU run crashed with SIGABRT"):
        model.run(*inputs, isolate=True)


def test_the_cli_reports_a_crash_as_an_internal_error(monkeypatch, capsys):
    monkeypatch.setattr(OutlineKernels, "apply", _abort)
    code = cli.main(["compile", str(mlp.SOURCE), "--no-cache", "-q"])
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert message.startswith(
        "error: internal error: 'quartet compile' crashed with SIGABRT in stage 'graph-to-loops', "
        "pass 'quartet-outline-kernels'"
    )
    assert "Traceback" not in message


def test_a_bug_in_the_child_is_reported_with_its_traceback():
    def fails():
        raise KeyError("no such kernel")

    with pytest.raises(InternalError, match=r"(?s)internal error in the test .*KeyError"):
        call("the test", fails)
