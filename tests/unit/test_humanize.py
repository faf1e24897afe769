"""Durations: kubectl's HumanDuration, Go's Duration.String(), and countdowns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.humanize import countdown, human_duration, parse_go_duration, short_duration, since

SECOND = 1.0
MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR
YEAR = 365 * DAY
MS = 0.001

# TestHumanDuration and TestHumanDurationBoundaries from k8s.io/apimachinery/pkg/util/duration.
HUMAN_CASES = [
    (SECOND, "1s"),
    (70 * SECOND, "70s"),
    (190 * SECOND, "3m10s"),
    (70 * MINUTE, "70m"),
    (47 * HOUR, "47h"),
    (49 * HOUR, "2d1h"),
    ((8 * 24 + 2) * HOUR, "8d"),
    (367 * DAY, "367d"),
    ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
    ((365 * 8 * 24 + 2) * HOUR, "8y"),
    (-2 * SECOND, "<invalid>"),
    (-2 * SECOND + 1e-9, "0s"),
    (0, "0s"),
    (SECOND - MS, "0s"),
    (2 * MINUTE - MS, "119s"),
    (2 * MINUTE, "2m"),
    (2 * MINUTE + SECOND, "2m1s"),
    (10 * MINUTE - MS, "9m59s"),
    (10 * MINUTE, "10m"),
    (10 * MINUTE + SECOND, "10m"),
    (3 * HOUR - MS, "179m"),
    (3 * HOUR, "3h"),
    (3 * HOUR + MINUTE, "3h1m"),
    (8 * HOUR - MS, "7h59m"),
    (8 * HOUR, "8h"),
    (8 * HOUR + 59 * MINUTE, "8h"),
    (2 * DAY - MS, "47h"),
    (2 * DAY, "2d"),
    (2 * DAY + HOUR, "2d1h"),
    (8 * DAY - MS, "7d23h"),
    (8 * DAY, "8d"),
    (8 * DAY + 23 * HOUR, "8d"),
    (2 * YEAR - MS, "729d"),
    (2 * YEAR, "2y"),
    (2 * YEAR + 23 * HOUR, "2y"),
    (2 * YEAR + 23 * HOUR + 59 * MINUTE, "2y"),
    (2 * YEAR + 24 * HOUR - MS, "2y"),
    (2 * YEAR + 24 * HOUR, "2y1d"),
    (3 * YEAR, "3y"),
    (7 * YEAR, "7y"),
    (8 * YEAR - MS, "7y364d"),
    (8 * YEAR, "8y"),
    (8 * YEAR + 364 * DAY, "8y"),
    (9 * YEAR, "9y"),
]


@pytest.mark.parametrize(("seconds", "want"), HUMAN_CASES)
def test_human_duration_matches_apimachinery(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "want"),
    [(None, "<unknown>"), (NOW - timedelta(seconds=123), "2m3s"), (NOW + timedelta(seconds=30), "<invalid>")],
)
def test_since(moment: datetime | None, want: str) -> None:
    assert since(moment, NOW) == want


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        (0, "0s"),
        (1e-9, "1ns"),
        (1.5e-6, "1.5µs"),
        (0.5, "500ms"),
        (1.5, "1.5s"),
        (10, "10s"),
        (40, "40s"),
        (80, "1m20s"),
        (160, "2m40s"),
        (300, "5m0s"),
        (600, "10m0s"),
        (3600, "1h0m0s"),
        (3723.25, "1h2m3.25s"),
        (-5, "-5s"),
    ],
)
def test_short_duration_is_go_style(seconds: float, want: str) -> None:
    assert short_duration(seconds) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("5m0s", 300.0),
        ("1m20s", 80.0),
        ("40s", 40.0),
        ("2.5s", 2.5),
        ("300ms", 0.3),
        ("1h0m0s", 3600.0),
        ("1h30m", 5400.0),
        ("0", 0.0),
        ("-10s", -10.0),
        ("1.5µs", 1.5e-6),
    ],
)
def test_parse_go_duration(text: str, want: float) -> None:
    assert parse_go_duration(text) == pytest.approx(want)


@pytest.mark.parametrize("seconds", [0, 0.5, 10, 80, 160, 300, 3723])
def test_go_duration_round_trip(seconds: float) -> None:
    assert parse_go_duration(short_duration(seconds)) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5 m", "abc", "5x", "m5", "5m0", "--5s"])
def test_parse_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Go duration"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        (-3, "0s"),
        (0, "0s"),
        (0.2, "1s"),
        (45, "45s"),
        (59.5, "1m00s"),
        (65, "1m05s"),
        (134, "2m14s"),
        (300, "5m00s"),
        (3720, "1h02m"),
    ],
)
def test_countdown(seconds: float, want: str) -> None:
    assert countdown(seconds) == want
