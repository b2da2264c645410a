"""``--verify-diagnostics``: match emitted diagnostics against ``expected-*`` comments.

Same syntax and rules as mlir-opt:

    // expected-error @below {{substring of the message}}
    %0 = "tile.bad"() : () -> i32
    // expected-warning @+1 {{...}}   // @-N, @above, @unknown; no designator = this line
    // expected-note-re {{value {{[0-9]+}}}}   // -re: {{...}} parts are regular expressions

``@above`` points at the last line without an ``expected-*`` comment before it, ``@below`` at
the next one. Every diagnostic (and every note) must be expected, and every expectation met.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from quartet.diagnostics import (
    CURRENT_OPERATION_NOTE,
    PARSED_BUFFER,
    Diagnostic,
    format_message,
)

_DESIGNATOR = re.compile(
    r"expected-(?P<severity>error|warning|remark|note)(?P<regex>-re)?"
    r" *(?:@(?P<offset>[+-]\d+|above|below|unknown))? *\{\{(?P<message>.*)\}\}\s*$"
)


@dataclass
class Expectation:
    """One ``expected-*`` comment: what it expects, where, and whether it was seen."""

    severity: str
    pattern: re.Pattern[str]
    text: str
    line: int | None  # None: a diagnostic without a source position (@unknown)
    comment_position: tuple[int, int]
    matched: bool = False

    def matches(self, severity: str, message: str, line: int | None) -> bool:
        return (
            not self.matched
            and self.severity == severity
            and self.line == line
            and self.pattern.search(message) is not None
        )


def parse_expectations(source: str) -> list[Expectation]:
    """Every ``expected-*`` comment in ``source``, its target line resolved."""
    expectations: list[Expectation] = []
    waiting_for_next_line: list[Expectation] = []
    last_plain_line = 0
    for line_number, line in enumerate(source.splitlines(), start=1):
        found = _DESIGNATOR.search(line)
        if found is None:
            for expectation in waiting_for_next_line:
                expectation.line = line_number
            waiting_for_next_line.clear()
            last_plain_line = line_number
            continue
        expectation = Expectation(
            severity=found["severity"],
            pattern=_compile(found["message"], is_regex=bool(found["regex"])),
            text=found["message"],
            line=_target_line(found["offset"], line_number, last_plain_line),
            comment_position=(line_number, found.start() + 1),
        )
        if found["offset"] == "below":
            waiting_for_next_line.append(expectation)
        expectations.append(expectation)
    return expectations


def check_diagnostics(diagnostics: list[Diagnostic], source: str, filename: str) -> list[str]:
    """The failures, formatted: unexpected diagnostics, then expectations nothing produced."""
    expectations = parse_expectations(source)
    failures = []
    for diagnostic in _flatten(diagnostics):
        position = diagnostic.position
        # Only positions in the checked buffer have a line; others match @unknown.
        in_buffer = position is not None and position.buffer == PARSED_BUFFER
        line = position.line if in_buffer else None
        line_col = (position.line, position.column) if in_buffer else None
        expectation = next(
            (e for e in expectations if e.matches(diagnostic.severity, diagnostic.message, line)),
            None,
        )
        if expectation is None:
            message = f"unexpected {diagnostic.severity}: {diagnostic.message}"
            failures.append(format_message(filename, line_col, "error", message, source))
        else:
            expectation.matched = True
    failures.extend(
        format_message(
            filename,
            e.comment_position,
            "error",
            f'expected {e.severity} "{e.text}" was not produced',
            source,
        )
        for e in expectations
        if not e.matched
    )
    return failures


def _target_line(offset: str | None, line_number: int, last_plain_line: int) -> int | None:
    if offset is None or offset == "below":  # "below" is resolved at the next plain line
        return line_number
    if offset == "above":
        return last_plain_line
    if offset == "unknown":
        return None
    return line_number + int(offset)


def _compile(message: str, *, is_regex: bool) -> re.Pattern[str]:
    if not is_regex:
        return re.compile(re.escape(message))
    pieces = re.split(r"\{\{(.*?)\}\}", message)
    return re.compile(
        "".join(piece if index % 2 else re.escape(piece) for index, piece in enumerate(pieces))
    )


def _flatten(diagnostics: list[Diagnostic]) -> Iterator[Diagnostic]:
    for diagnostic in diagnostics:
        yield diagnostic
        yield from (
            note
            for note in _flatten(list(diagnostic.notes))
            if not note.message.startswith(CURRENT_OPERATION_NOTE)
        )
