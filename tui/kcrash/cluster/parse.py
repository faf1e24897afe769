"""API JSON -> core records: the module that knows what the fields of Kubernetes objects mean.

A pod LIST page or watch line goes first through `podwire.py`, which decodes the fields read here
straight into the same records with msgspec, and builds shared parts (container specs, volumes)
with this module's functions; whatever it declines comes here.

Every function takes a mapping as `orjson.loads` returns it and tolerates missing or null fields:
real pastes, old API servers and partial objects all come through here. Nothing of an env value or
of Secret data is ever kept; a Secret in the input is dropped unread.

Pods the fast path declines, events, and pastes of thousands of pods come through here, so the
accessors test the exact types orjson builds before the general ones, and what pods share is built
once: timestamps, quantities, and the container specs of pods made from one template (records are
immutable, so sharing is safe).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import orjson

from kcrash.core.quantity import parse_bytes, parse_cpu
from kcrash.core.records import (
    UNKNOWN_STATE,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    Deployment,
    EnvRef,
    Event,
    MemorySample,
    OwnerRef,
    Pod,
    PodCondition,
    Probe,
    ProbeKind,
    RefKind,
    Revision,
)

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
TEMPLATE_HASH_LABEL = "pod-template-hash"

# Go's zero time and the Unix epoch both mean "never set" in API objects.
UNSET_YEARS = (1, 1970)

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class ParsedObjects:
    """What a document held, sorted by kind. Unknown kinds and Secrets are dropped."""

    pods: tuple[Pod, ...] = ()
    events: tuple[Event, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    revisions: tuple[Revision, ...] = ()
    # (namespace, deployment name, ReplicaSet name) for each revision whose owner is known
    revision_owners: tuple[tuple[str, str, str], ...] = ()
    # ((namespace, pod name), samples) for each PodMetrics
    metrics: tuple[tuple[tuple[str, str], tuple[MemorySample, ...]], ...] = ()
    # (namespace, pod name) -> every sample of that pod, oldest first: a paste of many pods asks
    # for each pod's, and a scan of all the snapshots per pod grew with the square of the paste.
    _metrics_by_pod: dict[tuple[str, str], tuple[MemorySample, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        found: dict[tuple[str, str], list[MemorySample]] = {}
        for key, samples in self.metrics:
            found.setdefault(key, []).extend(samples)
        self._metrics_by_pod.update(
            (key, tuple(sorted(samples, key=lambda s: s.at))) for key, samples in found.items()
        )

    def revisions_of(self, deployment: Deployment) -> tuple[Revision, ...]:
        """The revisions owned by `deployment`, oldest first."""
        names = {
            rs
            for ns, owner, rs in self.revision_owners
            if ns == deployment.namespace and owner == deployment.name
        }
        return tuple(sorted((r for r in self.revisions if r.name in names), key=lambda r: r.number))

    def metrics_for(self, namespace: str, pod: str) -> tuple[MemorySample, ...]:
        """Every sample of one pod across the document's PodMetrics snapshots, oldest first."""
        return self._metrics_by_pod.get((namespace, pod), ())


# --- small, forgiving accessors -------------------------------------------------------------------
# Each tests the exact type orjson builds first (one identity check), then the general case.


def _map(obj: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if obj else None
    if type(value) is dict:
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def _list(obj: Mapping[str, Any] | None, key: str) -> list[Mapping[str, Any]]:
    value = obj.get(key) if obj else None
    if not isinstance(value, list):
        return []
    return [item for item in value if type(item) is dict or isinstance(item, Mapping)]


def _str(obj: Mapping[str, Any] | None, key: str) -> str:
    value = obj.get(key) if obj else None
    if type(value) is str:
        return value
    if value is None or isinstance(value, Mapping | list):
        return ""
    return str(value)


def _text(value: Any) -> str:
    """`_str` of a value already fetched (the hot path fetches a mapping's fields itself)."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, Mapping | list):
        return ""
    return str(value)


def _int(obj: Mapping[str, Any] | None, key: str, default: int = 0) -> int:
    value = obj.get(key) if obj else None
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def _opt_int(obj: Mapping[str, Any] | None, key: str) -> int | None:
    value = obj.get(key) if obj else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(obj: Mapping[str, Any] | None, key: str) -> bool:
    return (obj.get(key) if obj else None) is True


def _strings(obj: Mapping[str, Any] | None, key: str) -> tuple[str, ...]:
    value = obj.get(key) if obj else None
    if not isinstance(value, list):
        return ()
    return tuple(str(item) for item in value if item is not None)


def _labels(obj: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not obj:
        return ()
    pairs = list(obj.items())
    if all(type(k) is str and type(v) is str for k, v in pairs):
        return tuple(sorted(pairs))  # keys are unique: values never decide the order
    return tuple(sorted((str(k), str(v)) for k, v in pairs if v is not None))


_TIME_CACHE_SIZE = 8192
_times: dict[str, datetime | None] = {}
"""Timestamp text -> parsed value. The pods of one rollout share most of their timestamps."""


def parse_time(value: str | None) -> datetime | None:
    """RFC3339 / RFC3339Nano to an aware UTC datetime; unset times (year 1, the epoch) become None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return _times[value]
    except KeyError:
        pass
    parsed = _parse_time(value)
    if len(_times) >= _TIME_CACHE_SIZE:
        _times.clear()
    _times[value] = parsed
    return parsed


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # Go's zero time written east of UTC: before year 1 in UTC
        return None
    if parsed.year in UNSET_YEARS and parsed.month == 1 and parsed.day == 1:
        return None
    return parsed


def _time(obj: Mapping[str, Any] | None, key: str) -> datetime | None:
    return when(obj.get(key) if obj else None)


def when(value: Any) -> datetime | None:
    """`_time` of a value already fetched: only strings are times."""
    if type(value) is str:
        try:
            return _times[value]
        except KeyError:
            return parse_time(value)
    return parse_time(value) if isinstance(value, str) else None


def _bytes(value: Any) -> int | None:
    return None if value is None else _bytes_of(str(value))


def _millicores(value: Any) -> int | None:
    return None if value is None else _millicores_of(str(value))


_BINARY_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


@lru_cache(maxsize=1024)
def _bytes_of(text: str) -> int | None:
    # Metrics come as whole binary multiples ("40960Ki"), a different text per pod and sample:
    # those are exact integers, read without the general (Fraction) parser.
    scale = _BINARY_SUFFIX.get(text[-2:])
    if scale is not None and text[:-2].isdigit() and text[:-2].isascii():
        return int(text[:-2]) * scale
    try:
        return parse_bytes(text)
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _millicores_of(text: str) -> int | None:
    try:
        return parse_cpu(text)
    except ValueError:
        return None


# --- containers -------------------------------------------------------------------------------------


def _probe_handler(probe: Mapping[str, Any]) -> str:
    """A probe's action as a person would say it: "GET :8080/healthz", "tcp :5432", "exec: cat x"."""
    http = _map(probe, "httpGet")
    if http:
        scheme = _str(http, "scheme").lower()
        host = _str(http, "host")
        path = _str(http, "path") or "/"
        if not path.startswith("/"):
            path = "/" + path
        prefix = f"{scheme}://" if scheme and scheme != "http" else ""
        return f"GET {prefix}{host}:{_str(http, 'port')}{path}"
    tcp = _map(probe, "tcpSocket")
    if tcp:
        return f"tcp {_str(tcp, 'host')}:{_str(tcp, 'port')}"
    grpc = _map(probe, "grpc")
    if grpc:
        service = _str(grpc, "service")
        return f"grpc :{_str(grpc, 'port')}" + (f" {service}" if service else "")
    exec_ = _map(probe, "exec")
    if exec_:
        return "exec: " + " ".join(_strings(exec_, "command"))
    return "unknown handler"


def _probe(kind: ProbeKind, probe: Mapping[str, Any]) -> Probe | None:
    if not probe:
        return None
    # Defaults are the API server's; a paste of a manifest may leave them out.
    return Probe(
        kind=kind,
        handler=_probe_handler(probe),
        initial_delay_seconds=_int(probe, "initialDelaySeconds", 0),
        period_seconds=_int(probe, "periodSeconds", 10) or 10,
        timeout_seconds=_int(probe, "timeoutSeconds", 1) or 1,
        failure_threshold=_int(probe, "failureThreshold", 3) or 3,
        success_threshold=_int(probe, "successThreshold", 1) or 1,
    )


def _env(container: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[EnvRef, ...]]:
    """Plain env names and ConfigMap/Secret references; values are never read."""
    names: list[str] = []
    refs: list[EnvRef] = []
    for var in _list(container, "env"):
        name = _str(var, "name")
        value_from = _map(var, "valueFrom")
        ref = _key_ref("Secret", _map(value_from, "secretKeyRef"), name) or _key_ref(
            "ConfigMap", _map(value_from, "configMapKeyRef"), name
        )
        if ref:
            refs.append(ref)
        elif name:
            names.append(name)
    for source in _list(container, "envFrom"):
        if _map(source, "configMapRef"):
            refs.append(_whole_ref("ConfigMap", _map(source, "configMapRef"), "name", "envFrom"))
        if _map(source, "secretRef"):
            refs.append(_whole_ref("Secret", _map(source, "secretRef"), "name", "envFrom"))
    return tuple(names), tuple(refs)


def _key_ref(kind: RefKind, ref: Mapping[str, Any], env_name: str) -> EnvRef | None:
    if not ref:
        return None
    return EnvRef(
        kind=kind,
        name=_str(ref, "name"),
        key=_str(ref, "key"),
        env_name=env_name,
        optional=_bool(ref, "optional"),
        via="env",
    )


def _whole_ref(
    kind: RefKind, ref: Mapping[str, Any], name_key: str, via: Literal["envFrom", "volume"]
) -> EnvRef:
    return EnvRef(kind=kind, name=_str(ref, name_key), optional=_bool(ref, "optional"), via=via)


def volume_refs(volume: Mapping[str, Any]) -> list[EnvRef]:
    """ConfigMap/Secret references of one pod volume, one per projected key when items are listed."""
    sources: list[tuple[RefKind, Mapping[str, Any], str]] = []
    if _map(volume, "secret"):
        sources.append(("Secret", _map(volume, "secret"), "secretName"))
    if _map(volume, "configMap"):
        sources.append(("ConfigMap", _map(volume, "configMap"), "name"))
    for projected in _list(_map(volume, "projected"), "sources"):
        if _map(projected, "secret"):
            sources.append(("Secret", _map(projected, "secret"), "name"))
        if _map(projected, "configMap"):
            sources.append(("ConfigMap", _map(projected, "configMap"), "name"))
    refs: list[EnvRef] = []
    for kind, source, name_key in sources:
        whole = _whole_ref(kind, source, name_key, "volume")
        items = _list(source, "items")
        if not items:
            refs.append(whole)
        refs.extend(
            EnvRef(kind=kind, name=whole.name, key=_str(i, "key"), optional=whole.optional, via="volume")
            for i in items
        )
    return refs


SHARED_CACHE_SIZE = 16384
"""Entries a cache of shared parts holds before it starts over. Above the distinct container specs
of a big cluster (a 20,000-pod lab has ~4,400: a smaller cache emptied itself mid-list and rebuilt
specs it had just built). Keys are the specs' JSON: ~170 bytes each in that lab, ~3 MB when full."""
_volume_refs_seen: dict[bytes, tuple[EnvRef, ...]] = {}
_specs_seen: dict[tuple[bytes, tuple[EnvRef, ...], bool], ContainerSpec] = {}
"""Container specs by content. Pods of one ReplicaSet carry the same containers, differing only in
the name of the service-account token volume they mount, so the key leaves the mounts out and
holds what they resolve to instead."""


def _plain_json(value: Any) -> bytes | None:
    """`value` as JSON, the key of what is built from it; None when it holds more than plain JSON
    (a paste's YAML timestamps), which is built every time rather than risk two texts sharing a key."""
    try:
        return orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None


def _fingerprint(obj: Mapping[str, Any], without: str) -> bytes | None:
    """`_plain_json` of a mapping minus one key."""
    return _plain_json({k: v for k, v in obj.items() if k != without} if without in obj else obj)


def shared(cache: dict[Any, Any], key: Any, build: Any) -> Any:
    """What `cache` holds for `key`, built by `build()` on a miss (the cache starts over when full)."""
    found = cache.get(key)
    if found is None:
        found = build()
        if len(cache) >= SHARED_CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


def _refs_of_volume(volume: Mapping[str, Any]) -> tuple[EnvRef, ...]:
    body = _fingerprint(volume, "name")
    if body is None:
        return tuple(volume_refs(volume))
    refs: tuple[EnvRef, ...] = shared(_volume_refs_seen, body, lambda: tuple(volume_refs(volume)))
    return refs


class _Volumes:
    """A pod's volumes by name (the last of a repeated name wins), resolved to references on demand."""

    __slots__ = ("_by_name", "_refs")

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._by_name = {_str(v, "name"): v for v in _list(spec, "volumes")}
        self._refs: dict[str, tuple[EnvRef, ...]] = {}

    def refs(self, name: str) -> tuple[EnvRef, ...]:
        found = self._refs.get(name)
        if found is None:
            volume = self._by_name.get(name)
            found = self._refs[name] = () if volume is None else _refs_of_volume(volume)
        return found


def _container_spec(container: Mapping[str, Any], volumes: _Volumes, *, init: bool) -> ContainerSpec:
    mounted = tuple(ref for m in _list(container, "volumeMounts") for ref in volumes.refs(_str(m, "name")))
    body = _fingerprint(container, "volumeMounts")
    if body is None:
        return build_container_spec(container, mounted, init)
    spec: ContainerSpec = shared(
        _specs_seen, (body, mounted, init), lambda: build_container_spec(container, mounted, init)
    )
    return spec


def build_container_spec(
    container: Mapping[str, Any], mounted: tuple[EnvRef, ...], init: bool
) -> ContainerSpec:
    resources = _map(container, "resources")
    limits = _map(resources, "limits")
    requests = _map(resources, "requests")
    env_names, env_refs = _env(container)
    return ContainerSpec(
        name=_str(container, "name"),
        image=_str(container, "image"),
        command=_strings(container, "command"),
        args=_strings(container, "args"),
        memory_request=_bytes(requests.get("memory")),
        memory_limit=_bytes(limits.get("memory")),
        cpu_request=_millicores(requests.get("cpu")),
        cpu_limit=_millicores(limits.get("cpu")),
        liveness=_probe("liveness", _map(container, "livenessProbe")),
        readiness=_probe("readiness", _map(container, "readinessProbe")),
        startup=_probe("startup", _map(container, "startupProbe")),
        env_refs=(*env_refs, *mounted),
        env_names=env_names,
        init=init,
        restart_policy=_str(container, "restartPolicy"),
        interactive=container.get("stdin") is True or container.get("tty") is True,
    )


def _state(state: Mapping[str, Any] | None) -> ContainerState | None:
    """One of waiting/running/terminated; None when the API left the state empty."""
    if not state:
        return None
    if "terminated" in state:
        get = _map(state, "terminated").get
        return ContainerState(
            "terminated",
            _text(get("reason")),
            _text(get("message")),
            _whole(get("exitCode")),
            _whole(get("signal")) or None,
            when(get("startedAt")),
            when(get("finishedAt")),
            _text(get("containerID")),
        )
    if "waiting" in state:
        get = _map(state, "waiting").get
        return ContainerState("waiting", _text(get("reason")), _text(get("message")))
    if "running" in state:
        return ContainerState("running", started_at=when(_map(state, "running").get("startedAt")))
    return None


def _whole(value: Any) -> int | None:
    """`_opt_int` of a value already fetched."""
    return value if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)) else None


def _container_status(status: Mapping[str, Any]) -> ContainerStatus:
    get = status.get
    started = get("started")
    return ContainerStatus(
        _text(get("name")),
        get("ready") is True,
        started if isinstance(started, bool) else None,
        _int(status, "restartCount"),
        _text(get("image")),
        _state(_map(status, "state")) or UNKNOWN_STATE,
        _state(_map(status, "lastState")),
    )


def _containers(spec: Mapping[str, Any]) -> tuple[tuple[ContainerSpec, ...], tuple[ContainerSpec, ...]]:
    volumes = _Volumes(spec)
    containers = tuple(_container_spec(c, volumes, init=False) for c in _list(spec, "containers"))
    inits = tuple(_container_spec(c, volumes, init=True) for c in _list(spec, "initContainers"))
    return containers, inits


# --- objects ----------------------------------------------------------------------------------------


def _owners(meta: Mapping[str, Any]) -> tuple[OwnerRef, ...]:
    return tuple(
        OwnerRef(
            kind=_str(o, "kind"),
            name=_str(o, "name"),
            uid=_str(o, "uid"),
            controller=_bool(o, "controller"),
        )
        for o in _list(meta, "ownerReferences")
    )


def _condition(cond: Mapping[str, Any]) -> PodCondition:
    get = cond.get
    return PodCondition(
        _text(get("type")),
        _text(get("status")),
        _text(get("reason")),
        _text(get("message")),
        when(get("lastTransitionTime")),
    )


def parse_pod(obj: Mapping[str, Any]) -> Pod:
    meta = _map(obj, "metadata")
    spec = _map(obj, "spec")
    status = _map(obj, "status")
    m, st = meta.get, status.get
    containers, inits = _containers(spec)
    return Pod(
        namespace=_text(m("namespace")) or "default",
        name=_text(m("name")),
        uid=_text(m("uid")),
        resource_version=_text(m("resourceVersion")),
        created_at=when(m("creationTimestamp")),
        deletion_timestamp=when(m("deletionTimestamp")),
        labels=_labels(_map(meta, "labels")),
        owners=_owners(meta),
        phase=_text(st("phase")),
        reason=_text(st("reason")),
        message=_text(st("message")),
        node_name=_str(spec, "nodeName"),
        pod_ip=_text(st("podIP")),
        start_time=when(st("startTime")),
        conditions=tuple(_condition(c) for c in _list(status, "conditions")),
        restart_policy=_str(spec, "restartPolicy") or "Always",
        containers=containers,
        init_containers=inits,
        container_statuses=tuple(_container_status(s) for s in _list(status, "containerStatuses")),
        init_container_statuses=tuple(_container_status(s) for s in _list(status, "initContainerStatuses")),
        default_container=_str(_map(meta, "annotations"), DEFAULT_CONTAINER_ANNOTATION),
    )


def _event_count(obj: Mapping[str, Any]) -> int:
    # core/v1 `count`, events.k8s.io `deprecatedCount`, and `series.count` for new-style series.
    counts = (_int(obj, "count"), _int(obj, "deprecatedCount"), _int(_map(obj, "series"), "count"))
    return max(*counts, 1)


def _event_source(obj: Mapping[str, Any]) -> str:
    source = _map(obj, "source") or _map(obj, "deprecatedSource")
    component = (
        _str(source, "component") or _str(obj, "reportingComponent") or _str(obj, "reportingController")
    )
    host = _str(source, "host") or _str(obj, "reportingInstance")
    return ", ".join(part for part in (component, host) if part)


def parse_event(obj: Mapping[str, Any]) -> Event:
    """A core/v1 Event, or an events.k8s.io/v1 one (regarding, note, series, deprecated*)."""
    meta = _map(obj, "metadata")
    involved = _map(obj, "involvedObject") or _map(obj, "regarding")
    series = _map(obj, "series")
    first = (
        _time(obj, "firstTimestamp")
        or _time(obj, "deprecatedFirstTimestamp")
        or _time(obj, "eventTime")
        or _time(meta, "creationTimestamp")
    )
    last_candidates = [
        t
        for t in (
            _time(obj, "lastTimestamp"),
            _time(obj, "deprecatedLastTimestamp"),
            _time(series, "lastObservedTime"),
            _time(obj, "eventTime"),
        )
        if t is not None
    ]
    return Event(
        namespace=_str(meta, "namespace") or _str(involved, "namespace"),
        name=_str(meta, "name"),
        type=_str(obj, "type") or "Normal",
        reason=_str(obj, "reason"),
        message=_str(obj, "message") or _str(obj, "note"),
        involved_kind=_str(involved, "kind") or "Pod",
        involved_name=_str(involved, "name"),
        involved_uid=_str(involved, "uid"),
        field_path=_str(involved, "fieldPath"),
        count=_event_count(obj),
        first_seen=first,
        last_seen=max(last_candidates) if last_candidates else first,
        source=_event_source(obj),
    )


def parse_deployment(obj: Mapping[str, Any]) -> Deployment:
    meta = _map(obj, "metadata")
    spec = _map(obj, "spec")
    status = _map(obj, "status")
    containers, _ = _containers(_map(_map(spec, "template"), "spec"))
    replicas = spec.get("replicas")
    return Deployment(
        namespace=_str(meta, "namespace") or "default",
        name=_str(meta, "name"),
        uid=_str(meta, "uid"),
        revision=_int(_map(meta, "annotations"), REVISION_ANNOTATION),
        paused=_bool(spec, "paused"),
        # An omitted spec.replicas means 1 (the API default); an explicit 0 stays 0.
        replicas=replicas if isinstance(replicas, int) else 1,
        ready_replicas=_int(status, "readyReplicas"),
        updated_replicas=_int(status, "updatedReplicas"),
        available_replicas=_int(status, "availableReplicas"),
        generation=_int(meta, "generation"),
        observed_generation=_int(status, "observedGeneration"),
        containers=containers,
        selector=_labels(_map(_map(spec, "selector"), "matchLabels")),
        conditions=tuple(_condition(c) for c in _list(status, "conditions") if isinstance(c, Mapping)),
    )


def parse_replicaset(obj: Mapping[str, Any]) -> Revision:
    meta = _map(obj, "metadata")
    spec = _map(obj, "spec")
    status = _map(obj, "status")
    template = _map(spec, "template")
    annotations = _map(meta, "annotations")
    containers, _ = _containers(_map(template, "spec"))
    template_hash = _str(_map(meta, "labels"), TEMPLATE_HASH_LABEL) or _str(
        _map(_map(template, "metadata"), "labels"), TEMPLATE_HASH_LABEL
    )
    return Revision(
        name=_str(meta, "name"),
        number=_int(annotations, REVISION_ANNOTATION),
        containers=containers,
        change_cause=_str(annotations, CHANGE_CAUSE_ANNOTATION),
        created_at=_time(meta, "creationTimestamp"),
        replicas=_int(status, "replicas"),
        ready_replicas=_int(status, "readyReplicas"),
        template_hash=template_hash,
    )


def replicaset_owner(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, deployment name) of the Deployment controlling a ReplicaSet, if any."""
    meta = _map(obj, "metadata")
    for owner in _owners(meta):
        if owner.kind == "Deployment" and (owner.controller or len(_list(meta, "ownerReferences")) == 1):
            return (_str(meta, "namespace") or "default", owner.name)
    return None


def memory_usage(obj: Mapping[str, Any]) -> tuple[str, list[tuple[str, int]]]:
    """A PodMetrics' timestamp text and (container, working-set bytes) pairs, no records built:
    the sampler reads 20,000 of these a round and keeps plain integers (`parse_pod_metrics`
    gives the same as records)."""
    stamp = obj.get("timestamp")
    usage: list[tuple[str, int]] = []
    containers = obj.get("containers")
    if not isinstance(stamp, str) or not isinstance(containers, list):
        return "", usage
    for container in containers:
        if not isinstance(container, Mapping):
            continue
        used = container.get("usage")
        memory = used.get("memory") if isinstance(used, Mapping) else None
        if memory is not None:
            memory_bytes = _bytes_of(str(memory))
            if memory_bytes is not None:
                usage.append((_str(container, "name"), memory_bytes))
    return stamp, usage


def parse_pod_metrics(obj: Mapping[str, Any]) -> tuple[MemorySample, ...]:
    """A metrics.k8s.io PodMetrics as one working-set sample per container, at its timestamp."""
    stamp, usage = memory_usage(obj)
    at = parse_time(stamp)
    if at is None:
        return ()
    return tuple(MemorySample(at=at, container=name, bytes=used) for name, used in usage)


# --- documents --------------------------------------------------------------------------------------


def objects_in(doc: Any, kind_hint: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every object in a document with its kind: lists (typed or mixed), watch events, plain arrays.
    `parse_objects` reads them in this order; a paste pairs its pods' lines with them in it too."""
    if isinstance(doc, list):
        for item in doc:
            yield from objects_in(item, kind_hint)
        return
    if not isinstance(doc, Mapping):
        return
    kind = _str(doc, "kind") or kind_hint
    if "items" in doc and (kind.endswith("List") or not kind):
        # Items of a typed list (PodList from the API) carry no kind of their own.
        item_kind = kind[: -len("List")] if kind.endswith("List") and kind != "List" else ""
        yield from objects_in(doc.get("items"), item_kind)
        return
    if not kind and isinstance(doc.get("object"), Mapping) and "type" in doc:
        yield from objects_in(doc["object"])  # a watch event line
        return
    yield kind, doc


def parse_objects(doc: Any) -> ParsedObjects:
    """Sort a document (a Pod, a PodList, a mixed List, an EventList...) into records by kind."""
    pods: list[Pod] = []
    events: list[Event] = []
    deployments: list[Deployment] = []
    revisions: list[Revision] = []
    owners: list[tuple[str, str, str]] = []
    metrics: list[tuple[tuple[str, str], tuple[MemorySample, ...]]] = []
    for kind, obj in objects_in(doc):
        if kind == "Pod":
            pods.append(parse_pod(obj))
        elif kind == "Event":
            events.append(parse_event(obj))
        elif kind == "Deployment":
            deployments.append(parse_deployment(obj))
        elif kind == "ReplicaSet":
            revision = parse_replicaset(obj)
            revisions.append(revision)
            owner = replicaset_owner(obj)
            if owner:
                owners.append((*owner, revision.name))
        elif kind == "PodMetrics":
            meta = _map(obj, "metadata")
            key = (_str(meta, "namespace") or "default", _str(meta, "name"))
            metrics.append((key, parse_pod_metrics(obj)))
        # Anything else, Secrets above all, is dropped without being looked at.
    return ParsedObjects(
        pods=tuple(pods),
        events=tuple(events),
        deployments=tuple(deployments),
        revisions=tuple(revisions),
        revision_owners=tuple(owners),
        metrics=tuple(metrics),
    )
