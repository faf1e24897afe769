"""What one paste says: its parts split at prompt lines, each read by the reader for its form.

`parse_paste` never raises on bad input: a part it cannot read is named in `PasteFacts.notes`.
A pod's name and namespace missing from the paste itself come from the command line above it.
"""

from __future__ import annotations

import dataclasses

from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects
from kcrash.cluster.paste.combine import estimate_as_of
from kcrash.cluster.paste.describe import parse_describe
from kcrash.cluster.paste.detect import Part, split
from kcrash.cluster.paste.events import parse_event_table
from kcrash.cluster.paste.logs import parse_logs
from kcrash.cluster.paste.model import AsOfBasis, LogFacts, PastedEvent, PasteFacts, PasteKind, PodFacts
from kcrash.cluster.paste.objects import ObjectsError, parse_objects_paste
from kcrash.cluster.paste.table import parse_get_pods
from kcrash.cluster.paste.text import pod_name_of
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


def _events_part(part: Part) -> tuple[list[PodFacts], list[PastedEvent]]:
    """An events table; describe's Events section pasted alone belongs to a pod it does not name."""
    table = parse_event_table(part.lines)
    namespace = part.command.namespace if part.command else ""
    if table and all(not e.event.involved_name for e in table):
        pod = PodFacts(
            pod=Pod(namespace=namespace, name=""), events=tuple(table), shows=frozenset({"events"})
        )
        return _with_command([pod], part), []
    return [], [
        dataclasses.replace(e, event=replace(e.event, namespace=e.event.namespace or namespace))
        for e in table
    ]


def parse_paste(text: str, *, name: str = "") -> PasteFacts:
    """What one paste says. Never raises on bad input: what cannot be read is named in `notes`."""
    pods: list[PodFacts] = []
    events: list[PastedEvent] = []
    logs: list[LogFacts] = []
    notes: list[str] = []
    objects: ParsedObjects | None = None
    parts = split(text)
    kinds: list[PasteKind] = []
    for number, part in enumerate(parts, 1):
        kind = part.kind
        if kind == "unknown" and any(hint in name.lower() for hint in _LOG_NAMES):
            kind = "logs"
        kinds.append(kind)
        if kind == "objects":
            try:
                found, objects = parse_objects_paste(part.lines, part.docs)
            except ObjectsError as error:
                notes.append(f"part {number}: {error}")
                continue
            pods += found
            events += [PastedEvent(event=event) for event in objects.events]  # times already absolute
        elif kind == "describe":
            pods += _with_command(parse_describe(part.lines), part)
        elif kind == "get-pods":
            pods += _with_command(parse_get_pods(part.lines), part)
        elif kind == "events":
            table_pods, table_events = _events_part(part)
            pods += table_pods
            events += table_events
        elif kind == "logs":
            logs.append(parse_logs(part.lines, command=part.command, name=name))
        else:
            notes.append(f"part {number}: not kubectl output kcrash reads ({len(part.lines)} lines)")
    times = [(t, basis) for t, basis in (estimate_as_of(f) for f in pods if f.rank >= 2) if t is not None]
    as_of, basis = max(times, key=lambda pair: pair[0]) if times else (None, _UNKNOWN)
    return PasteFacts(
        name=name,
        kind=next((k for k in kinds if k != "unknown"), "unknown"),
        pods=tuple(pods),
        events=tuple(events),
        logs=tuple(logs),
        objects=objects,
        as_of=as_of,
        as_of_basis=basis,
        kinds=tuple(kinds),
        notes=tuple(notes),
    )
