"""The vEU table as a Gantt chart: a row per vEU, modelled time across, a colour per kernel.

Rows are grouped by SM (an SM's vEUs next to each other: they share it, so one runs while the
other waits). Drawn with matplotlib (the ``report`` extra) on a ``Figure`` directly, never
through pyplot, like the report's other pictures (``quartet.report.figures``, whose kernel
palette it uses). Hundreds of vEUs stay readable: rows shrink to thin bars without outlines, a
few SM numbers label the axis, and one legend entry names each kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from quartet.rammer.cost import utilisation
from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice
from quartet.report.figures import PALETTE

_ROW_INCHES = 0.22  # one vEU's row while there are few
_HEIGHT_INCHES = (2.5, 12.0)  # the chart's height, whatever the vEU count
_WIDTH_INCHES = 11.0
_OUTLINED = 64  # vEUs up to which bars get an outline
_LEGEND_ENTRIES = 30  # kernels named, at most (the rest counted)


def gantt(
    table: VeuTable, launches: Sequence[LaunchNode], device: VirtualDevice, path: str | Path
) -> Path:
    """Draw ``table`` (the vEU table of ``launches`` on ``device``) as a PNG at ``path``;
    returns the path. A bar is a vEU's share of its SM's run of a launch."""
    target = Path(path)
    gantt_figure(table, launches, device).savefig(target, format="png", dpi=150)
    return target


def gantt_figure(table: VeuTable, launches: Sequence[LaunchNode], device: VirtualDevice) -> Figure:
    """:func:`gantt`'s picture, unsaved (the HTML report embeds it)."""
    colours = kernel_colours(launches)
    height = min(max(_ROW_INCHES * table.veus + 1.2, _HEIGHT_INCHES[0]), _HEIGHT_INCHES[1])
    figure = Figure(figsize=(_WIDTH_INCHES, height))
    bottom, top = 0.6 / height, 0.4 / height  # inches for the time axis and the title
    axes = figure.add_axes((0.07, bottom, 0.7, 1 - bottom - top))
    outlined = table.veus <= _OUTLINED
    for launch in launches:
        busy = [v for v, (lo, hi) in enumerate(table.ranges[launch.index]) if hi > lo]
        rows = [(v % device.sms) * device.per_sm + v // device.sms for v in busy]
        starts = [table.start[launch.index][v] * 1e6 for v in busy]
        widths = [
            table.end[launch.index][v] * 1e6 - start for v, start in zip(busy, starts, strict=True)
        ]
        axes.barh(
            rows,
            widths,
            left=starts,
            height=0.8 if outlined else 1.0,
            color=colours[launch.kernel],
            edgecolor="#333333" if outlined else "none",
            linewidth=0.4 if outlined else 0,
        )
    axes.set_xlim(0, max(table.makespan * 1e6, 1e-3))
    axes.set_ylim(table.veus - 0.5, -0.5)  # vEU 0 on top
    sms = MaxNLocator(nbins=16, integer=True).tick_values(0, device.sms - 1)
    sms = [int(sm) for sm in sms if 0 <= sm < device.sms]
    axes.set_yticks([sm * device.per_sm for sm in sms], [str(sm) for sm in sms])
    axes.set_xlabel("modelled time (us)")
    axes.set_ylabel(f"SM ({device.per_sm} vEUs each)" if device.per_sm > 1 else "SM (one vEU each)")
    axes.set_title(
        f"{len(launches)} launches on {table.veus} vEUs: makespan "
        f"{table.makespan * 1e6:.2f} us, utilisation {utilisation(table, launches, device):.2f}",
        fontsize=10,
    )
    _legend(figure, colours)
    return figure


def kernel_colours(launches: Sequence[LaunchNode]) -> dict[str, str]:
    """Each kernel's colour: the report's palette, in the order of first launch."""
    colours: dict[str, str] = {}
    for launch in launches:
        if launch.kernel not in colours:
            colours[launch.kernel] = PALETTE[len(colours) % len(PALETTE)]
    return colours


def _legend(figure: Figure, colours: dict[str, str]) -> None:
    named = list(colours.items())[:_LEGEND_ENTRIES]
    handles = [Patch(facecolor=colour, edgecolor="#333333", label=k) for k, colour in named]
    if len(colours) > _LEGEND_ENTRIES:
        more = len(colours) - _LEGEND_ENTRIES
        handles.append(Patch(facecolor="white", edgecolor="none", label=f"and {more} more"))
    columns = 1 if len(handles) <= 15 else 2
    figure.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.785, 0.95), fontsize=7, ncols=columns
    )
