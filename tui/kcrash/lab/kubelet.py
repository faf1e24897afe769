"""The simulated scheduler + kubelet: binds pods to nodes and runs their containers on sim time.

Every container is a small state machine driven by timers on one shared scheduler (no task or
polling loop per pod): start, log, answer or fail probes, exit, and be restarted with the kubelet's
crash backoff. Status fields, waiting reasons and event texts follow what a containerd-based kubelet
reports. What a container does comes from its Behaviour (lab/scenarios.py), never from its name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kcrash.lab.events import EventRecorder, stamp
from kcrash.lab.logs import LogBook
from kcrash.lab.scenarios import Behaviour, BehaviourBook, go_duration, parse_quantity
from kcrash.lab.series import SeriesBook, Track
from kcrash.lab.store import Change, Conflict, NotFound, Obj, ObjectStore

if TYPE_CHECKING:
    from kcrash.lab.simulation import Scheduler, Timer

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
SYNC_DELAY = 1.0  # PLEG relist: the kubelet notices an exit about a second later
METRICS_PERIOD = 15.0
METRICS_BUCKETS = 15
MI = 1024.0 * 1024.0
EPOCH = "1970-01-01T00:00:00Z"

PodKey = tuple[str, str]


# -- runtime state -------------------------------------------------------------------------------
@dataclass(eq=False, slots=True)
class Instance:
    """One run of a container (what containerd calls a container)."""

    number: int
    container_id: str
    started_at: float | None  # None: it never started (StartError)
    finished_at: float | None = None
    exit_code: int = 0
    reason: str = ""
    message: str | None = None
    signal: int | None = None
    timers: list[Timer] = field(default_factory=list)
    heartbeats: int = 0
    healthy_at: float = math.inf
    liveness_failures: int = 0
    startup_failures: int = 0
    stopping: bool = False
    blipped: bool = False  # made unready by churn(), not by a probe


@dataclass(eq=False, slots=True)
class Backoff:
    """flowcontrol.Backoff for one key: 10 s doubling to 300 s, forgotten after 600 s of quiet."""

    period: float = 0.0
    updated: float = -math.inf

    def expired(self, moment: float) -> bool:
        return moment - self.updated > 2 * MAX_BACKOFF

    def in_backoff_since(self, event_time: float, now: float) -> bool:
        if self.period == 0.0 or self.expired(event_time):
            return False
        return now - event_time < self.period

    def next(self, event_time: float, now: float) -> None:
        if self.period == 0.0 or self.expired(event_time):
            self.period = INITIAL_BACKOFF
        else:
            self.period = min(self.period * 2, MAX_BACKOFF)
        self.updated = now


@dataclass(eq=False, slots=True)
class ContainerRun:
    name: str
    spec: Obj
    init: bool
    behaviour: Behaviour
    state: str = "waiting"  # waiting | running | terminated
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    current: Instance | None = None  # the latest instance, running or terminated
    last: Instance | None = None  # lastState.terminated
    restart_count: int = -1
    ready: bool = False
    started: bool = False
    crash_backoff: Backoff = field(default_factory=Backoff)
    image_backoff: Backoff = field(default_factory=Backoff)
    image_failed_at: float = 0.0
    pulling: bool = False
    pending: list[Timer] = field(default_factory=list)  # syncs and retries not tied to an instance

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    name: str
    ip: str
    cidr_prefix: str  # "10.244.3."


@dataclass(eq=False, slots=True)
class PodRun:
    namespace: str
    name: str
    uid: str
    node: Node
    spec: Obj
    labels: dict[str, str]
    init: list[ContainerRun]
    apps: list[ContainerRun]
    qos: str
    ip: str = ""
    start_time: float | None = None
    sandbox_ready: bool = False
    init_done: bool = False
    deleting: bool = False
    terminal: bool = False
    conditions: dict[str, tuple[str, float]] = field(default_factory=dict)
    publish_pending: bool = False
    bucket: int = 0

    @property
    def key(self) -> PodKey:
        return (self.namespace, self.name)

    def containers(self) -> list[ContainerRun]:
        return self.init + self.apps


# -- small helpers -------------------------------------------------------------------------------
def qos_class(spec: Obj) -> str:
    """Guaranteed when every container's cpu and memory requests equal limits; BestEffort if none."""
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = dict(res.get("requests") or {})
        limits = res.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            limit = limits.get(name)
            request = requests.get(name, limit)
            if limit is None or parse_quantity(request) != parse_quantity(limit):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def memory_limit_mi(spec: Obj) -> float | None:
    limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
    return None if limit is None else parse_quantity(limit) / MI


def image_id(image: str) -> str:
    repo = image.split("@", 1)[0]
    last = repo.rsplit("/", 1)
    if ":" in last[-1]:
        repo = repo.rsplit(":", 1)[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


_WORD = re.compile(r"[A-Za-z]{4,}")


def cut_mid_word(line: str) -> str:
    """The part of `line` a killed process managed to write: it stops inside a word."""
    words = [m for m in _WORD.finditer(line) if m.start() >= len(line) // 3] or list(_WORD.finditer(line))
    if not words:
        return line[: max(1, len(line) // 2)]
    word = words[len(words) // 2]
    return line[: word.start() + max(2, (word.end() - word.start()) // 2)]


_PLACEHOLDER = re.compile(r"\{(time|pod|host|namespace|node|ip|container|restart|n|image|mem_mi)\}")


def app_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@functools.lru_cache(maxsize=65536)
def _shared_condition(name: str, value: str, second: int, reason: str | None, message: str | None) -> Obj:
    """Pod conditions repeat across pods and status versions: one shared (read-only) dict each."""
    out: Obj = {"type": name, "status": value, "lastProbeTime": None, "lastTransitionTime": stamp(second)}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


# -- the kubelet -----------------------------------------------------------------------------------
class Kubelet:
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
        self.store = store
        self.sched = sched
        self.logs = logs
        self.recorder = recorder
        self.book = book
        self.rng = rng
        self.nodes: list[Node] = []
        self._pool: list[Node] = []  # extra pods fill these one after the other
        self._workers: list[Node] = []  # scenario pods spread over these
        self._node_load: dict[str, int] = {}
        self._next_ip: dict[str, int] = {}
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
        store.add_watcher("pods", self._on_pod_change)

    # -- nodes ---------------------------------------------------------------------------------
    def add_nodes(self, count: int, prefix: str = "lab-worker") -> None:
        for _ in range(count):
            i = len(self.nodes)
            block = i + 1
            number = sum(1 for n in self.nodes if n.name.startswith(prefix + "-")) + 1
            node = Node(
                name=f"{prefix}-{number}",
                ip=f"10.0.{1 + i // 250}.{10 + i % 250}",
                cidr_prefix=f"10.{244 + block // 256}.{block % 256}.",
            )
            self.nodes.append(node)
            (self._pool if prefix == "lab-pool" else self._workers).append(node)
            self._node_load[node.name] = 0
            self._next_ip[node.name] = 2
            self._create_node_object(node)

    def _create_node_object(self, node: Node) -> None:
        if self.store.get("nodes", "", node.name) is not None:
            return
        created = stamp(self.sched.now() - 86400 * 21)
        ready_since = stamp(self.sched.now() - 86400 * 2)
        conditions = [
            (
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        obj: Obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": node.name,
                "creationTimestamp": created,
                "labels": {
                    "kubernetes.io/hostname": node.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": "m6i.2xlarge",
                },
            },
            "spec": {"podCIDR": node.cidr_prefix + "0/24", "podCIDRs": [node.cidr_prefix + "0/24"]},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": node.ip},
                    {"type": "Hostname", "address": node.name},
                ],
                "capacity": {
                    "cpu": "8",
                    "memory": "32560916Ki",
                    "pods": "110",
                    "ephemeral-storage": "101430960Ki",
                },
                "allocatable": {
                    "cpu": "7910m",
                    "memory": "31409940Ki",
                    "pods": "110",
                    "ephemeral-storage": "93478772582",
                },
                "conditions": [
                    {
                        "type": t,
                        "status": s,
                        "reason": r,
                        "message": m,
                        "lastHeartbeatTime": ready_since,
                        "lastTransitionTime": ready_since,
                    }
                    for t, s, r, m in conditions
                ],
                "nodeInfo": {
                    "architecture": "amd64",
                    "containerRuntimeVersion": "containerd://1.7.22",
                    "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                    "kubeProxyVersion": "",
                    "kubeletVersion": "v1.31.2",
                    "operatingSystem": "linux",
                    "osImage": "Amazon Linux 2023.6.20241031",
                    "bootID": "",
                    "machineID": "",
                    "systemUUID": "",
                },
            },
        }
        with contextlib.suppress(Conflict):
            self.store.create("nodes", obj)

    def _pick_node(self, limit: int = 110) -> Node:
        if not self.nodes:
            self.add_nodes(3)
        workers = self._workers or self.nodes
        node = min(workers, key=lambda n: self._node_load[n.name])
        if self._node_load[node.name] >= limit:
            self.add_nodes(1)
            node = self.nodes[-1]
        return node

    def pool_node(self, limit: int = 100) -> Node:
        """A node of the extra-pods pool with room, filled one after the other."""
        if self._pool and self._node_load[self._pool[-1].name] < limit:
            return self._pool[-1]
        self.add_nodes(1, prefix="lab-pool")
        return self._pool[-1]

    def _allocate_ip(self, node: Node) -> str:
        host = self._next_ip[node.name]
        self._next_ip[node.name] = 2 if host >= 254 else host + 1
        return f"{node.cidr_prefix}{host}"

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
        return next((n for n in self.nodes if n.name == name), None)

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
        node = self._pick_node()
        run = self._new_run(pod, node)
        self._pods[key] = run
        now = self.sched.now()
        run.conditions["PodScheduled"] = ("True", now)

        bound = dict(pod)
        bound["metadata"] = dict(pod["metadata"])
        bound["spec"] = {**pod["spec"], "nodeName": node.name}
        bound["status"] = {
            "phase": "Pending",
            "conditions": [self._condition("PodScheduled", "True", now)],
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
        self._node_load[node.name] += 1
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
        run.ip = self._allocate_ip(run.node)
        run.sandbox_ready = True
        run.conditions["PodReadyToStartContainers"] = ("True", self.sched.now())
        self._publish(run)
        self._start_next(run)

    def _start_next(self, run: PodRun) -> None:
        """Start the next init container, or every app container once init is done."""
        if not run.init_done:
            for c in run.init:
                if c.current is None or c.current.exit_code != 0 or c.state != "terminated":
                    self._sync_container(run, c)
                    return
            run.init_done = True
            run.conditions["Initialized"] = ("True", self.sched.now())
            for c in run.apps:
                c.waiting_reason = "ContainerCreating"
            self._publish(run)
        for c in run.apps:
            if c.state != "running":
                self._sync_container(run, c)

    def admit_running(
        self, pod: Obj, node: Node | None, started: float, restarts: int = 0, log_from: float = -math.inf
    ) -> Obj:
        """Fill in a not-yet-stored pod as one that has run quietly since `started`.

        Used for large fleets of healthy pods: one store write per pod, no history to replay.
        """
        meta = pod["metadata"]
        node = node or self._pick_node()
        run = self._new_run(pod, node)
        pod["spec"]["nodeName"] = node.name
        self._pods[run.key] = run
        run.start_time = started - 2.5
        run.ip = self._allocate_ip(node)
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

    # -- one container's sync ------------------------------------------------------------------
    def _sync_container(self, run: PodRun, c: ContainerRun, pulled: bool = False) -> None:
        """What the kubelet's SyncPod does for one container that is not running."""
        if run.deleting or run.terminal or c.state == "running" or not run.sandbox_ready:
            return
        self._cancel_pending(c)
        now = self.sched.now()
        prior = c.current
        if prior is not None and prior.finished_at is not None and not pulled:
            if not self._should_restart(run, c):
                return
            finished = prior.finished_at
            c.last = prior
            self.logs.keep_as_previous(run.namespace, run.name, c.name)
            if c.crash_backoff.in_backoff_since(finished, now):
                self._enter_crash_backoff(run, c, finished)
                return
            c.crash_backoff.next(finished, now)
        if not pulled and not self._image_ready(run, c):
            return
        problem = self._config_problem(run, c)
        if problem is not None:
            self._config_error(run, c, problem)
            return
        self._create_and_start(run, c)

    def _should_restart(self, run: PodRun, c: ContainerRun) -> bool:
        policy = run.spec.get("restartPolicy", "Always")
        code = c.current.exit_code if c.current is not None else 0
        if policy == "Always":
            return True
        return policy == "OnFailure" and code != 0

    def _enter_crash_backoff(self, run: PodRun, c: ContainerRun, finished: float) -> None:
        period = c.crash_backoff.period
        c.state = "waiting"
        c.waiting_reason = "CrashLoopBackOff"
        c.waiting_message = (
            f"back-off {go_duration(period)} restarting failed container={c.name} "
            f"pod={run.name}_{run.namespace}({run.uid})"
        )
        self._publish(run)
        self._backoff_event(run, c, finished + period)
        c.pending.append(self.sched.at(finished + period, lambda: self._sync_container(run, c)))

    def _backoff_event(self, run: PodRun, c: ContainerRun, until: float) -> None:
        """The pod worker retries every 10-15 s while waiting, each time recording BackOff."""
        if run.deleting or c.state != "waiting" or c.waiting_reason != "CrashLoopBackOff":
            return
        message = f"Back-off restarting failed container {c.name} in pod {self._pod_ref(run)}"
        times, last = self._retries_in_the_past(until)
        self._event(run, c, "Warning", "BackOff", message, times, last)
        if times > 1:
            return
        retry = self.sched.now() + self.rng.uniform(10.0, 15.0)
        if retry < until:
            c.pending.append(self.sched.at(retry, lambda: self._backoff_event(run, c, until)))

    # -- images --------------------------------------------------------------------------------
    def _image_ready(self, run: PodRun, c: ContainerRun) -> bool:
        image = c.image
        policy = c.spec.get("imagePullPolicy", "IfNotPresent")
        present = (run.node.name, image) in self._images
        if policy == "Never" or (present and policy != "Always"):
            self._event(run, c, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            return True
        if c.pulling:
            return False
        now = self.sched.now()
        if c.image_backoff.period and now - c.image_backoff.updated < c.image_backoff.period:
            self._image_pull_backoff(run, c, c.image_backoff.updated + c.image_backoff.period)
            return False
        self._event(run, c, "Normal", "Pulling", f'Pulling image "{image}"')
        c.pulling = True
        seconds = c.behaviour.pull_seconds * self.rng.uniform(0.8, 1.25)
        c.pending.append(self.sched.after(seconds, lambda: self._pull_done(run, c, seconds)))
        return False

    def _pull_done(self, run: PodRun, c: ContainerRun, seconds: float) -> None:
        c.pulling = False
        if run.deleting:
            return
        image = c.image
        now = self.sched.now()
        if c.behaviour.image_pull == "fail":
            error = c.behaviour.pull_error or (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
                f'failed to resolve reference "{image}": {image}: not found'
            )
            self._event(run, c, "Warning", "Failed", f'Failed to pull image "{image}": {error}')
            self._event(run, c, "Warning", "Failed", "Error: ErrImagePull")
            c.image_backoff.next(now, now)
            c.state, c.waiting_reason, c.waiting_message = "waiting", "ErrImagePull", error
            self._publish(run)
            c.pending.append(self.sched.after(SYNC_DELAY, lambda: self._sync_container(run, c)))
            return
        self._images.add((run.node.name, image))
        took = go_duration(round(seconds, 3))
        size = c.behaviour.image_size
        self._event(
            run,
            c,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
            f"Image size: {size} bytes.",
        )
        self._sync_container(run, c, pulled=True)

    def _image_pull_backoff(self, run: PodRun, c: ContainerRun, until: float) -> None:
        if run.deleting:
            return
        image = c.image
        c.state, c.waiting_reason = "waiting", "ImagePullBackOff"
        c.waiting_message = f'Back-off pulling image "{image}"'
        self._publish(run)
        times, last = self._retries_in_the_past(until)
        self._event(run, c, "Normal", "BackOff", f'Back-off pulling image "{image}"', times, last)
        self._event(run, c, "Warning", "Failed", "Error: ImagePullBackOff", times, last)
        retry = self.sched.now() + self.rng.uniform(10.0, 15.0)
        if retry < until and times == 1:
            c.pending.append(self.sched.at(retry, lambda: self._image_pull_backoff(run, c, until)))
        else:
            c.pending.append(self.sched.at(until, lambda: self._sync_container(run, c)))

    # -- configuration (env from Secrets and ConfigMaps) ---------------------------------------
    def _config_problem(self, run: PodRun, c: ContainerRun) -> str | None:
        ns = run.namespace
        for env in c.spec.get("env") or []:
            source = env.get("valueFrom") or {}
            for ref_key, resource, kind in (
                ("secretKeyRef", "secrets", "Secret"),
                ("configMapKeyRef", "configmaps", "ConfigMap"),
            ):
                ref = source.get(ref_key)
                if ref is None:
                    continue
                problem = self._missing_key(ns, resource, kind, ref)
                if problem:
                    return problem
        for env_from in c.spec.get("envFrom") or []:
            for ref_key, resource in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
                ref = env_from.get(ref_key)
                if ref is None or ref.get("optional"):
                    continue
                if self.store.get(resource, ns, ref.get("name", "")) is None:
                    return f'{resource[:-1]} "{ref.get("name", "")}" not found'
        return None

    def _missing_key(self, ns: str, resource: str, kind: str, ref: dict[str, Any]) -> str | None:
        if ref.get("optional"):
            return None
        name = ref.get("name", "")
        obj = self.store.get(resource, ns, name)
        if obj is None:
            return f'{resource[:-1]} "{name}" not found'
        data = dict(obj.get("data") or {})
        data.update(obj.get("stringData") or {})
        data.update(obj.get("binaryData") or {})
        if ref.get("key") not in data:
            return f"couldn't find key {ref.get('key')} in {kind} {ns}/{name}"
        return None

    def _config_error(self, run: PodRun, c: ContainerRun, problem: str) -> None:
        c.state, c.waiting_reason, c.waiting_message = "waiting", "CreateContainerConfigError", problem
        self._event(run, c, "Warning", "Failed", f"Error: {problem}")
        self._publish(run)
        retry = self.rng.uniform(10.0, 15.0)
        c.pending.append(self.sched.after(retry, lambda: self._sync_container(run, c)))

    # -- create, start, run --------------------------------------------------------------------
    def _create_and_start(self, run: PodRun, c: ContainerRun) -> None:
        now = self.sched.now()
        c.restart_count += 1
        b = c.behaviour
        self._event(run, c, "Normal", "Created", f"Created container: {c.name}")
        self.logs.start_instance(run.namespace, run.name, c.name)
        if b.start_error:
            inst = Instance(
                c.restart_count, self._container_id(), None, now, b.start_error_exit_code, "StartError"
            )
            inst.message = b.start_error
            c.current, c.state, c.ready, c.started = inst, "terminated", False, False
            if not c.init:
                self._series_started(run, c, inst)
            self.logs.end_instance(run.namespace, run.name, c.name)
            self._event(run, c, "Warning", "Failed", f"Error: {b.start_error}")
            self._publish(run)
            c.pending.append(self.sched.after(SYNC_DELAY, lambda: self._after_exit(run, c)))
            return
        inst = Instance(c.restart_count, self._container_id(), now)
        c.current, c.state, c.ready = inst, "running", False
        if not c.init:
            self._series_started(run, c, inst)
        c.started = "startupProbe" not in c.spec
        self._event(run, c, "Normal", "Started", f"Started container {c.name}")
        inst.healthy_at = now + b.health_after if b.health_after is not None else math.inf
        self._arm_instance(run, c, inst)
        self._publish(run)

    def _arm_instance(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        """Timers for one instance: its log lines, its exit, its heartbeat and its probes."""
        b = c.behaviour
        start = inst.started_at or self.sched.now()
        exit_at, oom = self._exit_time(c, inst, start)
        for line in b.log_lines:
            at = start + line.after
            if exit_at is not None:
                at = min(at, exit_at - 0.05)
            inst.timers.append(self.sched.at(at, self._log_writer(run, c, inst, line.text)))
        self._arm_heartbeat(run, c, inst, max(inst.healthy_at, start + 0.5))
        if exit_at is not None:
            last = b.last_log_lines
            spoken = last[:-1] if oom else last
            for i, text in enumerate(spoken):
                at = exit_at - 0.01 * (len(spoken) - i) - 0.02
                inst.timers.append(self.sched.at(at, self._log_writer(run, c, inst, text)))
            if oom:
                cut = (
                    last[-1] if last else (b.heartbeat.lines[0] if b.heartbeat else "{time} INFO  processing")
                )
                inst.timers.append(self.sched.at(exit_at, lambda: self._oom_kill(run, c, inst, cut)))
            else:
                inst.timers.append(self.sched.at(exit_at, lambda: self._natural_exit(run, c, inst)))
        self._arm_probes(run, c, inst, start)

    def _exit_time(self, c: ContainerRun, inst: Instance, start: float) -> tuple[float | None, bool]:
        """When this instance ends by itself, and whether that is the kernel's OOM killer."""
        b = c.behaviour
        natural = start + b.exit_after if b.exits(inst.number) and b.exit_after is not None else None
        limit = memory_limit_mi(c.spec)
        mem = b.memory
        oom_at: float | None = None
        if (
            limit is not None
            and mem.growth_mi_per_min > 0
            and (mem.plateau_mi is None or mem.plateau_mi >= limit)
        ):
            oom_at = start + max(1.0, (limit - mem.start_mi) / mem.growth_mi_per_min * 60.0)
        if oom_at is not None and (natural is None or oom_at < natural):
            return oom_at, True
        return natural, False

    def _log_writer(self, run: PodRun, c: ContainerRun, inst: Instance, text: str) -> Callable[[], None]:
        def write() -> None:
            if c.current is inst and c.state == "running":
                self._write_log(run, c, inst, self.sched.now(), text)

        return write

    def _write_log(self, run: PodRun, c: ContainerRun, inst: Instance, moment: float, text: str) -> None:
        for line in self._fill(run, c, inst, moment, text).split("\n"):
            self.logs.append(run.namespace, run.name, c.name, moment, line)

    def _fill(self, run: PodRun, c: ContainerRun, inst: Instance, moment: float, text: str) -> str:
        """Replace {placeholders} in a scenario's log line; unknown braces are left alone."""
        if "{" not in text:
            return text

        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "time":
                return app_time(moment)
            if key == "mem_mi":
                return str(int(self._memory_mi(c, inst, moment, noise=False)))
            simple = {
                "pod": run.name,
                "host": run.name,
                "namespace": run.namespace,
                "node": run.node.name,
                "ip": run.ip,
                "container": c.name,
                "restart": str(inst.number),
                "n": str(inst.heartbeats),
                "image": c.image,
            }
            return simple[key]

        return _PLACEHOLDER.sub(value, text)

    def _arm_heartbeat(self, run: PodRun, c: ContainerRun, inst: Instance, first: float) -> None:
        beat = c.behaviour.heartbeat
        if beat is None or first == math.inf:
            return

        def tick() -> None:
            if c.current is not inst or c.state != "running":
                return
            line = beat.lines[inst.heartbeats % len(beat.lines)]
            inst.heartbeats += 1
            self._write_log(run, c, inst, self.sched.now(), line)
            inst.timers.append(self.sched.after(beat.every, tick))

        inst.timers.append(self.sched.at(max(first, self.log_horizon) + beat.every * 0.5, tick))

    # -- probes --------------------------------------------------------------------------------
    def _arm_probes(self, run: PodRun, c: ContainerRun, inst: Instance, start: float) -> None:
        spec = c.spec
        if "startupProbe" in spec:
            probe = spec["startupProbe"]
            first = start + float(probe.get("initialDelaySeconds", 0))
            inst.timers.append(self.sched.at(first, lambda: self._startup_tick(run, c, inst)))
        else:
            self._arm_after_started(run, c, inst, start)

    def _arm_after_started(self, run: PodRun, c: ContainerRun, inst: Instance, since: float) -> None:
        start = inst.started_at or since
        if "livenessProbe" in c.spec:
            probe = c.spec["livenessProbe"]
            first = max(start + float(probe.get("initialDelaySeconds", 0)), since)
            inst.timers.append(self.sched.at(first, lambda: self._liveness_tick(run, c, inst)))
        if "readinessProbe" in c.spec:
            probe = c.spec["readinessProbe"]
            first = max(start + float(probe.get("initialDelaySeconds", 0)), since)
            inst.timers.append(self.sched.at(first, lambda: self._readiness_tick(run, c, inst)))
        else:
            inst.timers.append(self.sched.at(since, lambda: self._set_ready(run, c, inst)))

    def _alive(self, c: ContainerRun, inst: Instance) -> bool:
        return c.current is inst and c.state == "running" and not inst.stopping

    def _startup_tick(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst):
            return
        probe = c.spec["startupProbe"]
        now = self.sched.now()
        if now >= inst.healthy_at:
            c.started = True
            self._publish(run)
            self._arm_after_started(run, c, inst, now)
            return
        inst.startup_failures += 1
        self._event(run, c, "Warning", "Unhealthy", self._probe_failure("Startup", probe, run, c))
        if inst.startup_failures >= int(probe.get("failureThreshold", 3)):
            self._kill(run, c, inst, f"Container {c.name} failed startup probe, will be restarted", probe)
            return
        inst.timers.append(
            self.sched.after(float(probe.get("periodSeconds", 10)), lambda: self._startup_tick(run, c, inst))
        )

    def _liveness_tick(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst):
            return
        probe = c.spec["livenessProbe"]
        if self.sched.now() >= inst.healthy_at:
            return  # it answers from now on; behaviours do not turn unhealthy again
        inst.liveness_failures += 1
        self._event(run, c, "Warning", "Unhealthy", self._probe_failure("Liveness", probe, run, c))
        if inst.liveness_failures >= int(probe.get("failureThreshold", 3)):
            self._kill(run, c, inst, f"Container {c.name} failed liveness probe, will be restarted", probe)
            return
        period = float(probe.get("periodSeconds", 10))
        inst.timers.append(self.sched.after(period, lambda: self._liveness_tick(run, c, inst)))

    def _readiness_tick(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst):
            return
        probe = c.spec["readinessProbe"]
        if self.sched.now() >= inst.healthy_at:
            self._set_ready(run, c, inst)
            return
        self._event(run, c, "Warning", "Unhealthy", self._probe_failure("Readiness", probe, run, c))
        period = float(probe.get("periodSeconds", 10))
        inst.timers.append(self.sched.after(period, lambda: self._readiness_tick(run, c, inst)))

    def _set_ready(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if not self._alive(c, inst) or c.ready:
            return
        c.ready = True
        c.started = True
        self._publish(run)

    def _probe_failure(self, kind: str, probe: Obj, run: PodRun, c: ContainerRun) -> str:
        if "httpGet" in probe:
            get = probe["httpGet"]
            host = get.get("host") or run.ip
            port = self._port(c, get.get("port"))
            scheme = str(get.get("scheme", "HTTP")).lower()
            path = get.get("path", "/")
            return (
                f'{kind} probe failed: Get "{scheme}://{host}:{port}{path}": '
                f"dial tcp {host}:{port}: connect: connection refused"
            )
        if "tcpSocket" in probe:
            tcp = probe["tcpSocket"]
            host = tcp.get("host") or run.ip
            port = self._port(c, tcp.get("port"))
            return f"{kind} probe failed: dial tcp {host}:{port}: connect: connection refused"
        if "grpc" in probe:
            port = probe["grpc"].get("port")
            return f'{kind} probe failed: timeout: failed to connect service "{run.ip}:{port}" within 1s'
        return f"{kind} probe failed: {c.behaviour.probe_output}".rstrip()

    @staticmethod
    def _port(c: ContainerRun, port: object) -> str:
        if isinstance(port, str) and not port.isdigit():
            for declared in c.spec.get("ports") or []:
                if declared.get("name") == port:
                    return str(declared.get("containerPort"))
        return str(port)

    # -- endings -------------------------------------------------------------------------------
    def _natural_exit(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        if c.current is not inst or c.state != "running":
            return
        b = c.behaviour
        reason = b.reason or ("Completed" if b.exit_code == 0 else "Error")
        self._terminate(run, c, inst, b.exit_code, reason, b.message, b.signal)

    def _oom_kill(self, run: PodRun, c: ContainerRun, inst: Instance, line: str) -> None:
        if c.current is not inst or c.state != "running":
            return
        cut = cut_mid_word(self._fill(run, c, inst, self.sched.now(), line))
        self._terminate(run, c, inst, 137, "OOMKilled", None, None, cut)

    def _kill(self, run: PodRun, c: ContainerRun, inst: Instance, message: str, probe: Obj | None) -> None:
        """Killing: SIGTERM now, SIGKILL after the grace period if the process ignores it."""
        inst.stopping = True
        c.ready = False
        self._event(run, c, "Normal", "Killing", message)
        grace = float(
            (probe or {}).get("terminationGracePeriodSeconds")
            or run.spec.get("terminationGracePeriodSeconds", 30)
        )
        self._publish(run)
        b = c.behaviour
        if b.ignores_sigterm:
            inst.timers.append(self.sched.after(grace, lambda: self._terminate(run, c, inst, 137, "Error")))
        else:
            code = b.sigterm_exit_code
            after = min(grace, 0.3)
            reason = "Completed" if code == 0 else "Error"
            inst.timers.append(self.sched.after(after, lambda: self._terminate(run, c, inst, code, reason)))

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
    ) -> None:
        if c.current is not inst or c.state != "running":
            return
        now = self.sched.now()
        inst.finished_at, inst.exit_code, inst.reason = now, code, reason
        inst.message, inst.signal = message, signal
        for timer in inst.timers:
            timer.cancel()
        inst.timers.clear()
        c.state, c.ready, c.started = "terminated", False, False
        self.logs.end_instance(run.namespace, run.name, c.name, cut, now)
        self._publish(run)
        if run.deleting:
            self._maybe_finish_delete(run)
        else:
            c.pending.append(self.sched.after(SYNC_DELAY, lambda: self._after_exit(run, c)))

    def _after_exit(self, run: PodRun, c: ContainerRun) -> None:
        """The sync after an exit: next init container, a restart (maybe backed off), or done."""
        if run.deleting or c.current is None:
            return
        code = c.current.exit_code
        if c.init and code == 0:
            self._start_next(run)
            return
        if self._should_restart(run, c):
            self._sync_container(run, c)
            return
        if c.init:
            run.terminal = True  # restartPolicy Never and an init container failed
        elif all(a.state == "terminated" for a in run.apps):
            run.terminal = True
        if run.terminal:
            for other in run.containers():
                self._cancel_pending(other)
        self._publish(run)

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
        self._node_load[run.node.name] -= 1
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
        now = self.sched.now()
        init_statuses = [self._container_status(c) for c in run.init]
        app_statuses = [self._container_status(c) for c in run.apps]
        phase = self._phase(run, init_statuses, app_statuses)
        unready = [c.name for c in run.apps if not c.ready]
        incomplete = [
            c.name
            for c in run.init
            if not (c.state == "terminated" and c.current and c.current.exit_code == 0)
        ]
        if run.init_done:
            incomplete = []
        ready = "False" if unready or phase in ("Succeeded", "Failed") else "True"
        self._transition(run, "Initialized", "False" if incomplete else "True", now)
        self._transition(run, "ContainersReady", ready, now)
        self._transition(run, "Ready", ready, now)
        self._transition(run, "PodReadyToStartContainers", "True" if run.sandbox_ready else "False", now)
        if phase in ("Succeeded", "Failed"):
            not_ready: tuple[str | None, str | None] = ("PodCompleted", None)
        else:
            not_ready = ("ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
        conditions = [
            self._cond(run, "PodReadyToStartContainers"),
            self._cond(
                run,
                "Initialized",
                *(
                    (
                        "ContainersNotInitialized",
                        f"containers with incomplete status: [{' '.join(incomplete)}]",
                    )
                    if incomplete
                    else (None, None)
                ),
            ),
            self._cond(run, "Ready", *(not_ready if ready == "False" else (None, None))),
            self._cond(run, "ContainersReady", *(not_ready if ready == "False" else (None, None))),
            self._cond(run, "PodScheduled"),
        ]
        status: Obj = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": run.node.ip,
            "hostIPs": [{"ip": run.node.ip}],
        }
        if run.ip:
            status["podIP"] = run.ip
            status["podIPs"] = [{"ip": run.ip}]
        if run.start_time is not None:
            status["startTime"] = stamp(run.start_time)
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        status["containerStatuses"] = app_statuses
        status["qosClass"] = run.qos
        return status

    def _transition(self, run: PodRun, name: str, value: str, now: float) -> None:
        previous = run.conditions.get(name)
        if previous is None or previous[0] != value:
            run.conditions[name] = (value, now)

    def _cond(self, run: PodRun, name: str, reason: str | None = None, message: str | None = None) -> Obj:
        value, since = run.conditions.get(name, ("False", run.start_time or self.sched.now()))
        return _shared_condition(name, value, int(since // 1), reason, message)

    @staticmethod
    def _condition(name: str, value: str, since: float) -> Obj:
        return _shared_condition(name, value, int(since // 1), None, None)

    def _container_status(self, c: ContainerRun) -> Obj:
        out: Obj = {"name": c.name, "image": c.image, "imageID": "", "ready": c.ready}
        out["restartCount"] = max(c.restart_count, 0)
        out["started"] = c.state == "running" and c.started
        if c.current is not None:
            out["containerID"] = f"containerd://{c.current.container_id}"
            out["imageID"] = image_id(c.image)
        if c.state == "running" and c.current is not None:
            out["state"] = {"running": {"startedAt": stamp(c.current.started_at or 0.0)}}
        elif c.state == "terminated" and c.current is not None:
            out["state"] = {"terminated": self._terminated(c.current)}
        else:
            waiting: Obj = {"reason": c.waiting_reason}
            if c.waiting_message:
                waiting["message"] = c.waiting_message
            out["state"] = {"waiting": waiting}
        out["lastState"] = {"terminated": self._terminated(c.last)} if c.last is not None else {}
        return out

    @staticmethod
    def _terminated(inst: Instance) -> Obj:
        out: Obj = {"exitCode": inst.exit_code, "reason": inst.reason}
        if inst.signal:
            out["signal"] = inst.signal
        if inst.message:
            out["message"] = inst.message
        out["startedAt"] = EPOCH if inst.started_at is None else stamp(inst.started_at)
        out["finishedAt"] = stamp(inst.finished_at or 0.0)
        out["containerID"] = f"containerd://{inst.container_id}"
        return out

    def _phase(self, run: PodRun, init: list[Obj], apps: list[Obj]) -> str:
        """The kubelet's getPhase over the statuses just rendered."""
        policy = run.spec.get("restartPolicy", "Always")
        pending_init = failed_init = 0
        for st in init:
            state = st["state"]
            if "running" in state:
                pending_init += 1
            elif "terminated" in state:
                if state["terminated"]["exitCode"] != 0:
                    failed_init += 1
            elif st["lastState"].get("terminated"):
                if st["lastState"]["terminated"]["exitCode"] != 0:
                    failed_init += 1
            else:
                pending_init += 1
        running = waiting = stopped = succeeded = 0
        for st in apps:
            state = st["state"]
            if "running" in state:
                running += 1
            elif "terminated" in state:
                stopped += 1
                succeeded += state["terminated"]["exitCode"] == 0
            elif st["lastState"].get("terminated"):
                stopped += 1
            else:
                waiting += 1
        if failed_init and policy == "Never":
            return "Failed"
        if (pending_init and not run.init_done) or waiting:
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if policy == "Always" and not run.deleting:
                return "Running"
            if stopped == succeeded:
                return "Succeeded"
            if policy == "Never" or run.deleting:
                return "Failed"
            return "Running"
        return "Pending"

    # -- metrics -------------------------------------------------------------------------------
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
            memory_kib = int(self._memory_mi(c, inst, now, noise=True) * 1024)
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

    def _memory_mi(self, c: ContainerRun, inst: Instance, moment: float, noise: bool) -> float:
        mem = c.behaviour.memory
        start = inst.started_at or moment
        value = mem.start_mi + mem.growth_mi_per_min * max(0.0, moment - start) / 60.0
        if mem.plateau_mi is not None:
            value = min(value, mem.plateau_mi)
        if noise and mem.noise_mi:
            value += self.rng.uniform(-mem.noise_mi, mem.noise_mi)
        limit = memory_limit_mi(c.spec)
        if limit is not None:
            value = min(value, limit - 0.5)  # at the limit the kernel kills it
        return max(1.0, value)

    def _series_started(self, run: PodRun, c: ContainerRun, inst: Instance) -> None:
        def make() -> Track:
            limit = memory_limit_mi(c.spec)
            return Track(
                run.namespace, run.name, c.name, run.uid, run.node.name, c.image, c.behaviour.memory, limit
            )

        self.series.started(self.series.track((run.namespace, run.name, c.name, run.uid), make), inst)

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

    # -- small utilities -----------------------------------------------------------------------
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
