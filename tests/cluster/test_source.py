"""ClusterSource, the facade the console uses: each question answered over real HTTP from the lab."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.logs import LogResult, read_log
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import Pod
from kcrash.core.store import PodStore


def newest(source: ClusterSource, prefix: str) -> Pod:
    pods = [p for p in source.list_pods() if p.name.startswith(prefix + "-")]
    assert pods, prefix
    return max(pods, key=lambda p: p.created_at or datetime.min.replace(tzinfo=UTC))


def test_events_are_selected_on_the_server(lab: Any, source: ClusterSource) -> None:
    pod = newest(source, "slow-start-liveness")
    lab.faults.clear_requests()
    events = source.events_for(pod)
    assert events and all(e.involved_name == pod.name for e in events)
    assert {"Unhealthy", "Killing"} <= {e.reason for e in events}
    (request,) = lab.faults.requests("GET", "/api/v1/namespaces/crashlab/events")
    selector = parse_qs(request.query)["fieldSelector"][0].split(",")
    assert set(selector) == {
        f"involvedObject.name={pod.name}",
        "involvedObject.namespace=crashlab",
        "involvedObject.kind=Pod",
        f"involvedObject.uid={pod.uid}",
    }


def test_previous_log_and_the_friendly_no_previous_answer(lab: Any, source: ClusterSource) -> None:
    crashing = newest(source, "crash-missing-env")
    result = source.read_log(crashing, "app", previous=True)
    assert not result.error
    assert "DATABASE_URL" in result.text
    (request,) = [r for r in lab.faults.requests("GET") if r.path.endswith(f"/{crashing.name}/log")][-1:]
    query = parse_qs(request.query)
    assert (
        query["previous"] == ["true"] and query["tailLines"] == ["200"] and query["limitBytes"] == ["262144"]
    )

    healthy = newest(source, "healthy-web")
    none = source.read_log(healthy, "web", previous=True)
    assert none.text == ""
    assert none.error.startswith('no previous log: container "web" has no terminated instance')


def test_a_cut_log_is_read_again_with_fewer_lines(source: ClusterSource) -> None:
    pod = newest(source, "healthy-web")
    full = source.read_log(pod, "web", previous=False)
    assert full.text.count("\n") > 10, "the healthy pod should have logged a while"
    small = read_log(source.api, pod, "web", previous=False, tail_lines=200, limit_bytes=200)
    assert small.truncated
    assert small.tail_lines is not None and small.tail_lines < 200
    # The shorter tail starts near the end of the log, not at its beginning.
    after = source.read_log(pod, "web", previous=False).text.splitlines()
    assert small.text.splitlines()[0] in after[-(small.tail_lines + 5) :]


def test_follow_log_streams_and_stops_when_closed(source: ClusterSource) -> None:
    pod = newest(source, "healthy-web")
    follower = source.follow_log(pod, "web")
    chunks: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for chunk in follower:
            chunks.append(chunk)
        done.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not chunks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert chunks, "no log line arrived while following"
    assert all(len(c) <= 64 * 1024 and c.endswith("\n") for c in chunks)
    follower.close()
    assert done.wait(2.0), "closing the follower did not end the iteration"


def test_memory_comes_from_one_list_per_round(lab: Any, source: ClusterSource) -> None:
    pod = newest(source, "healthy-web")
    lab.faults.clear_requests()
    view = source.memory(pod)
    assert view.available
    assert view.samples and all(s.container == "web" for s in view.samples)
    metrics = [r for r in lab.faults.requests() if "metrics.k8s.io" in r.path]
    assert [r.path for r in metrics if r.path != "/apis"] == [
        "/apis/metrics.k8s.io/v1beta1/namespaces/crashlab/pods"
    ]
    source.memory(newest(source, "oom-leak"))  # a second pod costs no request
    assert len([r for r in lab.faults.requests() if "metrics.k8s.io" in r.path]) == len(metrics)


def test_unreadable_metrics_leave_a_note_not_an_error(lab: Any, conn: Any) -> None:
    lab.faults.deny("list", "pods.metrics.k8s.io")
    try:
        source = ClusterSource(conn, namespace="crashlab")
        view = source.memory(newest(source, "healthy-web"))
    finally:
        lab.faults.allow("list", "pods.metrics.k8s.io")
    assert view.samples == ()
    assert view.note.startswith("metrics unavailable:") and "403" in view.note


def test_configmap_keys_only_of_those_that_exist(lab: Any, source: ClusterSource) -> None:
    lab.faults.clear_requests()
    keys = source.configmap_keys("crashlab", ["shop-settings", "app-config"])
    assert [name for name, _ in keys] == ["shop-settings"]
    assert "LOG_LEVEL" in keys[0][1] or keys[0][1]
    assert not [r for r in lab.faults.requests() if "secrets" in r.path.split("/")]


def test_access_reviews_are_asked_once(lab: Any, conn: Any) -> None:
    lab.faults.deny("patch", "deployments")
    try:
        source = ClusterSource(conn, namespace="crashlab")
        lab.faults.clear_requests()
        first = source.access()
        second = source.access()
    finally:
        lab.faults.allow("patch", "deployments")
    assert first is second
    assert first.delete_pods.allowed and first.read_logs.allowed
    assert not first.patch_deployments.allowed
    reviews = lab.faults.requests("POST")
    # delete pods, patch deployments, get pods/log, create pods/exec, patch pods/ephemeralcontainers
    assert len(reviews) == 5 and all("selfsubjectaccessreviews" in r.path for r in reviews)
    assert first.exec_pods.allowed and first.debug_pods.allowed


def test_diagnose_gathers_and_decides(source: ClusterSource) -> None:
    pod = newest(source, "bad-rollout")
    diagnosis = source.diagnose(pod, datetime.now(UTC))
    assert diagnosis.cause == "app-error"
    assert diagnosis.rollout_hint
    deployment, revisions = source.deployment_history(pod)
    assert deployment is not None and len(revisions) >= 2


def test_watch_pods_feeds_a_store(lab: Any, source: ClusterSource) -> None:
    store = PodStore()
    states: list[Any] = []
    lock = threading.Lock()

    def on_events(batch: list[tuple[str, Pod]]) -> None:
        with lock:
            store.apply_batch(batch)

    def on_resync(pods: list[Pod]) -> None:
        with lock:
            store.replace_all(pods)

    source.watch_pods(on_events, on_resync, states.append)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (states and states[-1].live):
        time.sleep(0.02)
    assert states and states[-1].live
    with lock:
        assert {p.key for p in store.values()} == {p.key for p in source.list_pods()}
    source.stop()
    assert source.reflector is not None and source.reflector.state.phase == "stopped"


@pytest.mark.parametrize("prefix", ["oom-leak", "healthy-web"])
def test_no_per_pod_polling_while_watching(lab: Any, source: ClusterSource, prefix: str) -> None:
    lab.faults.clear_requests()
    source.watch_pods(lambda batch: None, lambda pods: None, lambda state: None)
    time.sleep(1.5)
    source.stop()
    per_pod = [r for r in lab.faults.requests() if r.path.startswith("/api/v1/namespaces/crashlab/pods/")]
    assert per_pod == []


def test_gather_asks_once_for_each_piece_and_tells_each_as_it_lands(lab: Any, source: ClusterSource) -> None:
    pod = newest(source, "crash-missing-env")
    source.memory(pod)  # the first metrics round, out of the way
    lab.faults.clear_requests()
    heard: dict[str, object] = {}
    gathered = source.gather(pod, datetime.now(UTC), on_piece=heard.__setitem__)
    # Waiting in CrashLoopBackOff: the previous instance's log is asked for, there is no current one.
    assert set(heard) == {"events", "rollout", "configmaps", "memory", "previous_log"}
    assert heard["events"] == gathered.events and gathered.events
    assert gathered.previous_log is not None and "DATABASE_URL" in gathered.previous_log
    assert heard["rollout"] == (gathered.deployment, gathered.revisions)
    requests = [(r.path, r.query) for r in lab.faults.requests("GET")]
    assert len([path for path, _ in requests if path.endswith("/events")]) == 1, requests
    logs = [query for path, query in requests if path.endswith("/log")]
    assert len(logs) == 1 and "previous=true" in logs[0], requests


def test_gather_without_a_previous_instance_says_so_without_asking(lab: Any, source: ClusterSource) -> None:
    pod = newest(source, "healthy-web")
    lab.faults.clear_requests()
    heard: dict[str, object] = {}
    gathered = source.gather(pod, datetime.now(UTC), on_piece=heard.__setitem__)
    assert gathered.previous_log is None
    note = heard["previous_log"]
    assert isinstance(note, LogResult) and note.error.startswith('no previous log: container "web"')
    assert not [r for r in lab.faults.requests("GET") if "previous=true" in r.query]


def test_a_piece_that_fails_comes_as_its_error(lab: Any, source: ClusterSource) -> None:
    pod = newest(source, "crash-missing-env")
    lab.faults.deny("list", "events")
    try:
        heard: dict[str, object] = {}
        gathered = source.gather(pod, datetime.now(UTC), on_piece=heard.__setitem__)
    finally:
        lab.faults.allow("list", "events")
    assert isinstance(heard["events"], KcrashError) and "403" in str(heard["events"])
    assert gathered.events == () and gathered.previous_log  # the rest was still gathered


def test_a_list_started_early_is_delivered_to_the_late_listener(source: ClusterSource) -> None:
    source.start_watch()
    assert source.wait_answered(10.0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (source.reflector and source.reflector.state.live):
        time.sleep(0.02)
    time.sleep(0.3)  # the reflector's dispatcher has handed the list on: it waits, held
    resyncs: list[list[Pod]] = []
    states: list[Any] = []
    source.watch_pods(lambda batch: None, resyncs.append, states.append)
    assert len(resyncs) == 1 and {p.key for p in resyncs[0]} == {p.key for p in source.list_pods()}
    assert states and states[-1].live  # only the latest state was held


def test_a_refused_first_list_is_the_answer(lab: Any, conn: Any) -> None:
    lab.faults.deny("list", "pods")
    source = ClusterSource(conn, namespace="crashlab")
    try:
        source.start_watch()
        with pytest.raises(KcrashError, match="403"):
            source.wait_answered(10.0)
    finally:
        source.stop()
        lab.faults.allow("list", "pods")


def test_a_throttled_first_list_is_retried_not_the_answer(lab: Any, conn: Any) -> None:
    """Three 429s in a row at launch (the reflector's own attempts) end in a list, not an exit."""
    lab.faults.fail_next(4, status=429)
    source = ClusterSource(conn, namespace="crashlab")
    try:
        source.start_watch()
        assert source.wait_answered(30.0)
        assert source.list_pods()
    finally:
        source.stop()


def test_paged_list_asks_each_page_once_and_keeps_every_pod(lab: Any, conn: Any) -> None:
    from kcrash.cluster.api import Api, PodPages

    pages = PodPages(Api(conn), "crashlab", limit=4)
    lab.faults.clear_requests()
    sizes: list[int] = []
    keys: list[tuple[str, str]] = []
    token = ""
    while True:
        page = pages.page(token)
        sizes.append(len(page.items))
        keys += [p.key for p in page.items]
        token = page.continue_token
        if not token:
            break
    lists = [
        r for r in lab.faults.requests("GET", "/api/v1/namespaces/crashlab/pods") if "watch" not in r.query
    ]
    assert len(sizes) >= 3 and all(size <= 4 for size in sizes)
    assert len(lists) == len(sizes)  # the page asked ahead is the one used: no request twice
    assert len(keys) == len(set(keys)) > 8


@pytest.mark.parametrize(
    ("body", "token"),
    [
        (
            b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"abc"},"items":[]}',
            "abc",
        ),
        (b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{"a":1}]}', ""),
        (b'{"items":[],"metadata":{"continue":"abc"}}', None),  # items first: decode it all
        (b'{"metadata":{"continue":"a,\\"items\\":"}}', None),  # no real items key: decode it all
        (b"not json at all", None),
    ],
)
def test_the_continue_token_is_read_from_the_head_of_a_list(body: bytes, token: str | None) -> None:
    from kcrash.cluster.api import continue_in_head

    assert continue_in_head(body) == token
