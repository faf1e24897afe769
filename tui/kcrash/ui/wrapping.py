"""Text that wraps with a hanging indent: continuation rows start under the value, not the label.

Textual folds a long line back to column 0 and may cut a word where the row ends. Here a line
breaks only at spaces, so a UID, a node name or an image stays whole; only a token longer than a
row is cut. A `Block` is a Textual Visual: it wraps to whatever width the widget has, so a resize
re-wraps without the sections being built again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, get_character_cell_size
from textual.content import Content, Span
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual


class Hang:
    """Marks, among the parts of a line, where its continuation rows start."""


HANG = Hang()
Part = str | tuple[str, str] | Hang
GLUE = "\u00a0"
"""A space no row may end at (label and value in running text); drawn as a plain space."""
LOG_INDENT = 2
"""Continuation rows of a log line, indented so that they do not read as lines of their own."""


@dataclass(frozen=True, slots=True)
class Line:
    """One logical line; `hang` is the character offset where the value starts (0: none)."""

    content: Content
    hang: int = 0
    indent: int | None = None  # cells; None: the width of the text before `hang`

    @property
    def hang_cells(self) -> int:
        if self.indent is not None:
            return self.indent
        return cell_len(self.content.plain[: self.hang])


def _unglued(content: Content) -> Content:
    if GLUE not in content.plain:
        return content
    return Content(content.plain.replace(GLUE, " "), list(content.spans))


def _fit(text: str, start: int, room: int) -> int:
    """The end of the longest run from `start` that fits in `room` cells (at least one character)."""
    used = 0
    for index in range(start, len(text)):
        used += get_character_cell_size(text[index])
        if used > room:
            return max(index, start + 1)
    return len(text)


def _break(text: str, start: int, end: int, label_end: int, room_after: int) -> int:
    """Where a row that must end by `end` breaks: at the last space before it, else cut.

    On the first row, spaces inside the label do not count unless the value's first token would
    fit on a continuation row (then the label stands alone and the token moves down whole).
    """
    space = text.rfind(" ", max(start + 1, label_end), end + 1)
    if space > start:
        return space
    if label_end > start:
        token = text[label_end:].lstrip(" ").split(" ", 1)[0]
        if cell_len(token) <= room_after:
            return label_end
    return _soft_cut(text, start, end)


def _soft_cut(text: str, start: int, end: int) -> int:
    """Where to cut a token longer than a row: before a "(" or after a "," past its first quarter
    (so "pod=web_shop(UID)" keeps the UID whole), else where the row ends."""
    half = start + (end - start) // 4
    before = text.rfind("(", half, end)
    after = text.rfind(",", half, end - 1)
    best = max(before, after + 1 if after >= 0 else -1)
    return best if best > half else end


def wrap_line(line: Line, width: int) -> list[Content]:
    """The rows of one line at `width` cells."""
    content = line.content
    if width <= 0 or content.cell_length <= width:
        return [content]
    text = content.plain
    indent = min(line.hang_cells, width // 2)
    room_after = width - indent
    pad = Content(" " * indent)
    rows: list[Content] = []
    start, room, label_end = 0, width, line.hang
    while start < len(text):
        end = _fit(text, start, room)
        cut = len(text) if end >= len(text) else _break(text, start, end, label_end, room_after)
        row = content[start:cut].rstrip(" ")
        rows.append(row if not rows else pad + row)
        start, room, label_end = cut, room_after, 0
        while start < len(text) and text[start] == " ":
            start += 1
    return rows or [content]


class Block(Visual):
    """Lines that wrap with a hanging indent at the width they are drawn at."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = tuple(lines)
        self._wrapped: tuple[int, Content] | None = None

    @classmethod
    def of(cls, parts: Iterable[Part]) -> Block:
        """A block from styled parts: "\\n" ends a line, HANG marks where its value starts."""
        pieces: list[str | tuple[str, str]] = []
        hangs: list[int] = []
        offset = 0
        for part in parts:
            if isinstance(part, Hang):
                hangs.append(offset)
                continue
            pieces.append(part)
            offset += len(part if isinstance(part, str) else part[0])
        content = Content.assemble(*pieces).rstrip("\n")
        lines: list[Line] = []
        start = 0
        for row in content.split("\n"):
            stop = start + len(row.plain)
            hang = next((h - start for h in hangs if start <= h <= stop), 0)
            lines.append(Line(row, hang))
            start = stop + 1
        return cls(lines)

    @classmethod
    def plain_text(cls, content: Content) -> Block:
        """Content whose lines have no label: they wrap at spaces without an indent."""
        return cls([Line(row) for row in content.split("\n")])

    @property
    def content(self) -> Content:
        """The lines unwrapped, as one Content."""
        return _unglued(Content("\n").join(line.content for line in self.lines))

    @property
    def plain(self) -> str:
        return self.content.plain

    @property
    def spans(self) -> Sequence[Span]:
        return self.content.spans

    def __str__(self) -> str:
        return self.plain

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block) or len(other.lines) != len(self.lines):
            return NotImplemented if not isinstance(other, Block) else False
        return all(
            a.hang == b.hang and a.indent == b.indent and a.content.is_same(b.content)
            for a, b in zip(self.lines, other.lines, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def wrap(self, width: int) -> Content:
        """The block as rows of at most `width` cells."""
        if self._wrapped is not None and self._wrapped[0] == width:
            return self._wrapped[1]
        rows = [_unglued(row) for line in self.lines for row in wrap_line(line, width)]
        wrapped = Content("\n").join(rows)
        self._wrapped = (width, wrapped)
        return wrapped

    # ---- Visual ----------------------------------------------------------------------------

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self.wrap(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return max((line.content.cell_length for line in self.lines), default=0)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.wrap(width).get_height(rules, width)
