"""Fitting text and columns into the terminal width (pure)."""

from __future__ import annotations

import pytest

from kcrash.ui.widgets.pod_table import Column, fit_text, layout_columns


@pytest.mark.parametrize(
    ("text", "width", "how", "expected"),
    [
        ("short", 10, "end", "short"),
        ("exactly-10", 10, "end", "exactly-10"),
        ("CreateContainerConfigError", 16, "end", "CreateContainer…"),
        ("slow-start-liveness-84d6c9f7b-w7xzp", 20, "middle", "slow-start…9f7b-w7xzp"[:20]),
        ("anything", 1, "end", "…"),
        ("anything", 0, "end", ""),
    ],
)
def test_fit_text(text: str, width: int, how: str, expected: str) -> None:
    fitted = fit_text(text, width, how)  # type: ignore[arg-type]
    assert len(fitted) <= max(width, 0)
    if how == "middle":
        assert fitted.endswith("w7xzp") and "…" in fitted
    else:
        assert fitted == expected


COLUMNS = [
    Column("name", "NAME", 30, min_width=20, priority=0, flex=True),
    Column("status", "STATUS", 16, priority=1),
    Column("restarts", "RESTARTS", 13, priority=2),
    Column("age", "AGE", 5, priority=9),
]


@pytest.mark.parametrize(
    ("width", "keys"),
    [
        (120, ["name", "status", "restarts", "age"]),
        (60, ["name", "status", "restarts"]),
        (45, ["name", "status"]),
        (10, ["name"]),
    ],
)
def test_layout_drops_lowest_priority_first(width: int, keys: list[str]) -> None:
    placed = layout_columns(COLUMNS, width, flex_cap=40)
    assert [p.column.key for p in placed] == keys
    assert placed[0].width >= 20


def test_flexible_column_takes_the_rest_up_to_its_cap() -> None:
    placed = layout_columns(COLUMNS, 200, flex_cap=35)
    assert placed[0].width == 35
    placed = layout_columns(COLUMNS, 80, flex_cap=60)
    total = sum(p.width + 2 for p in placed)
    assert total <= 80
