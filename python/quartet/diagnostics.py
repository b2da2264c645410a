"""Collect MLIR diagnostics from one Context and print them the way mlir-opt does.

By default the bindings capture errors raised while parsing or running passes into
``MLIRError.error_diagnostics`` and abort the process when a pass emits an error without failing
(PLATFORM.md). :func:`capture_diagnostics` turns that off: every diagnostic of every severity,
from the parser, the verifiers and any pass, reaches one handler in emission order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from mlir import ir

# The verifier attaches the failing op as a note unless told not to, which mlir-opt does under
# --verify-diagnostics; the bindings cannot, so such notes are dropped there instead.
CURRENT_OPERATION_NOTE = "see current operation:"

# The name ``ir.Module.parse`` gives every buffer; drivers print their input's name instead.
PARSED_BUFFER = "-"


class SourcePosition(NamedTuple):
    buffer: str
    line: int
    column: int


@dataclass(frozen=True)
class Diagnostic:
    """A copy of an ``ir.Diagnostic``, which is only valid inside the handler."""

    severity: str
    message: str
    location: ir.Location
    notes: tuple[Diagnostic, ...] = field(default=())

    @classmethod
    def copy(cls, diagnostic: ir.Diagnostic | ir.DiagnosticInfo) -> Diagnostic:
        return cls(
            severity=str(diagnostic.severity).rsplit(".", 1)[-1].lower(),
            message=diagnostic.message,
            location=diagnostic.location,
            notes=tuple(cls.copy(note) for note in diagnostic.notes),
        )

    @property
    def position(self) -> SourcePosition | None:
        """Where in which buffer this points, or None for an unknown location."""
        return source_position(self.location)


@contextmanager
def capture_diagnostics(context: ir.Context) -> Iterator[list[Diagnostic]]:
    """Send every diagnostic emitted in ``context`` to the yielded list instead of stderr."""
    diagnostics: list[Diagnostic] = []

    def handle(diagnostic: ir.Diagnostic) -> bool:
        diagnostics.append(Diagnostic.copy(diagnostic))
        return True

    previous = context.emit_error_diagnostics
    context.emit_error_diagnostics = True
    handler = context.attach_diagnostic_handler(handle)
    try:
        yield diagnostics
    finally:
        handler.detach()
        context.emit_error_diagnostics = previous


def source_position(location: ir.Location) -> SourcePosition | None:
    """The first file position inside ``location``; None if there is none.

    The parser's implicit module sits at line 0: that counts as no position either.
    """
    if location.is_a_file():
        if location.start_line == 0:
            return None
        return SourcePosition(location.filename, location.start_line, location.start_col)
    if location.is_a_name():
        return source_position(location.child_loc)
    if location.is_a_callsite():
        return source_position(location.callee)
    if location.is_a_fused():
        positions = (source_position(inner) for inner in location.locations)
        return next((position for position in positions if position), None)
    return None


def source_name(location: ir.Location) -> str | None:
    """The first name inside ``location`` (``loc("name")``: the ONNX node an operator came
    from, as the importer writes it); None if there is none."""
    if location.is_a_name():
        return location.name_str
    if location.is_a_callsite():
        return source_name(location.callee)
    if location.is_a_fused():
        names = (source_name(inner) for inner in location.locations)
        return next((name for name in names if name), None)
    return None


def format_diagnostic(diagnostic: Diagnostic, filename: str, source: str | None = None) -> str:
    """``file:line:col: severity: message``, the source line and a caret, then the notes.

    ``filename`` and ``source`` stand for the parsed buffer; a location naming another file
    is printed with that file's name and without a source line.
    """
    position = diagnostic.position
    if position and position.buffer != PARSED_BUFFER:
        filename, source = position.buffer, None
    line_col = (position.line, position.column) if position else None
    lines = [format_message(filename, line_col, diagnostic.severity, diagnostic.message, source)]
    lines.extend(format_diagnostic(note, filename, source) for note in diagnostic.notes)
    return "\n".join(lines)


def format_message(
    filename: str,
    position: tuple[int, int] | None,
    severity: str,
    message: str,
    source: str | None = None,
) -> str:
    """One located message, with the source line it points at when ``source`` is given."""
    where = f"{filename}:{position[0]}:{position[1]}" if position else filename
    text = f"{where}: {severity}: {message}"
    source_lines = source.splitlines() if source is not None else []
    if position and 0 < position[0] <= len(source_lines):
        text += "\n" + source_lines[position[0] - 1] + "\n" + " " * (position[1] - 1) + "^"
    return text
