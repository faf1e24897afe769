"""The drill-down as a full screen, for terminals too narrow to show it beside the list.

| Key | Action |
| :- | :- |
| escape, backspace | Back to the pods |
| r | Reload everything |
| ] / [ | Next / previous pod of the list |
| enter | Open the replacement of a deleted pod, once it appears |
| up/down, pageup/pagedown | Scroll |
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer

from kcrash.core.records import Pod
from kcrash.ui.messages import PodsChanged, SyncChanged
from kcrash.ui.screens.base import POD_BINDINGS, PodScreen
from kcrash.ui.widgets.detail import DetailPane
from kcrash.ui.widgets.status_line import HeaderFacts, StatusLine


class DetailScreen(PodScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        Binding("r", "reload", "Reload"),
        Binding("enter", "open_replacement", "Replacement", show=False),
        *POD_BINDINGS,
    ]

    def __init__(self, key: tuple[str, str]) -> None:
        super().__init__(id="detail-screen")
        self.key = key
        self._ready = False
        self._dismissed_early = False

    def compose(self) -> ComposeResult:
        app = self.kcrash
        self._status = StatusLine(
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
        self._pane = DetailPane(id="detail")
        yield self._status
        yield self._pane
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self._dismissed_early:
            return  # an Escape of the same read closed it before it was mounted: nothing to show
        pane = self.query_one(DetailPane)
        pane.show(self.key)
        pane.focus()
        self.set_interval(self.kcrash.tick_seconds, pane.tick)
        self._ready = True

    def selected_pod(self) -> Pod | None:
        return self.kcrash.store.get(self.key)

    # Kept, not queried: a watch batch that lands while this screen closes finds them after the
    # screen lost its children.
    def store_changed(self, message: PodsChanged) -> None:
        if not self._ready or not self._status.is_attached:
            return
        if self.key in message.keys:
            self._pane.pod_changed()
        elif self._pane.pod is None:
            self._pane.look_for_replacement(message.keys)
        app = self.kcrash
        self._status.change(pods=len(app.store), failing=len(app.failing), shown=len(app.store))

    def sync_changed(self, message: SyncChanged) -> None:
        if not self._ready or not self._status.is_attached:
            return
        self._status.change(state=message.state)

    def action_back(self) -> None:
        self._dismissed_early = True
        self.dismiss()

    @property
    def _alive(self) -> bool:
        """Mounted and not closed: a key of the same read as the Escape that closed it finds no pane."""
        return self._ready and not self._dismissed_early and self._pane.is_attached

    def action_reload(self) -> None:
        if self._alive:
            self._pane.reload()

    def action_step_pod(self, step: int) -> None:
        if not self._alive:
            return
        key = self.kcrash.neighbour_pod(self.key, step)
        if key is None:
            self.notify("No more pods that way.", timeout=2, markup=False)
            return
        self._show(key)

    def action_open_replacement(self) -> None:
        if not self._alive:
            return
        replacement = self._pane.replacement
        if replacement is not None and self._pane.pod is None:
            self._show(replacement)

    def _show(self, key: tuple[str, str]) -> None:
        self.key = key
        self._pane.show(key)
