"""The facts every rule reads: the container in trouble, its last death, its events and dying words.

`gather` picks the container (init containers first: nothing else runs until they finish) and
collects what is known about it once, so each rule is a plain function of `Facts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kcrash.core.records import (
    AbsentPart,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    DiagnosisInput,
    Event,
    Pod,
)
from kcrash.core.status import primary_container

DYING_WORDS = 20  # the runbook: the reason is usually in the last twenty lines
# ... not counting stack frames and indented text (a usage text's flags, a pretty-printed object):
# the exception or the `flag provided but not defined` line above them is the reason.
DYING_WORDS_MAX = 300
_FRAME = re.compile(r"^\s|^goroutine \d+ \[|^created by |^[\w./*()\[\]-]+\(.*\)$")
BACKOFF_RESET_S = 600  # the kubelet forgets a crash loop after ten clean minutes

# Waiting reasons that mean the container could not be created or started.
CONFIG_REASONS = frozenset({"CreateContainerConfigError"})
START_REASONS = frozenset({"RunContainerError", "CreateContainerError", "StartError", "ContainerCannotRun"})


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about the container in trouble, gathered once for all the rules."""

    inp: DiagnosisInput
    container: str
    spec: ContainerSpec | None
    status: ContainerStatus | None
    termination: ContainerState | None  # its most recent death
    termination_source: str  # "lastState.terminated" or "state.terminated"
    waiting: ContainerState | None
    events: tuple[Event, ...]  # this pod's events about this container or the whole pod
    log_lines: tuple[str, ...]  # the dying words, oldest first
    # "previous log", "log", "lastState.terminated.message" (standing in for a missing or empty
    # log), or "" when no log was fetched
    log_source: str
    log_cut: bool  # the log ends mid-line: the process died while writing

    @property
    def pod(self) -> Pod:
        return self.inp.pod

    def lacks(self, part: AbsentPart) -> bool:
        """The input could not see this part: its emptiness says nothing."""
        return part in self.inp.absent

    @property
    def spec_known(self) -> bool:
        return self.spec is not None and not self.lacks("spec")

    @property
    def in_init_statuses(self) -> bool:
        return any(s.name == self.container for s in self.pod.init_container_statuses)

    @property
    def is_init(self) -> bool:
        if self.spec is None:  # no spec to tell a sidecar: where its status is reported will do
            return self.in_init_statuses
        return self.spec.init and not self.spec.sidecar

    @property
    def label(self) -> str:
        """How to name the container in a sentence."""
        if self.spec is not None and self.spec.sidecar:
            return f"sidecar {self.container}"
        return f"init container {self.container}" if self.is_init else f"container {self.container}"

    @property
    def subject(self) -> str:
        """The label to start a sentence with."""
        return self.label[:1].upper() + self.label[1:]

    @property
    def exit_code(self) -> int | None:
        return self.termination.exit_code if self.termination else None

    @property
    def reason(self) -> str:
        return self.termination.reason if self.termination else ""

    @property
    def restarts(self) -> int:
        return self.status.restart_count if self.status else 0

    @property
    def run_seconds(self) -> float | None:
        """How long the dead instance lived (startedAt -> finishedAt)."""
        term = self.termination
        if term is None or term.started_at is None or term.finished_at is None:
            return None
        return max((term.finished_at - term.started_at).total_seconds(), 0.0)


def pod_events(pod: Pod, events: Iterable[Event]) -> list[Event]:
    """Events about this pod (and this incarnation of it, when both UIDs are known)."""
    mine = [
        e
        for e in events
        if e.involved_kind in ("Pod", "")
        and (not e.involved_name or e.involved_name == pod.name)
        and (not e.involved_uid or not pod.uid or e.involved_uid == pod.uid)
    ]
    return sorted(mine, key=when)


def when(event: Event) -> float:
    """When an event last happened, as a sort key (unknown times sort first)."""
    moment = event.last_seen or event.first_seen
    return moment.timestamp() if moment is not None else 0.0


def _termination(status: ContainerStatus | None) -> tuple[ContainerState | None, str]:
    if status is None:
        return None, ""
    if status.state.kind == "terminated":
        return status.state, "state.terminated"
    if status.last_state is not None and status.last_state.kind == "terminated":
        return status.last_state, "lastState.terminated"
    return None, ""


def _log_tail(text: str | None) -> tuple[tuple[str, ...], bool]:
    if not text:
        return (), False
    lines = [line.rstrip("\r") for line in text.split("\n")]
    words = dying_tail([line for line in lines if line.strip()])
    return tuple(words), not text.endswith("\n") and bool(words)


def dying_tail(lines: Sequence[str]) -> Sequence[str]:
    """The last DYING_WORDS lines of a log, stack frames and indented lines not counted."""
    counted = 0
    for start in range(len(lines) - 1, max(len(lines) - DYING_WORDS_MAX, 0) - 1, -1):
        if not _FRAME.match(lines[start]):
            counted += 1
            if counted == DYING_WORDS:
                return lines[start:]
    return lines[-DYING_WORDS_MAX:]


def _current_log_tells(pod: Pod, name: str, status: ContainerStatus | None) -> bool:
    """Whether the current log says why the pod is stuck, when there is no previous one.

    While a container waits in back-off, its plain log is the dead instance's; with no state known
    (a log pasted alone) it is the only account there is; a running init container (not a
    sidecar) is what the pod waits for, and its log says what it waits for."""
    if status is None or status.state.kind != "running":
        return True
    spec = pod.spec_for(name)
    in_init = any(s.name == name for s in pod.init_container_statuses)
    return in_init and not (spec is not None and spec.sidecar)


def _only_container_named(pod: Pod, events: Iterable[Event]) -> str:
    """With no container known (events pasted alone), the one container the events speak of; of
    several (a sidecar started beside it), the one warnings or kills speak of."""
    mine = pod_events(pod, events)
    named = {e.container for e in mine if e.container}
    if len(named) > 1:
        named = {e.container for e in mine if e.container and (e.type == "Warning" or e.reason == "Killing")}
    return named.pop() if len(named) == 1 else ""


def gather(inp: DiagnosisInput) -> Facts:
    pod = inp.pod
    name = primary_container(pod) or _only_container_named(pod, inp.events)
    status = pod.status_for(name)
    termination, source = _termination(status)
    waiting = status.state if status is not None and status.state.kind == "waiting" else None
    events = tuple(e for e in pod_events(pod, inp.events) if e.container in ("", name))
    log_text, log_source = inp.previous_log, "previous log"
    if log_text is None and _current_log_tells(pod, name, status):
        log_text, log_source = inp.current_log, "log"
    lines, cut = _log_tail(log_text)
    log_source = log_source if log_text is not None else ""
    if not lines and termination is not None and termination.message.strip():
        # With terminationMessagePolicy FallbackToLogsOnError the message is the log's tail, and an
        # app may write its last words to /dev/termination-log: dying words where no log is.
        lines, log_source, cut = _log_tail(termination.message)[0], f"{source}.message", False
    return Facts(
        inp=inp,
        container=name,
        spec=pod.spec_for(name),
        status=status,
        termination=termination,
        termination_source=source,
        waiting=waiting,
        events=events,
        log_lines=lines,
        log_source=log_source,
        log_cut=cut,
    )


def events_with(f: Facts, reason: str, prefix: str = "", contains: str = "") -> list[Event]:
    return [
        e
        for e in f.events
        if e.reason == reason
        and e.message.lower().startswith(prefix.lower())
        and contains.lower() in e.message.lower()
    ]


def total(events: Sequence[Event]) -> int:
    return sum(e.count for e in events)


def latest(events: Sequence[Event]) -> Event | None:
    return events[-1] if events else None


# --- the dying words ------------------------------------------------------------------------------

_FATAL = re.compile(
    r"\bfatal\b|\bCRITICAL\b|\bpanic\b|Exception in thread|^\s*Caused by: |"
    r"^[\w.$]+(?:Exception|Error)(?::|$)",
    re.I,
)
_ERROR = re.compile(
    r"\bError:|\berror:|\bERROR\b|\"level\":\s*\"error\"|level=error|\bException\b|\bfailed\b", re.I
)
_PY_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|KeyError)\b(?::.*)?$")


def is_fatal(line: str) -> bool:
    """A line that says the process is dying, not only that something went wrong."""
    return bool(_FATAL.search(line))


def dying_words(lines: Sequence[str]) -> str:
    """The line that best says why the process died: an exception's last line, a panic, a FATAL."""
    traceback = max(
        (i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line), default=-1
    )
    if traceback >= 0:
        for line in reversed(lines[traceback:]):
            if _PY_EXCEPTION.match(line.strip()):
                return line.strip()
    for pattern in (_FATAL, _ERROR):
        for line in reversed(lines):
            if pattern.search(line) and "Traceback (most recent" not in line:
                return line.strip()
    # A traceback cut off at the top of the tail still ends with the exception.
    for line in reversed(lines):
        if _PY_EXCEPTION.match(line.strip()):
            return line.strip()
    return ""
