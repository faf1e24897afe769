"""The drill-down's memory history: the chart of the pod's memory and the timeline strip under it.

`MemoryHistory` is a mixin of `DetailPane`. It fetches the console's samples (every metrics
interval), the samples an earlier run archived and Prometheus's last hour, merges the restarts
each of them saw, and draws the chart and the strip. What it reads of the pane (the pod, the
pieces fetched so far, the section painter) is declared below for the type checker.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textual import work
from textual.containers import VerticalScroll
from textual.content import Content

from kcrash.cluster.metrics import MemoryView
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Deployment, MemorySample, Pod, Revision
from kcrash.ui.failures import one_line
from kcrash.ui.history import Termination
from kcrash.ui.widgets.detail_messages import Key, Loaded
from kcrash.ui.widgets.timeline_strip import StripInput, TimelineStrip

if TYPE_CHECKING:
    from textual.visual import Visual

    from kcrash.history.prometheus import PodHistory
    from kcrash.ui.context import Console
    from kcrash.ui.widgets.memory_chart import ChartData

    _Pane = VerticalScroll
else:
    _Pane = object  # at run time a plain mixin: DetailPane brings the widget

ARCHIVED_WINDOW = timedelta(hours=1)
"""How far back the chart reaches into samples an earlier run archived (the chart's hour)."""
PROMETHEUS_WINDOW = timedelta(hours=1)
"""How far back the chart asks Prometheus for, at its first paint."""
CHART_COLUMNS = 60
"""The chart's plot width assumed before it is first laid out (the step is chosen from it)."""


class MemoryHistory(_Pane):
    """The memory chart and timeline strip of `DetailPane`, and the fetching they need."""

    container: str
    pieces: dict[str, object]
    _archived_memory: tuple[Key, tuple[MemorySample, ...]] | None
    _chart: ChartData | None

    if TYPE_CHECKING:  # provided by DetailPane

        @property
        def kcrash(self) -> Console: ...

        @property
        def pod(self) -> Pod | None: ...

        def _set(self, id: str, visual: Visual) -> None: ...

        def _terminations(self, pod: Pod) -> list[Termination]: ...

        def _revisions(self) -> tuple[Revision, ...]: ...

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail-prometheus")
    def _load_prometheus(self, pod: Pod, now: datetime, columns: int) -> None:
        """The last hour of the pod's memory and restarts from Prometheus, once per pod opened
        (the console's own samples take over from there); a failure is one line under the chart."""
        from kcrash.core.memorysources import choose_step
        from kcrash.history.prometheus import prometheus_for

        source = self.kcrash.source
        if not isinstance(source, ClusterSource):
            return
        step = choose_step(PROMETHEUS_WINDOW.total_seconds(), columns)
        value: object
        try:
            value = prometheus_for(source).pod_history(
                pod.namespace, pod.name, now - PROMETHEUS_WINDOW, now, step
            )
        except Exception as exc:  # never in the way of the rest of the drill-down
            value = exc
        self.post_message(Loaded(pod.key, "prometheus", value))

    def _chart_columns(self) -> int:
        """Columns the chart plots across (the y labels take about a dozen)."""
        found = self.query("#d-memory") or self.query("#d-right")
        width = found.first().size.width if found else 0
        return max(20, width - 12) if width else CHART_COLUMNS

    def _refresh_memory(self) -> None:
        pod = self.pod
        if pod is not None and self.display:
            self._load_memory(pod)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail-memory")
    def _load_memory(self, pod: Pod) -> None:
        source = self.kcrash.source
        source.chart_shown(pod.key)
        view = source.memory(pod)
        self.post_message(Loaded(pod.key, "memory", self._with_archived(pod, view)))

    def _with_archived(self, pod: Pod, view: MemoryView) -> MemoryView:
        """The samples an earlier run archived, before this session's first one (read once per pod)."""
        archive = self.kcrash.archive
        if archive is None or not view.available:
            return view
        if self._archived_memory is None or self._archived_memory[0] != pod.key:
            since = self.kcrash.clock.now() - ARCHIVED_WINDOW
            found = tuple(
                MemorySample(at, container, used)
                for container in {s.name for s in pod.container_statuses}
                for at, used in archive.memory(pod.namespace, pod.name, container, since)
            )
            self._archived_memory = (pod.key, found)
        first = min((s.at for s in view.samples), default=None)
        earlier = [s for s in self._archived_memory[1] if first is None or s.at < first]
        if not earlier:
            return view
        samples = tuple(sorted((*earlier, *view.samples), key=lambda s: (s.at, s.container)))
        return MemoryView(samples, view.available, view.note)

    def _draw_memory(self, view: MemoryView, now: datetime) -> None:
        from kcrash.ui.widgets.memory_chart import chart_data

        pod = self.pod
        if pod is None:
            return
        spec = pod.spec_for(self.container)
        archived = (
            self._archived_memory[1] if self._archived_memory and self._archived_memory[0] == pod.key else ()
        )
        history, history_note = self._prometheus_piece()
        data = chart_data(
            view.samples,
            container=self.container,
            available=view.available,
            note=view.note,
            limit=spec.memory_limit if spec else None,
            request=spec.memory_request if spec else None,
            terminations=self._with_prometheus_restarts(self._terminations(pod), history),
            now=now,
            interval=self.kcrash.source.metrics.interval,
            deploys=[(r.created_at, f"rev {r.number}") for r in self._revisions() if r.created_at],
            archived=archived,
            prometheus=history.samples if history else (),
            prometheus_step=history.step if history else 60.0,
            prometheus_note=history_note,
        )
        self._show_chart(data)
        self._chart = data if data.drawable else None
        self._draw_timeline(now)
        self._set("#d-memory-caption", Content.styled(data.caption, "$text-muted"))

    def _with_prometheus_restarts(
        self, seen: list[Termination], history: PodHistory | None
    ) -> list[Termination]:
        """Restarts Prometheus saw that neither the console nor the archive did (it sees them a
        step late at most: one within a step of a known death is that death)."""
        if history is None:
            return seen
        slack = timedelta(seconds=history.step + 30)
        more = [
            Termination(r.at, r.reason, None)
            for r in history.restarts
            if r.container == self.container and not any(abs(t.at - r.at) <= slack for t in seen)
        ]
        return sorted([*seen, *more], key=lambda t: t.at)

    def _prometheus_piece(self) -> tuple[PodHistory | None, str]:
        """Prometheus's hour for the chart, and the line said about it (why it is missing)."""
        from kcrash.history.prometheus import NotFound, PodHistory

        value = self.pieces.get("prometheus")
        if isinstance(value, PodHistory):
            if not value.samples:
                return value, f"Prometheus ({value.where}) has no working set of this pod in the last hour."
            return value, ""
        if isinstance(value, NotFound):
            # Most clusters have none: one short line, not the search's whole account.
            return None, "No Prometheus found (give --prometheus URL)."
        if isinstance(value, Exception):
            return None, f"Prometheus: {one_line(value)}"
        return None, ""

    def _draw_timeline(self, now: datetime) -> None:
        """The strip under the chart, on the chart's time axis when there is a chart."""
        from functools import partial

        from kcrash.ui.timeline import backoff_span, earlier_pods, happenings

        pod = self.pod
        if pod is None:
            return
        own = self._with_prometheus_restarts(self._terminations(pod), self._prometheus_piece()[0])
        started = pod.start_time or pod.created_at
        inherited = earlier_pods(
            own, self.pieces.get("crashes"), pod=pod.name, container=self.container, started=started
        )
        found = happenings([*inherited, *own], self._revisions(), self.pieces.get("scaling"))
        events = self.pieces.get("events")
        span = backoff_span(events if isinstance(events, tuple) else (), self.container)
        data = StripInput(found, now, span)
        chart = self._chart
        if chart is not None:
            from kcrash.ui.widgets.memory_chart import plot_area

            data = StripInput(found, now, span, min(chart.xs), partial(plot_area, chart), chart)
        self.query_one("#d-timeline", TimelineStrip).show_data(data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail-scaling")
    def _load_scaling(self, rollout: object) -> None:
        """The Deployment's scale changes, from its events (on a cluster, for a pod that restarted)."""
        from kcrash.ui.timeline import scale_changes

        pod, source = self.pod, self.kcrash.source
        if pod is None or not isinstance(source, ClusterSource) or not isinstance(rollout, tuple):
            return
        deployment = rollout[0]
        if not isinstance(deployment, Deployment) or not any(s.restart_count for s in pod.container_statuses):
            return  # a pod that never restarted has no crash to set a scale change beside
        try:
            found = scale_changes(
                source.api.object_events(pod.namespace, "Deployment", deployment.name), deployment.name
            )
        except Exception:  # scale changes are a detail of the strip: the rest stands without them
            return
        self.post_message(Loaded(pod.key, "scaling", found))

    def _show_chart(self, data: ChartData) -> None:
        """Draw `data`, mounting the chart the first time there is something to draw."""
        from kcrash.ui.widgets.memory_chart import MemoryChart

        found = self.query("#d-memory")
        if found:
            chart = found.first(MemoryChart)
        elif data.drawable:
            chart = MemoryChart(id="d-memory")
            self.query_one("#d-right").mount(chart, before="#d-timeline")
        else:
            return
        chart.display = data.drawable
        chart.show_data(data)
