"""PodTable: a virtual table that renders only the rows on screen.

Textual's stock DataTable measured 5 s to load 20,000 rows and about 50 ms per removed row here,
so the pods list uses the Line API instead: rows live in a dict, their order in a list, and
`render_line` draws only the lines the compositor asks for.

Rows are objects with a `key` and a `cell(column, now)` method; cells are plain text with a tone
(never markup), so nothing a cluster writes can become a Textual action. A batch of row changes
touches only the changed lines unless the order or the filtered set moved; then the selected row
keeps its place on screen (the anchor) so neither the cursor nor the view jumps, and the table is
repainted only if other rows than those drawn are now on screen: with 20,000 pods most changes
happen off screen, and a repaint of every line for each wrote tens of kilobytes a second.

| Key | Action |
| :- | :- |
| up, k | Cursor up |
| down, j | Cursor down |
| pageup / pagedown | Page up / down |
| home, g / end, G | First / last row |
| enter | Select (open) the row |
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from msgspec import Struct
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kcrash.ui.clock import Clock, SystemClock

Tone = Literal["normal", "muted", "ok", "warning", "error", "crashloop", "oom"]
TONES: tuple[Tone, ...] = ("normal", "muted", "ok", "warning", "error", "crashloop", "oom")
_TONE_COMPONENTS: dict[str, str] = {tone: f"pod-table--{tone}" for tone in TONES}
RowKey = Hashable  # and orderable among themselves: ties in the sort key fall back to it


class Cell(Struct, frozen=True, gc=False):
    """One cell: plain text, a tone the theme colours, and a shorter form of the same facts to
    show before the text is cut (a name without its pod-template hash, "7 (4m ago)")."""

    text: str
    tone: Tone = "normal"
    short: str = ""


EMPTY = Cell("")


@dataclass(frozen=True, slots=True)
class Column:
    """A column, its widths, and how readily it gives way on a narrow terminal."""

    key: str
    title: str
    width: int
    min_width: int = 0
    priority: int = 0  # lower stays longer when space runs out
    align: Literal["left", "right"] = "left"
    flex: bool = False  # takes the space the others leave (NAME)
    ticking: bool = False  # its text changes with time alone (AGE, countdowns)
    optional: bool = False  # shown only when everything essential fits at its preferred width
    truncate: Literal["end", "middle"] = "end"


class TableRow(Protocol):
    @property
    def key(self) -> RowKey: ...

    def cell(self, column: str, now: datetime) -> Cell: ...


@dataclass(frozen=True, slots=True)
class _Placed:
    column: Column
    x: int
    width: int


def fit_text(text: str, width: int, how: Literal["end", "middle"] = "end") -> str:
    """Cut `text` to `width` cells with an ellipsis; middle cuts keep the distinguishing tail."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return "…"
    if how == "middle" and width >= 7:
        if "…" in text:  # already shortened around a mark ("api…xk2lp"): keep what follows it
            before, after = text.rsplit("…", 1)
            if cell_len(after) + 4 <= width:
                return set_cell_size(before, width - 1 - cell_len(after)) + "…" + after
        tail = (width - 1) // 2
        head = width - 1 - tail
        return set_cell_size(text, head) + "…" + text[-tail:]
    return set_cell_size(text, width - 1) + "…"


@dataclass(frozen=True, slots=True)
class _Line:
    """A drawn row's segments, with blanks where the ticking cells go (`PodTable._line`)."""

    row: TableRow  # the version drawn: rows are replaced, never changed, on an update
    style: Style
    segments: list[Segment]
    ticking: tuple[tuple[int, _Placed], ...]  # (segment index, column) of each ticking cell
    length: int


_BLANK = Segment("")

LINE_CACHE_ROWS = 512
"""Drawn rows kept for the next tick (a few screens' worth); past this the cache starts over."""

BULK_ROWS = 1000
"""A batch touching more rows than this (and a quarter of the table) is placed by one sort."""

COMFORTABLE_FLEX = 32
"""The width the flexible column gets before optional columns are shown."""

WIDE_ROOM = 10_000
"""The width a wide table is laid out in: every column fits at its preferred width, and the
flexible one stops growing at the longest name."""


def layout_columns(columns: Sequence[Column], width: int, flex_cap: int) -> list[_Placed]:
    """Choose the columns that fit `width` and their widths, then place them left to right.

    Each column is drawn with one space of padding on both sides. Essential columns are dropped,
    lowest priority first, only when the rest cannot fit even at their minimum widths (the
    flexible column is never dropped); spare space then brings the flexible column to a
    comfortable width and the others to their preferred widths. Optional columns appear only at
    their preferred width, in priority order, in the space left after that; whatever remains
    widens the flexible column up to `flex_cap`.
    """

    def least(column: Column) -> int:
        return column.min_width if (column.flex or 0 < column.min_width < column.width) else column.width

    chosen = [c for c in columns if not c.optional]
    for victim in sorted(chosen, key=lambda c: -c.priority):
        if sum(least(c) + 2 for c in chosen) <= width:
            break
        if not victim.flex and len(chosen) > 1:
            chosen.remove(victim)
    widths = {c.key: least(c) for c in chosen}
    spare = width - sum(w + 2 for w in widths.values())

    def grow(column: Column, target: int) -> None:
        nonlocal spare
        step = max(0, min(spare, target - widths[column.key]))
        widths[column.key] += step
        spare -= step

    flexible = [c for c in chosen if c.flex]
    for column in flexible:
        grow(column, min(max(flex_cap, column.min_width), COMFORTABLE_FLEX))
    for column in sorted((c for c in chosen if not c.flex), key=lambda c: c.priority):
        grow(column, column.width)
    if all(widths[c.key] >= c.width for c in chosen if not c.flex):
        for column in sorted((c for c in columns if c.optional), key=lambda c: c.priority):
            if spare >= column.width + 2:
                chosen.append(column)
                widths[column.key] = column.width
                spare -= column.width + 2
    for column in flexible:
        grow(column, max(flex_cap, column.min_width))
    order = {c.key: i for i, c in enumerate(columns)}
    placed: list[_Placed] = []
    x = 0
    for column in sorted(chosen, key=lambda c: order[c.key]):
        placed.append(_Placed(column, x, widths[column.key]))
        x += widths[column.key] + 2
    return placed


def _foreground(style: Style) -> Style:
    """A style's text colour and attributes, without its background."""
    return Style(
        color=style.color,
        bold=style.bold,
        dim=style.dim,
        italic=style.italic,
        underline=style.underline,
        reverse=style.reverse,
        strike=style.strike,
    )


class _SortedRows:
    """(sort key, row key) entries kept sorted; row keys make every entry unique and comparable."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Iterable[tuple[Any, RowKey]] = ()) -> None:
        self._entries: list[tuple[Any, RowKey]] = sorted(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def copy(self) -> _SortedRows:
        clone = _SortedRows()
        clone._entries = list(self._entries)
        return clone

    def add(self, entry: tuple[Any, RowKey]) -> None:
        insort(self._entries, entry)

    def discard(self, entry: tuple[Any, RowKey]) -> None:
        position = self.index(entry)
        if position is not None:
            del self._entries[position]

    def index(self, entry: tuple[Any, RowKey]) -> int | None:
        position = bisect_left(self._entries, entry)
        if position < len(self._entries) and self._entries[position] == entry:
            return position
        return None

    def key_at(self, position: int) -> RowKey:
        return self._entries[position][1]

    def keys(self) -> list[RowKey]:
        return [key for _, key in self._entries]


class PodTable(ScrollView, can_focus=True):
    """A virtual, keyboard-driven table of rows kept in a caller-defined order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Open"),
        Binding("left", "scroll_columns(-1)", "Left", show=False),
        Binding("right", "scroll_columns(1)", "Right", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pod-table--header",
        "pod-table--cursor",
        "pod-table--cursor-blurred",
        "pod-table--empty",
        *(f"pod-table--{tone}" for tone in TONES),
    }

    DEFAULT_CSS = """
    PodTable {
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        &.-stale { text-opacity: 55%; }
        & > .pod-table--header { color: $text-muted; text-style: bold; }
        & > .pod-table--cursor { background: $primary 35%; text-style: bold; }
        & > .pod-table--cursor-blurred { background: $primary 15%; }
        & > .pod-table--empty { color: $text-muted; }
        & > .pod-table--normal { }
        & > .pod-table--muted { color: $text-muted; }
        & > .pod-table--ok { color: $success; }
        & > .pod-table--warning { color: $warning; }
        & > .pod-table--error { color: $error; text-style: bold; }
        & > .pod-table--crashloop { color: $error; text-style: bold; }
        & > .pod-table--oom { color: $error; text-style: bold; }
    }
    """

    cursor_key: reactive[RowKey | None] = reactive(None, always_update=True, repaint=False)
    """The key of the highlighted row (None when the table is empty)."""

    class Highlighted(Message):
        """The cursor moved to another row."""

        def __init__(self, table: PodTable, key: RowKey | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> PodTable:
            return self.table

    class Selected(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: PodTable, key: RowKey) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> PodTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        clock: Clock | None = None,
        empty_text: str = "No pods.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: list[Column] = list(columns)
        self._clock: Clock = clock or SystemClock()
        self._rows: dict[RowKey, TableRow] = {}
        self._order = _SortedRows()  # every row, ascending by (sort key, row key)
        self._shown_rows = _SortedRows()  # the rows the filter keeps, same order
        self._sort_key: Callable[[Any], Any] = lambda row: str(row.key)
        self._reverse = False
        self._predicate: Callable[[Any], bool] | None = None
        self._placed: list[_Placed] = []
        self._flex_cap = 20
        self._cursor = 0
        self._shown: dict[tuple[RowKey, str], Cell] = {}
        self._painted: list[RowKey] | None = None  # the rows on screen when it was last painted whole
        self._style_cache: dict[tuple[str, Style | None], Style] = {}
        self._lines: dict[RowKey, _Line] = {}  # each drawn row's segments, for the next tick's redraw
        self._laid_out_width = 0  # the content width the columns were placed for
        self._wide = False  # every column at its preferred width, scrolled sideways
        self._x = 0  # cells scrolled to the right (wide mode)
        self.empty_text = empty_text
        self.last_refresh_regions = 0
        """How many row regions the last batch asked to repaint, -1 for all (tests read it)."""

    # ---- public data API -------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows after filtering."""
        return len(self._shown_rows)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def visible_keys(self) -> list[RowKey]:
        """Every row the filter keeps, in display order (a copy: O(n), for tests and tools)."""
        keys = self._shown_rows.keys()
        return keys[::-1] if self._reverse else keys

    def keys_on_screen(self) -> list[RowKey]:
        first, last = self._screen_rows()
        return [self._key_at(i) for i in range(first, last)]

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def row(self, key: RowKey) -> TableRow | None:
        return self._rows.get(key)

    def rows(self) -> Iterable[TableRow]:
        return self._rows.values()

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = list(columns)
        self._layout()
        self.refresh()

    @property
    def wide(self) -> bool:
        """Whether every column is shown at full width, the view scrolled with left/right."""
        return self._wide

    def set_wide(self, wide: bool) -> None:
        if wide != self._wide:
            self._wide = wide
            self._x = 0
            self._layout()
            self.refresh()

    @property
    def flex_cap(self) -> int:
        return self._flex_cap

    def set_flex_cap(self, cap: int) -> None:
        """The widest the flexible column may grow (the longest name on the list)."""
        if cap != self._flex_cap:
            self._flex_cap = cap
            self._layout()
            self.refresh()

    def set_order(self, sort_key: Callable[[Any], Any], reverse: bool = False) -> None:
        self._sort_key = sort_key
        self._reverse = reverse
        self._rebuild()

    def set_filter(self, predicate: Callable[[Any], bool] | None) -> None:
        self._predicate = predicate
        self._rebuild()

    def replace(self, rows: Iterable[TableRow]) -> None:
        """Swap in a whole new set of rows (a resync), keeping the cursor on its row if it remains."""
        self._rows = {row.key: row for row in rows}
        self._rebuild()

    def apply(self, upserts: Iterable[TableRow], removed: Iterable[RowKey] = ()) -> None:
        """Add or change rows and drop others; repaint only what moved or changed.

        Rows whose sort key and filter verdict stay the same are repainted in place. Others move
        by bisection (O(log n) to find, a memmove to shift), so a burst of events on 20,000 rows
        never re-sorts the table; only a batch that touches a large share of the rows (the first
        list) is placed by sorting everything once.
        """
        upserts = list(upserts)
        removed = list(removed)
        touched = {row.key for row in upserts}
        self.last_refresh_regions = 0
        if len(upserts) + len(removed) > max(BULK_ROWS, len(self._rows) // 4):
            cursor = self.cursor_key
            for key in removed:
                self._rows.pop(key, None)
            self._rows.update((row.key, row) for row in upserts)
            self._rebuild(touched)
            if cursor is not None and cursor == self.cursor_key and cursor in touched:
                self.post_message(self.Highlighted(self, cursor))
            return
        anchor = self._anchor()
        moved = False
        changed: list[RowKey] = []
        for key in removed:
            old = self._rows.pop(key, None)
            if old is not None:
                self._unplace(key, old)
                moved = True
        for row in upserts:
            old = self._rows.get(row.key)
            self._rows[row.key] = row
            if old is not None and not self._placement_changed(old, row):
                changed.append(row.key)
                continue
            if old is not None:
                self._unplace(row.key, old)
            self._place(row)
            moved = True
        if moved:
            self._after_move(anchor, touched)
        else:
            self._repaint(touched)
        if self.cursor_key in changed:
            # The highlighted row's content changed: listeners (the detail pane) want to know.
            self.post_message(self.Highlighted(self, self.cursor_key))

    def tick(self) -> int:
        """Repaint the time-driven cells on screen whose text changed; returns how many."""
        ticking = [p for p in self._placed if p.column.ticking]
        if not ticking or not self._shown_rows:
            return 0
        now = self._clock.now()
        first, last = self._screen_rows()
        dirty: list[Region] = []
        for index in range(first, last):
            key = self._key_at(index)
            row = self._rows[key]
            for placed in ticking:
                cell = row.cell(placed.column.key, now)
                if self._shown.get((key, placed.column.key)) != cell:
                    y = 1 + index - round(self.scroll_y)
                    dirty.append(Region(placed.x, y, placed.width + 2, 1))
        if dirty:
            self.refresh(*dirty)
        return len(dirty)

    def neighbour(self, key: RowKey, step: int) -> RowKey | None:
        """The row `step` rows from `key` in display order (from the cursor when `key` is no
        longer listed); None past either end."""
        index = self._index_of(key)
        target = (self._cursor if index is None else index) + step
        if index is None and step > 0:
            target -= 1  # the rows after a removed one moved up into its place
        if not 0 <= target < len(self._shown_rows):
            return None
        return self._key_at(target)

    def move_to(self, key: RowKey) -> bool:
        index = self._index_of(key)
        if index is None:
            return False
        self._set_cursor(index)
        return True

    # ---- ordering --------------------------------------------------------------------------

    def _placement_changed(self, old: TableRow, new: TableRow) -> bool:
        if self._sort_key(old) != self._sort_key(new):
            return True
        return self._predicate is not None and self._predicate(old) != self._predicate(new)

    def _entry(self, row: TableRow) -> tuple[Any, RowKey]:
        return (self._sort_key(row), row.key)

    def _place(self, row: TableRow) -> None:
        entry = self._entry(row)
        self._order.add(entry)
        if self._predicate is None or self._predicate(row):
            self._shown_rows.add(entry)

    def _unplace(self, key: RowKey, old: TableRow) -> None:
        entry = (self._sort_key(old), key)
        self._order.discard(entry)
        self._shown_rows.discard(entry)

    def _key_at(self, index: int) -> RowKey:
        """The key shown at display position `index`."""
        if self._reverse:
            index = len(self._shown_rows) - 1 - index
        return self._shown_rows.key_at(index)

    def _index_of(self, key: RowKey) -> int | None:
        row = self._rows.get(key)
        if row is None:
            return None
        position = self._shown_rows.index((self._sort_key(row), key))
        if position is None:
            return None
        return len(self._shown_rows) - 1 - position if self._reverse else position

    def _anchor(self) -> tuple[RowKey | None, int]:
        """The highlighted row and its line on screen, to keep both where they are."""
        return self.cursor_key, self._cursor - round(self.scroll_y)

    def _rebuild(self, touched: Collection[RowKey] = ()) -> None:
        """Order (and filter) every row from scratch: new sort, new filter, or a resync."""
        anchor = self._anchor()
        self._order = _SortedRows(self._entry(row) for row in self._rows.values())
        if self._predicate is None:
            self._shown_rows = self._order.copy()
        else:
            predicate = self._predicate
            self._shown_rows = _SortedRows(self._entry(row) for row in self._rows.values() if predicate(row))
        self._painted = None  # a new order or filter: paint everything
        self._after_move(anchor, touched)

    def _after_move(self, anchor: tuple[RowKey | None, int], touched: Collection[RowKey] = ()) -> None:
        """Rows moved: keep the cursor on its row and that row on its line, then repaint."""
        anchor_key, anchor_offset = anchor
        self._set_virtual_height(len(self._shown_rows) + 1)
        if not self._shown_rows:
            self._cursor = 0
            self._announce(None)
            self._repaint(touched)
            return
        index = self._index_of(anchor_key) if anchor_key is not None else None
        if index is None:
            index = min(self._cursor, len(self._shown_rows) - 1)
        self._cursor = index
        self._keep_on_screen(index - anchor_offset)
        self._announce(self._key_at(index))
        self._repaint(touched)

    def _repaint(self, touched: Collection[RowKey] = ()) -> None:
        """Repaint what a change made different on screen: every line when other rows are on it
        (or in another order) than were painted, else only the lines of the rows in `touched`."""
        keys = self.keys_on_screen()
        if not keys or keys != self._painted:
            self._painted = keys
            self._shown.clear()
            self.last_refresh_regions = -1
            self.refresh()
            return
        width = self.size.width
        regions = [Region(0, 1 + line, width, 1) for line, key in enumerate(keys) if key in touched]
        if self.last_refresh_regions >= 0:  # not already repainted whole in this batch
            self.last_refresh_regions += len(regions)
        if regions:
            self.refresh(*regions)

    def _set_virtual_height(self, height: int) -> None:
        """The scrollable height, without the layout pass a `virtual_size` change costs (it
        repaints every line) unless the scrollbar appears or goes, which does need one."""
        size = Size(self.size.width, height)
        if size == self.virtual_size:
            return
        viewport = self.scrollable_content_region.height
        if not self.is_mounted or (self.virtual_size.height > viewport) != (height > viewport):
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)  # Textual's own follow-up to a size change: scrollbars, scroll clamp

    def _announce(self, key: RowKey | None) -> None:
        if key != self.cursor_key:
            self.cursor_key = key
            self.post_message(self.Highlighted(self, key))

    # ---- geometry --------------------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)

    def _screen_rows(self) -> tuple[int, int]:
        first = round(self.scroll_y)
        return first, min(len(self._shown_rows), first + self._body_height)

    def _line_region(self, index: int) -> Region | None:
        first, last = self._screen_rows()
        if not first <= index < last:
            return None
        return Region(0, 1 + index - first, self.size.width, 1)

    def _keep_on_screen(self, desired_top: int) -> None:
        """Scroll so the cursor sits where it sat before, within the valid range."""
        height = self._body_height
        max_top = max(0, len(self._shown_rows) - height)
        top = min(max(desired_top, 0), max_top)
        if not top <= self._cursor < top + max(height, 1):
            top = min(max(self._cursor - height + 1, 0), max_top) if self._cursor >= top else self._cursor
        self.scroll_to(y=top, animate=False, immediate=True, force=True)

    def _layout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self._laid_out_width = width
        if self._wide:  # room for everything: full names and every optional column
            self._placed = layout_columns(self._columns, WIDE_ROOM, self._flex_cap)
            self._x = min(self._x, max(0, self._line_length() - width))
        else:
            self._placed = layout_columns(self._columns, width, self._flex_cap)
            self._x = 0
        self._shown.clear()
        self._lines.clear()
        self._painted = None

    def on_resize(self) -> None:
        self._layout()
        self.virtual_size = Size(self.size.width, len(self._shown_rows) + 1)
        self._keep_on_screen(round(self.scroll_y))

    def on_mount(self) -> None:
        self._layout()

    def on_focus(self) -> None:
        self._refresh_cursor_line()

    def on_blur(self) -> None:
        self._refresh_cursor_line()

    def _refresh_cursor_line(self) -> None:
        region = self._line_region(self._cursor)
        if region is not None:
            self.refresh(region)

    @property
    def visible_columns(self) -> list[str]:
        """The columns on screen (in wide mode, those the sideways scroll shows at least in part)."""
        if not self._wide:
            return [p.column.key for p in self._placed]
        right = self._x + (self.scrollable_content_region.width or self.size.width)
        return [p.column.key for p in self._placed if p.x + p.width + 2 > self._x and p.x < right]

    def _line_length(self) -> int:
        last = self._placed[-1] if self._placed else None
        return last.x + last.width + 2 if last else 0

    def action_scroll_columns(self, direction: int) -> None:
        """Scroll the wide table sideways by a column's width (left/right)."""
        if not self._wide:
            return
        width = self.scrollable_content_region.width or self.size.width
        edges = [p.x for p in self._placed]
        if direction > 0:
            x = next((e for e in edges if e > self._x), self._x)
        else:
            x = next((e for e in reversed(edges) if e < self._x), 0)
        x = max(0, min(x, self._line_length() - width))
        if x != self._x:
            self._x = x
            self.refresh()

    def _style(self, component: str, over: Style | None = None) -> Style:
        """The widget's style plus a component's, cached until the styles change (a theme switch):
        computing them per cell made each line cost milliseconds."""
        key = (component, over)
        style = self._style_cache.get(key)
        if style is None:
            base = over if over is not None else self.rich_style
            if not component:
                style = base
            elif over is not None:
                # A tone over a row style keeps the row's background (the cursor bar).
                style = base + _foreground(self.get_component_rich_style(component))
            else:
                style = base + self.get_component_rich_style(component)
            self._style_cache[key] = style
        return style

    def notify_style_update(self) -> None:
        self._style_cache.clear()
        self._lines.clear()
        self._painted = None
        super().notify_style_update()

    # ---- rendering -------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if (self.scrollable_content_region.width or width) != self._laid_out_width:
            # The vertical scrollbar came or went without a resize (the filter line took a row):
            # lay out again and repaint every line, the header with them, or rows and header
            # disagree by a column until something else repaints the header.
            self._layout()
            self.refresh()
            self._painted = self.keys_on_screen()  # the refresh paints them all
        base = self._style("")
        if y == 0:
            return self._render_header(width, base)
        index = round(self.scroll_y) + y - 1
        if not self._shown_rows:
            if y == 1:
                style = self._style("pod-table--empty")
                return Strip([Segment(fit_text(" " + self.empty_text, width), style)]).extend_cell_length(
                    width, base
                )
            return Strip.blank(width, base)
        if index >= len(self._shown_rows):
            return Strip.blank(width, base)
        return self._render_row(index, width, base)

    def _render_header(self, width: int, base: Style) -> Strip:
        style = self._style("pod-table--header")
        segments = [Segment(" " + self._aligned(p.column.title, p) + " ", style) for p in self._placed]
        return self._sideways(Strip(segments), width).adjust_cell_length(width, style)

    def _sideways(self, strip: Strip, width: int) -> Strip:
        """The part of a wide line the sideways scroll shows."""
        return strip.crop(self._x, self._x + width) if self._x else strip

    def _render_row(self, index: int, width: int, base: Style) -> Strip:
        key = self._key_at(index)
        row = self._rows[key]
        now = self._clock.now()
        if index == self._cursor:
            name = "pod-table--cursor" if self.has_focus else "pod-table--cursor-blurred"
            line_style = self._style(name)
        else:
            line_style = base
        line = self._lines.get(key)
        if line is None or line.row is not row or line.style is not line_style:
            line = self._line(row, line_style, now)
            self._lines[key] = line
        # Only the cells the clock changes are formatted again: a tick redraws every row on
        # screen that shows a countdown or an "ago", whose other cells stay as they were.
        segments = line.segments.copy()
        for index, placed in line.ticking:
            cell = row.cell(placed.column.key, now)
            self._shown[(key, placed.column.key)] = cell
            segments[index] = self._segment(cell, placed, line_style)
        return self._sideways(Strip(segments, line.length), width).adjust_cell_length(width, line_style)

    def _line(self, row: TableRow, line_style: Style, now: datetime) -> _Line:
        """A row's cells as segments, the ticking ones left to fill in. One segment per cell, its
        padding included (a space shows the line's background all the same): Textual crops,
        divides, filters and writes a line segment by segment."""
        if len(self._lines) > LINE_CACHE_ROWS:
            self._lines.clear()
        segments: list[Segment] = []
        ticking: list[tuple[int, _Placed]] = []
        length = 0
        for index, placed in enumerate(self._placed):
            if placed.column.ticking:
                ticking.append((index, placed))
                segments.append(_BLANK)
            else:
                segments.append(self._segment(row.cell(placed.column.key, now), placed, line_style))
            length += placed.width + 2
        return _Line(row, line_style, segments, tuple(ticking), length)

    def _segment(self, cell: Cell, placed: _Placed, line_style: Style) -> Segment:
        tone = self._style(_TONE_COMPONENTS[cell.tone], over=line_style)
        text = cell.text
        if cell.short and cell_len(text) > placed.width:
            text = cell.short
        return Segment(f" {self._aligned(text, placed)} ", tone)

    @staticmethod
    def _aligned(text: str, placed: _Placed) -> str:
        fitted = fit_text(text, placed.width, placed.column.truncate)
        pad = placed.width - cell_len(fitted)
        return " " * pad + fitted if placed.column.align == "right" else fitted + " " * pad

    # ---- cursor ----------------------------------------------------------------------------

    def _set_cursor(self, index: int) -> None:
        if not self._shown_rows:
            return
        index = max(0, min(index, len(self._shown_rows) - 1))
        old = self._cursor
        self._cursor = index
        first, last = self._screen_rows()
        if index < first:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= last:
            self.scroll_to(y=index - self._body_height + 1, animate=False, immediate=True)
        for i in (old, index):
            region = self._line_region(i)
            if region is not None:
                self.refresh(region)
        self._announce(self._key_at(index))

    def action_cursor_up(self) -> None:
        self._set_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self._cursor - max(1, self._body_height - 1))

    def action_page_down(self) -> None:
        self._set_cursor(self._cursor + max(1, self._body_height - 1))

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(len(self._shown_rows) - 1)

    def action_select(self) -> None:
        if self._shown_rows:
            self.post_message(self.Selected(self, self._key_at(self._cursor)))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        # ScrollView repaints every line on any scroll; when the anchor scrolled to keep the same
        # rows on screen (one added above them), nothing there changed.
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = new_value
        if round(old_value) != round(new_value):
            self._repaint()
