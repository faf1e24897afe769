"""What the memory chart may honestly show (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.records import MemorySample
from kcrash.ui.history import Termination
from kcrash.ui.widgets.memory_chart import chart_data, marker_labels, minute_ticks, tick_label

NOW = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)
MI = 1024 * 1024


def sample(seconds_ago: float, mib: int, container: str = "app") -> MemorySample:
    return MemorySample(NOW - timedelta(seconds=seconds_ago), container, mib * MI)


def data(samples: list[MemorySample], available: bool = True, terminations: tuple[Termination, ...] = ()):  # type: ignore[no-untyped-def]
    return chart_data(
        samples,
        container="app",
        available=available,
        note="",
        limit=256 * MI,
        request=128 * MI,
        terminations=terminations,
        now=NOW,
    )


def test_no_metrics_api_says_so() -> None:
    result = data([], available=False)
    assert not result.drawable
    assert "No metrics API" in result.caption and "limit 256Mi" in result.caption


@pytest.mark.parametrize(
    ("samples", "words"), [([], "No memory sample yet"), ([sample(5, 100)], "1 memory sample so far (100Mi)")]
)
def test_too_few_samples_is_text(samples: list[MemorySample], words: str) -> None:
    result = data(samples)
    assert not result.drawable
    assert words in result.caption


def test_series_against_limit_with_markers() -> None:
    deaths = (Termination(NOW - timedelta(seconds=45), "OOMKilled", 137),)
    result = data(
        [sample(90, 200), sample(60, 250), sample(30, 60), sample(0, 90), sample(0, 5, "sidecar")],
        terminations=deaths,
    )
    assert result.drawable
    assert result.ys == (200.0, 250.0, 60.0, 90.0)
    assert result.xs[0] == pytest.approx(-1.5)
    assert result.limit_mib == 256.0 and result.limit_label == "limit 256Mi"
    assert result.ooms == (pytest.approx(-0.75),)
    assert "spike" not in result.caption  # 250 of 256 Mi is near the limit


def test_oom_between_samples_is_called_out() -> None:
    deaths = (Termination(NOW - timedelta(seconds=45), "OOMKilled", 137),)
    result = data([sample(90, 100), sample(60, 120), sample(30, 60)], terminations=deaths)
    assert "120Mi (47% of the limit): the spike came between samples" in result.caption


@pytest.mark.parametrize(
    ("left", "ticks"),
    [
        (-4.0, [-4.0, -3.0, -2.0, -1.0, 0.0]),
        (-30.0, [-30.0, -20.0, -10.0, 0.0]),
        (-1.0, [-1.0, -0.75, -0.5, -0.25, 0.0]),
        (-0.35, [-1 / 3, -0.25, -1 / 6, -1 / 12, 0.0]),
    ],
)
def test_minute_ticks(left: float, ticks: list[float]) -> None:
    assert minute_ticks(left) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("minutes", "label"), [(0.0, "now"), (-0.5, "-30s"), (-10.0, "-10m"), (-90.0, "-90m")]
)
def test_tick_label(minutes: float, label: str) -> None:
    assert tick_label(minutes) == label


@pytest.mark.parametrize(
    ("markers", "columns", "labels"),
    [
        # A restart marker is labelled like an OOM one; the label starts at its line.
        ([(-5.0, "restart")], 60, [(-5.0, "restart", "left")]),
        ([(-5.0, "OOM"), (-2.0, "restart")], 60, [(-2.0, "restart", "left"), (-5.0, "OOM", "left")]),
        # Near now the label ends at its line instead of running off the plot.
        ([(-0.1, "restart")], 60, [(-0.1, "restart", "right")]),
        # Markers too close for two labels: the newer keeps its label.
        ([(-5.0, "restart"), (-4.8, "restart")], 60, [(-4.8, "restart", "left")]),
        # At 80 columns (a plot of about 64) a crash loop every minute labels every other line.
        (
            [(-4.0, "restart"), (-3.0, "restart"), (-2.0, "restart"), (-1.0, "restart")],
            64,
            [(-1.0, "restart", "left"), (-3.0, "restart", "left")],
        ),
        ([(-1.0, "restart")], 0, []),
    ],
)
def test_marker_labels_fit_without_touching(
    markers: list[tuple[float, str]], columns: int, labels: list[tuple[float, str, str]]
) -> None:
    assert marker_labels(markers, -10.0, columns) == labels
