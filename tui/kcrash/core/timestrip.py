"""The drill-down's timeline strip: what happened to a pod, placed on the memory chart's time axis.

    changes  ◄rev 1        rev 2 ↑3
    crashes  ◄2x  ·x1··3x····x1·····x1
              -15m      -10m      -5m       now

Time runs along `TimeAxis`, the mapping the memory chart's markers use too: minutes before now
(negative) to plot columns, the window's left edge at column 0 and now at the last one. Marks go
on two rows: changes (deploys, scale changes) and crashes (restarts with their exit code, OOM kills).
Marks too close to be read apart merge into one (`3x`: three restarts), a label that would run past
the right edge ends at its column instead, what happened after now is dropped, and before the window
only the newest deploy (`◄rev 1`: the revision running when the window opens) and the count of
restarts (`◄4x`) are kept, at its left edge. A dotted band
on the crashes row is the span in which the pod's events report back-off, which covers crashes
seen neither by kcrash nor by its archive. Every glyph is in the IBM PC and WGL4 sets, so a plain
terminal font draws them too. Pure: times are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Kind = Literal["restart", "oom", "deploy", "scale"]
Row = Literal["changes", "crashes"]

RESTART = "x"
OOM = "▼"
BEFORE = "◄"
UP = "↑"
DOWN = "↓"
SCALED = "↕"
BAND = "·"
GLYPHS = {
    RESTART: "restart (exit code)",
    OOM: "OOM kill",
    UP + DOWN: "scaled to N",
    BAND: "back-off (events)",
    BEFORE: "before the window",
}
"""The strip's glyphs and what they mean, for its legend and the docs."""
ROW_OF: dict[Kind, Row] = {"restart": "crashes", "oom": "crashes", "deploy": "changes", "scale": "changes"}


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """Minutes before now (negative) to plot columns: `left` at column 0, now at `columns - 1`."""

    left: float
    columns: int

    def column(self, minutes: float) -> int:
        if self.left >= 0 or self.columns <= 1:
            return 0
        return round((minutes - self.left) / -self.left * (self.columns - 1))

    def holds(self, minutes: float) -> bool:
        return self.left - 1e-9 <= minutes <= 1e-9


def minutes_before(moment: datetime, now: datetime) -> float:
    """`moment` as (negative) minutes before `now`: the chart's x."""
    return -(now - moment).total_seconds() / 60.0


@dataclass(frozen=True, slots=True)
class Happening:
    """Something that happened to the pod: `value` is the exit code, the revision number or the
    replica count it was scaled to; `previous` the count it was scaled from (-1: unknown)."""

    at: datetime
    kind: Kind
    value: int | None = None
    previous: int = -1
    detail: str = ""  # a deploy's image change: `api:1.4.2 → 1.5.0`


@dataclass(frozen=True, slots=True)
class Mark:
    """A label on one row: `start` is its first column, `happenings` what it stands for."""

    start: int
    text: str
    kind: Kind  # the one that gives the colour: an OOM kill over a restart, a deploy over a scale
    happenings: tuple[Happening, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True, slots=True)
class StripMarks:
    changes: tuple[Mark, ...] = ()
    crashes: tuple[Mark, ...] = ()
    band: tuple[int, int] | None = None  # first and last column of the back-off span
    before: Happening | None = None  # the newest deploy before the window
    died_before: int = 0  # restarts and OOM kills before the window, counted at its left edge


def label(happenings: Sequence[Happening], *, before: bool = False) -> tuple[str, Kind]:
    """The text of a mark and the kind that colours it."""
    kinds = {h.kind for h in happenings}
    if kinds & {"restart", "oom"}:
        if len(happenings) > 1:
            return (
                f"{len(happenings)}{OOM if 'oom' in kinds else RESTART}",
                "oom" if "oom" in kinds else "restart",
            )
        death = happenings[0]
        code = "?" if death.value is None else str(death.value)
        return (OOM if death.kind == "oom" else RESTART) + code, death.kind
    deploys = sorted(h.value or 0 for h in happenings if h.kind == "deploy")
    more = "+" if len(deploys) < len(happenings) else ""
    arrow = BEFORE if before else ""
    if len(deploys) == 1:
        return f"{arrow}rev {deploys[0]}{more}", "deploy"
    if deploys:
        return f"{arrow}rev {deploys[0]}-{deploys[-1]}{more}", "deploy"
    if len(happenings) > 1:
        return f"{len(happenings)}{SCALED}", "scale"
    scale = happenings[0]
    arrow = UP if scale.previous < 0 or (scale.value or 0) >= scale.previous else DOWN
    return f"{arrow}{scale.value}", "scale"


def place_row(happenings: Sequence[Happening], axis: TimeAxis, now: datetime) -> tuple[Mark, ...]:
    """Labels for one row, left to right, at least one free column apart: each starts at its
    happening's column, or ends there past the right edge; those that would touch merge."""
    if axis.columns <= 0:
        return ()
    groups: list[list[tuple[int, Happening]]] = []
    for item in sorted(((axis.column(minutes_before(h.at, now)), h) for h in happenings), key=lambda p: p[0]):
        if groups and item[0] <= _mark(groups[-1], axis).end:
            groups[-1].append(item)
        else:
            groups.append([item])
    marks: list[Mark] = []
    for group in groups:
        mark = _mark(group, axis)
        while marks and mark.start <= marks[-1].end:  # pushed left by the right edge into the one before
            previous = marks.pop()
            merged = [(previous.start, h) for h in previous.happenings] + group
            group, mark = merged, _mark(merged, axis)
        marks.append(mark)
    return tuple(m for m in marks if m.start >= 0)


def _mark(group: Sequence[tuple[int, Happening]], axis: TimeAxis) -> Mark:
    happenings = tuple(h for _, h in group)
    text, kind = label(happenings)
    start = min(group[0][0], axis.columns - len(text))
    return Mark(start, text, kind, happenings)


def place(
    happenings: Sequence[Happening],
    axis: TimeAxis,
    now: datetime,
    *,
    backoff: tuple[datetime, datetime] | None = None,
) -> StripMarks:
    """Every happening within the window on its row; at column 0, the newest deploy before it
    and how many restarts came before it (`◄4x`)."""
    inside = [h for h in happenings if axis.holds(minutes_before(h.at, now))]
    earlier = [h for h in happenings if h.kind == "deploy" and minutes_before(h.at, now) < axis.left]
    before = max(earlier, key=lambda h: (h.at, h.value or 0), default=None)
    changes = list(place_row([h for h in inside if ROW_OF[h.kind] == "changes"], axis, now))
    if before is not None:
        text, _ = label([before], before=True)
        changes = _after(Mark(0, text, "deploy", (before,)), changes, axis)
    crashes = list(place_row([h for h in inside if ROW_OF[h.kind] == "crashes"], axis, now))
    died = [h for h in happenings if ROW_OF[h.kind] == "crashes" and minutes_before(h.at, now) < axis.left]
    if died:
        text, kind = label(died)
        crashes = _after(Mark(0, BEFORE + text, kind, tuple(died)), crashes, axis)
    return StripMarks(tuple(changes), tuple(crashes), _band(backoff, axis, now), before, len(died))


def _after(first: Mark, marks: Sequence[Mark], axis: TimeAxis) -> list[Mark]:
    """`first` at column 0, the marks that would touch it moved right just enough (a change in the
    window's first minutes), or dropped when that pushes them past the edge."""
    kept = [first]
    for mark in marks:
        if mark.start <= kept[-1].end:
            mark = replace(mark, start=kept[-1].end + 1)
        if mark.end <= axis.columns:
            kept.append(mark)
    return kept


def _band(span: tuple[datetime, datetime] | None, axis: TimeAxis, now: datetime) -> tuple[int, int] | None:
    if span is None or axis.columns <= 0:
        return None
    first, last = (minutes_before(t, now) for t in span)
    if last < axis.left or first > 0:
        return None
    return axis.column(max(first, axis.left)), axis.column(min(last, 0.0))


def window(happenings: Sequence[Happening], now: datetime, *, shortest: float, longest: float) -> float:
    """The left edge (minutes, negative) of a strip drawn without a chart: back to the earliest
    crash or change within `longest` minutes, a little before it, and at least `shortest` back."""
    reach = [-minutes_before(h.at, now) for h in happenings]
    earliest = max((m for m in reach if m <= longest), default=0.0)
    return -min(longest, max(shortest, earliest * 1.1 + 0.5))


SCALED_MESSAGE = re.compile(r"^Scaled (up|down) replica set (\S+) (?:to|from) (\d+)(?: (?:from|to) (\d+))?")


def scale_change(message: str, at: datetime) -> Happening | None:
    """A Deployment's `ScalingReplicaSet` event as a scale change, None for a rollout's own steps.

    `Scaled up replica set api-7d4 to 3 from 1` (newer controllers say where from; older ones
    only `to 3`, and 1.33+ `from 1 to 3`). A ReplicaSet scaled up from 0 or down to 0 is a rollout
    starting or retiring a revision: the deploy mark shows that already."""
    found = SCALED_MESSAGE.match(message)
    if found is None:
        return None
    direction, _, first, second = found.groups()
    words = message[found.start(3) - 5 : found.start(3)]
    if second is None:
        to, previous = int(first), -1
    elif "from" in words:
        previous, to = int(first), int(second)
    else:
        to, previous = int(first), int(second)
    if (direction == "up" and previous == 0) or (direction == "down" and to == 0):
        return None
    return Happening(at, "scale", to, previous)
