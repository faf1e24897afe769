"""What the timeline strip is made of, gathered from the drill-down's pieces.

Restarts and OOM kills come from the terminations seen this session and those archived before
it, and when the pod has few of its own, from the archived crashes of its workload's earlier pods
before it started (a pod a rollout replaced keeps the loop it inherited in view). Deploys come
from the Deployment's revisions (each ReplicaSet's creation, with its image change); scale changes
from the Deployment's `ScalingReplicaSet` events; and, where neither kcrash nor its archive saw
the crashes, the span in which the pod's events report back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kcrash.core.records import Event, Revision
from kcrash.core.timeline import image_change
from kcrash.core.timestrip import Happening, scale_change
from kcrash.history.crash import Crash
from kcrash.ui.history import Termination

FEW_OWN = 3
"""Below this many restarts of its own, the strip shows those of the workload's earlier pods too."""


def happenings(
    terminations: Sequence[Termination], revisions: Sequence[Revision], scaling: object
) -> tuple[Happening, ...]:
    deaths = [
        Happening(t.at, "oom" if t.reason == "OOMKilled" else "restart", t.exit_code) for t in terminations
    ]
    deploys = [
        Happening(r.created_at, "deploy", r.number, detail=image_change(r, revisions))
        for r in revisions
        if r.created_at is not None
    ]
    scales = list(scaling) if isinstance(scaling, tuple) else []
    return tuple(sorted((*deaths, *deploys, *scales), key=lambda h: h.at))


def backoff_span(events: Sequence[Event], container: str) -> tuple[datetime, datetime] | None:
    """First and last time the pod's events report back-off restarting `container`."""
    times = [
        moment
        for e in events
        if e.reason == "BackOff" and e.container in ("", container)
        for moment in (e.first_seen, e.last_seen)
        if moment is not None
    ]
    return (min(times), max(times)) if times else None


def scale_changes(events: Sequence[Event], deployment: str) -> tuple[Happening, ...]:
    """The scale changes of `deployment` among a namespace's events."""
    found = []
    for event in events:
        moment = event.last_seen or event.first_seen
        if event.involved_kind != "Deployment" or event.involved_name != deployment or moment is None:
            continue
        if event.reason == "ScalingReplicaSet" and (change := scale_change(event.message, moment)):
            found.append(change)
    return tuple(found)


def earlier_pods(
    own: Sequence[Termination], crashes: object, *, pod: str, container: str, started: datetime | None
) -> list[Termination]:
    """The archived crashes of the workload's other pods before `started`, when `own` are few."""
    if len(own) >= FEW_OWN or started is None or not isinstance(crashes, list):
        return []
    return [
        Termination(c.finished_at, c.reason, c.exit_code)
        for c in crashes
        if isinstance(c, Crash)
        and c.pod != pod
        and c.container == container
        and c.finished_at is not None
        and c.finished_at < started
    ]
