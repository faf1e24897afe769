"""The lab's object store: every API object as a plain dict, a global resourceVersion, watch history.

Objects handed out are shared and must be treated as read-only; `mutate` copies before changing.
Watchers are plain callbacks run synchronously on the thread that changed the store (the lab's
event loop); the HTTP layer turns them into streams.
"""

from __future__ import annotations

import builtins
import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kcrash.lab.clock import SimClock, rfc3339

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
Watcher = Callable[["Change"], None]

NAMESPACED = {"pods", "events", "deployments", "replicasets", "configmaps", "secrets", "podmetrics"}
CLUSTER_SCOPED = {"namespaces", "nodes"}
# Kinds whose metadata.generation a real apiserver keeps (it counts spec changes); the others have none.
GENERATION_KINDS = {"pods", "deployments", "replicasets"}


class Conflict(Exception):
    """An object with that name already exists, or a precondition failed."""


class NotFound(Exception):
    """No such object."""


class Expired(Exception):
    """The requested resourceVersion is older than the kept history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(frozen=True, slots=True)
class Change:
    """One watch event: ADDED, MODIFIED or DELETED, with the object as of `rv`."""

    resource: str
    type: str
    obj: Obj
    rv: int


class ObjectStore(Protocol):
    """What the kubelet simulation and the event recorder need from a store.

    Two implementations: `Store` (in-process, the embedded lab) and `realcp.apistore.ApiStore`
    (a `Store` kept in step with a real kube-apiserver: pods bound to the lab's nodes come in, pod
    status, events and nodes go out).
    """

    def get(self, resource: str, namespace: str, name: str) -> Obj | None: ...

    def create(self, resource: str, obj: Obj) -> Obj: ...

    def replace(self, resource: str, obj: Obj) -> Obj: ...

    def mutate(self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]) -> Obj: ...

    def delete(self, resource: str, namespace: str, name: str, uid: str | None = None) -> Obj: ...

    def add_watcher(self, resource: str, watcher: Watcher) -> None: ...


class Store:
    """In-memory objects per resource, a global RV counter and a bounded history per resource."""

    def __init__(self, clock: SimClock, history: int = 20000) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._rv = 1
        self._objects: dict[str, dict[Key, Obj]] = {}
        self._history: dict[str, deque[Change]] = {}
        self._history_size = history
        # The oldest RV still answerable per resource; moves forward as history is dropped.
        self._oldest: dict[str, int] = {}
        self._watchers: dict[str, list[Watcher]] = {}

    # -- reading -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def history_size(self) -> int:
        """How many changes per resource are kept for watches resuming from an older RV."""
        return self._history_size

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read several things as one snapshot (a list, then the watch history after it)."""
        return self._lock

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self._objects.get(resource, {}).get((namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> tuple[list[Obj], int]:
        """All objects of a resource (in one namespace, or all), sorted by namespace/name, and the RV."""
        with self._lock:
            items = self._objects.get(resource, {})
            if namespace:
                chosen = [o for (ns, _), o in items.items() if ns == namespace]
            else:
                chosen = list(items.values())
            chosen.sort(key=_sort_key)
            return chosen, self._rv

    def changes_since(self, resource: str, rv: int) -> builtins.list[Change]:
        """Changes to a resource after `rv`; raises Expired when history no longer reaches back."""
        with self._lock:
            oldest = self._oldest.get(resource, 0)
            if rv < oldest:
                raise Expired(rv, oldest)
            return [c for c in self._history.get(resource, ()) if c.rv > rv]

    def oldest_rv(self, resource: str) -> int:
        return self._oldest.get(resource, 0)

    # -- writing -------------------------------------------------------------------------
    def create(self, resource: str, obj: Obj) -> Obj:
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if resource not in CLUSTER_SCOPED else ""
        name = meta["name"]
        with self._lock:
            bucket = self._objects.setdefault(resource, {})
            if (ns, name) in bucket:
                raise Conflict(f'{resource} "{name}" already exists')
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
            if resource in GENERATION_KINDS:
                meta.setdefault("generation", 1)
            bucket[(ns, name)] = obj
            self._record(resource, "ADDED", obj)
            return obj

    def replace(self, resource: str, obj: Obj) -> Obj:
        """Store a new version of an existing object (the caller built it from a copy)."""
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if resource not in CLUSTER_SCOPED else ""
        with self._lock:
            bucket = self._objects.setdefault(resource, {})
            if (ns, meta["name"]) not in bucket:
                raise NotFound(meta["name"])
            bucket[(ns, meta["name"])] = obj
            self._record(resource, "MODIFIED", obj)
            return obj

    def mutate(self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]) -> Obj:
        """Copy the object, let `change` edit the copy, store it as a new version."""
        with self._lock:
            current = self.get(resource, namespace, name)
            if current is None:
                raise NotFound(name)
            fresh = copy.deepcopy(current)
            change(fresh)
            return self.replace(resource, fresh)

    def delete(self, resource: str, namespace: str, name: str, uid: str | None = None) -> Obj:
        """Remove an object; with `uid`, only if it is still that object (else Conflict)."""
        with self._lock:
            bucket = self._objects.get(resource, {})
            current = bucket.get((namespace, name))
            if current is None:
                raise NotFound(name)
            if uid is not None and current["metadata"].get("uid") != uid:
                raise Conflict(
                    f"Precondition failed: UID in precondition: {uid}, "
                    f"UID in object meta: {current['metadata'].get('uid')}"
                )
            del bucket[(namespace, name)]
            gone = copy.deepcopy(current)
            self._record(resource, "DELETED", gone)
            return gone

    def compact(self, resource: str | None = None) -> None:
        """Forget all history (the next watch from an old RV gets 410)."""
        with self._lock:
            for res in [resource] if resource else list(self._history):
                self._history.setdefault(res, deque()).clear()
                self._oldest[res] = self._rv

    # -- watching ------------------------------------------------------------------------
    def add_watcher(self, resource: str, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.setdefault(resource, []).append(watcher)

    def remove_watcher(self, resource: str, watcher: Watcher) -> None:
        with self._lock:
            listeners = self._watchers.get(resource, [])
            if watcher in listeners:
                listeners.remove(watcher)

    def resources(self) -> Iterable[str]:
        return list(self._objects)

    def _record(self, resource: str, kind: str, obj: Obj) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        change = Change(resource, kind, obj, self._rv)
        history = self._history.setdefault(resource, deque())
        history.append(change)
        if len(history) > self._history_size:
            dropped = history.popleft()
            self._oldest[resource] = dropped.rv
        for watcher in list(self._watchers.get(resource, ())):
            watcher(change)


def _sort_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return (meta.get("namespace", ""), meta.get("name", ""))
