"""The lab's kubelet as the node side of a real control plane (what sigs.k8s.io/kwok does for fake
nodes): Nodes with status and Leases, the pods the real scheduler binds to them played with the
scenarios' behaviour, Events, the kubelet API for logs and metrics.k8s.io for `kubectl top`.

`LabNodes.start()` runs everything on one event loop in a thread of its own:
- the simulation's kubelet, event recorder and log book over an `ApiStore`;
- the HTTPS endpoint the apiserver reaches the nodes and the metrics API on;
and then, from the calling thread, registers the metrics APIService and applies the scenarios as
ordinary manifests (Namespace, ConfigMaps, Secrets, Deployments, Pods): the real controller-manager
makes the ReplicaSets and pods, the real scheduler binds them. A Deployment with several revisions
gets the later templates once the first has rolled out, so `rollout history` and `rollout undo` go
through the real deployment controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from aiohttp import web

from kcrash.lab.clock import SimClock
from kcrash.lab.events import EventRecorder, micro_stamp
from kcrash.lab.kubelet import Kubelet
from kcrash.lab.logs import LogBook
from kcrash.lab.realcp.apiclient import JSON_PATCH, MERGE_PATCH, ApiClient, ApiFailure
from kcrash.lab.realcp.apistore import ApiStore
from kcrash.lab.realcp.kubeletapi import GROUP, VERSION, build_app
from kcrash.lab.scenarios import HEALTHY, BehaviourBook, Scenario, ScenarioSet
from kcrash.lab.scheduler import Scheduler
from kcrash.lab.simulation import CHANGE_CAUSE, PREPLAY_SECONDS
from kcrash.lab.tls import make_certificates

log = logging.getLogger(__name__)

NODE_COUNT = 3
LEASE_SECONDS = 40
RENEW_EVERY = 10.0
REVISION_DELAY = 20.0  # a later revision waits at most this long for the one before to roll out
ROLLOUT_POLL = 0.5
APPLY_RETRY_FOR = 60.0  # e.g. a Pod before its namespace's default ServiceAccount exists
METRICS_SERVICE = "kcrash-lab-metrics"
MAX_PAST = 7200.0  # a pod's past is played at most this far back (a healthy one looks the same)
HOST = "127.0.0.1"

Obj = dict[str, Any]

# kind -> (API path prefix, resource) for what scenario files may hold
KINDS: dict[str, tuple[str, str]] = {
    "Namespace": ("/api/v1", "namespaces"),
    "ConfigMap": ("/api/v1", "configmaps"),
    "Secret": ("/api/v1", "secrets"),
    "Service": ("/api/v1", "services"),
    "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "Pod": ("/api/v1", "pods"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
}
CLUSTER_KINDS = {"Namespace"}


class NodeStartError(Exception):
    """The node side did not come up; one line naming what failed."""


class LabNodes:
    """`with LabNodes(client, scenarios):` runs the lab's nodes against the apiserver `client` talks to."""

    def __init__(
        self,
        client: ApiClient,
        scenarios: ScenarioSet,
        *,
        node_count: int = NODE_COUNT,
        seed: int = 0,
        revision_delay: float = REVISION_DELAY,
    ) -> None:
        self.client = client
        self.scenarios = scenarios
        self.node_count = node_count
        self.seed = seed
        self.revision_delay = revision_delay
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.store: ApiStore | None = None
        self.kubelet: Kubelet | None = None
        self.logs = LogBook()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = threading.Event()

    def __enter__(self) -> LabNodes:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.kubelet.nodes] if self.kubelet is not None else []

    # -- starting ---------------------------------------------------------------------------------
    def start(self) -> None:
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run_loop, args=(ready,), name="kcrash-lab-nodes", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=30)
        except Exception as exc:
            raise NodeStartError(f"the lab's nodes did not start: {exc}") from exc
        assert self.store is not None
        self.store.drain(timeout=30)  # Nodes registered before anything can be scheduled
        self.register_metrics_api()
        self.apply_scenarios()

    def _run_loop(self, ready: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup())
        except Exception as exc:  # handed to start()
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._teardown())
            loop.close()

    async def _setup(self) -> None:
        clock = SimClock()
        sched = Scheduler(clock)
        store = ApiStore(clock, self.client, lambda: self.node_names)
        self.store = store
        recorder = EventRecorder(store, sched.now, sched.wall)
        book = BehaviourBook()
        for scenario in self.scenarios.scenarios:
            _register(book, scenario)
        kubelet = Kubelet(store, sched, self.logs, recorder, book, random.Random(self.seed))
        kubelet.runs_bound_pods = True
        kubelet.started_ago = self.started_ago
        now = sched.now()
        kubelet.live_from = now
        kubelet.log_horizon = now - 1800.0
        self.kubelet = kubelet
        self.port = await self._serve(store, clock)
        store.start(asyncio.get_running_loop(), self.port)
        kubelet.add_nodes(self.node_count)
        kubelet.start_metrics()
        self._renew_leases(sched)
        self._tasks.append(asyncio.create_task(sched.run(), name="kcrash-lab-kubelet"))

    async def _serve(self, store: ApiStore, clock: SimClock) -> int:
        app = build_app(store, self.logs, clock.now)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = _free_port()
        site = web.TCPSite(self._runner, HOST, port, ssl_context=make_certificates().server_context())
        await site.start()
        return port

    def _renew_leases(self, sched: Scheduler) -> None:
        """Every node's Lease in kube-node-lease, renewed: the node-lifecycle controller's heartbeat."""
        assert self.store is not None
        for name in self.node_names:
            self.store.send(functools.partial(self._renew_lease, name))
        sched.after(RENEW_EVERY, lambda: self._renew_leases(sched))

    def _renew_lease(self, node: str) -> None:
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        renewed = micro_stamp(time.time())
        try:
            self.client.request(
                "PATCH", f"{path}/{node}", {"spec": {"renewTime": renewed}}, content_type=MERGE_PATCH
            )
        except ApiFailure as failure:
            if failure.status != 404:
                raise
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": node, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": renewed},
            }
            self.client.request("POST", path, body)

    # -- the metrics API --------------------------------------------------------------------------
    def register_metrics_api(self) -> None:
        """An ExternalName Service `localhost` and an APIService for it.

        The apiserver resolves an ExternalName Service to https://<externalName>:<port>, so the
        aggregated API reaches this endpoint on loopback without kube-proxy and without Endpoints
        (which may not hold loopback addresses).
        """
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": METRICS_SERVICE, "namespace": "kube-system"},
            "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": self.port}]},
        }
        api_service = {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": f"{VERSION}.{GROUP}"},
            "spec": {
                "group": GROUP,
                "version": VERSION,
                "service": {"namespace": "kube-system", "name": METRICS_SERVICE, "port": self.port},
                "insecureSkipTLSVerify": True,
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        }
        self._apply("/api/v1/namespaces/kube-system/services", service)
        self._apply("/apis/apiregistration.k8s.io/v1/apiservices", api_service)

    # -- the scenarios as manifests ---------------------------------------------------------------
    def apply_scenarios(self) -> None:
        namespaces = {s.namespace for s in self.scenarios.scenarios}
        namespaces |= {
            o["metadata"]["namespace"] for o in self.scenarios.objects if o["kind"] not in CLUSTER_KINDS
        }
        for name in sorted(namespaces):
            self._apply(
                "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )
        for obj in self.scenarios.objects:
            self.apply_object(obj)
        for scenario in self.scenarios.scenarios:
            self._apply_scenario(scenario)

    def apply_object(self, obj: Obj) -> None:
        kind = obj["kind"]
        if kind not in KINDS:
            log.warning(
                "scenario object %s/%s is not applied to a real cluster", kind, obj["metadata"]["name"]
            )
            return
        prefix, resource = KINDS[kind]
        if kind in CLUSTER_KINDS:
            path = f"{prefix}/{resource}"
        else:
            path = f"{prefix}/namespaces/{obj['metadata']['namespace']}/{resource}"
        self._apply(path, obj)

    def _apply_scenario(self, scenario: Scenario) -> None:
        first = scenario.revisions[0]
        if scenario.kind == "Pod":
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    **(first.template.get("metadata") or {}),
                    "name": scenario.name,
                    "namespace": scenario.namespace,
                },
                "spec": first.template["spec"],
            }
            self.apply_object(pod)
            return
        self.apply_object(deployment_manifest(scenario, first.template, first.change_cause))
        if len(scenario.revisions) > 1:
            name = f"kcrash-lab-revisions-{scenario.name}"
            thread = threading.Thread(target=self._roll_revisions, args=(scenario,), name=name, daemon=True)
            thread.start()

    def _roll_revisions(self, scenario: Scenario) -> None:
        """Each later template once the one before has rolled out (or after `revision_delay` at most)."""
        for revision in scenario.revisions[1:]:
            self._wait_rolled_out(scenario, time.monotonic() + min(revision.after, self.revision_delay))
            if self._stopped.is_set():
                return
            self._apply_revision(scenario, revision.template, revision.change_cause)

    def _wait_rolled_out(self, scenario: Scenario, deadline: float) -> None:
        path = f"/apis/apps/v1/namespaces/{scenario.namespace}/deployments/{scenario.name}"
        while time.monotonic() < deadline and not self._stopped.wait(ROLLOUT_POLL):
            with contextlib.suppress(ApiFailure):
                if rolled_out(self.client.request("GET", path)):
                    return

    def _apply_revision(self, scenario: Scenario, template: Obj, change_cause: str | None) -> None:
        """What `kubectl set image` does to the Deployment: a new template and change-cause."""
        annotations = {CHANGE_CAUSE: change_cause} if change_cause else {CHANGE_CAUSE: None}
        path = f"/apis/apps/v1/namespaces/{scenario.namespace}/deployments/{scenario.name}"
        try:
            self.client.request(
                "PATCH",
                path,
                [{"op": "replace", "path": "/spec/template", "value": template}],
                content_type=JSON_PATCH,
            )
            self.client.request(
                "PATCH", path, {"metadata": {"annotations": annotations}}, content_type=MERGE_PATCH
            )
        except ApiFailure as failure:
            log.warning("cannot apply the next revision of %s: %s", scenario.name, failure)

    def _apply(self, path: str, body: Obj) -> None:
        """Create, tolerating 'already exists'; retried while admission is not ready for it yet."""
        deadline = time.monotonic() + APPLY_RETRY_FOR
        while True:
            try:
                self.client.request("POST", path, body)
                return
            except ApiFailure as failure:
                if failure.status == 409:
                    return
                if failure.status not in (0, 403, 429, 500, 503) or time.monotonic() > deadline:
                    raise NodeStartError(
                        f"cannot create {body['kind']} {body['metadata']['name']}: {failure}"
                    ) from None
                time.sleep(0.5)

    # -- stopping ---------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopped.set()
        if self.store is not None:
            self.store.stop()
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _teardown(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the past ---------------------------------------------------------------------------------
    def started_ago(self, pod: Obj) -> float:
        """How old the embedded lab makes this pod: its scenario's age, less the revisions after it.

        The real controllers create every pod now; playing its past quickly (restarts, back-offs,
        a memory leak reaching its limit) makes it look as it does in the embedded lab.
        """
        meta = pod["metadata"]
        found = _scenario_of(self.scenarios.scenarios, meta.get("namespace", ""), meta["name"])
        if found is None:
            return 0.0
        index, scenario = found
        age = scenario.age if scenario.age is not None else PREPLAY_SECONDS - 7.0 * index
        images = _images(pod.get("spec") or {})
        offset = 0.0
        passed = 0.0
        for revision in scenario.revisions:
            passed += revision.after
            if _images(revision.template["spec"]) == images:
                offset = passed - scenario.revisions[0].after
        return min(max(0.0, age - offset), MAX_PAST)

    # -- for tests and the command line -----------------------------------------------------------
    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the nodes' loop (where the store lives) and return its result."""
        assert self.loop is not None
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout=10)


def rolled_out(deployment: Obj) -> bool:
    """What `kubectl rollout status` waits for: the current template's pods all there and available."""
    meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = spec.get("replicas", 1)
    return bool(
        status.get("observedGeneration", 0) >= meta.get("generation", 1)
        and status.get("updatedReplicas", 0) == wanted
        and status.get("availableReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
    )


def deployment_manifest(scenario: Scenario, template: Obj, change_cause: str | None) -> Obj:
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    app = labels.get("app", scenario.name)
    meta: Obj = {"name": scenario.name, "namespace": scenario.namespace, "labels": {"app": app}}
    if change_cause:
        meta["annotations"] = {CHANGE_CAUSE: change_cause}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": scenario.replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": template,
        },
    }


def _scenario_of(scenarios: tuple[Scenario, ...], namespace: str, pod: str) -> tuple[int, Scenario] | None:
    """The scenario a pod belongs to: its name, or the Deployment's name before the generated suffix."""
    chosen: tuple[int, Scenario] | None = None
    for index, scenario in enumerate(scenarios):
        named = pod == scenario.name or pod.startswith(scenario.name + "-")
        if (
            scenario.namespace == namespace
            and named
            and (chosen is None or len(scenario.name) > len(chosen[1].name))
        ):
            chosen = (index, scenario)
    return chosen


def _images(spec: Obj) -> list[str]:
    return [
        str(c.get("image", "")) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
    ]


def _register(book: BehaviourBook, scenario: Scenario) -> None:
    for revision in scenario.revisions:
        spec = revision.template["spec"]
        for container in (spec.get("initContainers") or []) + spec["containers"]:
            book.register(scenario.namespace, container, revision.behaviours.get(container["name"], HEALTHY))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
