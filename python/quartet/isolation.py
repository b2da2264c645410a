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

import io
import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import Protocol, TypeVar

from quartet.errors import QuartetError

T = TypeVar("T")

_channel: Connection | None = None  # set in an isolated child: where progress goes


class InternalError(QuartetError):
    """Quartet itself failed (a crash, an assertion): a bug to report, not a user error."""


class Watcher(Protocol):
    """What the caller of an isolated call sees of the child as it runs (a progress display).

    While a watcher is given, the child's ``sys.stdout`` and ``sys.stderr`` come through the
    channel too, line by line, in order with its progress: the watcher writes them where they
    belong (above a live display, which a child writing to the terminal itself would tear)."""

    def stage(self, stage: str) -> None: ...

    def pass_started(self, pass_name: str) -> None: ...

    def write(self, stream: str, text: str) -> None: ...

    def tick(self) -> None:
        """Called about every ``TICK_SECONDS`` while nothing arrives."""

    def close(self) -> None: ...


TICK_SECONDS = 0.1


def active() -> bool:
    """Whether this process is an isolated child (so progress is worth reporting)."""
    return _channel is not None


def report(*, stage: str | None = None, pass_name: str | None = None) -> None:
    """Tell the parent where the child is (a no-op outside an isolated child)."""
    if _channel is not None:
        _channel.send(("progress", stage, pass_name))


def call(
    what: str, function: Callable[..., T], *args, watcher: Watcher | None = None, **kwargs
) -> T:
    """``function(*args, **kwargs)`` in a forked child; ``what`` names it in a crash report.
    ``watcher`` follows the child's progress and prints its output (see :class:`Watcher`)."""
    receiver, sender = Pipe(duplex=False)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        receiver.close()
        _run_child(sender, function, args, kwargs, forward=watcher is not None)
    sender.close()
    try:
        outcome, where = _follow(receiver, watcher)
    finally:
        receiver.close()
        if watcher is not None:
            watcher.close()
    _, status = os.waitpid(pid, 0)
    if outcome is None:
        raise InternalError(_crash_message(what, status, where))
    kind, value = outcome
    if kind == "error":
        raise value
    if kind == "bug":
        raise InternalError(f"error: internal error in {what} (please report a bug):\n{value}")
    return value


def _follow(receiver: Connection, watcher: Watcher | None) -> tuple[tuple | None, dict]:
    """Read the child's messages until it closes the channel: its outcome (None if it sent
    none) and where it last said it was."""
    outcome, where = None, {"stage": None, "pass": None}
    while True:
        if watcher is not None and not receiver.poll(TICK_SECONDS):
            watcher.tick()
            continue
        try:
            message = receiver.recv()
        except EOFError:
            return outcome, where
        if message[0] == "progress":
            _, stage, pass_name = message
            if stage is not None:
                where = {"stage": stage, "pass": None}
                if watcher is not None:
                    watcher.stage(stage)
            if pass_name is not None:
                where["pass"] = pass_name
                if watcher is not None:
                    watcher.pass_started(pass_name)
        elif message[0] == "output":
            watcher.write(message[1], message[2])
        else:
            outcome = message


def _run_child(sender: Connection, function, args, kwargs, forward: bool) -> None:
    global _channel
    _channel = sender
    if forward:
        sys.stdout = _Forwarded(sender, "stdout")
        sys.stderr = _Forwarded(sender, "stderr")
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


class _Forwarded(io.TextIOBase):
    """A child's text stream sent to the parent whole lines at a time (and the rest on
    flush), as ("output", stream, text) messages in order with its progress."""

    def __init__(self, sender: Connection, stream: str):
        self.sender, self.stream, self.pending = sender, stream, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        if "\n" in self.pending:
            complete, _, self.pending = self.pending.rpartition("\n")
            self.sender.send(("output", self.stream, complete + "\n"))
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.sender.send(("output", self.stream, self.pending))
            self.pending = ""

    def isatty(self) -> bool:
        return False


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
