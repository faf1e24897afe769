"""Memory samples from several sources on one time axis, and where each stretch came from.

The chart's hour can come from three places: Prometheus (the cluster's own history, coarse), the
archive (what an earlier run of kcrash sampled) and this run's sampler (live). Where two sources
cover the same moment the finer, nearer one wins (live over archive over Prometheus); a coarser
source fills only what the others do not cover. A gap longer than `GAP_STEPS` of the sources'
steps is a gap: no line is drawn across it and the legend names it. Pure: samples in, points out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kcrash.core.records import MemorySample

PROMETHEUS = "Prometheus"
ARCHIVE = "archive"
LIVE = "live"
GAP_STEPS = 3.0
"""A stretch without samples longer than this many steps is drawn as a gap, not bridged. A source's
step is the larger of the one it was asked at and the median spacing of its samples: a sampler
polling every second still gets metrics-server's 15 s (or 60 s) resolution."""
NICE_STEPS = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
POINTS_PER_COLUMN = 2  # braille: two dots across per terminal column


@dataclass(frozen=True, slots=True)
class Source:
    """Samples of one source, and its step (seconds between its samples)."""

    name: str
    step: float
    samples: tuple[MemorySample, ...]


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    bytes: int
    source: str


@dataclass(frozen=True, slots=True)
class Stretch:
    """Consecutive points of one source drawn as one line."""

    source: str
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class Merged:
    points: tuple[Point, ...]
    segments: tuple[tuple[int, int], ...]
    """Index ranges [start, end) of `points` drawn as one line each: a gap separates two."""
    stretches: tuple[Stretch, ...]
    gaps: tuple[tuple[datetime, datetime], ...]


def choose_step(span_seconds: float, columns: int, minimum: float = 15.0) -> float:
    """A round step giving about as many points as the chart can draw across `columns`.

    Finer than Prometheus' scrape interval buys nothing, so never below `minimum`."""
    wanted = span_seconds / max(1, columns * POINTS_PER_COLUMN)
    for step in NICE_STEPS:
        if step >= wanted and step >= minimum:
            return float(step)
    return float(max(NICE_STEPS[-1], math.ceil(wanted)))


def merge(sources: Sequence[Source], container: str) -> Merged:
    """One container's points from `sources`, the first given winning where they overlap."""
    kept: list[tuple[Point, float]] = []
    covered: list[tuple[float, float]] = []
    for source in sources:
        mine = sorted((s for s in source.samples if s.container == container), key=lambda s: s.at)
        times = [s.at.timestamp() for s in mine]
        step = max(source.step, _median_spacing(times))
        fresh = [s for s in mine if not _inside(s.at.timestamp(), covered)]
        kept.extend((Point(s.at, s.bytes, source.name), step) for s in fresh)
        covered.extend(_coverage(times, step))
    kept.sort(key=lambda item: item[0].at)
    points = tuple(point for point, _ in kept)
    segments: list[tuple[int, int]] = []
    gaps: list[tuple[datetime, datetime]] = []
    start = 0
    for i in range(1, len(kept)):
        (before, step_before), (after, step_after) = kept[i - 1], kept[i]
        if (after.at - before.at).total_seconds() > GAP_STEPS * max(step_before, step_after):
            segments.append((start, i))
            gaps.append((before.at, after.at))
            start = i
    if kept:
        segments.append((start, len(kept)))
    return Merged(points, tuple(segments), _stretches(points), tuple(gaps))


def _median_spacing(times: list[float]) -> float:
    spacing = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return spacing[len(spacing) // 2] if spacing else 0.0


def _coverage(times: list[float], step: float) -> list[tuple[float, float]]:
    """The intervals a source's samples vouch for: runs without a gap, half a step either side."""
    spans: list[tuple[float, float]] = []
    for t in times:
        if spans and t - spans[-1][1] <= GAP_STEPS * step + step / 2:
            spans[-1] = (spans[-1][0], t + step / 2)
        else:
            spans.append((t - step / 2, t + step / 2))
    return spans


def _inside(t: float, spans: list[tuple[float, float]]) -> bool:
    return any(a <= t <= b for a, b in spans)


def _stretches(points: tuple[Point, ...]) -> tuple[Stretch, ...]:
    """Runs of one source, in time order."""
    runs: list[Stretch] = []
    for point in points:
        if runs and runs[-1].source == point.source:
            runs[-1] = Stretch(point.source, runs[-1].first, point.at)
        else:
            runs.append(Stretch(point.source, point.at, point.at))
    return tuple(runs)
