"""What every part of the kubelet shares: its collaborators and per-pod records (`KubeletBase`),
and the small services they all use: writing a pod's status, recording an event, cancelling timers.

`Kubelet` (sync.py) combines this base with the container, running-instance, probe and metrics
parts; the methods one part calls on another are declared here for the type checker.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from kcrash.lab.events import EventRecorder
from kcrash.lab.kubelet.nodes import NodePool
from kcrash.lab.kubelet.state import METRICS_BUCKETS, ContainerRun, Instance, PodKey, PodRun
from kcrash.lab.kubelet.status import render_status
from kcrash.lab.logs import LogBook
from kcrash.lab.scenarios import Behaviour, BehaviourBook
from kcrash.lab.series import SeriesBook
from kcrash.lab.store import Obj, ObjectStore

if TYPE_CHECKING:
    from kcrash.lab.scheduler import Scheduler


class KubeletBase:
    """The kubelet's state and the services every part of it uses."""

    def __init__(
        self,
        store: ObjectStore,
        sched: Scheduler,
        logs: LogBook,
        recorder: EventRecorder,
        book: BehaviourBook,
        rng: random.Random,
    ) -> None:
        self.store = store
        self.sched = sched
        self.logs = logs
        self.recorder = recorder
        self.book = book
        self.rng = rng
        self.node_pool = NodePool(store, sched.now)
        self._pods: dict[PodKey, PodRun] = {}
        self._ignored: set[PodKey] = set()  # pods served as given (--load): nobody runs them
        self._images: set[tuple[str, str]] = set()
        self._facts: dict[str, tuple[str, dict[str, Behaviour]]] = {}  # by owning ReplicaSet uid
        self._buckets: list[set[PodKey]] = [set() for _ in range(METRICS_BUCKETS)]
        self._metrics_started = False
        self.series = SeriesBook(sched.now)
        """Every app container instance run, for `/metrics` and the OpenMetrics history."""
        self.log_horizon = -math.inf  # heartbeats older than this are not worth writing
        self.live_from = -math.inf  # before this the world is being pre-played
        # With a real control plane the real scheduler binds pods: run the ones bound to our nodes
        # instead of binding unbound ones ourselves.
        self.runs_bound_pods = False
        # How long before now a bound pod is to have started: its past is then played quickly,
        # as the embedded lab pre-plays its scenarios (None: it starts now).
        self.started_ago: Callable[[Obj], float] | None = None

    if TYPE_CHECKING:
        # Implemented by the parts Kubelet combines; declared so each part can call the others.
        def _sync_container(self, run: PodRun, c: ContainerRun, pulled: bool = False) -> None: ...
        def _start_next(self, run: PodRun) -> None: ...
        def _arm_instance(self, run: PodRun, c: ContainerRun, inst: Instance) -> None: ...
        def _after_exit(self, run: PodRun, c: ContainerRun) -> None: ...
        def _arm_probes(self, run: PodRun, c: ContainerRun, inst: Instance, start: float) -> None: ...
        def _series_started(self, run: PodRun, c: ContainerRun, inst: Instance) -> None: ...
        def _maybe_finish_delete(self, run: PodRun) -> None: ...
        def _terminate(
            self,
            run: PodRun,
            c: ContainerRun,
            inst: Instance,
            code: int,
            reason: str,
            message: str | None = None,
            signal: int | None = None,
            cut: str | None = None,
        ) -> None: ...

    # -- status --------------------------------------------------------------------------------
    def _publish(self, run: PodRun) -> None:
        """Write the pod's status soon (several changes at one instant become one write)."""
        if run.publish_pending:
            return
        run.publish_pending = True
        self.sched.soon(lambda: self._write_status(run))

    def publish_now(self, run: PodRun) -> None:
        run.publish_pending = True
        self._write_status(run)

    def _write_status(self, run: PodRun) -> None:
        run.publish_pending = False
        if self._pods.get(run.key) is not run:
            return
        current = self.store.get("pods", run.namespace, run.name)
        if current is None or current["metadata"].get("uid") != run.uid:
            return
        status = self._render(run)
        if status == current.get("status"):
            return  # like the status manager: no write when nothing changed
        fresh = dict(current)
        fresh["metadata"] = dict(current["metadata"])
        fresh["status"] = status
        self.store.replace("pods", fresh)

    def _render(self, run: PodRun) -> Obj:
        status, run.conditions = render_status(run, self.sched.now())
        return status

    # -- small utilities -----------------------------------------------------------------------
    def _alive(self, c: ContainerRun, inst: Instance) -> bool:
        return c.current is inst and c.state == "running" and not inst.stopping

    def _event(
        self,
        run: PodRun,
        c: ContainerRun | None,
        type_: str,
        reason: str,
        message: str,
        times: int = 1,
        last: float | None = None,
    ) -> None:
        pod = self.store.get("pods", run.namespace, run.name)
        if pod is None:
            return
        field_path = c.field_path if c is not None else None
        self.recorder.emit(pod, type_, reason, message, "kubelet", run.node.name, field_path, times, last)

    def _retries_in_the_past(self, until: float) -> tuple[int, float | None]:
        """While pre-playing, a whole back-off's retries (one per 10-15 s) become one event write."""
        now = self.sched.now()
        if until >= self.live_from - 60.0:
            return 1, None
        times = max(1, int((until - now) / 12.5))
        return times, now + (times - 1) * 12.5

    def _pod_ref(self, run: PodRun) -> str:
        return f"{run.name}_{run.namespace}({run.uid})"

    def _container_id(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def _cancel_pending(self, c: ContainerRun) -> None:
        for timer in c.pending:
            timer.cancel()
        c.pending.clear()
        c.pulling = False
