"""Aggregating a scope's events: repeats added up, warnings first, the latest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kcrash.core.eventlist import aggregate, matches
from kcrash.core.records import Event

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def event(
    reason: str, name: str, kind: str = "Warning", count: int = 1, ago: int = 0, message: str = "m"
) -> Event:
    return Event(
        "shop",
        f"{name}.{reason}.{ago}",
        kind,
        reason,
        message,
        involved_name=name,
        count=count,
        last_seen=NOW - timedelta(seconds=ago),
    )


def test_repeats_add_up_and_warnings_come_first() -> None:
    rows = aggregate(
        [
            event("Pulled", "web-1", "Normal", ago=1),
            event("BackOff", "web-1", count=5, ago=60),
            event("BackOff", "web-1", count=3, ago=10),
            event("Unhealthy", "api-2", count=2, ago=30, message="probe failed"),
        ]
    )
    assert [(r.reason, r.name, r.count) for r in rows] == [
        ("BackOff", "web-1", 8),
        ("Unhealthy", "api-2", 2),
        ("Pulled", "web-1", 1),
    ]
    assert rows[0].last_seen == NOW - timedelta(seconds=10)
    assert rows[0].pod_key == ("shop", "web-1")


def test_filter_needs_every_word() -> None:
    row = aggregate([event("Unhealthy", "api-2", message="Liveness probe failed")])[0]
    assert matches(row, "liveness api") and matches(row, "WARNING")
    assert not matches(row, "liveness web")
