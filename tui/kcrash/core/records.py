"""Plain records kcrash reasons about: built once per object version by the cluster layer.

Records keep only the fields the console shows or reasons about. They are frozen, hold no API
objects and no behaviour beyond small derived properties. They are msgspec Structs rather than
dataclasses because a LIST of 20,000 pods builds about 300,000 of them: a frozen dataclass takes
1-6 µs to build, a Struct a tenth of that. They hold no reference cycles, so the cyclic garbage
collector is told not to track them (`gc=False`). Change one with `msgspec.structs.replace`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from msgspec import Struct

StateKind = Literal["waiting", "running", "terminated", "unknown"]
EventType = Literal["Normal", "Warning"]
ProbeKind = Literal["liveness", "readiness", "startup"]
RefKind = Literal["Secret", "ConfigMap"]
# Parts of a DiagnosisInput its maker could not see (a paste holds only what was pasted): there,
# an empty value means "unknown", not "none". "as-of": `now` is only a lower bound of the moment
# the input describes, so durations up to it, and times counted back from it (event ages), are not
# known.
AbsentPart = Literal["spec", "events", "as-of", "metrics"]


class Record(Struct, frozen=True, gc=False):
    """The base of every record: immutable, and out of the cyclic collector's reach."""


class ContainerState(Record, frozen=True):
    """One of a container's states (`state` or `lastState`)."""

    kind: StateKind
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    signal: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    container_id: str = ""


class Probe(Record, frozen=True):
    """A liveness, readiness or startup probe with the numbers that decide when it kills."""

    kind: ProbeKind
    handler: str  # human form: "GET :8080/healthz", "tcp :5432", "exec: cat /tmp/ready"
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    failure_threshold: int = 3
    success_threshold: int = 1


class EnvRef(Record, frozen=True):
    """A reference from a container to a ConfigMap or Secret (env valueFrom, envFrom, or volume)."""

    kind: RefKind
    name: str
    key: str = ""  # "" for envFrom / whole-object volume references
    env_name: str = ""  # the variable it fills, "" for envFrom / volumes
    optional: bool = False
    via: Literal["env", "envFrom", "volume"] = "env"


class ContainerSpec(Record, frozen=True):
    """What the pod spec asks of one container."""

    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    memory_request: int | None = None  # bytes
    memory_limit: int | None = None  # bytes
    cpu_request: int | None = None  # millicores
    cpu_limit: int | None = None  # millicores
    liveness: Probe | None = None
    readiness: Probe | None = None
    startup: Probe | None = None
    env_refs: tuple[EnvRef, ...] = ()
    env_names: tuple[str, ...] = ()  # plain env variable names (values are never kept)
    init: bool = False
    restart_policy: str = ""  # init containers only: "Always" marks a sidecar that keeps running
    interactive: bool = False  # stdin or tty: a shell as the main process waits instead of exiting

    @property
    def sidecar(self) -> bool:
        """An init container with restartPolicy Always runs beside the app (native sidecar)."""
        return self.init and self.restart_policy == "Always"


UNKNOWN_STATE = ContainerState("unknown")


class ContainerStatus(Record, frozen=True):
    """What the kubelet reports for one container."""

    name: str
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0
    image: str = ""
    state: ContainerState = UNKNOWN_STATE
    last_state: ContainerState | None = None


class OwnerRef(Record, frozen=True):
    kind: str
    name: str
    uid: str = ""
    controller: bool = False


class PodCondition(Record, frozen=True):
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition: datetime | None = None


class Pod(Record, frozen=True):
    """A pod as kcrash sees it."""

    namespace: str
    name: str
    uid: str = ""
    resource_version: str = ""
    created_at: datetime | None = None
    deletion_timestamp: datetime | None = None
    labels: tuple[tuple[str, str], ...] = ()
    owners: tuple[OwnerRef, ...] = ()
    phase: str = ""
    reason: str = ""  # status.reason, e.g. Evicted
    message: str = ""
    node_name: str = ""
    pod_ip: str = ""
    start_time: datetime | None = None
    conditions: tuple[PodCondition, ...] = ()
    restart_policy: str = "Always"
    containers: tuple[ContainerSpec, ...] = ()
    init_containers: tuple[ContainerSpec, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    default_container: str = ""  # annotation kubectl.kubernetes.io/default-container

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def controller(self) -> OwnerRef | None:
        """The owner that controls this pod (usually a ReplicaSet)."""
        for owner in self.owners:
            if owner.controller:
                return owner
        return self.owners[0] if self.owners else None

    def spec_for(self, container: str) -> ContainerSpec | None:
        for spec in (*self.containers, *self.init_containers):
            if spec.name == container:
                return spec
        return None

    def status_for(self, container: str) -> ContainerStatus | None:
        for status in (*self.container_statuses, *self.init_container_statuses):
            if status.name == container:
                return status
        return None

    def condition(self, kind: str) -> PodCondition | None:
        for cond in self.conditions:
            if cond.type == kind:
                return cond
        return None


class Event(Record, frozen=True):
    """A core/v1 Event about some object (usually a pod)."""

    namespace: str
    name: str
    type: str  # Normal / Warning
    reason: str
    message: str
    involved_kind: str = "Pod"
    involved_name: str = ""
    involved_uid: str = ""
    field_path: str = ""  # e.g. spec.containers{web}
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: str = ""  # component[, host]

    @property
    def container(self) -> str:
        """The container named by fieldPath `spec.containers{c}`, or ""."""
        start = self.field_path.find("{")
        end = self.field_path.find("}", start)
        return self.field_path[start + 1 : end] if start >= 0 and end > start else ""


class MemorySample(Record, frozen=True):
    """One metrics sample of a container's working-set memory."""

    at: datetime
    container: str
    bytes: int


class Revision(Record, frozen=True):
    """One revision of a Deployment: a ReplicaSet it owns."""

    name: str
    number: int
    containers: tuple[ContainerSpec, ...] = ()
    change_cause: str = ""
    created_at: datetime | None = None
    replicas: int = 0
    ready_replicas: int = 0
    template_hash: str = ""

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(c.image for c in self.containers)


class Deployment(Record, frozen=True):
    """A Deployment and the facts about its rollout."""

    namespace: str
    name: str
    uid: str = ""
    revision: int = 0
    paused: bool = False
    replicas: int = 0
    ready_replicas: int = 0
    updated_replicas: int = 0
    available_replicas: int = 0
    generation: int = 0
    observed_generation: int = 0
    containers: tuple[ContainerSpec, ...] = ()
    selector: tuple[tuple[str, str], ...] = ()
    conditions: tuple[PodCondition, ...] = ()  # Progressing, Available, ReplicaFailure


class Evidence(Record, frozen=True):
    """One fact a diagnosis rests on, quoted exactly from where it came from."""

    source: str  # e.g. "lastState.terminated.reason", "event Unhealthy (x4)", "previous log"
    quote: str


Cause = Literal[
    "app-error",
    "oom-killed",
    "liveness-probe",
    "startup-probe",
    "exits-zero",
    "command-not-found",
    "image-pull",
    "config-missing",
    "dependency-unreachable",
    "killed",  # a SIGKILL or SIGTERM nobody owned up to
    "evicted",
    "unschedulable",
    "volume-mount",
    "unknown",
    "healthy",
]


class Diagnosis(Record, frozen=True):
    """Why a pod keeps dying, what it rests on, and what to do next."""

    cause: Cause
    headline: str
    container: str = ""
    evidence: tuple[Evidence, ...] = ()
    next_steps: tuple[str, ...] = ()
    rollout_hint: str = ""  # "began with revision 2 (image a → b)" when a rollout is to blame
    # A finer reason within the cause ("dns", "missing-secret-key", "node-oom"), "" when the rule
    # can't tell; the values per cause are listed in docs/diagnose.md.
    detail: str = ""


class Unread(Record, frozen=True):
    """A piece of evidence that was asked for and could not be read, and why (one line)."""

    what: str  # "previous log", "events", "rollout history", "ConfigMap app-config", "memory metrics"
    why: str


class DiagnosisInput(Record, frozen=True):
    """Everything the diagnosis may look at for one pod; missing pieces are empty, not guessed."""

    pod: Pod
    now: datetime
    events: tuple[Event, ...] = ()
    previous_log: str | None = None  # the previous instance's log tail; None = not fetched/none
    current_log: str | None = None
    memory: tuple[MemorySample, ...] = ()
    deployment: Deployment | None = None
    revisions: tuple[Revision, ...] = ()
    configmap_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ConfigMap name -> its keys
    metrics_available: bool = True
    absent: frozenset[AbsentPart] = frozenset()  # the live path fetches everything: empty
    unread: tuple[Unread, ...] = ()  # what the live path asked for and could not read
