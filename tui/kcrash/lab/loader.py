"""--load: serve Kubernetes objects from YAML or JSON files exactly as given.

Accepts single objects, multi-document YAML, `kind: List` and typed lists (PodList, EventList...),
such as `kubectl get pods,events -o yaml` writes. Status is kept; only a missing uid or
creationTimestamp is filled in (resourceVersion always comes from the lab's store so watches work).
No kubelet or controller acts on these objects. Container logs come from files beside the input
(naming convention in docs/lab.md).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from kcrash.lab.clock import rfc3339
from kcrash.lab.logs import LogBook
from kcrash.lab.store import Conflict, Obj, Store

log = logging.getLogger(__name__)

RESOURCES = {
    "Pod": "pods",
    "Event": "events",
    "Deployment": "deployments",
    "ReplicaSet": "replicasets",
    "Namespace": "namespaces",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "PodMetrics": "podmetrics",
    "Node": "nodes",
}
CLUSTER_SCOPED = {"Namespace", "Node"}
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2}) (.*)$")


class LoadError(ValueError):
    """The file cannot be read as Kubernetes objects."""


@dataclass
class Loaded:
    """What one file put into the store."""

    objects: list[tuple[str, str, str]] = field(default_factory=list)  # resource, namespace, name
    skipped: list[str] = field(default_factory=list)  # "Service/web": kinds the lab does not serve
    log_files: list[Path] = field(default_factory=list)


def read_documents(path: Path) -> list[Obj]:
    """Every object in the file, lists flattened."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LoadError(f"cannot read {path}: {err.strerror}") from err
    try:
        if path.suffix == ".json":
            docs: list[Any] = [json.loads(text)]
        else:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise LoadError(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}") from err
    out: list[Obj] = []
    for doc in docs:
        out.extend(_flatten(doc, path))
    return out


def _flatten(doc: object, path: Path) -> Iterator[Obj]:
    if isinstance(doc, list):  # a bare JSON/YAML array of objects
        for item in doc:
            yield from _flatten(item, path)
        return
    if not isinstance(doc, dict):
        raise LoadError(f"{path}: expected Kubernetes objects, found a {type(doc).__name__}")
    kind = str(doc.get("kind", ""))
    if "items" in doc and (kind == "List" or kind.endswith("List") or not kind):
        item_kind = kind[: -len("List")] if kind.endswith("List") and kind != "List" else ""
        api_version = doc.get("apiVersion", "v1")
        for item in doc.get("items") or []:
            if not isinstance(item, dict):
                raise LoadError(f"{path}: a list item is not an object")
            if item_kind and "kind" not in item:
                item = {"kind": item_kind, "apiVersion": api_version, **item}
            yield from _flatten(item, path)
        return
    if not kind or not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
        raise LoadError(f"{path}: an object without kind or metadata.name")
    yield doc


def load_objects(
    path: Path, store: Store, logs: LogBook, now: datetime, objects: list[Obj] | None = None
) -> Loaded:
    """Put the file's objects (read already, or read now) in the store; returns what was loaded."""
    loaded = Loaded()
    if objects is None:
        objects = read_documents(path)
    namespaces = set()
    for obj in objects:
        kind = obj["kind"]
        resource = RESOURCES.get(kind)
        if resource is None:
            loaded.skipped.append(f"{kind}/{obj['metadata']['name']}")
            continue
        meta = obj["metadata"] = dict(obj["metadata"])
        if kind not in CLUSTER_SCOPED:
            meta.setdefault("namespace", "default")
            namespaces.add(meta["namespace"])
        meta.setdefault("creationTimestamp", rfc3339(now))
        loaded.objects.append((resource, meta.get("namespace", ""), meta["name"]))
    for resource, _, name in loaded.objects:
        if resource == "namespaces":
            namespaces.discard(name)
    for namespace in sorted(namespaces):
        if store.get("namespaces", "", namespace) is None:
            store.create("namespaces", _namespace(namespace, now))
    if loaded.skipped:
        log.warning("%s: not served by the lab: %s", path, ", ".join(loaded.skipped))
    loaded.log_files = _load_logs(path, objects, logs)
    for obj in objects:
        resource = RESOURCES.get(obj["kind"])
        if resource is not None:
            _put(store, resource, obj)
    return loaded


def _put(store: Store, resource: str, obj: Obj) -> None:
    try:
        store.create(resource, obj)
    except Conflict:
        meta = obj["metadata"]
        current = store.get(
            resource,
            meta.get("namespace", "") if resource not in ("namespaces", "nodes") else "",
            meta["name"],
        )
        if current is not None:
            meta.setdefault("uid", current["metadata"].get("uid"))
        store.replace(resource, obj)


def _namespace(name: str, now: datetime) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "creationTimestamp": rfc3339(now),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


# -- logs beside the file --------------------------------------------------------------------------
def log_candidates(
    path: Path, namespace: str, pod: str, container: str, previous: bool, only_default: bool = False
) -> list[Path]:
    """Where a container's log may be, most specific first (see docs/lab.md).

    `only_default`: the file holds a single pod and this is its default container, so the short
    `<stem>.log` / `<stem>.previous.log` names apply too.
    """
    suffix = ".previous.log" if previous else ".log"
    folder = path.parent / f"{path.stem}.logs"
    out = [
        folder / namespace / pod / f"{container}{suffix}",
        folder / pod / f"{container}{suffix}",
        path.parent / f"{path.stem}.{pod}.{container}{suffix}",
    ]
    if only_default:
        out.append(path.parent / f"{path.stem}{suffix}")
    return out


def default_container(pod: Obj) -> str:
    """kubectl's choice: the default-container annotation, else the first container."""
    annotations = pod["metadata"].get("annotations") or {}
    chosen = annotations.get("kubectl.kubernetes.io/default-container")
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(chosen or containers[0].get("name", ""))


def _load_logs(path: Path, objects: list[Obj], logs: LogBook) -> list[Path]:
    used: list[Path] = []
    pods = [obj for obj in objects if obj["kind"] == "Pod"]
    for obj in pods:
        meta = obj["metadata"]
        default = default_container(obj) if len(pods) == 1 else None
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        statuses = {
            s.get("name"): s
            for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
        }
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            name = container.get("name", "")
            st = statuses.get(name) or {}
            for previous in (False, True):
                places = log_candidates(
                    path, meta["namespace"], meta["name"], name, previous, name == default
                )
                found = next((p for p in places if p.is_file()), None)
                window = _instance_window(st, previous)
                if found is not None:
                    lines, partial = parse_log_file(found, window[0])
                    used.append(found)
                elif window[0] is not None:
                    lines, partial = [], False  # the instance exists but logged nothing we know of
                else:
                    continue
                ended = previous or "running" not in (st.get("state") or {})
                logs.load_instance(meta["namespace"], meta["name"], name, lines, previous, partial, ended)
    return used


def _instance_window(status: Obj, previous: bool) -> tuple[float | None, float | None]:
    """(startedAt, finishedAt) of the current or previous instance, as far as the status tells."""
    state = (status.get("lastState") if previous else status.get("state")) or {}
    for key in ("running", "terminated"):
        if key in state:
            started = _parse_time(state[key].get("startedAt"))
            return (started if started is not None else 0.0), _parse_time(state[key].get("finishedAt"))
    return None, None


def _parse_time(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_log_file(path: Path, started: float | None) -> tuple[list[tuple[float, str]], bool]:
    """Lines of a log file; a leading RFC 3339 timestamp (kubectl logs --timestamps) is used as the time.

    Lines without one get the instance's start time plus a millisecond each. Returns the lines and
    whether the file ends mid-line (no trailing newline).
    """
    text = path.read_bytes().decode("utf-8", errors="replace")
    partial = bool(text) and not text.endswith("\n")
    base = started if started is not None else path.stat().st_mtime
    out: list[tuple[float, str]] = []
    for i, line in enumerate(text.splitlines()):
        match = _STAMP.match(line)
        if match:
            fraction = (match.group(2) or "")[:7]  # Python parses at most microseconds
            moment = _parse_time(match.group(1) + fraction + match.group(3))
            if moment is not None:
                out.append((moment, match.group(4)))
                continue
        out.append((base + i * 0.001, line))
    return out, partial
