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
from kcrash.cluster.paste.consoles import is_console_line
from kcrash.cluster.paste.mixed import block_kind, blocks, looks_like_describe
from kcrash.cluster.paste.model import PasteKind
from kcrash.cluster.paste.objects import sniff_objects
from kcrash.cluster.paste.text import Command, is_action_line, parse_command, prepare, shell_command


@dataclass(frozen=True, slots=True)
class Part:
    """One output in a paste, with the command line above it when there was one."""

    kind: PasteKind
    lines: tuple[str, ...]
    command: Command | None = None
    # Read block by block (`mixed.read_pieces`): no header or whole form told the kind.
    pieces: bool = False
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


def _detect(lines: Sequence[str]) -> tuple[PasteKind, list[Any] | None, bool]:
    """The kind of the lines, the documents when telling it took loading them, and whether the
    kind is only that of the first block that shows one (the part is read block by block)."""
    if not any(line.strip() for line in lines):
        return "unknown", None, False
    objects, docs = sniff_objects(lines)  # blank lines kept: they belong to block scalars
    if objects:
        return "objects", docs, False
    body = [line for line in lines if line.strip()]
    kind = _text_kind(body)
    if kind == "describe" and not body[0].lstrip().startswith("Name:") and _has_talk(lines):
        kind = "unknown"  # describe lines inside a message: each block read by its form
    if kind != "unknown":
        return kind, None, False
    return _first_block_kind(lines), None, True


def _has_talk(lines: Sequence[str]) -> bool:
    """Blocks of a message around pasted output: some block is neither describe nor blank."""
    return any(block_kind(lines[start:end]) != "describe" for start, end in blocks(lines[:2000]))


def _text_kind(body: Sequence[str]) -> PasteKind:
    """A form a whole output shows: a describe, or a table under its header."""
    head = body[:400]
    if any(map(is_console_line, head)) and not head[0].startswith("Name:"):
        return "unknown"  # a console's page: read block by block (`paste.consoles`)
    if looks_like_describe(head):
        return "describe"
    if any(table.HEADER.match(line) for line in head):
        return "get-pods"
    if any(header.match(line) for line in head for header in events.HEADERS):
        return "events"
    return "unknown"


def _first_block_kind(lines: Sequence[str]) -> PasteKind:
    """The form of the first block that shows one; log lines only when no block shows another."""
    kinds = [block_kind(lines[start:end]) for start, end in blocks(lines[:2000])]
    known = [kind for kind in kinds if kind not in ("unknown", "logs")]
    return known[0] if known else ("logs" if "logs" in kinds else "unknown")


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

    def only_actions(self) -> bool:
        """What `kubectl apply` and the like print (`pod/web created`), under no read command."""
        body = [line for line in self.lines if line.strip()]
        return self.command is None and bool(body) and all(map(is_action_line, body))

    def part(self) -> Part | None:
        if not self.lines and self.command is None:
            return None
        kind = _kind_of_command(self.command)
        detected, docs, pieces = _detect(self.lines)
        if kind is None or (kind == "objects" and detected != "objects"):
            kind = detected
        else:
            pieces = False  # the command line tells the form
        loaded = tuple(docs) if docs is not None and kind == "objects" else None
        return Part(kind=kind, lines=tuple(self.lines), command=self.command, pieces=pieces, docs=loaded)


# A line that may be a command line or open an output: one holding a kubectl word, or starting with
# a table header (NAME, NAMESPACE, LAST SEEN), `Name:` or `Events:`. Found by searching the whole
# text, so that only those lines are read one by one: a 2,000-pod JSON list is 400,000 lines.
_TOOL_WORD = re.compile(r"(?:kubectl|kubecolor|oc|k)\s")
# ... or a shell prompt at the margin: "$ cat pod.yaml", "[root@node ~]# tail ...", "PS C:\\> type x".
_MARGIN_WORD = re.compile(r"\n(?:[NLE]|(?:\[[^\]\n]*\]|[^\s\[]*)[$#%❯➜»]\s|PS [^>\n]*>\s)")


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
        if shell_command(line) is not None:
            chunks.append(_Chunk())  # `$ cat pod.yaml`: what it printed, read without the line
            continue
        if chunks[-1].starts_next(line):
            chunks.append(_Chunk())
        chunks[-1].add(line, header=_is_table_header(line))
    chunks[-1].extend(lines[done:])
    parts = [
        part for part in (chunk.part() for chunk in chunks if not chunk.only_actions()) if part is not None
    ]
    return [part for part in parts if part.lines or (part.command and part.command.verb == "logs")]


def detect(text: str) -> PasteKind:
    """The kind of a paste; for a paste of several outputs, the kind of the first one known."""
    kinds = [part.kind for part in split(text)]
    return next((kind for kind in kinds if kind != "unknown"), "unknown")
