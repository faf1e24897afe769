"""What a program wrote to its terminal (a `pipe-pane` capture), told apart: changes versus rewrites.

Textual draws by moving the cursor (`ESC [ row ; col H`) and writing styled text. Replaying those
writes onto a copy of the screen as it was when the capture began says, for every write, whether
it changed what a person sees or put the same characters back (a redundant rewrite). Other cursor
movements are rare in Textual's output and are ignored, so this is an estimate, not an emulator.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
ESCAPE = re.compile(r"\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
FRAME = b"\x1b[?2026h"
"""Textual wraps each frame in synchronized-output markers (DEC mode 2026)."""


@dataclass(frozen=True, slots=True)
class OutputSummary:
    seconds: float
    bytes: int
    frames: int
    writes: int  # cursor-addressed writes
    changed_chars: int  # characters whose value differs from what was on screen
    redundant_writes: int  # writes that put back exactly what was there
    redundant_bytes: int
    rows_touched: int  # distinct screen rows written to
    writes_from_left: int  # writes that start at the first column (whole-row repaints)

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        fields = {k: float(v) for k, v in asdict(self).items()}
        fields["bytes_per_second"] = self.bytes_per_second
        fields["redundant_share"] = self.redundant_bytes / self.bytes if self.bytes else 0.0
        fields["bytes_per_changed_char"] = self.bytes / self.changed_chars if self.changed_chars else 0.0
        return fields


def summarize(data: bytes, seconds: float, screen: str, width: int) -> OutputSummary:
    """Replay `data` onto `screen` (the capture-pane text when the capture began)."""
    grid = [list(line.ljust(width)[:width]) for line in screen.splitlines()]
    moves = list(MOVE.finditer(data))
    writes = redundant_writes = redundant_bytes = changed = from_left = 0
    rows: set[int] = set()
    for index, move in enumerate(moves):
        end = moves[index + 1].start() if index + 1 < len(moves) else len(data)
        chunk = data[move.end() : end]
        text = ESCAPE.sub("", chunk.decode("utf-8", "replace")).replace("\r", "").replace("\n", "")
        if not text:
            continue
        row, col = int(move[1]) - 1, int(move[2]) - 1
        while len(grid) <= row:
            grid.append([" "] * width)
        line = grid[row]
        before = "".join(line[col : col + len(text)])
        writes += 1
        from_left += col == 0
        rows.add(row)
        if before == text[: len(before)] and len(before) == min(len(text), width - col):
            redundant_writes += 1
            redundant_bytes += len(chunk) + len(move[0])
            continue
        changed += sum(1 for a, b in zip(before, text, strict=False) if a != b)
        line[col : col + len(text)] = list(text)[: max(0, width - col)]
    return OutputSummary(
        seconds=seconds,
        bytes=len(data),
        frames=data.count(FRAME),
        writes=writes,
        changed_chars=changed,
        redundant_writes=redundant_writes,
        redundant_bytes=redundant_bytes,
        rows_touched=len(rows),
        writes_from_left=from_left,
    )
