"""Which pasted pods a diagnosis is about when none of them is failing at the moment of the paste.

Offline, a paste is a question: someone copied a pod's output because something went wrong with
it. A pod judged healthy *now* (a container started again, a `Completed` row, a log pasted without
its state) may still show what went wrong: restarts, a termination, a Warning event, a container
started more than once, an error in its log. `trouble_signs` names those signs; a pod showing
none is left out, so a healthy pod pasted beside a troubled one is not diagnosed.

`crash_looping` is the stronger judgement a `get pods` row or a describe allows on its own: a
container that terminated again after restarting is between two crashes of a loop, whatever
exit code (none, on a row) it shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kcrash.cluster.paste.model import PastedPod
from kcrash.core.diagnose.finite import command_ends
from kcrash.core.records import ContainerState, ContainerStatus, Event, Pod

# Waiting reasons of a container on its way up, not in trouble.
_STARTING = frozenset({"", "ContainerCreating", "PodInitializing"})
# Events that say a container was stopped or started again.
_KILLING = frozenset({"Killing", "OOMKilling", "Evicted", "Preempting", "BackOff"})
_RESTARTED = frozenset({"Started", "Created"})
# What a process writes as it fails, in the words runtimes, shells and libraries use.
_FAILURE = re.compile(
    r"\b(?:error|errno|exception|traceback|panic|fatal|failed|failure|denied|refused|unable to|"
    r"cannot|can't|could not|couldn't|not found|no such file|unknown (?:flag|option|command)|"
    r"not permitted|segmentation fault|core dumped|killed|timed out|unreachable|invalid)\b|"
    r"(?-i:\bE[A-Z]{3,}\b)|exit(?:ed)? (?:with )?(?:code|status) [1-9]",
    re.IGNORECASE,
)


def _terminated_badly(state: ContainerState | None) -> bool:
    if state is None or state.kind != "terminated":
        return False
    return bool(state.exit_code) or state.reason not in ("", "Completed") or bool(state.signal)


def _status_signs(status: ContainerStatus) -> list[str]:
    signs: list[str] = []
    if status.restart_count:
        signs.append(f"{status.restart_count} restarts")
    if status.last_state is not None and status.last_state.kind == "terminated":
        signs.append("a last termination")
    if _terminated_badly(status.state):
        signs.append(f"terminated ({status.state.reason or status.state.exit_code})")
    if status.state.kind == "waiting" and status.state.reason not in _STARTING:
        signs.append(f"waiting ({status.state.reason})")
    return signs


def _event_signs(events: Iterable[Event]) -> list[str]:
    signs: list[str] = []
    for event in events:
        if event.type == "Warning":
            signs.append(f"a Warning event ({event.reason})")
        elif event.reason in _KILLING:
            signs.append(f"a {event.reason} event")
        elif event.reason in _RESTARTED and event.count > 1:
            signs.append(f"{event.reason} {event.count} times")
    return signs


def log_shows_failure(text: str | None) -> bool:
    """Whether a log holds a line in the words a failing process writes."""
    return bool(text) and any(_FAILURE.search(line) for line in (text or "").splitlines())


def trouble_signs(p: PastedPod) -> tuple[str, ...]:
    """What in the pastes says something went wrong with this pod, one phrase each; none: ()."""
    pod = p.pod
    signs = [
        s for status in (*pod.init_container_statuses, *pod.container_statuses) for s in _status_signs(status)
    ]
    if pod.reason:
        signs.append(f"pod {pod.reason}")
    if pod.phase == "Failed":
        signs.append("pod Failed")
    disrupted = pod.condition("DisruptionTarget")
    if disrupted is not None and disrupted.status == "True":
        signs.append(f"DisruptionTarget {disrupted.reason}")  # taken down: a shutdown, a preemption
    signs += _event_signs(p.events)
    if _spec_loops(pod):
        signs.append("a command that ends by itself under restartPolicy Always")
    if log_shows_failure(p.previous_log) or log_shows_failure(p.current_log):
        signs.append("an error in its log")
    return tuple(dict.fromkeys(signs))


def _spec_loops(pod: Pod) -> bool:
    """A manifest pasted alone (no phase, no status) whose containers' commands end by themselves
    under restartPolicy Always: its pods will crash-loop."""
    if pod.phase or pod.container_statuses or pod.restart_policy != "Always" or not pod.containers:
        return False
    return any(command_ends(spec) for spec in pod.containers)


def crash_looping(pod: Pod) -> bool:
    """An app container that terminated again after restarting, in a pod not done: between two
    crashes of a loop (an init container that succeeded after retries is done with them)."""
    if pod.phase == "Succeeded":
        return False
    return any(
        status.restart_count > 0 and status.state.kind == "terminated" for status in pod.container_statuses
    )
