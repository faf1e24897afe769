"""The kubelet's pod loop: which pods it runs (binding unbound ones itself, or running those a
real scheduler bound to its nodes), admitting them, sandbox setup, graceful deletion, and the
readiness blips the benchmarks use for churn.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import zlib
from typing import TYPE_CHECKING

from kcrash.lab.events import EventRecorder
from kcrash.lab.kubelet.containers import ContainersMixin
from kcrash.lab.kubelet.metrics import MetricsMixin
from kcrash.lab.kubelet.probes import ProbesMixin
from kcrash.lab.kubelet.running import RunningMixin
from kcrash.lab.kubelet.state import METRICS_BUCKETS, ContainerRun, Instance, Node, PodKey, PodRun, qos_class
from kcrash.lab.kubelet.status import condition
from kcrash.lab.logs import LogBook
from kcrash.lab.scenarios import Behaviour, BehaviourBook
from kcrash.lab.store import Change, Conflict, NotFound, Obj, ObjectStore

if TYPE_CHECKING:
    from kcrash.lab.scheduler import Scheduler


class Kubelet(ContainersMixin, RunningMixin, ProbesMixin, MetricsMixin):
    """Scheduler and kubelet for every simulated node."""

    def __init__(
        self,
        store: ObjectStore,
        sched: Scheduler,
        logs: LogBook,
        recorder: EventRecorder,
        book: BehaviourBook,
        rng: random.Random,
    ) -> None:
        super().__init__(store, sched, logs, recorder, book, rng)
        store.add_watcher("pods", self._on_pod_change)

    # -- nodes ---------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return self.node_pool.nodes

    def add_nodes(self, count: int, prefix: str = "lab-worker") -> None:
        self.node_pool.add(count, prefix)

    def pool_node(self, limit: int = 100) -> Node:
        """A node of the extra-pods pool with room, filled one after the other."""
        return self.node_pool.pool_node(limit)

    # -- which pods we run ---------------------------------------------------------------------
    def ignore(self, namespace: str, name: str) -> None:
        """A pod served exactly as given: never scheduled, run or deleted gracefully by us."""
        self._ignored.add((namespace, name))

    def running_pods(self) -> list[PodRun]:
        return list(self._pods.values())

    def pod(self, namespace: str, name: str) -> PodRun | None:
        return self._pods.get((namespace, name))

    def _on_pod_change(self, change: Change) -> None:
        meta = change.obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        uid = meta.get("uid", "")
        run = self._pods.get(key)
        if change.type == "DELETED":
            self._ignored.discard(key)
            if run is not None and run.uid == uid:
                self._forget(run)
            return
        if run is None:
            if meta.get("deletionTimestamp"):
                # Nobody runs it (served as given, or not bound yet): it goes at once.
                self.sched.soon(lambda: self._delete_unrun(key, uid))
            elif self.runs_bound_pods:
                if key not in self._ignored and self.node_named(change.obj.get("spec", {}).get("nodeName")):
                    self.sched.soon(lambda: self._run_bound(key, uid))
            elif (
                change.type == "ADDED"
                and key not in self._ignored
                and not change.obj.get("spec", {}).get("nodeName")
            ):
                self.sched.soon(lambda: self._bind(key, uid))
            return
        if meta.get("deletionTimestamp") and not run.deleting and run.uid == meta.get("uid"):
            grace = meta.get("deletionGracePeriodSeconds")
            self.sched.soon(lambda: self._begin_delete(run, 30.0 if grace is None else float(grace)))

    def _delete_unrun(self, key: PodKey, uid: str) -> None:
        if key in self._pods:
            return
        with contextlib.suppress(NotFound, Conflict):
            self.store.delete("pods", key[0], key[1], uid=uid)

    # -- scheduling and admission --------------------------------------------------------------
    def node_named(self, name: object) -> Node | None:
        return self.node_pool.named(name)

    def _run_bound(self, key: PodKey, uid: str) -> None:
        """Run a pod someone else bound to one of our nodes (the real scheduler)."""
        pod = self.store.get("pods", *key)
        if pod is None or pod["metadata"].get("uid") != uid or key in self._pods:
            return
        node = self.node_named(pod["spec"].get("nodeName"))
        if node is None:
            return
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_unrun(key, uid)
            return
        run = self._new_run(pod, node)
        self._pods[key] = run
        begin = self.sched.now() - (max(0.0, self.started_ago(pod)) if self.started_ago else 0.0)
        run.conditions["PodScheduled"] = ("True", begin)
        self.sched.at(begin + 0.4, lambda: self._admit(run))

    def _bind(self, key: PodKey, uid: str) -> None:
        pod = self.store.get("pods", *key)
        if pod is None or pod["metadata"].get("uid") != uid or key in self._pods:
            return
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_unrun(key, uid)
            return
        node = self.node_pool.pick()
        run = self._new_run(pod, node)
        self._pods[key] = run
        now = self.sched.now()
        run.conditions["PodScheduled"] = ("True", now)

        bound = dict(pod)
        bound["metadata"] = dict(pod["metadata"])
        bound["spec"] = {**pod["spec"], "nodeName": node.name}
        bound["status"] = {
            "phase": "Pending",
            "conditions": [condition("PodScheduled", "True", now)],
            "qosClass": run.qos,
        }
        self.store.replace("pods", bound)
        self.recorder.emit_scheduled(bound, node.name)
        self.sched.after(0.4, lambda: self._admit(run))

    def _template_facts(self, pod: Obj) -> tuple[str, dict[str, Behaviour]]:
        """QoS class and behaviours per container; the same for every pod of one ReplicaSet."""
        meta = pod["metadata"]
        owner = next((r.get("uid") for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        if owner is not None and owner in self._facts:
            return self._facts[owner]
        spec = pod["spec"]
        namespace = meta.get("namespace", "default")
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        facts = (qos_class(spec), {c["name"]: self.book.lookup(namespace, c) for c in containers})
        if owner is not None:
            self._facts[owner] = facts
        return facts

    def _new_run(self, pod: Obj, node: Node) -> PodRun:
        meta = pod["metadata"]
        spec = pod["spec"]
        namespace = meta.get("namespace", "default")
        qos, behaviours = self._template_facts(pod)
        init = [
            ContainerRun(c["name"], c, True, behaviours[c["name"]], waiting_reason="PodInitializing")
            for c in spec.get("initContainers") or []
        ]
        apps = [
            ContainerRun(
                c["name"],
                c,
                False,
                behaviours[c["name"]],
                waiting_reason="PodInitializing" if init else "ContainerCreating",
            )
            for c in spec.get("containers") or []
        ]
        if init:
            init[0].waiting_reason = "ContainerCreating"
        self.node_pool.occupy(node)
        run = PodRun(
            namespace=namespace,
            name=meta["name"],
            uid=meta.get("uid", ""),
            node=node,
            spec=spec,
            labels=dict(meta.get("labels") or {}),
            init=init,
            apps=apps,
            qos=qos,
            bucket=zlib.crc32(f"{namespace}/{meta['name']}".encode()) % METRICS_BUCKETS,
        )
        self._buckets[run.bucket].add(run.key)
        return run

    def _admit(self, run: PodRun) -> None:
        if run.deleting or self._pods.get(run.key) is not run:
            return
        now = self.sched.now()
        run.start_time = now
        for name in ("Initialized", "Ready", "ContainersReady", "PodReadyToStartContainers"):
            run.conditions.setdefault(name, ("False", now))
        if not run.init:
            run.init_done = True
            run.conditions["Initialized"] = ("True", now)
        self._publish(run)
        self.sched.after(0.9, lambda: self._sandbox_ready(run))

    def _sandbox_ready(self, run: PodRun) -> None:
        if run.deleting:
            return
        run.ip = self.node_pool.allocate_ip(run.node)
        run.sandbox_ready = True
        run.conditions["PodReadyToStartContainers"] = ("True", self.sched.now())
        self._publish(run)
        self._start_next(run)

    def admit_running(
        self, pod: Obj, node: Node | None, started: float, restarts: int = 0, log_from: float = -math.inf
    ) -> Obj:
        """Fill in a not-yet-stored pod as one that has run quietly since `started`.

        Used for large fleets of healthy pods: one store write per pod, no history to replay.
        """
        meta = pod["metadata"]
        node = node or self.node_pool.pick()
        run = self._new_run(pod, node)
        pod["spec"]["nodeName"] = node.name
        self._pods[run.key] = run
        run.start_time = started - 2.5
        run.ip = self.node_pool.allocate_ip(node)
        run.sandbox_ready = True
        run.init_done = True
        for name in ("PodScheduled", "Initialized", "PodReadyToStartContainers"):
            run.conditions[name] = ("True", started - 3.0)
        for name in ("Ready", "ContainersReady"):
            run.conditions[name] = ("True", started + 1.0)
        for c in run.init:
            inst = Instance(0, self._container_id(), started - 2.0, started - 1.0, 0, "Completed")
            c.current, c.state, c.restart_count = inst, "terminated", 0
        for c in run.apps:
            c.restart_count = restarts
            inst = Instance(restarts, self._container_id(), started)
            inst.healthy_at = started
            c.current, c.state, c.ready, c.started = inst, "running", True, True
            if restarts:
                finished = started - 1.0
                c.last = Instance(restarts - 1, self._container_id(), finished - 3600, finished, 1, "Error")
                self._series_started(run, c, c.last)
            self._series_started(run, c, inst)
            self.logs.start_instance(run.namespace, run.name, c.name)
            for line in c.behaviour.log_lines:
                self._write_log(run, c, inst, started + line.after, line.text)
            self._arm_heartbeat(run, c, inst, max(started + 1.0, log_from))
        pod["status"] = self._render(run)
        if meta.get("deletionTimestamp"):
            run.deleting = True
        return pod

    # -- deletion ------------------------------------------------------------------------------
    def _begin_delete(self, run: PodRun, grace: float) -> None:
        if run.deleting or self._pods.get(run.key) is not run:
            return
        run.deleting = True
        for c in run.containers():
            self._cancel_pending(c)
            inst = c.current
            if c.state == "running" and inst is not None and not inst.stopping:
                self._stop_for_delete(run, c, inst, grace)
        self._maybe_finish_delete(run)

    def _stop_for_delete(self, run: PodRun, c: ContainerRun, inst: Instance, grace: float) -> None:
        inst.stopping = True
        c.ready = False
        self._event(run, c, "Normal", "Killing", f"Stopping container {c.name}")
        b = c.behaviour
        if b.ignores_sigterm:
            code, after, reason = 137, grace, "Error"
        else:
            code, after = b.sigterm_exit_code, min(grace, 0.5)
            reason = "Completed" if code == 0 else "Error"
        inst.timers.append(self.sched.after(after, lambda: self._terminate(run, c, inst, code, reason)))

    def _maybe_finish_delete(self, run: PodRun) -> None:
        if any(c.state == "running" for c in run.containers()):
            return
        self.sched.after(0.2, lambda: self._remove(run))

    def _remove(self, run: PodRun) -> None:
        if self._pods.get(run.key) is not run:
            return
        try:
            self.store.delete("pods", run.namespace, run.name, uid=run.uid)
        except (NotFound, Conflict):
            self._forget(run)

    def _forget(self, run: PodRun) -> None:
        if self._pods.get(run.key) is not run:
            return
        del self._pods[run.key]
        self.node_pool.vacate(run.node)
        self._buckets[run.bucket].discard(run.key)
        run.deleting = True
        for c in run.containers():
            self._cancel_pending(c)
            if c.current is not None:
                for timer in c.current.timers:
                    timer.cancel()
        self.logs.forget_pod(run.namespace, run.name)
        self.recorder.forget(run.uid)
        self.series.gone(run.namespace, run.name)
        with contextlib.suppress(NotFound):
            self.store.delete("podmetrics", run.namespace, run.name)

    # -- churn (benchmarks) --------------------------------------------------------------------
    def has_running(self, run: PodRun) -> bool:
        return any(
            c.state == "running" and c.current is not None and not c.current.stopping for c in run.apps
        )

    def blip(self, run: PodRun, outage: float = 10.0) -> bool:
        """A readiness hiccup: a ready container turns unready for `outage` seconds (or back early).

        False when the pod has no container to flip (nothing changed).
        """
        for c in run.apps:
            inst = c.current
            if c.state != "running" or inst is None or inst.stopping:
                continue
            if c.ready:
                c.ready, inst.blipped = False, True
                self.publish_now(run)
                inst.timers.append(self.sched.after(outage, functools.partial(self._recover, run, c, inst)))
                return True
            if inst.blipped:
                c.ready, inst.blipped = True, False
                self.publish_now(run)
                return True
        return False

    def _recover(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if self._alive(c, inst) and inst.blipped:
            c.ready, inst.blipped = True, False
            self._publish(run)
