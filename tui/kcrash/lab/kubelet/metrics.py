"""The kubelet's resource metrics: PodMetrics objects (what `kubectl top` and the metrics API read),
refreshed a fifteenth of the pods per simulated second, and the per-instance series `/metrics` and
the OpenMetrics history are drawn from.
"""

from __future__ import annotations

import functools
import random

from kcrash.lab.events import stamp
from kcrash.lab.kubelet.base import KubeletBase
from kcrash.lab.kubelet.state import (
    METRICS_BUCKETS,
    METRICS_PERIOD,
    ContainerRun,
    Instance,
    PodRun,
    memory_limit_mi,
)
from kcrash.lab.series import Track
from kcrash.lab.store import Obj


def memory_mi(c: ContainerRun, inst: Instance, moment: float, rng: random.Random | None = None) -> float:
    """The instance's memory at `moment` (MiB): its behaviour's curve, kept under the limit.

    With `rng`, the behaviour's noise is added (what metrics-server would sample).
    """
    mem = c.behaviour.memory
    start = inst.started_at or moment
    value = mem.start_mi + mem.growth_mi_per_min * max(0.0, moment - start) / 60.0
    if mem.plateau_mi is not None:
        value = min(value, mem.plateau_mi)
    if rng is not None and mem.noise_mi:
        value += rng.uniform(-mem.noise_mi, mem.noise_mi)
    limit = memory_limit_mi(c.spec)
    if limit is not None:
        value = min(value, limit - 0.5)  # at the limit the kernel kills it
    return max(1.0, value)


class MetricsMixin(KubeletBase):
    """PodMetrics writes and series registration."""

    def start_metrics(self) -> None:
        """One full PodMetrics pass now, then a fifteenth of the pods every simulated second."""
        if self._metrics_started:
            return
        self._metrics_started = True
        for bucket in range(METRICS_BUCKETS):
            self._metrics_pass(bucket, rearm=False)
            self.sched.after(
                1.0 + bucket * METRICS_PERIOD / METRICS_BUCKETS,
                functools.partial(self._metrics_pass, bucket, True),
            )

    def _metrics_pass(self, bucket: int, rearm: bool) -> None:
        now = self.sched.now()
        for key in list(self._buckets[bucket]):
            run = self._pods.get(key)
            if run is not None:
                self._write_metrics(run, now)
        if rearm:
            self.sched.after(METRICS_PERIOD, lambda: self._metrics_pass(bucket, rearm=True))

    def _write_metrics(self, run: PodRun, now: float) -> None:
        containers = []
        for c in run.apps:
            inst = c.current
            if c.state != "running" or inst is None or inst.started_at is None:
                continue
            memory_kib = int(memory_mi(c, inst, now, self.rng) * 1024)
            cpu = max(0.2, c.behaviour.cpu_m * self.rng.uniform(0.7, 1.3))
            containers.append(
                {"name": c.name, "usage": {"cpu": f"{int(cpu * 1e6)}n", "memory": f"{memory_kib}Ki"}}
            )
        existing = self.store.get("podmetrics", run.namespace, run.name)
        if not containers:
            if existing is not None:
                self.store.delete("podmetrics", run.namespace, run.name)
            return
        obj: Obj = {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "PodMetrics",
            "metadata": {
                "name": run.name,
                "namespace": run.namespace,
                "creationTimestamp": stamp(now),
                "labels": dict(run.labels),
            },
            "timestamp": stamp(now - 1.0),
            "window": "15s",
            "containers": containers,
        }
        if existing is None:
            self.store.create("podmetrics", obj)
        else:
            obj["metadata"]["uid"] = existing["metadata"].get("uid")
            self.store.replace("podmetrics", obj)

    def _series_started(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        def make() -> Track:
            limit = memory_limit_mi(c.spec)
            return Track(
                run.namespace, run.name, c.name, run.uid, run.node.name, c.image, c.behaviour.memory, limit
            )

        self.series.started(self.series.track((run.namespace, run.name, c.name, run.uid), make), inst)
