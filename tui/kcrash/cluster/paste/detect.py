"""What kind of kubectl output a paste is, and where one output ends and the next begins.

A ticket or a chat thread often holds several outputs one after another, each under the prompt
line that produced it ("$ kubectl get pods", "$ kubectl logs web-1 --previous"). A paste is split at
those lines; each part is detected on its own, its command line helping (a `logs` command makes the
part logs whatever it looks like).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kcrash.cluster.paste import events, table
from kcrash.cluster.paste.model import PasteKind
from kcrash.cluster.paste.objects import sniff_objects
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
    # YAML objects as detection loaded them, so that a big list is not loaded twice.
    docs: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)


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
    return _detect(lines)[0]


def _detect(lines: Sequence[str]) -> tuple[PasteKind, list[Any] | None]:
    """The kind of the lines, with the documents when telling it took loading them."""
    if not any(line.strip() for line in lines):
        return "unknown", None
    objects, docs = sniff_objects(lines)  # blank lines kept: they belong to block scalars
    if objects:
        return "objects", docs
    return _text_kind([line for line in lines if line.strip()]), None


def _text_kind(body: Sequence[str]) -> PasteKind:
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


def _is_table_header(line: str) -> bool:
    return bool(table.HEADER.match(line) or events.GET_HEADER.match(line) or events.OLD_HEADER.match(line))


@dataclass(slots=True)
class _Chunk:
    """The output being collected: its command line, its lines, whether a table began in it."""

    command: Command | None = None
    lines: list[str] = field(default_factory=list)
    has_text: bool = False
    has_table: bool = False

    def starts_next(self, line: str) -> bool:
        """A table header, or a describe's `Name:`/`Events:` after a table: a new output, no prompt."""
        if not self.has_text:
            return False
        if _is_table_header(line):
            return True
        return self.has_table and (line.startswith("Name:") or line.rstrip() == "Events:")

    def add(self, line: str, *, header: bool = False) -> None:
        self.lines.append(line)
        self.has_text = self.has_text or bool(line.strip())
        self.has_table = self.has_table or header

    def extend(self, lines: Sequence[str]) -> None:
        """Lines that are no command and open no output."""
        self.lines.extend(lines)
        self.has_text = self.has_text or any(line.strip() for line in lines)

    def part(self) -> Part | None:
        if not self.lines and self.command is None:
            return None
        kind = _kind_of_command(self.command)
        detected, docs = _detect(self.lines)
        if kind is None or (kind == "objects" and detected != "objects"):
            kind = detected
        loaded = tuple(docs) if docs is not None and kind == "objects" else None
        return Part(kind=kind, lines=tuple(self.lines), command=self.command, docs=loaded)


# A line that may be a command line or open an output: one holding a kubectl word, or starting with
# a table header (NAME, NAMESPACE, LAST SEEN), `Name:` or `Events:`. Found by searching the whole
# text, so that only those lines are read one by one: a 2,000-pod JSON list is 400,000 lines.
_TOOL_WORD = re.compile(r"(?:kubectl|kubecolor|oc|k)\s")
_MARGIN_WORD = re.compile(r"\n[NLE]")


def _maybe_boundaries(lines: Sequence[str]) -> list[int]:
    """Indexes of the lines that may be a command or a new output's first line, in order."""
    if not lines:
        return []
    text = "\n".join(lines)
    margin = (match.start() + 1 for match in _MARGIN_WORD.finditer(text))
    positions = sorted([0, *margin, *(match.start() for match in _TOOL_WORD.finditer(text))])
    found: list[int] = []
    line, counted = 0, 0
    for position in positions:
        line += text.count("\n", counted, position)
        counted = position
        if not found or found[-1] != line:
            found.append(line)
    return found


def split(text: str) -> list[Part]:
    """The outputs in a paste, in order, each detected."""
    chunks = [_Chunk()]
    lines = prepare(text)
    done = 0
    for index in _maybe_boundaries(lines):
        chunks[-1].extend(lines[done:index])
        done = index + 1
        line = lines[index]
        command = parse_command(line)
        if command is not None:
            chunks.append(_Chunk(command=command))
            continue
        if chunks[-1].starts_next(line):
            chunks.append(_Chunk())
        chunks[-1].add(line, header=_is_table_header(line))
    chunks[-1].extend(lines[done:])
    parts = [part for part in (chunk.part() for chunk in chunks) if part is not None]
    return [part for part in parts if part.lines or (part.command and part.command.verb == "logs")]


def detect(text: str) -> PasteKind:
    """The kind of a paste; for a paste of several outputs, the kind of the first one known."""
    kinds = [part.kind for part in split(text)]
    return next((kind for kind in kinds if kind != "unknown"), "unknown")
