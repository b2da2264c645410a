"""The HTML around the sections: one self-contained page (inline CSS, pictures as data URIs),
so it opens offline and can be mailed or archived as one file."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 24px 32px; color: #1b1b1b; background: #ffffff; max-width: 1500px; }
h1 { font-size: 24px; margin: 0 0 4px 0; }
h2 { font-size: 19px; margin: 32px 0 8px 0; border-bottom: 2px solid #d0d7de;
     padding-bottom: 4px; }
p.note, p.subtitle { color: #57606a; font-size: 13px; margin: 4px 0 10px 0; max-width: 1100px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; background: #f8f9fa; }
span.swatch { display: inline-block; width: 11px; height: 11px; border: 1px solid #333;
              margin-right: 6px; vertical-align: -1px; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px;
           font-size: 14px; margin: 10px 0; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
figure { margin: 8px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e7eb; }
ol.reasons li { font-size: 13px; margin-bottom: 6px; max-width: 1200px; }
div.legend { font-size: 13px; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 4px 18px;
              max-width: 1300px; }
span.legend { white-space: nowrap; }
span.line { display: inline-block; width: 34px; margin-right: 6px; vertical-align: middle; }
code { font-size: 12px; background: #f3f5f7; padding: 1px 3px; }
"""


def document(title: str, subtitle: str, sections: Sequence[str]) -> str:
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<h1>{escape(title)}</h1>\n<p class="subtitle">{escape(subtitle)}</p>\n'
        f"{body}\n</body>\n</html>\n"
    )


def section(anchor: str, heading: str, *parts: str) -> str:
    return (
        f'<section id="{anchor}">\n<h2>{escape(heading)}</h2>\n' + "\n".join(parts) + "\n</section>"
    )


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def svg_figure(svg: str, description: str) -> str:
    """An SVG picture as an ``<img>`` with a data URI (its own document: its styles and ids
    cannot clash with the page's)."""
    data = base64.b64encode(svg.encode()).decode()
    return (
        f'<figure><img alt="{escape(description)}" src="data:image/svg+xml;base64,{data}"></figure>'
    )


def png_figure(png: bytes, description: str) -> str:
    """A PNG picture as an ``<img>`` with a data URI (the page stays one offline file)."""
    data = base64.b64encode(png).decode()
    return f'<figure><img alt="{escape(description)}" src="data:image/png;base64,{data}"></figure>'


Cell = str | tuple[str, str]  # text, or (class, already-escaped HTML)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Cell]], total: Sequence[Cell] = ()
) -> str:
    """A table; a cell is text (escaped) or ``(css class, html)``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = [f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>"]
    lines += [f"<tr>{_cells(row)}</tr>" for row in rows]
    if total:
        lines.append(f'<tr class="total">{_cells(total)}</tr>')
    lines.append("</tbody>\n</table>")
    return "\n".join(lines)


def _cells(row: Sequence[Cell]) -> str:
    cells = []
    for cell in row:
        if isinstance(cell, tuple):
            css, content = cell
            cells.append(f'<td class="{css}">{content}</td>' if css else f"<td>{content}</td>")
        else:
            cells.append(f"<td>{escape(cell)}</td>")
    return "".join(cells)


def number(text: str) -> Cell:
    return ("number", escape(text))


def swatch(colour: str, text: str) -> Cell:
    return ("", f'<span class="swatch" style="background:{colour}"></span>{escape(text)}')


def line_sample(colour: str, style: str, width: float, text: str) -> str:
    """A short line drawn as an edge of a figure is, and its meaning: a legend entry."""
    line = f"border-top:{max(2, round(width * 1.4))}px {style} {colour}"
    return f'<span class="legend"><span class="line" style="{line}"></span>{escape(text)}</span>'


def swatch_sample(colour: str, text: str) -> str:
    return f'<span class="legend">{swatch(colour, text)[1]}</span>'


def legend(entries: Sequence[str]) -> str:
    return f'<div class="legend">{"".join(entries)}</div>'


def facts(pairs: Sequence[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in pairs)
    return f'<dl class="facts">{items}</dl>'


def escape(text: str) -> str:
    return html.escape(str(text), quote=True)
