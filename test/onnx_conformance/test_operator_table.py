"""docs/frontend.md's operator table is what operator_table.py derives from the registry, the
schemas, the selection and expected_failures.txt (regenerate it when one of them changes)."""

from __future__ import annotations

from pathlib import Path

from operator_table import markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "frontend.md"
BEGIN = "<!-- operator table: python test/onnx_conformance/operator_table.py -->\n"
END = "<!-- end of operator table -->\n"


def test_docs_operator_table_is_current():
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"{DOC} has no generated operator table"
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert table == markdown(), "regenerate it: python test/onnx_conformance/operator_table.py"
