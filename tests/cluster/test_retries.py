"""Requests the server turned away are sent again as client-go sends them: 429 and 503 after the
Retry-After it names, 500/502/504 on reads only, a write only after a 429 with Retry-After, and
never past the deadline. Against the lab's fault switches over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kcrash.cluster import logs
from kcrash.cluster.api import Api
from kcrash.cluster.config import connect
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.retry import Wait, backoff, retry_after, retryable
from kcrash.lab.app import Lab


@pytest.fixture
def healthy(lab: Lab) -> Iterator[Lab]:
    lab.faults.reset()
    lab.faults.clear_requests()
    yield lab
    lab.faults.reset()


@pytest.fixture(params=[False, True], ids=["direct", "client"])
def fresh_api(request: pytest.FixtureRequest, kubeconfig: Path) -> Api:
    return Api(connect(str(kubeconfig), None, None, False, check=False, via_client=request.param))


def pod_lists(lab: Lab) -> int:
    return len(lab.faults.requests("GET", "/api/v1/namespaces/crashlab/pods"))


def test_a_list_throttled_twice_waits_as_told_and_succeeds(healthy: Lab, fresh_api: Api) -> None:
    heard: list[Wait] = []
    fresh_api.retrier.listen(heard.append)
    healthy.faults.fail_next(2, status=429)
    started = time.monotonic()
    page = fresh_api.list_pods("crashlab")
    assert page.items
    assert time.monotonic() - started >= 1.9  # Retry-After: 1, twice
    assert pod_lists(healthy) == 3
    assert [w.words for w in heard] == ["throttled, retrying in 1s"] * 2


@pytest.mark.parametrize("status", [500, 503])
def test_every_kind_of_read_is_retried(healthy: Lab, fresh_api: Api, status: int) -> None:
    pod = fresh_api.list_pods("crashlab").items[0]
    reads = {
        "get": lambda: fresh_api.get_pod("crashlab", pod.name),
        "events": lambda: fresh_api.events_for(pod),
        "log": lambda: fresh_api.pod_log(
            pod, pod.containers[0].name, previous=False, tail_lines=5, limit_bytes=4096
        ),
        "metrics": lambda: fresh_api.list_pod_metrics("crashlab"),
        "ssar": lambda: fresh_api.can_i("crashlab", "delete", "pods"),
        "watch": lambda: fresh_api.watch_pods("crashlab", "", "0", 1),
    }
    for name, read in reads.items():
        healthy.faults.fail_next(1, status=status)
        answer = read()
        assert answer is not None, name
        if name == "watch":
            answer.close()


def test_a_write_is_not_sent_again_after_a_500(healthy: Lab, fresh_api: Api) -> None:
    healthy.faults.fail_next(1, status=500)
    with pytest.raises(KcrashError) as failed:
        fresh_api.patch_deployment_json("crashlab", "no-such", [], dry_run=True)
    assert failed.value.status == 500
    assert len(healthy.faults.requests("PATCH")) == 1


def test_a_write_is_sent_again_after_a_429_with_retry_after(healthy: Lab, fresh_api: Api) -> None:
    healthy.faults.fail_next(1, status=429)
    with pytest.raises(KcrashError) as failed:
        fresh_api.patch_deployment_json("crashlab", "no-such", [], dry_run=True)
    assert failed.value.status == 404  # the second try reached the server, which has no such thing
    assert len(healthy.faults.requests("PATCH")) == 2


def test_a_503_write_is_not_sent_again(healthy: Lab, fresh_api: Api) -> None:
    healthy.faults.fail_next(1, status=503)
    with pytest.raises(KcrashError):
        fresh_api.patch_deployment_json("crashlab", "no-such", [], dry_run=True)
    assert len(healthy.faults.requests("PATCH")) == 1


def test_no_wait_starts_past_the_deadline(healthy: Lab, fresh_api: Api) -> None:
    healthy.faults.set_error_rate(1.0, status=429, retry_after=1)
    fresh_api.retrier.deadline = time.monotonic() + 2.5
    started = time.monotonic()
    with pytest.raises(KcrashError) as failed:
        fresh_api.list_pods("crashlab")
    assert time.monotonic() - started < 3.0
    assert failed.value.status == 429
    assert 2 <= pod_lists(healthy) <= 3


def test_startup_check_rides_out_throttling(healthy: Lab, kubeconfig: Path) -> None:
    healthy.faults.fail_next(2, status=429)
    conn = connect(str(kubeconfig), None, None, False)
    assert conn.server == healthy.url


def test_logs_rides_out_a_server_error(healthy: Lab, fresh_api: Api) -> None:
    pod = fresh_api.list_pods("crashlab").items[0]
    healthy.faults.fail_next(2, status=500)
    result = logs.read_log(fresh_api, pod, pod.containers[0].name, previous=False, tail_lines=5)
    assert not result.error


@pytest.mark.parametrize(
    ("status", "read", "after", "expected"),
    [
        (429, True, None, True),
        (429, False, None, False),
        (429, False, 1.0, True),
        (503, False, 1.0, False),
        (503, True, None, True),
        (500, True, None, True),
        (502, True, None, True),
        (504, True, None, True),
        (500, False, None, False),
        (404, True, None, False),
        (401, True, None, False),
    ],
)
def test_which_answers_are_retried(status: int, read: bool, after: float | None, expected: bool) -> None:
    assert retryable(status, read, after) is expected


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None


def test_the_back_off_doubles_to_a_cap_with_jitter() -> None:
    import random

    rng = random.Random(7)
    waits = [backoff(attempt, rng) for attempt in range(1, 9)]
    assert 0.5 <= waits[0] <= 0.75 and 1.0 <= waits[1] <= 1.5
    assert all(8.0 <= w <= 12.0 for w in waits[5:])  # capped at 8 s, plus up to half again


def test_a_wait_in_words() -> None:
    assert Wait("list pods", 429, 2.2, 1).words == "throttled, retrying in 3s"
    assert Wait("list pods", 500, 0.6, 1).words == "server error 500, retrying in 1s"
