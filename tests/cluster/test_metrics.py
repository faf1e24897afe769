"""The metrics sampler's memory history: the full hour for marked pods, the last few samples for
the rest, the latest always there, and a pod gone from PodMetrics never reading as 0.

The ring tests feed `record` decoded PodMetrics, as `sample_once` does after its LIST; the last
test samples the lab over HTTP.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kcrash.cluster.metrics import DEFAULT_HISTORY, SHORT_HISTORY, MetricsSampler, round_interval
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import MemorySample, Pod
from kcrash.core.status import primary_container
from kcrash.lab.app import Lab

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MI = 2**20
WATCHED = Pod("shop", "checkout-5d9f8c7b6-b8rvk")
OTHER = Pod("shop", "cart-6c8d9e7f5-q2w3e")


class NoApi:
    """The ring tests never LIST: they hand the sampler what a LIST would have answered."""

    def metrics_api_available(self) -> bool:
        raise AssertionError("the ring tests make no request")

    def list_pod_metrics(self, namespace: str | None) -> list[dict[str, Any]]:
        raise AssertionError("the ring tests make no request")

    def pod_metrics(self, namespace: str, name: str) -> dict[str, Any] | None:
        raise AssertionError("the ring tests make no request")


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pod_metrics(pod: Pod, at: datetime, **used_mi: int) -> dict[str, Any]:
    return {
        "kind": "PodMetrics",
        "metadata": {"namespace": pod.namespace, "name": pod.name},
        "timestamp": stamp(at),
        "window": "15s",
        "containers": [{"name": name, "usage": {"memory": f"{mi}Mi"}} for name, mi in used_mi.items()],
    }


def feed(sampler: MetricsSampler, rounds: range, *pods: Pod) -> None:
    """One PodMetrics list per round, 15 s apart; a pod's working set is 100 Mi + the round."""
    for n in rounds:
        at = START + timedelta(seconds=15 * n)
        sampler.record([pod_metrics(pod, at, app=100 + n) for pod in pods])


def used(sampler: MetricsSampler, pod: Pod) -> list[int]:
    return [s.bytes // MI for s in sampler.view(pod).samples]


def sampler() -> MetricsSampler:
    return MetricsSampler(NoApi(), None)


def test_marked_pods_keep_the_hour_others_the_last_few() -> None:
    s = sampler()
    s.keep_history([WATCHED.key])
    rounds = DEFAULT_HISTORY + 10
    feed(s, range(rounds), WATCHED, OTHER)
    assert used(s, WATCHED) == [100 + n for n in range(10, rounds)]
    assert used(s, OTHER) == [100 + n for n in range(rounds - SHORT_HISTORY, rounds)]


def test_latest_value_of_every_pod_is_kept() -> None:
    s = sampler()
    pods = [Pod("shop", f"web-{i}") for i in range(50)]
    feed(s, range(3), *pods)
    assert all(used(s, pod)[-1] == 102 for pod in pods)
    tiny = MetricsSampler(NoApi(), None, short_history=0)  # asked for nothing: the latest still stays
    feed(tiny, range(3), OTHER)
    assert used(tiny, OTHER) == [102]


def test_marking_again_moves_pods_between_the_two_histories() -> None:
    s = sampler()
    feed(s, range(20), WATCHED, OTHER)
    s.keep_history([WATCHED.key])  # marked late: it has what every pod had, and grows from there
    assert len(used(s, WATCHED)) == SHORT_HISTORY
    feed(s, range(20, 40), WATCHED, OTHER)
    assert len(used(s, WATCHED)) == SHORT_HISTORY + 20

    s.keep_history([OTHER.key])  # replaces the marks: WATCHED is cut back at once
    assert used(s, WATCHED) == [100 + n for n in range(40 - SHORT_HISTORY, 40)]
    feed(s, range(40, 50), WATCHED, OTHER)
    assert len(used(s, OTHER)) == SHORT_HISTORY + 10
    assert len(used(s, WATCHED)) == SHORT_HISTORY

    s.keep_history([])
    assert len(used(s, OTHER)) == SHORT_HISTORY


def test_a_pod_gone_from_pod_metrics_keeps_its_last_value_not_zero() -> None:
    s = sampler()
    feed(s, range(5), WATCHED, OTHER)
    feed(s, range(5, 10), WATCHED)  # OTHER stopped running: no PodMetrics for it
    assert used(s, OTHER)[-1] == 104
    assert 0 not in used(s, OTHER)
    assert s.view(Pod("shop", "never-ran")).samples == ()


def test_a_pod_gone_for_longer_than_the_history_is_forgotten() -> None:
    s = sampler()
    feed(s, range(3), WATCHED, OTHER)
    feed(s, range(3, DEFAULT_HISTORY + 3), WATCHED)
    assert used(s, OTHER) == [100, 101, 102]  # an hour ago, still within the window
    feed(s, range(DEFAULT_HISTORY + 3, DEFAULT_HISTORY + 5), WATCHED)
    assert s.view(OTHER).samples == ()


def test_view_builds_the_same_records_as_were_sampled() -> None:
    s = sampler()
    s.keep_history([WATCHED.key])
    first, second = START, START + timedelta(seconds=15, microseconds=123456)
    s.record([pod_metrics(WATCHED, first, app=100, sidecar=20)])
    s.record([pod_metrics(WATCHED, first, app=100, sidecar=20)])  # metrics-server repeats itself
    s.record([pod_metrics(WATCHED, second, app=110, sidecar=21)])
    assert s.view(WATCHED).samples == (
        MemorySample(first, "app", 100 * MI),
        MemorySample(first, "sidecar", 20 * MI),
        MemorySample(second, "app", 110 * MI),
        MemorySample(second, "sidecar", 21 * MI),
    )
    assert s.view(WATCHED).samples[-1].at.tzinfo is UTC


def test_an_impossible_quantity_is_no_sample() -> None:
    s = sampler()
    item = pod_metrics(WATCHED, START, app=100, sidecar=1)
    item["containers"][1]["usage"]["memory"] = "9" * 30  # does not fit a machine integer
    s.record([item])
    assert [(x.container, x.bytes) for x in s.view(WATCHED).samples] == [("app", 100 * MI)]


def test_marked_pod_keeps_more_than_the_others_against_the_lab(source: ClusterSource) -> None:
    """The lab's kubelet scrapes every few (sped-up) seconds: sample until it did four times."""
    source.metrics = sampler = MetricsSampler(source.api, "crashlab", short_history=2)
    assert sampler.sample_once(), sampler.note
    pods = [p for p in source.list_pods() if source.memory(p).samples]
    assert len(pods) > 1, "the lab runs more than one pod"
    watched, others = pods[0], pods[1:]
    source.keep_history([watched.key])
    deadline = time.monotonic() + 20
    while len(primary_samples(source, watched)) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
        assert sampler.sample_once(), sampler.note
    assert len(primary_samples(source, watched)) == 4
    for pod in others:
        assert 1 <= len(primary_samples(source, pod)) <= 2, pod.name


def primary_samples(source: ClusterSource, pod: Pod) -> list[MemorySample]:
    return [s for s in source.memory(pod).samples if s.container == primary_container(pod)]


def test_an_older_sample_than_the_last_is_not_kept() -> None:
    s = sampler()
    s.record([pod_metrics(WATCHED, START + timedelta(seconds=30), app=130)])
    s.record([pod_metrics(WATCHED, START + timedelta(seconds=15), app=115)])  # crossed on the way
    s.record([pod_metrics(WATCHED, START + timedelta(seconds=30), app=130)])  # repeated
    assert used(s, WATCHED) == [130]


def test_costly_rounds_are_spaced_out_cheap_ones_are_not() -> None:
    assert round_interval(15.0, 0.02) == 15.0  # 1,000 pods
    assert round_interval(15.0, 0.3) == pytest.approx(60.0)  # 20,000 pods: 0.5% of a core
    assert round_interval(15.0, 0.3) * 0.005 == pytest.approx(0.3)


def test_the_pod_on_screen_is_sampled_on_its_own(source: ClusterSource, lab: Lab) -> None:
    source.metrics = sampler = MetricsSampler(source.api, "crashlab")
    assert sampler.sample_once(), sampler.note
    pod = next(p for p in source.list_pods() if p.name.startswith("healthy-web-"))  # runs throughout
    lab.faults.clear_requests()
    assert not sampler.sample_charted()  # no chart on screen, nothing asked
    assert primary_samples(source, pod) and not sampler.sample_charted()  # a row's value is no chart
    assert lab.faults.requests() == []

    before = len(primary_samples(source, pod))
    deadline = time.monotonic() + 20
    while len(primary_samples(source, pod)) == before and time.monotonic() < deadline:
        time.sleep(0.2)
        source.chart_shown(pod.key)  # as the drill-down does each time it redraws the chart
        sampler.sample_charted()
    assert len(primary_samples(source, pod)) == before + 1
    asked = {r.path for r in lab.faults.requests()}
    assert asked == {f"/apis/metrics.k8s.io/v1beta1/namespaces/crashlab/pods/{pod.name}"}  # one pod, no LIST

    lab.faults.clear_requests()
    sampler._charted = (pod.key, time.monotonic() - 3 * sampler.interval)  # closed long ago
    assert not sampler.sample_charted()
    assert lab.faults.requests() == []
