"""Containers stopped from outside on purpose: the node shutting down, a preemption, a deletion or a
scale-down whose preStop hook outlived the grace period. Not a crash: nothing in the app failed."""

from __future__ import annotations

import re

from kcrash.core.diagnose.facts import Facts, events_with
from kcrash.core.diagnose.wording import (
    cmd_describe,
    cmd_events,
    diagnosis,
    merged,
    node_ref,
    quote,
    termination_evidence,
)
from kcrash.core.records import Diagnosis, Event, Evidence

# status.reason the kubelet's graceful node shutdown writes ("Terminated", message "Pod was
# terminated in response to imminent node shutdown."), or "NodeShutdown" for a pod it refused to
# admit while shutting down; "Shutdown" from older releases.
_SHUTDOWN_REASONS = frozenset({"Terminated", "NodeShutdown", "Shutdown"})
_SHUTDOWN_WORDS = re.compile(r"node shutdown|node is shutting down", re.I)
# The kubelet preempting a pod to admit a critical one.
_PREEMPTING_REASONS = frozenset({"Preempting"})
# The DisruptionTarget condition's reasons (1.26+): who is taking the pod down.
_DISRUPTIONS = {
    "TerminationByKubelet": "node-shutdown",
    "PreemptionByScheduler": "preempted",
    "PreemptionByKubeScheduler": "preempted",
}


def _disruption(f: Facts) -> str:
    cond = f.pod.condition("DisruptionTarget")
    if cond is None or cond.status != "True":
        return ""
    detail = _DISRUPTIONS.get(cond.reason, "")
    if detail == "node-shutdown" and not _SHUTDOWN_WORDS.search(cond.message):
        return ""  # the kubelet's evictions under node pressure carry this reason too
    return detail


def pod_stopped_detail(f: Facts) -> str:
    """`node-shutdown` or `preempted` when the pod's own status says it was taken down, or ""."""
    pod = f.pod
    if pod.reason in _SHUTDOWN_REASONS or _SHUTDOWN_WORDS.search(pod.message):
        return "node-shutdown"
    if pod.reason in _PREEMPTING_REASONS:
        return "preempted"
    return _disruption(f)


def shut_down(f: Facts) -> bool:
    """The pod's status says the node shut down or preemption took it: container statuses left
    behind (even `Running`, as 1.22 reported them) are stale."""
    return bool(pod_stopped_detail(f))


_POD_STEPS = {
    "node-shutdown": [
        "The kubelet stopped the pod because its node was shutting down (graceful node shutdown): "
        "nothing in the app failed",
        "Its controller starts a replacement elsewhere; delete this pod once you have read it",
        "If the app needs longer to stop, raise the kubelet's shutdownGracePeriod and "
        "shutdownGracePeriodCriticalPods",
    ],
    "preempted": [
        "The pod was preempted to make room for a pod of higher priority: nothing in the app failed",
        "Give it a PriorityClass that matches its importance, or requests the cluster can hold "
        "alongside the pods that preempt it",
    ],
}


def rule_shut_down(f: Facts) -> Diagnosis | None:
    detail = pod_stopped_detail(f)
    if not detail:
        return None
    said = f.pod.message or {"node-shutdown": "the node shut down", "preempted": "preempted"}[detail]
    ev: list[Evidence | None] = [
        Evidence(
            "status.reason", quote(f"{f.pod.reason}: {f.pod.message}" if f.pod.message else f.pod.reason)
        )
        if f.pod.reason
        else None,
        termination_evidence(f),
    ]
    cond = f.pod.condition("DisruptionTarget")
    if cond is not None and cond.status == "True":
        ev.append(Evidence("condition DisruptionTarget", quote(f"{cond.reason}: {cond.message}")))
    steps = [*_POD_STEPS[detail], f"`kubectl describe node {node_ref(f)}` shows the node's side"]
    return diagnosis(
        "killed", f"Not a crash: the pod was stopped from outside - {said}", f, ev, steps, detail=detail
    )


# --- events: a preemption, a deletion, a preStop hook cut short ---------------------------------

_PROBE_KILL = re.compile(r"failed (?:liveness|startup) probe|probe failed", re.I)


def preemptions(f: Facts) -> list[Event]:
    return events_with(f, "Preempted")


def prestop_failures(f: Facts) -> list[Event]:
    """The preStop hook failed or was cut off: killed with the container when the grace period
    ran out (the hook's `exited with 137`), or it failed by itself."""
    return events_with(f, "FailedPreStopHook") + events_with(f, "ExceededGracePeriod")


def stops(f: Facts) -> list[Event]:
    """Killing events that are not a probe's: the kubelet stopping the container because the pod
    is being deleted (a scale-down, a rollout, `kubectl delete`, a drain)."""
    return [e for e in events_with(f, "Killing") if not _PROBE_KILL.search(e.message)]


def _probe_failed(f: Facts) -> bool:
    return any(
        (e.reason == "Unhealthy" and not e.message.startswith("Readiness")) or _PROBE_KILL.search(e.message)
        for e in f.events
        if e.reason in ("Unhealthy", "Killing")
    )


def stopped_on_purpose(f: Facts) -> bool:
    """Stopped by a preemption or a deletion, no probe kill on record, and the death fits: a kill
    signal, no recorded death at all, or the first death of a container that never crashed before."""
    if _probe_failed(f) or f.reason == "OOMKilled":
        return False
    if deleted_first_death(f):
        return True
    if not (preemptions(f) or prestop_failures(f) or stops(f)):
        return False
    return f.exit_code in (None, 137, 143) or f.restarts == 0


def deleted_first_death(f: Facts) -> bool:
    """The pod is being deleted (`Terminating`, a deletionTimestamp) and its container, which never
    restarted, has ended: the deletion's SIGTERM ended it, whatever exit code the app chose
    (`get pods -w` showing Terminating, then Error)."""
    ended = f.status is not None and f.status.state.kind == "terminated"
    return f.pod.deletion_timestamp is not None and ended and f.restarts == 0


_KILLED_HOOK = re.compile(r"exited with 137|exit (?:code|status) 137|signal: killed|grace period", re.I)


def _cut_short(f: Facts) -> bool:
    """The hook was killed when the grace period ran out, not failing by itself."""
    return bool(events_with(f, "ExceededGracePeriod")) or any(
        _KILLED_HOOK.search(e.message) for e in events_with(f, "FailedPreStopHook")
    )


def stop_detail(f: Facts) -> str:
    if preemptions(f):
        return "preempted"
    if events_with(f, "FailedPreStopHook"):
        return "prestop-hook"
    return "deleted"


def rule_stopped(f: Facts) -> Diagnosis | None:
    if not stopped_on_purpose(f):
        return None
    detail = stop_detail(f)
    ev: list[Evidence | None] = [
        merged(preemptions(f), "Preempted"),
        merged(events_with(f, "FailedPreStopHook"), "FailedPreStopHook"),
        merged(events_with(f, "ExceededGracePeriod"), "ExceededGracePeriod"),
        merged(stops(f), "Killing"),
        termination_evidence(f),
        Evidence("metadata.deletionTimestamp", "set: the pod is being deleted")
        if deleted_first_death(f)
        else None,
    ]
    if detail == "prestop-hook" and _cut_short(f):
        headline = (
            f"{f.subject} was stopped and its preStop hook was killed with it: a hook still running "
            "when terminationGracePeriodSeconds ends gets SIGKILL (137)"
        )
        steps = [
            "Give the pod a terminationGracePeriodSeconds longer than the preStop hook's longest wait "
            "(the hook and the container's own shutdown share it), or shorten the hook",
            f"The hook's output is in the FailedPreStopHook event: `{cmd_describe(f)}`",
        ]
    elif detail == "prestop-hook":
        headline = f"{f.subject} was stopped and its preStop hook failed"
        steps = [
            f"The hook's output is in the FailedPreStopHook event: `{cmd_describe(f)}`",
            "Run the hook's command in the container to see it fail: it must exit 0",
        ]
    elif detail == "preempted":
        headline = (
            f"{f.subject} was stopped because the scheduler preempted the pod for one of higher priority"
        )
        steps = list(_POD_STEPS["preempted"][1:])
    else:
        by = "Killing, no probe failed" if stops(f) else "the pod is being deleted"
        headline = (
            f"{f.subject} was stopped by the kubelet ({by}): the pod was deleted - "
            "a scale-down, a rollout, a drain or `kubectl delete`; nothing in the app failed"
        )
        steps = [
            "A non-zero exit after SIGTERM only means the app does not exit cleanly on it: handle "
            "SIGTERM and exit 0 to stop the pod showing Error",
            f"Who deleted it: `{cmd_events(f)}` (and the autoscaler's or controller's log)",
        ]
    return diagnosis("killed", headline, f, ev, steps, detail=detail)
