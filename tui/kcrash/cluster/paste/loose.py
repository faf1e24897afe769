"""Event lines pasted without their table: copied out of describe's Events, `kubectl get events`,
`kubectl describe node`, or typed into a chat message.

A line is read as the fullest row it is: describe's (today's or the one before kubectl 1.8),
`get events`' (today's or the old one), then `Type Reason ... Message` with columns left out or
elided (`...`), and last a message kcrash knows wherever it starts in the line ("Back-off
restarting failed container", "Liveness probe failed: ...", "0/3 nodes are available: ...").
A known message gives its reason when the line shows none. A line that is no row continues the
row above it (chat text re-wraps long messages); a blank line ends that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kcrash.cluster.paste.consoles import is_console_line
from kcrash.cluster.paste.events import (
    DESCRIBE_ROW,
    OLD_DESCRIBE_ROW,
    container_in_message,
    normal_reason,
    parse_event_table,
    reason_type,
    source_text,
)
from kcrash.cluster.paste.journal import journal_events
from kcrash.cluster.paste.model import PastedEvent
from kcrash.cluster.paste.named import pod_in_message
from kcrash.cluster.paste.text import parse_interval
from kcrash.core.records import Event

# What a message says of its reason, for a line that shows only the message: (start, type, reason).
_KNOWN: tuple[tuple[str, str, str], ...] = (
    (r"Back-off restarting failed(?: (?:docker )?container)?\b", "Warning", "BackOff"),
    (r"Back-off pulling image", "Normal", "BackOff"),
    (r"(?:Liveness|Readiness|Startup) probe (?:failed|errored)", "Warning", "Unhealthy"),
    (r"Container \S+ failed (?:liveness|startup) probe", "Normal", "Killing"),
    (r"(?:Stopping container \S+|Killing container with id )", "Normal", "Killing"),
    (r"System OOM encountered", "Warning", "SystemOOM"),
    (r"(?:Memory cgroup out of memory|Out of memory): Kill(?:ed)? process", "Warning", "OOMKilling"),
    (r"\d+/\d+ nodes are available", "Warning", "FailedScheduling"),
    (r"MountVolume\.\w+ failed for volume", "Warning", "FailedMount"),
    (
        r"(?:Multi-Attach error for volume|AttachVolume\.Attach failed for volume)",
        "Warning",
        "FailedAttachVolume",
    ),
    # The kubelet's eviction messages (eviction_manager / helpers.go), the pod's status message too.
    (r"The node (?:was low on resource: [\w.-]+|had condition: \[)", "Warning", "Evicted"),
    (r"Pod ephemeral local storage usage exceeds the total limit", "Warning", "Evicted"),
    (r"Container \S+ exceeded its local ephemeral storage limit", "Warning", "Evicted"),
    (r"Usage of EmptyDir volume \"[^\"]+\" exceeds the limit", "Warning", "Evicted"),
    (r"Unable to (?:attach or )?mount volumes", "Warning", "FailedMount"),
    (r"Failed to pull image", "Warning", "Failed"),
    (r"Error: (?:ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName)\b", "Warning", "Failed"),
    (r"Error: (?:secret|configmap|config map) \"[^\"]+\" not found", "Warning", "Failed"),
    (r"Error: couldn't find key \S+ in (?:Secret|ConfigMap)", "Warning", "Failed"),
    (r"Error syncing pod", "Warning", "FailedSync"),
    # The kubelet's eviction messages (node pressure, then the pod's own ephemeral-storage limits).
    (r"The node (?:was low on resource|had condition): ", "Warning", "Evicted"),
    (r"Pod ephemeral local storage usage exceeds the total limit", "Warning", "Evicted"),
    (r"Container \S+ exceeded its local ephemeral storage limit", "Warning", "Evicted"),
    (r"Usage of EmptyDir volume \S+ exceeds the limit", "Warning", "Evicted"),
    (r"Multi-Attach error for volume", "Warning", "FailedAttachVolume"),
    (r"AttachVolume\.Attach failed for volume", "Warning", "FailedAttachVolume"),
    (r"Error: failed to (?:prepare|create) subPath", "Warning", "Failed"),
    (r"Preempted by ", "Normal", "Preempted"),
)
_MESSAGE = re.compile("|".join(f"(?P<m{i}>{start})" for i, (start, _, _) in enumerate(_KNOWN)))
# What a message says of its reason where it opens a line after a time stamp (a console's events
# view, newest first): everyday messages, too common in logs to be read anywhere else in a line.
_PLAIN: tuple[tuple[str, str, str], ...] = (
    (r"Started container\b", "Normal", "Started"),
    (r"Created container\b", "Normal", "Created"),
    (r"(?:Successfully pulled image|Container image \S+ already present on machine)", "Normal", "Pulled"),
    (r"[Pp]ulling image\b", "Normal", "Pulling"),
    (r"Successfully assigned \S+ to ", "Normal", "Scheduled"),
    (r"Pod sandbox changed", "Normal", "SandboxChanged"),
    (r"Failed to create pod sandbox", "Warning", "FailedCreatePodSandBox"),
    (r"Add eth0 \[", "Normal", "AddedInterface"),
)
_PLAIN_MESSAGE = re.compile("|".join(f"(?P<m{i}>{start})" for i, (start, _, _) in enumerate(_PLAIN)))
# A time stamp opening an event line: "2023-04-20 23:35:13 Startup probe failed: ...".
_STAMPED = re.compile(
    r"^\s*(?P<when>\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"(?:\s+UTC)?\s+(?P<rest>\S.*)$"
)
# Where a message may start: the line's start, or after a space, a colon or a quote mark.
_BEFORE_MESSAGE = frozenset(" \t:>\"'`")

# `Type Reason rest`: the row with its middle columns left out or elided.
_TYPED = re.compile(r"^\s*(?P<type>Normal|Warning)\s+(?P<reason>[A-Z][A-Za-z]+)(?:\s+(?P<rest>.*))?$")
_REASONS = frozenset(reason for _, _, reason in _KNOWN) | {"Pulling", "Pulled", "Created", "Started"}
_UNTYPED = re.compile(r"^\s*(?P<reason>[A-Z][A-Za-z]+)\s+(?P<rest>.*)$")
# Columns before a message: ages, an interval, an elision, a source.
_LEADING = re.compile(
    r"^(?:<invalid>|<unknown>|\.{2,}|…|\d+(?:[ydhms]\d*)+[ydhms]?|\(x\d+\s+over\s+\S+\)|"
    r"\{[^}]*\}|kubelet,\s*\S+|kubelet|default-scheduler|kernel-monitor|node-controller|"
    r"attachdetach-controller|taint-controller)(?:\s+|$)"
)
_GET_ROW = re.compile(
    r"^\s*(?:(?P<namespace>[a-z0-9-]+)\s+)?(?P<interval>\S+(?:\s+\(x\d+\s+over\s+\S+\))?)\s+"
    r"(?P<type>Normal|Warning)\s+(?P<reason>[A-Z]\w+)\s+(?P<object>[A-Za-z]+/\S+)\s+(?P<message>.*)$"
)
# A chat line (a time stamp, a nick) after an event row starts talk, not the row's wrapped tail.
_CHAT = re.compile(r"^\s*(?:\[[^\]]*\]|<[^>]+>|@\w)")
# A markdown code fence: what follows is another quote, not the row's wrapped tail.
_FENCE = re.compile(r"^\s*(?:```|~~~)")


@dataclass(slots=True)
class _Loose:
    """A row read from one line; re-wrapped lines still to come."""

    type: str
    reason: str
    message: str
    lines: list[str]
    interval: str = ""
    source: str = ""
    field_path: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    count: int = 1
    seen: datetime | None = None  # the time stamp the line opens with
    extra: list[str] = field(default_factory=list)


def _known(text: str) -> re.Match[str] | None:
    """The first known message in `text` that starts where a message can."""
    for match in _MESSAGE.finditer(text):
        if match.start() == 0 or text[match.start() - 1] in _BEFORE_MESSAGE:
            return match
    return None


def _reason_of(match: re.Match[str]) -> tuple[str, str]:
    index = int(next(key for key, value in match.groupdict().items() if value is not None)[1:])
    return _KNOWN[index][1], _KNOWN[index][2]


_DATE = re.compile(r"^[A-Z][a-z]{2},\s+\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4}\s")


def _when_like(text: str) -> bool:
    """An old describe row's FirstSeen: an age ("6h") or, before 1.3, a date; not just any word
    (`redis.exceptions.ConnectionError: Error 111 connecting to ...` is a log line)."""
    return _age_like(text) or bool(_DATE.match(text))


def _age_like(text: str) -> bool:
    last, _, _ = parse_interval(text)
    return last is not None or text.strip() in ("<invalid>", "<unknown>", "...", "…")


def _strip_columns(rest: str) -> tuple[str, str]:
    """(columns before the message, the message) of what follows `Type Reason`."""
    done = 0
    while match := _LEADING.match(rest, done):
        done = match.end()
    message = rest[done:]
    known = _known(rest)
    if known is not None and known.start() > done and _known(message) is None:
        message = rest[known.start() :]  # a column kcrash does not know (a node's name) before it
    return rest[: len(rest) - len(message)].strip(), message.strip()


def _stamp(text: str) -> datetime | None:
    """A time stamp as UTC; one without a zone is taken as UTC (a console shows local time)."""
    try:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _plain(text: str) -> _Loose | None:
    """An everyday message opening `text` ("Started container web" is that message, not the
    reason Started before "container web")."""
    plain = _PLAIN_MESSAGE.match(text)
    if plain is None:
        return None
    index = int(next(key for key, value in plain.groupdict().items() if value is not None)[1:])
    return _Loose(_PLAIN[index][1], _PLAIN[index][2], text.strip(), [text])


def _stamped(line: str) -> _Loose | None:
    """A line opening with a time stamp: the event the rest shows, at that time."""
    match = _STAMPED.match(line)
    if match is None:
        return None
    rest = match["rest"]
    row = _plain(rest) or _row(rest)
    if row is None:
        return None
    row.lines, row.seen = [line], _stamp(match["when"])
    return row


def read_line(line: str) -> _Loose | None:
    """The event one line shows, or None when it shows none."""
    return _stamped(line) or _row(line)


def _row(line: str) -> _Loose | None:
    described = DESCRIBE_ROW.match(line)
    # Sources are lowercase ("kubelet", "kubelet, node01"): "Liveness" is a message's first word.
    if described and _age_like(described["interval"]) and described["source"][:1].islower():
        fields = (described["type"], described["reason"], described["message"])
        return _Loose(*fields, [line], described["interval"], described["source"])
    if (match := OLD_DESCRIBE_ROW.match(line)) and _when_like(match["first"]):
        return _Loose(
            match["type"] or "",
            match["reason"],
            match["message"],
            [line],
            match["last"] if _age_like(match["last"]) else "",
            source=match["source"],
            field_path=match["subobject"] or "",
            count=int(match["count"]),
        )
    if (match := _GET_ROW.match(line)) and _age_like(match["interval"]):
        kind, _, name = match["object"].partition("/")
        loose = _Loose(match["type"], match["reason"], match["message"], [line], match["interval"])
        loose.kind, loose.name, loose.namespace = kind.capitalize(), name, match["namespace"] or ""
        return loose
    typed = _TYPED.match(line)
    untyped = _UNTYPED.match(line)
    if not typed and untyped and untyped["reason"] in _REASONS and (plain := _plain(line.strip())):
        return plain
    if typed or (untyped and untyped["reason"] in _REASONS):
        found = typed or untyped
        assert found is not None
        columns, message = _strip_columns(found["rest"] or "")
        if message:
            kind = typed["type"] if typed else ""
            interval = columns.split("{")[0].strip() if columns else ""
            return _Loose(kind, found["reason"], message, [line], interval if _age_like(interval) else "")
    known = _known(line)
    if known is None:
        return None
    kind, reason = _reason_of(known)
    return _Loose(kind, reason, line[known.start() :].strip(), [line])


def is_event_line(line: str) -> bool:
    """Whether a line shows an event, with or without its table, or is the kubelet's reporting one."""
    return bool(journal_events(line)) or read_line(line) is not None


def _pasted(loose: _Loose) -> PastedEvent:
    message = " ".join([loose.message, *loose.extra]).strip()
    last, count, first = parse_interval(loose.interval) if loose.interval else (None, 1, None)
    named = pod_in_message(message) if not loose.name else None
    name = loose.name or (named.name if named else "")
    namespace = loose.namespace or (named.namespace if named else "")
    kind = loose.kind or ("Pod" if name else "")
    container = container_in_message(message) or (named.container if named else "")
    reason = normal_reason(loose.reason)
    return PastedEvent(
        event=Event(
            namespace=namespace,
            name="",
            type=loose.type or reason_type(reason),
            reason=reason,
            message=message,
            involved_kind=kind,
            involved_name=name if kind == "Pod" else "",
            field_path=loose.field_path or (f"spec.containers{{{container}}}" if container else ""),
            count=max(count, loose.count, 1),
            first_seen=loose.seen,
            last_seen=loose.seen,
            source=source_text(loose.source),
        ),
        last_age=last,
        first_age=first if first is not None else last,
        line=" ".join(part.strip() if i else part for i, part in enumerate(loose.lines)),
    )


@dataclass(frozen=True, slots=True)
class LooseEvents:
    """The events some lines show, and the lines that were no part of any (chat around them)."""

    events: tuple[PastedEvent, ...]
    unread: tuple[int, ...]  # indexes of the lines


def read_events(lines: Sequence[str]) -> LooseEvents:
    """Every event the lines show, a table with its header or lines without one."""
    table = parse_event_table(lines)
    if table:
        return LooseEvents(tuple(table), ())
    rows: list[_Loose] = []
    journal: list[PastedEvent] = []
    unread: list[int] = []
    joining = False
    for index, line in enumerate(lines):
        if not line.strip() or set(line.strip()) <= {"-", " "}:
            joining = False
            continue
        reported = journal_events(line)
        if reported:  # the kubelet's own line, reporting what an event would
            journal += reported
            joining = False
            continue
        row = read_line(line)
        if row is None and reported is not None:
            joining = False  # another of the kubelet's lines: nothing to read, nothing unread
        elif row is not None:
            rows.append(row)
            joining = True
        elif joining and not _CHAT.match(line) and not is_console_line(line) and not _FENCE.match(line):
            rows[-1].extra.append(line.strip())
            rows[-1].lines.append(line)
        else:
            joining = False
            unread.append(index)
    return LooseEvents((*(_pasted(row) for row in rows), *journal), tuple(unread))
