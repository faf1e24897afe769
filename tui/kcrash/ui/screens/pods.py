"""The pods screen: every pod in scope, problems first, kept live by the watch.

| Key | Action |
| :- | :- |
| enter | Open the drill-down (beside the list on wide terminals, full screen otherwise) |
| / | Filter by text (all words must match); enter keeps it, escape clears it |
| h | Hide / show healthy pods |
| w | Wide: every column at full width, scrolled with left/right |
| P / S / R / A / N | Sort: problems first (default) / status / restarts / age / name; again reverses |
| escape | Close the side panel, or clear the filter |
| ] / [ | Next / previous pod (the side panel follows) |
| : | Command line: ns NAME, ctx NAME, all, l SELECTOR (tab completes; ns / ctx alone pick) |
| 0 | All namespaces |
| E | Events of the scope (warnings first, aggregated, filterable; enter opens the pod) |
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import ClassVar

from msgspec.structs import replace
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.widgets.input import Selection

from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Pod
from kcrash.core.status import primary_container
from kcrash.ui.messages import PodsChanged, ScopeChecked, SyncChanged
from kcrash.ui.rows import PodRow, SortBy, build_row, data_widths, pod_columns_for, row_filter, sort_key
from kcrash.ui.screens.base import POD_BINDINGS
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.scoping import ScopedPodScreen
from kcrash.ui.widgets.detail import DetailPane
from kcrash.ui.widgets.pod_table import PodTable, RowKey
from kcrash.ui.widgets.status_line import HeaderFacts, StatusLine

SIDE_BY_SIDE_WIDTH = 140
"""From this terminal width the drill-down opens beside the list instead of over it."""

HEADER_SECONDS = 0.2
"""While the watch is busy the header's counts are redrawn at most this often, the last change
always shown: at a thousand events a second the failing count changed with nearly every batch,
and each redraw was a frame of its own (a tenth of the UI thread's time)."""

FILTER_DELAY = 0.12
"""Seconds after the last key typed in the filter before the table is filtered."""

RECHECK_SECONDS = 15.0
"""How often the pods whose verdict time alone can change are re-judged: "restarted 9m ago" stops
counting at 10m with no event. Only those rows are looked at (`PodRow.time_bound`), a share per
tick, not all at once: every row of 20,000 pods took a tenth of a second."""


class MemoryRead(Message):
    """Latest memory use of the pods on screen: key -> bytes (None: no sample)."""

    def __init__(self, used: dict[tuple[str, str], int | None]) -> None:
        super().__init__()
        self.used = used


class PodsScreen(ScopedPodScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("h", "toggle_healthy", "Healthy"),
        Binding("w", "toggle_wide", "Wide", tooltip="Every column at full width; left/right scroll"),
        Binding("escape", "escape", "Back", show=False),
        Binding("P", "sort('problems')", "Problems first", show=False),
        Binding("S", "sort('status')", "Sort status", show=False),
        Binding("R", "sort('restarts')", "Sort restarts", show=False),
        Binding("A", "sort('age')", "Sort age", show=False),
        Binding("N", "sort('name')", "Sort name", show=False),
        Binding("r", "refresh", "Reload", show=False),
        *POD_BINDINGS,
    ]

    def __init__(self) -> None:
        super().__init__(id="pods-screen")
        self.sort_by: SortBy = "problems"
        self.reverse = False
        self.filter_text = ""
        self.hide_healthy = False
        self._memory: dict[tuple[str, str], int | None] = {}
        self._widths: dict[str, int] = {}
        self._memory_read_once = False
        self._ready = False  # mounted: store changes before this are read in on_mount
        self._filter_timer: Timer | None = None
        self._header_at = -HEADER_SECONDS  # time.monotonic() of the last header update
        self._header_timer: Timer | None = None  # the update held back until HEADER_SECONDS passed
        self._time_bound: set[tuple[str, str]] = set()  # keys of the rows `time_bound` holds for
        self._recheck_queue: list[tuple[str, str]] = []
        self._recheck_share = 1  # rows per tick for the current round of the queue
        self._selected_in: dict[object, tuple[str, str]] = {}  # scope -> the pod selected there
        self._restore: tuple[str, str] | None = None  # to select once the new scope's list is in

    # ---- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.kcrash
        self._table = PodTable(
            pod_columns_for(app.all_namespaces),
            clock=app.clock,
            empty_text="Waiting for the first list of pods…",
            id="pods",
        )
        self._side: DetailPane | None = None  # mounted on first use: a launch styles fewer widgets
        self._status = StatusLine(
            HeaderFacts(
                context=app.source.context,
                namespace=app.source.namespace,
                state=app.sync_state,
                read_only=app.read_only,
                selector=getattr(app.source, "selector", ""),
            ),
            id="status",
        )
        yield self._status
        with Horizontal(id="body"):
            yield self._table
        yield Footer(compact=True)

    # Kept, not queried: a watch batch asks for them several times, and a batch that lands while
    # the app shuts down finds them even after the screen lost its children.
    @property
    def table(self) -> PodTable:
        return self._table

    def _open_side(self) -> DetailPane | None:
        """The drill-down beside the list, if it is open."""
        side = self._side
        return side if side is not None and side.display else None

    async def _side_pane(self) -> DetailPane:
        """The drill-down beside the list, mounted the first time it opens."""
        if self._side is None:
            self._side = DetailPane(id="side")
            await self.query_one("#body", Horizontal).mount(self._side)
        return self._side

    def _filter_box(self) -> Input | None:
        """The filter line, once `/` has mounted it."""
        boxes = self.query("#filter").results(Input)
        return next(boxes, None)

    def on_mount(self) -> None:
        self.table.set_order(sort_key(self.sort_by))
        self.set_focus(self.table)
        app = self.kcrash
        self.set_interval(app.tick_seconds, self._tick)
        self.set_interval(app.metrics_seconds, self._read_memory)
        self._ready = True
        if len(app.store):
            self._upsert_keys(app.store.keys())
        self._status.change(state=app.sync_state)

    def selected_pod(self) -> Pod | None:
        key = self.table.cursor_key
        return self.kcrash.store.get(key) if isinstance(key, tuple) else None

    # ---- store and sync --------------------------------------------------------------------

    def store_changed(self, message: PodsChanged) -> None:
        if not self._ready or not self.table.is_attached:
            return
        if message.resync:
            self.table.empty_text = "No pods in this scope." if not len(self.kcrash.store) else ""
        self._upsert_keys(message.keys)
        if message.resync and self._restore is not None and self.table.move_to(self._restore):
            self._restore = None
        side = self._open_side()
        if side is not None and side.pod_key in message.keys:
            side.pod_changed()

    def _upsert_keys(self, keys: Iterable[tuple[str, str]]) -> None:
        app = self.kcrash
        store, failing, now = app.store, app.failing, app.clock.now()
        rows: list[PodRow] = []
        removed: list[tuple[str, str]] = []
        bound = self._time_bound
        marks = app.alert_desk.marks
        for key in keys:
            pod = store.get(key)
            if pod is None:
                removed.append(key)
                failing.discard(key)
                bound.discard(key)
                self._memory.pop(key, None)
                continue
            row = build_row(pod, now, self._memory.get(key))
            if marks and app.alert_desk.is_marked(pod):
                row = replace(row, oom_mark=True)
            rows.append(row)
            if row.failing:
                failing.add(key)
            else:
                failing.discard(key)
            if row.time_bound:
                bound.add(key)
            else:
                bound.discard(key)
        if rows:
            self._fit_columns(rows)
        self.table.apply(rows, removed)
        self._update_header(soon=True)
        if rows:
            self._first_memory_read()

    def _first_memory_read(self) -> None:
        """Read memory for the rows on screen once the first list is in (then every few seconds).
        Not sooner: the first round of PodMetrics for the whole scope (0.3 s of CPU at 20,000
        pods) would compete with the rest of the pod list for the interpreter."""
        listed = self.kcrash.sync_state.phase != "connecting"  # synced, or pastes ("stopped")
        if not self._memory_read_once and listed and len(self.kcrash.store):
            self._memory_read_once = True
            self.call_after_refresh(self._read_memory)

    def _fit_columns(self, rows: list[PodRow]) -> None:
        """Widen data-sized columns when a longer text arrives (they never shrink while running)."""
        longest = max(len(r.name) for r in rows)
        if longest > self.table.flex_cap:
            self.table.set_flex_cap(longest)
        seen = data_widths(rows)
        grown = {k: v for k, v in seen.items() if v > self._widths.get(k, 0)}
        if grown:
            self._widths.update(grown)
            self.table.set_columns(pod_columns_for(self.kcrash.all_namespaces, self._widths))

    def sync_changed(self, message: SyncChanged) -> None:
        if not self._ready:
            return
        self._status.change(state=message.state)
        # Rows that may be out of date look it: dimmed until the watch is live again.
        self.table.set_class(message.state.stale, "-stale")
        self._first_memory_read()
        if message.state.phase == "synced" and not len(self.kcrash.store):
            self.table.empty_text = "No pods in this scope."
            self.table.refresh()
            self._check_namespace()

    @work(thread=True, exclusive=True, exit_on_error=False, group="pods-namespace")
    def _check_namespace(self) -> None:
        source = self.kcrash.source
        if isinstance(source, ClusterSource):
            self.post_message(ScopeChecked(source.missing_namespace()))

    def on_scope_checked(self, message: ScopeChecked) -> None:
        if message.problem and not len(self.kcrash.store):
            self.table.empty_text = message.problem
            self.table.refresh()
            self._status.change(scope_error=message.problem)

    def _update_header(self, soon: bool = False) -> None:
        """Show the counts and modes now, or with `soon` within HEADER_SECONDS of the last update."""
        if soon:
            wait = self._header_at + HEADER_SECONDS - time.monotonic()
            if wait > 0:
                if self._header_timer is None:
                    self._header_timer = self.set_timer(wait, self._header_due)
                return
        if self._header_timer is not None:
            self._header_timer.stop()
            self._header_timer = None
        self._header_at = time.monotonic()
        self.kcrash.follow_memory()
        self._status.change(
            pods=len(self.kcrash.store),
            failing=len(self.kcrash.failing),
            shown=self.table.row_count,
            filter_text=self.filter_text,
            hide_healthy=self.hide_healthy,
            sort=self.sort_by + (" ↑" if self.reverse else ""),
        )

    def _header_due(self) -> None:
        self._header_timer = None
        self._update_header()

    # ---- time ------------------------------------------------------------------------------

    def _tick(self) -> None:
        self.table.tick()
        if (side := self._open_side()) is not None:
            side.tick()
        self._recheck_some()

    def _recheck_some(self) -> None:
        """Re-judge this tick's share of the time-bound rows, each every RECHECK_SECONDS."""
        if not self._recheck_queue:
            if not self._time_bound:
                return
            self._recheck_queue = list(self._time_bound)
            self._recheck_share = max(
                1, math.ceil(len(self._recheck_queue) * self.kcrash.tick_seconds / RECHECK_SECONDS)
            )
        share = self._recheck_share
        keys, self._recheck_queue = self._recheck_queue[-share:], self._recheck_queue[:-share]
        self._recheck(keys)

    def _recheck(self, keys: Iterable[RowKey]) -> None:
        """Rebuild the rows among `keys` whose verdict changed with time alone."""
        now = self.kcrash.clock.now()
        stale = []
        for key in keys:
            row = self.table.row(key)
            if isinstance(row, PodRow) and row.time_bound and row.outdated(now):
                stale.append(row.key)
        if stale:
            self._upsert_keys(stale)

    def _read_memory(self) -> None:
        on_screen = self.table.keys_on_screen()
        pods = [p for p in (self.kcrash.store.get(k) for k in on_screen if isinstance(k, tuple)) if p]
        if pods:
            self._sample_memory(pods)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pods-memory")
    def _sample_memory(self, pods: list[Pod]) -> None:
        used: dict[tuple[str, str], int | None] = {}
        for pod in pods:
            view = self.kcrash.source.memory(pod)
            container = primary_container(pod)
            mine = [s for s in view.samples if s.container == container]
            used[pod.key] = mine[-1].bytes if mine else None
        self.post_message(MemoryRead(used))

    def on_memory_read(self, message: MemoryRead) -> None:
        changed = [k for k, v in message.used.items() if self._memory.get(k) != v]
        self._memory.update(message.used)
        if changed:
            self._upsert_keys(changed)

    # ---- opening a pod ---------------------------------------------------------------------

    @on(PodTable.Selected)
    async def _open(self, event: PodTable.Selected) -> None:
        key = event.key
        if not isinstance(key, tuple):
            return
        if self.app.screen is not self:
            return  # a second Enter of one batch, for the drill-down the first one opened
        if self.size.width >= SIDE_BY_SIDE_WIDTH:
            side = await self._side_pane()
            side.display = True
            side.show(key)
        else:
            self.kcrash.open_screen(DetailScreen(key))

    @on(PodTable.Highlighted)
    def _follow_cursor(self, event: PodTable.Highlighted) -> None:
        side = self._open_side()
        if side is not None and isinstance(event.key, tuple) and event.key != side.pod_key:
            side.show(event.key)

    def on_resize(self, event: Resize) -> None:
        """Too narrow for two panes: the open drill-down moves to a screen of its own."""
        side = self._open_side()
        if side is not None and event.size.width < SIDE_BY_SIDE_WIDTH:
            side.display = False
            if side.pod_key is not None and self.app.screen is self:
                self.kcrash.open_screen(DetailScreen(side.pod_key))

    # ---- filter, sort, toggles -------------------------------------------------------------

    async def action_filter(self) -> None:
        box = self._filter_box()
        if box is None:
            box = Input(
                placeholder="filter: words in name, status or last exit",
                id="filter",
                compact=True,
                # Selected here, not when the focus event lands: that can come after the first
                # keys of the same read were typed, and selecting them then scrambled them.
                select_on_focus=False,
            )
            await self.mount(box, before="#body")
        box.display = True
        # Focus now, not on the next turn (`focus()`): the keys typed after `/` in the same
        # read are already queued and must find the box focused (see `KcrashApp._on_key`).
        self.set_focus(box)
        box.selection = Selection(0, len(box.value))  # typing replaces the filter, arrows edit it

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        # Typing fast re-filters once, after the last key (a filter pass is O(pods)).
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self._set_filter_text(event.value))

    def _set_filter_text(self, value: str) -> None:
        self._filter_timer = None
        if value.strip() != self.filter_text:
            self.filter_text = value.strip()
            self._apply_filter()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        box = self._filter_box()
        if box is None:
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._set_filter_text(box.value)
        if not box.value.strip():
            box.display = False
        self.set_focus(self.table)

    def action_escape(self) -> None:
        if self.close_command_line():
            return
        box = self._filter_box()
        side = self._open_side()
        if box is not None and (box.has_focus or (side is None and self.filter_text)):
            box.value = ""
            box.display = False
            self._set_filter_text("")
            self.set_focus(self.table)  # now: the next key of the same read goes to the list
            return
        if side is not None:
            side.display = False
            self.set_focus(self.table)  # now: the next key of the same read goes to the list

    def action_toggle_healthy(self) -> None:
        self.hide_healthy = not self.hide_healthy
        self._apply_filter()
        self.notify(
            "Healthy pods hidden." if self.hide_healthy else "Showing all pods.", timeout=2, markup=False
        )

    def _apply_filter(self) -> None:
        self.table.set_filter(row_filter(self.filter_text, self.hide_healthy))
        if self.filter_text or self.hide_healthy:
            self.table.empty_text = "No pod matches the filter."
        self._update_header()

    def action_toggle_wide(self) -> None:
        wide = not self.table.wide
        self.table.set_wide(wide)
        self.notify(
            "Every column at full width: left/right scroll, w again fits the screen."
            if wide
            else "Columns fit the screen.",
            timeout=3,
            markup=False,
        )

    def action_sort(self, by: SortBy) -> None:
        self.reverse = not self.reverse if by == self.sort_by else False
        self.sort_by = by
        self.table.set_order(sort_key(by), reverse=self.reverse)
        self._update_header()

    # ---- scope -----------------------------------------------------------------------------

    def remember_selection(self) -> None:
        key = self.table.cursor_key
        if isinstance(key, tuple):
            self._selected_in[self.current_scope()] = key

    def scope_changed(self) -> None:
        """Another namespace, selector or context: empty rows, new columns and header, and the
        pod selected when this scope was last shown selected again once its list is in."""
        app = self.kcrash
        self._restore = self._selected_in.get(self.current_scope())
        self._memory.clear()
        self._time_bound.clear()
        self._recheck_queue = []
        self._memory_read_once = False
        self._widths = {}
        if (side := self._open_side()) is not None:
            side.display = False
        self.table.replace([])
        self.table.set_columns(pod_columns_for(app.all_namespaces))
        self.table.empty_text = "Waiting for the first list of pods…"
        self.table.set_class(False, "-stale")
        self.set_focus(self.table)
        source = app.source
        self._status.change(
            context=source.context,
            namespace=source.namespace,
            state=app.sync_state,
            scope_error="",
            selector=getattr(source, "selector", ""),
        )
        self._update_header()

    def step_from(self, key: tuple[str, str], step: int) -> tuple[str, str] | None:
        """The pod `step` rows from `key`, with the cursor moved onto it."""
        found = self.table.neighbour(key, step)
        if not isinstance(found, tuple):
            return None
        self.table.move_to(found)
        return found

    def action_step_pod(self, step: int) -> None:
        """`]` / `[` on the list: the cursor moves (an open side panel follows it)."""
        key = self.table.cursor_key
        found = self.step_from(key, step) if isinstance(key, tuple) else None
        if found is None:
            self.notify("No more pods that way.", timeout=2, markup=False)

    def action_refresh(self) -> None:
        if (side := self._open_side()) is not None:
            side.reload()
        source = self.kcrash.source
        if isinstance(source, ClusterSource):
            self._reconnect(source)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reconnect")
    def _reconnect(self, source: ClusterSource) -> None:
        """Credentials read again from the kubeconfig and the pod stream tried at once; a
        kubeconfig that cannot be read any more says why."""
        if not source.reconnect() and source.api.link.renewal_error:
            error = source.api.link.renewal_error
            self.app.call_from_thread(self.notify, error, severity="error", timeout=8, markup=False)
