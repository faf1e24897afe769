"""The Events section of `kubectl describe pod`: oldest last-seen first, repeats as (xN over T)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from kcrash.core.humanize import human_duration
from kcrash.core.records import Event


def since(text_or_time: str | datetime | None, now: datetime) -> str:
    if text_or_time is None or text_or_time == "":
        return "<unknown>"
    moment = (
        datetime.fromisoformat(text_or_time.replace("Z", "+00:00"))
        if isinstance(text_or_time, str)
        else text_or_time
    )
    return human_duration((now - moment).total_seconds())


def event_rows(events: Iterable[Event], now: datetime) -> list[tuple[str, str, str, str, str]]:
    """(type, reason, age, from, message) per event, oldest last-seen first, as describe lists them."""
    rows = []
    for event in sorted(events, key=lambda e: (e.last_seen is not None, e.last_seen or e.first_seen)):
        first = since(event.first_seen, now)
        age = f"{since(event.last_seen, now)} (x{event.count} over {first})" if event.count > 1 else first
        source = event.source.split(", ")[0]
        message = event.message.strip()
        if event.field_path:
            message = f"{event.field_path}: {message}"
        rows.append((event.type, event.reason, age, source, message))
    return rows


def events_section(events: Sequence[Event], now: datetime) -> str:
    text = "Events:\n  Type\tReason\tAge\tFrom\tMessage\n  ----\t------\t----\t----\t-------\n"
    for row in event_rows(events, now):
        text += "  " + "\t".join(row) + "\n"
    return text
