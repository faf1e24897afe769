"""A paste of pieces: whatever a person copied, in any order, with chat between.

The text is cut into blocks at blank lines, and each block is read by the form it shows: describe
lines (a Containers block, the State/Last State lines), `get pods` rows with or without their
header, event lines, YAML or JSON pieces, log lines, `oc status` findings and markdown tables of
pods (`paste.summaries`). A block that is none of them is read for errors its sentences quote
(`paste.prose`), else named as skipped; a block of a log paste that is none of them is log.
Lines where the container runtime explains why a process could not start ("failed to create
containerd task: ... executable file not found in $PATH", "exec user process caused: exec format
error") are the kubelet's to report: wherever they were pasted, a file of one such line too, they
are read as the `Failed` event that carries them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from kcrash.cluster.paste import consoles, summaries, table
from kcrash.cluster.paste.describe import parse_describe
from kcrash.cluster.paste.events import HEADERS
from kcrash.cluster.paste.fragments import fragment_facts, looks_like_fragment
from kcrash.cluster.paste.loose import is_event_line, read_events
from kcrash.cluster.paste.model import PastedEvent, PodFacts
from kcrash.cluster.paste.prose import NamedStatus, named_status, quoted_errors, stated_exit
from kcrash.cluster.paste.specs import container_pieces
from kcrash.cluster.paste.text import is_action_line
from kcrash.core.records import ContainerState, ContainerStatus, Event, Pod

BlockKind = Literal["describe", "get-pods", "events", "objects", "logs", "unknown"]

DESCRIBE_LABELS = re.compile(
    r"^\s*(Namespace|Node|Start Time|Controlled By|Controllers|QoS Class|Container ID|Image ID|"
    r"Restart Count|State|Last State|Last Termination State|Exit Code|Init Containers|Containers|"
    r"Conditions|Service Account|Priority):(?:\s|$)"
)
LOG_HINTS = re.compile(
    r"^\s*(?:\d{4}-\d\d-\d\dT\d\d:\d\d|\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d|[IWEF]\d{4} \d\d:\d\d|"
    r"\{\s*\"|(?:\[\s*)?(?:INFO|WARN|WARNING|ERROR|DEBUG|FATAL|CRITICAL|TRACE|PANIC)\b|"
    r"Traceback \(most recent call last\)|panic:|Exception in thread|\s+at [\w$.]+\(|"
    r"Error:|error:|Caused by:|goroutine \d+|npm ERR!|node:internal|level=|time=\"?\d)"
)
KUBECTL_LOG_LINES = re.compile(
    r'^(?:Defaulted container "|unable to retrieve container logs for |Error from server \(BadRequest\): '
    r'(?:previous terminated container|container "|a container name))'
)
_RUNTIME = re.compile(
    r"(?:failed to (?:create containerd task|create shim task|start container|create task)|"
    r"OCI runtime (?:create|exec|start) failed|Error response from daemon:|"
    r"exec user process caused|standard_init_linux\.go:\d+:|error during container init|"
    r"unable to start container process)"
)

# Lines that stand for lines left out ("...", "<snip>"), and what `kubectl apply` says it did: no
# part of any output, nothing to report as unread.
_ELISION = re.compile(r"^\s*(?:\.{3,}|…|\[\.{3}\]|<\s*snip\s*>|\[\s*snip\s*\]|\(\s*snip\s*\))\s*$", re.I)

# A mount that failed on the node, as the kubelet's FailedMount event says it, or as the mount
# helper, a CSI or flex driver logs it ("Mount failed: exit status 32", "mount failed: exit status 32").
_MOUNT = re.compile(r"\bMountVolume\.\w+ failed\b|\b[Mm]ount(?:ing)? failed: exit status \d+")


def looks_like_describe(lines: Sequence[str]) -> bool:
    """`Name:` on top, or two of describe's labels: a describe, whole or in part."""
    head = lines[:400]
    return any(line.startswith("Name:") for line in head[:3]) or (
        sum(1 for line in head if DESCRIBE_LABELS.match(line)) >= 2
    )


def block_kind(lines: Sequence[str]) -> BlockKind:
    """The form one block of lines shows."""
    body = [line for line in lines if line.strip()]
    if not body:
        return "unknown"
    # A console's page has describe's labels (State:, Restart Count:) but not its layout.
    if any(map(consoles.is_console_line, body)) and not body[0].startswith("Name:"):
        # Event lines beside it (a chat message): read as events, the console's lines with them.
        return "events" if any(map(is_event_line, body)) else "get-pods"
    if looks_like_describe(body):
        return "describe"
    if any(table.HEADER.match(line) for line in body) or sum(map(table.is_row, body)) * 2 >= len(body):
        return "get-pods"
    if any(map(summaries.is_finding, body)) or summaries.is_markdown_table(body):
        return "get-pods"  # a summary of pods other than kubectl's table
    if sum(map(summaries.is_waiting_line, body)) * 2 >= len(body):
        return "get-pods"  # a summary of pods other than kubectl's table
    if any(header.match(line) for line in body for header in HEADERS) or any(map(is_event_line, body)):
        return "events"
    if looks_like_fragment(body) and fragment_facts(body) is not None:
        return "objects"
    if any(KUBECTL_LOG_LINES.match(line.strip()) or LOG_HINTS.match(line) for line in body):
        return "logs"
    if any(_RUNTIME.search(line) or _MOUNT.search(line) for line in body):
        return "events"  # the runtime's complaint pasted alone: the kubelet's `Failed` event
    return "unknown"


def blocks(lines: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of lines between blank lines."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for index, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = index
        elif not line.strip() and start is not None:
            found.append((start, index))
            start = None
    return found


@dataclass(slots=True)
class Pieces:
    """What the blocks of one part say, and the line ranges (1-based, inclusive) none of them read."""

    pods: list[PodFacts] = field(default_factory=list)
    events: list[PastedEvent] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    kinds: list[BlockKind] = field(default_factory=list)
    skipped: list[tuple[int, int]] = field(default_factory=list)
    quoted_only: bool = True  # every log line was quoted in a sentence (none when no log)


def read_pieces(lines: Sequence[str], *, as_log: bool = False) -> Pieces:
    """Every block read by its form; with `as_log`, a block of no form is log text."""
    found = Pieces()
    talk: list[list[str]] = []  # the blocks that are a message's sentences
    for start, end in blocks(lines):
        block = list(lines[start:end])
        kind = block_kind(block)
        found.kinds.append(kind)
        if kind == "describe":
            found.pods += parse_describe(block)
        elif kind == "get-pods":
            found.pods += table.parse_get_pods(block, headerless=True)
            found.pods += summaries.oc_status_pods(block) + summaries.markdown_pods(block)
            found.pods += summaries.waiting_pods(block) + consoles.console_pods(block)
        elif kind == "events":
            _events(block, start, found)
        elif kind == "objects":
            facts = fragment_facts(block) or container_pieces(block)
            found.pods += [facts] if facts is not None else []
        elif kind == "logs" or as_log:
            _add_log(found, block)
            found.quoted_only = False
        elif (spec := container_pieces(block)) is not None:
            found.kinds[-1] = "objects"  # a manifest's containers that do not load as a whole
            found.pods.append(spec)
        elif quoted := quoted_errors(block):
            found.kinds[-1] = "logs"  # a chat message quoting what the log said
            _add_log(found, quoted)
        elif said := named_status(block):
            found.kinds[-1] = "get-pods"  # a chat message naming the STATUS it saw
            found.pods.append(_status_named(said, stated_exit(block)))
            talk.append(block)
        elif not all(_ELISION.match(line) or is_action_line(line) for line in block if line.strip()):
            found.skipped.append((start + 1, end))
            talk.append(block)
    runtime = runtime_events(found.log)
    found.events += runtime
    found.pods = [_exit_told_elsewhere(facts, talk) for facts in found.pods]
    return found


def _exit_told_elsewhere(facts: PodFacts, talk: list[list[str]]) -> PodFacts:
    """A status named in one paragraph of a message, its exit told in another ("it completes
    successfully ... it looks like a crashloopbackoff"): the one exit code the message tells."""
    said = facts.sources.get(_NAMED_SOURCE)
    if said is None or "/lastState.terminated.exitCode" in facts.sources:
        return facts
    told = {found for block in talk if (found := stated_exit(block)) is not None}
    if len({code for code, _ in told}) != 1:
        return facts
    named = named_status([said])
    return _status_named(named, min(told)) if named is not None else facts


_NAMED_SOURCE = "/state.named"  # the sentence that named the status


def _status_named(said: NamedStatus, stated: tuple[int, str] | None) -> PodFacts:
    """A pod a sentence says is in CrashLoopBackOff (or ImagePullBackOff, ...), OOMKilled or
    restarting: its only container waits for that reason, after the exit the message tells in
    words, if it does (the kubelet calls an exit 0 Completed, an OOM kill OOMKilled whatever the code)."""
    state = ContainerState("waiting", reason=said.waiting) if said.waiting else ContainerState("unknown")
    sources = {_NAMED_SOURCE: said.line}
    if said.waiting:
        sources["/state.waiting.reason"] = said.line
    code = stated[0] if stated is not None else None
    last = None
    if said.oom:
        last = ContainerState("terminated", reason="OOMKilled", exit_code=code)
        sources["/lastState.terminated.reason"] = said.line
    elif code is not None:
        last = ContainerState("terminated", reason="Completed" if code == 0 else "", exit_code=code)
    if stated is not None:
        sources["/lastState.terminated.exitCode"] = stated[1]
    # "Restarted again and again": at least one restart, which is all the words can say.
    restarts = 1 if said.restarting and not said.waiting else 0
    if restarts:
        sources["/restartCount"] = said.line
    status = ContainerStatus(name="", state=state, last_state=last, restart_count=restarts)
    pod = Pod(namespace="", name="", container_statuses=(status,))
    return PodFacts(pod=pod, sources=sources, shows=frozenset({"summary"}))


def _add_log(found: Pieces, lines: Sequence[str]) -> None:
    if found.log:
        found.log.append("")
    found.log += lines


def _events(block: list[str], start: int, found: Pieces) -> None:
    """Event lines, and the runs of chat among them (1-based line numbers in the part)."""
    read = read_events(block)
    found.events += read.events
    runtime = [index for index in read.unread if _RUNTIME.search(block[index]) or _MOUNT.search(block[index])]
    found.events += runtime_events([block[index] for index in runtime])
    # A chat message that quotes a back-off event and the state a console showed beside it.
    console = [i for i in read.unread if consoles.is_console_line(block[i])]
    found.pods += consoles.console_pods([block[i] for i in console])
    quiet = {i for i in read.unread if _ELISION.match(block[i]) or is_action_line(block[i])} | set(console)
    for index in (i for i in read.unread if i not in runtime and i not in quiet):
        line = start + index + 1
        if found.skipped and found.skipped[-1][1] == line - 1:
            found.skipped[-1] = (found.skipped[-1][0], line)
        else:
            found.skipped.append((line, line))


def runtime_events(lines: Sequence[str]) -> list[PastedEvent]:
    """The runtime's explanations among log lines, as the `Failed` events the kubelet makes of them;
    a mount helper's failure, as its `FailedMount`."""
    return [
        PastedEvent(
            event=Event(
                namespace="",
                name="",
                type="Warning",
                reason="FailedMount" if _MOUNT.search(line) else "Failed",
                message=_unquoted(line),
            ),
            line=line,
        )
        for line in lines
        if _RUNTIME.search(line) or _MOUNT.search(line)
    ]


def _unquoted(line: str) -> str:
    """A message without the code marks a chat wrapped around it or a part of it (`...`)."""
    return line.replace("`", "").strip()
