"""The alert engine on a live cluster, without a console: the pod stream, a ticker, the Deployments'
conditions and the memory samples feed it; each alert goes to a callback.

The pods come from the same LIST+WATCH the console uses (`ClusterSource.watch_pods`); the rules
themselves make no request. Two reads are added, both bounded: one LIST of the scope's
Deployments every `deployments_every` seconds (for `deployment-stuck`), and the PodMetrics LIST
the console's memory chart uses (for `memory-high`), every `metrics_every` seconds; either is
left off when its rule is disabled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.metrics import MemoryView, MetricsSampler
from kcrash.cluster.parse import parse_time
from kcrash.cluster.reflector import SyncState
from kcrash.cluster.source import ClusterSource
from kcrash.core.alerts import Alert, AlertConfig, AlertEngine, DeploymentState
from kcrash.core.records import MemorySample, Pod
from kcrash.core.store import PodStore

log = logging.getLogger(__name__)

OnAlert = Callable[[Alert], None]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def deployment_states(api: Api, namespace: str | None, selector: str = "") -> list[DeploymentState]:
    """One LIST of the scope's Deployments, boiled down to their Progressing conditions."""
    path = (
        f"/apis/apps/v1/namespaces/{quote(namespace, safe='')}/deployments"
        if namespace
        else "/apis/apps/v1/deployments"
    )
    query: list[tuple[str, str | int | bool]] = [("labelSelector", selector)] if selector else []
    where = f'in namespace "{namespace}"' if namespace else "in any namespace"
    doc = api.read_json(f"list deployments {where}", path, query)
    return [_deployment_state(item) for item in doc.get("items") or [] if isinstance(item, Mapping)]


def _deployment_state(item: Mapping[str, Any]) -> DeploymentState:
    meta = item.get("metadata") or {}
    progressing: Mapping[str, Any] = {}
    for cond in (item.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Progressing":
            progressing = cond
    labels = meta.get("labels") or {}
    return DeploymentState(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        progressing_reason=str(progressing.get("reason", "")),
        message=str(progressing.get("message", "")),
        since=parse_time(progressing.get("lastTransitionTime")),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
    )


def newest_samples(pods: Iterable[Pod], view: Callable[[Pod], MemoryView]) -> list[tuple[Pod, MemorySample]]:
    """The newest memory sample of each container that has a memory limit (what `memory-high`
    compares with the limit)."""
    found: list[tuple[Pod, MemorySample]] = []
    for pod in pods:
        if not any(spec.memory_limit for spec in pod.containers):
            continue
        latest: dict[str, MemorySample] = {}
        for sample in view(pod).samples:
            latest[sample.container] = sample
        found += [(pod, sample) for sample in latest.values()]
    return found


class AlertFeed:
    """Feeds one engine from one source; `on_alert` hears each alert (listed or fired) on the
    feed's threads, one at a time."""

    def __init__(
        self,
        source: ClusterSource,
        config: AlertConfig,
        on_alert: OnAlert,
        *,
        clock: Clock = utc_now,
        tick_every: float = 1.0,
        deployments_every: float = 30.0,
        metrics_every: float = 15.0,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self.engine = AlertEngine(config)
        self.store = PodStore()
        self._on_alert = on_alert
        self._on_error = on_error
        self._clock = clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._synced = threading.Event()
        self._tick_every = tick_every
        self._deployments_every = deployments_every if config.rule("deployment-stuck").enabled else 0.0
        self._sampler = (
            MetricsSampler(
                source.api, source.namespace, interval=metrics_every, history=16, on_sample=self._sampled
            )
            if config.rule("memory-high").enabled and metrics_every > 0
            else None
        )
        self._thread = threading.Thread(target=self._run, name="kcrash-alerts", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.source.watch_pods(self._events, self._resync, self._state)
        self._thread.start()
        if self._sampler is not None:
            self._sampler.start()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        self.source.stop()
        if self._sampler is not None:
            self._sampler.stop()
        if self._thread.is_alive():
            self._thread.join(2.0)

    # -- one look (`--once`) ---------------------------------------------------------------------
    def evaluate_once(self) -> list[Alert]:
        """Everything failing now, as already-failing alerts, from one LIST of pods (and of
        Deployments): no watch, no waiting."""
        now = self._clock()
        listed = self.engine.baseline(self.source.list_pods(), now)
        if self._deployments_every:
            listed += self.engine.deployments(
                deployment_states(self.source.api, self.source.namespace, self.source.selector), now
            )
        return listed

    # -- the pod stream (the reflector's dispatcher thread) --------------------------------------
    def _resync(self, pods: list[Pod]) -> None:
        with self._lock:
            now = self._clock()
            if not self.engine.started:
                self.store.replace_all(pods)
                alerts = self.engine.baseline(pods, now)
            else:
                delta = self.store.replace_all(pods)
                alerts = self.engine.update(self._pods(delta.added | delta.changed), delta.removed, now)
            self._emit(alerts)
        self._synced.set()

    def _events(self, batch: list[tuple[str, Pod]]) -> None:
        with self._lock:
            delta = self.store.apply_batch(batch)
            if delta:
                alerts = self.engine.update(
                    self._pods(delta.added | delta.changed), delta.removed, self._clock()
                )
                self._emit(alerts)

    def _state(self, state: SyncState) -> None:
        if state.phase == "reconnecting" and state.failures == 1 and self._on_error is not None:
            self._on_error(f"watch interrupted: {state.last_error} (retrying)")

    def _pods(self, keys: frozenset[tuple[str, str]]) -> list[Pod]:
        return [pod for key in keys if (pod := self.store.get(key)) is not None]

    def _emit(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            try:
                self._on_alert(alert)
            except Exception:  # an outlet failing must not stop the others
                log.debug("alert outlet failed", exc_info=True)

    # -- time and the other reads ----------------------------------------------------------------
    def _run(self) -> None:
        next_deployments = 0.0
        waited = 0.0
        while not self._stopping.wait(self._tick_every):
            waited += self._tick_every
            if not self._synced.is_set():
                continue
            with self._lock:
                self._emit(self.engine.tick(self._clock()))
            if self._deployments_every and waited >= next_deployments:
                next_deployments = waited + self._deployments_every
                self._read_deployments()

    def _read_deployments(self) -> None:
        try:
            states = deployment_states(self.source.api, self.source.namespace, self.source.selector)
        except KcrashError as exc:
            if exc.status in (403, 404):
                self._deployments_every = 0.0  # not allowed or not served: stop asking
            if self._on_error is not None:
                self._on_error(f"deployment-stuck: {exc}")
            return
        with self._lock:
            self._emit(self.engine.deployments(states, self._clock()))

    def _sampled(self) -> None:
        """After a PodMetrics round: the newest sample of every container with a memory limit."""
        sampler = self._sampler
        if sampler is None:
            return
        with self._lock:
            now = self._clock()
            for pod, sample in newest_samples(self.store.values(), sampler.view):
                self._emit(self.engine.memory(pod, sample, now))
