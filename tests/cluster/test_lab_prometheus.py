"""The lab as a Prometheus target: `/metrics` in the text format with cAdvisor's and
kube-state-metrics' names, the pre-played history as OpenMetrics for promtool, and the API server's
service proxy, found (or not) by kcrash's Prometheus client over real HTTP."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from kcrash.cluster.api import Api
from kcrash.cluster.config import connect
from kcrash.cluster.errors import KcrashError
from kcrash.history.prometheus import Prometheus
from kcrash.lab.app import Lab

MI = 1024 * 1024


def scrape(lab: Lab) -> str:
    request = urllib.request.Request(lab.url + "/metrics", headers={"Authorization": f"Bearer {lab.token}"})
    with urllib.request.urlopen(request, context=lab.client_ssl_context(), timeout=30) as answer:
        assert answer.headers.get_content_type() == "text/plain"
        return str(answer.read().decode())


def samples(text: str, name: str) -> list[Any]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def test_metrics_are_cadvisor_and_kube_state_metrics_series(lab: Lab) -> None:
    text = scrape(lab)
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families["container_memory_working_set_bytes"] == "gauge"
    assert families["kube_pod_container_status_restarts"] == "counter"  # the parser drops _total
    pods = lab.call(lambda: lab.store.list("pods")[0])
    oom = next(p for p in pods if p["metadata"]["name"].startswith("oom-leak"))
    name = oom["metadata"]["name"]
    status = next(s for s in oom["status"]["containerStatuses"] if s["name"] == "app")
    restarts = [
        s for s in samples(text, "kube_pod_container_status_restarts_total") if s.labels["pod"] == name
    ]
    assert [s.labels["container"] for s in restarts] == ["app"]
    assert abs(restarts[0].value - status["restartCount"]) <= 1  # it may restart between the two reads
    reasons = [
        s
        for s in samples(text, "kube_pod_container_status_last_terminated_reason")
        if s.labels["pod"] == name
    ]
    assert [(s.labels["reason"], s.value) for s in reasons] == [("OOMKilled", 1.0)]
    limit = [s for s in samples(text, "container_spec_memory_limit_bytes") if s.labels["pod"] == name]
    working = [s for s in samples(text, "container_memory_working_set_bytes") if s.labels["pod"] == name]
    if working:  # between an OOM kill and the restart there is no running container to measure
        assert working[0].labels["namespace"] == "crashlab" and working[0].labels["container"] == "app"
        assert working[0].labels["name"] and working[0].labels["image"]
        assert 0 < working[0].value < limit[0].value


def test_the_preplayed_hour_exported_as_openmetrics_shows_the_sawtooth(make_lab: Callable[..., Lab]) -> None:
    lab = make_lab(speed=1.0, preplay_seconds=3600.0)
    now = lab.clock.now().timestamp()
    text = lab.call(lab.openmetrics_history)
    assert text.endswith("# EOF\n")
    points: list[tuple[float, float]] = []
    limits: set[float] = set()
    for family in openmetrics_families(text):  # the strict parser promtool's format follows
        for s in family.samples:
            if s.labels.get("pod", "").startswith("oom-leak"):
                if s.name == "container_memory_working_set_bytes":
                    points.append((float(s.timestamp), s.value))
                elif s.name == "container_spec_memory_limit_bytes":
                    limits.add(s.value)
    points.sort()
    # From the first minutes to the last back-off (no container runs while it waits, up to 5 minutes).
    assert points[0][0] < now - 3300 and points[-1][0] > now - 360, "the whole pre-played hour"
    drops = sum(1 for (_, a), (_, b) in itertools.pairwise(points) if b < a - 32 * MI)
    assert drops >= 3, "memory grows to the limit, the container is killed, and again"
    assert len(limits) == 1 and max(v for _, v in points) < limits.pop()


@pytest.fixture
def lab_api(lab: Lab, tmp_path: Path) -> Api:
    kubeconfig = lab.write_kubeconfig(tmp_path / "kubeconfig")
    return Api(connect(str(kubeconfig), "kcrash-lab", None, False))


def test_no_prometheus_behind_the_usual_services_is_one_line(lab_api: Api) -> None:
    prometheus = Prometheus(
        lab_api, locations=("monitoring/prometheus-k8s:9090", "prometheus/prometheus-server:80")
    )
    with pytest.raises(KcrashError) as caught:
        prometheus.pod_history("crashlab", "web", *_hour(), 60)
    assert str(caught.value) == (
        "no Prometheus found through the API server (tried monitoring/prometheus-k8s:9090 and 1 more): "
        "give --prometheus URL or list its service in history.toml (prometheus_services)"
    )


def test_a_forbidden_service_proxy_is_one_line(lab: Lab, lab_api: Api) -> None:
    lab.faults.deny("get", "services/proxy")
    try:
        with pytest.raises(KcrashError) as caught:
            Prometheus(lab_api).pod_history("crashlab", "web", *_hour(), 60)
    finally:
        lab.faults.clear_denies()
    assert caught.value.status == 403
    assert str(caught.value).startswith(
        "may not reach Prometheus monitoring/prometheus-k8s:9090 through the API"
    )


class _Canned(BaseHTTPRequestHandler):
    """A stand-in answering query_range with one series, and noting what it was asked."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Canned.asked.append(self.path)
        body = json.dumps(
            {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [{"metric": {"container": "app"}, "values": [[1_700_000_000, "1048576"]]}],
                },
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_service_proxy_forwards_to_the_target_and_is_remembered(
    lab: Lab, lab_api: Api, canned: str
) -> None:
    lab.add_service_target(canned, "obs", "prom", "9090")
    try:
        prometheus = Prometheus(lab_api, locations=("monitoring/prometheus-k8s:9090", "obs/prom:9090"))
        history = prometheus.pod_history("crashlab", "web", *_hour(), 60)
    finally:
        lab.server.services.clear()
    assert [s.bytes for s in history.samples] == [MI]
    assert history.where == "obs/prom:9090 via the API server"
    assert any("container_memory_working_set_bytes" in path and "step=60" in path for path in _Canned.asked)


def _hour() -> tuple[Any, Any]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return now - timedelta(hours=1), now


def test_a_prometheus_target_that_is_not_host_port_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kcrash.lab.cli import main as lab_main

    assert lab_main(["--prometheus-target", "prometheus"]) == 2
    error = capsys.readouterr().err
    assert error == (
        "kcrash lab: error: argument --prometheus-target: "
        "'prometheus' is not HOST:PORT (e.g. 127.0.0.1:9090)\n"
    )
