"""A container's state as web consoles print it, copied out of the page instead of kubectl's.

- Rancher's container list: the waiting reason with its message in brackets, then the last state on
  the same line, `CrashLoopBackOff (back-off 5m0s restarting failed container=web pod=web-1_shop(uid))
  | Last state: Terminated with 137: OOMKilled, started: ..., finished: ...`. The exit code is left
  out when it is 0 (`Terminated with : Completed`).
- Lens' container details: `Last Status: Terminated` over `Reason: Error - exit code: 1`.
- OpenShift's (3.x) pod page, each label over its value: `State:` / `Waiting (CrashLoopBackOff)`,
  `Last State` / `Terminated at Apr 18, 2017 9:12:19 PM (Completed)`, `Restart Count:` / `75`.

The kubelet's back-off message (`back-off 5m0s restarting failed container=web pod=web-1_shop(uid)`),
which these consoles and other tools show as the waiting message, names the pod and the container.
A termination whose exit code is not printed is exit 0 when its reason is Completed: the kubelet
gives that reason to exit 0 alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kcrash.cluster.paste.model import PodFacts
from kcrash.cluster.paste.named import pod_in_message
from kcrash.core.records import ContainerState, ContainerStatus, Pod

_WAITING_REASONS = (
    r"CrashLoopBackOff|ImagePullBackOff|ErrImagePull|ErrImageNeverPull|InvalidImageName|"
    r"CreateContainerConfigError|CreateContainerError|RunContainerError|ContainerCannotRun|StartError|"
    r"ContainerCreating|PodInitializing"
)
# Rancher's `Reason (message)`, the message running to the closing bracket before `|` or the end.
_REASON_BRACKETED = re.compile(rf"^\s*(?P<reason>{_WAITING_REASONS})\s+\((?P<message>.*?)\)\s*(?:\||$)")
# OpenShift's `Waiting (Reason)`.
_WAITING_WORD = re.compile(rf"^\s*Waiting\s+\((?P<reason>{_WAITING_REASONS})\)\s*$")
_TERMINATIONS = (
    # Rancher: `Last state: Terminated with 137: OOMKilled, started: ..., finished: ...`
    re.compile(r"\bLast state:\s*Terminated with (?P<code>\d*)\s*:\s*(?P<reason>[A-Z][A-Za-z]*)", re.I),
    # Lens: `Reason: Error - exit code: 1`
    re.compile(r"^\s*Reason:\s*(?P<reason>[A-Z][A-Za-z]*)\s+-\s+exit code:\s*(?P<code>\d+)\s*$", re.I),
    # OpenShift: `Terminated at Apr 18, 2017 9:12:19 PM (Completed)`
    re.compile(r"^\s*Terminated at [^()]+\((?P<reason>[A-Z][A-Za-z]*)\)\s*$"),
)
_RESTART_LABEL = re.compile(r"^\s*Restart Count:\s*$")
_COUNT = re.compile(r"^\s*(?P<count>\d+)\s*$")


def is_console_line(line: str) -> bool:
    """A line only a console prints: a bracketed waiting reason or a termination in its words."""
    return bool(
        _REASON_BRACKETED.match(line)
        or _WAITING_WORD.match(line)
        or any(form.search(line) for form in _TERMINATIONS)
    )


def _termination(line: str) -> ContainerState | None:
    for form in _TERMINATIONS:
        if match := form.search(line):
            reason = match["reason"]
            printed = match.groupdict().get("code") or ""
            code = int(printed) if printed else (0 if reason == "Completed" else None)
            return ContainerState("terminated", reason=reason, exit_code=code)
    return None


def _waiting(line: str) -> ContainerState | None:
    if match := _REASON_BRACKETED.match(line):
        return ContainerState("waiting", reason=match["reason"], message=match["message"].strip())
    if match := _WAITING_WORD.match(line):
        return ContainerState("waiting", reason=match["reason"])
    return None


def console_pods(lines: Sequence[str]) -> list[PodFacts]:
    """The one container the console lines of a block speak of (none when they show no state)."""
    waiting: ContainerState | None = None
    last: ContainerState | None = None
    restarts = 0
    sources: dict[str, str] = {}
    for index, line in enumerate(lines):
        text = line.strip()
        if waiting is None and (waiting := _waiting(line)) is not None:
            sources["/state.waiting.reason"] = text
            if waiting.message:
                sources["/state.waiting.message"] = text
        if last is None and (last := _termination(line)) is not None:
            told = {"reason": last.reason, "exitCode": last.exit_code}
            sources.update({f"/lastState.terminated.{k}": text for k, v in told.items() if v is not None})
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _RESTART_LABEL.match(line) and (count := _COUNT.match(following)):
            restarts = int(count["count"])
            sources["/restartCount"] = f"{text} {following.strip()}"
    if waiting is None and last is None:
        return []
    named = pod_in_message(waiting.message) if waiting is not None else None
    status = ContainerStatus(
        name=named.container if named else "",
        restart_count=restarts,
        state=waiting or ContainerState("unknown"),
        last_state=last,
    )
    if named and named.container:
        sources = {f"{named.container}{key}": line for key, line in sources.items()}
    pod = Pod(
        namespace=named.namespace if named else "",
        name=named.name if named else "",
        container_statuses=(status,),
    )
    return [PodFacts(pod=pod, sources=sources, shows=frozenset({"summary"}), rank=1)]
