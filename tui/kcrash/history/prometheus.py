"""Prometheus as the memory history the cluster already keeps: where it is, and one pod's hour.

Where: `--prometheus URL` when given (that one only); otherwise the API server's service proxy
(`/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/…`) tried on a list of usual locations,
first answer wins and is remembered. What: three range queries per pod, over the chart's span at a
step the chart can draw:

- `container_memory_working_set_bytes` (cAdvisor), `max by (container)`: one line per container
  however many instances (and so series) it had;
- `kube_pod_container_status_restarts_total` (kube-state-metrics): a rise between two steps is a
  restart then;
- `kube_pod_container_status_last_terminated_reason`: why (OOMKilled, Error) at that step.

Every failure is a `KcrashError` of one line (no Prometheus found, 403 on the proxy, a bad URL,
a query Prometheus refused); the caller shows it and carries on without the history.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import urllib3

from kcrash.cluster.api import Api
from kcrash.cluster.errors import TRANSPORT_ERRORS, KcrashError, one_line
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import MemorySample

DEFAULT_LOCATIONS = (
    "monitoring/prometheus-k8s:9090",
    "monitoring/prometheus-operated:9090",
    "prometheus/prometheus-server:80",
    "monitoring/prometheus-server:80",
    "monitoring/kube-prometheus-stack-prometheus:9090",
    "prometheus/prometheus-operated:9090",
)
"""Services the kube-prometheus, prometheus-operator and Helm chart installs create, in that order."""
TIMEOUT = (3.0, 15.0)  # connect, read: the drill-down shows its other pieces meanwhile
NOT_FOUND_FOR = 60.0
"""Seconds a fruitless search is not repeated: every pod opened would otherwise ask every location."""
WORKING_SET = "container_memory_working_set_bytes"
RESTARTS = "kube_pod_container_status_restarts_total"
LAST_REASON = "kube_pod_container_status_last_terminated_reason"


class NotFound(KcrashError):
    """No Prometheus where kcrash looked: the common case of a cluster without one, not a fault."""


@dataclass(frozen=True, slots=True)
class Location:
    """A Service that may be Prometheus: `namespace/name:port`."""

    namespace: str
    name: str
    port: str

    @classmethod
    def parse(cls, text: str) -> Location:
        space, slash, rest = text.strip().partition("/")
        name, colon, port = rest.partition(":")
        if not slash or not space or not name or not colon or not port:
            raise ValueError(f"{text!r} is not NAMESPACE/SERVICE:PORT (e.g. monitoring/prometheus-k8s:9090)")
        return cls(space, name, port)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"

    @property
    def proxy(self) -> str:
        service = f"{quote(self.name, safe='')}:{quote(self.port, safe='')}"
        return f"/api/v1/namespaces/{quote(self.namespace, safe='')}/services/{service}/proxy"


@dataclass(frozen=True, slots=True)
class Restart:
    """A restart Prometheus saw: the step it showed up at, and the last-terminated reason then."""

    at: datetime
    container: str
    reason: str


@dataclass(frozen=True, slots=True)
class PodHistory:
    """One pod's memory and restarts from Prometheus over [start, end]."""

    samples: tuple[MemorySample, ...]
    restarts: tuple[Restart, ...]
    start: datetime
    end: datetime
    step: float
    where: str  # "http://prometheus:9090" or "monitoring/prometheus-k8s:9090 via the API server"
    seconds: float  # how long the queries took


class Prometheus:
    """Range queries for one cluster's Prometheus; found on first use, remembered after."""

    def __init__(
        self, api: Api | None, *, url: str = "", locations: Sequence[str] = DEFAULT_LOCATIONS
    ) -> None:
        self.url = url.rstrip("/")
        self._api = api.impatient(1) if api is not None else None
        self._locations = [Location.parse(text) for text in locations]
        self._found: Location | None = None
        self._lock = threading.Lock()
        self._pool: urllib3.PoolManager | None = None
        self._bad_url = ""
        self._not_found: tuple[float, KcrashError] | None = None
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self._bad_url = f"--prometheus {url!r} is not an http(s) URL (e.g. http://127.0.0.1:9090)"
            else:
                self._pool = urllib3.PoolManager(retries=False)

    # -- the queries -------------------------------------------------------------------------------
    def pod_history(
        self, namespace: str, pod: str, start: datetime, end: datetime, step: float
    ) -> PodHistory:
        """Working set per container, and restarts, of one pod between `start` and `end`."""
        began = time.monotonic()
        where = selector(namespace, pod)
        memory = self.query_range(
            f'max by (container) ({WORKING_SET}{{{where},container!="",container!="POD"}})', start, end, step
        )
        samples = tuple(
            sorted(
                (
                    MemorySample(at, container, int(value))
                    for container, at, value in _points(memory, "container")
                ),
                key=lambda s: (s.at, s.container),
            )
        )
        restarts = self._restarts(where, start, end, step)
        return PodHistory(samples, restarts, start, end, step, self.where, round(time.monotonic() - began, 4))

    def _restarts(self, where: str, start: datetime, end: datetime, step: float) -> tuple[Restart, ...]:
        counts = self.query_range(f"max by (container) ({RESTARTS}{{{where}}})", start, end, step)
        if not counts:
            return ()
        reasons = self.query_range(
            f"max by (container, reason) ({LAST_REASON}{{{where}}} > 0)", start, end, step
        )
        return restarts_from(counts, reasons)

    def query_range(self, query: str, start: datetime, end: datetime, step: float) -> list[dict[str, Any]]:
        """The `result` of a matrix query (a list of {metric, values})."""
        params = [
            ("query", query),
            ("start", f"{start.timestamp():.3f}"),
            ("end", f"{end.timestamp():.3f}"),
            ("step", f"{step:g}"),
        ]
        return parse_matrix(self._get("/api/v1/query_range", params))

    @property
    def where(self) -> str:
        if self.url:
            return self.url
        return f"{self._found} via the API server" if self._found else "not found yet"

    # -- where it is -------------------------------------------------------------------------------
    def _get(self, path: str, params: list[tuple[str, str]]) -> bytes:
        if self._bad_url:
            raise KcrashError(self._bad_url)
        if self._pool is not None:
            return self._direct(path, params)
        with self._lock:
            found, not_found = self._found, self._not_found
        if found is not None:
            return self._proxied(found, path, params)
        if not_found is not None and time.monotonic() - not_found[0] < NOT_FOUND_FOR:
            raise not_found[1]
        try:
            return self._discover(path, params)
        except KcrashError as exc:
            if exc.status != 422:
                with self._lock:
                    self._not_found = (time.monotonic(), exc)
            raise

    def _direct(self, path: str, params: list[tuple[str, str]]) -> bytes:
        assert self._pool is not None
        url = f"{self.url}{path}?{urlencode(params, quote_via=quote)}"
        try:
            response = self._pool.request("GET", url, timeout=urllib3.Timeout(*TIMEOUT), preload_content=True)
        except TRANSPORT_ERRORS as exc:
            raise KcrashError(
                f"Prometheus at {self.url} did not answer: {_reason(exc)} (check --prometheus)"
            ) from None
        if response.status != 200 and not _prometheus_answer(response.data):
            raise KcrashError(
                f"Prometheus at {self.url} answered {response.status} to {path}: "
                "is that Prometheus's address? (check --prometheus)",
                status=response.status,
            )
        return bytes(response.data)

    def _proxied(self, location: Location, path: str, params: list[tuple[str, str]]) -> bytes:
        assert self._api is not None
        try:
            return self._api.read_body(
                f"query Prometheus at {location}", location.proxy + path, params, timeout=TIMEOUT
            )
        except KcrashError as exc:
            if exc.status == 403:
                raise KcrashError(
                    f"may not reach Prometheus {location} through the API server (get services/proxy is "
                    f'forbidden in namespace "{location.namespace}"): give --prometheus URL',
                    status=403,
                ) from None
            raise

    def _discover(self, path: str, params: list[tuple[str, str]]) -> bytes:
        if self._api is None or not self._locations:
            raise KcrashError("no Prometheus to ask: give --prometheus URL")
        forbidden: KcrashError | None = None
        for location in self._locations:
            try:
                body = self._proxied(location, path, params)
            except KcrashError as exc:
                if exc.status == 403 and forbidden is None:
                    forbidden = exc
                if exc.status in (400, 422):  # Prometheus answered, and refused the query
                    self._remember(location)
                    raise
                continue
            if _prometheus_answer(body):
                self._remember(location)
                return body
        if forbidden is not None:
            raise forbidden
        first, more = self._locations[0], len(self._locations) - 1
        tried = f"{first} and {more} more" if more else str(first)
        raise NotFound(
            f"no Prometheus found through the API server (tried {tried}): give --prometheus URL "
            "or list its service in history.toml (prometheus_services)"
        )

    def _remember(self, location: Location) -> None:
        with self._lock:
            self._found = location


def prometheus_for(source: ClusterSource) -> Prometheus:
    """The one `Prometheus` of `source`'s cluster: what it found, or that it found nothing, is
    remembered for as long as the source lives (a scope switch makes a new source)."""
    with _PER_SOURCE_LOCK:
        found = _PER_SOURCE.get(source)
        if found is None:
            locations = (
                DEFAULT_LOCATIONS if source.prometheus_locations is None else source.prometheus_locations
            )
            found = Prometheus(source.api, url=source.prometheus_url, locations=locations)
            _PER_SOURCE[source] = found
        return found


_PER_SOURCE: weakref.WeakKeyDictionary[ClusterSource, Prometheus] = weakref.WeakKeyDictionary()
_PER_SOURCE_LOCK = threading.Lock()


# -- the wire format (pure) ------------------------------------------------------------------------
def selector(namespace: str, pod: str) -> str:
    return f'namespace="{_escape(namespace)}",pod="{_escape(pod)}"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _prometheus_answer(body: bytes) -> bool:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and doc.get("status") in ("success", "error")


def parse_matrix(body: bytes) -> list[dict[str, Any]]:
    """The series of a `query_range` answer; a Prometheus error becomes one line."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise KcrashError("Prometheus answered something that is not JSON (is the address right?)") from None
    if not isinstance(doc, dict):
        raise KcrashError("Prometheus answered an unexpected document")
    if doc.get("status") != "success":
        why = one_line(str(doc.get("error") or doc.get("errorType") or "no reason given"))
        raise KcrashError(f"Prometheus refused the query: {why}", status=422)
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise KcrashError("Prometheus answered a query_range without a matrix")
    result = data.get("result")
    return [series for series in result if isinstance(series, dict)] if isinstance(result, list) else []


def _points(series: list[dict[str, Any]], label: str) -> list[tuple[str, datetime, float]]:
    """(label value, time, value) of every finite sample of every series."""
    out: list[tuple[str, datetime, float]] = []
    for one in series:
        metric = one.get("metric") if isinstance(one.get("metric"), dict) else {}
        name = str((metric or {}).get(label, ""))
        for pair in one.get("values") or ():
            try:
                at, text = pair
                value = float(text)
                moment = datetime.fromtimestamp(float(at), UTC)
            except (TypeError, ValueError, OverflowError, OSError):
                continue
            if math.isfinite(value):
                out.append((name, moment, value))
    return out


def restarts_from(counts: list[dict[str, Any]], reasons: list[dict[str, Any]]) -> tuple[Restart, ...]:
    """A restart at every step where a container's restart count rose, with the reason seen then
    (or at the next step that has one: kube-state-metrics may publish it a scrape later)."""
    why: dict[str, dict[datetime, str]] = {}
    for one in reasons:
        metric = one.get("metric") if isinstance(one.get("metric"), dict) else {}
        container, reason = str((metric or {}).get("container", "")), str((metric or {}).get("reason", ""))
        for _, at, _value in _points([one], "container"):
            why.setdefault(container, {})[at] = reason
    found: list[Restart] = []
    by_container: dict[str, list[tuple[datetime, float]]] = {}
    for container, at, value in _points(counts, "container"):
        by_container.setdefault(container, []).append((at, value))
    for container, points in by_container.items():
        points.sort()
        seen = sorted(why.get(container, {}).items())
        for (_, before), (at, after) in itertools.pairwise(points):
            if after > before:
                reason = next((r for t, r in seen if t >= at), "")
                found.append(Restart(at, container, reason))
    return tuple(sorted(found, key=lambda r: (r.at, r.container)))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return one_line(str(reason or exc) or type(exc).__name__)
