"""Where the timeline strip puts its marks (pure): columns, collisions, the window's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kcrash.core.timestrip import Happening, Kind, TimeAxis, label, place, place_row, scale_change, window

NOW = datetime(2026, 3, 14, 14, 30, tzinfo=UTC)
AXIS = TimeAxis(-10.0, 41)  # 10 minutes over 41 columns: a column every 15 seconds


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def death(minutes: float, code: int | None = 1, kind: Kind = "restart") -> Happening:
    return Happening(ago(minutes), kind, code)


def deploy(minutes: float, number: int) -> Happening:
    return Happening(ago(minutes), "deploy", number, detail="api:1.4.2 → 1.5.0")


def texts(marks: tuple[object, ...]) -> list[tuple[int, str]]:
    return [(m.start, m.text) for m in marks]  # type: ignore[attr-defined]


def test_axis_maps_the_window_onto_the_columns() -> None:
    assert [AXIS.column(m) for m in (-10.0, -5.0, 0.0)] == [0, 20, 40]
    assert AXIS.holds(-10.0) and AXIS.holds(0.0)
    assert not AXIS.holds(-10.5) and not AXIS.holds(0.1)


@pytest.mark.parametrize(
    ("happenings", "text", "kind"),
    [
        ([death(1)], "x1", "restart"),
        ([death(1, None)], "x?", "restart"),
        ([death(1, 137, "oom")], "▼137", "oom"),
        ([death(1), death(1, 137, "oom"), death(1)], "3▼", "oom"),
        ([death(1), death(1)], "2x", "restart"),
        ([deploy(1, 7)], "rev 7", "deploy"),
        ([deploy(1, 6), deploy(1, 7)], "rev 6-7", "deploy"),
        ([deploy(1, 7), Happening(ago(1), "scale", 3, 1)], "rev 7+", "deploy"),
        ([Happening(ago(1), "scale", 3, 1)], "↑3", "scale"),
        ([Happening(ago(1), "scale", 1, 3)], "↓1", "scale"),
        ([Happening(ago(1), "scale", 1, 3), Happening(ago(1), "scale", 2, 1)], "2↕", "scale"),
    ],
)
def test_labels(happenings: list[Happening], text: str, kind: str) -> None:
    assert label(happenings) == (text, kind)


def test_marks_start_at_their_column() -> None:
    marks = place_row([death(10), death(5), death(0.25, 137)], AXIS, NOW)
    # The last would run past the right edge: it ends at the edge instead.
    assert texts(marks) == [(0, "x1"), (20, "x1"), (37, "x137")]


def test_marks_that_would_touch_merge() -> None:
    # "x1" at column 16 ends where the next one (18) would begin: the two read as one, merged.
    marks = place_row([death(6), death(5.75), death(5.5), death(2)], AXIS, NOW)
    assert texts(marks) == [(16, "3x"), (32, "x1")]
    assert len(marks[0].happenings) == 3


def test_a_mark_pushed_left_by_the_edge_merges_with_the_one_before() -> None:
    # "x1" at 35 ends at 37; "x137" at 40 would end past the edge, so it starts at 37: touching.
    marks = place_row([death(1.25), death(0.0, 137)], AXIS, NOW)
    assert texts(marks) == [(35, "2x")]


def test_one_free_column_keeps_marks_apart() -> None:
    marks = place_row([death(6), death(5.25)], AXIS, NOW)  # columns 16 and 19: "x1" ends at 18
    assert texts(marks) == [(16, "x1"), (19, "x1")]


def test_happenings_after_now_are_dropped_those_before_the_window_counted() -> None:
    later = Happening(NOW + timedelta(minutes=1), "restart", 1)
    marks = place([death(30), death(11, 137, "oom"), later, death(3)], AXIS, NOW)
    assert texts(marks.crashes) == [(0, "◄2▼"), (28, "x1")]
    assert marks.died_before == 2
    assert marks.changes == () and marks.before is None


def test_a_restart_at_the_left_edge_moves_aside_for_the_count_before() -> None:
    marks = place([death(12), death(10), death(9.75)], AXIS, NOW)
    assert texts(marks.crashes) == [(0, "◄x1"), (4, "2x")]


def test_the_newest_deploy_before_the_window_stands_at_its_left_edge() -> None:
    marks = place([deploy(120, 6), deploy(15, 7), deploy(4, 8), death(3)], AXIS, NOW)
    assert texts(marks.changes) == [(0, "◄rev 7"), (24, "rev 8")]
    assert marks.before is not None and marks.before.value == 7


def test_a_change_at_the_left_edge_moves_aside_for_the_one_before() -> None:
    marks = place([deploy(15, 6), deploy(10, 7)], AXIS, NOW)
    assert texts(marks.changes) == [(0, "◄rev 6"), (7, "rev 7")]


def test_backoff_band_is_clipped_to_the_window() -> None:
    marks = place([death(2)], AXIS, NOW, backoff=(ago(30), ago(1)))
    assert marks.band == (0, 36)
    assert place([], AXIS, NOW, backoff=(ago(30), ago(20))).band is None


def test_no_columns_no_marks() -> None:
    assert place_row([death(1)], TimeAxis(-10.0, 0), NOW) == ()


@pytest.mark.parametrize(
    ("happenings", "left"),
    [
        ([], -5.0),
        ([death(2)], -5.0),
        ([death(20)], -22.5),
        ([death(20), death(200)], -22.5),
        ([death(59)], -60.0),
    ],
)
def test_window_without_a_chart(happenings: list[Happening], left: float) -> None:
    assert window(happenings, NOW, shortest=5.0, longest=60.0) == pytest.approx(left)


@pytest.mark.parametrize(
    ("message", "to", "previous"),
    [
        ("Scaled up replica set api-7d4 to 3 from 1", 3, 1),
        ("Scaled down replica set api-7d4 to 1 from 3", 1, 3),
        ("Scaled up replica set api-7d4 from 1 to 3", 3, 1),
        ("Scaled up replica set api-7d4 to 3", 3, -1),
    ],
)
def test_scale_change(message: str, to: int, previous: int) -> None:
    assert scale_change(message, NOW) == Happening(NOW, "scale", to, previous)


@pytest.mark.parametrize(
    "message",
    [
        "Scaled up replica set api-7d4 to 1 from 0",
        "Scaled down replica set api-6c1 to 0 from 1",
        "Created pod: x",
    ],
)
def test_rollout_steps_are_not_scale_changes(message: str) -> None:
    assert scale_change(message, NOW) is None
