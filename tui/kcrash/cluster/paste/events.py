"""Event tables as kubectl prints them, in every form since about 1.10.

- describe's Events section: `Type Reason Age From Message`; From is "kubelet, node01" up to
  about 1.14 and "kubelet" since; Age is "3m", "3m (x5 over 10m)" or "<invalid>".
- `kubectl get events`: `LAST SEEN TYPE REASON OBJECT MESSAGE` (OBJECT "pod/x"), with -A a
  NAMESPACE column first, with -o wide `... OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME`.
- the old `kubectl get events`: `LASTSEEN FIRSTSEEN COUNT NAME KIND SUBOBJECT TYPE REASON SOURCE MESSAGE`.
- `kubectl events`: `LAST SEEN TYPE REASON OBJECT MESSAGE`, OBJECT "Pod/x", LAST SEEN "2m (x4 over 3m)".
- describe's Events before kubectl 1.8: `FirstSeen LastSeen Count From SubObjectPath Type Reason
  Message`, From "{kubelet node01}"; before 1.3 no Type column, lowercase reasons ("backoff") and,
  in 1.0 and 1.1, absolute times instead of ages.

Rows are read by pattern, not by column position: a chat client may squeeze the padding. A line
that is no row continues the message above it (chat text re-wraps long messages).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kcrash.cluster.paste.model import PastedEvent
from kcrash.cluster.paste.text import parse_age, parse_interval, parse_kube_time
from kcrash.core.records import Event

_AGE = r"(?:<invalid>|<unknown>|\S+)"
_INTERVAL = _AGE + r"(?:\s+\(x\d+\s+over\s+\S+\))?"
_SOURCE = r"[^\s,]+(?:,\s*[^\s,]+)?"  # "kubelet" or "kubelet, node01"
_SUBOBJECT = r"(?:spec|status)\.\S+"

DESCRIBE_HEADER = re.compile(r"^\s*Type\s+Reason\s+Age\s+From\s+Message\s*$")
DESCRIBE_ROW = re.compile(
    rf"^\s*(?P<type>Normal|Warning)\s+(?P<reason>\S+)\s+(?P<interval>{_INTERVAL})\s+"
    rf"(?P<source>{_SOURCE})\s+(?P<message>.*)$"
)
OLD_DESCRIBE_HEADER = re.compile(
    r"^\s*FirstSeen\s+LastSeen\s+Count\s+From\s+Sub[oO]bject[pP]ath\s+(?:Type\s+)?Reason\s+Message\s*$"
)
# Ages, or the absolute times of kubectl 1.0 and 1.1 ("Tue, 20 Oct 2015 10:00:00 +0000").
_WHEN = (
    r"(?:[A-Z][a-z]{2},\s+\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}\s+\d\d:\d\d:\d\d\s+(?:[+-]\d{4}|[A-Z]{1,5})|\S+)"
)
# From: "{kubelet node01}" before kubectl 1.7, "kubelet, node01" in 1.7.
_OLD_FROM = r"[a-z][\w-]*(?:,\s*[^\s,]+)?"
OLD_DESCRIBE_ROW = re.compile(
    rf"^\s*(?P<first>{_WHEN})\s+(?P<last>{_WHEN})\s+(?P<count>\d+)\s+(?P<source>\{{[^}}]*\}}|{_OLD_FROM})\s+"
    rf"(?:(?P<subobject>{_SUBOBJECT})\s+)?(?:(?P<type>Normal|Warning)\s+)?(?P<reason>[A-Za-z]+)\s+(?P<message>.*)$"
)
_DASHES = re.compile(r"^\s*-{2,}(?:\s+-{2,})*\s*$")

GET_HEADER = re.compile(r"^(?P<ns>NAMESPACE\s+)?LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+(?P<rest>\S.*)$")
OLD_HEADER = re.compile(
    r"^(?P<ns>NAMESPACE\s+)?LASTSEEN\s+FIRSTSEEN\s+COUNT\s+NAME\s+KIND\s+SUBOBJECT\s+TYPE\s+REASON\s+SOURCE\s+MESSAGE\s*$"
)
_NS = r"(?P<namespace>\S+)\s+"
_GET_ROW = (
    rf"(?P<interval>{_INTERVAL})\s+(?P<type>Normal|Warning)\s+(?P<reason>\S+)\s+(?P<object>\S+)"
    r"(?:\s+(?P<message>.*))?$"
)
_WIDE_ROW = (
    rf"(?P<interval>{_INTERVAL})\s+(?P<type>Normal|Warning)\s+(?P<reason>\S+)\s+(?P<object>\S+)\s+"
    rf"(?:(?P<subobject>{_SUBOBJECT})\s+)?(?P<source>{_SOURCE})\s+(?P<message>.*?)\s+"
    rf"(?P<first>{_AGE})\s+(?P<count>\d+)\s+(?P<name>\S+)$"
)
_OLD_ROW = (
    rf"(?P<last>{_AGE})\s+(?P<first>{_AGE})\s+(?P<count>\d+)\s+(?P<name>\S+)\s+(?P<kind>\S+)\s+"
    rf"(?:(?P<subobject>{_SUBOBJECT})\s+)?(?P<type>Normal|Warning)\s+(?P<reason>\S+)\s+"
    rf"(?P<source>{_SOURCE})\s+(?P<message>.*)$"
)
HEADERS = (GET_HEADER, OLD_HEADER, DESCRIBE_HEADER, OLD_DESCRIBE_HEADER)
# An event's name is its object's name and a hex suffix: "web-7d9f8b6c5d-x2x9z.17a8c3b2e4f1d0a9".
_EVENT_SUFFIX = re.compile(r"\.[0-9a-f]{8,}$")

_KINDS = {
    k.lower(): k
    for k in (
        "Pod",
        "ReplicaSet",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Node",
        "Service",
        "Endpoints",
        "PersistentVolumeClaim",
        "HorizontalPodAutoscaler",
        "ReplicationController",
        "ConfigMap",
        "Namespace",
    )
}

# Messages that name their container ("Created container: web" since 1.30, "Created container web"
# before; the 1.10-era "Created container" names none).
_CONTAINER_IN_MESSAGE = (
    re.compile(r"^(?:Created|Started|Stopping) container:? (?P<c>[\w.-]+)\s*$"),
    re.compile(r"^Back-off restarting failed container:? (?P<c>[\w.-]+) in pod"),
    re.compile(r"^Container (?P<c>[\w.-]+) failed (?:liveness|startup) probe"),
    re.compile(r"^Killing container with id \w+://(?P<c>[\w.-]+):"),
    re.compile(r"^Container (?P<c>[\w.-]+) definition changed"),
)


def container_in_message(message: str) -> str:
    """The container an event message names, or ""."""
    for pattern in _CONTAINER_IN_MESSAGE:
        match = pattern.match(message)
        if match:
            return match.group("c")
    return ""


def _kind_and_name(obj: str) -> tuple[str, str]:
    kind, _, name = obj.partition("/")
    if not name:
        return (_KINDS.get(kind.lower(), kind), "")
    return (_KINDS.get(kind.lower(), kind), name)


@dataclass(slots=True)
class _Row:
    """A row being read; wrapped continuation lines still to come."""

    fields: dict[str, str]
    lines: list[str]

    def extend(self, line: str) -> None:
        self.lines.append(line)
        message = self.fields.get("message") or ""
        self.fields["message"] = f"{message} {line.strip()}".strip()


def _rows(lines: Sequence[str], *patterns: re.Pattern[str]) -> list[_Row]:
    rows: list[_Row] = []
    for line in lines:
        if not line.strip() or _DASHES.match(line):
            continue
        match = next((m for m in (p.match(line) for p in patterns) if m), None)
        if match:
            fields = {k: v for k, v in match.groupdict().items() if v is not None}
            rows.append(_Row(fields, [line]))
        elif rows:
            rows[-1].extend(line)
    return rows


# Reasons as kubectl before 1.3 printed them, and the type today's kubectl would show beside them.
_OLD_REASONS = {
    r.lower(): r
    for r in (
        "BackOff",
        "Unhealthy",
        "Killing",
        "Failed",
        "FailedSync",
        "FailedScheduling",
        "FailedMount",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "Scheduled",
    )
}
_WARNINGS = frozenset({"BackOff", "Unhealthy", "Failed", "FailedSync", "FailedMount", "FailedScheduling"})


def normal_reason(reason: str) -> str:
    """A reason as today's kubectl prints it ("backoff" -> "BackOff")."""
    return _OLD_REASONS.get(reason, reason)


def reason_type(reason: str) -> str:
    """The type of an event whose row shows none: a failure is a Warning."""
    return "Warning" if reason in _WARNINGS or reason.startswith(("Failed", "Err")) else "Normal"


def source_text(text: str) -> str:
    """ "kubelet,node01" and the old "{kubelet node01}" read as today's "kubelet, node01"."""
    inner = text.strip().removeprefix("{").removesuffix("}").strip()
    if text.strip().startswith("{"):
        inner = re.sub(r"\s+", ", ", inner)
    return re.sub(r",\s*", ", ", inner)


def _when(text: str) -> tuple[int | None, datetime | None]:
    """An age in seconds, or an absolute time as kubectl 1.0 printed it."""
    moment = parse_kube_time(text) if "," in text else None
    return (None, moment) if moment is not None else (parse_age(text), None)


def _event(row: _Row, *, namespace: str, kind: str, name: str, field_path: str) -> PastedEvent:
    fields = row.fields
    first_at = last_at = None
    if "interval" in fields:
        last, count, first = parse_interval(fields["interval"])
    else:
        (last, last_at), count, first = _when(fields.get("last", "")), 1, None
    if "count" in fields:
        count = int(fields["count"])
    if "first" in fields:
        first, first_at = _when(fields["first"])
    message = fields.get("message", "").strip()
    reason = normal_reason(fields["reason"])
    return PastedEvent(
        event=Event(
            namespace=namespace,
            name=fields.get("name", ""),
            type=fields.get("type") or reason_type(reason),
            reason=reason,
            message=message,
            involved_kind=kind,
            involved_name=name,
            field_path=field_path or _field_path(message),
            count=max(count, 1),
            first_seen=first_at,
            last_seen=last_at,
            source=source_text(fields.get("source", "")),
        ),
        last_age=last,
        first_age=first if first is not None else last,
        line=" ".join(part.strip() if i else part for i, part in enumerate(row.lines)),
    )


def _field_path(message: str) -> str:
    container = container_in_message(message)
    return f"spec.containers{{{container}}}" if container else ""


def parse_describe_events(lines: Sequence[str], *, namespace: str = "", pod: str = "") -> list[PastedEvent]:
    """The rows of describe's Events table (header and dashes may or may not be among `lines`)."""
    body = [line for line in lines if not (DESCRIBE_HEADER.match(line) or OLD_DESCRIBE_HEADER.match(line))]
    return [
        _event(row, namespace=namespace, kind="Pod", name=pod, field_path=row.fields.get("subobject", ""))
        for row in _rows(body, DESCRIBE_ROW, OLD_DESCRIBE_ROW)
    ]


def parse_event_table(lines: Sequence[str]) -> list[PastedEvent]:
    """`kubectl get events` (any form) or `kubectl events`; the header must be among `lines`."""
    for index, line in enumerate(lines):
        if DESCRIBE_HEADER.match(line) or OLD_DESCRIBE_HEADER.match(line):
            return parse_describe_events(lines[index + 1 :])
        old = OLD_HEADER.match(line)
        if old:
            return _old_events(lines[index + 1 :], namespaced=bool(old.group("ns")))
        new = GET_HEADER.match(line)
        if new:
            wide = new.group("rest").startswith("SUBOBJECT")
            return _new_events(lines[index + 1 :], namespaced=bool(new.group("ns")), wide=wide)
    return []


def _new_events(lines: Sequence[str], *, namespaced: bool, wide: bool) -> list[PastedEvent]:
    pattern = re.compile("^" + (_NS if namespaced else "") + (_WIDE_ROW if wide else _GET_ROW))
    events: list[PastedEvent] = []
    for row in _rows(lines, pattern):
        kind, name = _kind_and_name(row.fields["object"])
        events.append(
            _event(
                row,
                namespace=row.fields.get("namespace", ""),
                kind=kind,
                name=name,
                field_path=row.fields.get("subobject", ""),
            )
        )
    return events


def _old_events(lines: Sequence[str], *, namespaced: bool) -> list[PastedEvent]:
    pattern = re.compile("^" + (_NS if namespaced else "") + _OLD_ROW)
    events: list[PastedEvent] = []
    for row in _rows(lines, pattern):
        kind = _KINDS.get(row.fields["kind"].lower(), row.fields["kind"])
        events.append(
            _event(
                row,
                namespace=row.fields.get("namespace", ""),
                kind=kind,
                name=_EVENT_SUFFIX.sub("", row.fields["name"]),
                field_path=row.fields.get("subobject", ""),
            )
        )
    return events
