"""`?`: every key kcrash answers to, and which actions are off here and why."""

from __future__ import annotations

from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from kcrash.core.sanitize import clean_line

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Pods",
        (
            ("↑ ↓  j k", "move"),
            ("pgup pgdn  home end  g G", "page, first, last"),
            ("enter", "open the drill-down (beside the list from 140 columns)"),
            ("/", "filter: every word must match name, status or last exit"),
            ("escape", "close the side panel / clear the filter"),
            ("tab  shift+tab", "move between the list and the side panel (to scroll it)"),
            ("h", "hide or show healthy pods"),
            ("P S R A N", "sort: problems first (default), status, restarts, age, name; again reverses"),
        ),
    ),
    (
        "Any pod",
        (
            ("l", "full log view"),
            ("c", "copy: kubectl commands, previous log tail, incident summary"),
            ("u", "rollout undo: shows the target, the changes and the dry run; y confirms"),
            ("ctrl+d", "delete the pod: its controller makes a replacement; y confirms"),
            ("r", "reload the drill-down"),
            ("escape  backspace", "back"),
        ),
    ),
    (
        "Log view",
        (
            ("p", "previous / current instance"),
            ("f", "follow new lines"),
            ("/  n  N", "search, next match, previous match"),
            ("g G  home end", "top, bottom"),
        ),
    ),
    (
        "Dialogs",
        (
            ("y", "confirm (undo, delete)"),
            ("n  escape", "cancel"),
            ("1-9  enter", "pick in the copy menu"),
        ),
    ),
    (
        "Everywhere",
        (
            ("?", "this help"),
            ("T", "next theme"),
            ("q  ctrl+c", "quit"),
        ),
    ),
)


def help_rows(notes: list[str]) -> list[tuple[Content, Content]]:
    """(keys, meaning) pairs, section titles with an empty meaning."""
    rows: list[tuple[Content, Content]] = []
    for title, keys in KEYS:
        rows.append((Content.styled(title, "bold $primary"), Content("")))
        rows += [(Content.styled(k, "bold $accent"), Content(what)) for k, what in keys]
    if notes:
        rows.append((Content.styled("Not available here", "bold $warning"), Content("")))
        rows += [(Content(""), Content(clean_line(note))) for note in notes]
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog help"):
            yield Static(Content.styled("kcrash keys", "bold"), classes="modal-heading")
            with VerticalScroll(classes="dialog-body", id="help-body"):
                for keys, meaning in help_rows(self._notes()):
                    title = not meaning.plain and bool(keys.plain)
                    with Horizontal(classes="help-row help-title" if title else "help-row"):
                        yield Static(keys, classes="help-keys")
                        yield Static(meaning, classes="help-meaning")

    def _notes(self) -> list[str]:
        from kcrash.ui.app import KcrashApp

        app = cast(KcrashApp, self.app)
        notes: list[str] = []
        if app.read_only:
            notes.append("u, ctrl+d: not bound in read-only mode (--read-only)")
        access = app.access
        if access is not None and not app.read_only:
            for key, what, permission in (
                ("u", "rollout undo", access.patch_deployments),
                ("ctrl+d", "delete pod", access.delete_pods),
                ("l", "logs", access.read_logs),
            ):
                if not permission.allowed:
                    reason = f": {permission.reason}" if permission.reason else ""
                    notes.append(f"{key}, {what}: not allowed by RBAC{reason}")
        return notes

    def action_close(self) -> None:
        self.dismiss()
