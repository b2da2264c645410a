"""The ``quartet`` command's live progress line on a terminal (rich), stage by stage.

The command runs in an isolated child (:mod:`quartet.isolation`), which reports each stage of
the compile (``Stopwatch``) and each pass of a pipeline to the parent. On a terminal the parent
shows, once the command has run for ``DELAY_SECONDS``, one line that it keeps redrawing:

    ⠼ graph-to-loops · quartet-welder{arch=sm_90 fusion=welder}   3.4 s   ✓ parse 0.03 s, ...

and clears it when the child ends. The child's own output comes through the parent
(``isolation.Watcher``) and is printed above that line. Without a terminal, or under ``-q``,
there is no display: the plain progress lines (or nothing) are all there is.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

DELAY_SECONDS = 2.0
"""A command that finishes sooner shows no display ("compiles longer than a couple of
seconds", issue 18)."""


SHOWN_DONE = 3
"""Finished stages the line lists, the latest first, with their seconds."""


class StageDisplay:
    """An :class:`quartet.isolation.Watcher` that draws the live line on ``console``."""

    def __init__(self, console: Console, delay: float = DELAY_SECONDS):
        self.console, self.delay = console, delay
        self.started = time.monotonic()
        self.done: list[tuple[str, float]] = []  # finished stages, seconds each
        self.current: str | None = None
        self.current_started = self.started
        self.pass_name: str | None = None
        self.spinner = Spinner("dots")
        self.live: Live | None = None

    def stage(self, stage: str) -> None:
        now = time.monotonic()
        if self.current is not None:
            self.done.append((self.current, now - self.current_started))
        self.current, self.current_started, self.pass_name = stage, now, None
        self.tick()

    def pass_started(self, pass_name: str) -> None:
        self.pass_name = pass_name
        self.tick()

    def write(self, stream: str, text: str) -> None:
        """The child's output: above the live line when it is on the same terminal."""
        target = sys.stdout if stream == "stdout" else sys.stderr
        if self.live is None or (stream == "stdout" and not target.isatty()):
            target.write(text)
            target.flush()
            return
        self.console.print(Text(text.removesuffix("\n")), soft_wrap=True)

    def tick(self) -> None:
        if self.live is None and time.monotonic() - self.started >= self.delay:
            self.live = Live(
                console=self.console,
                get_renderable=self.line,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start()
        if self.live is not None:
            self.live.refresh()

    def line(self) -> Text:
        """What the live line says now."""
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(self.spinner.render(time.monotonic()))
        line.append(f" {self.current or 'starting'}", style="bold")
        if self.pass_name:
            line.append(f" · {self.pass_name}", style="cyan")
        line.append(f"   {time.monotonic() - self.started:.1f} s", style="dim")
        if self.done:
            recent = reversed(self.done[-SHOWN_DONE:])
            line.append("   ✓ " + ", ".join(f"{s} {t:.2f} s" for s, t in recent), style="green")
        return line

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def stage_display(quiet: bool) -> StageDisplay | None:
    """The display for a command: none under ``-q`` or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    return StageDisplay(Console(stderr=True))
