"""Running a stage that may crash where the crash cannot take the caller's process down.

The MLIR build has assertions on, and some misuses of the bindings abort the process instead of
raising (PLATFORM.md); a lowering bug can also make the generated CPU code fault. An isolated
call runs in a forked child: its result, or its QuartetError, comes back pickled, and if the
child dies from a signal the caller gets an :class:`InternalError` that names the stage and the
pass the child last reported (``report``), next to the assertion text the child printed.

Isolation forks: the caller should have no other thread running Python code (the CLI has
none). A fork taken while another thread holds an import lock leaves the child waiting for it.

What can abort: MLIR's parser and verifier on malformed input that slips past the checks, every
pass of the pipelines (upstream passes assert), the LLVM translation of the CPU build, and the
CPU library when it runs. The LLVM tools (``opt``, ``llc``), ``ptxas`` and the PTX emulator
run in child processes or in Python already and cannot.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import TypeVar

from quartet.errors import QuartetError

T = TypeVar("T")

_channel: Connection | None = None  # set in an isolated child: where progress goes


class InternalError(QuartetError):
    """Quartet itself failed (a crash, an assertion): a bug to report, not a user error."""


def active() -> bool:
    """Whether this process is an isolated child (so progress is worth reporting)."""
    return _channel is not None


def report(*, stage: str | None = None, pass_name: str | None = None) -> None:
    """Tell the parent where the child is (a no-op outside an isolated child)."""
    if _channel is not None:
        _channel.send(("progress", stage, pass_name))


def call(what: str, function: Callable[..., T], *args, **kwargs) -> T:
    """``function(*args, **kwargs)`` in a forked child; ``what`` names it in a crash report."""
    receiver, sender = Pipe(duplex=False)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        receiver.close()
        _run_child(sender, function, args, kwargs)
    sender.close()
    outcome, where = None, {"stage": None, "pass": None}
    while True:
        try:
            message = receiver.recv()
        except EOFError:
            break
        if message[0] == "progress":
            _, stage, pass_name = message
            if stage is not None:
                where = {"stage": stage, "pass": None}
            if pass_name is not None:
                where["pass"] = pass_name
        else:
            outcome = message
    receiver.close()
    _, status = os.waitpid(pid, 0)
    if outcome is None:
        raise InternalError(_crash_message(what, status, where))
    kind, value = outcome
    if kind == "error":
        raise value
    if kind == "bug":
        raise InternalError(f"error: internal error in {what} (please report a bug):\n{value}")
    return value


def _run_child(sender: Connection, function, args, kwargs) -> None:
    global _channel
    _channel = sender
    try:
        result = function(*args, **kwargs)  # kept alive until _exit: no finalizer of it runs
        sender.send(("result", result))
    except QuartetError as error:
        sender.send(("error", error))
    except BaseException:  # noqa: BLE001 - the child must report and reach os._exit
        sender.send(("bug", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _crash_message(what: str, status: int, where: dict) -> str:
    if os.WIFSIGNALED(status):
        cause = f"crashed with {signal.Signals(os.WTERMSIG(status)).name}"
    else:
        cause = f"exited with status {os.WEXITSTATUS(status)} before reporting a result"
    place = ""
    if where["stage"]:
        place += f" in stage '{where['stage']}'"
    if where["pass"]:
        place += f", pass '{where['pass']}'"
    return (
        f"error: internal error: {what} {cause}{place} (an MLIR assertion or a bug in "
        "Quartet; see the message above); please report it with the input"
    )
