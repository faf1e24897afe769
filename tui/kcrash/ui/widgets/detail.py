"""The drill-down for one pod: diagnosis, last state, memory, events, previous logs, rollout.

What the pod record says is drawn at once; what must be asked of the cluster (diagnosis, events,
logs, rollout history, memory) is fetched by one worker per pod that posts each piece as it
arrives. On a cluster the pieces are fetched once, by `ClusterSource.gather`, and the diagnosis
is made from the very answers the sections show. Answers for a pod that is no longer shown are
dropped. The back-off countdown is the only line that changes every second.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Container, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from kcrash.cluster.logs import LogResult
from kcrash.cluster.metrics import MemoryView
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Deployment, Diagnosis, Event, Pod, Revision
from kcrash.core.status import pod_columns, primary_container
from kcrash.ui import sections
from kcrash.ui.failures import one_line, report_worker_failure

if TYPE_CHECKING:
    from kcrash.ui.app import KcrashApp
    from kcrash.ui.offline import PastedPart
    from kcrash.ui.widgets.memory_chart import ChartData

Key = tuple[str, str]

LOADING = Content.styled("loading…", "$text-muted")
SECTION_OF_PIECE = {"events": "events", "previous_log": "logs", "rollout": "rollout", "memory": "memory"}
"""`ClusterSource.gather`'s pieces that a section draws, and which section."""
WIDE_COLUMNS = 110
"""From this width the drill-down sets its sections in two columns."""


class Loaded(Message):
    """One piece of the drill-down arrived for pod `key`."""

    def __init__(self, key: Key, piece: str, value: object) -> None:
        super().__init__()
        self.key = key
        self.piece = piece
        self.value = value


def _heading(text: str, id: str) -> Static:
    return Static(Content.styled(text, "bold"), classes="heading", id=id)


class DetailPane(VerticalScroll):
    """Everything about one pod; `show(key)` switches pods, `pod_changed()` follows the watch."""

    DEFAULT_CSS = """
    DetailPane {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, can_focus=True)
        self.pod_key: Key | None = None
        self.container = ""
        self._loaded_for: tuple[int, str] | None = None  # (restarts, status) the fetched data is about
        self._memory_timer_started = False
        self.pieces: dict[str, object] = {}

    @property
    def kcrash(self) -> KcrashApp:
        from kcrash.ui.app import KcrashApp

        assert isinstance(self.app, KcrashApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(id="d-title")
        with Container(id="d-columns"):
            with Vertical(id="d-left"):
                yield _heading("Diagnosis", "h-diagnosis")
                yield Static(LOADING, id="d-diagnosis")
                yield _heading("Last state", "h-laststate")
                yield Static(id="d-laststate")
                yield Static(id="d-backoff")
                yield Static(id="d-exit-detail")
                yield _heading("Events", "h-events")
                yield Static(LOADING, id="d-events")
            with Vertical(id="d-right"):
                yield _heading("Memory", "h-memory")
                # The chart (plotext) is mounted here when there is something to draw: the pods
                # list opens without loading plotext at all.
                yield Static(LOADING, id="d-memory-caption")
                yield _heading("Previous logs  (l: full log view)", "h-logs")
                yield Static(LOADING, id="d-logs")
                yield _heading("Rollout", "h-rollout")
                yield Static(LOADING, id="d-rollout")

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE_COLUMNS, "-wide")

    def on_mount(self) -> None:
        self.set_interval(self.kcrash.metrics_seconds, self._refresh_memory)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event)

    # ---- switching and following -----------------------------------------------------------

    @property
    def pod(self) -> Pod | None:
        return self.kcrash.store.get(self.pod_key) if self.pod_key is not None else None

    def show(self, key: Key) -> None:
        """Show another pod: draw what is known now, fetch the rest."""
        self.pod_key = key
        self.kcrash.follow_memory(opened=key)
        self.pieces = {}
        self._loaded_for = None
        for id in ("#d-diagnosis", "#d-events", "#d-logs", "#d-rollout", "#d-memory-caption"):
            self.query_one(id, Static).update(LOADING)
        for chart in self.query("#d-memory"):
            chart.display = False
        self.scroll_home(animate=False)
        self.pod_changed()

    def pod_changed(self) -> None:
        pod = self.pod
        if pod is None:
            self.query_one("#d-title", Static).update(
                Content.styled("This pod is gone (deleted or replaced).", "bold $warning")
            )
            return
        self.container = primary_container(pod)
        now = self.kcrash.clock.now()
        self.query_one("#d-title", Static).update(sections.title_content(pod, self.container, now))
        self.query_one("#d-laststate", Static).update(sections.last_state_content(pod, self.container, now))
        self.query_one("#d-exit-detail", Static).update(sections.exit_detail(pod, self.container))
        self.tick()
        columns = pod_columns(pod)
        facts = (columns.restarts, columns.status)
        if facts != self._loaded_for:
            self._loaded_for = facts
            self._load(pod, now)

    def reload(self) -> None:
        pod = self.pod
        if pod is not None:
            self._load(pod, self.kcrash.clock.now())
            self._refresh_memory()

    def tick(self) -> None:
        pod = self.pod
        if pod is not None:
            line = sections.backoff_line(pod, self.container, self.kcrash.clock.now())
            backoff = self.query_one("#d-backoff", Static)
            last = getattr(backoff, "_kcrash_last", None)
            if line != last:
                backoff._kcrash_last = line  # type: ignore[attr-defined]
                # A countdown of the same length wraps the same: no layout pass (it repaints the
                # whole screen every second).
                backoff.update(line, layout=last is None or len(line.plain) != len(last.plain))

    # ---- fetching --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def _load(self, pod: Pod, now: datetime) -> None:
        """Ask for every piece at once; post each as it arrives (the diagnosis is the slowest)."""
        source = self.kcrash.source
        if isinstance(source, ClusterSource):
            self._gather(source, pod, now)
            return
        worker = get_current_worker()
        container = primary_container(pod)
        fetches: dict[str, Callable[[], object]] = {
            "diagnosis": lambda: source.diagnose(pod, now),
            "events": lambda: source.events_for(pod),
            "logs": lambda: source.read_log(pod, container, previous=True, tail_lines=200),
            "rollout": lambda: source.deployment_history(pod),
            "memory": lambda: source.memory(pod),
        }
        with ThreadPoolExecutor(max_workers=len(fetches), thread_name_prefix="kcrash-detail") as pool:
            futures = {pool.submit(fetch): piece for piece, fetch in fetches.items()}
            for future in as_completed(futures):
                if worker.is_cancelled:
                    return
                try:
                    value: object = future.result()
                except Exception as exc:  # one piece failing must not hide the others
                    value = exc
                self.post_message(Loaded(pod.key, futures[future], value))

    def _gather(self, source: ClusterSource, pod: Pod, now: datetime) -> None:
        """One request of each kind: the sections and the diagnosis share the answers."""
        from kcrash.core.diagnose import diagnose

        worker = get_current_worker()

        def heard(piece: str, value: object) -> None:
            section = SECTION_OF_PIECE.get(piece)
            if section is not None and not worker.is_cancelled:
                self.post_message(Loaded(pod.key, section, value))

        verdict: object
        try:
            verdict = diagnose(source.gather(pod, now, on_piece=heard))
        except Exception as exc:  # the sections that arrived stay; the diagnosis says why it failed
            verdict = exc
        if not worker.is_cancelled:
            self.post_message(Loaded(pod.key, "diagnosis", verdict))

    def _refresh_memory(self) -> None:
        pod = self.pod
        if pod is not None and self.display:
            self._load_memory(pod)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail-memory")
    def _load_memory(self, pod: Pod) -> None:
        source = self.kcrash.source
        source.chart_shown(pod.key)
        self.post_message(Loaded(pod.key, "memory", source.memory(pod)))

    # ---- drawing what arrived --------------------------------------------------------------

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        if message.key != self.pod_key:
            return
        self.pieces[message.piece] = message.value
        value, now = message.value, self.kcrash.clock.now()
        target = {
            "diagnosis": "#d-diagnosis",
            "events": "#d-events",
            "logs": "#d-logs",
            "rollout": "#d-rollout",
            "memory": "#d-memory-caption",
        }[message.piece]
        static = self.query_one(target, Static)
        if isinstance(value, Exception):
            static.update(Content.styled(f"Could not load: {one_line(value)}", "$error"))
            return
        if message.piece == "diagnosis" and isinstance(value, Diagnosis):
            static.update(sections.diagnosis_content(value))
        elif message.piece == "events" and isinstance(value, tuple):
            events: tuple[Event, ...] = value
            static.update(sections.events_content(events, now, unknown=self._not_pasted("events")))
        elif message.piece == "logs" and isinstance(value, LogResult):
            static.update(sections.previous_log_content(value.text, value.error))
        elif message.piece == "rollout" and isinstance(value, tuple):
            deployment: Deployment | None = value[0]
            revisions: tuple[Revision, ...] = value[1]
            unknown = self._not_pasted("rollout")
            static.update(sections.rollout_content(deployment, revisions, now, unknown=unknown))
        elif message.piece == "memory" and isinstance(value, MemoryView):
            self._draw_memory(value, now)

    def _not_pasted(self, part: PastedPart) -> str:
        """Offline, what a section says when the pastes left its part out; "" on a cluster."""
        source, pod = self.kcrash.source, self.pod
        if isinstance(source, ClusterSource) or pod is None:
            return ""
        return source.not_pasted(pod, part)

    def _draw_memory(self, view: MemoryView, now: datetime) -> None:
        from kcrash.ui.widgets.memory_chart import chart_data

        pod = self.pod
        if pod is None:
            return
        spec = pod.spec_for(self.container)
        data = chart_data(
            view.samples,
            container=self.container,
            available=view.available,
            note=view.note,
            limit=spec.memory_limit if spec else None,
            request=spec.memory_request if spec else None,
            terminations=self.kcrash.terminations.of(pod, self.container),
            now=now,
            interval=self.kcrash.source.metrics.interval,
        )
        self._show_chart(data)
        self.query_one("#d-memory-caption", Static).update(Content.styled(data.caption, "$text-muted"))

    def _show_chart(self, data: ChartData) -> None:
        """Draw `data`, mounting the chart the first time there is something to draw."""
        from kcrash.ui.widgets.memory_chart import MemoryChart

        found = self.query("#d-memory")
        if found:
            chart = found.first(MemoryChart)
        elif data.drawable:
            chart = MemoryChart(id="d-memory")
            self.query_one("#d-right").mount(chart, before="#d-memory-caption")
        else:
            return
        chart.display = data.drawable
        chart.show_data(data)
