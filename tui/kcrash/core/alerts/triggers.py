"""What changed in one pod between two versions, as the alert rules read it.

A pod version is boiled down to a small tuple per container (`Seen`); the rules compare the tuple
kcrash last saw with the new one. Comparing tuples is what keeps the engine cheap on a busy
cluster: most watch events (readiness flips, IP assigned, a new resourceVersion) change none of
the fields the rules read, and cost one tuple comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kcrash.core.alerts.model import RuleName
from kcrash.core.records import ContainerState, ContainerStatus, Pod

# Waiting reasons that keep a container from ever starting until someone changes something.
STUCK_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
OOM = "OOMKilled"
CRASH_LOOP = "CrashLoopBackOff"


@dataclass(frozen=True, slots=True)
class Seen:
    """The facts of one container the rules compare between versions."""

    name: str
    restarts: int
    waiting: str  # the waiting reason, "" when not waiting
    finished: datetime | None  # when the latest termination (state or lastState) ended
    terminated_reason: str  # the latest termination's reason


def _latest_termination(status: ContainerStatus) -> ContainerState | None:
    if status.state.kind == "terminated":
        return status.state
    return (
        status.last_state
        if status.last_state is not None and status.last_state.kind == "terminated"
        else None
    )


def seen(pod: Pod) -> tuple[Seen, ...]:
    out: list[Seen] = []
    for status in (*pod.init_container_statuses, *pod.container_statuses):
        term = _latest_termination(status)
        state = status.state
        out.append(
            Seen(
                status.name,
                status.restart_count,
                state.reason if state.kind == "waiting" else "",
                term.finished_at if term is not None else None,
                term.reason if term is not None else "",
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A rule's condition became true for one container of a pod."""

    rule: RuleName
    container: str
    reason: str
    restarts_added: int = 0


def compare(
    before: tuple[Seen, ...] | None, after: tuple[Seen, ...], min_crash_restarts: float
) -> list[Trigger]:
    """The triggers from `before` (None: a pod never seen, as if it had just been created) to
    `after`. An OOM kill is one trigger, not also a plain restart; a newly stuck waiting reason is
    a trigger whose time rule (`stuck-waiting` needs it to last) the engine applies."""
    old = {s.name: s for s in before} if before else {}
    triggers: list[Trigger] = []
    for now in after:
        was = old.get(now.name)
        restarts = now.restarts - (was.restarts if was else 0)
        new_termination = now.finished is not None and (was is None or was.finished != now.finished)
        if new_termination and now.terminated_reason == OOM:
            triggers.append(Trigger("oom-killed", now.name, OOM, max(restarts, 0)))
        elif restarts > 0:
            triggers.append(Trigger("restarted", now.name, now.terminated_reason or "Restarted", restarts))
        if restarts > 0:
            triggers.append(Trigger("restart-rate", now.name, now.terminated_reason, restarts))
        entered_loop = now.waiting == CRASH_LOOP and (
            was is None or was.waiting != CRASH_LOOP or was.restarts < min_crash_restarts
        )
        if entered_loop and now.restarts >= min_crash_restarts:
            triggers.append(Trigger("crash-loop", now.name, CRASH_LOOP))
        if now.waiting in STUCK_REASONS and (was is None or was.waiting not in STUCK_REASONS):
            triggers.append(Trigger("stuck-waiting", now.name, now.waiting))
    return triggers
