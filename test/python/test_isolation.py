"""Crash isolation: an abort in a compile or a run becomes an error, never the caller's end.

Each test makes a real SIGABRT happen (``os.abort`` in place of a pass or of the generated code,
as an MLIR assertion would) and checks that the caller survives with an error naming where.
Isolation forks, so each scenario runs in a fresh single-threaded interpreter (``fresh``).
"""

from __future__ import annotations

from fresh import fresh_python

ABORTING_PASS = """
    import os
    from quartet.passes.outline_kernels import OutlineKernels
    OutlineKernels.apply = lambda self, module: os.abort()
"""


def test_an_abort_in_a_pass_names_the_stage_and_the_pass():
    result = fresh_python(
        ABORTING_PASS
        + """
    import quartet
    from quartet.examples import mlp
    from quartet.isolation import InternalError
    try:
        quartet.compile(mlp.SOURCE, target="sm_90", cache=False, isolate=True)
    except InternalError as error:
        print(error)
    print("survived")
    """
    )
    assert result.returncode == 0, result.stderr
    first, survived = result.stdout.strip().splitlines()[-2:]
    assert first.startswith(
        "error: internal error: quartet.compile crashed with SIGABRT in stage 'graph-to-loops', "
        "pass 'quartet-outline-kernels'"
    )
    assert survived == "survived"


def test_an_isolated_compile_gives_the_same_model():
    result = fresh_python(
        """
    import numpy as np, quartet
    from quartet.examples import mlp
    isolated = quartet.compile(mlp.SOURCE, target="sm_90", cache=False, isolate=True)
    direct = quartet.compile(mlp.SOURCE, target="sm_90", cache=False)
    assert isolated.ptx == direct.ptx and isolated.kernels == direct.kernels
    inputs = mlp.random_inputs(seed=8)
    np.testing.assert_allclose(isolated.run(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5)
    print("same")
    """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("same")


def test_a_user_error_in_an_isolated_compile_is_a_quartet_error():
    result = fresh_python(
        """
    import quartet
    from quartet.examples import mlp
    from quartet.isolation import InternalError
    for source, target in ((mlp.SOURCE, "sm_75"), ("func.func @f( {", "sm_90")):
        try:
            quartet.compile(source, target=target, isolate=True)
        except InternalError:
            print("internal")
        except quartet.QuartetError as error:
            print(str(error).splitlines()[0])
    """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "unknown target 'sm_75'" in lines[0] and lines[1].startswith("<string>:1:")


def test_an_isolated_run_survives_a_crash_of_the_generated_code():
    result = fresh_python(
        """
    import os, numpy as np, quartet
    from quartet.examples import mlp
    from quartet.isolation import InternalError
    model = quartet.compile(mlp.SOURCE, target="cpu", cache=False, isolate=True)
    inputs = mlp.random_inputs(seed=9)
    np.testing.assert_allclose(
        model.run(*inputs, isolate=True), mlp.reference(*inputs), rtol=1e-4, atol=1e-5
    )
    type(model.executable).run = lambda *args: os.abort()
    try:
        model.run(*inputs, isolate=True)
    except InternalError as error:
        print(error)
    """
    )
    assert result.returncode == 0, result.stderr
    assert "the CPU run crashed with SIGABRT" in result.stdout


def test_the_cli_reports_a_crash_as_an_internal_error():
    result = fresh_python(
        ABORTING_PASS
        + """
    from quartet.examples import mlp
    from quartet.tools import cli
    print("exit", cli.main(["compile", str(mlp.SOURCE), "--no-cache", "-q"]))
    """
    )
    assert result.stdout.strip().splitlines()[-1] == "exit 2"
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "error: internal error: 'quartet compile' crashed with SIGABRT in stage 'graph-to-loops', "
        "pass 'quartet-outline-kernels'"
    )
    assert "Traceback" not in result.stderr


def test_a_bug_in_the_child_is_reported_with_its_traceback():
    result = fresh_python(
        """
    from quartet.isolation import InternalError, call
    def fails():
        raise KeyError("no such kernel")
    try:
        call("the test", fails)
    except InternalError as error:
        print(error)
    """
    )
    assert result.returncode == 0, result.stderr
    assert "internal error in the test (please report a bug)" in result.stdout
    assert "KeyError: 'no such kernel'" in result.stdout
