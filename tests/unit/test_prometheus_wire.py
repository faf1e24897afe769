"""Prometheus's HTTP API answers turned into samples and restarts, and its failures into one line
(pure: recorded answers in the shapes Prometheus 2.x sends)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from kcrash.cluster.errors import KcrashError
from kcrash.history.prometheus import Location, Prometheus, parse_matrix, restarts_from, selector
from kcrash.history.settings import SettingsError, load_settings

T0 = 1_773_496_800  # 2026-03-14 14:00:00 UTC


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> bytes:
    result = [{"metric": metric, "values": [[t, v] for t, v in values]} for metric, values in series]
    return orjson.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


def test_a_matrix_is_read_series_by_series() -> None:
    body = matrix(({"container": "app"}, [(T0, "1048576"), (T0 + 30, "NaN"), (T0 + 60, "2097152")]))
    (series,) = parse_matrix(body)
    assert series["metric"] == {"container": "app"}
    assert len(series["values"]) == 3


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            b'{"status":"error","errorType":"bad_data",'
            b'"error":"invalid parameter \\"query\\": 1:5: parse error"}',
            'Prometheus refused the query: invalid parameter "query": 1:5: parse error',
        ),
        (b"<html>Grafana</html>", "not JSON"),
        (b'{"status":"success","data":{"resultType":"vector","result":[]}}', "without a matrix"),
    ],
)
def test_what_is_not_a_matrix_is_one_line(body: bytes, words: str) -> None:
    with pytest.raises(KcrashError) as caught:
        parse_matrix(body)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_rise_of_the_restart_count_is_a_restart_with_the_reason_then() -> None:
    counts = orjson.loads(
        matrix(({"container": "app"}, [(T0, "3"), (T0 + 60, "3"), (T0 + 120, "4"), (T0 + 180, "5")]))
    )["data"]["result"]
    reasons = orjson.loads(
        matrix(
            ({"container": "app", "reason": "Error"}, [(T0, "1"), (T0 + 60, "1")]),
            ({"container": "app", "reason": "OOMKilled"}, [(T0 + 120, "1"), (T0 + 180, "1")]),
        )
    )["data"]["result"]
    found = restarts_from(counts, reasons)
    assert [(r.at, r.container, r.reason) for r in found] == [
        (datetime.fromtimestamp(T0 + 120, UTC), "app", "OOMKilled"),
        (datetime.fromtimestamp(T0 + 180, UTC), "app", "OOMKilled"),
    ]


def test_locations_are_namespace_service_port() -> None:
    location = Location.parse("monitoring/prometheus-k8s:9090")
    assert location.proxy == "/api/v1/namespaces/monitoring/services/prometheus-k8s:9090/proxy"
    assert str(location) == "monitoring/prometheus-k8s:9090"
    with pytest.raises(ValueError, match="NAMESPACE/SERVICE:PORT"):
        Location.parse("prometheus-k8s:9090")


def test_label_values_are_escaped_in_the_selector() -> None:
    assert selector('a"b', "c\\d") == 'namespace="a\\"b",pod="c\\\\d"'


def test_a_bad_url_is_one_line_when_asked_not_at_start() -> None:
    prometheus = Prometheus(None, url="prometheus:9090")
    with pytest.raises(KcrashError, match=r"--prometheus 'prometheus:9090' is not an http\(s\) URL"):
        prometheus.query_range("up", datetime.now(UTC), datetime.now(UTC), 60)


def test_an_unreachable_url_is_one_line() -> None:
    prometheus = Prometheus(None, url="http://127.0.0.1:9")  # discard: nothing listens
    with pytest.raises(KcrashError) as caught:
        prometheus.query_range("up", datetime.now(UTC), datetime.now(UTC), 60)
    assert str(caught.value).startswith("Prometheus at http://127.0.0.1:9 did not answer")
    assert "check --prometheus" in str(caught.value)


def test_settings_name_prometheus_and_check_its_services(tmp_path: Path) -> None:
    path = tmp_path / "history.toml"
    path.write_text('prometheus_url = "http://p:9090"\nprometheus_services = ["obs/prom:9090"]\n')
    settings = load_settings(path)
    assert settings.prometheus_url == "http://p:9090" and settings.prometheus_services == ("obs/prom:9090",)
    path.write_text('prometheus_services = ["prom:9090"]\n')
    with pytest.raises(SettingsError, match="is not NAMESPACE/SERVICE:PORT"):
        load_settings(path)
