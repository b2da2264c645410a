"""Exceptions of the PTX emulator and the structured reports its checkers produce.

Every error names where it happened: parse errors carry the PTX line, execution errors and
checker reports carry the kernel, the PTX line (number and text), and the coordinates of the
offending thread and block, so a failing test reads like a GPU debugger's message.
"""

from __future__ import annotations

from dataclasses import dataclass


class EmulatorError(Exception):
    """Base class of everything the emulator raises on purpose."""


class PTXSyntaxError(EmulatorError):
    """Malformed PTX text; the message starts with ``line N:``."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


class PTXUnsupportedError(EmulatorError):
    """A well-formed PTX construct that the emulator does not implement (never a wrong answer)."""

    def __init__(self, line: int, text: str, message: str):
        super().__init__(f"line {line}: unsupported: {message}: `{text}`")
        self.line = line
        self.text = text


class LaunchError(EmulatorError):
    """Bad ``launch`` arguments: kernel name, argument count or type, grid or block shape."""


class ExecutionError(EmulatorError):
    """A fault the program cannot continue from (e.g. an access outside every mapped region with
    checkers disabled, or too many steps)."""


Coord = tuple[int, int, int]


@dataclass(frozen=True)
class CheckReport:
    """One checker finding: what went wrong, where in the PTX, and which thread did it.

    ``kind`` is one of ``out-of-bounds``, ``misaligned``, ``shared-race``, ``global-race``,
    ``uninitialized-shared``, ``uninitialized-global``, ``divergent-barrier``, ``deadlock``.
    ``other_thread``/``other_block`` name the second party of a race or the thread that never
    reached a barrier. ``count`` is how many thread accesses the same finding covers (reports are
    deduplicated per kind and PTX line; a deadlock reports each blocked CTA's wait).
    """

    kind: str
    kernel: str
    line: int
    text: str
    thread: Coord
    block: Coord
    detail: str
    other_thread: Coord | None = None
    other_block: Coord | None = None
    count: int = 1

    def __str__(self) -> str:
        where = f"{self.kernel}: line {self.line}: `{self.text}`"
        who = f"thread {self.thread} block {self.block}"
        other = ""
        if self.other_thread is not None:
            other = f" (other thread {self.other_thread} block {self.other_block})"
        times = f" [{self.count} thread accesses]" if self.count > 1 else ""
        return f"{self.kind}: {where}: {who}{other}: {self.detail}{times}"


class EmulatorCheckError(EmulatorError):
    """Raised at the end of a launch when any checker reported; ``reports`` holds the findings."""

    def __init__(self, reports: list[CheckReport]):
        self.reports = reports
        lines = [f"{len(reports)} checker report(s):"] + [f"  {report}" for report in reports]
        super().__init__("\n".join(lines))
