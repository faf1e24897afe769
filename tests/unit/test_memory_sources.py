"""Memory from Prometheus, the archive and this run of kcrash on one axis: who wins, where the gaps are,
what step a chart of a given width asks for, and what the chart's legend says (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.memorysources import ARCHIVE, LIVE, PROMETHEUS, Source, choose_step, merge
from kcrash.core.records import MemorySample
from kcrash.ui.widgets.memory_chart import chart_data

NOW = datetime(2026, 3, 14, 14, 0, 0, tzinfo=UTC)
MI = 1024 * 1024


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def every(
    step: float, first_ago: float, last_ago: float, mib: int = 100, container: str = "app"
) -> tuple[MemorySample, ...]:
    """Samples every `step` seconds from `first_ago` to `last_ago` minutes before NOW."""
    count = round((first_ago - last_ago) * 60 / step) + 1
    return tuple(
        MemorySample(at(first_ago) + timedelta(seconds=i * step), container, mib * MI) for i in range(count)
    )


@pytest.mark.parametrize(
    ("span", "columns", "step"),
    [
        (3600, 60, 30.0),  # 120 points across 60 braille columns
        (3600, 200, 15.0),  # never finer than a scrape
        (3600, 20, 120.0),
        (6 * 3600, 80, 300.0),
        (3600, 0, 3600.0),
    ],
)
def test_the_step_gives_about_two_points_per_column(span: float, columns: int, step: float) -> None:
    assert choose_step(span, columns) == step


def test_live_wins_over_archive_over_prometheus_where_they_overlap() -> None:
    prometheus = Source(PROMETHEUS, 60, every(60, 60, 0, mib=10))
    archive = Source(ARCHIVE, 15, every(15, 20, 10, mib=20))
    live = Source(LIVE, 15, every(15, 5, 0, mib=30))
    merged = merge((live, archive, prometheus), "app")
    by_source = {p.source: [q.at for q in merged.points if q.source == p.source] for p in merged.points}
    assert min(by_source[LIVE]) == at(5) and max(by_source[LIVE]) == at(0)
    assert min(by_source[ARCHIVE]) == at(20) and max(by_source[ARCHIVE]) == at(10)
    prom = by_source[PROMETHEUS]
    assert min(prom) == at(60)
    assert not any(at(20) <= t <= at(10) for t in prom), "Prometheus does not double the archive"
    assert not any(t >= at(5) for t in prom), "nor this run's own"
    assert any(at(10) < t < at(5) for t in prom), "it fills what neither covered"
    assert [s.source for s in merged.stretches] == [PROMETHEUS, ARCHIVE, PROMETHEUS, LIVE]
    assert len(merged.segments) == 1 and not merged.gaps


def test_a_gap_longer_than_a_few_steps_is_not_bridged() -> None:
    samples = every(60, 60, 40) + every(60, 20, 0)
    merged = merge((Source(PROMETHEUS, 60, samples),), "app")
    assert merged.gaps == ((at(40), at(20)),)
    assert [(b - a) for a, b in merged.segments] == [21, 21]
    one_missing = every(60, 10, 6) + every(60, 4, 0)  # 2 minutes between: within three steps
    assert merge((Source(PROMETHEUS, 60, one_missing),), "app").gaps == ()


def test_other_containers_are_left_out() -> None:
    merged = merge((Source(LIVE, 15, every(15, 2, 0) + every(15, 2, 0, container="sidecar")),), "app")
    assert len(merged.points) == 9


def test_the_chart_covers_the_prometheus_hour_and_says_where_each_stretch_came_from() -> None:
    archived = every(15, 20, 10, mib=150)
    live = every(15, 5, 0, mib=90)
    data = chart_data(
        (*archived, *live),  # the console's view carries the archived samples too
        container="app",
        available=True,
        note="",
        limit=256 * MI,
        request=None,
        terminations=(),
        now=NOW,
        archived=archived,
        prometheus=every(60, 59, 0, mib=120),
        prometheus_step=60,
    )
    assert data.drawable
    assert data.xs[0] == pytest.approx(-59.0), "the first paint reaches back an hour"
    assert data.legend == (
        "memory: Prometheus 13:01–13:39 · archive 13:40–13:50 · Prometheus 13:51–13:54 · live since 13:55 UTC"
    )
    assert data.caption.splitlines()[0] == data.legend
    assert len(data.segments) == 1


def test_a_gap_is_drawn_as_two_lines_and_named() -> None:
    data = chart_data(
        every(15, 3, 0),
        container="app",
        available=True,
        note="",
        limit=None,
        request=None,
        terminations=(),
        now=NOW,
        prometheus=every(60, 60, 40),
        prometheus_step=60,
    )
    assert len(data.segments) == 2
    assert data.segments[0][0][-1] == pytest.approx(-40.0) and data.segments[1][0][0] == pytest.approx(-3.0)
    assert "no data 13:20–13:57" in data.legend


def test_without_a_metrics_api_prometheus_alone_is_charted() -> None:
    data = chart_data(
        (),
        container="app",
        available=False,
        note="no metrics API (metrics.k8s.io is not served: is metrics-server installed?)",
        limit=None,
        request=None,
        terminations=(),
        now=NOW,
        prometheus=every(60, 30, 0),
    )
    assert data.drawable
    assert "nothing live, only history" in data.caption


def test_a_prometheus_failure_is_one_line_under_an_empty_chart() -> None:
    data = chart_data(
        (),
        container="app",
        available=True,
        note="",
        limit=None,
        request=None,
        terminations=(),
        now=NOW,
        prometheus_note="Prometheus: no Prometheus found through the API server (tried a/b:1)",
    )
    assert not data.drawable
    assert data.caption.endswith("Prometheus: no Prometheus found through the API server (tried a/b:1)")
    assert "\n" not in data.caption
