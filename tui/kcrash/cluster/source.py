"""The one object the console talks to: a cluster, a namespace scope, and everything kcrash asks of it.

All methods block; the UI calls them from worker threads. Failures raise `KcrashError` (one line),
except log reads, whose failures come back inside `LogResult` for the log pane to show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from kcrash.cluster import actions, logs, rollout
from kcrash.cluster.access import Access, AccessChecker
from kcrash.cluster.api import Api
from kcrash.cluster.config import Connection
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.logs import LogFollower, LogResult
from kcrash.cluster.metrics import MemoryView, MetricsSampler
from kcrash.cluster.reflector import Backoff, Reflector, SyncState
from kcrash.cluster.rollout import UndoPlan
from kcrash.core.diagnose import diagnose as core_diagnose
from kcrash.core.records import Deployment, Diagnosis, DiagnosisInput, Event, Pod, Revision
from kcrash.core.status import primary_container

__all__ = ["Access", "ClusterSource", "LogResult", "MemoryView", "SyncState", "UndoPlan"]

R = TypeVar("R")
DIAGNOSE_TAIL = 200


class ClusterSource:
    """A cluster as the console sees it: pods streaming in, and the questions asked about one pod."""

    def __init__(
        self,
        conn: Connection,
        *,
        namespace: str | None,
        selector: str = "",
        read_only: bool = False,
        metrics_interval: float = 15.0,
        watch_timeout: tuple[int, int] = (300, 600),
        backoff: Backoff | None = None,
    ) -> None:
        self.conn = conn
        self.context = conn.context
        self.server = conn.server
        self.namespace = namespace
        self.selector = selector
        self.read_only = read_only
        self.api = Api(conn, read_only=read_only)
        self.metrics = MetricsSampler(self.api, namespace, interval=metrics_interval)
        self._access = AccessChecker(self.api, read_only=read_only)
        self._watch_timeout = watch_timeout
        self._backoff = backoff
        self.reflector: Reflector[Pod] | None = None

    # -- the pod stream ----------------------------------------------------------------------------
    def watch_pods(
        self,
        on_events: Callable[[list[tuple[str, Pod]]], None],
        on_resync: Callable[[list[Pod]], None],
        on_state: Callable[[SyncState], None],
    ) -> None:
        """Start LIST+WATCH of pods in the scope (and the metrics sampler); callbacks come from a thread."""
        if self.reflector is not None:
            return
        self.reflector = Reflector(
            lambda token: self.api.list_pods(self.namespace, self.selector, continue_token=token),
            lambda rv, timeout: self.api.watch_pods(self.namespace, self.selector, rv, timeout),
            key=lambda pod: pod.key,
            version=lambda pod: pod.resource_version,
            on_events=on_events,
            on_resync=on_resync,
            on_state=on_state,
            watch_timeout=self._watch_timeout,
            backoff=self._backoff,
        )
        self.reflector.start()
        self.metrics.start()

    def stop(self) -> None:
        if self.reflector is not None:
            self.reflector.stop()
        self.metrics.stop()

    def list_pods(self) -> tuple[Pod, ...]:
        """Every pod in the scope once, without watching (the `diagnose` command)."""
        return self.api.list_all_pods(self.namespace, self.selector).items

    # -- one pod -----------------------------------------------------------------------------------
    def events_for(self, pod: Pod) -> tuple[Event, ...]:
        return self.api.events_for(pod)

    def read_log(self, pod: Pod, container: str, previous: bool, tail_lines: int = 200) -> LogResult:
        return logs.read_log(self.api, pod, container, previous, tail_lines)

    def follow_log(self, pod: Pod, container: str) -> LogFollower:
        """New log lines as they come, in bounded chunks; `close()` ends it from any thread."""
        return LogFollower(self.api, pod, container)

    def memory(self, pod: Pod) -> MemoryView:
        if self.metrics.samples_taken == 0 and self.metrics.available is not False:
            self.metrics.sample_once()  # asked before the sampler's first round: sample now
        return self.metrics.view(pod)

    def deployment_history(self, pod: Pod) -> tuple[Deployment | None, tuple[Revision, ...]]:
        return rollout.deployment_history(self.api, pod)

    def configmap_keys(self, namespace: str, names: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Keys of the ConfigMaps that exist (missing or unreadable ones are left out). Never Secrets."""
        found: list[tuple[str, tuple[str, ...]]] = []
        for name in sorted(set(names)):
            try:
                keys = self.api.configmap_keys(namespace, name)
            except KcrashError:
                continue
            if keys is not None:
                found.append((name, keys))
        return tuple(found)

    def diagnose(self, pod: Pod, now: datetime) -> Diagnosis:
        """Gather what the diagnosis looks at (in parallel) and ask core for the verdict."""
        container = primary_container(pod)
        status = pod.status_for(container)
        wants_previous = status is not None and (
            status.restart_count > 0
            or (status.last_state is not None and status.last_state.kind == "terminated")
        )
        wants_current = status is not None and status.state.kind in ("running", "terminated")
        configmaps = {
            ref.name
            for spec in (*pod.containers, *pod.init_containers)
            for ref in spec.env_refs
            if ref.kind == "ConfigMap" and ref.name
        }
        with ThreadPoolExecutor(max_workers=5, thread_name_prefix="kcrash-diagnose") as pool:
            events = pool.submit(self.events_for, pod)
            previous = pool.submit(self._log_text, pod, container, True) if wants_previous else None
            current = pool.submit(self._log_text, pod, container, False) if wants_current else None
            history = pool.submit(self.deployment_history, pod)
            keys = pool.submit(self.configmap_keys, pod.namespace, configmaps)
            memory = pool.submit(self.memory, pod)
            deployment, revisions = _value(history, (None, ()))
            view = _value(memory, MemoryView((), True, ""))
            inp = DiagnosisInput(
                pod=pod,
                now=now,
                events=_value(events, ()),
                previous_log=_value(previous, None),
                current_log=_value(current, None),
                memory=view.samples,
                deployment=deployment,
                revisions=revisions,
                configmap_keys=_value(keys, ()),
                metrics_available=view.available,
            )
        return core_diagnose(inp)

    def _log_text(self, pod: Pod, container: str, previous: bool) -> str | None:
        result = self.read_log(pod, container, previous, DIAGNOSE_TAIL)
        return None if result.error else result.text

    # -- actions -----------------------------------------------------------------------------------
    def access(self, namespace: str | None = None) -> Access:
        """What the user may do in the namespace (default: the source's), cached."""
        return self._access.check(namespace if namespace is not None else self.namespace)

    def plan_undo(self, pod: Pod) -> UndoPlan:
        return rollout.plan_undo(self.api, pod, context=self.context)

    def execute_undo(self, plan: UndoPlan) -> str:
        return rollout.execute_undo(self.api, plan)

    def delete_pod(self, pod: Pod) -> str:
        return actions.delete_pod(self.api, pod)


def _value(future: Future[R] | None, default: R) -> R:
    """A gathered piece, or the default when it was not asked for or could not be had."""
    if future is None:
        return default
    try:
        return future.result()
    except KcrashError:
        return default
