"""`?`: every key kcrash answers to, and which actions are off here and why.

The keys are one text, its meanings wrapped under a hanging indent to the dialog's width: a pair of
widgets per key made opening the help cost a third of a second.
"""

from __future__ import annotations

import textwrap
from typing import ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Resize
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


KEY_WIDTH = 28
"""Cells for the keys column, its two-cell indent included."""
NARROWEST_MEANING = 20


def help_text(notes: list[str], width: int) -> Content:
    """Every section's keys and meanings, meanings wrapped to `width` cells under a hanging indent;
    then what is not available here and why."""
    lines: list[Content] = []
    sections = [*KEYS]
    if notes:
        sections.append(("Not available here", tuple(("", clean_line(note)) for note in notes)))
    room = max(NARROWEST_MEANING, width - KEY_WIDTH - 1)  # a scrollbar may take a cell
    for number, (title, keys) in enumerate(sections):
        if number:
            lines.append(Content(""))
        style = "bold $warning" if title == "Not available here" else "bold $primary"
        lines.append(Content.styled(title, style))
        for key, meaning in keys:
            first, *rest = textwrap.wrap(meaning, room) or [""]
            lines.append(Content.assemble((("  " + key).ljust(KEY_WIDTH), "bold $accent"), first))
            lines += [Content(" " * KEY_WIDTH + more) for more in rest]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog help"):
            yield Static(Content.styled("kcrash keys", "bold"), classes="modal-heading")
            with VerticalScroll(classes="dialog-body", id="help-body"):
                yield Static(id="help-text")

    def on_resize(self, event: Resize) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        width = body.scrollable_content_region.width or event.size.width
        self.query_one("#help-text", Static).update(help_text(self._notes(), width))

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
