"""``quartet compile --report``: one HTML page that shows what the compiler decided.

The page (``report.html``) draws the operator graph coloured by fused kernel with each edge's
memory level, lists every kernel (launch shape, shared memory, ptxas's registers and spills,
occupancy, Welder's modelled time, global bytes), Roller's tiles per operator and the edges
Welder kept apart, with why. Everything is read from the compiled model: its loop-level IR,
where the passes recorded their decisions (:mod:`quartet.report.operators`), its ptxas
figures and its counters. It needs nothing but the file to open: styles inline, pictures as
SVG data URIs (matplotlib and networkx draw them; ``pip install quartet[report]``).
"""

from __future__ import annotations

from pathlib import Path

from quartet.compiler import CompiledModel
from quartet.hardware import GPUS
from quartet.report import page
from quartet.report.operators import operator_graph
from quartet.report.sections import SECTIONS, ReportInput


def render(model: CompiledModel, title: str) -> str:
    """The report of ``model`` as one HTML document."""
    report = ReportInput(
        title, model, operator_graph(model.loops_ir, model.entry), GPUS.get(model.target)
    )
    parts = [html for section in SECTIONS if (html := section(report)) is not None]
    subtitle = f"Quartet compile report: {model.entry} for {model.target}"
    return page.document(title, subtitle, parts)


def write_report(model: CompiledModel, path: Path, title: str) -> None:
    """Write :func:`render`'s page to ``path``."""
    path.write_text(render(model, title), encoding="utf-8")
