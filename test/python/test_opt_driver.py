"""quartet-opt as users run it: exit codes, located errors, no tracebacks, no aborts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from fresh import fresh_python
from mlir import ir

import quartet.pipeline
from quartet.diagnostics import Diagnostic
from quartet.expected_diagnostics import check_diagnostics, parse_expectations
from quartet.passes.base import ModulePass, PassError
from quartet.passes.registry import PASSES
from quartet.tools import opt

# The installed console script; the source-tree wrapper where the package is not installed.
_SCRIPT = shutil.which("quartet-opt", path=os.path.dirname(sys.executable))
QUARTET_OPT = (
    [_SCRIPT]
    if _SCRIPT
    else [sys.executable, str(Path(__file__).parents[2] / "tools" / "quartet-opt")]
)

VALID = """func.func @f(%a: i32) -> i32 {
  %zero = arith.constant 0 : i32
  %sum = arith.addi %a, %zero : i32
  return %sum : i32
}
"""
VERIFIER_ERROR = """func.func @f() {
  %0 = arith.constant 1 : i32
  return %0 : i32
}
"""
IRDL_ERROR = """func.func @f(%a: memref<4xf32>, %b: memref<4xf32>) {
  "tile.stage"(%a, %b) {from = "nowhere", to = "smem"} : (memref<4xf32>, memref<4xf32>) -> ()
  return
}
"""
SEMANTIC_ERROR = """func.func @f(%counters: memref<2xi32>, %epoch: i32, %c0: index, %one: i32) {
  "schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()
  return
}
"""


def run_opt(*args: str, source: str = VALID) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QUARTET_OPT, *args], input=source, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "source", "message"),
    [
        ((), "func.func @f( {", r"<stdin>:1:14: error: expected non-function type"),
        ((), VERIFIER_ERROR, r"<stdin>:3:3: error: 'func.return' op has 1 operands"),
        ((), IRDL_ERROR, r"<stdin>:2:3: error: '\"nowhere\"' does not satisfy the constraint"),
        ((), SEMANTIC_ERROR, r"<stdin>:2:3: error: 'schedule.signal' op must be inside a"),
        (("--pass-pipeline=builtin.module(nope)",), VALID, r"<pass-pipeline>:1:16: error: .*nope"),
        (
            ("--pass-pipeline=builtin.module(quartet-fixed-tiling{threads=x})",),
            VALID,
            r"<pass-pipeline>:1:16: error: .*option 'threads' expects an integer, got 'x'",
        ),
        (
            ("--pass-pipeline=builtin.module(quartet-fixed-tiling{nope=1})",),
            VALID,
            r"<pass-pipeline>:1:16: error: .*has no option 'nope'",
        ),
        (
            ("--pass-pipeline=builtin.module(canonicalize{nope=1})",),
            VALID,
            r"<pass-pipeline>:1:16: error: .*no such option nope",
        ),
        (("does-not-exist.mlir",), VALID, r"does-not-exist.mlir: error: could not open input"),
        (("--no-such-flag",), VALID, r"quartet-opt: error: unrecognized arguments"),
    ],
)
def test_bad_input_is_a_located_error_and_exit_1(args, source, message):
    result = run_opt(*args, source=source)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert result.stdout == ""


def test_valid_input_round_trips_through_the_console_script():
    first = run_opt()
    second = run_opt(source=first.stdout)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert "func.func @f" in first.stdout


def test_print_ir_after_all_covers_python_passes():
    result = run_opt(
        "--mlir-print-ir-after-all",
        "--pass-pipeline=builtin.module(quartet-fixed-tiling,canonicalize)",
    )
    assert result.returncode == 0, result.stderr
    assert "IR Dump After FixedTiling (quartet-fixed-tiling)" in result.stderr
    assert "IR Dump After Canonicalizer (canonicalize)" in result.stderr


def test_dumped_pipeline_replays_to_itself():
    text = "builtin.module(quartet-fixed-tiling{threads=64},func.func(cse),canonicalize)"
    dumped = run_opt("--dump-pipeline", f"--pass-pipeline={text}").stdout.strip()
    assert run_opt("--dump-pipeline", f"--pass-pipeline={dumped}").stdout.strip() == dumped
    assert "func.func(cse)" in dumped


def test_output_file(tmp_path: Path):
    output = tmp_path / "out.mlir"
    result = run_opt("-", "-o", str(output), "--pass-pipeline=builtin.module(canonicalize)")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "arith.addi" not in output.read_text()


def test_split_input_keeps_original_line_numbers():
    chunks = opt.split_input("a\n// -----\nb\nc\n  // -----  \nd")
    assert chunks == ["a\n", "\n\nb\nc\n", "\n\n\n\n\nd"]


# Test-only passes, registered by monkeypatching the pipeline's lookup.


@dataclass(frozen=True)
class RecordRuns(ModulePass):
    """Record that the pass ran."""

    name = "test-record-runs"
    calls: ClassVar[list[str]] = []

    def apply(self, module: ir.Operation) -> None:
        self.calls.append(module.name)


@dataclass(frozen=True)
class FailAtFunction(ModulePass):
    """Raise PassError at the first function."""

    name = "test-fail-at-function"

    def apply(self, module: ir.Operation) -> None:
        raise PassError("cannot handle this function", module.regions[0].blocks[0].operations[0])


@dataclass(frozen=True)
class EmitWithoutFailing(ModulePass):
    """Emit an error but let the pass succeed (a misuse that aborts with captured errors)."""

    name = "test-emit-without-failing"

    def apply(self, module: ir.Operation) -> None:
        module.regions[0].blocks[0].operations[0].location.emit_error("emitted, not failed")


@dataclass(frozen=True)
class Abort(ModulePass):
    """Abort the process, as an MLIR assertion does."""

    name = "test-abort"

    def apply(self, module: ir.Operation) -> None:
        os.abort()


TEST_PASSES = {cls.name: cls for cls in (RecordRuns, FailAtFunction, EmitWithoutFailing, Abort)}


@pytest.fixture
def test_passes(monkeypatch):
    real_lookup = quartet.pipeline.lookup
    monkeypatch.setattr(
        quartet.pipeline, "lookup", lambda name: TEST_PASSES.get(name) or real_lookup(name)
    )
    RecordRuns.calls.clear()


def run_main(tmp_path: Path, source: str, *args: str) -> int:
    path = tmp_path / "input.mlir"
    path.write_text(source)
    return opt.main([str(path), *args])


def test_invalid_ir_never_reaches_a_pass(test_passes, tmp_path, capsys):
    code = run_main(tmp_path, SEMANTIC_ERROR, "--pass-pipeline=builtin.module(test-record-runs)")
    assert code == 1
    assert RecordRuns.calls == []
    assert "input.mlir:2:3: error: 'schedule.signal' op" in capsys.readouterr().err


def test_pass_error_is_located_at_the_op(test_passes, tmp_path, capsys):
    pipeline = "--pass-pipeline=builtin.module(test-fail-at-function)"
    assert run_main(tmp_path, VALID, pipeline) == 1
    err = capsys.readouterr().err
    assert "input.mlir:1:1: error: test-fail-at-function: cannot handle this function" in err


def test_pass_error_matches_expected_error(test_passes, tmp_path):
    source = "// expected-error @below {{cannot handle this function}}\n" + VALID
    pipeline = "--pass-pipeline=builtin.module(test-fail-at-function)"
    assert run_main(tmp_path, source, pipeline, "--verify-diagnostics") == 0


def test_error_without_pass_failure_fails_instead_of_aborting(test_passes, tmp_path, capsys):
    pipeline = "--pass-pipeline=builtin.module(test-emit-without-failing)"
    assert run_main(tmp_path, VALID, pipeline) == 1
    assert "input.mlir:1:1: error: emitted, not failed" in capsys.readouterr().err


def test_crash_isolation_turns_an_abort_into_exit_1(tmp_path):
    """In a fresh interpreter: --crash-isolation forks (see fresh.py)."""
    path = tmp_path / "input.mlir"
    path.write_text(VALID)
    result = fresh_python(
        f"""
    import quartet.pipeline
    from quartet.tools import opt
    from test_opt_driver import TEST_PASSES
    real = quartet.pipeline.lookup
    quartet.pipeline.lookup = lambda name: TEST_PASSES.get(name) or real(name)
    sys.exit(opt.main([{str(path)!r}, "--pass-pipeline=builtin.module(test-abort)",
                       "--crash-isolation"]))
    """
    )
    assert result.returncode == 1
    assert "quartet-opt: error: crashed with SIGABRT" in result.stderr


def test_list_passes_shows_every_registered_pass():
    listing = opt.list_passes()
    for name in PASSES:
        assert f"  {name} - " in listing
    assert "upstream MLIR pass" in listing


# --verify-diagnostics matching, on diagnostics built by hand (Python cannot emit warnings).


def diagnostic(severity: str, line: int, message: str) -> Diagnostic:
    with ir.Context():
        return Diagnostic(severity, message, ir.Location.file("-", line, 1))


def test_designators_resolve_like_mlir_opt():
    source = "\n".join(
        [
            "a // expected-warning {{same line}}",
            "// expected-remark @below {{below}}",
            "// expected-note @below {{below too}}",
            "b",
            "// expected-error @above {{above}}",
            "// expected-error @-5 {{minus}}",
            "// expected-error @+1 {{plus}}",
            "c",
            "// expected-error @unknown {{nowhere}}",
        ]
    )
    lines = {e.text: e.line for e in parse_expectations(source)}
    assert lines == {
        "same line": 1,
        "below": 4,
        "below too": 4,
        "above": 4,
        "minus": 1,
        "plus": 8,
        "nowhere": None,
    }


def test_every_severity_is_matched_and_mismatches_reported():
    source = "x // expected-warning {{careful}}\ny // expected-remark {{fyi}}\n"
    diagnostics = [diagnostic("warning", 1, "be careful here"), diagnostic("remark", 1, "fyi")]
    failures = check_diagnostics(diagnostics, source, "f.mlir")
    assert len(failures) == 2
    assert failures[0].startswith("f.mlir:1:1: error: unexpected remark: fyi")
    assert failures[1].startswith('f.mlir:2:6: error: expected remark "fyi" was not produced')


def test_regex_expectations():
    source = "x // expected-error-re {{value {{[0-9]+}} is (too big)}}\n"
    assert check_diagnostics([diagnostic("error", 1, "value 42 is (too big)")], source, "f") == []
