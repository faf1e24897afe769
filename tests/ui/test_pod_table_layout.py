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
    Column("status", "STATUS", 16, min_width=12, priority=1),
    Column("restarts", "RESTARTS", 13, priority=2),
    Column("age", "AGE", 5, priority=9, optional=True),
]


@pytest.mark.parametrize(
    ("width", "keys", "status_width"),
    [
        (120, ["name", "status", "restarts", "age"], 16),
        (70, ["name", "status", "restarts"], 16),  # AGE only fits once the rest is comfortable
        (55, ["name", "status", "restarts"], 12),  # essentials squeeze before they are dropped
        (40, ["name", "status"], 12),
        (10, ["name"], None),
    ],
)
def test_layout_drops_and_squeezes_in_priority_order(
    width: int, keys: list[str], status_width: int | None
) -> None:
    placed = layout_columns(COLUMNS, width, flex_cap=40)
    assert [p.column.key for p in placed] == keys
    assert placed[0].width >= 20
    widths = {p.column.key: p.width for p in placed}
    assert widths.get("status") == status_width


def test_flexible_column_takes_the_rest_up_to_its_cap() -> None:
    placed = layout_columns(COLUMNS, 200, flex_cap=35)
    assert placed[0].width == 35
    for width in (60, 80, 100):
        placed = layout_columns(COLUMNS, width, flex_cap=60)
        assert sum(p.width + 2 for p in placed) <= width
