"""Partial screen updates that write only what changed.

Textual (8.x) writes a partial update from the left edge of each widget a dirty span touches:
refreshing the countdown near the right end of a table row rewrites the row's first hundred
cells too. With a screen of crash-looping pods every row has a countdown and a "(12s ago)"
ticking each second, and that made an idle console write ~75 KB/s instead of ~10 KB/s.

`install()` replaces `ChopsUpdate.render_segments` with one that starts each write at the last
segment boundary at or before the dirty span: the cells skipped were not dirty, so the terminal
already shows them, and no character is ever cut in two (segments end on whole cells). Everything
else is as Textual does it. If Textual's update class no longer looks as expected, nothing is
replaced.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from textual import _compositor
from textual.strip import Strip

_EXPECTED = ("chops", "spans", "chop_ends")


def segment_start(strip: Strip, offset: int) -> int:
    """Where the segment holding cell `offset` of `strip` starts (the strip's end if none does)."""
    position = 0
    for segment in strip:
        width = cell_len(segment.text)
        if position + width > offset:
            return position
        position += width
    return position


def render_dirty_spans(update: Any, console: Console) -> str:
    """`ChopsUpdate.render_segments`, each write starting at its dirty span, not its widget's edge."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops, chop_ends, spans = update.chops, update.chop_ends, update.spans
    last_y = spans[-1][0]
    for y, x1, x2 in spans:
        for end, (x, strip) in zip(chop_ends[y], chops[y].items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            skip = segment_start(strip, x1 - x) if x < x1 else 0
            strip = strip.crop(skip, min(end, x2) - x)
            append(move_to(x + skip, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> bool:
    """Use `render_dirty_spans` for Textual's partial updates; False when Textual's differs."""
    update_class = getattr(_compositor, "ChopsUpdate", None)
    init = getattr(update_class, "__init__", None)
    names = getattr(getattr(init, "__code__", None), "co_varnames", ())
    if update_class is None or not all(name in names for name in _EXPECTED):
        return False

    def render_segments(self: Any, console: Console) -> str:
        return render_dirty_spans(self, console)

    update_class.render_segments = render_segments
    return True
