"""`kubectl logs` pastes: the log text, with kubectl's own lines read as facts instead of content.

kubectl writes some lines of its own into what people copy:
- `Defaulted container "web" out of: web, istio-proxy, istio-init (init)` (1.21+, to stderr);
- `Error from server (BadRequest): previous terminated container "web" in pod "p" not found`:
  the container has no previous instance, a fact, not log content;
- `Error from server (BadRequest): container "web" in pod "p" is waiting to start: <reason>`;
- `Error from server (BadRequest): a container name must be specified for pod p, choose one of: [a b]`;
- `Error from server (NotFound): pods "p" not found`;
- the kubelet's `unable to retrieve container logs for containerd://...` when the log is gone.
Which instance a paste shows comes from its command line (`-p`, `--previous`) or its name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kcrash.cluster.paste.model import LogFacts, LogWhich
from kcrash.cluster.paste.text import Command, parse_command, pod_name_of

_DEFAULTED = re.compile(r'^Defaulted container "(?P<c>[^"]+)" out of: (?P<all>.*?)\.?\s*$')
_NO_PREVIOUS = re.compile(
    r'^Error from server \(BadRequest\): previous terminated container "(?P<c>[^"]+)" '
    r'in pod "(?P<p>[^"]+)" not found'
)
_WAITING = re.compile(
    r'^Error from server \(BadRequest\): container "(?P<c>[^"]+)" in pod "(?P<p>[^"]+)" '
    r"is waiting to start: (?P<r>.*)$"
)
_CHOOSE = re.compile(
    r"^(?:Error from server \(BadRequest\): |error: )a container name must be specified for pod (?P<p>\S+), "
    r"choose one of: \[(?P<all>[^\]]*)\]"
)
_POD_GONE = re.compile(r'^Error from server \(NotFound\): pods? "(?P<p>[^"]+)" not found')
_UNAVAILABLE = re.compile(
    r"^(?:unable to retrieve container logs for \S+"
    r"|failed to try resolving symlinks in path .*/var/log/pods/)"
)
_OTHER_KUBECTL = re.compile(r"^(?:Error from server \([A-Za-z]+\): |error: (?:expected|unable|the server))")
_PREVIOUS_NAME = re.compile(
    r"(?:^|[^a-z])(?:previous|prev)(?:[^a-z]|$)|(?:^|[._-])p(?:[._-]|$)", re.IGNORECASE
)
_CURRENT_NAME = re.compile(r"(?:^|[^a-z])current(?:[^a-z]|$)", re.IGNORECASE)


@dataclass(slots=True)
class _Found:
    pod: str = ""
    namespace: str = ""
    container: str = ""
    which: LogWhich = "unknown"
    no_previous: bool = False
    unavailable: bool = False
    waiting_reason: str = ""
    containers: tuple[str, ...] = ()
    kubectl_lines: list[str] = field(default_factory=list)


def _names(text: str) -> tuple[str, ...]:
    return tuple(
        part.removesuffix("(init)").strip() for part in re.split(r"[,\s]+(?![(])", text) if part.strip()
    )


def _kubectl_line(line: str, found: _Found) -> bool:
    """Read one of kubectl's own lines into `found`; False when the line is log content."""
    stripped = line.strip()
    if match := _DEFAULTED.match(stripped):
        found.container = found.container or match.group("c")
        found.containers = tuple(n for n in _names(match.group("all")) if n)
    elif match := _NO_PREVIOUS.match(stripped):
        found.container, found.pod = match.group("c"), match.group("p")
        found.no_previous, found.which = True, "previous"
    elif match := _WAITING.match(stripped):
        found.container, found.pod = match.group("c"), match.group("p")
        found.waiting_reason = match.group("r")
    elif match := _CHOOSE.match(stripped):
        found.pod = match.group("p")
        found.containers = _names(match.group("all"))
    elif match := _POD_GONE.match(stripped):
        found.pod = match.group("p")
    elif _UNAVAILABLE.match(stripped):
        found.unavailable = True
    elif not _OTHER_KUBECTL.match(stripped):
        return False
    found.kubectl_lines.append(line)
    return True


def _apply_command(command: Command, found: _Found) -> None:
    found.pod = found.pod or pod_name_of(command)
    found.namespace = found.namespace or command.namespace
    found.container = found.container or command.container
    if found.which == "unknown" and command.previous is not None:
        found.which = "previous" if command.previous else "current"


def parse_logs(lines: Sequence[str], *, command: Command | None = None, name: str = "") -> LogFacts:
    """One logs paste. `command` is the prompt line found above it, if any; `name` the paste's name."""
    found = _Found()
    content: list[str] = []
    for line in lines:
        found_command = parse_command(line)
        if found_command is not None and found_command.verb == "logs":
            _apply_command(found_command, found)
            found.kubectl_lines.append(line)
        elif not _kubectl_line(line, found):
            content.append(line)
    if command is not None:
        _apply_command(command, found)
    if found.which == "unknown" and name:
        if _PREVIOUS_NAME.search(name):
            found.which = "previous"
        elif _CURRENT_NAME.search(name):
            found.which = "current"
    body = "\n".join(content).strip("\n")
    return LogFacts(
        # Every pasted line counts as whole: a paste cannot tell a line the process was still
        # writing when it died from one a chat client or an editor left without its newline.
        text=body + "\n" if body else "",
        which=found.which,
        pod=found.pod,
        namespace=found.namespace,
        container=found.container,
        no_previous=found.no_previous,
        unavailable=found.unavailable,
        waiting_reason=found.waiting_reason,
        containers=found.containers,
        kubectl_lines=tuple(found.kubectl_lines),
    )
