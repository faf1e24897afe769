"""`kubectl get pods` rows -> PodFacts: plain, `-o wide`, `-A`, `--show-labels`, any kubectl since 1.10.

A row says little: READY, the STATUS printPod computed, the summed RESTARTS ("7" or, since about
1.22, "7 (2m ago)") and AGE; with -o wide the IP and node. It names no container, so the state its
STATUS implies goes on a container with no name, which `combine` names when another paste shows
the pod has exactly one container. The pod record is built so that `core.status.pod_status` prints
the pasted STATUS back (`row_state`), and nothing more: what the row does not tell stays unknown.
Cells are read by pattern: a chat client may have squeezed the padding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from msgspec.structs import replace

from kcrash.cluster.paste.model import PodFacts, placeholder_name
from kcrash.cluster.paste.text import parse_age
from kcrash.core.records import ContainerSpec, ContainerState, ContainerStatus, Pod
from kcrash.core.status import WAITING_ERRORS

# A chat or an issue template may indent the table by a space or two.
HEADER = re.compile(r"^\s{0,4}(?P<ns>NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\b")
_ROW = (
    r"(?P<name>\S+)\s+(?P<ready>\d+)/(?P<total>\d+)\s+(?P<status>\S+)\s+"
    r"(?P<restarts>\d+)(?:\s+\((?P<ago>\S+)\s+ago\))?\s+(?P<age>\S+)"
    r"(?:\s+(?P<ip>\S+)\s+(?P<node>\S+)(?:\s+\S+){0,2})?(?:\s+\S+=\S*)?\s*$"
)
_WAITING = WAITING_ERRORS | {"ContainerCreating", "PodInitializing"}
_TERMINATED = frozenset(
    {
        "Error",
        "OOMKilled",
        "Completed",
        "ContainerCannotRun",
        "StartError",
        "DeadlineExceeded",
        "ContainerStatusUnknown",
    }
)
_POD_REASONS = frozenset({"Evicted", "NodeLost", "NodeAffinity", "UnexpectedAdmissionError", "Shutdown"})
_PHASES = frozenset({"Pending", "Succeeded", "Failed", "Unknown"})
_INIT_PROGRESS = re.compile(r"(\d+)/(\d+)")
# READY is untrusted text: "0/99999999" must not make a hundred million records.
_MOST_CONTAINERS = 64


def state_from_status(status: str) -> ContainerState | None:
    """The container state a STATUS cell implies, or None when it says nothing about containers."""
    if status in _WAITING:
        return ContainerState("waiting", reason=status)
    if status in _TERMINATED:
        return ContainerState("terminated", reason=status, exit_code=0 if status == "Completed" else None)
    signal = re.fullmatch(r"Signal:(\d+)", status)
    if signal:
        return ContainerState("terminated", signal=int(signal.group(1)))
    code = re.fullmatch(r"ExitCode:(\d+)", status)
    if code:
        return ContainerState("terminated", exit_code=int(code.group(1)))
    if status in ("Running", "NotReady"):
        return ContainerState("running")
    return None


@dataclass(frozen=True, slots=True)
class RowState:
    """What a row's READY and STATUS say of the pod, as records from which printPod prints them back.

    The container the STATUS speaks of (the "subject") comes first, nameless, with all the
    RESTARTS; other containers the cells imply (one ready and running per READY, the init
    containers before the one the pod waits on) carry placeholder names (`placeholder_name`), so
    they are never taken for the subject nor named in a command.
    """

    phase: str = ""
    reason: str = ""
    statuses: tuple[ContainerStatus, ...] = ()
    init_statuses: tuple[ContainerStatus, ...] = ()
    init_specs: tuple[ContainerSpec, ...] = ()
    terminating: bool = False  # the pod is being deleted; `combine` dates it when the paste was taken

    @property
    def subject(self) -> ContainerStatus | None:
        found = self.init_statuses or self.statuses
        return next((s for s in found if not s.name), None)


def row_state(ready: int, total: int, status: str, restarts: int) -> RowState:
    """The records behind one row's READY, STATUS and RESTARTS (see `RowState`)."""
    total = min(max(total, 1), _MOST_CONTAINERS)
    ready = min(ready, total)
    if status.startswith("Init:"):
        return _init_state(status.removeprefix("Init:"), restarts)
    if status == "Terminating":
        return RowState(statuses=_containers(None, ready, total, restarts), terminating=True)
    if status in _POD_REASONS or status.startswith("OutOf"):  # OutOfcpu, OutOfmemory: not admitted
        return RowState(phase="Failed", reason=status, statuses=_containers(None, 0, total, restarts))
    if status == "Running":
        return RowState(phase="Running", statuses=_running(ready, total, restarts))
    if status == "NotReady" and 1 <= ready < total:
        # printPod's NotReady: a container completed while another runs, and the pod is not Ready.
        completed = ContainerState("terminated", reason="Completed", exit_code=0)
        return RowState(statuses=_containers(completed, ready, total, restarts))
    if status in _PHASES:
        return RowState(phase=status, statuses=_containers(None, ready, total, restarts))
    state = state_from_status(status)
    if state is None:  # a reason kcrash does not know: printPod starts from the pod's own
        return RowState(reason=status, statuses=_containers(None, ready, total, restarts))
    # Beside a running ready container, a completed one prints Running: READY then counts none.
    shown_ready = 0 if state.reason == "Completed" else ready
    return RowState(statuses=_containers(state, shown_ready, total, restarts))


def _containers(
    subject: ContainerState | None, ready: int, total: int, restarts: int
) -> tuple[ContainerStatus, ...]:
    """The subject, if the STATUS or RESTARTS tell of it, then one ready running container per READY."""
    found: list[ContainerStatus] = []
    if subject is not None or restarts:
        found.append(ContainerStatus("", restart_count=restarts, state=subject or ContainerState("unknown")))
    for _ in range(min(ready, total - len(found))):
        found.append(ContainerStatus("", ready=True, state=ContainerState("running")))
    return _labelled(found, total)


def _running(ready: int, total: int, restarts: int) -> tuple[ContainerStatus, ...]:
    """STATUS Running: every container runs (a waiting or terminated one would name its reason)."""
    readiness = (
        [True] * total if ready == total else [False, *([True] * ready), *([False] * (total - ready - 1))]
    )
    found = [ContainerStatus("", ready=flag, state=ContainerState("running")) for flag in readiness]
    found[0] = replace(found[0], restart_count=restarts)
    return _labelled(found, total)


def _labelled(found: list[ContainerStatus], total: int) -> tuple[ContainerStatus, ...]:
    return tuple(
        s if i == 0 else replace(s, name=placeholder_name(i + 1, total)) for i, s in enumerate(found)
    )


def _init_state(rest: str, restarts: int) -> RowState:
    """`Init:N/M`, `Init:<reason>`, `Init:Signal:N`, `Init:ExitCode:N`: the init container waited on."""
    progress = _INIT_PROGRESS.fullmatch(rest)
    if progress is None:
        return RowState(phase="Pending", init_statuses=(_init_failure(rest, restarts),))
    done, count = int(progress.group(1)), int(progress.group(2))
    if not done < count <= _MOST_CONTAINERS:  # no kubectl prints this: keep what is sure
        unknown = ContainerStatus("", restart_count=restarts, state=ContainerState("unknown"))
        return RowState(phase="Pending", init_statuses=(unknown,) if restarts else ())
    # printPod counts init containers by the spec and skips those that exited 0; the one waited
    # on is the next, in a state the row does not tell.
    finished = ContainerState("terminated", reason="Completed", exit_code=0)
    before = tuple(
        ContainerStatus(placeholder_name(i + 1, count, init=True), state=finished) for i in range(done)
    )
    waited_on = ContainerStatus("", restart_count=restarts, state=ContainerState("unknown"))
    specs = tuple(
        ContainerSpec(placeholder_name(i + 1, count, init=True), image="", init=True) for i in range(count)
    )
    return RowState(phase="Pending", init_statuses=(*before, waited_on), init_specs=specs)


def _init_failure(rest: str, restarts: int) -> ContainerStatus:
    """The init container an `Init:<reason>` row waits on.

    printPod reports a terminated init container only with a non-zero exit code, which `Init:Error`,
    `Init:OOMKilled` or `Init:Signal:9` do not give. Rather than invent one, the termination (its
    code unknown) is the last state, and the state is printPod's label, as a waiting reason.
    """
    state = state_from_status(rest) or ContainerState("waiting", reason=rest)
    if state.kind != "terminated" or state.exit_code:
        return ContainerStatus("", restart_count=restarts, state=state)
    label = ContainerState("waiting", reason=rest)
    return ContainerStatus("", restart_count=restarts, state=label, last_state=state)


def _row_facts(match: re.Match[str], line: str) -> PodFacts:
    status = match.group("status")
    restarts = int(match.group("restarts"))
    implied = row_state(int(match.group("ready")), int(match.group("total")), status, restarts)
    ip, node = match.group("ip") or "", match.group("node") or ""
    pod = Pod(
        namespace=match.groupdict().get("namespace") or "",
        name=match.group("name").removeprefix("pod/"),  # `kubectl get all` names the kind
        phase=implied.phase,
        reason=implied.reason,
        node_name="" if node == "<none>" else node,
        pod_ip="" if ip == "<none>" else ip,
        init_containers=implied.init_specs,
        container_statuses=implied.statuses,
        init_container_statuses=implied.init_statuses,
    )
    # Every fact the row implies rests on the row itself: evidence quotes the pasted line.
    sources = {"status": line}
    if implied.phase:
        sources["status.phase"] = line
    if implied.reason:
        sources["status.reason"] = line
    subject = implied.subject
    if subject is not None:
        sources["/restartCount"] = line
        sources["/state"] = line
        for key, state in (("state", subject.state), ("lastState", subject.last_state)):
            if state is None:
                continue
            told = {"reason": state.reason, "exitCode": state.exit_code, "signal": state.signal}
            sources.update(
                {
                    f"/{key}.{state.kind}.{name}": line
                    for name, value in told.items()
                    if value is not None and value != ""
                }
            )
    return PodFacts(
        pod=pod,
        sources=sources,
        shows=frozenset({"summary"}),
        rank=1,
        age=parse_age(match.group("age")),
        last_restart_age=parse_age(match.group("ago") or ""),
        status_text=status,
        terminating=implied.terminating,
    )


_PLAIN_ROW = re.compile("^" + _ROW)
_NAMESPACED_ROW = re.compile(r"^(?P<namespace>\S+)\s+" + _ROW)


def is_row(line: str) -> bool:
    """A `get pods` row copied without its header (`kubectl get pods -w` prints it once)."""
    return bool(_PLAIN_ROW.match(line) or _NAMESPACED_ROW.match(line))


def parse_get_pods(lines: Sequence[str], *, headerless: bool = False) -> list[PodFacts]:
    """Every pod row under a `get pods` header (several tables in one paste are fine); with
    `headerless`, rows before any header too, with or without a NAMESPACE cell."""
    facts: list[PodFacts] = []
    row: re.Pattern[str] | None = None
    for line in lines:
        header = HEADER.match(line)
        if header:
            row = re.compile(r"^\s{0,4}" + (r"(?P<namespace>\S+)\s+" if header.group("ns") else "") + _ROW)
            continue
        match = row.match(line) if row else None
        if match is None and row is None and headerless:
            match = _PLAIN_ROW.match(line) or _NAMESPACED_ROW.match(line)
        if match:
            facts.append(_row_facts(match, line))
    return facts
