"""Kubernetes Events as the kubelet and the controllers record them, aggregated like client-go does.

The same involved object + type + reason + message + source bumps `count` and `lastTimestamp` of the
existing Event instead of writing a new one (client-go's EventCorrelator). Events live one hour
(the API server's default `--event-ttl`) and each object keeps a bounded number of distinct ones.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kcrash.lab.store import Conflict, NotFound, Obj, ObjectStore

EVENT_TTL = 3600.0
MAX_PER_OBJECT = 30
MAX_TOTAL = 20000

# involved uid, fieldPath, type, reason, message, component
_AggKey = tuple[str, str, str, str, str, str]


def stamp(moment: float) -> str:
    """RFC 3339 at second precision (what metav1.Time serializes to)."""
    return _stamp_second(int(moment // 1))


@functools.lru_cache(maxsize=4096)
def _stamp_second(second: int) -> str:
    y, mo, d, h, mi, s = time.gmtime(second)[:6]
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"  # rfc3339() without a datetime


def micro_stamp(moment: float) -> str:
    """metav1.MicroTime: RFC3339 with microseconds."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def involved(obj: Obj, field_path: str | None = None) -> dict[str, Any]:
    """An ObjectReference to `obj`, as events carry it."""
    meta = obj["metadata"]
    ref: dict[str, Any] = {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": obj.get("kind", "Pod"),
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return ref


class EventRecorder:
    """Writes, aggregates and expires Events in the store."""

    def __init__(
        self,
        store: ObjectStore,
        now: Callable[[], float],
        wall: Callable[[], float],
        ttl: float = EVENT_TTL,
        max_per_object: int = MAX_PER_OBJECT,
        max_total: int = MAX_TOTAL,
    ) -> None:
        self._store = store
        self._now = now
        self._wall = wall
        self._ttl = ttl
        self._max_per_object = max_per_object
        self._max_total = max_total
        self._names: dict[_AggKey, tuple[str, str]] = {}
        self._last_seen: dict[_AggKey, float] = {}
        self._per_object: dict[str, OrderedDict[_AggKey, None]] = {}

    def emit(
        self,
        obj: Obj,
        type_: str,
        reason: str,
        message: str,
        component: str,
        host: str = "",
        field_path: str | None = None,
        times: int = 1,
        last: float | None = None,
    ) -> None:
        """Record (or bump) an event about `obj` from `component` on `host`.

        `times`/`last` record several identical occurrences at once (the last one at `last`).
        """
        moment = self._now()
        final = moment if last is None else last
        if final < self._wall() - self._ttl:
            return  # already expired by the time anyone can look (the world is pre-played)
        ref = involved(obj, field_path)
        key: _AggKey = (ref["uid"], field_path or "", type_, reason, message, component)
        if key in self._names and self._bump(key, final, ref, times):
            return
        self._create(key, ref, type_, reason, message, component, host, moment)
        if times > 1:
            self._bump(key, final, ref, times - 1)

    def emit_scheduled(self, pod: Obj, node: str) -> None:
        """The scheduler's Scheduled event, written through the events.k8s.io API (eventTime set)."""
        moment = self._now()
        if moment < self._wall() - self._ttl:
            return
        meta = pod["metadata"]
        ref = involved(pod)
        key: _AggKey = (ref["uid"], "", "Normal", "Scheduled", node, "default-scheduler")
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "", "namespace": meta["namespace"]},
            "involvedObject": ref,
            "reason": "Scheduled",
            "message": f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "eventTime": micro_stamp(moment),
            "type": "Normal",
            "action": "Binding",
            "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-lab-control-plane",
        }
        self._write(key, body, moment)

    def forget(self, uid: str) -> None:
        """Stop aggregating onto a gone object's events (they still expire by TTL)."""
        self._per_object.pop(uid, None)

    def sweep(self) -> int:
        """Delete events whose last occurrence is older than the TTL; returns how many."""
        limit = self._wall() - self._ttl
        expired = [key for key, seen in self._last_seen.items() if seen < limit]
        for key in expired:
            self._drop(key)
        return len(expired)

    def count(self) -> int:
        return len(self._names)

    # -- helpers -----------------------------------------------------------------------------
    def _bump(self, key: _AggKey, moment: float, ref: dict[str, Any], times: int = 1) -> bool:
        namespace, name = self._names[key]
        current = self._store.get("events", namespace, name)
        if current is None:
            self._forget_key(key)
            return False
        fresh = dict(current)
        fresh["metadata"] = dict(current["metadata"])
        fresh["count"] = int(current.get("count") or 1) + times
        fresh["lastTimestamp"] = stamp(moment)
        fresh["involvedObject"] = ref
        try:
            self._store.replace("events", fresh)
        except NotFound:
            self._forget_key(key)
            return False
        self._last_seen[key] = moment
        return True

    def _create(
        self,
        key: _AggKey,
        ref: dict[str, Any],
        type_: str,
        reason: str,
        message: str,
        component: str,
        host: str,
        moment: float,
    ) -> None:
        source: dict[str, str] = {"component": component}
        if host:
            source["host"] = host
        body: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "", "namespace": ref["namespace"] or "default"},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": stamp(moment),
            "lastTimestamp": stamp(moment),
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host,
        }
        self._write(key, body, moment)

    def _write(self, key: _AggKey, body: Obj, moment: float) -> None:
        ref = body["involvedObject"]
        meta = body["metadata"]
        meta["creationTimestamp"] = stamp(moment)
        nanos = int(moment * 1e9)
        while True:
            meta["name"] = f"{ref['name']}.{nanos:x}"
            try:
                self._store.create("events", body)
                break
            except Conflict:
                nanos += 1
        self._names[key] = (meta["namespace"], meta["name"])
        self._last_seen[key] = moment
        per_object = self._per_object.setdefault(ref["uid"], OrderedDict())
        per_object[key] = None
        while len(per_object) > self._max_per_object:
            oldest, _ = per_object.popitem(last=False)
            self._drop(oldest)
        while len(self._names) > self._max_total:
            self._drop(next(iter(self._names)))

    def _drop(self, key: _AggKey) -> None:
        where = self._names.get(key)
        self._forget_key(key)
        if where is None:
            return
        with contextlib.suppress(NotFound):
            self._store.delete("events", where[0], where[1])

    def _forget_key(self, key: _AggKey) -> None:
        self._names.pop(key, None)
        self._last_seen.pop(key, None)
        per_object = self._per_object.get(key[0])
        if per_object is not None:
            per_object.pop(key, None)
