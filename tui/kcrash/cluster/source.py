"""The one object the console talks to: a cluster, a namespace scope, and everything kcrash asks of it.

All methods block; the UI calls them from worker threads. Failures raise `KcrashError` (one line),
except log reads, whose failures come back inside `LogResult` for the log pane to show.

The pod LIST may start before anyone listens (`start_watch`, called while the console is still
importing its screens): deliveries wait in a relay until `watch_pods` names the callbacks, and
`wait_answered` tells the launcher whether the server took the first request. Memory sampling
(one LIST of PodMetrics for the scope) starts when memory is first asked for, not with the pods:
at 20,000 pods it would otherwise compete with the first list for the server and the CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from kcrash.cluster import logs
from kcrash.cluster.access import Access, AccessChecker
from kcrash.cluster.api import Api, PodPages
from kcrash.cluster.config import Connection
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.logs import LogFollower, LogResult
from kcrash.cluster.metrics import MemoryView, MetricsSampler
from kcrash.cluster.reflector import Backoff, PageLike, Reflector, SyncState
from kcrash.core.logchoice import has_previous_log
from kcrash.core.records import (
    ContainerStatus,
    Deployment,
    Diagnosis,
    DiagnosisInput,
    Event,
    Pod,
    Revision,
    Unread,
)
from kcrash.core.status import primary_container

if TYPE_CHECKING:
    from kcrash.cluster.rollout import UndoPlan

# Rollout, actions and the diagnosis engine are imported where they are used: none of them is
# needed to show the pods, and they would add a tenth of a second to every launch.

__all__ = ["Access", "ClusterSource", "LogResult", "MemoryView", "SyncState"]

R = TypeVar("R")
ConfigMapReads = tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[Unread, ...]]
DIAGNOSE_TAIL = 200
WATCH_COALESCE = 0.01
"""Seconds the reflector gathers watch events into one delivery. The console drains all that
waits each time it gets to it, so bursts coalesce there anyway; a longer window only adds lag."""
REFLECTOR_ATTEMPTS = 3  # per request of the pod stream; the reflector's own back-off does the rest
PASSING_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses of a first LIST that the reflector retries rather than end the launch with."""
KUBECONFIG_POLL = 0.5  # seconds between looks at the kubeconfig files' modification times
OnEvents = Callable[[list[tuple[str, Pod]]], None]
OnResync = Callable[[list[Pod]], None]
OnState = Callable[[SyncState], None]
OnPiece = Callable[[str, object], None]
"""Hears each piece `gather` fetched as it lands: ("events", tuple of Event), ("previous_log",
LogResult), ("rollout", (Deployment | None, revisions)), ("memory", MemoryView); a piece that could
not be had comes as the KcrashError that says why."""


class _Relay:
    """Pod stream deliveries held, in order, until the console names its callbacks.

    A resync replaces whatever was held before it (it holds everything), and only the latest
    state matters. Deliveries are made under the lock, so none can overtake the held ones.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[tuple[str, Any]] = []
        self._targets: tuple[OnEvents, OnResync, OnState] | None = None

    def attach(self, on_events: OnEvents, on_resync: OnResync, on_state: OnState) -> None:
        with self._lock:
            self._targets = (on_events, on_resync, on_state)
            held, self._held = self._held, []
            for kind, payload in held:
                self._deliver(kind, payload)

    def events(self, batch: list[tuple[str, Pod]]) -> None:
        self._put("events", batch)

    def resync(self, pods: list[Pod]) -> None:
        self._put("resync", pods)

    def state(self, state: SyncState) -> None:
        self._put("state", state)

    def _put(self, kind: str, payload: Any) -> None:
        with self._lock:
            if self._targets is not None:
                self._deliver(kind, payload)
                return
            if kind != "events":
                dropped = ("events", "resync", "state") if kind == "resync" else ("state",)
                self._held = [item for item in self._held if item[0] not in dropped]
            self._held.append((kind, payload))

    def _deliver(self, kind: str, payload: Any) -> None:
        assert self._targets is not None
        on_events, on_resync, on_state = self._targets
        if kind == "events":
            on_events(payload)
        elif kind == "resync":
            on_resync(payload)
        else:
            on_state(payload)


class _FirstAnswer:
    """Whether the server answered the first LIST request, and the error it answered with."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.error: KcrashError | None = None

    def settle(self, error: KcrashError | None) -> None:
        if not self._done.is_set():
            self.error = error
            self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


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
        kubeconfig: str | None = None,
        prometheus_url: str = "",
        prometheus_locations: tuple[str, ...] | None = None,
    ) -> None:
        self.conn = conn
        self.kubeconfig = kubeconfig
        """The kubeconfig the console was started with (None: $KUBECONFIG or the default):
        switching context reads the others from it."""
        self.context = conn.context
        self.server = conn.server
        self.namespace = namespace
        self.selector = selector
        self.read_only = read_only
        self.api = Api(conn, read_only=read_only)
        self.metrics = MetricsSampler(self.api, namespace, interval=metrics_interval)
        self.prometheus_url = prometheus_url
        self.prometheus_locations = prometheus_locations
        """Where the cluster's Prometheus is (None: the usual services); asked through
        `kcrash.history.prometheus.prometheus_for`, which needs more than the cluster layer."""
        self._access = AccessChecker(self.api, read_only=read_only)
        self._watch_timeout = watch_timeout
        self._backoff = backoff
        self.reflector: Reflector[Pod] | None = None
        self._relay = _Relay()
        self._first_answer = _FirstAnswer()
        self._stopped = threading.Event()
        # The reflector backs off and shows "reconnecting" by itself: its requests try fewer times.
        self._stream_api = self.api.impatient(REFLECTOR_ATTEMPTS)
        self._pages = PodPages(self._stream_api, namespace, selector)
        self._watching_config: threading.Thread | None = None

    # -- the pod stream ----------------------------------------------------------------------------
    def start_watch(self) -> None:
        """Start LIST+WATCH of pods in the scope now; deliveries wait for `watch_pods`."""
        if self.reflector is not None:
            return
        self.reflector = Reflector(
            self._list_page,
            lambda rv, timeout: self._stream_api.watch_pods(self.namespace, self.selector, rv, timeout),
            key=lambda pod: pod.key,
            version=lambda pod: pod.resource_version,
            on_events=self._relay.events,
            on_resync=self._relay.resync,
            on_state=self._relay.state,
            watch_timeout=self._watch_timeout,
            backoff=self._backoff,
            coalesce=WATCH_COALESCE,
            probe=self.api.answers,
        )
        self.reflector.start()
        self._watching_config = threading.Thread(
            target=self._notice_kubeconfig, name="kcrash-kubeconfig", daemon=True
        )
        self._watching_config.start()

    def reconnect(self) -> bool:
        """Re-read the credentials and try the pod stream again now (the `r` key); False when
        the kubeconfig could not be read again (`api.link.renewal_error` says why)."""
        renewed = self.api.link.renew(force=True)
        if self.reflector is not None:
            self.reflector.retry_now()
        return renewed

    def _notice_kubeconfig(self) -> None:
        """A kubeconfig rewritten on disk (new token, new CA) is read again within a second."""
        while self.reflector is not None and not self._stopped.wait(KUBECONFIG_POLL):
            if self.api.link.changed_on_disk():
                self.reconnect()

    def watch_pods(self, on_events: OnEvents, on_resync: OnResync, on_state: OnState) -> None:
        """Start LIST+WATCH of pods in the scope (if `start_watch` has not); callbacks come from a
        thread, beginning with whatever arrived before this call."""
        self.start_watch()
        self._relay.attach(on_events, on_resync, on_state)

    def wait_answered(self, timeout: float) -> bool:
        """Wait until the server answered the first LIST request; False if it has not within
        `timeout` seconds. Raises the KcrashError it answered with (unreachable, 401, 403...)."""
        if not self._first_answer.wait(timeout):
            return False
        if self._first_answer.error is not None:
            raise self._first_answer.error
        return True

    def _list_page(self, token: str) -> PageLike[Pod]:
        if not token:
            self._pages = PodPages(self._stream_api, self.namespace, self.selector)  # a new list
        try:
            page = self._pages.page(token)
        except KcrashError as exc:
            # A throttled or failing server is there and will answer: the reflector tries again
            # with its own back-off, so only an answer the user has to act on ends the launch.
            if exc.status not in PASSING_STATUSES:
                self._first_answer.settle(exc)
            raise
        self._first_answer.settle(None)
        return page

    def stop(self) -> None:
        self._stopped.set()
        if self.reflector is not None:
            self.reflector.stop()
        self.metrics.stop()

    def missing_namespace(self) -> str:
        """Why the namespace in scope has no pods when it does not exist (with the ones that do),
        else ""."""
        from kcrash.cluster.namespaces import missing_namespace

        return missing_namespace(self.api, self.namespace) if self.namespace else ""

    def list_pods(self) -> tuple[Pod, ...]:
        """Every pod in the scope once, without watching (the `diagnose` command)."""
        return self.api.list_all_pods(self.namespace, self.selector).items

    # -- one pod -----------------------------------------------------------------------------------
    def events_for(self, pod: Pod) -> tuple[Event, ...]:
        return self.api.events_for(pod)

    def scope_events(self) -> tuple[Event, ...]:
        """The events of the namespace in scope (or of every namespace)."""
        return self.api.list_events(self.namespace)

    def describe_pod(self, pod: Pod, now: datetime) -> str:
        """`kubectl describe pod` of the pod as it is now, with its events."""
        from kcrash.cluster.describe import describe_pod

        document = self.api.get_pod_document(pod.namespace, pod.name)
        return describe_pod(document, self.api.events_for(pod), now)

    def pod_yaml(self, pod: Pod) -> str:
        """`kubectl get pod -o yaml` of the pod as it is now, managedFields folded."""
        from kcrash.cluster.podyaml import pod_yaml

        return pod_yaml(self.api.get_pod_document(pod.namespace, pod.name))

    def read_log(self, pod: Pod, container: str, previous: bool, tail_lines: int = 200) -> LogResult:
        return logs.read_log(self.api, pod, container, previous, tail_lines)

    def read_log_window(
        self,
        pod: Pod,
        container: str,
        previous: bool,
        *,
        tail_lines: int | None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> LogResult:
        """A log read as the log view's presets ask: the tail, from the start (`tail_lines` None)
        or the last `since_seconds`, with the kubelet's timestamps or without."""
        return logs.read_log(
            self.api,
            pod,
            container,
            previous,
            tail_lines,
            since_seconds=since_seconds,
            timestamps=timestamps,
        )

    def follow_log(self, pod: Pod, container: str, timestamps: bool = False) -> LogFollower:
        """New log lines as they come, in bounded chunks; `close()` ends it from any thread."""
        return LogFollower(self.api, pod, container, timestamps=timestamps)

    def memory(self, pod: Pod) -> MemoryView:
        if self.metrics.samples_taken == 0 and self.metrics.available is not False:
            self.metrics.sample_once()  # asked before the sampler's first round: sample now
        if self.reflector is not None:
            self.metrics.start()  # the console is watching: keep sampling from now on
        return self.metrics.view(pod)

    def chart_shown(self, key: tuple[str, str]) -> None:
        """The pod whose memory chart is on screen now (sampled on its own between costly rounds)."""
        self.metrics.chart_shown(key)

    def keep_history(self, keys: Iterable[tuple[str, str]]) -> None:
        """The pods (namespace, name) whose whole memory history is kept, replacing those named
        before: the chart's hour for these, the last few samples for every other pod."""
        self.metrics.keep_history(keys)

    def deployment_history(self, pod: Pod) -> tuple[Deployment | None, tuple[Revision, ...]]:
        from kcrash.cluster import rollout

        return rollout.deployment_history(self.api, pod)

    def configmap_keys(self, namespace: str, names: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Keys of the ConfigMaps that exist (missing or unreadable ones are left out). Never Secrets."""
        return self.configmap_reads(namespace, names)[0]

    def configmap_reads(self, namespace: str, names: Iterable[str]) -> ConfigMapReads:
        """Keys of the ConfigMaps that exist, and those that could not be read (and why)."""
        found: list[tuple[str, tuple[str, ...]]] = []
        unread: list[Unread] = []
        for name in sorted(set(names)):
            try:
                keys = self.api.configmap_keys(namespace, name)
            except KcrashError as exc:
                unread.append(Unread(f"ConfigMap {name}", exc.message))
                continue
            if keys is not None:
                found.append((name, keys))
        return tuple(found), tuple(unread)

    def gather(self, pod: Pod, now: datetime, on_piece: OnPiece | None = None) -> DiagnosisInput:
        """Fetch what the diagnosis looks at, in parallel and once each; `on_piece` hears each piece
        as it lands, so a drill-down can draw its sections from the same answers."""
        container = primary_container(pod)
        status = pod.status_for(container)
        wants_previous = has_previous_log(status)
        wants_current = status is not None and status.state.kind in ("running", "terminated")
        configmaps = {
            ref.name
            for spec in (*pod.containers, *pod.init_containers)
            for ref in spec.env_refs
            if ref.kind == "ConfigMap" and ref.name
        }
        with ThreadPoolExecutor(max_workers=6, thread_name_prefix="kcrash-gather") as pool:
            futures: dict[str, Future[Any]] = {
                "events": pool.submit(self.events_for, pod),
                "rollout": pool.submit(self.deployment_history, pod),
                "configmaps": pool.submit(self.configmap_reads, pod.namespace, configmaps),
                "memory": pool.submit(self.memory, pod),
            }
            if wants_previous:
                futures["previous_log"] = pool.submit(self.read_log, pod, container, True, DIAGNOSE_TAIL)
            if wants_current:
                futures["current_log"] = pool.submit(self.read_log, pod, container, False, DIAGNOSE_TAIL)
            if on_piece is not None:
                if not wants_previous:
                    on_piece("previous_log", LogResult("", error=_no_previous_log(container, status)))
                names = {future: name for name, future in futures.items()}
                for future in as_completed(names):
                    on_piece(names[future], _outcome(future))
            deployment, revisions = _value(futures["rollout"], (None, ()))
            view = _value(futures["memory"], MemoryView((), True, ""))
            configmap_keys, configmaps_unread = _value(futures["configmaps"], ((), ()))
            return DiagnosisInput(
                pod=pod,
                now=now,
                events=_value(futures["events"], ()),
                previous_log=_log_text(futures.get("previous_log")),
                current_log=_log_text(futures.get("current_log")),
                memory=view.samples,
                deployment=deployment,
                revisions=revisions,
                configmap_keys=configmap_keys,
                metrics_available=view.available,
                unread=(*unread_of(futures), *configmaps_unread, *memory_unread(view)),
            )

    def diagnose(self, pod: Pod, now: datetime) -> Diagnosis:
        """Gather what the diagnosis looks at (in parallel) and ask core for the verdict."""
        from kcrash.core.diagnose import diagnose

        return diagnose(self.gather(pod, now))

    # -- actions -----------------------------------------------------------------------------------
    def access(self, namespace: str | None = None) -> Access:
        """What the user may do in the namespace (default: the source's), cached."""
        return self._access.check(namespace if namespace is not None else self.namespace)

    def plan_undo(self, pod: Pod) -> UndoPlan:
        from kcrash.cluster import rollout

        return rollout.plan_undo(self.api, pod, context=self.context)

    def execute_undo(self, plan: UndoPlan) -> str:
        from kcrash.cluster import rollout

        return rollout.execute_undo(self.api, plan)

    def delete_pod(self, pod: Pod) -> str:
        from kcrash.cluster import actions

        return actions.delete_pod(self.api, pod)


def _value(future: Future[R] | None, default: R) -> R:
    """A gathered piece, or the default when it was not asked for or could not be had."""
    if future is None:
        return default
    try:
        return future.result()
    except KcrashError:
        return default


def _outcome(future: Future[Any]) -> object:
    """A gathered piece as `on_piece` hears it: its value, or the KcrashError in its place."""
    try:
        return future.result()
    except KcrashError as exc:
        return exc


PIECES = {
    "events": "events",
    "rollout": "rollout history",
    "memory": "memory metrics",
    "previous_log": "previous log",
    "current_log": "current log",
    "configmaps": "ConfigMap keys",
}


def unread_of(futures: Mapping[str, Future[Any]]) -> tuple[Unread, ...]:
    """The gathered pieces whose read failed, each with the one line of why."""
    found: list[Unread] = []
    for name, future in futures.items():
        outcome = _outcome(future)
        if isinstance(outcome, KcrashError):
            found.append(Unread(PIECES[name], outcome.message))
        elif isinstance(outcome, LogResult) and outcome.unread:
            found.append(Unread(PIECES[name], outcome.error))
    return tuple(found)


def memory_unread(view: MemoryView) -> tuple[Unread, ...]:
    """The memory samples, when the metrics LIST failed (not when the cluster has no metrics)."""
    if view.available and view.note.startswith("metrics unavailable:"):
        return (Unread("memory metrics", view.note.removeprefix("metrics unavailable: ")),)
    return ()


def _log_text(future: Future[LogResult] | None) -> str | None:
    """The log text for the diagnosis: None when it was not asked for or could not be read."""
    result = _value(future, LogResult("", error="not read"))
    return None if result.error else result.text


def _no_previous_log(container: str, status: ContainerStatus | None) -> str:
    """Why there is no previous instance to read, without asking the server."""
    if status is not None and status.state.kind == "terminated":
        return f'no previous log: container "{container}" exited and never restarted: read its current log'
    return f'no previous log: container "{container}" has not terminated yet (it has never restarted)'
