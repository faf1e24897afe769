"""`E`: the events of the namespace in scope (or of every namespace), warnings first, repeats added up.

| Key | Action |
| :- | :- |
| / | Filter: every word must appear in the type, reason, object or message |
| enter | Open the drill-down of the pod an event is about |
| r | Read the events again now |
| escape | Clear the filter, or back |

The list is read again every few seconds while the view is open (one LIST of at most 500 events:
events are not watched). Every text from the cluster is cleaned before display.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.source import ClusterSource
from kcrash.core.eventlist import EventRow, aggregate, matches
from kcrash.core.humanize import human_duration
from kcrash.core.records import Event
from kcrash.core.sanitize import clean_line
from kcrash.ui.context import Console, console
from kcrash.ui.failures import report_worker_failure

REFRESH_SECONDS = 5.0
MESSAGE_CHARS = 300
"""A message is cut here in the table (the whole of it is in the pod's drill-down)."""


class EventsRead(Message):
    def __init__(self, events: tuple[Event, ...], error: str = "") -> None:
        super().__init__()
        self.events = events
        self.error = error


class EventsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="events-screen")
        self.rows: list[EventRow] = []
        self.shown: list[EventRow] = []
        self.filter_text = ""
        self.error = ""

    @property
    def kcrash(self) -> Console:
        return console(self)

    def compose(self) -> ComposeResult:
        yield Static(id="events-title")
        table: DataTable[Text] = DataTable(id="events", cursor_type="row", zebra_stripes=False)
        yield table
        yield Input(
            placeholder="filter: words in type, reason, object or message", id="events-filter", compact=True
        )
        yield Footer(compact=True)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#events", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns("TYPE", "REASON", "OBJECT", "COUNT", "LAST", "MESSAGE")
        self.query_one("#events-filter", Input).display = False
        self.table.focus()
        self._draw_title()
        self.action_reload()
        self.set_interval(REFRESH_SECONDS, self.action_reload)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event)

    # ---- reading ---------------------------------------------------------------------------

    def action_reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="scope-events")
    def _read(self) -> None:
        source = self.kcrash.source
        if not isinstance(source, ClusterSource):
            self.post_message(EventsRead((), "offline: the pastes hold only the events of their pods"))
            return
        try:
            self.post_message(EventsRead(source.scope_events()))
        except KcrashError as exc:
            self.post_message(EventsRead((), str(exc)))

    def on_events_read(self, message: EventsRead) -> None:
        if not self.is_attached or not self.query("#events"):
            return
        self.error = message.error
        self.rows = aggregate(message.events)
        self._fill()

    # ---- drawing ---------------------------------------------------------------------------

    def _draw_title(self) -> None:
        source = self.kcrash.source
        scope = "all namespaces" if source.namespace is None else f"namespace {source.namespace}"
        warnings = sum(1 for row in self.rows if row.warning)
        parts: list[str | tuple[str, str]] = [
            ("Events", "bold $accent"),
            (" · ", "$text-muted"),
            (clean_line(scope), "bold"),
            (" · ", "$text-muted"),
            (f"{warnings} warning", "bold $warning" if warnings else "$text-muted"),
            (f" of {len(self.rows)}", "$text-muted"),
        ]
        if self.filter_text:
            parts += [
                (" · ", "$text-muted"),
                ("/" + self.filter_text, "$accent"),
                f" ({len(self.shown)} shown)",
            ]
        if self.error:
            parts += [(" · ", "$text-muted"), (clean_line(self.error), "$error")]
        self.query_one("#events-title", Static).update(Content.assemble(*parts))

    def _fill(self) -> None:
        table = self.table
        selected = self._selected()
        now = self.kcrash.clock.now()
        table.clear()
        self.shown = [row for row in self.rows if matches(row, self.filter_text)]
        for index, row in enumerate(self.shown):
            table.add_row(*_cells(row, now, self._warning_style), key=str(index))
        if selected is not None and selected in self.shown:
            table.move_cursor(row=self.shown.index(selected), animate=False)
        if not self.shown:
            table.add_row(Text("(none)" if not self.filter_text else "(no event matches the filter)"))
        self._draw_title()

    @property
    def _warning_style(self) -> str:
        """The theme's warning colour (Rich text in a table cell has no theme variables)."""
        return f"bold {self.app.current_theme.warning or 'yellow'}"

    def _selected(self) -> EventRow | None:
        index = self.table.cursor_row
        return self.shown[index] if 0 <= index < len(self.shown) else None

    # ---- keys ------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#events")
    def _open(self, event: DataTable.RowSelected) -> None:
        from kcrash.ui.screens.detail import DetailScreen

        row = self._selected()
        if row is None:
            return
        key = row.pod_key
        if key is None or self.kcrash.store.get(key) is None:
            what = f"{row.kind.lower()}/{clean_line(row.name)}"
            self.notify(f"{what} is not a pod in the list.", severity="warning", timeout=4, markup=False)
            return
        self.kcrash.open_screen(DetailScreen(key))

    def action_filter(self) -> None:
        box = self.query_one("#events-filter", Input)
        box.display = True
        self.set_focus(box)

    @on(Input.Changed, "#events-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._fill()

    @on(Input.Submitted, "#events-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.input.display = bool(self.filter_text)
        self.set_focus(self.table)

    def action_back(self) -> None:
        if not self.query("#events-filter"):
            return
        box = self.query_one("#events-filter", Input)
        if box.has_focus or self.filter_text:
            box.value = ""
            box.display = False
            self.filter_text = ""
            self._fill()
            self.set_focus(self.table)
            return
        self.dismiss()


def _cells(row: EventRow, now: datetime, warning_style: str) -> tuple[Text, ...]:
    style = warning_style if row.warning else ""
    age = human_duration((now - row.last_seen).total_seconds()) if row.last_seen is not None else "?"
    message = clean_line(row.message)
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + "…"
    return (
        Text(clean_line(row.type), style=style),
        Text(clean_line(row.reason), style=style),
        Text(f"{row.kind.lower()}/{clean_line(row.name)}"),
        Text(f"x{row.count}" if row.count > 1 else "1"),
        Text(age),
        Text(message),
    )
