"""The pod described (`d`, as `kubectl describe pod` prints it) or as YAML (`y`, managedFields folded).

| Key | Action |
| :- | :- |
| d / y | Describe / YAML of the same pod |
| / | Search; enter jumps to the first match |
| n / N | Next / previous match |
| c | Copy the whole text |
| ] / [ | Next / previous pod of the list |
| r | Read the pod again |
| home, g / end, G | Top / bottom |
| escape | Close search, or back |

The text is read from the cluster when the screen opens (one GET of the pod, and its events for
describe) and cleaned line by line before display: nothing from the cluster can steer the terminal.
Lines are wrapped to the width, so nothing is cut at 80 columns.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, Static

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Pod
from kcrash.core.sanitize import clean_line
from kcrash.ui.screens.base import PodScreen
from kcrash.ui.screens.logs import LogView
from kcrash.ui.screens.matches import MatchNavigation

Kind = Literal["describe", "yaml"]
TAB_SIZE = 8
OFFLINE = "needs a cluster: pasted output holds no live pod to read"


class DocumentRead(Message):
    def __init__(self, key: tuple[str, str], kind: Kind, text: str, error: str = "") -> None:
        super().__init__()
        self.key = key
        self.kind = kind
        self.text = text
        self.error = error


class DocumentScreen(MatchNavigation, PodScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next", show=False),
        Binding("N", "previous_match", "Prev match", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "bottom", "Bottom", show=False),
    ]

    def __init__(self, key: tuple[str, str], kind: Kind) -> None:
        super().__init__(id="document-screen")
        self.key = key
        self.kind: Kind = kind
        self.text = ""
        self.lines: list[str] = []
        self.query_text = ""
        self.matches: list[int] = []
        self.match_index = -1
        self._starts: list[int] = []
        self._status = "loading…"
        self._rendered_width = 0

    def compose(self) -> ComposeResult:
        yield Static(id="doc-title")
        yield LogView(wrap=False, highlight=False, markup=False, id="doc")
        yield Input(
            placeholder="search (enter: first match, n/N: next/previous)", id="doc-search", compact=True
        )
        yield Footer(compact=True)

    @property
    def view(self) -> LogView:
        return self.query_one("#doc", LogView)

    def on_mount(self) -> None:
        self.query_one("#doc-search", Input).display = False
        self.view.focus()
        self.action_reload()

    def selected_pod(self) -> Pod | None:
        return self.kcrash.store.get(self.key)

    # ---- reading ---------------------------------------------------------------------------

    @property
    def _alive(self) -> bool:
        """Still showing: a key of the same read as the Escape that closed it finds no widgets."""
        return self.is_attached and bool(self.query("#doc"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self._alive:
            return False  # closed by an earlier key of the same read: its keys do nothing here
        return super().check_action(action, parameters)

    def action_reload(self) -> None:
        if not self._alive:
            return
        self._status = "loading…"
        self._draw_title()
        pod = self.selected_pod()
        if pod is None:
            self._status = "the pod is gone"
            self._draw_title()
            return
        self._read(pod, self.kind)

    @work(thread=True, exclusive=True, exit_on_error=False, group="document")
    def _read(self, pod: Pod, kind: Kind) -> None:
        source = self.kcrash.source
        if not isinstance(source, ClusterSource):
            self.post_message(DocumentRead(pod.key, kind, "", OFFLINE))
            return
        try:
            if kind == "describe":
                text = source.describe_pod(pod, self.kcrash.clock.now())
            else:
                text = source.pod_yaml(pod)
        except KcrashError as exc:
            self.post_message(DocumentRead(pod.key, kind, "", str(exc)))
            return
        self.post_message(DocumentRead(pod.key, kind, text))

    def on_document_read(self, message: DocumentRead) -> None:
        if (message.key, message.kind) != (self.key, self.kind) or not self._alive:
            return  # the screen moved to another pod or view meanwhile
        self.text = message.text
        self.lines = [clean_line(line, tab_size=TAB_SIZE) for line in message.text.splitlines()]
        if message.error:
            self.lines = [clean_line(message.error)]
        self._status = "" if not message.error else "failed"
        self._render_all(keep_position=False)

    # ---- drawing ---------------------------------------------------------------------------

    def _draw_title(self) -> None:
        sep = (" · ", "$text-muted")
        parts: list[str | tuple[str, str]] = [
            ("describe" if self.kind == "describe" else "YAML", "bold $accent"),
            sep,
            ("pod/" + clean_line(self.key[1]), "bold"),
        ]
        if self.query_text:
            found = f"{self.match_index + 1}/{len(self.matches)}" if self.matches else "no match"
            parts += [sep, ("/" + self.query_text + " ", "$accent"), (found, "bold")]
        if self._status:
            parts += [sep, (self._status, "$text-muted")]
        self.query_one("#doc-title", Static).update(Content.assemble(*parts))

    @property
    def _wrap_width(self) -> int:
        return max(20, self.view.scrollable_content_region.width - 1)

    def _render_all(self, keep_position: bool = True) -> None:
        view = self.view
        top = view.scroll_y
        view.clear()
        self._starts = []
        self._rendered_width = width = self._wrap_width
        needle = self.query_text
        match_style = view.get_component_rich_style("log-view--match")
        visual = 0
        for line in self.lines:
            self._starts.append(visual)
            text = Text(line, end="")
            if needle:
                text.highlight_words([needle], match_style, case_sensitive=False)
            for piece in text.wrap(self.app.console, width, overflow="fold"):
                piece.end = ""
                view.write(piece, scroll_end=False)
                visual += 1
        lowered = needle.lower()
        self.matches = [i for i, line in enumerate(self.lines) if lowered and lowered in line.lower()]
        self.match_index = min(self.match_index, len(self.matches) - 1)
        view.scroll_to(y=top if keep_position else 0, animate=False, immediate=True)
        self._draw_title()

    def on_resize(self) -> None:
        if self.lines and self._rendered_width != self._wrap_width:
            self._render_all()

    # ---- switching -------------------------------------------------------------------------

    def action_describe(self) -> None:
        self._switch(self.key, "describe")

    def action_yaml(self) -> None:
        self._switch(self.key, "yaml")

    def action_step_pod(self, step: int) -> None:
        key = self.kcrash.neighbour_pod(self.key, step)
        if key is None:
            self.notify("No more pods that way.", timeout=2, markup=False)
            return
        self._switch(key, self.kind)

    def _switch(self, key: tuple[str, str], kind: Kind) -> None:
        if (key, kind) == (self.key, self.kind) or not self._alive:
            return
        self.key, self.kind = key, kind
        self.text, self.lines = "", []
        self.view.clear()
        self.action_reload()

    # ---- copy ------------------------------------------------------------------------------

    def action_copy(self) -> None:
        if not self.text:
            self.notify("Nothing to copy yet.", severity="warning", markup=False)
            return
        what = "the description" if self.kind == "describe" else "the YAML"
        self._copy(what, self.text)

    # ---- search ----------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#doc-search", Input)
        box.display = True
        self.set_focus(box)

    @on(Input.Submitted, "#doc-search")
    def _search(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        event.input.display = bool(self.query_text)
        self.set_focus(self.view)
        self.match_index = -1
        self._render_all()
        self.action_next_match()

    def action_back(self) -> None:
        box = self.query_one("#doc-search", Input)
        if box.has_focus:
            box.display = bool(self.query_text)
            self.set_focus(self.view)
            return
        self.dismiss()
