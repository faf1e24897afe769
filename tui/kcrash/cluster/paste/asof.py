"""When a describe was taken, from its own times: a paste rarely says so outright."""

from __future__ import annotations

from datetime import datetime, timedelta

from kcrash.cluster.paste.model import AsOfBasis, PodFacts


def estimate_as_of(facts: PodFacts) -> tuple[datetime | None, AsOfBasis]:
    """When a describe was taken, from its absolute times and the ages of its events.

    The latest container start plus the age of the latest `Started` event; failing that (nothing
    ever started) the pod's start plus the age of its `Scheduled` event; never earlier than the
    latest time the paste shows.
    """
    pod = facts.pod
    starts: list[datetime] = []
    latest: list[datetime] = [t for t in (pod.start_time,) if t is not None]
    for status in (*pod.container_statuses, *pod.init_container_statuses):
        for state in (status.state, status.last_state):
            if state is None:
                continue
            starts += [t for t in (state.started_at,) if t is not None]
            latest += [t for t in (state.started_at, state.finished_at) if t is not None]
    lower = max(latest) if latest else None
    calibrated = _plus_age(max(starts) if starts else None, _youngest(facts, "Started"))
    if calibrated is None:
        calibrated = _plus_age(pod.start_time, _youngest(facts, "Scheduled"))
    if calibrated is None or (lower is not None and lower > calibrated):
        return lower, "latest-time" if lower is not None else "unknown"
    return calibrated, "events"


def _youngest(facts: PodFacts, reason: str) -> int | None:
    ages = [e.last_age for e in facts.events if e.event.reason == reason and e.last_age is not None]
    return min(ages) if ages else None


def _plus_age(moment: datetime | None, age: int | None) -> datetime | None:
    return moment + timedelta(seconds=age) if moment is not None and age is not None else None
