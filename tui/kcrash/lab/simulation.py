"""The lab's simulated world: scenarios, extra pods and --load objects, on one scheduler.

`Simulation` composes the kubelet, the controllers, the event recorder and the log book around the
API server's Store. On start it pre-plays the recent past (by default 15 simulated minutes, quickly,
without sleeping) so crash-looping pods already have realistic restart counts, backoffs, events and
previous logs, then keeps running live on the SimClock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from pathlib import Path

from kcrash.lab import extra, loader
from kcrash.lab.clock import SimClock
from kcrash.lab.controllers import (
    Controllers,
    build_deployment,
    build_replicaset,
    new_uid,
    pod_from_template,
)
from kcrash.lab.defaults import random_suffix
from kcrash.lab.events import EventRecorder, stamp
from kcrash.lab.kubelet import Kubelet
from kcrash.lab.logs import LogBook
from kcrash.lab.scenarios import (
    HEALTHY,
    BehaviourBook,
    Scenario,
    ScenarioSet,
    load_builtin_scenarios,
    load_scenarios,
)
from kcrash.lab.scheduler import Scheduler
from kcrash.lab.store import Conflict, Obj, Store

log = logging.getLogger(__name__)

PREPLAY_SECONDS = 900.0
SWEEP_EVERY = 300.0
CHANGE_CAUSE = "kubernetes.io/change-cause"


class Simulation:
    """Everything that changes in the lab by itself."""

    def __init__(self, store: Store, clock: SimClock, logs: LogBook, seed: int = 0) -> None:
        self.store = store
        self.clock = clock
        self.logs = logs
        self.rng = random.Random(seed)
        self.sched = Scheduler(clock)
        self.recorder = EventRecorder(store, self.sched.now, self.sched.wall)
        self.book = BehaviourBook()
        self.kubelet = Kubelet(store, self.sched, logs, self.recorder, self.book, self.rng)
        self.controllers = Controllers(store, self.sched, self.recorder, self.rng)
        self.preplay_seconds = PREPLAY_SECONDS
        self.scenarios: list[Scenario] = []
        self._objects: list[Obj] = []
        self._extra: list[extra.ExtraDeployment] = []
        self._taken: set[tuple[str, str]] = set()
        self.static_objects = 0  # served as given from --load files
        self._started = False
        self._live = False  # pre-play is over
        self._metrics_running = False
        self._task: asyncio.Task[None] | None = None

    @property
    def simulated(self) -> bool:
        """False when the lab only serves static --load objects (nothing runs them)."""
        return bool(self.scenarios or self._extra)

    # -- what to run -----------------------------------------------------------------------------
    def load_builtin(self) -> None:
        self._add(load_builtin_scenarios())

    def load_scenarios_file(self, path: Path) -> None:
        self._add(load_scenarios(path))

    def load_objects_file(self, path: Path) -> None:
        """Serve the file's objects exactly as given; nothing simulated touches them."""
        objects = loader.read_documents(path)
        for obj in objects:
            resource = loader.RESOURCES.get(obj["kind"])
            meta = obj["metadata"]
            namespace = "" if obj["kind"] in loader.CLUSTER_SCOPED else meta.get("namespace", "default")
            if resource == "pods":
                self.kubelet.ignore(namespace, meta["name"])
            elif resource in ("deployments", "replicasets"):
                self.controllers.ignore(resource, namespace, meta["name"])
        loaded = loader.load_objects(path, self.store, self.logs, self.clock.now(), objects)
        self.static_objects += len(loaded.objects)

    def add_extra_pods(self, n: int) -> None:
        if n <= 0:
            return
        planned = extra.plan_extra(n, self.rng, self._taken)
        for deployment in planned:
            container = deployment.template["spec"]["containers"][0]
            self.book.register(deployment.namespace, container, deployment.behaviour)
        self._extra.extend(planned)
        if self._started:
            now = self.sched.now()
            self._prepare(now)
            self._ensure_namespaces({d.namespace for d in planned}, now - 86400 * 60)
            for deployment in planned:
                self._materialize_extra(deployment, now)
            self._go_live()

    def _add(self, found: ScenarioSet) -> None:
        for scenario in found.scenarios:
            for revision in scenario.revisions:
                spec = revision.template["spec"]
                for container in (spec.get("initContainers") or []) + spec["containers"]:
                    behaviour = revision.behaviours.get(container["name"], HEALTHY)
                    self.book.register(scenario.namespace, container, behaviour)
            self._taken.add((scenario.namespace, scenario.name))
        self.scenarios.extend(found.scenarios)
        self._objects.extend(found.objects)
        if self._started:
            now = self.sched.now()
            self._prepare(now)
            self._create_support_objects(found.objects, now)
            for scenario in found.scenarios:
                self._create_scenario(scenario)
            self._go_live()

    # -- running ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Build the world as it was `preplay_seconds` ago, play it up to now, then run live."""
        if self._started:
            return
        self._started = True
        live = self.sched.wall()
        if self.simulated:
            self._prepare(live)
            oldest = live - max(
                [self._age(s, i) for i, s in enumerate(self.scenarios)] or [self.preplay_seconds]
            )
            self._create_support_objects(self._objects, oldest - 86400)
            for i, scenario in enumerate(self.scenarios):
                created = live - self._age(scenario, i)
                self.sched.at(created, functools.partial(self._create_scenario, scenario))
            if self._extra:
                self._ensure_namespaces({d.namespace for d in self._extra}, live - 86400 * 60)
                for deployment in self._extra:
                    self._materialize_extra(deployment, live)
            await self._preplay(live)
        self._go_live()
        self._task = asyncio.create_task(self.sched.run(), name="kcrash-lab-simulation")

    def _prepare(self, live: float) -> None:
        """Nodes and horizons, once, before anything simulated is created."""
        if self.kubelet.nodes:
            return
        self.kubelet.log_horizon = live - 2 * self.preplay_seconds
        self.kubelet.live_from = live
        self.kubelet.add_nodes(3)

    def _go_live(self) -> None:
        """After pre-play: metrics and event expiry start (only once something is simulated)."""
        self._live = True
        if self.simulated and not self._metrics_running:
            self._metrics_running = True
            self.kubelet.start_metrics()
            self.sched.after(SWEEP_EVERY, self._sweep)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def advance(self, seconds: float) -> None:
        """Jump simulated time forward and run everything due meanwhile (tests)."""
        self.clock.advance(seconds)
        target = self.sched.wall()
        while self.sched.run_due(target, limit=5000) >= 5000:
            await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def churn(self, events_per_second: float, seconds: float) -> int:
        """Benchmarks: flip random running pods' readiness at this rate for this many real seconds.

        Returns how many pod status changes it made.
        """
        runs = [r for r in self.kubelet.running_pods() if not r.deleting and self.kubelet.has_running(r)]
        if not runs or events_per_second <= 0:
            return 0
        begin = time.monotonic()
        done = 0
        while (elapsed := time.monotonic() - begin) < seconds:
            due = int(events_per_second * elapsed) - done
            for _ in range(max(0, due)):
                for _attempt in range(3 * len(runs)):  # one may have stopped meanwhile: pick another
                    run = runs[self.rng.randrange(len(runs))]
                    if not run.deleting and self.kubelet.blip(run):
                        done += 1
                        break
                else:
                    return done  # nothing left that can change
            await asyncio.sleep(0.02)
        return done

    async def _preplay(self, until: float) -> None:
        while self.sched.run_due(until, limit=5000) >= 5000:
            await asyncio.sleep(0)

    def _sweep(self) -> None:
        self.recorder.sweep()
        self.sched.after(SWEEP_EVERY, self._sweep)

    # -- building the world ----------------------------------------------------------------------
    def _age(self, scenario: Scenario, index: int) -> float:
        if scenario.age is not None:
            return scenario.age
        return self.preplay_seconds - 7.0 * index  # staggered, so pods do not restart in lockstep

    def _create_support_objects(self, objects: list[Obj] | tuple[Obj, ...], created: float) -> None:
        namespaces = {s.namespace for s in self.scenarios}
        namespaces |= {o["metadata"]["namespace"] for o in objects if o.get("kind") != "Namespace"}
        self._ensure_namespaces(namespaces, created - 86400 * 30)
        for obj in objects:
            resource = loader.RESOURCES.get(str(obj.get("kind")))
            if resource is None:
                log.warning(
                    "scenario object %s/%s is not served by the lab", obj.get("kind"), obj["metadata"]["name"]
                )
                continue
            body = {**obj, "metadata": {"creationTimestamp": stamp(created), **obj["metadata"]}}
            body["metadata"].setdefault("uid", new_uid(self.rng))
            with contextlib.suppress(Conflict):
                self.store.create(resource, body)

    def _ensure_namespaces(self, names: set[str], created: float) -> None:
        for name in sorted(names):
            if self.store.get("namespaces", "", name) is not None:
                continue
            obj: Obj = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": name,
                    "uid": new_uid(self.rng),
                    "creationTimestamp": stamp(created),
                    "labels": {"kubernetes.io/metadata.name": name},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            with contextlib.suppress(Conflict):
                self.store.create("namespaces", obj)

    def _create_scenario(self, scenario: Scenario) -> None:
        now = self.sched.now()
        first = scenario.revisions[0]
        if scenario.kind == "Pod":
            pod = pod_from_template(
                first.template, scenario.name, scenario.namespace, now, new_uid(self.rng), self.rng, None
            )
            with contextlib.suppress(Conflict):
                self.store.create("pods", pod)
            return
        annotations = {CHANGE_CAUSE: first.change_cause} if first.change_cause else None
        deployment = build_deployment(
            scenario.name,
            scenario.namespace,
            scenario.replicas,
            first.template,
            now,
            new_uid(self.rng),
            annotations,
        )
        try:
            self.store.create("deployments", deployment)
        except Conflict:
            return
        moment = now
        for revision in scenario.revisions[1:]:
            moment += revision.after
            apply = functools.partial(
                self._apply_revision, scenario, revision.template, revision.change_cause
            )
            self.sched.at(moment, apply)

    def _apply_revision(self, scenario: Scenario, template: Obj, change_cause: str | None) -> None:
        """What `kubectl set image --record` / `kubectl apply` does: a new template (and cause)."""

        def change(obj: Obj) -> None:
            obj["spec"]["template"] = dict(template)
            annotations = dict(obj["metadata"].get("annotations") or {})
            if change_cause:
                annotations[CHANGE_CAUSE] = change_cause
            else:
                annotations.pop(CHANGE_CAUSE, None)
            obj["metadata"]["annotations"] = annotations

        with contextlib.suppress(Exception):
            self.store.mutate("deployments", scenario.namespace, scenario.name, change)

    def _materialize_extra(self, planned: extra.ExtraDeployment, live: float) -> None:
        """Healthy extras appear settled (one write per object); the rest are played like scenarios."""
        if not planned.settled:
            when = self.sched.now() if self._live else live - planned.age
            self.sched.at(when, lambda: self._create_extra_deployment(planned))
            return
        created = live - planned.age
        deployment = build_deployment(
            planned.name, planned.namespace, planned.replicas, planned.template, created, new_uid(self.rng)
        )
        deployment["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
        rs = build_replicaset(deployment, 1, planned.replicas, created + 0.1, new_uid(self.rng))
        count = planned.replicas  # settled: the status the ReplicaSet controller would write
        rs["status"] = {
            "replicas": count,
            "fullyLabeledReplicas": count,
            "readyReplicas": count,
            "availableReplicas": count,
            "observedGeneration": 1,
        }
        self.store.create("deployments", deployment)
        self.store.create("replicasets", rs)
        rs_name = rs["metadata"]["name"]
        for _ in range(planned.replicas):
            started = live - self.rng.uniform(600.0, max(900.0, planned.age - 60.0))
            name = f"{rs_name}-{random_suffix(self.rng)}"
            while self.store.get("pods", planned.namespace, name) is not None:
                name = f"{rs_name}-{random_suffix(self.rng)}"
            pod = pod_from_template(
                rs["spec"]["template"],
                name,
                planned.namespace,
                started - 4.0,
                new_uid(self.rng),
                self.rng,
                rs,
            )
            self.kubelet.admit_running(pod, self.kubelet.pool_node(), started, log_from=live)
            self.store.create("pods", pod)

    def _create_extra_deployment(self, planned: extra.ExtraDeployment) -> None:
        now = self.sched.now()
        deployment = build_deployment(
            planned.name, planned.namespace, planned.replicas, planned.template, now, new_uid(self.rng)
        )
        with contextlib.suppress(Conflict):
            self.store.create("deployments", deployment)
