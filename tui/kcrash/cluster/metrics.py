"""Memory samples: one PodMetrics LIST per namespace scope per interval, kept per pod and container.

metrics-server resolves 15 s at best (the kubelet's own), so sampling faster buys nothing. The
history starts when the sampler starts and is bounded per container: the chart's full hour only for
the pods the console marks (`keep_history`: the failing ones, the one opened), the last few samples
for every other pod, so that one that starts failing already has its last minutes. An hour of every
pod of a 20,000-pod scope as sample objects took half a gigabyte; samples are kept as integers in
arrays and become `MemorySample` records only when a view is asked for. A pod missing from
PodMetrics means "no data", never 0. Whether the metrics API exists is asked once, through
discovery; a 404 on the LIST says the same later.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.parse import memory_usage, parse_time
from kcrash.core.records import MemorySample, Pod

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15.0
DEFAULT_HISTORY = 240  # samples per container: an hour at 15 s
SHORT_HISTORY = 8  # samples per container of the pods nobody marked: two minutes at 15 s
NO_METRICS_API = "no metrics API (metrics.k8s.io is not served: is metrics-server installed?)"

PodKey = tuple[str, str]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_INT64 = range(-(2**63), 2**63)


ROUND_CPU_SHARE = 0.005
"""The share of one core the whole-scope rounds may take: a round of 20,000 PodMetrics costs about
0.3 s of CPU (decoding ~10 MB of JSON, mostly), which every 15 s was 2% of a core while the
console sat idle. Rounds come every `interval` (15 s, metrics-server's own resolution) up to a
few thousand pods and are spaced out past that (about a minute at 20,000). Meanwhile the pod whose
chart is on screen is sampled on its own every `interval`."""


def round_interval(interval: float, round_cpu_seconds: float) -> float:
    """Seconds to the next whole-scope round after one that took `round_cpu_seconds` of CPU."""
    return max(interval, round_cpu_seconds / ROUND_CPU_SHARE)


class MetricsApi(Protocol):
    """The requests the sampler makes (`Api` answers them over HTTP)."""

    def metrics_api_available(self) -> bool: ...

    def list_pod_metrics(self, namespace: str | None) -> list[dict[str, Any]]: ...

    def pod_metrics(self, namespace: str, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class MemoryView:
    """What the memory chart may show for one pod, and why it may be empty."""

    samples: tuple[MemorySample, ...]
    available: bool
    note: str = ""


class _Ring:
    """The newest samples of one container, oldest first: times (microseconds since the epoch)
    and working sets (bytes) side by side, as machine integers rather than objects."""

    __slots__ = ("at", "used")

    def __init__(self) -> None:
        self.at = array("q")
        self.used = array("q")

    def push(self, at: int, used: int, keep: int) -> None:
        # metrics-server repeats a sample until the kubelet scrapes again: keep one. An older one
        # (a round's answer that crossed a single pod's) adds nothing either.
        if self.at and self.at[-1] >= at:
            return
        self.at.append(at)
        self.used.append(used)
        self.trim(keep)

    def trim(self, keep: int) -> None:
        extra = len(self.at) - keep
        if extra > 0:
            del self.at[:extra]
            del self.used[:extra]

    def samples(self, container: str) -> list[MemorySample]:
        return [
            MemorySample(at=_EPOCH + at * _MICROSECOND, container=container, bytes=used)
            for at, used in zip(self.at, self.used, strict=True)
        ]


class MetricsSampler:
    """Samples PodMetrics for a namespace (None: all) on a background thread, or on demand."""

    def __init__(
        self,
        api: MetricsApi,
        namespace: str | None,
        *,
        interval: float = DEFAULT_INTERVAL,
        history: int = DEFAULT_HISTORY,
        short_history: int = SHORT_HISTORY,
        on_sample: Callable[[], None] | None = None,
    ) -> None:
        self._api = api
        self._namespace = namespace
        self.interval = interval
        self._history = history
        self._short_history = max(1, min(short_history, history))  # the latest is always kept
        self._on_sample = on_sample
        self._lock = threading.Lock()
        self._series: dict[PodKey, dict[str, _Ring]] = {}
        self._interesting: frozenset[PodKey] = frozenset()
        self._newest = 0  # microseconds since the epoch of the newest sample seen
        self._micros: dict[str, int | None] = {}  # this round's timestamp texts: a few per node
        self._available: bool | None = None  # None: not asked yet
        self._note = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples_taken = 0
        self.round_interval = interval
        """Seconds between whole-scope rounds: `interval`, or more where a round is costly."""
        self._charted: tuple[PodKey, float] | None = None  # the pod whose chart is on screen, since

    # -- state -------------------------------------------------------------------------------------
    @property
    def available(self) -> bool | None:
        return self._available

    @property
    def note(self) -> str:
        return self._note

    def view(self, pod: Pod) -> MemoryView:
        """The samples of one pod (all containers, oldest first) and whether metrics exist at all."""
        with self._lock:
            series = self._series.get(pod.key, {})
            samples = sorted(
                (s for container, ring in series.items() for s in ring.samples(container)),
                key=lambda s: (s.at, s.container),
            )
        if self._available is False:
            return MemoryView((), False, self._note)
        if not samples:
            note = self._note or (
                "no samples yet" if self.samples_taken == 0 else "no metrics for this pod (not running?)"
            )
            return MemoryView((), True, note)
        return MemoryView(tuple(samples), True, self._note)

    def chart_shown(self, key: PodKey) -> None:
        """The pod whose memory chart is on screen, said each time the chart is refreshed: between
        rounds spaced out by `ROUND_CPU_SHARE` it is sampled on its own, for two intervals after."""
        self._charted = (key, time.monotonic())

    def keep_history(self, keys: Iterable[PodKey]) -> None:
        """The pods whose full history is kept from now on, replacing those marked before; the
        pods no longer marked are cut back to the short history at once."""
        marked = frozenset(keys)
        with self._lock:
            for key in self._interesting - marked:
                for ring in self._series.get(key, {}).values():
                    ring.trim(self._short_history)
            self._interesting = marked

    # -- sampling ----------------------------------------------------------------------------------
    def sample_once(self) -> bool:
        """One LIST for the whole scope; returns whether a sample was recorded."""
        began = time.thread_time()
        if self._available is None:
            self._discover()
        if not self._available:
            return False
        try:
            items = self._api.list_pod_metrics(self._namespace)
        except KcrashError as exc:
            if exc.status == 404:
                self._set_unavailable(NO_METRICS_API)
            else:
                self._note = f"metrics unavailable: {exc}"
            return False
        self.record(items)
        self._note = ""
        self.samples_taken += 1
        self.round_interval = round_interval(self.interval, time.thread_time() - began)
        if self._on_sample is not None:
            self._on_sample()
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kcrash-metrics", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        if self.samples_taken:  # a round was just taken on demand (the console's first look)
            self._between_rounds(time.monotonic() + self.round_interval)
        while not self._stopping.is_set():
            try:
                self.sample_once()
            except KcrashError as exc:
                self._note = f"metrics unavailable: {exc}"
            except Exception:  # a sampler must never take the console down
                log.debug("metrics sampling failed", exc_info=True)
            if self._available is False:
                return
            self._between_rounds(time.monotonic() + self.round_interval)

    def _between_rounds(self, due: float) -> None:
        """Wait for the next round; every `interval` meanwhile, sample the pod charted on screen."""
        while not self._stopping.wait(min(self.interval, max(0.0, due - time.monotonic()))):
            if time.monotonic() >= due - 1.0:
                return
            try:
                self.sample_charted()
            except Exception:  # the next round will say what is wrong
                log.debug("sampling the charted pod failed", exc_info=True)

    def sample_charted(self) -> bool:
        """One GET for the pod whose chart was on screen within the last two intervals (the
        drill-down refreshes it every few seconds); returns whether a sample was recorded."""
        charted = self._charted
        if charted is None or time.monotonic() - charted[1] > 2 * self.interval or not self._available:
            return False
        key = charted[0]
        item = self._api.pod_metrics(*key)
        if item is None:
            return False
        stamp, usage = memory_usage(item)
        if not usage:
            return False
        with self._lock:
            self._keep(key, stamp, usage)
            self._micros.clear()
        return True

    def _discover(self) -> None:
        try:
            found = self._api.metrics_api_available()
        except KcrashError as exc:
            # Discovery itself failed (network, 403): try the LIST anyway; it will tell.
            self._note = f"metrics discovery failed: {exc}"
            found = True
        if found:
            self._available = True
        else:
            self._set_unavailable(NO_METRICS_API)

    def _set_unavailable(self, note: str) -> None:
        self._available = False
        self._note = note

    def record(self, items: list[dict[str, Any]]) -> None:
        """Keep one round of PodMetrics (decoded JSON, what the LIST answered)."""
        # Parsed before the lock is taken: the UI thread's views and `keep_history` must not wait
        # for 20,000 items to be read.
        parsed = [(_pod_key(item), memory_usage(item)) for item in items]
        seen = {key for key, _ in parsed}
        with self._lock:
            for key, (stamp, usage) in parsed:
                if usage:
                    self._keep(key, stamp, usage)
            self._newest = max(self._newest, max((m for m in self._micros.values() if m), default=0))
            self._micros.clear()
            self._forget_old(seen)

    def _keep(self, key: PodKey, stamp: str, usage: list[tuple[str, int]]) -> None:
        at = self._micros.get(stamp, -1)
        if at == -1:
            when = parse_time(stamp)
            at = self._micros[stamp] = None if when is None else (when - _EPOCH) // _MICROSECOND
        if at is None:
            return  # no time, no sample
        keep = self._history if key in self._interesting else self._short_history
        per_container = self._series.setdefault(key, {})
        for container, used in usage:
            if used not in _INT64:
                continue  # no memory is that large: a broken answer, not a sample
            ring = per_container.get(container)
            if ring is None:
                ring = per_container[container] = _Ring()
            ring.push(at, used, keep)

    def _forget_old(self, seen: set[PodKey]) -> None:
        """Drop pods not seen for longer than the history window (deleted pods)."""
        horizon = self._newest - int(self._history * self.interval * 1_000_000)
        for key in self._series.keys() - seen:
            rings = [ring for ring in self._series[key].values() if ring.at]
            if not rings or max(ring.at[-1] for ring in rings) < horizon:
                del self._series[key]


def _pod_key(item: dict[str, Any]) -> PodKey:
    meta = item.get("metadata") or {}
    return (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
