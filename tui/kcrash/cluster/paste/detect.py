"""What kind of kubectl output a paste is, and where one output ends and the next begins.

A ticket or a chat thread often holds several outputs one after another, each under the prompt
line that produced it ("$ kubectl get pods", "$ kubectl logs web-1 --previous"). A paste is split at
those lines; each part is detected on its own, its command line helping (a `logs` command makes the
part logs whatever it looks like).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcrash.cluster.paste import events, table
from kcrash.cluster.paste.model import PasteKind
from kcrash.cluster.paste.objects import looks_like_objects
from kcrash.cluster.paste.text import Command, parse_command, prepare

_DESCRIBE_LABELS = re.compile(
    r"^\s*(Namespace|Node|Start Time|Controlled By|QoS Class|Container ID|Image ID|Restart Count|"
    r"Last State|Init Containers|Containers|Conditions|Service Account|Priority):(?:\s|$)"
)
_LOG_HINTS = re.compile(
    r"^\s*(?:\d{4}-\d\d-\d\dT\d\d:\d\d|\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d|[IWEF]\d{4} \d\d:\d\d|"
    r"\{\s*\"|(?:\[\s*)?(?:INFO|WARN|WARNING|ERROR|DEBUG|FATAL|CRITICAL|TRACE|PANIC)\b|"
    r"Traceback \(most recent call last\)|panic:|Exception in thread|\s+at [\w$.]+\(|"
    r"Error:|error:|Caused by:|goroutine \d+|npm ERR!|node:internal|level=|time=\"?\d)"
)
_KUBECTL_LOG_LINES = re.compile(
    r'^(?:Defaulted container "|unable to retrieve container logs for |Error from server \(BadRequest\): '
    r'(?:previous terminated container|container "|a container name))'
)


@dataclass(frozen=True, slots=True)
class Part:
    """One output in a paste, with the command line above it when there was one."""

    kind: PasteKind
    lines: tuple[str, ...]
    command: Command | None = None


def _kind_of_command(command: Command | None) -> PasteKind | None:
    if command is None:
        return None
    if command.verb == "logs":
        return "logs"
    if command.verb == "events":
        return "events"
    if command.output in ("yaml", "json"):
        return "objects"
    if command.verb == "describe":
        return "describe"
    return None


def detect_lines(lines: Sequence[str]) -> PasteKind:
    """The kind of one output's lines (no command line among them)."""
    body = [line for line in lines if line.strip()]
    if not body:
        return "unknown"
    if looks_like_objects(body):
        return "objects"
    head = body[:400]
    if (
        any(line.startswith("Name:") for line in head[:3])
        or sum(1 for line in head if _DESCRIBE_LABELS.match(line)) >= 2
    ):
        return "describe"
    if any(table.HEADER.match(line) for line in head):
        return "get-pods"
    if any(
        events.GET_HEADER.match(line) or events.OLD_HEADER.match(line) or events.DESCRIBE_HEADER.match(line)
        for line in head
    ):
        return "events"
    if any(_KUBECTL_LOG_LINES.match(line.strip()) or _LOG_HINTS.match(line) for line in head):
        return "logs"
    return "unknown"


def _starts_output(line: str, chunk: Sequence[str]) -> bool:
    """A table header, or a describe's `Name:` after a table: a new output without a prompt line."""
    if not any(previous.strip() for previous in chunk):
        return False
    if table.HEADER.match(line) or events.GET_HEADER.match(line) or events.OLD_HEADER.match(line):
        return True
    after_table = any(table.HEADER.match(previous) or events.GET_HEADER.match(previous) for previous in chunk)
    return after_table and (line.startswith("Name:") or line.rstrip() == "Events:")


def split(text: str) -> list[Part]:
    """The outputs in a paste, in order, each detected."""
    parts: list[Part] = []
    command: Command | None = None
    chunk: list[str] = []

    def close() -> None:
        if chunk or command is not None:
            kind = _kind_of_command(command)
            detected = detect_lines(chunk)
            if kind is None or (kind == "objects" and detected != "objects"):
                kind = detected
            parts.append(Part(kind=kind, lines=tuple(chunk), command=command))

    for line in prepare(text):
        found = parse_command(line)
        if found is None and _starts_output(line, chunk):
            close()
            command, chunk = None, []
        if found is None:
            chunk.append(line)
            continue
        close()
        command, chunk = found, []
    close()
    return [part for part in parts if part.lines or (part.command and part.command.verb == "logs")]


def detect(text: str) -> PasteKind:
    """The kind of a paste; for a paste of several outputs, the kind of the first one known."""
    kinds = [part.kind for part in split(text)]
    return next((kind for kind in kinds if kind != "unknown"), "unknown")
