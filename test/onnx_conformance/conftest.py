"""Counts of the conformance run, printed at the end of the pytest session."""

from __future__ import annotations

from collections import Counter

_OUTCOMES: dict[str, Counter] = {"cpu": Counter(), "ptx": Counter()}


def pytest_runtest_logreport(report):
    for path, counts in _OUTCOMES.items():
        if f"test_{path}[" not in report.nodeid:
            continue
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            counts[outcome] += 1


def pytest_terminal_summary(terminalreporter):
    from harness import selected_cases

    for path, label in (("cpu", "CPU run"), ("ptx", "PTX (sm_90) + ptxas + emulator")):
        counts = _OUTCOMES[path]
        total = sum(counts.values())
        if total:
            terminalreporter.write_line(
                f"ONNX node conformance, {label}: {counts['passed']} of {total} passed, "
                f"{counts['xfailed']} expected failures, {counts['failed']} failed "
                f"({len(selected_cases())} cases selected)"
            )
