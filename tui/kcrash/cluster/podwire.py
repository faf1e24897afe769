"""Pod JSON decoded straight into records: the fast path of a pod LIST and of pod watch lines.

A LIST of 20,000 pods is about 64 MB of JSON, and most of it (volumes, tolerations, managed
fields, probe details) is never read. `orjson.loads` builds every dict and string of it, then
`parse.parse_pod` walks the dicts again. Here msgspec decodes each page into slim typed shapes
holding only the fields `parse_pod` reads, skipping the rest unbuilt, and the records are made
from those shapes.

`parse.py` stays the one place that knows what a field means. Parts that replicas share
(containers, volumes) are kept as raw JSON here: they key a cache, and on a miss they are loaded
and built by `parse.py`'s own functions. Anything typed other than the wire shapes below (a
number where text belongs, a null list entry, a field with no value) makes the fast path decline
the whole page or line (`None`), and the caller takes `parse_pod` over `orjson.loads`, which
forgives all of that. So both paths give the same records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct, UnsetType, field

from kcrash.cluster import parse
from kcrash.core.records import (
    UNKNOWN_STATE,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    EnvRef,
    OwnerRef,
    Pod,
    PodCondition,
)

_NO_RAW = Raw()


class _Owner(Struct, frozen=True):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None


class _Meta(Struct, rename="camel"):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: list[_Owner] = []


class _Mount(Struct):
    name: str = ""


class _Container(Struct, rename="camel"):
    """A container's fields `parse.build_container_spec` reads; all but names as raw JSON."""

    name: str = ""
    image: str = ""
    command: Raw = _NO_RAW
    args: Raw = _NO_RAW
    resources: Raw = _NO_RAW
    liveness_probe: Raw = _NO_RAW
    readiness_probe: Raw = _NO_RAW
    startup_probe: Raw = _NO_RAW
    env: Raw = _NO_RAW
    env_from: Raw = _NO_RAW
    restart_policy: str = ""
    volume_mounts: list[_Mount] = []


class _Volume(Struct, rename="camel"):
    """A volume's fields `parse.volume_refs` reads."""

    name: str = ""
    secret: Raw = _NO_RAW
    config_map: Raw = _NO_RAW
    projected: Raw = _NO_RAW


class _Spec(Struct, rename="camel"):
    containers: list[_Container] = []
    init_containers: list[_Container] = []
    volumes: list[_Volume] = []
    node_name: str = ""
    restart_policy: str = ""


class _Terminated(Struct, rename="camel"):
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    signal: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    container_id: str = field(default="", name="containerID")


class _Waiting(Struct):
    reason: str = ""
    message: str = ""


class _Running(Struct, rename="camel"):
    started_at: datetime | None = None


class _State(Struct):
    # UNSET, not None, for "absent": `parse._state` reads a present null as an empty state, which
    # these shapes do not model, so a null here fails the decode and the page takes `parse_pod`.
    waiting: _Waiting | UnsetType = UNSET
    running: _Running | UnsetType = UNSET
    terminated: _Terminated | UnsetType = UNSET


class _ContainerStatus(Struct, rename="camel"):
    name: str = ""
    ready: bool | None = None
    started: bool | None = None
    restart_count: int = 0
    image: str = ""
    state: _State | None = None
    last_state: _State | None = None


class _Condition(Struct, rename="camel"):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


class _Status(Struct, rename="camel"):
    phase: str = ""
    reason: str = ""
    message: str = ""
    pod_ip: str = field(default="", name="podIP")
    start_time: datetime | None = None
    conditions: list[_Condition] = []
    container_statuses: list[_ContainerStatus] = []
    init_container_statuses: list[_ContainerStatus] = []


class _Pod(Struct):
    metadata: _Meta = field(default_factory=_Meta)
    spec: _Spec = field(default_factory=_Spec)
    status: _Status = field(default_factory=_Status)


class _ListMeta(Struct, rename="camel"):
    resource_version: str = ""
    continue_: str = field(default="", name="continue")


class _PodList(Struct):
    metadata: _ListMeta = field(default_factory=_ListMeta)
    items: list[_Pod] = []


class _PodEvent(Struct):
    type: str = ""
    object: _Pod = field(default_factory=_Pod)


class _Declined(Exception):
    """A raw part that `parse.py` must judge whole: the fast path gives up on the page."""


_list_decoder = msgspec.json.Decoder(_PodList)
_event_decoder = msgspec.json.Decoder(_PodEvent)
_OBJECT_EVENTS = frozenset({"ADDED", "MODIFIED", "DELETED"})


def decode_pod_list(body: bytes) -> tuple[list[Pod], str, str] | None:
    """(pods, resourceVersion, continue token) of one LIST page, or None to take `parse_pod`."""
    try:
        page = _list_decoder.decode(body)
        pods = [_pod(item) for item in page.items]
    except (msgspec.DecodeError, _Declined):  # ValidationError is a DecodeError
        return None
    return pods, page.metadata.resource_version, page.metadata.continue_


def decode_pod_event(line: bytes) -> tuple[str, Pod, str] | None:
    """(type, pod, resourceVersion) of an ADDED/MODIFIED/DELETED watch line, or None otherwise
    (bookmarks, errors, and whatever the forgiving path must judge)."""
    try:
        event = _event_decoder.decode(line)
        if event.type not in _OBJECT_EVENTS:
            return None
        return event.type, _pod(event.object), event.object.metadata.resource_version
    except (msgspec.DecodeError, _Declined):
        return None


# --- records ----------------------------------------------------------------------------------------


def _when(value: datetime | None) -> datetime | None:
    """`parse.parse_time` of a time msgspec has read: in UTC, and unset times (year 1, the epoch) are
    None. msgspec rounds digits past the microsecond where Python drops them; API servers write
    pod times to the second."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        try:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # as `parse_time`: before year 1 in UTC is no time
            return None
    if value.day == 1 and value.month == 1 and value.year in parse.UNSET_YEARS:
        return None
    return value


def _pod(wire: _Pod) -> Pod:
    meta, spec, status = wire.metadata, wire.spec, wire.status
    containers, inits = _containers(spec)
    return Pod(
        namespace=meta.namespace or "default",
        name=meta.name,
        uid=meta.uid,
        resource_version=meta.resource_version,
        created_at=_when(meta.creation_timestamp),
        deletion_timestamp=_when(meta.deletion_timestamp),
        labels=tuple(sorted(meta.labels.items())) if meta.labels else (),
        owners=tuple(OwnerRef(o.kind, o.name, o.uid, o.controller is True) for o in meta.owner_references),
        phase=status.phase,
        reason=status.reason,
        message=status.message,
        node_name=spec.node_name,
        pod_ip=status.pod_ip,
        start_time=_when(status.start_time),
        conditions=tuple(
            PodCondition(c.type, c.status, c.reason, c.message, _when(c.last_transition_time))
            for c in status.conditions
        ),
        restart_policy=spec.restart_policy or "Always",
        containers=containers,
        init_containers=inits,
        container_statuses=tuple(_container_status(s) for s in status.container_statuses),
        init_container_statuses=tuple(_container_status(s) for s in status.init_container_statuses),
        default_container=meta.annotations.get(parse.DEFAULT_CONTAINER_ANNOTATION, "")
        if meta.annotations
        else "",
    )


def _state(state: _State | None) -> ContainerState | None:
    """`parse._state` over the typed shape: terminated, then waiting, then running."""
    if state is None:
        return None
    if state.terminated is not UNSET:
        t = state.terminated
        return ContainerState(
            "terminated",
            t.reason,
            t.message,
            t.exit_code,
            t.signal or None,
            _when(t.started_at),
            _when(t.finished_at),
            t.container_id,
        )
    if state.waiting is not UNSET:
        return ContainerState("waiting", state.waiting.reason, state.waiting.message)
    if state.running is not UNSET:
        return ContainerState("running", started_at=_when(state.running.started_at))
    return None


def _container_status(status: _ContainerStatus) -> ContainerStatus:
    return ContainerStatus(
        status.name,
        status.ready is True,
        status.started,
        status.restart_count,
        status.image,
        _state(status.state) or UNKNOWN_STATE,
        _state(status.last_state),
    )


# --- shared parts: containers and the volumes they mount ----------------------------------------------

_specs_seen: dict[tuple[Any, ...], ContainerSpec] = {}
_volume_refs_seen: dict[tuple[bytes, ...], tuple[EnvRef, ...]] = {}


def _containers(spec: _Spec) -> tuple[tuple[ContainerSpec, ...], tuple[ContainerSpec, ...]]:
    volumes = {v.name: v for v in spec.volumes} if spec.volumes else {}
    containers = tuple(_container_spec(c, volumes, init=False) for c in spec.containers)
    inits = tuple(_container_spec(c, volumes, init=True) for c in spec.init_containers)
    return containers, inits


def _container_spec(container: _Container, volumes: dict[str, _Volume], *, init: bool) -> ContainerSpec:
    mounted = tuple(
        ref
        for mount in container.volume_mounts
        for ref in (_volume_refs(volumes[mount.name]) if mount.name in volumes else ())
    )
    parts = _raw_parts(container, _CONTAINER_RAW)
    key = (container.name, container.image, container.restart_policy, *parts, mounted, init)

    def build() -> ContainerSpec:
        doc: dict[str, Any] = {"name": container.name, "image": container.image}
        if container.restart_policy:
            doc["restartPolicy"] = container.restart_policy
        return parse.build_container_spec(_with_parts(doc, parts, _CONTAINER_RAW), mounted, init)

    spec: ContainerSpec = parse.shared(_specs_seen, key, build)
    return spec


def _volume_refs(volume: _Volume) -> tuple[EnvRef, ...]:
    parts = _raw_parts(volume, _VOLUME_RAW)

    def build() -> tuple[EnvRef, ...]:
        return tuple(parse.volume_refs(_with_parts({"name": volume.name}, parts, _VOLUME_RAW)))

    refs: tuple[EnvRef, ...] = parse.shared(_volume_refs_seen, parts, build)
    return refs


# (attribute, JSON name) of the parts kept raw: they key the caches, and on a miss are loaded back
# into the mapping `parse.py` builds from.
_CONTAINER_RAW = (
    ("command", "command"),
    ("args", "args"),
    ("resources", "resources"),
    ("liveness_probe", "livenessProbe"),
    ("readiness_probe", "readinessProbe"),
    ("startup_probe", "startupProbe"),
    ("env", "env"),
    ("env_from", "envFrom"),
)
_VOLUME_RAW = (("secret", "secret"), ("config_map", "configMap"), ("projected", "projected"))


def _raw_parts(wire: Struct, fields: tuple[tuple[str, str], ...]) -> tuple[bytes, ...]:
    return tuple(bytes(getattr(wire, attr)) for attr, _ in fields)


def _with_parts(
    doc: dict[str, Any], parts: tuple[bytes, ...], fields: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """`doc` with each present part loaded under its JSON name, as `orjson.loads` would give it."""
    for raw, (_, name) in zip(parts, fields, strict=True):
        if raw:
            doc[name] = _loads(raw)
    return doc


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # msgspec accepts what orjson refuses (e.g. huge integers)
        raise _Declined from None
