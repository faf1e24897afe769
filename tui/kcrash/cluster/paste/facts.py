"""What one paste says: its parts split at prompt lines, each read by the reader for its form.

`parse_paste` never raises on bad input: a part it cannot read is named in `PasteFacts.notes`.
A pod's name and namespace missing from the paste itself come from the command line above it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects
from kcrash.cluster.paste.asof import estimate_as_of
from kcrash.cluster.paste.describe import parse_describe
from kcrash.cluster.paste.detect import Part, split
from kcrash.cluster.paste.events import HEADERS, parse_event_table
from kcrash.cluster.paste.fragments import fragment_facts
from kcrash.cluster.paste.logs import parse_logs
from kcrash.cluster.paste.mixed import Pieces, read_pieces, runtime_events
from kcrash.cluster.paste.model import AsOfBasis, LogFacts, PastedEvent, PasteFacts, PasteKind, PodFacts
from kcrash.cluster.paste.named import assigned_pod
from kcrash.cluster.paste.objects import ObjectsError, parse_objects_paste, truncation_note
from kcrash.cluster.paste.runs import created_pods
from kcrash.cluster.paste.selected import listing, selected_facts
from kcrash.cluster.paste.specs import container_pieces
from kcrash.cluster.paste.table import parse_get_pods
from kcrash.cluster.paste.text import Command, pod_name_of
from kcrash.cluster.paste.watch import newest_rows
from kcrash.core.records import Pod

_UNKNOWN: AsOfBasis = "unknown"
_LOG_NAMES = (".log", "log.", "logs", "previous", "stdout", "stderr")


def _with_command(facts: list[PodFacts], part: Part) -> list[PodFacts]:
    """Fill a pod's name and namespace from the command line when the paste itself lacks them."""
    command = part.command
    if command is None:
        return facts
    name = pod_name_of(command)
    filled = []
    for pod_facts in facts:
        pod = pod_facts.pod
        if (not pod.name and name) or (not pod.namespace and command.namespace):
            pod = replace(pod, name=pod.name or name, namespace=pod.namespace or command.namespace)
            pod_facts = dataclasses.replace(pod_facts, pod=pod)
        filled.append(pod_facts)
    return filled


def _events_part(part: Part, table: list[PastedEvent]) -> tuple[list[PodFacts], list[PastedEvent]]:
    """Event rows; those that name no pod (describe's Events pasted alone, lines out of a chat)
    belong to the one pod the block names, or to a pod the paste does not name."""
    namespace = part.command.namespace if part.command else ""
    table = [_assigned(e) for e in table]
    names = {(e.event.involved_name, e.event.namespace) for e in table if e.event.involved_name}
    if len(names) == 1:
        name, pod_namespace = names.pop()
        table = [
            e
            if e.event.involved_name or e.event.involved_kind not in ("", "Pod")
            else dataclasses.replace(
                e, event=replace(e.event, involved_kind="Pod", involved_name=name, namespace=pod_namespace)
            )
            for e in table
        ]
    nameless = tuple(e for e in table if not e.event.involved_name and e.event.involved_kind in ("", "Pod"))
    named = [
        dataclasses.replace(e, event=replace(e.event, namespace=e.event.namespace or namespace))
        for e in table
        if e.event.involved_name
    ]
    if not nameless:
        return [], named
    pod = PodFacts(pod=Pod(namespace=namespace, name=""), events=nameless, shows=frozenset({"events"}))
    return _with_command([pod], part), named


def _assigned(pasted: PastedEvent) -> PastedEvent:
    """A nameless `Scheduled` event names its pod: "Successfully assigned shop/web-1 to node-2"."""
    event = pasted.event
    if event.involved_name or event.reason != "Scheduled" or event.involved_kind not in ("", "Pod"):
        return pasted
    named = assigned_pod(event.message)
    if named is None:
        return pasted
    event = replace(event, involved_kind="Pod", involved_name=named.name, namespace=named.namespace)
    return dataclasses.replace(pasted, event=event)


@dataclass(slots=True)
class _Read:
    """What the parts of one paste said so far."""

    pods: list[PodFacts] = field(default_factory=list)
    events: list[PastedEvent] = field(default_factory=list)
    logs: list[LogFacts] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_events(self, part: Part, found: list[PastedEvent]) -> None:
        pods, events = _events_part(part, found)
        self.pods += pods
        self.events += events


def _read_pieces(part: Part, number: int, read: _Read, *, as_log: bool) -> PasteKind:
    """A part read block by block; the kind is its first block's that kcrash reads."""
    pieces: Pieces = read_pieces(part.lines, as_log=as_log)
    read.pods += _with_command(pieces.pods, part)
    read.add_events(part, pieces.events)
    if pieces.log:
        log = parse_logs(pieces.log, command=part.command)
        read.logs.append(dataclasses.replace(log, quoted=pieces.quoted_only and not log.pod))
    known = [kind for kind in pieces.kinds if kind != "unknown"]
    if not known:
        read.notes.append(f"part {number}: not kubectl output kcrash reads ({len(part.lines)} lines)")
        return "unknown"
    unread = "not kubectl output kcrash reads"
    read.notes += [f"part {number}, lines {start}-{end}: {unread}" for start, end in pieces.skipped]
    return part.kind if part.kind != "unknown" else known[0]


_CUTTERS = ("tail", "head", "grep", "egrep", "sed", "awk")


def _cut_by_pipe(command: Command | None) -> bool:
    """`kubectl describe pod x | tail -3`: lines out of a describe, read for their forms (an event
    row, a `Last State:` block), not as a describe that would need its sections."""
    return command is not None and command.pipe.split(" ", 1)[0] in _CUTTERS


def _preface(lines: tuple[str, ...]) -> tuple[str, ...]:
    """The lines above an event table's header (and its `Events:` title), when any say something."""
    header = next((i for i, line in enumerate(lines) if any(h.match(line) for h in HEADERS)), 0)
    above = list(lines[:header])
    while above and (not above[-1].strip() or above[-1].strip() == "Events:"):
        above.pop()
    return tuple(above)


def _read_preface(part: Part, read: _Read) -> None:
    """What a chat message above a table quotes: its events and pods; lines of no form are talk."""
    pieces: Pieces = read_pieces(part.lines)
    read.pods += _with_command(pieces.pods, part)
    read.add_events(part, pieces.events)


def parse_paste(text: str, *, name: str = "") -> PasteFacts:
    """What one paste says. Never raises on bad input: what cannot be read is named in `notes`."""
    read = _Read()
    objects: ParsedObjects | None = None
    kinds: list[PasteKind] = []
    listings: dict[tuple[str, ...], list[str]] = {}  # the pods each `get pods` listing printed
    for number, part in enumerate(split(text), 1):
        kind = part.kind
        log_named = any(hint in name.lower() for hint in _LOG_NAMES)
        command = part.command
        selected = (
            selected_facts(part.lines, command, listings.get(listing(command), ())) if command else None
        )
        if selected is not None:
            read.pods += selected
            kind = "objects"
        elif kind == "objects" and not part.pieces:
            before = len(read.pods)
            try:
                found, objects = parse_objects_paste(part.lines, part.docs)
            except ObjectsError as error:
                fragment = fragment_facts(part.lines) or container_pieces(part.lines)
                if fragment is None:
                    read.notes.append(f"part {number}: {error}")
                else:  # `kubectl get pod web -o yaml | grep -A8 lastState` names the pod above it
                    read.pods += _with_command([fragment], part)
            else:
                read.pods += found
                read.events += [PastedEvent(event=e) for e in objects.events]  # times already absolute
            cut = truncation_note(part.lines) if len(read.pods) > before else None
            if cut:  # what was read stands; the reader is told more may have followed
                read.notes.append(f"part {number}: {cut}")
        elif kind == "describe" and not part.pieces and not _cut_by_pipe(command):
            read.pods += _with_command(parse_describe(part.lines), part)
        elif kind == "get-pods" and not part.pieces:
            rows = _with_command(parse_get_pods(part.lines), part)
            read.pods += rows
            if command is not None:
                listings[listing(command)] = [row.pod.name for row in rows]
        elif kind == "events" and not part.pieces:
            preface = _preface(part.lines)
            if preface:  # a sentence above the table may quote the line that matters
                _read_preface(dataclasses.replace(part, lines=preface, pieces=True), read)
            read.add_events(part, parse_event_table(part.lines))
        elif kind == "logs" and (part.command is not None or log_named):
            log = parse_logs(part.lines, command=part.command, name=name)
            read.logs.append(log)
            read.add_events(part, _named_events(runtime_events(part.lines), log))
        else:
            kind = _read_pieces(part, number, read, as_log=log_named or kind == "logs")
        kinds.append(kind)
    pods = newest_rows([*read.pods, *created_pods(text)])
    times = [(t, basis) for t, basis in (estimate_as_of(f) for f in pods if f.rank >= 2) if t is not None]
    as_of, basis = max(times, key=lambda pair: pair[0]) if times else _latest_event(pods, read.events)
    return PasteFacts(
        name=name,
        kind=next((k for k in kinds if k != "unknown"), "unknown"),
        pods=tuple(pods),
        events=tuple(read.events),
        logs=tuple(read.logs),
        objects=objects,
        as_of=as_of,
        as_of_basis=basis,
        kinds=tuple(kinds),
        notes=tuple(read.notes),
    )


def _latest_event(pods: list[PodFacts], events: list[PastedEvent]) -> tuple[datetime | None, AsOfBasis]:
    """A paste of events with their times (a console's events view, a journal): taken no earlier
    than the latest of them."""
    every = [*events, *(e for facts in pods for e in facts.events)]
    times = [t for e in every if (t := e.event.last_seen or e.event.first_seen) is not None]
    return (max(times), "latest-time") if times else (None, _UNKNOWN)


def _named_events(found: list[PastedEvent], log: LogFacts) -> list[PastedEvent]:
    """The runtime's lines in a log are about the log's pod, when its command line names one."""
    if not log.pod:
        return found
    return [
        dataclasses.replace(
            e, event=replace(e.event, involved_kind="Pod", involved_name=log.pod, namespace=log.namespace)
        )
        for e in found
    ]
