"""The one exception type users of Quartet catch, and how diagnostics become its message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runtime raises QuartetError too, and never imports MLIR
    from mlir import ir


class QuartetError(Exception):
    """A user-facing compilation or execution error: bad input, bad option, unsupported construct.

    ``str(error)`` is a readable, located message (``file:line:col: error: ...``); drivers print it
    and exit 1. Anything else escaping Quartet is a bug.
    """


def format_location(location: ir.Location, filename: str) -> str:
    """``file:line:col`` for a file location (the parser names every buffer ``-``)."""
    if location.is_a_file():
        return f"{filename}:{location.start_line}:{location.start_col}"
    if location.is_a_name():
        return f"{filename}: '{location.name_str}'"
    return filename


def format_diagnostics(diagnostics: Iterable[ir.DiagnosticInfo], filename: str) -> str:
    """Render MLIR diagnostics (with their notes) the way mlir-opt does, one per line."""
    lines = []
    for diagnostic in diagnostics:
        where = format_location(diagnostic.location, filename)
        lines.append(f"{where}: {_severity(diagnostic.severity)}: {diagnostic.message}")
        lines.extend(
            f"{format_location(note.location, filename)}: note: {note.message}"
            for note in diagnostic.notes
        )
    return "\n".join(lines)


def from_mlir_error(error: ir.MLIRError, filename: str, what: str) -> QuartetError:
    """Wrap an MLIRError raised while doing ``what`` (parsing, running a pipeline, ...)."""
    detail = format_diagnostics(error.error_diagnostics, filename)
    return QuartetError(detail or f"{filename}: error: {what} failed: {error}")


def _severity(severity: ir.DiagnosticSeverity) -> str:
    return str(severity).rsplit(".", 1)[-1].lower()
