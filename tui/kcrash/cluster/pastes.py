"""Diagnose from what people paste: kubectl's text output turned into what `core.diagnose` reads.

    detect(text)                -> "objects" | "describe" | "get-pods" | "events" | "logs" | "unknown"
    parse_paste(text, name=...) -> PasteFacts: what one paste says
    combine(facts, now=...)     -> [PastedPod]: several pastes about one pod put together
    inputs_from_pastes(pairs, now) -> [DiagnosisInput]: (name, text) pairs ready for diagnose()
    quote_pasted(diagnosis, pasted_pod) -> Diagnosis: evidence quoting the pasted lines

Parsing is pure: the caller reads the files. Forms read: `kubectl describe pod` (space- or
tab-aligned, 1.10 to today, cut off anywhere, several pods), `kubectl get pods` (-o wide, -A),
`kubectl get events` (today's, -A, -o wide, and the old LASTSEEN/FIRSTSEEN form), `kubectl events`,
`kubectl logs` (with kubectl's own error lines read as facts), and `kubectl get -o yaml|json`
through `cluster.parse` (a bare `status:` stanza too). One paste may hold several outputs one
after another, each under its prompt line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from kcrash.cluster.parse import ParsedObjects
from kcrash.cluster.paste.combine import combine, estimate_as_of
from kcrash.cluster.paste.describe import parse_describe
from kcrash.cluster.paste.detect import Part, detect, split
from kcrash.cluster.paste.events import parse_event_table
from kcrash.cluster.paste.evidence import quote_pasted
from kcrash.cluster.paste.logs import parse_logs
from kcrash.cluster.paste.model import (
    AsOfBasis,
    LogFacts,
    Missing,
    PastedEvent,
    PastedPod,
    PasteFacts,
    PasteKind,
    PodFacts,
)
from kcrash.cluster.paste.objects import ObjectsError, parse_objects_paste
from kcrash.cluster.paste.table import parse_get_pods
from kcrash.cluster.paste.text import pod_name_of
from kcrash.core.records import DiagnosisInput, Pod

__all__ = [
    "LogFacts",
    "Missing",
    "PasteFacts",
    "PasteKind",
    "PastedEvent",
    "PastedPod",
    "PodFacts",
    "combine",
    "detect",
    "inputs_from_pastes",
    "parse_paste",
    "quote_pasted",
]

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
            pod_facts = replace(pod_facts, pod=pod)
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
    return [], [replace(e, event=replace(e.event, namespace=e.event.namespace or namespace)) for e in table]


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


def inputs_from_pastes(texts: Sequence[tuple[str, str]], now: datetime) -> list[DiagnosisInput]:
    """(name, text) pairs -> one DiagnosisInput per pod they speak of.

    `now` is used only where no paste tells when it was taken; otherwise the input's `now` is the
    moment the pastes describe, so "last crash 2m ago" reads as the paste said it.
    """
    pasted = combine([parse_paste(text, name=name) for name, text in texts], now=now)
    return [pod.diagnosis_input(now) for pod in pasted]
