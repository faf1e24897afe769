"""Partial updates write from the dirty span, not from the left edge of the widget it is in."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.segment import Segment
from textual._compositor import ChopsUpdate
from textual.strip import Strip

from kcrash.ui.terminal_output import install, render_dirty_spans, segment_start

# A table row as PodTable draws it: a segment per cell and per padding space.
ROW = Strip(
    [Segment(" "), Segment("web-1     "), Segment(" "), Segment(" "), Segment("3 (12s ago)"), Segment(" ")]
)


@pytest.mark.parametrize(
    ("offset", "start"),
    [(0, 0), (1, 1), (5, 1), (11, 11), (12, 12), (13, 13), (20, 13), (24, 24), (99, 25)],
)
def test_segment_start(offset: int, start: int) -> None:
    assert segment_start(ROW, offset) == start


def update(spans: list[tuple[int, int, int]], strip: Strip = ROW) -> ChopsUpdate:
    """One line on the screen, one widget on it from column 0."""
    return ChopsUpdate([{0: strip}], spans, [[strip.cell_length]])


def written(update: ChopsUpdate) -> str:
    return render_dirty_spans(update, Console(width=40, force_terminal=True, color_system=None))


@pytest.mark.parametrize(
    ("span", "text"),
    [
        pytest.param((0, 13, 25), "\x1b[1;14H3 (12s ago) ", id="a-cell-at-the-end"),
        pytest.param((0, 15, 20), "\x1b[1;14H3 (12s ", id="inside-a-cell-from-its-start"),
        pytest.param((0, 0, 25), "\x1b[1;1H web-1       3 (12s ago) ", id="the-whole-line"),
        pytest.param((0, 1, 11), "\x1b[1;2Hweb-1     ", id="the-first-cell"),
    ],
)
def test_writes_start_at_the_dirty_cell(span: tuple[int, int, int], text: str) -> None:
    assert written(update([span])) == text


def test_a_wide_character_is_never_cut() -> None:
    wide = Strip([Segment("名前名前"), Segment(" x")])  # 8 cells, then 2
    assert written(update([(0, 3, 10)], wide)) == "\x1b[1;1H名前名前 x"


def test_installed_for_the_console() -> None:
    assert install()
    assert written(update([(0, 13, 25)])) == update([(0, 13, 25)]).render_segments(
        Console(width=40, force_terminal=True, color_system=None)
    )
