"""`!`: the alerts, newest first — time, severity, pod, what happened and the dying words.

| Key | Action |
| :- | :- |
| enter | Open the pod's drill-down (its replacement's, when the pod is gone) |
| a | Acknowledge the alert (clears its count in the header and its OOM mark) |
| m | Mute the alert's owner for a chosen time |
| escape | Back to the pods |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, OptionList, Static
from textual.widgets.option_list import Option

from kcrash.core.alerts import Alert, owner_of
from kcrash.core.humanize import since
from kcrash.core.sanitize import clean_line
from kcrash.ui.context import console
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.widgets.status_line import HeaderFacts, StatusLine

MUTE_CHOICES: tuple[tuple[str, float], ...] = (
    ("15 minutes", 900),
    ("1 hour", 3600),
    ("4 hours", 14400),
    ("24 hours", 86400),
)
_SHORT_SEVERITY = {"critical": "CRIT", "warning": "warn", "info": "info"}
_SEVERITY_STYLE = {"critical": "bold $error", "warning": "$warning", "info": "$text-muted"}


def what_happened(alert: Alert, now: datetime, *, short: bool = False) -> str:
    """The alert's story in one line; `short` drops "container app " (the list has no room)."""
    text = alert.message.removeprefix(f"container {alert.container} ") if short else alert.message
    if alert.state == "already-failing":
        when = f" since {since(min(alert.since, now), now)} ago" if alert.since is not None else ""
        text = f"already failing{when}: {text}"
    if alert.likely_cause:
        text += f" — {alert.likely_cause}"
    if alert.count > 1:
        text += f" (×{alert.count})"
    return clean_line(text)


def _short_pod(alert: Alert) -> str:
    """`oom-leak…4j7c8` for a Deployment's pod: the ReplicaSet's hash is what a narrow column
    gives up first (as the pods list does)."""
    name = alert.pod
    base = alert.owner.partition("/")[2]
    if alert.owner.startswith("Deployment/") and name.startswith(base + "-"):
        rest = name[len(base) + 1 :]
        if "-" in rest:
            return f"{base}…{rest.rsplit('-', 1)[1]}"
    return name


class MuteChoice(ModalScreen[float | None]):
    """How long to mute an owner: number keys or arrows and Enter; escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Cancel"),
        *(Binding(str(n), f"pick({n - 1})", show=False) for n in range(1, len(MUTE_CHOICES) + 1)),
    ]

    def __init__(self, owner: str) -> None:
        super().__init__(classes="kcrash-modal")
        self.owner = owner

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(
                Content.styled(f"Mute {clean_line(self.owner)} for…", "bold"), classes="modal-heading"
            )
            yield OptionList(
                *(
                    Option(Content.assemble((f"{n} ", "bold $accent"), label), id=str(seconds))
                    for n, (label, seconds) in enumerate(MUTE_CHOICES, start=1)
                ),
                id="mute-options",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(MUTE_CHOICES[event.option_index][1])

    def action_pick(self, index: int) -> None:
        self.dismiss(MUTE_CHOICES[index][1])

    def action_close(self) -> None:
        self.dismiss(None)


class AlertsScreen(Screen[None]):
    """Every alert kept this session, newest first; acknowledged ones dimmed."""

    DEFAULT_CSS = """
    AlertsScreen #alerts {
        height: 1fr;
    }
    AlertsScreen #alerts-preview {
        height: 3;
        background: $panel;
        padding: 0 1;
    }
    AlertsScreen #alerts-empty {
        padding: 1 2;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace,exclamation_mark", "back", "Back"),
        Binding("enter", "open", "Open", priority=True),
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("m", "mute", "Mute owner"),
    ]

    def __init__(self) -> None:
        super().__init__(id="alerts-screen")
        self._shown: list[int] = []
        self._wide = False

    def compose(self) -> ComposeResult:
        app = console(self)
        yield StatusLine(
            HeaderFacts(
                context=app.source.context,
                namespace=app.source.namespace,
                state=app.sync_state,
                pods=len(app.store),
                failing=len(app.failing),
                shown=len(app.store),
                read_only=app.read_only,
            ),
            id="status",
        )
        table: DataTable[Content] = DataTable(id="alerts", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="alerts-empty")
        yield Static("", id="alerts-preview")
        yield Footer(compact=True)

    @property
    def table(self) -> DataTable[Content]:
        return self.query_one("#alerts", DataTable)

    def on_mount(self) -> None:
        # Widths from the terminal's: WHAT HAPPENED takes what the others leave. Below 120
        # columns LAST WORDS has no column of its own: the line under the list shows them for the
        # alert under the cursor, with the rest of its text.
        width = max(80, self.app.size.width)
        self._wide = width >= 120
        pod = 40 if self._wide else 24
        words = 40 if self._wide else 0
        columns = [("TIME", 8), ("SEV", 8 if self._wide else 4), ("POD", pod)]
        fixed = sum(size for _, size in columns) + words + 2 * (len(columns) + 1 + bool(words)) + 2
        columns.append(("WHAT HAPPENED", max(24, width - fixed)))
        if words:
            columns.append(("LAST WORDS", words))
        for label, size in columns:
            self.table.add_column(label, width=size)
        self.alerts_changed()
        self.table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._preview()

    def _preview(self) -> None:
        """The alert under the cursor in full: what happened, the likely cause, its last words."""
        alert = self._selected()
        preview = self.query_one("#alerts-preview", Static)
        if alert is None:
            preview.update("")
            return
        where = f"{alert.namespace}/{alert.pod or alert.owner}"
        parts: list[str | tuple[str, str]] = [
            (clean_line(where), "bold"),
            " " + what_happened(alert, console(self).clock.now()),
        ]
        if alert.dying_words:
            parts += ["\n", ("last words: ", "$text-muted"), clean_line(alert.dying_words, max_len=300)]
        preview.update(Content.assemble(*parts))

    def alerts_changed(self) -> None:
        """Redraw the list, the cursor kept on the alert it was on."""
        app = console(self)
        desk = app.alert_desk
        table = self.table
        current = (
            self._shown[table.cursor_row]
            if self._shown and 0 <= table.cursor_row < len(self._shown)
            else None
        )
        alerts = list(reversed(desk.engine.alerts))
        now = app.clock.now()
        table.clear()
        self._shown = [a.id for a in alerts]
        for alert in alerts:
            dim = alert.acknowledged or alert.state == "already-failing"
            base = "$text-muted" if dim else ""
            where = _short_pod(alert) if alert.pod else alert.owner
            table.add_row(
                Content.styled(alert.at.astimezone().strftime("%H:%M:%S"), base or "$text-muted"),
                Content.styled(
                    alert.severity if self._wide else _SHORT_SEVERITY[alert.severity],
                    "$text-muted" if dim else _SEVERITY_STYLE[alert.severity],
                ),
                Content.styled(clean_line(where, max_len=60), base),
                Content.styled(what_happened(alert, now, short=True)[:200], base),
                *(
                    [Content.styled(clean_line(alert.dying_words, max_len=80), "$text-muted")]
                    if self._wide
                    else []
                ),
                key=str(alert.id),
            )
        empty = self.query_one("#alerts-empty", Static)
        empty.update("" if alerts else "No alerts yet: restarts, OOM kills and crash loops will appear here.")
        empty.display = not alerts
        if current in self._shown:
            table.move_cursor(row=self._shown.index(current))
        self._preview()

    def _selected(self) -> Alert | None:
        row = self.table.cursor_row
        if not self._shown or not 0 <= row < len(self._shown):
            return None
        return console(self).alert_desk.engine.get(self._shown[row])

    def action_back(self) -> None:
        self.dismiss(None)

    def action_open(self) -> None:
        alert = self._selected()
        if alert is None:
            return
        app = console(self)
        key = alert.key if alert.pod and app.store.get(alert.key) is not None else None
        if key is None and alert.pod:  # the pod is gone: its owner's pod that replaced it
            key = next(
                (
                    p.key
                    for p in app.store.values()
                    if p.namespace == alert.namespace and owner_of(p) == alert.owner
                ),
                None,
            )
        if key is None:
            self.notify(
                f"No pod of {clean_line(alert.owner)} is left to open", severity="warning", markup=False
            )
            return
        app.open_screen(DetailScreen(key))

    def action_acknowledge(self) -> None:
        alert = self._selected()
        if alert is not None:
            console(self).alert_desk.acknowledge(alert.id)
            self.alerts_changed()

    def action_mute(self) -> None:
        alert = self._selected()
        if alert is None:
            return

        def chosen(seconds: float | None) -> None:
            if seconds is None:
                return
            app = console(self)
            until = app.clock.now() + timedelta(seconds=seconds)
            app.alert_desk.mute(alert.namespace, alert.owner, until)
            self.notify(
                f"{clean_line(alert.owner)} muted until {until.astimezone().strftime('%H:%M')}",
                timeout=3,
                markup=False,
            )

        self.app.push_screen(MuteChoice(alert.owner), chosen)
