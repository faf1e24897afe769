"""A pod's READY, STATUS and RESTARTS exactly as `kubectl get pods` prints them, and triage on top.

`pod_columns` is a line-by-line translation of `printPod` in kubernetes
pkg/printers/internalversion/printers.go (the API server's Table printer, which is what kubectl
shows): init containers (`Init:N/M`, `Init:<reason>`, `Init:Signal:N`, `Init:ExitCode:N`), native
sidecars (init containers with restartPolicy Always), the last container's reason winning over the
others, `Completed` turned back into `Running`/`NotReady` while a container still runs,
`SchedulingGated`, `Terminating` and `Unknown` for pods on a lost node. READY counts over the
spec's containers; a pod always has one, so a spec with none is one nobody showed (a pasted
`get pods` row): READY is then `?`, not a count such as `1/0`.

The rest (`severity`, `problems`, `primary_container`, `last_exit`) is kcrash's own judgement of
which pods need attention and which container a diagnosis should be about. `pod_summary` computes
the columns, the primary container and its last exit in one pass, for a table of 20,000 rows.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from msgspec import Struct

from kcrash.core.humanize import human_duration
from kcrash.core.records import ContainerSpec, ContainerState, ContainerStatus, Pod, PodCondition

Severity = Literal["ok", "warn", "error", "done"]

# Waiting reasons that mean the kubelet cannot make progress without a change from someone.
WAITING_ERRORS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "RegistryUnavailable",
        "SignatureValidationFailed",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "PreStartHookError",
        "PostStartHookError",
    }
)
_ERROR_STATUSES = WAITING_ERRORS | {
    "Error",
    "OOMKilled",
    "ContainerCannotRun",
    "StartError",
    "ContainerStatusUnknown",
    "DeadlineExceeded",
    "Failed",
    "Evicted",
    "NodeLost",
    "NodeAffinity",
    "UnexpectedAdmissionError",
}
_DONE_STATUSES = frozenset({"Completed", "Succeeded", "ExitCode:0"})
# status.reason of a pod the kubelet or a controller stopped: evicted, lost with its node, shut down
# with its node (graceful node shutdown: "Terminated", or "NodeShutdown" when refused admission),
# preempted for a critical pod.
_POD_FAILURE_REASONS = frozenset(
    {
        "Evicted",
        "NodeLost",
        "UnexpectedAdmissionError",
        "Terminated",
        "NodeShutdown",
        "Shutdown",
        "Preempting",
    }
)
# A termination reason that is no success whatever the exit code says (OOMKilled comes with exit 0
# when the kernel killed a child and the main process then exited by itself).
_FAILED_TERMINATIONS = frozenset(
    {"Error", "OOMKilled", "ContainerCannotRun", "StartError", "ContainerStatusUnknown", "DeadlineExceeded"}
)
_INIT_PROGRESS = re.compile(r"\d+/\d+")

# How long a state may last before kcrash calls it a problem (seconds).
RECENT_RESTART = 600.0  # the kubelet's back-off reset window: a restart this recent is still "live"
NOT_READY_AFTER_RESTART = 120.0  # restarted and still not ready after this long
NOT_READY_LONG = 600.0  # never restarted but not ready for this long
INIT_RUNNING_LONG = 600.0  # an init container that has not finished after this long blocks the pod
PENDING_LONG = 600.0
UNSCHEDULABLE_AFTER = 60.0
TERMINATING_OVERDUE = 60.0  # past deletionTimestamp (which already includes the grace period)
UNKNOWN_READY = "?"  # READY of a pod whose containers are not known


class PodColumns(Struct, frozen=True, gc=False):
    """The printPod cells kcrash shows, plus what it needs to tell which container blocks."""

    ready: str  # "1/2"; UNKNOWN_READY when the spec's containers are not known
    status: str  # "CrashLoopBackOff"
    restarts: int
    last_restart: datetime | None  # newest lastState.terminated.finishedAt that was counted
    blocking_init: str = ""  # the init container the pod waits on, while initializing

    def restarts_cell(self, now: datetime) -> str:
        """RESTARTS as kubectl prints it: "7 (2m3s ago)", or "0"."""
        if self.restarts != 0 and self.last_restart is not None:
            ago = human_duration((now - self.last_restart).total_seconds())
            return f"{self.restarts} ({ago} ago)"
        return str(self.restarts)


def _is_restartable(spec: ContainerSpec | None) -> bool:
    """podutil.IsRestartableInitContainer: an init container with restartPolicy Always."""
    return spec is not None and spec.restart_policy == "Always"


def _last_finished(status: ContainerStatus) -> datetime | None:
    last = status.last_state
    if last is not None and last.kind == "terminated":
        return last.finished_at
    return None


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    if current is None or current < candidate:
        return candidate
    return current


def _condition_true(pod: Pod, kind: str) -> bool:
    """The first condition of this type decides, as in printers.go."""
    cond = pod.condition(kind)
    return cond is not None and cond.status == "True"


def _terminated_label(state: ContainerState, prefix: str) -> str:
    if state.reason:
        return prefix + state.reason
    if state.signal:
        return f"{prefix}Signal:{state.signal}"
    return f"{prefix}ExitCode:{state.exit_code or 0}"


def pod_columns(pod: Pod) -> PodColumns:
    """READY, STATUS and RESTARTS as printPod computes them."""
    restarts = 0
    sidecar_restarts = 0
    total = len(pod.containers)
    ready_count = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    reason = pod.reason or pod.phase
    for cond in pod.conditions:
        if cond.type == "PodScheduled" and cond.reason == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {spec.name: spec for spec in pod.init_containers} if pod.init_containers else {}
    if init_specs:
        total += sum(1 for spec in pod.init_containers if _is_restartable(spec))

    initializing = False
    blocking_init = ""
    for index, status in enumerate(pod.init_container_statuses):
        restarts += status.restart_count
        last_restart = _later(last_restart, _last_finished(status))
        restartable = _is_restartable(init_specs.get(status.name))
        if restartable:
            sidecar_restarts += status.restart_count
            last_sidecar_restart = _later(last_sidecar_restart, _last_finished(status))
        state = status.state
        if state.kind == "terminated" and not state.exit_code:
            continue
        if restartable and status.started:
            if status.ready:
                ready_count += 1
            continue
        if state.kind == "terminated":
            reason = _terminated_label(state, "Init:")  # initialization failed
        elif state.kind == "waiting" and state.reason and state.reason != "PodInitializing":
            reason = "Init:" + state.reason
        else:
            reason = f"Init:{index}/{len(pod.init_containers)}"
        initializing = True
        blocking_init = status.name
        break

    if not initializing or _condition_true(pod, "Initialized"):
        blocking_init = ""
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        # Walk backwards so the first container's reason is the one left standing.
        for status in reversed(pod.container_statuses):
            restarts += status.restart_count
            last_restart = _later(last_restart, _last_finished(status))
            state = status.state
            if state.kind == "waiting" and state.reason:
                reason = state.reason
            elif state.kind == "terminated":
                reason = _terminated_label(state, "")
            elif status.ready and state.kind == "running":
                has_running = True
                ready_count += 1
        # Completed with a container still running: report Running, or NotReady if the pod is not.
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    if pod.deletion_timestamp is not None and pod.reason == "NodeLost":
        reason = "Unknown"
    elif pod.deletion_timestamp is not None and pod.phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    ready_cell = f"{ready_count}/{total}" if pod.containers else UNKNOWN_READY
    return PodColumns(ready_cell, reason, restarts, last_restart, blocking_init)


def pod_status(pod: Pod, now: datetime | None = None) -> str:
    """STATUS as kubectl prints it. `now` is accepted for symmetry; the status does not age."""
    return pod_columns(pod).status


def ready(pod: Pod) -> str:
    """READY as kubectl prints it: ready containers (sidecars included) over all of them."""
    return pod_columns(pod).ready


def restart_count(pod: Pod) -> int:
    """The RESTARTS number (sidecars included; plain init containers only while initializing)."""
    return pod_columns(pod).restarts


def pod_restarts(pod: Pod, now: datetime) -> str:
    """RESTARTS as kubectl prints it: "7 (2m3s ago)", or "0"."""
    return pod_columns(pod).restarts_cell(now)


def age(pod: Pod, now: datetime) -> str:
    """AGE as kubectl prints it, "<unknown>" without a creation time."""
    if pod.created_at is None:
        return "<unknown>"
    return human_duration((now - pod.created_at).total_seconds())


def severity(status: str) -> Severity:
    """How to colour a STATUS string: ok (running), done (finished well), warn, or error."""
    if status.startswith("Init:"):
        rest = status.removeprefix("Init:")
        if _INIT_PROGRESS.fullmatch(rest):
            return "warn"
        return "error" if severity(rest) == "error" else "warn"
    if status == "Running":
        return "ok"
    if status in _DONE_STATUSES:
        return "done"
    if status in _ERROR_STATUSES or status.startswith(("ExitCode:", "Signal:", "OutOf")):
        return "error"
    return "warn"


def _seconds(later: datetime, earlier: datetime | None) -> float | None:
    return None if earlier is None else (later - earlier).total_seconds()


def _failed(state: ContainerState) -> bool:
    """A termination that is no success: a non-zero exit, or a failure reason."""
    return state.kind == "terminated" and (bool(state.exit_code) or state.reason in _FAILED_TERMINATIONS)


def _exit_words(state: ContainerState) -> str:
    code = "?" if state.exit_code is None else str(state.exit_code)
    return f"exit {code} {state.reason}".rstrip()


def _gated(scheduled: PodCondition | None) -> bool:
    """Held back on purpose by scheduling gates, not stuck."""
    return scheduled is not None and scheduled.reason == "SchedulingGated"


def _pod_problems(pod: Pod, now: datetime) -> list[str]:
    found: list[str] = []
    if pod.phase == "Failed":
        found.append(f"pod failed ({pod.reason})" if pod.reason else "pod failed")
    elif pod.reason in _POD_FAILURE_REASONS or pod.reason.startswith("OutOf"):
        found.append(f"pod {pod.reason}")
    if pod.phase == "Unknown":
        found.append("pod state unknown (node not reporting)")
    scheduled = pod.condition("PodScheduled")
    if scheduled is not None and scheduled.status == "False" and scheduled.reason == "Unschedulable":
        waited = _seconds(now, scheduled.last_transition)
        if waited is None or waited >= UNSCHEDULABLE_AFTER:
            found.append("unschedulable")
    elif pod.phase == "Pending" and pod.deletion_timestamp is None and not _gated(scheduled):
        pending = _seconds(now, pod.created_at)
        if pending is not None and pending >= PENDING_LONG:
            found.append(f"pending for {human_duration(pending)}")
    overdue = _seconds(now, pod.deletion_timestamp)
    if overdue is not None and overdue >= TERMINATING_OVERDUE:
        found.append(f"still terminating {human_duration(overdue)} past its deadline")
    return found


def _container_problem(status: ContainerStatus, sidecar: bool, init: bool, now: datetime) -> str:
    """The one most pressing problem of a container, or ""."""
    state, name = status.state, status.name
    if state.kind == "waiting" and state.reason in WAITING_ERRORS:
        return f"{name}: {state.reason}"
    if state.kind == "terminated" and (state.exit_code or state.reason in _FAILED_TERMINATIONS):
        return f"{name}: {_exit_words(state)}"
    last = status.last_state
    if state.kind == "unknown" and last is not None and _failed(last):
        # Only a paste leaves the present unknown; the death it shows is what it was pasted for.
        return f"{name}: last {_exit_words(last)}"
    if status.restart_count > 0 and last is not None and last.kind == "terminated":
        ago = _seconds(now, last.finished_at)
        if ago is not None and ago <= RECENT_RESTART:
            return f"{name}: restarted {human_duration(ago)} ago ({_exit_words(last)})"
    running_for = _seconds(now, state.started_at) if state.kind == "running" else None
    if running_for is None:
        return ""
    if init and not sidecar:
        if running_for >= INIT_RUNNING_LONG:
            return f"{name}: init container still running after {human_duration(running_for)}"
        return ""
    limit = NOT_READY_AFTER_RESTART if status.restart_count > 0 else NOT_READY_LONG
    if not status.ready and running_for >= limit:
        return f"{name}: not ready for {human_duration(running_for)}"
    return ""


def problems(pod: Pod, now: datetime) -> tuple[str, ...]:
    """Why this pod needs attention, one short phrase each; empty when it looks healthy.

    Counted: crash loops and other stuck waiting reasons, non-zero exits, restarts within the
    back-off reset window (so a loop caught between crashes still counts), containers running
    but not ready for long, blocked init containers, failed/evicted/unknown pods, unschedulable
    or long-pending pods, and pods stuck terminating.
    """
    found = _pod_problems(pod, now)
    init_specs = {spec.name: spec for spec in pod.init_containers}
    for status in pod.init_container_statuses:
        sidecar = _is_restartable(init_specs.get(status.name))
        problem = _container_problem(status, sidecar=sidecar, init=True, now=now)
        if problem:
            found.append(problem)
    for status in pod.container_statuses:
        problem = _container_problem(status, sidecar=False, init=False, now=now)
        if problem:
            found.append(problem)
    return tuple(found)


def is_failing(pod: Pod, now: datetime) -> bool:
    """Whether this pod has a problem worth an on-call engineer's look (see `problems`)."""
    return bool(problems(pod, now))


def _trouble(status: ContainerStatus) -> int:
    """How badly a container is doing right now, for choosing the one to diagnose."""
    state = status.state
    if state.kind == "waiting" and state.reason in WAITING_ERRORS:
        return 5
    if _failed(state):
        return 4
    if state.kind != "terminated" and not status.ready:
        return 3
    if status.restart_count > 0:
        return 1
    return 0


def primary_container(pod: Pod) -> str:
    """The container a diagnosis should be about.

    An init container the pod is stuck on comes first (as printPod finds it); otherwise the app
    container or sidecar in the worst state, more restarts breaking ties; a healthy pod gives its
    default container (annotation kubectl.kubernetes.io/default-container), else the first one.
    """
    return _primary(pod, pod_columns(pod))


def _primary(pod: Pod, columns: PodColumns) -> str:
    if columns.blocking_init:
        return columns.blocking_init
    candidates: list[ContainerStatus] = list(pod.container_statuses)
    if pod.init_container_statuses:
        init_specs = {spec.name: spec for spec in pod.init_containers}
        candidates += (s for s in pod.init_container_statuses if _is_restartable(init_specs.get(s.name)))
    best: ContainerStatus | None = None
    best_rank = (0, 0)
    for status in candidates:
        rank = (_trouble(status), status.restart_count)
        if rank > best_rank:
            best, best_rank = status, rank
    if best is not None:
        return best.name
    names = [spec.name for spec in pod.containers] or [s.name for s in pod.container_statuses]
    if pod.default_container in names:
        return pod.default_container
    return names[0] if names else ""


def last_exit(pod: Pod) -> tuple[int | None, str]:
    """(exit code, reason) of the primary container's latest termination, for a LAST EXIT column.

    The current state wins when the container is terminated now; otherwise its lastState. The
    reason falls back to "Signal:N" when the runtime gave only a signal. (None, "") when the
    container never terminated.
    """
    return _last_exit_of(pod.status_for(primary_container(pod)))


def _last_exit_of(status: ContainerStatus | None) -> tuple[int | None, str]:
    if status is None:
        return (None, "")
    for state in (status.state, status.last_state):
        if state is not None and state.kind == "terminated":
            label = state.reason or (f"Signal:{state.signal}" if state.signal else "")
            return (state.exit_code, label)
    return (None, "")


class PodSummary(Struct, frozen=True, gc=False):
    """What a pods table shows of one pod version, each part computed once."""

    columns: PodColumns
    container: str  # primary_container
    container_status: ContainerStatus | None  # its status, None before it has one
    exit_code: int | None  # last_exit
    exit_reason: str


def pod_summary(pod: Pod) -> PodSummary:
    """`pod_columns`, `primary_container` and `last_exit` in one pass (each alone recomputes the columns)."""
    columns = pod_columns(pod)
    container = _primary(pod, columns)
    status = pod.status_for(container)
    code, reason = _last_exit_of(status)
    return PodSummary(columns, container, status, code, reason)
