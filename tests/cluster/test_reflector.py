"""The reflector: stream decoding and backoff (pure), then LIST+WATCH against the lab over real HTTP."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from kcrash.cluster.api import Api
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.reflector import Backoff, Reflector, SyncState, WatchStream
from kcrash.core.records import Pod
from kcrash.core.store import PodStore

# -- the stream, byte by byte ---------------------------------------------------------------------


class ChunkedBody:
    """An HTTP body that arrives in the given pieces (what urllib3's read1 hands out)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)
        self.closed = False

    def read1(self, amt: int) -> bytes:
        return self._chunks.pop(0) if self._chunks and not self.closed else b""

    def shutdown(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


POD_LINE = b'{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"5"}}}'
BOOKMARK_LINE = b'{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"9"}}}'
GONE_LINE = (
    b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",'
    b'"message":"too old resource version: 1 (5)"}}'
)


def _names(obj: Any) -> str:
    return str(obj["metadata"]["name"])


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([POD_LINE + b"\n"], [("ADDED", "a", "5")]),
        ([POD_LINE[:10], POD_LINE[10:] + b"\n"], [("ADDED", "a", "5")]),  # split across reads
        ([POD_LINE], [("ADDED", "a", "5")]),  # last line without newline is kept
        ([POD_LINE + b"\n\n" + BOOKMARK_LINE + b"\n"], [("ADDED", "a", "5"), ("BOOKMARK", None, "9")]),
        ([GONE_LINE + b"\n"], [("ERROR", None, "")]),
    ],
)
def test_stream_lines(chunks: list[bytes], expected: list[tuple[str, str | None, str]]) -> None:
    events = list(WatchStream(ChunkedBody(chunks), _names))
    assert [(e.type, e.obj, e.resource_version) for e in events] == expected


def test_stream_error_event_carries_the_status() -> None:
    (event,) = list(WatchStream(ChunkedBody([GONE_LINE + b"\n"]), _names))
    assert (event.code, event.message) == (410, "too old resource version: 1 (5)")


def test_closed_stream_stops_reading() -> None:
    body = ChunkedBody([POD_LINE + b"\n", POD_LINE + b"\n"])
    stream = WatchStream(body, _names)
    events = iter(stream)
    next(events)
    stream.close()
    assert list(events) == []
    assert body.closed


# -- backoff ----------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("gaps", "expected"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0], [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]),  # doubling to the cap
        ([0, 0, 0, 121], [0.8, 1.6, 3.2, 0.8]),  # two calm minutes reset it
        ([0, 60, 60], [0.8, 1.6, 3.2]),  # failures a minute apart keep growing
    ],
)
def test_backoff_without_jitter(gaps: list[float], expected: list[float]) -> None:
    clock = FakeClock()
    backoff = Backoff(jitter=0.0, clock=clock)
    delays = []
    for gap in gaps:
        clock.now += gap
        delays.append(round(backoff.next_delay(), 3))
    assert delays == expected


def test_backoff_jitter_stays_within_bounds() -> None:
    backoff = Backoff(jitter=0.5, clock=FakeClock(), rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(10)]
    assert 0.8 <= delays[0] <= 1.2
    assert all(d <= 30.0 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (SyncState("synced"), "live"),
        (
            SyncState(
                "reconnecting", since=datetime(2024, 1, 1, tzinfo=UTC), last_error="connection refused"
            ),
            "reconnecting (stale for 42s): connection refused",
        ),
        (SyncState("connecting"), "connecting"),
    ],
)
def test_state_summary(state: SyncState, expected: str) -> None:
    assert state.summary(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=42)) == expected


# -- against the lab --------------------------------------------------------------------------------


class Consumer:
    """What the console does with the callbacks: a PodStore, plus a record of everything received."""

    def __init__(self) -> None:
        self.store = PodStore()
        self.batches: list[list[tuple[str, Pod]]] = []
        self.resyncs = 0
        self.states: list[SyncState] = []
        self.lock = threading.Lock()

    def on_events(self, batch: list[tuple[str, Pod]]) -> None:
        with self.lock:
            self.batches.append(batch)
            self.store.apply_batch(batch)

    def on_resync(self, pods: list[Pod]) -> None:
        with self.lock:
            self.resyncs += 1
            self.store.replace_all(pods)

    def on_state(self, state: SyncState) -> None:
        with self.lock:
            self.states.append(state)

    def versions(self) -> dict[tuple[str, str], str]:
        with self.lock:
            return {
                key: pod.resource_version for key, pod in ((k, self.store.get(k)) for k in self.store) if pod
            }


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def fresh_versions(api: Api, namespace: str | None) -> dict[tuple[str, str], str]:
    return {p.key: p.resource_version for p in api.list_all_pods(namespace).items}


def converged(consumer: Consumer, api: Api, namespace: str | None) -> Callable[[], bool]:
    return lambda: consumer.versions() == fresh_versions(api, namespace)


def start_reflector(
    api: Api, consumer: Consumer, namespace: str | None = "crashlab", **options: Any
) -> Reflector[Pod]:
    options.setdefault("backoff", Backoff(initial=0.05, cap=0.2, jitter=0.0))
    limit = options.pop("limit", 500)
    reflector: Reflector[Pod] = Reflector(
        lambda token: api.list_pods(namespace, continue_token=token, limit=limit),
        lambda rv, timeout: api.watch_pods(namespace, "", rv, timeout),
        key=lambda pod: pod.key,
        version=lambda pod: pod.resource_version,
        on_events=consumer.on_events,
        on_resync=consumer.on_resync,
        on_state=consumer.on_state,
        **options,
    )
    reflector.start()
    return reflector


def pod_requests(lab: Any) -> list[Any]:
    return [r for r in lab.faults.requests() if "/pods" in r.path and "metrics" not in r.path]


def is_watch(record: Any) -> bool:
    return parse_qs(record.query).get("watch", [""])[0] in ("true", "1")


def churn(lab: Any, count: int, prefix: str = "churn", pause: float = 0.0) -> None:
    """Create, change and delete pods in the lab's store on its own loop (what controllers do)."""
    for i in range(count):
        lab.call(lambda i=i: _churn_one(lab, f"{prefix}-{i}", delete=i % 3 == 0))
        time.sleep(pause)


def _churn_one(lab: Any, name: str, delete: bool) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "crashlab", "labels": {"app": "churn"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Pending"},
    }
    lab.store.create("pods", pod)
    lab.store.mutate("pods", "crashlab", name, lambda p: p["status"].__setitem__("phase", "Running"))
    if delete:
        lab.store.delete("pods", "crashlab", name)


def test_list_then_watch_with_bookmarks_and_no_per_pod_requests(lab: Any, api: Api) -> None:
    lab.faults.clear_requests()
    consumer = Consumer()
    reflector = start_reflector(api, consumer, limit=5)  # small pages: continue tokens are followed
    try:
        wait_for(lambda: consumer.resyncs == 1, what="initial list")
        wait_for(lambda: reflector.watches >= 1, what="watch")
        requests = pod_requests(lab)  # before the test's own LISTs below
        churn(lab, 6)
        wait_for(converged(consumer, api, "crashlab"), what="events applied")
        lists = [r for r in requests if not is_watch(r)]
        watches = [r for r in requests if is_watch(r)]
        assert len(lists) >= 2 and all(parse_qs(r.query).get("limit") == ["5"] for r in lists[:-1])
        assert any("continue" in parse_qs(r.query) for r in lists)
        first_watch = requests.index(watches[0])
        assert all(not is_watch(r) for r in requests[:first_watch])  # LIST first, then WATCH
        query = parse_qs(watches[0].query)
        assert query["allowWatchBookmarks"] == ["true"]
        assert 300 <= int(query["timeoutSeconds"][0]) <= 600
        assert query["resourceVersion"] == [reflector.state.resource_version or query["resourceVersion"][0]]
        per_pod = [r for r in lab.faults.requests() if r.path.startswith("/api/v1/namespaces/crashlab/pods/")]
        assert per_pod == []
        assert consumer.states[-1].phase == "synced"
        assert sum(len(b) for b in consumer.batches) < 6 * 2 + 20  # batched, no duplicates piling up
    finally:
        reflector.stop()


def test_in_stream_410_relists_and_deletions_show_up(lab: Any, api: Api) -> None:
    consumer = Consumer()
    reflector = start_reflector(api, consumer)
    try:
        wait_for(lambda: reflector.watches >= 1, what="watch")
        lab.faults.force_410_next_watch()
        churn(lab, 3, prefix="gone")
        lab.faults.drop_watches()  # the re-watch gets the forced ERROR 410 inside a 200 stream
        wait_for(lambda: reflector.lists >= 2, what="relist")
        wait_for(converged(consumer, api, "crashlab"), what="converged after relist")
        assert ("crashlab", "gone-0") not in consumer.store  # deleted while the watch was away
        assert consumer.resyncs >= 2
    finally:
        reflector.stop()


def test_compacted_history_relists(lab: Any, api: Api) -> None:
    consumer = Consumer()
    reflector = start_reflector(api, consumer)
    try:
        wait_for(lambda: reflector.watches >= 1, what="watch")
        lists_before = reflector.lists
        lab.faults.deny("watch", "pods")  # keep the reflector away while history moves on
        lab.faults.drop_watches()
        wait_for(lambda: reflector.state.phase == "reconnecting", what="reconnecting")
        churn(lab, 4, prefix="compact")
        lab.call(lambda: lab.store.compact("pods"))  # its resume version is now too old: 410
        lab.faults.allow("watch", "pods")
        wait_for(lambda: reflector.lists > lists_before, what="relist after compaction")
        wait_for(converged(consumer, api, "crashlab"), what="converged after compaction")
        assert ("crashlab", "compact-0") not in consumer.store
        assert ("crashlab", "compact-1") in consumer.store
    finally:
        lab.faults.allow("watch", "pods")
        reflector.stop()


def test_dropped_watches_mid_churn_lose_and_duplicate_nothing(lab: Any, api: Api) -> None:
    consumer = Consumer()
    reflector = start_reflector(api, consumer)
    stop = threading.Event()

    def dropper() -> None:
        while not stop.is_set():
            lab.faults.drop_watches()
            time.sleep(0.05)

    try:
        wait_for(lambda: reflector.watches >= 1, what="watch")
        thread = threading.Thread(target=dropper)
        thread.start()
        try:
            churn(lab, 60, prefix="drop", pause=0.02)
        finally:
            stop.set()
            thread.join()
        wait_for(converged(consumer, api, "crashlab"), what="converged after drops")
        assert reflector.watches > 2
        # Every event was either new or a newer version: never the same version twice.
        seen: set[tuple[tuple[str, str], str, str]] = set()
        for batch in consumer.batches:
            for kind, pod in batch:
                entry = (pod.key, pod.resource_version, kind)
                assert entry not in seen
                seen.add(entry)
    finally:
        reflector.stop()


def test_bookmarks_advance_the_resume_version(lab: Any, api: Api) -> None:
    """A quiet namespace gets no events, yet bookmarks move its resourceVersion forward."""
    consumer = Consumer()
    reflector = start_reflector(api, consumer, namespace="kube-public")
    try:
        wait_for(lambda: reflector.watches >= 1, what="watch")
        listed = reflector.resource_version
        churn(lab, 3, prefix="elsewhere")  # changes in crashlab move the global version on
        wait_for(lambda: reflector.resource_version != listed, timeout=10, what="a bookmark")
        assert consumer.batches == []  # no event reached the consumer: only bookmarks
        bookmarked = reflector.resource_version
        lab.faults.drop_watches()
        wait_for(lambda: reflector.watches >= 2, what="re-watch")
        rewatch = [r for r in pod_requests(lab) if is_watch(r) and "kube-public" in r.path][-1]
        resumed = parse_qs(rewatch.query)["resourceVersion"][0]
        assert resumed != listed
        assert resumed == bookmarked or int(resumed) >= int(bookmarked)
        assert reflector.lists == 1
    finally:
        reflector.stop()


def test_timeouts_rewatch_from_the_latest_version(lab: Any, api: Api) -> None:
    consumer = Consumer()
    reflector = start_reflector(api, consumer, watch_timeout=(1, 1), min_watch=0.0)
    try:
        wait_for(lambda: reflector.watches >= 3, timeout=15, what="watches ended by timeoutSeconds")
        watches = [r for r in pod_requests(lab) if is_watch(r)]
        versions = [parse_qs(w.query)["resourceVersion"][0] for w in watches[-3:]]
        assert all(v for v in versions)
        churn(lab, 2, prefix="late")
        wait_for(converged(consumer, api, "crashlab"), what="events after re-watch")
        assert reflector.lists == 1  # a timed-out watch resumes; it does not relist
    finally:
        reflector.stop()


def expired_continue_token(lab: Any, api: Api) -> str:
    """A continue token the lab no longer honours: its snapshot evicted, the store moved on."""
    token = api.list_pods("crashlab", limit=1).continue_token
    assert token
    for _ in range(40):  # more paged lists than the lab keeps snapshots for
        api.list_pods("crashlab", limit=1)
    churn(lab, 1, prefix="expire")
    with pytest.raises(KcrashError) as gone:
        api.list_pods("crashlab", continue_token=token)
    assert gone.value.status == 410
    return token


def test_http_410_relists(lab: Any, api: Api) -> None:
    """A 410 answered as an HTTP error (not inside a stream), on the watch request and inside a paged LIST."""
    consumer = Consumer()
    stale = expired_continue_token(lab, api)
    calls: list[str] = []
    pages: list[str] = []

    def watch(rv: str, timeout: int) -> WatchStream[Pod]:
        calls.append(rv)
        if len(calls) == 2:
            api.list_pods("crashlab", continue_token=stale)  # the server answers HTTP 410 Gone
        return api.watch_pods("crashlab", "", rv, timeout)

    def list_page(token: str) -> Any:
        pages.append(token)
        # The first paged LIST meets an expired continue token: the whole list starts over.
        return api.list_pods("crashlab", limit=5, continue_token=stale if len(pages) == 2 else token)

    reflector: Reflector[Pod] = Reflector(
        list_page,
        watch,
        key=lambda pod: pod.key,
        version=lambda pod: pod.resource_version,
        on_events=consumer.on_events,
        on_resync=consumer.on_resync,
        on_state=consumer.on_state,
        backoff=Backoff(initial=0.05, cap=0.2, jitter=0.0),
    )
    reflector.start()
    try:
        wait_for(lambda: reflector.watches >= 1, what="watch")
        assert pages[2] == ""  # restarted from scratch after the 410
        lab.faults.drop_watches()
        wait_for(lambda: reflector.lists >= 2, what="relist after HTTP 410")
        wait_for(converged(consumer, api, "crashlab"), what="converged")
    finally:
        reflector.stop()


def test_server_down_reports_stale_then_recovers(lab: Any, api: Api) -> None:
    consumer = Consumer()
    # Each request tried once: the 503s reach the reflector instead of the request's own retries.
    reflector = start_reflector(api.impatient(1), consumer)
    try:
        wait_for(lambda: reflector.watches >= 1, what="watch")
        lab.faults.fail_next(3, status=503)
        lab.faults.drop_watches()
        wait_for(lambda: any(s.phase == "reconnecting" for s in consumer.states), what="reconnecting state")
        stale = next(s for s in consumer.states if s.phase == "reconnecting")
        assert stale.since is not None and stale.last_error
        wait_for(lambda: consumer.states[-1].phase == "synced", what="synced again")
        assert consumer.states[-1].since is None
    finally:
        reflector.stop()


def test_stop_is_prompt(lab: Any, api: Api) -> None:
    consumer = Consumer()
    reflector = start_reflector(api, consumer)
    wait_for(lambda: reflector.watches >= 1, what="watch")
    started = time.monotonic()
    reflector.stop()
    assert time.monotonic() - started < 1.0
    assert reflector.state.phase == "stopped"
