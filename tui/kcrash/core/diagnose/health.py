"""Pods that are fine: completed, or running steadily (ready or not)."""

from __future__ import annotations

from kcrash.core.diagnose.facts import BACKOFF_RESET_S, Facts, pod_events
from kcrash.core.diagnose.wording import (
    cmd_describe,
    cmd_logs,
    diagnosis,
    fmt_seconds,
    fmt_time,
    merged,
    termination_quote,
)
from kcrash.core.records import ContainerSpec, ContainerState, Diagnosis, Evidence, Pod


def uptime(f: Facts) -> float | None:
    state = f.status.state if f.status else None
    if state is None or state.kind != "running" or state.started_at is None:
        return None
    return (f.inp.now - state.started_at).total_seconds()


def recovered(f: Facts) -> bool:
    """Running again for longer than the back-off reset and than twice its last life: history now.

    When `now` is only a lower bound, so is the uptime: a True still holds, a False may not."""
    up = uptime(f)
    if up is None or up < BACKOFF_RESET_S:
        return False
    ran = f.run_seconds
    return ran is None or up > 2 * ran


def _all_running(pod: Pod) -> bool:
    statuses = [
        *pod.container_statuses,
        *(
            s
            for s in pod.init_container_statuses
            if (pod.spec_for(s.name) or ContainerSpec(s.name, "")).sidecar
        ),
    ]
    return bool(statuses) and all(s.state.kind == "running" for s in statuses)


def running_evidence(f: Facts) -> Evidence | None:
    """How long it has run; only since when, if `now` is uncertain."""
    state = f.status.state if f.status else None
    up = uptime(f)
    if state is None or state.started_at is None or up is None:
        return None
    if f.lacks("as-of"):
        return Evidence(f"state.running {f.container}", f"running since {fmt_time(state.started_at)}")
    return Evidence(f"state.running {f.container}", f"running for {fmt_seconds(up)}")


def finished_when(f: Facts, last: ContainerState) -> str:
    """ " 2h29m ago" for a past death; " at <time>" if `now` is uncertain."""
    if last.finished_at is None:
        return ""
    if f.lacks("as-of"):
        return f" at {fmt_time(last.finished_at)}"
    return f" {fmt_seconds((f.inp.now - last.finished_at).total_seconds())} ago"


def settled(f: Facts) -> bool:
    """Every container running, and not between two crashes: the last death is history."""
    return _all_running(f.pod) and (f.restarts == 0 or recovered(f))


def all_ready(f: Facts) -> bool:
    return all(s.ready for s in f.pod.container_statuses)


def fine(f: Facts) -> bool:
    return (f.pod.phase == "Succeeded" and f.reason != "OOMKilled") or (settled(f) and all_ready(f))


def running_unready(f: Facts) -> bool:
    return settled(f) and not all_ready(f)


def rule_healthy(f: Facts) -> Diagnosis | None:
    pod = f.pod
    if pod.phase == "Succeeded":
        return diagnosis(
            "healthy",
            "Completed: every container exited successfully",
            f,
            [Evidence("status.phase", "Succeeded")],
            [],
            detail="completed",
        )
    status = f.status
    ev: list[Evidence | None] = [Evidence("status.phase", pod.phase or "Running"), running_evidence(f)]
    steps: list[str] = []
    headline = "Running and ready"
    if (
        f.restarts
        and status is not None
        and status.last_state is not None
        and status.last_state.kind == "terminated"
    ):
        last = status.last_state
        headline += (
            f"; {f.restarts} earlier restarts, the last{finished_when(f, last)} ({termination_quote(last)})"
        )
        ev.append(Evidence("lastState.terminated", termination_quote(last)))
        if last.reason == "OOMKilled":
            steps.append("It was OOM-killed before: keep an eye on memory against the limit")
    return diagnosis("healthy", headline, f, ev, steps, detail="recovered" if f.restarts else "")


def rule_not_ready(f: Facts) -> Diagnosis | None:
    readiness = [
        e
        for e in pod_events(f.pod, f.inp.events)
        if e.reason == "Unhealthy" and e.message.startswith("Readiness")
    ]
    ev: list[Evidence | None] = [
        Evidence("status.phase", f.pod.phase or "Running"),
        running_evidence(f),
        merged(readiness, "Unhealthy"),
    ]
    return diagnosis(
        "unknown",
        "Running without restarts, but not ready: the readiness probe fails (that alone never restarts it)",
        f,
        ev,
        [
            f"See why the readiness check fails: `{cmd_describe(f)}`",
            f"`{cmd_logs(f, previous=False, tail=50)}`",
        ],
        detail="readiness-only",
    )
