"""ONNX's backend node tests (``load_model_tests(kind="node")``) through Quartet.

``test_cpu``: every selected case (all ops and input/output types supported) compiled for sm_90
and run on the CPU against the stored outputs. ``test_ptx``: the same compile's PTX assembled by
ptxas (no spills) and executed in Quartet's PTX emulator with every checker, for every selected
case (about 3 minutes on 2 cores); ``QUARTET_PTX_SAMPLE=N`` runs every N-th case instead, for a
quicker local run. Failing cases are listed with a reason in expected_failures.txt (strict: a
listed case that passes fails the run).
"""

from __future__ import annotations

import os

import pytest
from harness import expected_failures, run_case, selected_cases

from quartet.ptxas import find_ptxas


def _ptx_sample() -> int:
    """Every how many-th selected case ``test_ptx`` runs: ``QUARTET_PTX_SAMPLE``, else 1 (all)."""
    text = os.environ.get("QUARTET_PTX_SAMPLE", "1")
    if not text.isdigit() or int(text) < 1:
        raise pytest.UsageError(f"QUARTET_PTX_SAMPLE must be a positive integer, not '{text}'")
    return int(text)


PTX_SAMPLE = _ptx_sample()


def _params(stage: str, names: list[str]):
    failures = expected_failures()
    params = []
    for name in names:
        reason = failures.get(name, "")
        aborts = reason.startswith("abort:")  # would kill the pytest process: not run
        fails = reason.startswith("cpu:") or (stage == "ptx" and reason.startswith("ptx:"))
        marks = (
            [pytest.mark.xfail(reason=reason, strict=True, run=not aborts)]
            if fails or aborts
            else []
        )
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def test_expected_failures_are_selected_cases():
    unknown = set(expected_failures()) - set(selected_cases())
    assert not unknown, f"expected_failures.txt lists cases that are not selected: {unknown}"
    assert all(r.startswith(("cpu:", "ptx:", "abort:")) for r in expected_failures().values())


@pytest.mark.parametrize("name", _params("cpu", selected_cases()))
def test_cpu(name):
    run_case(name, emulate=False)


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")
@pytest.mark.parametrize("name", _params("ptx", selected_cases()[::PTX_SAMPLE]))
def test_ptx(name):
    run_case(name, emulate=True)
