"""The events of a scope as the events view lists them: repeats aggregated, warnings first.

Events about the same object that say the same thing (type, reason, message) are one row with
their counts added and the latest time; the kubelet already counts repeats within one Event, but
a pod that crash-loops for an hour leaves several Events with the same words. Pure: no clock of
its own (`now` is given), no IO.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kcrash.core.records import Event


@dataclass(frozen=True, slots=True)
class EventRow:
    type: str
    reason: str
    kind: str
    namespace: str
    name: str
    message: str
    count: int
    last_seen: datetime | None

    @property
    def warning(self) -> bool:
        return self.type == "Warning"

    @property
    def pod_key(self) -> tuple[str, str] | None:
        return (self.namespace, self.name) if self.kind == "Pod" else None


def aggregate(events: Iterable[Event]) -> list[EventRow]:
    """One row per (object, type, reason, message); warnings first, then the latest first."""
    groups: dict[tuple[str, str, str, str, str, str], EventRow] = {}
    for event in events:
        key = (
            event.type,
            event.reason,
            event.involved_kind,
            event.namespace,
            event.involved_name,
            event.message,
        )
        seen = event.last_seen or event.first_seen
        found = groups.get(key)
        if found is None:
            groups[key] = EventRow(*key, count=event.count, last_seen=seen)
            continue
        latest = max((t for t in (found.last_seen, seen) if t is not None), default=None)
        groups[key] = EventRow(*key, count=found.count + event.count, last_seen=latest)
    return sorted(groups.values(), key=_order)


def _order(row: EventRow) -> tuple[bool, float, str]:
    stamp = row.last_seen.timestamp() if row.last_seen is not None else 0.0
    return (not row.warning, -stamp, row.name)


def matches(row: EventRow, words: str) -> bool:
    """Every word of the filter appears in the type, reason, object or message (any case)."""
    text = f"{row.type} {row.reason} {row.kind} {row.namespace}/{row.name} {row.message}".lower()
    return all(word in text for word in words.lower().split())
