"""The kubelet's runtime records: one `PodRun` per pod it runs, a `ContainerRun` per container, an
`Instance` per run of a container, and the crash and image-pull `Backoff`s; plus the few facts
read straight off a pod spec (QoS class, memory limit, whether a container restarts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kcrash.lab.scenarios import Behaviour, parse_quantity
from kcrash.lab.store import Obj

if TYPE_CHECKING:
    from kcrash.lab.scheduler import Timer

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0
SYNC_DELAY = 1.0  # PLEG relist: the kubelet notices an exit about a second later
MI = 1024.0 * 1024.0
METRICS_PERIOD = 15.0
METRICS_BUCKETS = 15  # PodMetrics are written for one bucket of pods at a time

PodKey = tuple[str, str]


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


# -- facts from the spec ------------------------------------------------------------------------
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


def should_restart(run: PodRun, c: ContainerRun) -> bool:
    """The pod's restartPolicy applied to the container's last exit."""
    policy = run.spec.get("restartPolicy", "Always")
    code = c.current.exit_code if c.current is not None else 0
    if policy == "Always":
        return True
    return policy == "OnFailure" and code != 0
