"""How objects go on the wire: orjson bytes per object version, cached, with kind/apiVersion added.

Each object version is serialized once (`Encoder`) and reused by every get, list and watch that
sends it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from kcrash.lab import discovery
from kcrash.lab.store import Obj


class Encoder:
    """orjson bytes per object version, oldest dropped past a size bound; adds kind/apiVersion if missing.

    Stored objects never change once recorded (the Store copies before changing), so the version's
    resourceVersion identifies its bytes.
    """

    def __init__(self, max_bytes: int = 96 * 1024 * 1024) -> None:
        self._cache: OrderedDict[tuple[str, str, str, str], bytes] = OrderedDict()
        self._max_bytes = max_bytes
        self._bytes = 0

    def encode(self, resource: str, obj: Obj, cache: bool = True, typed: bool = True) -> bytes:
        """`typed=False` for a list's items, which a real apiserver sends without kind and apiVersion."""
        meta = obj.get("metadata") or {}
        rv = meta.get("resourceVersion")
        key = (resource, meta.get("namespace", ""), meta.get("name", ""), f"{rv}{'' if typed else '/item'}")
        if cache and rv:
            found = self._cache.get(key)
            if found is not None:
                return found
        data = orjson.dumps(with_type(resource, obj) if typed else without_type(obj))
        if cache and rv:
            self._cache[key] = data
            self._bytes += len(data)
            while self._bytes > self._max_bytes and self._cache:
                self._bytes -= len(self._cache.popitem(last=False)[1])
        return data


def with_type(resource: str, obj: Obj) -> Obj:
    if "kind" in obj and "apiVersion" in obj:
        return obj
    info = discovery.by_store(resource)
    if info is None:
        return obj
    return {"kind": info.kind, "apiVersion": info.api_version, **obj}


def without_type(obj: Obj) -> Obj:
    if "kind" not in obj and "apiVersion" not in obj:
        return obj
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
