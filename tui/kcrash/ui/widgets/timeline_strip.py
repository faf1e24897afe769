"""The timeline strip under the memory chart: restarts, OOM kills, deploys and scale changes.

`core.timestrip` decides where each mark goes; this widget only draws them, at its own width, in
the plot area the chart has at that width (`area`), so a mark stands under the chart's line for
the same moment. Without a chart it draws its own time axis over the window of what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from kcrash.core.humanize import human_duration
from kcrash.core.sanitize import clean_line
from kcrash.core.timestrip import (
    BAND,
    BEFORE,
    GLYPHS,
    OOM,
    RESTART,
    Happening,
    Mark,
    StripMarks,
    TimeAxis,
    minutes_before,
    place,
    window,
)

Area = Callable[[int], tuple[int, int]]
"""Width of the strip -> (first column of the plot, columns)."""
OWN_OFFSET = 9
"""Without a chart: room for the row names before the plot."""
SHORTEST_MINUTES = 5.0
LONGEST_MINUTES = 60.0
DEPLOY_LINES = 3
STYLE = {"restart": "bold $error", "oom": "bold $oom", "deploy": "bold $accent", "scale": "$text"}


def own_area(width: int) -> tuple[int, int]:
    return OWN_OFFSET, max(0, width - OWN_OFFSET - 1)


@dataclass(frozen=True)
class StripInput:
    """What the strip shows: `left` is the chart's left edge (minutes), None without a chart."""

    happenings: tuple[Happening, ...] = ()
    now: datetime | None = None
    backoff: tuple[datetime, datetime] | None = None
    left: float | None = None
    area: Area = field(default=own_area, compare=False)
    chart: object = None
    """What the chart drew (compared in place of `area`, which is made from it)."""


class TimelineStrip(Static):
    """Draws a `StripInput`; re-places the marks at each width it is drawn at."""

    DEFAULT_CSS = """
    TimelineStrip {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data = StripInput()

    def show_data(self, data: StripInput) -> None:
        """Draw `data`; without a layout pass (which repaints the whole screen) when it takes as
        many rows as what it replaces."""
        if data == self.data:
            return
        width = self.content_region.width
        rows = [len(strip_content(d, width).wrap(width)) for d in (self.data, data)] if width else [0, 1]
        self.data = data
        self.refresh(layout=rows[0] != rows[1])

    def render(self) -> Content:
        return strip_content(self.data, self.content_region.width or self.size.width)


def strip_content(data: StripInput, width: int) -> Content:
    """The rows of the strip at `width`: changes, crashes, the time axis without a chart, a legend."""
    now = data.now
    if now is None or width < 20:
        return Content("")
    if not data.happenings and data.backoff is None:
        return Content.styled("No restart, deploy or scale change known in the last hour.", "$text-muted")
    chart = data.left is not None
    offset, columns = data.area(width) if chart else own_area(width)
    left = data.left if data.left is not None else window(data.happenings, now, **_reach())
    axis = TimeAxis(left, columns)
    marks = place(data.happenings, axis, now, backoff=data.backoff)
    names = offset >= len("changes ")
    rows = [
        _row("changes" if names else "", offset, columns, marks.changes),
        _row("crashes" if names else "", offset, columns, marks.crashes, band=marks.band),
    ]
    if not chart:
        rows.append(_axis(offset, axis))
    rows += _legend(marks, width)
    rows += _deploy_lines(data.happenings, marks, axis, now)
    return Content("\n").join(rows)


def _reach() -> dict[str, float]:
    return {"shortest": SHORTEST_MINUTES, "longest": LONGEST_MINUTES}


def _row(
    name: str, offset: int, columns: int, marks: tuple[Mark, ...], band: tuple[int, int] | None = None
) -> Content:
    cells: list[tuple[str, str]] = [(" ", "")] * columns
    if band is not None:
        for column in range(band[0], min(band[1], columns - 1) + 1):
            cells[column] = (BAND, "$text-muted")
    for mark in marks:
        for index, char in enumerate(mark.text):
            if 0 <= mark.start + index < columns:
                cells[mark.start + index] = (char, STYLE[mark.kind])
    parts: list[tuple[str, str]] = (
        [(name.rjust(offset - 1)[: offset - 1] + " ", "$text-muted")] if offset else []
    )
    return Content.assemble(*parts, *cells).rstrip()


def _axis(offset: int, axis: TimeAxis) -> Content:
    """Tick labels under the strip's own window, as the chart labels its x axis."""
    from kcrash.ui.widgets.memory_chart import minute_ticks, tick_label

    line = [" "] * (axis.columns + 1)
    taken = -1
    for tick in minute_ticks(axis.left):
        text = tick_label(tick)
        start = min(axis.column(tick) - len(text) // 2, axis.columns - len(text))
        if start <= taken:
            continue
        start = max(start, 0)
        line[start : start + len(text)] = list(text)
        taken = start + len(text)
    return Content.styled(" " * offset + "".join(line).rstrip(), "$text-muted")


def _legend(marks: StripMarks, width: int) -> list[Content]:
    """What the glyphs drawn mean, and only those, in as many rows as `width` needs."""
    kinds = {h.kind for m in (*marks.changes, *marks.crashes) for h in m.happenings}
    shown = {
        RESTART: "restart" in kinds,
        OOM: "oom" in kinds,
        "↑↓": "scale" in kinds,
        BAND: marks.band is not None,
        BEFORE: marks.before is not None or marks.died_before > 0,
    }
    entries = [(glyph, meaning, "bold") for glyph, meaning in GLYPHS.items() if shown[glyph]]
    if any(len(m.happenings) > 1 for m in (*marks.crashes, *marks.changes)):
        entries.append(("N" + RESTART, "N in one column", "bold"))
    if "deploy" in kinds:
        entries.append(("rev N", "deploy", "bold $accent"))
    rows: list[list[tuple[str, str]]] = [[]]
    used = 0
    for glyph, meaning, style in entries:
        size = len(glyph) + 1 + len(meaning)
        if rows[-1] and used + 2 + size > width:
            rows.append([])
            used = 0
        if rows[-1]:
            rows[-1].append(("  ", ""))
            used += 2
        rows[-1] += [(glyph, style), (" " + meaning, "$text-muted")]
        used += size
    return [Content.assemble(*row) for row in rows if row]


def _deploy_lines(
    happenings: tuple[Happening, ...], marks: StripMarks, axis: TimeAxis, now: datetime
) -> list[Content]:
    """The deploys drawn, newest first, with their image change."""
    drawn = [h for h in happenings if h.kind == "deploy" and axis.holds(minutes_before(h.at, now))]
    if marks.before is not None:
        drawn.append(marks.before)
    lines = []
    for deploy in sorted(drawn, key=lambda h: h.at, reverse=True)[:DEPLOY_LINES]:
        ago = human_duration((now - deploy.at).total_seconds())
        lines.append(
            Content.assemble(
                (f"rev {deploy.value}", "bold $accent"),
                (f"  {ago} ago  ", "$text-muted"),
                clean_line(deploy.detail),
            ).rstrip()
        )
    return lines
