"""The drill-down for one pod: diagnosis, last state, memory and timeline, events, logs, rollout.

What the pod record says is drawn at once; what must be asked of the cluster (diagnosis, events,
logs, rollout history, memory) is fetched by one worker per pod that posts each piece as it
arrives. On a cluster the pieces are fetched once, by `ClusterSource.gather`, and the diagnosis
is made from the very answers the sections show. Answers for a pod that is no longer shown are
dropped. Every second `tick` draws again only the sections that read the clock (the title's
"restarts 8 (4s ago)", Last State, the back-off countdown, the ages of events and revisions) and
repaints those whose text changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Container, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.visual import Visual
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from kcrash.cluster.logs import LogResult
from kcrash.cluster.metrics import MemoryView
from kcrash.cluster.retry import Wait
from kcrash.cluster.source import ClusterSource
from kcrash.core.logchoice import telling_log
from kcrash.core.records import Deployment, Diagnosis, Event, MemorySample, Pod, Revision
from kcrash.core.sanitize import clean_line
from kcrash.core.status import pod_columns, primary_container
from kcrash.ui import sections
from kcrash.ui.context import Console, console
from kcrash.ui.failures import one_line, report_worker_failure
from kcrash.ui.history import Termination
from kcrash.ui.widgets.detail_memory import MemoryHistory
from kcrash.ui.widgets.detail_messages import Key as Key
from kcrash.ui.widgets.detail_messages import Loaded as Loaded
from kcrash.ui.widgets.timeline_strip import StripInput, TimelineStrip
from kcrash.ui.wrapping import Block

if TYPE_CHECKING:
    from kcrash.ui.offline import PastedPart
    from kcrash.ui.widgets.memory_chart import ChartData

LOADING = Content.styled("loading…", "$text-muted")
SECTION_OF_PIECE = {
    "events": "events",
    "previous_log": "logs",
    "current_log": "current_log",
    "rollout": "rollout",
    "memory": "memory",
}
"""`ClusterSource.gather`'s pieces that a section draws, and which section."""
PANE_RETRY = 5.0
"""Seconds before a drill-down with a piece that could not be read asks for it again."""
SECTION_IDS = ("#d-diagnosis", "#d-events", "#d-rollout", "#d-logs", "#d-memory-caption")
WIDE_COLUMNS = 110
"""From this width the drill-down sets its sections in two columns."""


def gone_title(replacement: Key | None) -> Content:
    """What the title says once the pod is gone, and where its replacement is."""
    if replacement is None:
        return Content.styled("This pod is gone (deleted or replaced).", "bold $warning")
    return Content.assemble(
        ("This pod is gone. ", "bold $warning"),
        "Its replacement ",
        ("pod/" + clean_line(replacement[1]), "bold"),
        " is here: ",
        ("enter", "bold $accent"),
        " opens it.",
    )


def _same_owner(pod: Pod, owner: str) -> bool:
    controller = pod.controller
    return controller is not None and owner in (controller.uid, controller.name)


def _newer(pod: Pod, than: Pod) -> bool:
    if pod.created_at is None or than.created_at is None:
        return True
    return pod.created_at >= than.created_at


def _heading(text: str, id: str) -> Static:
    return Static(Content.styled(text, "bold"), classes="heading", id=id)


class Waiting(Message):
    """A request of the drill-down waits before it is sent again: "throttled, retrying in 3s"."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words


class DetailPane(MemoryHistory, VerticalScroll):
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
        self._last_seen: Pod | None = None  # the pod as last shown: a deleted one's owner is in it
        self.replacement: Key | None = None
        """A pod of the same owner that appeared after the one shown was deleted."""
        self._loaded_for: tuple[int, str] | None = None  # (restarts, status) the fetched data is about
        self._memory_timer_started = False
        self._archived_memory: tuple[Key, tuple[MemorySample, ...]] | None = None
        self.pieces: dict[str, object] = {}
        self._shown: dict[str, Visual] = {}  # what each section shows, to repaint only on change
        self._retry_timer: Timer | None = None
        self._chart: ChartData | None = None  # what the chart drew last, for the strip's time axis

    @property
    def kcrash(self) -> Console:
        return console(self)

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
                yield TimelineStrip(id="d-timeline")
                yield Static(LOADING, id="d-memory-caption")
                yield _heading("Previous logs  (l: full log view)", "h-logs")
                yield Static(LOADING, id="d-logs")
                yield _heading("Crashes  (archived; l then p steps back through them)", "h-crashes")
                yield Static(LOADING, id="d-crashes")
                yield _heading("Rollout", "h-rollout")
                yield Static(LOADING, id="d-rollout")

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE_COLUMNS, "-wide")

    def on_mount(self) -> None:
        self.set_interval(self.kcrash.metrics_seconds, self._refresh_memory)
        source = self.kcrash.source
        if isinstance(source, ClusterSource):
            source.api.retrier.listen(self._heard_wait)

    def _heard_wait(self, wait: Wait) -> None:
        """From the thread whose request waits: tell the pane on its own loop."""
        self.post_message(Waiting(wait.words))

    def on_waiting(self, message: Waiting) -> None:
        """Sections still loading say why they wait."""
        message.stop()
        note = Content.styled(message.words, "$warning")
        for id in SECTION_IDS:
            shown = self._shown.get(id)
            if shown is LOADING:
                self._set(id, note)
                self._shown[id] = LOADING  # still loading: the next wait may be told too

    def _retry_soon(self) -> None:
        """A piece could not be read: ask for the drill-down again in a few seconds (once)."""
        if self._retry_timer is None:
            self._retry_timer = self.set_timer(PANE_RETRY, self._retry)

    def _retry(self) -> None:
        self._retry_timer = None
        self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event)

    # ---- switching and following -----------------------------------------------------------

    @property
    def pod(self) -> Pod | None:
        return self.kcrash.store.get(self.pod_key) if self.pod_key is not None else None

    def show(self, key: Key) -> None:
        """Show another pod: draw what is known now, fetch the rest."""
        self.pod_key = key
        self._last_seen = None
        self.replacement = None
        self.kcrash.follow_memory(opened=key)
        self.pieces = {}
        self._loaded_for = None
        for id in ("#d-diagnosis", "#d-events", "#d-logs", "#d-rollout", "#d-memory-caption", "#d-crashes"):
            self._set(id, LOADING)
        for chart in self.query("#d-memory"):
            chart.display = False
        self._chart = None
        self.query_one("#d-timeline", TimelineStrip).show_data(StripInput())
        self.scroll_home(animate=False)
        self.pod_changed()

    def pod_changed(self) -> None:
        pod = self.pod
        if pod is None:
            self.look_for_replacement(self.kcrash.store.keys())
            return
        self._last_seen = pod
        self.container = primary_container(pod)
        now = self.kcrash.clock.now()
        self._set("#d-exit-detail", sections.exit_detail(pod, self.container))
        self._draw_log()
        self.tick()
        columns = pod_columns(pod)
        facts = (columns.restarts, columns.status)
        if facts != self._loaded_for:
            self._loaded_for = facts
            self._load(pod, now)
            self._load_crashes(pod)
            if "prometheus" not in self.pieces:
                self._load_prometheus(pod, now, self._chart_columns())

    def look_for_replacement(self, keys: Iterable[Key]) -> None:
        """The shown pod is gone: offer a pod its owner made since, among `keys`."""
        gone, store = self._last_seen, self.kcrash.store
        if self.replacement is None and gone is not None and gone.controller is not None:
            owner = gone.controller.uid or gone.controller.name
            for key in keys:
                pod = store.get(key)
                if pod is not None and key != gone.key and _same_owner(pod, owner) and _newer(pod, gone):
                    self.replacement = key
                    break
        self._set("#d-title", gone_title(self.replacement))

    def reload(self) -> None:
        pod = self.pod
        if pod is not None:
            self._load(pod, self.kcrash.clock.now())
            self._load_crashes(pod)
            self._refresh_memory()

    def crash_archived(self, key: Key) -> None:
        """The recorder archived a crash: list it if it is this pod's."""
        pod = self.pod
        if pod is not None and key == pod.key:
            self._load_crashes(pod)

    def tick(self) -> None:
        """Draw again what reads the clock; repaint only what changed."""
        pod = self.pod
        if pod is None:
            return
        now, container = self.kcrash.clock.now(), self.container
        self._set("#d-title", sections.title_content(pod, container, now))
        self._set("#d-laststate", sections.last_state_content(pod, container, now))
        self._set("#d-backoff", sections.backoff_line(pod, container, now))
        for piece in ("events", "rollout", "crashes"):
            if piece in self.pieces:
                self._draw_piece(piece, now)

    def _set(self, id: str, visual: Visual) -> None:
        """Show `visual` in a section unless it shows that already. Without a layout pass when
        it wraps to as many rows as before: a layout pass repaints the whole screen."""
        last = self._shown.get(id)
        if last is not None and _same(last, visual):
            return
        self._shown[id] = visual
        static = self.query_one(id, Static)
        width = static.content_region.width
        same_rows = (
            width > 0
            and isinstance(last, Block)
            and isinstance(visual, Block)
            and len(last.wrap(width).plain.split("\n")) == len(visual.wrap(width).plain.split("\n"))
        )
        static.update(visual, layout=not same_rows)

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
        if telling_log(pod.status_for(container)) == "current":
            fetches["current_log"] = lambda: source.read_log(pod, container, previous=False, tail_lines=200)
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
            if isinstance(value, MemoryView):
                value = self._with_archived(pod, value)
            if section is not None and not worker.is_cancelled:
                self.post_message(Loaded(pod.key, section, value))

        verdict: object
        try:
            verdict = diagnose(source.gather(pod, now, on_piece=heard))
        except Exception as exc:  # the sections that arrived stay; the diagnosis says why it failed
            verdict = exc
        if not worker.is_cancelled:
            self.post_message(Loaded(pod.key, "diagnosis", verdict))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail-crashes")
    def _load_crashes(self, pod: Pod) -> None:
        from kcrash.history.recorder import workload_of

        archive = self.kcrash.archive
        if archive is None:
            self.post_message(Loaded(pod.key, "crashes", None))
            return
        found = archive.crashes(namespace=pod.namespace, pod=pod.name, workload=workload_of(pod) or None)
        self.post_message(Loaded(pod.key, "crashes", found))

    # ---- drawing what arrived --------------------------------------------------------------

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        if message.key != self.pod_key:
            return
        self.pieces[message.piece] = message.value
        value = message.value
        history = message.piece == "prometheus"  # asked once per pod: its failure is only told
        if not history and (isinstance(value, Exception) or (isinstance(value, LogResult) and value.unread)):
            self._retry_soon()
        if history:
            if "memory" in self.pieces:
                self._draw_piece("memory", self.kcrash.clock.now())
        elif message.piece in ("logs", "current_log"):
            self._draw_log()
        elif message.piece != "scaling":
            self._draw_piece(message.piece, self.kcrash.clock.now())
        if message.piece == "rollout":
            self._load_scaling(message.value)
        if message.piece in ("events", "rollout", "crashes", "scaling"):
            self._draw_timeline(self.kcrash.clock.now())

    def _draw_piece(self, piece: str, now: datetime) -> None:
        value = self.pieces[piece]
        target = {
            "diagnosis": "#d-diagnosis",
            "events": "#d-events",
            "rollout": "#d-rollout",
            "memory": "#d-memory-caption",
            "crashes": "#d-crashes",
        }[piece]
        if piece == "crashes" and not isinstance(value, Exception):
            self._draw_crashes(value, now)
        elif isinstance(value, Exception):
            self._set(target, _failed(value))
        elif piece == "diagnosis" and isinstance(value, Diagnosis):
            self._set(target, sections.diagnosis_content(value))
        elif piece == "events" and isinstance(value, tuple):
            events: tuple[Event, ...] = value
            self._set(target, sections.events_content(events, now, unknown=self._not_pasted("events")))
        elif piece == "rollout" and isinstance(value, tuple):
            deployment: Deployment | None = value[0]
            revisions: tuple[Revision, ...] = value[1]
            unknown = self._not_pasted("rollout")
            content = sections.rollout_content(deployment, revisions, now, unknown=unknown, pod=self.pod)
            self._set(target, content)
        elif piece == "memory" and isinstance(value, MemoryView):
            self._draw_memory(value, now)

    def _draw_crashes(self, value: object, now: datetime) -> None:
        from kcrash.core.timeline import loop_headline
        from kcrash.ui.crashes import NO_ARCHIVE, crashes_content

        pod = self.pod
        if value is None or pod is None:
            note = self.kcrash.archive_note
            self._set(
                "#d-crashes", Content.styled(f"no crash archive: {note}" if note else NO_ARCHIVE, "$warning")
            )
        elif isinstance(value, list):
            moments = [c.moment for c in value if c.moment is not None]
            moments += [t.at for t in self._terminations(pod)]
            own = [c.restart for c in value if c.pod == pod.name and c.container == self.container]
            headline = loop_headline(
                moments,
                self._revisions(),
                pod_start=pod.start_time or pod.created_at,
                first_restart=min(own) if own and len(own) == len(value) else 0,
            )
            self._set("#d-crashes", crashes_content(value, pod.name, now, headline=headline))

    def _revisions(self) -> tuple[Revision, ...]:
        rollout = self.pieces.get("rollout")
        return rollout[1] if isinstance(rollout, tuple) else ()

    def _terminations(self, pod: Pod) -> list[Termination]:
        """The container's deaths seen this session, and those archived before it."""
        seen = list(self.kcrash.terminations.of(pod, self.container))
        times = {t.at for t in seen}
        crashes = self.pieces.get("crashes")
        for crash in crashes if isinstance(crashes, list) else ():
            mine = crash.pod == pod.name and crash.container == self.container
            if mine and crash.finished_at and crash.finished_at not in times:
                seen.append(Termination(crash.finished_at, crash.reason, crash.exit_code))
        return sorted(seen, key=lambda t: t.at)

    def _draw_log(self) -> None:
        """The log that exists: the previous instance's, else the current one of a container that
        exited without a restart or runs without being ready."""
        pod = self.pod
        if pod is None:
            return
        status = pod.status_for(self.container)
        kind = telling_log(status)
        piece = "current_log" if kind == "current" else "logs"
        self._set("#h-logs", Content.styled(sections.log_heading(kind), "bold"))
        value = self.pieces.get(piece)
        if value is None:
            if piece not in self.pieces:
                self._set("#d-logs", LOADING)
            return
        if isinstance(value, Exception):
            self._set("#d-logs", _failed(value))
        elif isinstance(value, LogResult):
            exited = status is not None and status.state.kind == "terminated"
            current = kind == "current"
            dying = not current or exited  # a running container's last lines are not its last words
            error = incomplete(value.error) if value.unread else value.error
            self._set("#d-logs", sections.log_content(value.text, error, current=current, dying=dying))

    def _not_pasted(self, part: PastedPart) -> str:
        """Offline, what a section says when the pastes left its part out; "" on a cluster."""
        source, pod = self.kcrash.source, self.pod
        if isinstance(source, ClusterSource) or pod is None:
            return ""
        return source.not_pasted(pod, part)


def _failed(error: Exception) -> Content:
    return Content.styled(incomplete(f"could not load: {one_line(error)}"), "$error")


def incomplete(why: str) -> str:
    """A section that is incomplete says so, and that it will be asked for again."""
    return f"Incomplete, retrying in {PANE_RETRY:g}s: {why}"


def _same(a: Visual, b: Visual) -> bool:
    if isinstance(a, Content) and isinstance(b, Content):
        return a.is_same(b)
    return isinstance(a, Block) and a == b
