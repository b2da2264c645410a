"""Mutation fuzzing of the ONNX path: no traceback, no abort, no timeout, and for models the
checker accepts, the CPU run agrees with the reference.

Each mutant (see mutants.py) runs through ``quartet run --target cpu --check`` in a forked
child of a worker process (worker.py), so an abort fails that mutant, named, and nothing
else. CI runs a sample (one in 8 of the 416 mutants: 52); ``QUARTET_FUZZ=full`` runs all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mutants import mutant

FULL = 416
TIMEOUT = 120  # seconds per mutant; the seeds compile and run in about one
# one mutant in each block of 8, at a rotating offset: every seed and kind equally often
SAMPLE = [8 * block + block % 8 for block in range(FULL // 8)]
INDICES = list(range(FULL)) if os.environ.get("QUARTET_FUZZ") == "full" else SAMPLE


class Worker:
    """The worker process: one request, one reply; restarted if it ever dies."""

    def __init__(self):
        self.process = None

    def run(self, path: Path) -> dict:
        if self.process is None or self.process.poll() is not None:
            script = Path(__file__).with_name("worker.py")
            self.process = subprocess.Popen(
                [sys.executable, str(script)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        request = json.dumps({"path": str(path), "timeout": TIMEOUT})
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    runner = Worker()
    yield runner
    runner.close()


def verdict(kind: str, result: dict) -> str | None:
    """Why the run is a failure, or None when it is acceptable for a mutant of ``kind``."""
    stdout, stderr = result["stdout"], result["stderr"]
    if result["timed_out"]:
        return f"timed out after {TIMEOUT} s"
    if result["signal"] is not None:
        return f"killed by signal {result['signal']} (a process abort)\n{stderr[-2000:]}"
    if "Traceback" in stderr:
        return f"traceback (exit {result['rc']})\n{stderr[-3000:]}"
    if result["rc"] == 0:
        return None if "check OK" in stdout else f"exit 0 without 'check OK'\n{stdout}"
    if result["rc"] == 1:
        lines = stderr.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith(("error:", "<")) or "error" not in lines[0]:
            return f"exit 1 without a one-line error\n{stderr[-2000:]}"
        if kind == "valid" and "not supported" not in lines[0] and "unsupported" not in lines[0]:
            return f"a valid model rejected: {lines[0]}"
        return None
    return f"exit {result['rc']}\n{stdout[-2000:]}\n{stderr[-2000:]}"


@pytest.mark.parametrize("index", INDICES, ids=lambda i: mutant(i).name)
def test_mutant(index, worker, tmp_path):
    case = mutant(index)
    path = tmp_path / "mutant.onnx"
    path.write_bytes(case.data)
    failure = verdict(case.kind, worker.run(path))
    assert failure is None, f"mutant {case.name}: {failure}"
