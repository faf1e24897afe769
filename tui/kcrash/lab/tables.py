"""Server-side printing: the `meta.k8s.io/v1` Table kube-apiserver returns when kubectl asks for one.

Ported from kube-apiserver's pkg/printers/internalversion/printers.go (print handlers always run with
Wide=true on the server; kubectl hides columns of priority > 0 unless `-o wide`). Ages use the lab's
simulated clock. This is the lab's own port and deliberately shares no code with the console's status
logic: kubectl printing these cells is how the console's logic gets checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from kcrash.lab.selectors import format_label_selector
from kcrash.units.durations import human_duration

Obj = dict[str, Any]
Cells = list[Any]

COLUMNS_FILE = "table_columns.json"


def _load_columns() -> dict[str, list[dict[str, Any]]]:
    """The column definitions kube-apiserver v1.36 sends, descriptions word for word (recorded from it)."""
    text = resources.files("kcrash.lab").joinpath(COLUMNS_FILE).read_text(encoding="utf-8")
    loaded: dict[str, list[dict[str, Any]]] = json.loads(text)
    return loaded


COLUMNS = _load_columns()
_NAME = COLUMNS["pods"][0]
_AGE_DOC = COLUMNS["pods"][4]["description"]


def _col(name: str, doc: str, *, type_: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": doc, "priority": priority}


_DEFAULT_COLUMNS = [
    _NAME,
    _col("Created At", _AGE_DOC, type_="date"),
]


def columns_for(resource: str) -> list[dict[str, Any]]:
    return COLUMNS.get(resource, _DEFAULT_COLUMNS)


def cells_for(resource: str, obj: Obj, now: datetime) -> Cells:
    printer = _PRINTERS.get(resource, _default_cells)
    return printer(obj, now)


# -- time ----------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    """translateTimestampSince: `<unknown>` for a zero time."""
    moment = parse_time(value)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


# -- pods --------------------------------------------------------------------------------------


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _has_condition(pod: Obj, kind: str) -> bool:
    for condition in _get(pod, "status", "conditions") or []:
        if condition.get("type") == kind:
            return bool(condition.get("status") == "True")
    return False


def _restartable(container: Obj | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


class _Restarts:
    """Restart count and the newest lastState.terminated.finishedAt seen so far."""

    def __init__(self) -> None:
        self.count = 0
        self.last: datetime | None = None

    def add(self, status: Obj) -> None:
        self.count += int(status.get("restartCount") or 0)
        finished = parse_time(_get(status, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.last is None or finished > self.last):
            self.last = finished

    def render(self, now: datetime) -> str:
        if self.count != 0 and self.last is not None:
            return f"{self.count} ({human_duration((now - self.last).total_seconds())} ago)"
        return str(self.count)


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _init_containers(pod: Obj, reason: str) -> tuple[str, bool, int, _Restarts, _Restarts]:
    """Walk init container statuses like printPod: (reason, initializing, ready, all, restartable)."""
    specs = {c.get("name"): c for c in _get(pod, "spec", "initContainers") or []}
    total_specs = len(specs)
    restarts, sidecar_restarts = _Restarts(), _Restarts()
    ready = 0
    initializing = False
    for index, status in enumerate(_get(pod, "status", "initContainerStatuses") or []):
        restarts.add(status)
        sidecar = _restartable(specs.get(status.get("name")))
        if sidecar:
            sidecar_restarts.add(status)
        terminated = _get(status, "state", "terminated")
        waiting = _get(status, "state", "waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and status.get("started"):
            ready += 1 if status.get("ready") else 0
            continue
        initializing = True
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{index}/{total_specs}"
        break
    return reason, initializing, ready, restarts, sidecar_restarts


def pod_cells(pod: Obj, now: datetime) -> Cells:
    spec_containers = _get(pod, "spec", "containers") or []
    sidecars = [c for c in _get(pod, "spec", "initContainers") or [] if _restartable(c)]
    total = len(spec_containers) + len(sidecars)
    phase = _get(pod, "status", "phase") or ""
    reason = _get(pod, "status", "reason") or phase
    for condition in _get(pod, "status", "conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    reason, initializing, ready, restarts, sidecar_restarts = _init_containers(pod, reason)
    if not initializing or _has_condition(pod, "Initialized"):
        restarts = sidecar_restarts
        reason, ready = _main_containers(pod, reason, ready, restarts)

    deleting = _get(pod, "metadata", "deletionTimestamp") is not None
    if deleting and _get(pod, "status", "reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    return [
        _get(pod, "metadata", "name") or "",
        f"{ready}/{total}",
        reason,
        restarts.render(now),
        since(_get(pod, "metadata", "creationTimestamp"), now),
        *_pod_wide_cells(pod),
    ]


def _main_containers(pod: Obj, reason: str, ready: int, restarts: _Restarts) -> tuple[str, int]:
    has_running = False
    for status in reversed(_get(pod, "status", "containerStatuses") or []):
        restarts.add(status)
        waiting = _get(status, "state", "waiting")
        terminated = _get(status, "state", "terminated")
        if waiting is not None and waiting.get("reason"):
            reason = str(waiting["reason"])
        elif terminated is not None:
            reason = _terminated_reason(terminated)
        elif status.get("ready") and _get(status, "state", "running") is not None:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        reason = "Running" if _has_condition(pod, "Ready") else "NotReady"
    return reason, ready


def _pod_wide_cells(pod: Obj) -> Cells:
    ips = _get(pod, "status", "podIPs") or []
    ip = (ips[0].get("ip") if ips else None) or _get(pod, "status", "podIP") or "<none>"
    node = _get(pod, "spec", "nodeName") or "<none>"
    nominated = _get(pod, "status", "nominatedNodeName") or "<none>"
    gates = _get(pod, "spec", "readinessGates") or []
    readiness = "<none>"
    if gates:
        conditions = {c.get("type"): c.get("status") for c in _get(pod, "status", "conditions") or []}
        true_count = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        readiness = f"{true_count}/{len(gates)}"
    return [ip, node, nominated, readiness]


# -- workloads -------------------------------------------------------------------------------


def _containers_cells(template_spec: Obj | None) -> tuple[str, str]:
    containers = (template_spec or {}).get("containers") or []
    return (
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
    )


def deployment_cells(obj: Obj, now: datetime) -> Cells:
    desired = _get(obj, "spec", "replicas")
    desired = 1 if desired is None else int(desired)
    status = obj.get("status") or {}
    names, images = _containers_cells(_get(obj, "spec", "template", "spec"))
    return [
        _get(obj, "metadata", "name") or "",
        f"{int(status.get('readyReplicas') or 0)}/{desired}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        since(_get(obj, "metadata", "creationTimestamp"), now),
        names,
        images,
        format_label_selector(_get(obj, "spec", "selector"), none_text=""),
    ]


def replicaset_cells(obj: Obj, now: datetime) -> Cells:
    desired = _get(obj, "spec", "replicas")
    status = obj.get("status") or {}
    names, images = _containers_cells(_get(obj, "spec", "template", "spec"))
    return [
        _get(obj, "metadata", "name") or "",
        1 if desired is None else int(desired),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        since(_get(obj, "metadata", "creationTimestamp"), now),
        names,
        images,
        format_label_selector(_get(obj, "spec", "selector")),
    ]


# -- events and cluster objects ----------------------------------------------------------------


def event_cells(obj: Obj, now: datetime) -> Cells:
    first = since(obj.get("firstTimestamp"), now)
    if parse_time(obj.get("firstTimestamp")) is None:
        first = since(obj.get("eventTime"), now)
    last = since(obj.get("lastTimestamp"), now)
    if parse_time(obj.get("lastTimestamp")) is None:
        last = first
    count = int(obj.get("count") or 0)
    series = obj.get("series")
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last,
        obj.get("type", ""),
        obj.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        _event_source(obj),
        str(obj.get("message", "")).strip(),
        first,
        count,
        _get(obj, "metadata", "name") or "",
    ]


def _event_source(obj: Obj) -> str:
    source = obj.get("source") or {}
    component = (
        source.get("component") or obj.get("reportingComponent") or obj.get("reportingController") or ""
    )
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def namespace_cells(obj: Obj, now: datetime) -> Cells:
    return [
        _get(obj, "metadata", "name") or "",
        _get(obj, "status", "phase") or "",
        since(_get(obj, "metadata", "creationTimestamp"), now),
    ]


def node_cells(obj: Obj, now: datetime) -> Cells:
    ready = [c for c in _get(obj, "status", "conditions") or [] if c.get("type") == "Ready"]
    status = ["Ready" if c.get("status") == "True" else "NotReady" for c in ready[-1:]] or ["Unknown"]
    if _get(obj, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    info = _get(obj, "status", "nodeInfo") or {}
    return [
        _get(obj, "metadata", "name") or "",
        ",".join(status),
        ",".join(_node_roles(obj)) or "<none>",
        since(_get(obj, "metadata", "creationTimestamp"), now),
        info.get("kubeletVersion", ""),
        _node_address(obj, "InternalIP"),
        _node_address(obj, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _node_roles(obj: Obj) -> list[str]:
    roles: set[str] = set()
    for key, value in (_get(obj, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]:
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return sorted(roles)


def _node_address(obj: Obj, kind: str) -> str:
    for address in _get(obj, "status", "addresses") or []:
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def configmap_cells(obj: Obj, now: datetime) -> Cells:
    size = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_get(obj, "metadata", "name") or "", size, since(_get(obj, "metadata", "creationTimestamp"), now)]


def secret_cells(obj: Obj, now: datetime) -> Cells:
    return [
        _get(obj, "metadata", "name") or "",
        obj.get("type", ""),
        len(obj.get("data") or {}),
        since(_get(obj, "metadata", "creationTimestamp"), now),
    ]


def _default_cells(obj: Obj, now: datetime) -> Cells:
    return [_get(obj, "metadata", "name") or "", _get(obj, "metadata", "creationTimestamp")]


_PRINTERS: dict[str, Callable[[Obj, datetime], Cells]] = {
    "pods": pod_cells,
    "deployments": deployment_cells,
    "replicasets": replicaset_cells,
    "events": event_cells,
    "namespaces": namespace_cells,
    "nodes": node_cells,
    "configmaps": configmap_cells,
    "secrets": secret_cells,
}


# -- the Table object ---------------------------------------------------------------------------


def partial_metadata(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def table(
    resource: str,
    objects: list[Obj],
    now: datetime,
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    headers: bool = True,
) -> Obj:
    """A Table of `objects`; `include_object` is None, Metadata (default) or Object."""
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells_for(resource, obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        else:
            row["object"] = None  # the apiserver still sends the key
        phase = _get(obj, "status", "phase") if resource == "pods" else None
        if phase in ("Succeeded", "Failed"):
            row["conditions"] = [_completed_condition(phase)]
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": columns_for(resource) if headers else [],
        "rows": rows,
    }


def _completed_condition(phase: str) -> Obj:
    message = "The pod has completed successfully." if phase == "Succeeded" else "The pod failed."
    return {"type": "Completed", "status": "True", "reason": phase, "message": message}
