"""Memory over time against the limit: a plotext chart, and the honest words around it.

`chart_data` (pure) turns samples, the container's limits and the terminations seen this session
into what to draw and a caption; samples come from this run of kcrash, the archive and Prometheus
(`kcrash.core.memorysources` decides which covers what), the legend says which stretch is whose, and
a gap of more than a few steps is drawn as a gap; `MemoryChart` draws it, sized to the widget, in the theme's
colours (Dolphie's recipe: clear, size, draw the limit with `hline`, render; re-render on resize).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from textual.color import Color
from textual_plotext import PlotextPlot

from kcrash.core.humanize import human_duration
from kcrash.core.memorysources import ARCHIVE, LIVE, PROMETHEUS, Merged, Source, merge
from kcrash.core.quantity import format_bytes
from kcrash.core.records import MemorySample
from kcrash.core.timestrip import TimeAxis
from kcrash.ui.history import Termination

MIB = 1024 * 1024
MIN_SAMPLES = 2
Align = Literal["left", "right"]
Label = tuple[float, str, Align]  # x, text, plotext alignment
OOM_SPIKE_WARNING = 0.9  # the last sample before an OOM kill below this share of the limit is suspicious
LEGEND_PARTS = 6  # stretches and gaps named in the legend; past that "…"
Segment = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class ChartData:
    """What to draw: x in minutes before now (negative), y in MiB; `drawable` False means text only."""

    drawable: bool
    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()
    limit_mib: float | None = None
    limit_label: str = ""
    request_mib: float | None = None
    request_label: str = ""
    restarts: tuple[float, ...] = ()
    ooms: tuple[float, ...] = ()
    deploys: tuple[tuple[float, str], ...] = ()  # (x, "rev 7"): a revision created then
    caption: str = ""
    segments: tuple[Segment, ...] = ()
    """(xs, ys) of each line: points with a gap between them are not joined."""
    legend: str = ""
    """Where each stretch came from: "memory: Prometheus 13:02–13:58 · live since 14:00"."""


def _mib(n: int) -> float:
    return n / MIB


def _minutes_before(moment: datetime, now: datetime) -> float:
    return -(now - moment).total_seconds() / 60.0


def chart_data(
    samples: Sequence[MemorySample],
    *,
    container: str,
    available: bool,
    note: str,
    limit: int | None,
    request: int | None,
    terminations: Sequence[Termination],
    now: datetime,
    interval: float = 15.0,
    deploys: Sequence[tuple[datetime, str]] = (),
    archived: Sequence[MemorySample] = (),
    prometheus: Sequence[MemorySample] = (),
    prometheus_step: float = 60.0,
    prometheus_note: str = "",
) -> ChartData:
    """Decide what the chart may honestly show for one container.

    `samples` are this run's own (they may include `archived` ones, which are then told apart);
    `prometheus` are Prometheus's at `prometheus_step`; `prometheus_note` is a line about it
    (where it was found, or why it could not be asked)."""
    earlier = set(archived)
    merged = merge(
        (
            Source(LIVE, interval, tuple(s for s in samples if s not in earlier)),
            Source(ARCHIVE, interval, tuple(archived)),
            Source(PROMETHEUS, prometheus_step, tuple(prometheus)),
        ),
        container,
    )
    mine = merged.points
    bounds = _bounds_text(limit, request)
    extra = f" {prometheus_note}" if prometheus_note else ""
    if not available and len(mine) < MIN_SAMPLES:
        return ChartData(
            False, caption=f"{note or 'No metrics API on this cluster.'} Memory use unknown. {bounds}{extra}"
        )
    if len(mine) < MIN_SAMPLES:
        got = (
            "No memory sample yet" if not mine else f"1 memory sample so far ({format_bytes(mine[0].bytes)})"
        )
        why = f": {note}" if note and not mine else ""
        every = human_duration(interval)
        return ChartData(
            False, caption=f"{got}{why}. kcrash samples every {every} from its start. {bounds}{extra}"
        )
    first = mine[0].at
    seen = [t for t in terminations if t.at >= first]
    caption = (
        f"working set, last {human_duration((now - first).total_seconds())}, {len(mine)} samples. {bounds}"
    )
    if not available:
        caption += f" {note or 'No metrics API on this cluster'}: nothing live, only history."
    as_samples = [MemorySample(p.at, container, p.bytes) for p in mine]
    spike = _oom_between_samples(as_samples, seen, limit)
    if spike:
        caption += " " + spike
    legend = sources_legend(merged, now)
    return ChartData(
        True,
        xs=tuple(_minutes_before(p.at, now) for p in mine),
        ys=tuple(_mib(p.bytes) for p in mine),
        limit_mib=_mib(limit) if limit else None,
        limit_label=f"limit {format_bytes(limit)}" if limit else "",
        request_label=f"request {format_bytes(request)}" if request else "",
        request_mib=_mib(request) if request else None,
        restarts=tuple(_minutes_before(t.at, now) for t in seen if t.reason != "OOMKilled"),
        ooms=tuple(_minutes_before(t.at, now) for t in seen if t.reason == "OOMKilled"),
        deploys=tuple((_minutes_before(at, now), label) for at, label in deploys if first <= at <= now),
        caption=(f"{legend}{extra}\n{caption.strip()}" if legend or extra else caption.strip()),
        segments=tuple(
            (
                tuple(_minutes_before(p.at, now) for p in mine[a:b]),
                tuple(_mib(p.bytes) for p in mine[a:b]),
            )
            for a, b in merged.segments
        ),
        legend=legend,
    )


def sources_legend(merged: Merged, now: datetime) -> str:
    """ "memory: Prometheus 13:02–13:58 · archive 13:40–14:00 · live since 14:00", gaps named too;
    times in UTC, as the crash headline gives them. Empty when this run's own samples are all there is."""
    stretches = merged.stretches
    if not stretches or (all(s.source == LIVE for s in stretches) and not merged.gaps):
        return ""
    parts: list[tuple[datetime, str]] = []
    last = merged.points[-1].at
    for stretch in stretches:
        if stretch.source == LIVE and stretch.last == last:
            parts.append((stretch.first, f"live since {_clock(stretch.first)}"))
        else:
            parts.append((stretch.first, f"{stretch.source} {_clock(stretch.first)}–{_clock(stretch.last)}"))
    for begin, end in merged.gaps:
        parts.append((begin, f"no data {_clock(begin)}–{_clock(end)}"))
    parts.sort(key=lambda part: part[0])
    words = [text for _, text in parts]
    if len(words) > LEGEND_PARTS:
        words = [*words[: LEGEND_PARTS - 1], "…", words[-1]]
    return "memory: " + " · ".join(words) + " UTC"


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M")


def _bounds_text(limit: int | None, request: int | None) -> str:
    limit_text = f"limit {format_bytes(limit)}" if limit else "no memory limit"
    request_text = f", request {format_bytes(request)}" if request else ""
    return f"{limit_text}{request_text}."


def _oom_between_samples(
    samples: Sequence[MemorySample], terminations: Sequence[Termination], limit: int | None
) -> str:
    """Metrics resolve 15 s at best; say so when the last sample before an OOM kill looked fine."""
    if not limit:
        return ""
    for death in reversed(terminations):
        if death.reason != "OOMKilled":
            continue
        before = [s for s in samples if s.at <= death.at]
        if not before:
            return ""
        last = before[-1]
        share = last.bytes / limit
        if share < OOM_SPIKE_WARNING:
            return (
                f"The last sample before the OOM kill read {format_bytes(last.bytes)} "
                f"({round(share * 100)}% of the limit): the spike came between samples."
            )
        return ""
    return ""


class MemoryChart(PlotextPlot):
    """Draws a ChartData; nothing at all until it is given one that is drawable."""

    DEFAULT_CSS = """
    MemoryChart {
        height: 12;
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data = ChartData(False)

    def show_data(self, data: ChartData) -> None:
        if data != self.data:
            self.data = data
            self.refresh()

    def _colour(self, variable: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable) or self.app.theme_variables.get("foreground", "white")
        return Color.parse(value).rgb

    def render(self) -> object:  # type: ignore[override]
        self._draw()
        return super().render()

    def _draw(self) -> None:
        plt = self.plt
        data = self.data
        plt.clear_data()
        plt.clear_figure()
        if not data.drawable:
            return
        usage = self._colour("chart-usage")
        for xs, ys in data.segments or ((data.xs, data.ys),):
            plt.plot(list(xs), list(ys), marker="braille", color=usage)
        top = max(data.ys)
        ticks: list[float] = [0.0]
        labels = ["0"]
        if data.request_mib:
            plt.hline(data.request_mib, color=self._colour("chart-request"))
            ticks.append(data.request_mib)
            labels.append(data.request_label)
        if data.limit_mib:
            plt.hline(data.limit_mib, color=self._colour("chart-limit"))
            top = max(top, data.limit_mib)
            ticks.append(data.limit_mib)
            labels.append(data.limit_label)
        left = min(data.xs)
        for x in data.restarts:
            plt.vline(x, color=self._colour("warning"))
        for x in data.ooms:
            plt.vline(x, color=self._colour("oom"))
        for x, _ in data.deploys:
            plt.vline(x, color=self._colour("accent"))
        markers = [
            *((x, "restart") for x in data.restarts),
            *((x, "OOM") for x in data.ooms),
            *data.deploys,
        ]
        for x, text, alignment in marker_labels(markers, left, plot_area(data, self.size.width)[1]):
            colour = self._colour({"OOM": "oom", "restart": "warning"}.get(text, "accent"))
            plt.text(text, x, top * 1.08, color=colour, alignment=alignment)
        plt.xlim(left, 0)
        plt.ylim(0, top * 1.15)
        plt.yticks(ticks, labels)
        xticks = minute_ticks(left)
        plt.xticks(xticks, [tick_label(t) for t in xticks])


def plot_area(data: ChartData, width: int) -> tuple[int, int]:
    """Where plotext draws the plot of a chart `width` cells wide: (first column, columns). The
    y tick labels and the frame's left side come before it, the frame's right side after."""
    labels = ["0", data.request_label if data.request_mib else "", data.limit_label if data.limit_mib else ""]
    widest = max(len(label) for label in labels)
    return widest + 1, max(0, width - widest - 2)


def marker_labels(markers: Sequence[tuple[float, str]], left: float, columns: int) -> list[Label]:
    """Labels for the markers (x in minutes before now, text) that fit the plot's `columns`
    without touching each other, the newest first: each starts at its line, or ends there when it
    would run past the right edge."""
    if columns <= 0 or left >= 0:
        return []
    kept: list[tuple[int, int]] = []
    labels: list[Label] = []
    for x, text in sorted(markers, reverse=True):
        column = TimeAxis(left, columns).column(x)
        start, alignment = column, "left"
        if start + len(text) > columns:
            start, alignment = column - len(text) + 1, "right"
        end = start + len(text)
        if start < 0 or any(start <= b and a <= end for a, b in kept):
            continue  # one cell apart at least, or the two read as one word
        kept.append((start, end))
        labels.append((x, text, cast(Align, alignment)))
    return labels


def minute_ticks(left: float, count: int = 5) -> list[float]:
    """Round minute marks from `left` (negative minutes) up to now."""
    span = -left
    for step in (1 / 12, 1 / 6, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120):
        if span / step <= count:
            break
    ticks = [0.0]
    while ticks[-1] - step >= left - 1e-9:
        ticks.append(ticks[-1] - step)
    return sorted(ticks)


def tick_label(minutes: float) -> str:
    if minutes == 0:
        return "now"
    seconds = -minutes * 60
    return "-" + human_duration(seconds)
