"""`kubectl get pods` rows -> PodFacts: plain, `-o wide`, `-A`, `--show-labels`, any kubectl since 1.10.

A row says little: READY, the STATUS printPod computed, the summed RESTARTS ("7" or, since about
1.22, "7 (2m ago)") and AGE; with -o wide the IP and node. It names no container, so the status it
implies goes on a container with no name, which `combine` names when another paste shows the pod
has exactly one container. Cells are read by pattern: a chat client may have squeezed the padding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kcrash.cluster.paste.model import PodFacts
from kcrash.cluster.paste.text import parse_age
from kcrash.core.records import ContainerState, ContainerStatus, Pod
from kcrash.core.status import WAITING_ERRORS

HEADER = re.compile(r"^(?P<ns>NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\b")
_ROW = (
    r"(?P<name>\S+)\s+(?P<ready>\d+)/(?P<total>\d+)\s+(?P<status>\S+)\s+"
    r"(?P<restarts>\d+)(?:\s+\((?P<ago>\S+)\s+ago\))?\s+(?P<age>\S+)"
    r"(?:\s+(?P<ip>\S+)\s+(?P<node>\S+)(?:\s+\S+){0,2})?(?:\s+\S+=\S*)?\s*$"
)
_WAITING = WAITING_ERRORS | {"ContainerCreating", "PodInitializing", "Pending"}
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


def _row_facts(match: re.Match[str], line: str) -> PodFacts:
    status = match.group("status")
    restarts = int(match.group("restarts"))
    ready, total = int(match.group("ready")), int(match.group("total"))
    init = status.startswith("Init:")
    state = state_from_status(status.removeprefix("Init:"))
    statuses: tuple[ContainerStatus, ...] = ()
    if state is not None or restarts:
        statuses = (
            ContainerStatus(
                name="",
                ready=total > 0 and ready == total,
                restart_count=restarts,
                state=state or ContainerState("unknown"),
            ),
        )
    ip, node = match.group("ip") or "", match.group("node") or ""
    pod = Pod(
        namespace=match.groupdict().get("namespace") or "",
        name=match.group("name"),
        phase="Failed" if status in _POD_REASONS else ("Pending" if init else ""),
        reason=status if status in _POD_REASONS else "",
        node_name="" if node == "<none>" else node,
        pod_ip="" if ip == "<none>" else ip,
        container_statuses=() if init else statuses,
        init_container_statuses=statuses if init else (),
    )
    sources = {"status": line}
    if statuses:
        sources["/restartCount"] = line
        sources["/state"] = line
        if state is not None and state.reason:
            sources[f"/state.{state.kind}.reason"] = line
    return PodFacts(
        pod=pod,
        sources=sources,
        shows=frozenset({"summary"}),
        rank=1,
        age=parse_age(match.group("age")),
        last_restart_age=parse_age(match.group("ago") or ""),
        status_text=status,
    )


def parse_get_pods(lines: Sequence[str]) -> list[PodFacts]:
    """Every pod row under a `get pods` header (several tables in one paste are fine)."""
    facts: list[PodFacts] = []
    row: re.Pattern[str] | None = None
    for line in lines:
        header = HEADER.match(line)
        if header:
            row = re.compile("^" + (r"(?P<namespace>\S+)\s+" if header.group("ns") else "") + _ROW)
            continue
        match = row.match(line) if row else None
        if match:
            facts.append(_row_facts(match, line))
    return facts
