"""What one pod's logs give once the pastes about it are put together, and what the pastes lack.

A log of unknown instance is the previous one unless the container is running now: while a
container waits in CrashLoopBackOff, plain `kubectl logs` shows the instance that crashed.
`missing` names each fact a cause may need that no paste holds, with the command that gets it;
`absent` the parts no paste shows, so that their emptiness reads as unknown rather than none.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from msgspec.structs import replace

from kcrash.cluster.paste.model import AsOfBasis, LogFacts, Missing, PastedEvent
from kcrash.core.records import AbsentPart, ContainerState, ContainerStatus, MemorySample, Pod

# `kubectl logs` says "is waiting to start: <this>" for a container that never ran.
_WAITING_TEXT = {
    "trying and failing to pull image": "ImagePullBackOff",
    "image can't be pulled": "ErrImagePull",
}


# --- logs ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class PodLogs:
    previous: str | None = None
    current: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    gone: bool = False
    no_previous: bool = False  # kubectl: "previous terminated container ... not found"
    other_container: str = ""


def pod_logs(logs: list[LogFacts], pod: Pod, container: str) -> PodLogs:
    result = PodLogs()
    status = pod.status_for(container)
    running = status is not None and status.state.kind == "running"
    for log in logs:
        if log.container and container and log.container != container:
            result.other_container = log.container
            continue
        which = log.which if log.which != "unknown" else ("current" if running else "previous")
        quote = "\n".join(log.kubectl_lines)
        if log.no_previous:
            result.no_previous = True
            result.sources["previous log"] = quote
        elif log.unavailable:
            result.gone = True
            result.sources[f"{which} log"] = quote
        elif which == "previous" and log.text:
            result.previous = log.text
        elif which == "current" and log.text:
            result.current = log.text
        if log.waiting_reason and quote:
            result.sources[f"{container}/state.waiting.reason"] = quote
    return result


def waiting_from_log(pod: Pod, logs: list[LogFacts]) -> Pod:
    """`is waiting to start: <reason>` gives a state to a container no other paste shows."""
    for log in logs:
        if not log.waiting_reason or not log.container or pod.status_for(log.container) is not None:
            continue
        reason = _WAITING_TEXT.get(log.waiting_reason, log.waiting_reason)
        if " " in reason:
            continue
        waiting = ContainerStatus(name=log.container, state=ContainerState("waiting", reason=reason))
        pod = replace(pod, container_statuses=(*pod.container_statuses, waiting))
    return pod


def evicted_from_events(pod: Pod, events: list[PastedEvent]) -> tuple[Pod, str]:
    """The kubelet's `Evicted` event about a pod no paste shows the phase of: the pod is evicted.

    An eviction is final, and the kubelet writes the same message to the pod's status as to the
    event; the event's line is returned to be quoted as the status it stands for ("" when none).
    """
    if pod.phase or pod.reason:
        return pod, ""
    evictions = [e for e in events if e.event.reason == "Evicted" and e.event.type == "Warning"]
    if not evictions:
        return pod, ""
    last = evictions[-1]
    return replace(pod, phase="Failed", reason="Evicted", message=last.event.message), last.line


# --- missing ------------------------------------------------------------------------------------


def _crashed(status: ContainerStatus) -> bool:
    return status.restart_count > 0 or status.state.reason == "CrashLoopBackOff"


def missing(
    pod: Pod, container: str, shows: set[str], events: list[PastedEvent], logs: PodLogs, cut_off: str
) -> tuple[Missing, ...]:
    # Pasted names are untrusted text: quoted for the shell, a placeholder or no flag when absent.
    name = shlex.quote(pod.name) if pod.name else "<pod>"
    ns = f" -n {shlex.quote(pod.namespace)}" if pod.namespace else ""
    describe = f"kubectl describe pod {name}{ns}"
    status = pod.status_for(container)
    found: list[Missing] = []
    if not pod.name:
        found.append(Missing("pod name", f"kubectl get pods{ns}"))
    if status is None or (status.state.kind == "unknown" and status.last_state is None):
        found.append(Missing("no container state (exit code, reason)", describe))
    elif _crashed(status) and status.last_state is None and status.state.kind != "terminated":
        found.append(Missing("no last state (exit code and reason of the last crash)", describe))
    if not container and (pod.container_statuses or pod.init_container_statuses):
        found.append(Missing("container name", describe))
    if "spec" not in shows:
        found.append(
            Missing("no pod spec (probes, limits, env references)", f"kubectl get pod {name}{ns} -o yaml")
        )
    if "events" not in shows and not events:
        what = f"no events (the describe paste stops in {cut_off})" if cut_off else "no events"
        found.append(Missing(what, f"kubectl get events{ns} --field-selector involvedObject.name={name}"))
    restarted = status is None or _crashed(status) or status.state.kind == "terminated"
    flag = f" -c {shlex.quote(container)}" if container else ""
    if logs.previous is None and restarted:
        if logs.gone or logs.no_previous:
            # kubectl found no previous container although this one restarted: it was removed.
            found.append(Missing("no previous log (the node no longer has the previous container)", ""))
        else:
            what = "no previous log"
            if logs.other_container:
                what = f"no previous log of {container} (the pasted log is of {logs.other_container})"
            found.append(Missing(what, f"kubectl logs {name}{ns}{flag} --previous"))
    return tuple(found)


def absent(
    shows: set[str], events: list[PastedEvent], basis: AsOfBasis, memory: tuple[MemorySample, ...]
) -> frozenset[AbsentPart]:
    """The parts no paste shows, so the diagnosis reads their emptiness as unknown, not as none."""
    absent: set[AbsentPart] = set()
    if "spec" not in shows:
        absent.add("spec")
    if "events" not in shows and not events:
        absent.add("events")
    # "events" puts the moment near the truth; the latest time shown is only a lower bound.
    # With no times at all, every time was counted back from `now` itself and stays consistent.
    if basis not in ("events", "now"):
        absent.add("as-of")
    if not memory:
        absent.add("metrics")
    return frozenset(absent)
