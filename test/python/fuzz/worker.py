"""Runs ``quartet run --target cpu --check`` on one mutant at a time, each in a forked child.

The parent test starts this script once (so quartet and MLIR are imported once) and sends it
one JSON request per line: ``{"path": ..., "timeout": seconds}``. This process never creates
an MLIR context itself, so forking it is safe; the child redirects stdout and stderr to files
and exits with the CLI's status. A child that aborts, is killed by a signal or outlives its
timeout cannot take anything else down. One JSON reply per request: the exit status or the
signal, whether it timed out, the seconds it took, and the child's stdout and stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time

from quartet.tools.cli import main


def run_child(path: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out, err = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _child(path, out, err)
        status, timed_out = _wait(pid, timeout)
        seconds = time.perf_counter() - start
        with open(out, errors="replace") as stdout, open(err, errors="replace") as stderr:
            return {
                "rc": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "timed_out": timed_out,
                "seconds": seconds,
                "stdout": stdout.read(),
                "stderr": stderr.read(),
            }


def _child(path: str, out: str, err: str) -> None:
    code = 2
    try:
        for fd, target in ((1, out), (2, err)):
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(handle, fd)
            os.close(handle)
        code = main(["run", path, "--target", "cpu", "--check", "-q"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, timeout: float) -> tuple[int, bool]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, False
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1], True


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        reply = run_child(request["path"], request["timeout"])
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
