"""The recorder: turns container terminations seen by a pod watch into archived crashes.

It listens to the same LIST+WATCH as everything else (`on_events`, `on_resync`, called on the
reflector's thread, where it only looks at the records and queues work) and fetches each dead
instance's log once on a thread of its own, while it is still where the kubelet keeps it:
`state.terminated` until the restart (the current log), then `lastState.terminated` until the next
instance dies (the previous log). Log reads are rate-limited by a token bucket and wait in two
queues. Urgent: instances of containers that are not running, or started in the last
`SETTLED` seconds, whose log the next death replaces soon; the newest is read first (the oldest
ones are the likeliest to be gone already), and past `queue` the oldest is dropped and counted.
Patient: instances of containers that have run for longer (a first LIST finds one per restarted
container of the scope); their logs stay until the next death, so they wait, oldest first, for
the urgent queue to be empty.

A log is kept only when it surely belongs to the instance: if the pod shows that instance gone
from its place after the read, the kubelet may have answered with the next instance's log, so the
crash is kept with its Last State and events but without a log, saying why. Container IDs make a
crash seen twice (as state, then lastState; or by a console and `kcrash record`) one crash.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from kcrash.cluster import logs
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.reflector import SyncState
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Event, Pod
from kcrash.core.redact import Redactor
from kcrash.core.terminations import Ended, ended_instances, log_flag
from kcrash.core.tokenbucket import TokenBucket
from kcrash.history.archive import Archive
from kcrash.history.crash import ArchivedEvent, Crash
from kcrash.history.settings import HistorySettings

log = logging.getLogger(__name__)

Key = tuple[str, str]
SETTLED = 600.0
"""Seconds a container must have run for its previous instance's log to count as in no hurry."""
SEEN_CAP = 200_000
"""Container IDs remembered as handled (about 100 bytes each); the archive remembers the rest."""
EVENTS_KEPT = 20
MEMORY_KEPT = 40
PRUNE_EVERY = 600.0
MEMORY_EVERY = 60.0
"""Seconds between writes of memory samples (the sampler keeps minutes of them in between)."""
REVISION_LABELS = ("pod-template-hash", "controller-revision-hash")
REPLACED = "the container restarted before its log could be read (the kubelet keeps one previous instance)"
UNSURE = "the container restarted while its log was read: not kept, it may be the next instance's"


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """What the recorder did since it started."""

    seen: int = 0  # ended instances noticed
    archived: int = 0  # crashes written
    already: int = 0  # found in the archive already (another kcrash wrote them)
    without_log: int = 0  # archived without a log (replaced, unreadable)
    dropped: int = 0  # queue full: given up before any read
    failed: int = 0  # could not be written
    queued: int = 0  # waiting now

    def line(self) -> str:
        return (
            f"{self.archived} crashes archived ({self.without_log} without a log), "
            f"{self.already} already archived, {self.queued} waiting, {self.dropped} dropped"
            + (f", {self.failed} not written" if self.failed else "")
        )


@dataclass(frozen=True, slots=True)
class _Job:
    pod: Pod
    ended: Ended
    gone: bool = False  # its log was replaced before its turn: archived without a read


class Recorder:
    """Archive every container termination a pod watch shows. `start()`, feed it, `stop()`."""

    def __init__(
        self,
        source: ClusterSource,
        archive: Archive,
        settings: HistorySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.source = source
        self.archive = archive
        self.settings = settings or HistorySettings()
        self._redactor: Redactor = self.settings.redactor()
        self._clock = clock
        self._wall = wall
        self._bucket = TokenBucket(self.settings.fetch_rate, self.settings.fetch_burst, clock())
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._urgent: OrderedDict[str, _Job] = OrderedDict()
        self._patient: OrderedDict[str, _Job] = OrderedDict()
        self._latest: dict[Key, Pod] = {}  # the newest version of each pod a job waits on
        self._waiting: dict[Key, int] = {}  # jobs per pod
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._stats = RecorderStats()
        self._busy = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = -PRUNE_EVERY
        self._listeners: list[Callable[[Crash], None]] = []
        self._memory_keys: dict[Key, float] = {}  # pods whose samples are archived -> newest kept (epoch s)
        self._memory_at = clock()
        self.state = SyncState("connecting")

    def keep_memory_of(self, key: Key) -> None:
        """Archive this pod's memory samples from now on (crashed pods are archived by themselves)."""
        with self._lock:
            self._memory_keys.setdefault(key, 0.0)

    def listen(self, listener: Callable[[Crash], None]) -> None:
        """Call `listener` (on the recorder's thread) with each crash it archives."""
        self._listeners.append(listener)

    # -- feeding (the reflector's thread) ---------------------------------------------------------
    def on_events(self, batch: list[tuple[str, Pod]]) -> None:
        for kind, pod in batch:
            if kind != "DELETED":
                self._observe(pod)

    def on_resync(self, pods: list[Pod]) -> None:
        found = [(pod, ended) for pod in pods for ended in ended_instances(pod)]
        fresh = [item for item in found if item[1].container_id not in self._seen]
        try:
            known = self.archive.known_ids(ended.container_id for _, ended in fresh)
        except Exception:  # the worker will ask again, one by one
            log.debug("archive lookup failed", exc_info=True)
            known = set()
        with self._lock:
            for _, ended in fresh:
                if ended.container_id in known:
                    self._remember(ended.container_id)
        for pod in pods:
            self._observe(pod)

    def on_state(self, state: SyncState) -> None:
        self.state = state

    def _observe(self, pod: Pod) -> None:
        ended_now = ended_instances(pod)
        with self._lock:
            if ended_now and pod.key not in self._memory_keys:
                self._memory_keys[pod.key] = 0.0
            if pod.key in self._latest:
                self._latest[pod.key] = pod
            for ended in ended_now:
                cid = ended.container_id
                if cid in self._seen:
                    continue
                self._remember(cid)
                self._stats = replace(self._stats, seen=self._stats.seen + 1)
                self._enqueue(_Job(pod, ended))

    def _remember(self, container_id: str) -> None:
        self._seen[container_id] = None
        if len(self._seen) > SEEN_CAP:
            self._seen.popitem(last=False)

    def _enqueue(self, job: _Job) -> None:
        if self._urgent_now(job):
            if len(self._urgent) >= self.settings.queue:
                _, oldest = self._urgent.popitem(last=False)
                self._stats = replace(self._stats, dropped=self._stats.dropped + 1)
                self._forget_pod(oldest.pod.key)
            self._urgent[job.ended.container_id] = job
        else:
            self._patient[job.ended.container_id] = job
        self._latest[job.pod.key] = job.pod
        self._waiting[job.pod.key] = self._waiting.get(job.pod.key, 0) + 1
        self._wake.notify()

    def _urgent_now(self, job: _Job) -> bool:
        status = job.pod.status_for(job.ended.container)
        if status is None or status.state.kind != "running" or status.state.started_at is None:
            return True
        return (self._wall() - status.state.started_at).total_seconds() < SETTLED

    def _forget_pod(self, key: Key) -> None:
        left = self._waiting.get(key, 0) - 1
        if left > 0:
            self._waiting[key] = left
        else:
            self._waiting.pop(key, None)
            self._latest.pop(key, None)

    # -- running ----------------------------------------------------------------------------------
    @property
    def stats(self) -> RecorderStats:
        with self._lock:
            return replace(self._stats, queued=len(self._urgent) + len(self._patient))

    def start(self) -> Recorder:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kcrash-recorder", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the read under way (if any), keep the memory samples taken since the last write,
        and stop; waiting jobs are left."""
        self._stopping.set()
        with self._lock:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._maybe_keep_memory(force=True)

    def idle(self) -> bool:
        """Nothing waits and nothing is being read (tests and benches wait for this)."""
        with self._lock:
            return not self._urgent and not self._patient and not self._busy

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._maybe_prune()
            self._maybe_keep_memory()
            job = self._next_job()
            if job is None:
                continue
            try:
                self._archive(job)
            except Exception:  # never let the thread die: count it and go on
                log.debug("archiving a crash failed", exc_info=True)
                with self._lock:
                    self._stats = replace(self._stats, failed=self._stats.failed + 1)
            finally:
                with self._lock:
                    self._busy = False
                    self._forget_pod(job.pod.key)

    def _next_job(self) -> _Job | None:
        """The oldest job once a token is there; None when stopping or after a wait."""
        with self._lock:
            if not self._urgent and not self._patient:
                self._wake.wait(timeout=1.0)
                return None
            gone = self._pop_gone()
            if gone is not None:
                return gone
        delay = self._bucket.wait(self._clock())
        if delay > 0:
            self._stopping.wait(delay)
            return None
        with self._lock:
            if not (self._urgent or self._patient) or not self._bucket.take(self._clock()):
                return None
            if self._urgent:
                _, job = self._urgent.popitem(last=True)  # the newest: its log is surely still there
            else:
                _, job = self._patient.popitem(last=False)
            self._busy = True
            return replace(job, pod=self._latest.get(job.pod.key, job.pod))

    def _pop_gone(self) -> _Job | None:
        """The oldest urgent job if its log is gone already: it needs no request, so no token."""
        if not self._urgent:
            return None
        cid, job = next(iter(self._urgent.items()))
        latest = self._latest.get(job.pod.key, job.pod)
        if log_flag(latest, job.ended) is not None:
            return None
        del self._urgent[cid]
        self._busy = True
        return replace(job, pod=latest, gone=True)

    def _maybe_prune(self) -> None:
        now = self._clock()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            settings = self.settings
            self.archive.prune(
                now=self._wall(), max_age_seconds=settings.max_age_seconds, max_bytes=settings.max_bytes
            )
        except Exception:
            log.debug("pruning the archive failed", exc_info=True)

    def _maybe_keep_memory(self, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._memory_at < MEMORY_EVERY:
            return
        self._memory_at = now
        try:
            self.keep_memory()
        except Exception:
            log.debug("archiving memory samples failed", exc_info=True)

    def keep_memory(self) -> int:
        """Write the samples taken since the last write, of the pods whose memory is archived."""
        with self._lock:
            marks = dict(self._memory_keys)
        rows: list[tuple[str, str, str, datetime, int]] = []
        newest: dict[Key, float] = {}
        for key, since in marks.items():
            for sample in self.source.metrics.view(Pod(key[0], key[1])).samples:
                stamp = sample.at.timestamp()
                if stamp > since:
                    rows.append((key[0], key[1], sample.container, sample.at, sample.bytes))
                    newest[key] = max(newest.get(key, since), stamp)
        written = self.archive.add_memory(rows)
        with self._lock:
            for key, stamp in newest.items():
                if key in self._memory_keys:
                    self._memory_keys[key] = stamp
        return written

    # -- one crash --------------------------------------------------------------------------------
    def _archive(self, job: _Job) -> None:
        ended, pod = job.ended, job.pod
        if self.archive.has(ended.container_id):
            with self._lock:
                self._stats = replace(self._stats, already=self._stats.already + 1)
            return
        if job.gone:  # a storm beyond the fetch rate: keep its Last State, ask the server nothing
            crash = self.crash_of(pod, ended, "", REPLACED, False, (), self._memory(pod, ended))
        else:
            text, error, truncated = self._read_log(pod, ended)
            crash = self.crash_of(
                pod, ended, text, error, truncated, self._events(pod), self._memory(pod, ended)
            )
        added = self.archive.add(crash)
        with self._lock:
            if added:
                self._stats = replace(
                    self._stats,
                    archived=self._stats.archived + 1,
                    without_log=self._stats.without_log + (0 if crash.log else 1),
                )
            else:
                self._stats = replace(self._stats, already=self._stats.already + 1)
        if added:
            for listener in self._listeners:
                listener(crash)

    def _read_log(self, pod: Pod, ended: Ended) -> tuple[str, str, bool]:
        previous = log_flag(pod, ended)
        if previous is None:
            return "", REPLACED, False
        result = logs.read_log(
            self.source.api,
            pod,
            ended.container,
            previous=previous,
            tail_lines=self.settings.log_lines,
            limit_bytes=self.settings.log_bytes * 3,  # room for the kubelet's timestamps
            timestamps=True,
        )
        if result.error:
            return "", result.error, False
        with self._lock:
            latest = self._latest.get(pod.key, pod)
        # The watch's copy can lag a restart: the kubelet's time on each line is the proof that
        # the log is this instance's, not the next one's.
        own = logs.unstamped_within(result.text, ended.state.started_at, ended.state.finished_at)
        if log_flag(latest, ended) != previous or own is None:
            return "", UNSURE, False
        text = self._redactor.text(own)
        cut = len(text.encode()) > self.settings.log_bytes
        if cut:
            text = text.encode()[-self.settings.log_bytes :].decode("utf-8", errors="ignore")
            text = text.split("\n", 1)[-1]  # start on a whole line
        return text, "", result.truncated or cut

    def _events(self, pod: Pod) -> tuple[ArchivedEvent, ...]:
        try:
            found: tuple[Event, ...] = self.source.events_for(pod)
        except KcrashError:
            return ()
        return tuple(
            ArchivedEvent(
                type=event.type,
                reason=event.reason,
                message=self._redactor.line(event.message),
                count=event.count,
                last_seen=_stamp(event.last_seen),
            )
            for event in found[-EVENTS_KEPT:]
        )

    def _memory(self, pod: Pod, ended: Ended) -> tuple[tuple[datetime, int], ...]:
        try:
            view = self.source.metrics.view(pod)
        except Exception:
            return ()
        samples = [(s.at, s.bytes) for s in view.samples if s.container == ended.container]
        return tuple(samples[-MEMORY_KEPT:])

    def crash_of(
        self,
        pod: Pod,
        ended: Ended,
        text: str,
        error: str,
        truncated: bool,
        events: tuple[ArchivedEvent, ...],
        memory: tuple[tuple[datetime, int], ...],
    ) -> Crash:
        state = ended.state
        owner = pod.controller
        labels = dict(pod.labels)
        revision = next((labels[name] for name in REVISION_LABELS if labels.get(name)), "")
        spec = pod.spec_for(ended.container)
        return Crash(
            namespace=pod.namespace,
            pod=pod.name,
            pod_uid=pod.uid,
            container=ended.container,
            container_id=ended.container_id,
            init=ended.init,
            restart=ended.restart,
            exit_code=state.exit_code,
            reason=state.reason,
            signal=state.signal,
            message=self._redactor.text(state.message),
            started_at=state.started_at,
            finished_at=state.finished_at,
            owner_kind=owner.kind if owner else "",
            owner_name=owner.name if owner else "",
            workload=workload_of(pod),
            revision=revision,
            image=spec.image if spec else ended.image,
            node=pod.node_name,
            log=text,
            log_error=error,
            log_truncated=truncated,
            events=events,
            memory=memory,
            recorded_at=self._wall(),
        )


def workload_of(pod: Pod) -> str:
    """The workload a pod's controller belongs to: a ReplicaSet's Deployment (its name less the
    pod-template-hash), else the controller itself; "" for a bare pod."""
    owner = pod.controller
    if owner is None:
        return ""
    template_hash = dict(pod.labels).get("pod-template-hash", "")
    if owner.kind == "ReplicaSet" and template_hash and owner.name.endswith("-" + template_hash):
        return owner.name.removesuffix("-" + template_hash)
    return owner.name


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
