"""Memory samples: one PodMetrics LIST per namespace scope per interval, kept per pod and container.

metrics-server resolves 15 s at best (the kubelet's own), so sampling faster buys nothing. The
history starts when the sampler starts and is bounded per container. A pod missing from PodMetrics
means "no data", never 0. Whether the metrics API exists is asked once, through discovery; a 404 on
the LIST says the same later.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.parse import parse_pod_metrics
from kcrash.core.records import MemorySample, Pod

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15.0
DEFAULT_HISTORY = 240  # samples per container: an hour at 15 s
NO_METRICS_API = "no metrics API (metrics.k8s.io is not served: is metrics-server installed?)"

PodKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class MemoryView:
    """What the memory chart may show for one pod, and why it may be empty."""

    samples: tuple[MemorySample, ...]
    available: bool
    note: str = ""


class MetricsSampler:
    """Samples PodMetrics for a namespace (None: all) on a background thread, or on demand."""

    def __init__(
        self,
        api: Api,
        namespace: str | None,
        *,
        interval: float = DEFAULT_INTERVAL,
        history: int = DEFAULT_HISTORY,
        on_sample: Callable[[], None] | None = None,
    ) -> None:
        self._api = api
        self._namespace = namespace
        self.interval = interval
        self._history = history
        self._on_sample = on_sample
        self._lock = threading.Lock()
        self._series: dict[PodKey, dict[str, deque[MemorySample]]] = {}
        self._available: bool | None = None  # None: not asked yet
        self._note = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples_taken = 0

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
            samples = sorted((s for q in series.values() for s in q), key=lambda s: (s.at, s.container))
        if self._available is False:
            return MemoryView((), False, self._note)
        if not samples:
            note = self._note or (
                "no samples yet" if self.samples_taken == 0 else "no metrics for this pod (not running?)"
            )
            return MemoryView((), True, note)
        return MemoryView(tuple(samples), True, self._note)

    # -- sampling ----------------------------------------------------------------------------------
    def sample_once(self) -> bool:
        """One LIST for the whole scope; returns whether a sample was recorded."""
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
        self._record(items)
        self._note = ""
        self.samples_taken += 1
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
        while not self._stopping.is_set():
            try:
                self.sample_once()
            except KcrashError as exc:
                self._note = f"metrics unavailable: {exc}"
            except Exception:  # a sampler must never take the console down
                log.debug("metrics sampling failed", exc_info=True)
            if self._available is False:
                return
            self._stopping.wait(self.interval)

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

    def _record(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            for item in items:
                meta = item.get("metadata") or {}
                key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
                per_container = self._series.setdefault(key, {})
                for sample in parse_pod_metrics(item):
                    series = per_container.setdefault(sample.container, deque(maxlen=self._history))
                    # metrics-server repeats a sample until the kubelet scrapes again: keep one.
                    if not series or series[-1].at != sample.at:
                        series.append(sample)
            self._forget_old()

    def _forget_old(self) -> None:
        """Drop pods whose newest sample is older than the history window (deleted pods)."""
        newest = {
            key: max(q[-1].at for q in per.values() if q)
            for key, per in self._series.items()
            if any(per.values())
        }
        if not newest:
            return
        horizon = max(newest.values()) - timedelta(seconds=self._history * self.interval)
        for key in [k for k, at in newest.items() if at < horizon]:
            del self._series[key]
