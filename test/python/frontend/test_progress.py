"""The ``quartet`` command's progress: plain lines without a terminal, nothing under ``-q``,
and on a terminal a live line that follows the isolated child stage by stage."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import textwrap

from models import encoder_layer
from test_errors import quartet

from quartet.tools import progress

PLAIN = re.compile(r"\[\s*\d+\.\d\d s\] \S")


def test_without_a_terminal_only_the_plain_lines_are_printed(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    result = quartet("compile", str(model), "--no-cache")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(PLAIN.match(line) for line in lines), lines
    assert "importing" in lines[0] and "compiled:" in lines[2]
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert result.stdout.startswith("target sm_90:")


def test_quiet_prints_nothing_on_stderr(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    result = quartet("compile", str(model), "-q")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("target sm_90:")


def test_a_display_only_on_a_terminal_and_never_under_quiet(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.stage_display(quiet=False) is None
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert isinstance(progress.stage_display(quiet=False), progress.StageDisplay)
    assert progress.stage_display(quiet=True) is None


def test_the_live_line_follows_the_child_stage_by_stage():
    """On a (forced) terminal: each stage and pass the isolated child reports is drawn, the
    finished stages with their seconds; the child's output reaches the parent's streams. (In
    a fresh interpreter: isolation forks, which pytest-xdist's worker threads forbid.)"""
    code = textwrap.dedent(
        """
        import io, time
        from rich.console import Console
        from quartet import isolation
        from quartet.tools.progress import StageDisplay

        screen = io.StringIO()
        display = StageDisplay(Console(file=screen, force_terminal=True, width=300), delay=0)

        def work():
            isolation.report(stage="parse")
            time.sleep(0.3)
            isolation.report(stage="graph-to-loops")
            isolation.report(pass_name="quartet-welder{arch=sm_90}")
            time.sleep(0.3)
            print("the child's own line", file=sys.stderr)
            print("the child's result")
            return 7

        assert isolation.call("work", work, watcher=display) == 7
        print(repr(screen.getvalue()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    child, screen = result.stdout.split("\n", 1)
    assert child == "the child's result"  # not a terminal: written as it is
    screen = ast.literal_eval(screen)  # the repr the child printed
    assert "\x1b[" in screen  # drawn as a terminal line, then cleared
    assert "the child's own line\n" in screen  # printed above the live line
    assert " parse" in screen and " graph-to-loops" in screen
    assert "quartet-welder{arch=sm_90}" in screen
    assert re.search(r"✓ parse 0\.[2-9]\d s", screen), screen


def test_the_live_line_waits_for_slow_commands():
    from rich.console import Console

    screen = io.StringIO()
    display = progress.StageDisplay(Console(file=screen, force_terminal=True), delay=3600)
    display.stage("parse")
    display.tick()
    display.close()
    assert screen.getvalue() == ""
