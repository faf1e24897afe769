"""`?`: every key kcrash answers to, and which actions are off here and why.

The keys are one text, its meanings wrapped under a hanging indent to the dialog's width: a pair of
widgets per key made opening the help cost a third of a second.
"""

from __future__ import annotations

import textwrap
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Static

from kcrash.core.sanitize import clean_line
from kcrash.ui.context import child_or_none, console

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
            (
                "w  ← →",
                "wide: every column at full width (READY, MEM/LIMIT, NEXT RESTART, AGE); arrows scroll",
            ),
            ("P S R A N", "sort: problems first (default), status, restarts, age, name; again reverses"),
            ("]  [", "next / previous pod (the side panel follows)"),
        ),
    ),
    (
        "Scope",
        (
            (":ns NAME", "pods of another namespace; :ns alone picks one (failing pods counted)"),
            (":ctx NAME", "another kubeconfig context; :ctx alone picks one"),
            (":all  0", "pods of every namespace"),
            (":l SELECTOR", "only pods with these labels (app=web,tier!=db); :l alone drops it"),
            ("tab", "in the command line: complete the command or the name"),
            ("ctrl+p", "command palette: the same namespaces, contexts and all namespaces"),
            ("E", "events of the scope: warnings first, repeats added up; / filters, enter opens the pod"),
        ),
    ),
    (
        "Any pod",
        (
            ("l", "full log view"),
            ("d", "describe: the pod as kubectl describe prints it, with its events"),
            ("y", "YAML of the pod (managedFields folded); / searches, c copies, d/y switch"),
            ("]  [", "next / previous pod in the list's order (drill-down, log view, describe)"),
            ("enter", "in the drill-down of a deleted pod: open its replacement once it appears"),
            ("c", "copy: kubectl commands, previous log tail, incident summary"),
            ("u", "rollout undo: shows the target, the changes and the dry run; y confirms"),
            ("ctrl+d", "delete the pod: its controller makes a replacement; y confirms"),
            ("s", "shell: kubectl exec -it into the running container (the console comes back after)"),
            ("D", "debug: kubectl debug, an ephemeral container or a copy that stays up (dialog, 1/2)"),
            ("r", "reload the drill-down; re-read the kubeconfig and reconnect now"),
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
            ("]  [", "next / previous pod of the list"),
            ("C", "another container: init, sidecar or app (1-9 or enter picks)"),
            ("t", "timestamps on / off"),
            ("0 1 2 3 4 5 6", "tail, head (from the start), last 1m, 5m, 15m, 30m, 1h (as in k9s)"),
            ("ctrl+s", "save the lines shown to a file under ~/.local/state/kcrash/logs (path shown)"),
        ),
    ),
    (
        "Alerts",
        (
            ("!", "the alert list: time, severity, pod, what happened, last words"),
            ("enter", "open the alert's pod (its replacement's when it is gone)"),
            ("a", "acknowledge: clears it from the header's count and its OOM▸ mark"),
            ("m", "mute the alert's owner for 15 min, 1 h, 4 h or 24 h"),
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
    """Every key, in a body that scrolls: at 80x24 it is three screens long.

    | Key | Action |
    | :- | :- |
    | up/down, j/k | Scroll a line |
    | pageup/pagedown, space | Scroll a page |
    | home/end, g/G | Top, bottom |
    | escape, q, ? | Close |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
        Binding("down,j", "scroll('down')", "Scroll", show=False),
        Binding("up,k", "scroll('up')", "Scroll", show=False),
        Binding("pagedown,space,ctrl+f", "scroll('page_down')", "Page", show=False),
        Binding("pageup,ctrl+b", "scroll('page_up')", "Page", show=False),
        Binding("home,g", "scroll('home')", "Top", show=False),
        Binding("end,G", "scroll('end')", "Bottom", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog help"):
            yield Static(Content.styled("kcrash keys", "bold"), classes="modal-heading")
            with VerticalScroll(classes="dialog-body", id="help-body"):
                yield Static(id="help-text")

    def on_resize(self, event: Resize) -> None:
        # A resize can reach a help screen already closed by a key of the same read: no body then.
        body = child_or_none(self, "#help-body", VerticalScroll)
        text = child_or_none(self, "#help-text", Static)
        if body is None or text is None:
            return
        width = body.scrollable_content_region.width or event.size.width
        text.update(help_text(self._notes(), width))

    def _notes(self) -> list[str]:
        app = console(self)
        notes: list[str] = []
        if app.read_only:
            notes.append("u, ctrl+d, s, D: not bound in read-only mode (--read-only)")
        access = app.access
        if access is not None and not app.read_only:
            for key, what, permission in (
                ("u", "rollout undo", access.patch_deployments),
                ("ctrl+d", "delete pod", access.delete_pods),
                ("l", "logs", access.read_logs),
                ("s", "shell (exec)", access.exec_pods),
                ("D", "debug (ephemeral containers)", access.debug_pods),
            ):
                if not permission.allowed:
                    reason = f": {permission.reason}" if permission.reason else ""
                    notes.append(f"{key}, {what}: not allowed by RBAC{reason}")
        return notes

    def action_scroll(self, where: str) -> None:
        body = child_or_none(self, "#help-body", VerticalScroll)
        if body is None:
            return
        moves = {
            "down": body.scroll_down,
            "up": body.scroll_up,
            "page_down": body.scroll_page_down,
            "page_up": body.scroll_page_up,
            "home": body.scroll_home,
            "end": body.scroll_end,
        }
        moves[where](animate=False)

    def action_close(self) -> None:
        self.dismiss()
