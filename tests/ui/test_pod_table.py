"""PodTable: only changed rows repaint, the cursor stays on its pod, and it holds 20,000 rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from textual.app import App, ComposeResult

from kcrash.ui.clock import FrozenClock
from kcrash.ui.widgets.pod_table import Cell, Column, PodTable

NOW = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)
COLUMNS = [
    Column("name", "NAME", 20, min_width=10, flex=True),
    Column("state", "STATE", 10, priority=1),
    Column("tick", "TICK", 6, priority=2, ticking=True),
]


@dataclass(frozen=True)
class Row:
    """A table row as plain data (what the pods screen gives the table, minus the pod)."""

    key: str
    rank: int = 0
    state: str = "ok"

    def cell(self, column: str, now: datetime) -> Cell:
        if column == "name":
            return Cell(self.key)
        if column == "state":
            return Cell(self.state, "error" if self.rank else "normal")
        return Cell(str(int(now.timestamp()) % 100))


def by_rank(row: Any) -> tuple[int, str]:
    return (-row.rank, row.key)


class TableApp(App[None]):
    def __init__(self, clock: FrozenClock) -> None:
        super().__init__()
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield PodTable(COLUMNS, clock=self.clock, id="t")


def rows(n: int) -> list[Row]:
    return [Row(f"pod-{i:05d}") for i in range(n)]


async def test_changed_row_repaints_alone_and_reorder_keeps_the_cursor() -> None:
    app = TableApp(FrozenClock(NOW))
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(PodTable)
        table.set_order(by_rank)
        table.apply(rows(50))
        table.focus()
        await pilot.press("down", "down", "down")
        assert table.cursor_key == "pod-00003"
        screen_offset = table.cursor_row - round(table.scroll_y)

        # A change that keeps the order repaints that row only.
        table.apply([Row("pod-00004", state="changed")])
        assert table.last_refresh_regions == 1
        # A change off screen repaints nothing.
        table.apply([Row("pod-00040", state="changed")])
        assert table.last_refresh_regions == 0

        # A pod that turns bad jumps to the top; the cursor stays on its pod and screen line.
        table.apply([Row("pod-00030", rank=1)])
        await pilot.pause()
        assert table.visible_keys[0] == "pod-00030"
        assert table.cursor_key == "pod-00003"
        assert table.cursor_row - round(table.scroll_y) == screen_offset

        # Removing the highlighted pod moves the cursor to its neighbour, not to the top.
        table.apply([], removed=["pod-00003"])
        assert table.cursor_key == "pod-00004"


async def test_moves_off_screen_repaint_nothing_on_it() -> None:
    app = TableApp(FrozenClock(NOW))
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(PodTable)
        table.set_order(by_rank)
        table.apply(rows(50))
        await pilot.pause()
        table.focus()
        table.move_to("pod-00025")
        await pilot.pause()
        on_screen = table.keys_on_screen()
        assert "pod-00025" in on_screen and "pod-00000" not in on_screen

        # Moves, additions and deletions above or below the view: the same rows stay on screen,
        # so no line is repainted (with 20,000 pods nearly every change is of this kind).
        for upserts, removed in (
            ([Row("pod-00002", rank=1)], []),  # jumps to the top, above the view
            ([Row("pod-00049", rank=1)], []),  # from below the view to above it
            ([Row("pod-00060")], []),  # a new pod below the view
            ([], ["pod-00001", "pod-00048"]),  # deleted above and below
        ):
            table.apply(upserts, removed)
            await pilot.pause()
            assert table.keys_on_screen() == on_screen
            assert table.last_refresh_regions == 0

        # A row moving into the view changes what is on screen: then it is all repainted.
        table.apply([Row(f"{on_screen[3]}a")])
        assert table.last_refresh_regions == -1
        assert f"{on_screen[3]}a" in table.keys_on_screen()


async def test_filter_and_empty_text() -> None:
    app = TableApp(FrozenClock(NOW))
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(PodTable)
        table.apply(rows(10))
        table.set_filter(lambda r: r.key.endswith("7"))
        assert table.visible_keys == ["pod-00007"]
        table.empty_text = "Nothing here."
        table.set_filter(lambda r: False)
        await pilot.pause()
        assert table.row_count == 0 and table.cursor_key is None
        assert "Nothing here." in str(table.render_line(1).text)


async def test_tick_repaints_only_changed_time_cells() -> None:
    clock = FrozenClock(NOW)
    app = TableApp(clock)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(PodTable)
        table.apply(rows(30))
        await pilot.pause()
        assert table.tick() == 0  # nothing changed: nothing repaints
        clock.advance(1)
        assert table.tick() == 11  # every visible row's TICK cell, nothing else


async def test_twenty_thousand_rows() -> None:
    app = TableApp(FrozenClock(NOW))
    async with app.run_test(size=(100, 40)) as pilot:
        table = app.query_one(PodTable)
        table.set_order(by_rank)
        started = time.perf_counter()
        table.apply(rows(20_000))
        await pilot.pause()
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, 20_000, 100):
            table.apply([Row(f"pod-{i:05d}", state="x")])
        table.apply([Row("pod-19999", rank=1)], removed=["pod-00001"])
        await pilot.pause()
        updated = time.perf_counter() - started
        assert table.row_count == 19_999
        assert table.visible_keys[0] == "pod-19999"
        assert loaded < 2.0, loaded
        assert updated < 2.0, updated
