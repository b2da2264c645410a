"""Running a snippet of test code in a fresh interpreter.

Code that forks (crash isolation) must fork from a process whose other threads run no Python:
pytest-xdist's workers run a thread of their own, and a fork taken while it holds an import
lock leaves the child waiting for it forever. Such tests run their forking part here.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).parent


def fresh_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` (dedented) in a new interpreter with the test helpers importable."""
    prelude = f"import sys\nsys.path[:0] = [{str(TESTS)!r}, {str(TESTS / 'frontend')!r}]\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
