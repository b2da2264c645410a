"""The report's pictures, drawn with matplotlib (networkx orders the graph) as SVG text.

Figures are built on ``matplotlib.figure.Figure`` directly, never through pyplot: no global
backend or state, nothing needs a display. Text is written as paths (matplotlib's default for
SVG), so a page shows the same letters wherever it is opened, with no font to fetch.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from quartet.report.operators import OperatorGraph, OperatorKey

# One colour per kernel (cycled, in the order of first launch): matplotlib's tab20, its pale
# shades first, then its strong ones.
PALETTE = [
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
    "#9edae5", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#bcbd22", "#17becf", "#7f7f7f", "#c7c7c7",
]  # fmt: skip
_DARK_FILLS = set(PALETTE[9:19])  # white text reads better on these

# How each memory level's edges look: colour, line style (matplotlib's and CSS's), width.
EDGE_STYLES = {
    "reg": ("#1a7f37", "solid", "solid", 2.2),
    "smem": ("#0b5cad", (0, (5, 2)), "dashed", 1.8),
    "global": ("#6e6e6e", (0, (1, 1.5)), "dotted", 1.4),
}
LEVEL_NAMES = {"reg": "registers", "smem": "shared memory", "global": "global memory"}

_NODE_WIDTH, _NODE_HEIGHT = 2.5, 0.5  # inches
_COLUMN, _ROW = 2.8, 0.8  # inches between node centres
_LANE = 0.14  # inches between the lanes of arrows that go round


def kernel_colours(graph: OperatorGraph) -> dict[str, str]:
    """Each kernel's colour in every picture and table of the report."""
    return {kernel: PALETTE[i % len(PALETTE)] for i, kernel in enumerate(graph.kernels)}


def operator_graph_svg(graph: OperatorGraph) -> str:
    """The operators that read tensors, one box per operator coloured by its kernel, top to
    bottom in dependence order; an arrow per value read, styled by the level it is read at.
    An arrow between neighbouring rows goes straight; a longer one (a residual, a value read
    again further on) goes round the right of the boxes, in a lane of its own."""
    operators = {use.key: use for use in graph.operators if use.reads_tensors}
    dag = nx.DiGraph()
    dag.add_nodes_from(operators)
    edges = [c for c in graph.connections if c.producer in operators and c.consumer in operators]
    dag.add_edges_from((c.producer, c.consumer) for c in edges)
    rows = _ordered_rows(dag)
    row_of = {key: index for index, row in enumerate(rows) for key in row}
    position = {
        key: ((column - (len(row) - 1) / 2) * _COLUMN, -index * _ROW)
        for index, row in enumerate(rows)
        for column, key in enumerate(row)
    }
    right_edge = [(len(row) - 1) / 2 * _COLUMN + _NODE_WIDTH / 2 for row in rows]
    long_edges = [e for e in edges if row_of[e.consumer] - row_of[e.producer] > 1]
    lanes = _lanes([(row_of[e.producer], row_of[e.consumer]) for e in long_edges])
    left = -max(right_edge, default=_NODE_WIDTH / 2) - 0.3
    right = max(right_edge, default=_NODE_WIDTH / 2) + _LANE * (max(lanes, default=-1) + 2)
    right = max(right, left + 7.5)
    figure = Figure(figsize=(right - left, len(rows) * _ROW + 0.4))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(left, right)
    axes.set_ylim(-(len(rows) - 1) * _ROW - 0.5, 0.5)
    for edge in edges:
        start, end = position[edge.producer], position[edge.consumer]
        if edge in long_edges:
            first, last = row_of[edge.producer], row_of[edge.consumer]
            lane = lanes[long_edges.index(edge)]
            side = max(right_edge[first : last + 1]) + _LANE * (lane + 1)
            _draw_round_edge(axes, start, end, side, lane, edge.level)
        else:
            _draw_edge(axes, start, end, edge.level)
    colours = kernel_colours(graph)
    for key, use in operators.items():
        colour = colours[graph.launches[key[0]].kernel]
        _draw_node(axes, position[key], use.name, use.summary, colour)
    return _svg(figure)


def _lanes(spans: list[tuple[int, int]]) -> list[int]:
    """A lane per span of rows, the lowest free one: spans that overlap get different lanes."""
    taken: list[list[tuple[int, int]]] = []
    lanes = []
    for first, last in spans:
        lane = next(
            (i for i, used in enumerate(taken) if all(last < a or first > b for a, b in used)),
            len(taken),
        )
        if lane == len(taken):
            taken.append([])
        taken[lane].append((first, last))
        lanes.append(lane)
    return lanes


def _ordered_rows(dag: nx.DiGraph) -> list[list[OperatorKey]]:
    """Nodes in rows by dependence (:func:`_layers`), each row ordered by the mean column of
    the nodes it reads (two downward sweeps), so that arrows cross little."""
    layer = _layers(dag)
    rows: list[list[OperatorKey]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for key in sorted(dag):
        rows[layer[key]].append(key)
    rows = [row for row in rows if row]  # a row whose sources all moved down
    for _ in range(2):
        column: dict[OperatorKey, float] = {}
        for row in rows:
            for index, key in enumerate(row):
                column[key] = index - (len(row) - 1) / 2
            row.sort(key=lambda key: _barycentre(dag, key, column))
            for index, key in enumerate(row):
                column[key] = index - (len(row) - 1) / 2
    return rows


def _layers(dag: nx.DiGraph) -> dict[OperatorKey, int]:
    """Each node one row below the lowest node it reads; a node that reads no drawn node (it
    reads only the model's inputs and weights) just above the first node that reads it."""
    layer: dict[OperatorKey, int] = {}
    for key in nx.topological_sort(dag):
        layer[key] = max((layer[p] + 1 for p in dag.predecessors(key)), default=0)
    for key in reversed(list(nx.topological_sort(dag))):
        users = [layer[s] for s in dag.successors(key)]
        if dag.in_degree(key) == 0 and users:
            layer[key] = min(users) - 1
    return layer


def _barycentre(dag: nx.DiGraph, key: OperatorKey, column: dict) -> tuple[float, OperatorKey]:
    placed = [column[p] for p in dag.predecessors(key) if p in column]
    return (sum(placed) / len(placed) if placed else column.get(key, 0.0), key)


def _draw_node(axes, centre, name: str, summary: str, fill: str) -> None:
    x, y = centre
    ink = "white" if fill in _DARK_FILLS else "#111111"
    box = FancyBboxPatch(
        (x - _NODE_WIDTH / 2, y - _NODE_HEIGHT / 2),
        _NODE_WIDTH,
        _NODE_HEIGHT,
        boxstyle="round,pad=0.02,rounding_size=0.08",
        facecolor=fill,
        edgecolor="#333333",
        linewidth=0.8,
        zorder=3,
    )
    axes.add_patch(box)
    axes.text(x, y + 0.09, _fit(name, 30), ha="center", va="center", fontsize=8.5,
              fontweight="bold", color=ink, zorder=4)  # fmt: skip
    axes.text(x, y - 0.12, _fit(summary, 36), ha="center", va="center", fontsize=7,
              color=ink, zorder=4)  # fmt: skip


def _draw_edge(axes, start, end, level: str) -> None:
    """A straight arrow from the bottom of one box to the top of the next row's."""
    _arrow(
        axes, [(start[0], start[1] - _NODE_HEIGHT / 2), (end[0], end[1] + _NODE_HEIGHT / 2)], level
    )


def _draw_round_edge(axes, start, end, side: float, lane: int, level: str) -> None:
    """An arrow out of the bottom of one box, along the gap below its row to the lane at
    ``side``, down the lane, and along the gap above the other box into its top (right of
    where the straight arrows arrive): it crosses no box."""
    gap = _ROW - _NODE_HEIGHT
    dx, dy = 0.4, gap * (0.3 + 0.4 * (lane % 2))
    top, bottom = start[1] - _NODE_HEIGHT / 2, end[1] + _NODE_HEIGHT / 2
    points = [
        (start[0] + dx, top),
        (start[0] + dx, top - dy),
        (side, top - dy),
        (side, bottom + gap - dy),
        (end[0] + dx, bottom + gap - dy),
        (end[0] + dx, bottom),
    ]
    _arrow(axes, points, level)


def _arrow(axes, points: list[tuple[float, float]], level: str) -> None:
    colour, style, _, width = EDGE_STYLES[level]
    codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1)
    arrow = FancyArrowPatch(
        path=MplPath(points, codes),
        arrowstyle="-|>",
        mutation_scale=11,
        color=colour,
        linestyle=style,
        linewidth=width,
        zorder=2 if level == "global" else 2.5,
    )
    axes.add_patch(arrow)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kernel_bars_svg(
    names: Sequence[str],
    colours: Sequence[str],
    modelled_us: Sequence[float | None],
    global_mb: Sequence[float],
) -> str:
    """Two bar charts side by side, one bar per kernel (all its launches together): Welder's
    modelled time (no bar where no model ran) and the bytes moved in global memory."""
    figure = Figure(figsize=(11, 0.32 * len(names) + 1.3), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True)
    rows = list(range(len(names)))
    modelled = [0.0 if value is None else value for value in modelled_us]
    for axes, values in ((left, modelled), (right, global_mb)):
        axes.barh(rows, values, color=colours, edgecolor="#333333", linewidth=0.6)
        axes.tick_params(axis="x", labelsize=8)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
    left.set_yticks(rows, names, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("modelled time, all launches (µs, Welder's latency model)", fontsize=8.5)
    right.set_xlabel("global memory read + written, all launches (MB)", fontsize=8.5)
    return _svg(figure)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
